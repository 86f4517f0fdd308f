# Reference values for celltrial.stats.mixed.mmrm, computed with nlme::gls.
# Run from this directory:  Rscript mmrm.R   (writes trial.csv and mmrm.json).
# A small simulated longitudinal trial: 40 subjects, 2 arms, log-IL-6-like values on day 0, 3, 6,
# a few visits missing. The MMRM is gls with an unstructured covariance across visits:
# corSymm (general correlation) times varIdent (a variance per visit). gls's tolerances are
# tightened (optim BFGS, which gets closer to the optimum here than the default nlminb) so that
# the reference values are exact beyond the 1e-6 comparison.
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
set.seed(20240604)
n <- 40
days <- c(0, 3, 6)
arm <- rep(c("control", "active"), each = n / 2)
age <- round(rnorm(n, 55, 12))
mu <- rbind(control = c(2.0, 2.3, 2.1), active = c(2.0, 1.8, 1.4))
sd <- c(0.6, 0.7, 0.8)
R <- matrix(c(1, 0.6, 0.4, 0.6, 1, 0.7, 0.4, 0.7, 1), 3)
S <- diag(sd) %*% R %*% diag(sd)
L <- t(chol(S))
rows <- list()
for (i in seq_len(n)) {
  e <- as.numeric(L %*% rnorm(3))
  y <- mu[arm[i], ] + e + 0.01 * (age[i] - 55)
  rows[[i]] <- data.frame(subject = sprintf("S%02d", i), arm = arm[i], day = days,
                          visit = seq_along(days), age = age[i], y = y)
}
d <- do.call(rbind, rows)
# a few missing visits (monotone dropout and intermittent)
drop <- c(which(d$subject == "S03" & d$day == 6), which(d$subject == "S11" & d$day >= 3),
          which(d$subject == "S17" & d$day == 3), which(d$subject == "S24" & d$day == 6),
          which(d$subject == "S29" & d$day == 0), which(d$subject == "S36" & d$day == 6))
d <- d[-drop, ]
d$arm <- factor(d$arm, levels = c("control", "active"))
d$fvisit <- factor(d$visit)
write.csv(d[, c("subject", "arm", "day", "visit", "age", "y")], "trial.csv", row.names = FALSE)

ctl <- glsControl(tolerance = 1e-14, msTol = 1e-14, msMaxIter = 1000, maxIter = 1000,
                  opt = "optim", optimMethod = "BFGS",
                  returnObject = TRUE)
fit1 <- function(formula, method) {
  gls(formula, data = d, correlation = corSymm(form = ~ visit | subject),
      weights = varIdent(form = ~ 1 | fvisit), method = method, control = ctl)
}
vals <- function(f) {
  b <- coef(f)
  V <- vcov(f)
  p <- length(b)
  N <- nrow(d)
  dfres <- N - p
  # the arm difference (active - control) at each visit, from coef and vcov
  K <- matrix(0, 3, p, dimnames = list(paste0("visit", 1:3), names(b)))
  K[, "armactive"] <- 1
  K["visit2", "fvisit2:armactive"] <- 1
  K["visit3", "fvisit3:armactive"] <- 1
  est <- as.numeric(K %*% b)
  se <- sqrt(diag(K %*% V %*% t(K)))
  tval <- est / se
  q <- qt(0.975, dfres)
  # the covariance matrix across visits for a subject with all three visits
  full <- names(which(table(d$subject) == 3))[1]
  Sigma <- unclass(getVarCov(f, individual = full))
  list(
    coef = as.numeric(b), coef_names = names(b), se = as.numeric(sqrt(diag(V))),
    vcov = unname(V), t_value = as.numeric(summary(f)$tTable[, "t-value"]),
    p_value = as.numeric(summary(f)$tTable[, "p-value"]),
    sigma = f$sigma, covariance = unname(matrix(as.numeric(Sigma), 3)),
    logLik = as.numeric(logLik(f)), AIC = AIC(f), BIC = BIC(f), df_residual = dfres, nobs = N,
    contrasts = list(estimate = est, se = as.numeric(se), t = as.numeric(tval), df = dfres,
                     p_value = 2 * pt(-abs(tval), dfres),
                     ci_lower = est - q * se, ci_upper = est + q * se)
  )
}
out <- list(
  R_version = R.version.string,
  nlme_version = as.character(packageVersion("nlme")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  control = "glsControl(tolerance = 1e-14, msTol = 1e-14, opt = \"optim\", optimMethod = \"BFGS\")",
  fits = list(
    REML = vals(fit1(y ~ fvisit * arm, "REML")),
    ML = vals(fit1(y ~ fvisit * arm, "ML")),
    REML_age = vals(fit1(y ~ fvisit * arm + age, "REML"))
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "mmrm.json")
