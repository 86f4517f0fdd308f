# Reference values for celltrial.simulate.continuous_power (ANCOVA and MMRM power).
# Run from this directory: Rscript continuous_power.R  (writes continuous_power.json; ~5 min)
# 1. ANCOVA, exact power: the expectation over the baseline imbalance F ~ F(1, n - 2) of the
#    noncentral-t power (written here with pt(ncp =) and integrate), and a simulation with lm().
# 2. MMRM, small case: simulated trials analysed one by one with nlme::gls (unstructured, REML)
#    and Kenward-Roger df for the last-visit arm difference (pbkrtest's vcovAdj/Lb_ddf on the gls
#    fit, as tests/reference/mmrm/mmrm_kr.R): the rejection rate and its Monte Carlo SE.
suppressPackageStartupMessages({library(nlme); library(pbkrtest); library(MASS);
  library(jsonlite)})
set.seed(20261207)
cs <- function(V, sd, rho) { S <- matrix(rho, V + 1, V + 1); diag(S) <- 1; sd^2 * S }

ancova_exact <- function(n, delta, sd, rho, alpha = 0.05) {
  n1 <- ceiling(n / 2); n2 <- n - n1
  se <- sd * sqrt(1 - rho^2); cc <- 1 / n1 + 1 / n2; df <- n - 3
  crit <- qt(1 - alpha / 2, df)
  f <- function(u) sapply(u, function(ui) {
    F <- qf(ui, 1, n - 2)
    ncp <- delta / (se * sqrt(cc * (1 + F / (n - 2))))
    pt(crit, df, ncp, lower.tail = FALSE) + pt(-crit, df, ncp)
  })
  integrate(f, 0, 1, rel.tol = 1e-10)$value
}
ancova_sim <- function(n, delta, sd, rho, trials, alpha = 0.05) {
  n1 <- ceiling(n / 2); arm <- c(rep(1, n1), rep(0, n - n1))
  S <- cs(1, sd, rho)
  rej <- replicate(trials, {
    z <- mvrnorm(n, c(0, 0), S)
    y <- z[, 2] + delta * arm
    summary(lm(y ~ arm + z[, 1]))$coefficients["arm", 4] < alpha
  })
  list(power = mean(rej), se = sqrt(mean(rej) * (1 - mean(rej)) / trials), trials = trials)
}
kr_last <- function(d, V) {
  fit <- gls(y ~ fvisit * arm + base, data = d,
             correlation = corSymm(form = ~ visit | subject),
             weights = varIdent(form = ~ 1 | fvisit), method = "REML")
  X <- model.matrix(~ fvisit * arm + base, data = d)
  X <- X[, names(coef(fit))]
  full <- names(which(table(d$subject) == V))[1]
  S <- unclass(getVarCov(fit, individual = full))
  same <- outer(d$subject, d$subject, "==")
  G <- list()
  for (j in 1:V) for (l in j:V) {
    E <- matrix(0, V, V); E[j, l] <- 1; E[l, j] <- 1
    G[[length(G) + 1]] <- E[d$visit, d$visit] * same
  }
  Phi <- unclass(vcov(fit))
  PhiA <- pbkrtest:::vcovAdj_internal(Phi, list(Sigma = S[d$visit, d$visit] * same, G = G,
                                                n.ggamma = length(G)), X)
  L <- matrix(0, 1, ncol(X), dimnames = list(NULL, colnames(X)))
  L[, "arm"] <- 1; L[, paste0("fvisit", V, ":arm")] <- 1
  est <- sum(L * coef(fit)); se <- sqrt(drop(L %*% PhiA %*% t(L)))
  df <- pbkrtest:::Lb_ddf(L, Phi, PhiA)
  2 * pt(-abs(est / se), df)
}
mmrm_sim <- function(n, V, delta, sd, rho, dropout, trials, alpha = 0.05) {
  n1 <- ceiling(n / 2); arm <- c(rep(1, n1), rep(0, n - n1))
  S <- cs(V, sd, rho); stay <- (1 - dropout)^(1 / V)
  rej <- logical(trials); k <- 0
  while (k < trials) {
    z <- mvrnorm(n, rep(0, V + 1), S)
    y <- z[, -1] + outer(arm, delta * (1:V) / V)
    seen <- t(apply(matrix(runif(n * V) < stay, n, V), 1, cumprod)) == 1
    if (any(colSums(seen[arm == 1, , drop = FALSE]) == 0) ||
        any(colSums(seen[arm == 0, , drop = FALSE]) == 0) || sum(seen[, V]) < 4) next
    d <- data.frame(subject = rep(1:n, V), visit = rep(1:V, each = n), y = as.vector(y),
                    arm = rep(arm, V), base = rep(z[, 1], V))[as.vector(seen), ]
    d <- d[order(d$subject, d$visit), ]
    d$fvisit <- factor(d$visit, levels = 1:V)
    p <- tryCatch(kr_last(d, V), error = function(e) NA)
    if (is.na(p)) next
    k <- k + 1
    rej[k] <- p < alpha
  }
  list(power = mean(rej), se = sqrt(mean(rej) * (1 - mean(rej)) / trials), trials = trials)
}
out <- list(
  R_version = R.version.string,
  nlme_version = as.character(packageVersion("nlme")),
  pbkrtest_version = as.character(packageVersion("pbkrtest")),
  ancova_exact = list(
    list(n = 40, delta = 0.6, sd = 1, rho = 0.5, power = ancova_exact(40, 0.6, 1, 0.5)),
    list(n = 24, delta = 1.0, sd = 2, rho = 0.7, power = ancova_exact(24, 1.0, 2, 0.7)),
    list(n = 120, delta = 0.3, sd = 1, rho = 0.3, power = ancova_exact(120, 0.3, 1, 0.3))
  ),
  ancova_sim = c(list(n = 40, delta = 0.6, sd = 1, rho = 0.5),
                 ancova_sim(40, 0.6, 1, 0.5, 20000)),
  mmrm_sim = c(list(n = 24, visits = 3, delta = 1.0, sd = 1, rho = 0.5, dropout = 0.2),
               mmrm_sim(24, 3, 1.0, 1, 0.5, 0.2, 400))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "continuous_power.json")
