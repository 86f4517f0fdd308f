# Reference values for celltrial.stats.firth_logistic and firth_cox.
# R's logistf and coxphf are not in Debian, so this is an independent computation from scratch:
# the penalized log-likelihood l(b) + 0.5 log det I(b) evaluated directly (logistic: the
# binomial log-likelihood and X'WX; Cox: survival::coxph's log partial likelihood and inverse
# variance at fixed coefficients, iter.max = 0, Breslow ties as coxphf), maximised with optim
# (BFGS, central-difference gradients, reltol 1e-15); profile penalized-likelihood limits by
# uniroot on 2 (l*(b_hat) - max_{b_j fixed} l*) = qchisq(0.95, 1) with the other coefficients
# re-maximised by optim; p-values from the same profile at b_j = 0. As logistf, the penalty of
# the restricted fits is the full model's information.
# Run from this directory: Rscript firth.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})

grad_fd <- function(f, b, h = 1e-5) {
  sapply(seq_along(b), function(j) {
    e <- replace(numeric(length(b)), j, h); (f(b + e) - f(b - e)) / (2 * h)
  })
}
maximise <- function(f, start) {
  if (length(start) == 0) return(list(par = start, value = f(start)))
  o <- optim(start, function(b) -f(b), function(b) -grad_fd(f, b), method = "BFGS",
             control = list(reltol = 1e-15, maxit = 10000))
  o <- optim(o$par, function(b) -f(b), function(b) -grad_fd(f, b), method = "BFGS",
             control = list(reltol = 1e-15, maxit = 10000))
  list(par = o$par, value = -o$value)
}
firth <- function(pll, p, names, level = 0.95) {
  fit <- maximise(pll, rep(0, p))
  b <- fit$par; lmax <- fit$value
  prof <- function(j, v) {
    g <- function(bo) { bb <- numeric(p); bb[j] <- v; bb[-j] <- bo; pll(bb) }
    maximise(g, b[-j])$value
  }
  crit <- qchisq(level, 1)
  lower <- upper <- pv <- numeric(p)
  for (j in seq_len(p)) {
    h <- function(v) 2 * (lmax - prof(j, v)) - crit
    step <- 0.5
    while (h(b[j] - step) < 0) step <- step * 2
    lower[j] <- uniroot(h, c(b[j] - step, b[j]), tol = 1e-11)$root
    step <- 0.5
    while (h(b[j] + step) < 0) step <- step * 2
    upper[j] <- uniroot(h, c(b[j], b[j] + step), tol = 1e-11)$root
    pv[j] <- pchisq(max(2 * (lmax - prof(j, 0)), 0), 1, lower.tail = FALSE)
  }
  list(names = names, coef = b, loglik = lmax, lower = lower, upper = upper, p = pv)
}

# --- logistic: l(b) = sum(y eta - log(1 + exp(eta))), I = X'WX
logistic_pll <- function(X, y) function(b) {
  eta <- drop(X %*% b); pr <- plogis(eta)
  ll <- sum(y * eta - (pmax(eta, 0) + log1p(exp(-abs(eta)))))
  ll + 0.5 * as.numeric(determinant(crossprod(X, pr * (1 - pr) * X))$modulus)
}
# 12 vs 12: every treated subject responded (complete separation in arm)
sep <- data.frame(arm = rep(0:1, each = 12), y = c(rep(0, 9), rep(1, 3), rep(1, 12)),
                  age = c(34, 51, 47, 29, 62, 55, 41, 38, 59, 44, 50, 36,
                          45, 33, 58, 61, 40, 49, 52, 37, 43, 56, 30, 48))
write.csv(sep, "logistic_sep.csv", row.names = FALSE)
set.seed(1207)
n <- 40
small <- data.frame(x1 = round(rnorm(n), 2), x2 = rbinom(n, 1, 0.5))
small$y <- rbinom(n, 1, plogis(-0.5 + 0.8 * small$x1 + 1.2 * small$x2))
write.csv(small, "logistic_small.csv", row.names = FALSE)
X1 <- cbind(1, sep$arm)
X2 <- cbind(1, sep$arm, sep$age)
X3 <- cbind(1, small$x1, small$x2)
logistic <- list(
  sep_arm = c(list(data = "logistic_sep.csv"),
              firth(logistic_pll(X1, sep$y), 2, c("(Intercept)", "arm"))),
  sep_arm_age = c(list(data = "logistic_sep.csv"),
                  firth(logistic_pll(X2, sep$y), 3, c("(Intercept)", "arm", "age"))),
  small = c(list(data = "logistic_small.csv"),
            firth(logistic_pll(X3, small$y), 3, c("(Intercept)", "x1", "x2")))
)
# null model (intercept only, full-model penalty) for the global test of sep_arm_age
nullfit <- maximise(function(b0) logistic_pll(X2, sep$y)(c(b0, 0, 0)), 0)
logistic$sep_arm_age$loglik_null <- nullfit$value

# --- Cox: coxph's log partial likelihood and information at fixed b (Breslow ties)
cox_pll <- function(d, cols) function(b) {
  f <- suppressWarnings(coxph(Surv(d$time, d$event) ~ as.matrix(d[, cols]), ties = "breslow",
                              init = b, control = coxph.control(iter.max = 0)))
  if (any(diag(f$var) <= 0)) stop("singular information at b = ", paste(b, collapse = ", "))
  f$loglik[2] + 0.5 * as.numeric(determinant(solve(f$var))$modulus)
}
# no event in arm 1 (monotone likelihood; coxph's coefficient is infinite). The issue's example
# (arm 1 censored before the first event) has a flat partial likelihood: nothing to estimate.
mono <- data.frame(time = 1:8, event = c(0, 1, 0, 1, 0, 1, 0, 1), arm = c(1, 0, 1, 0, 1, 0, 1, 0))
write.csv(mono, "cox_mono.csv", row.names = FALSE)
# 15 vs 15, no death in the treated arm, with an age covariate and tied times
set.seed(7)
m2 <- data.frame(arm = rep(0:1, each = 15), age = round(rnorm(30), 2))  # age, standardized
m2$time <- round(rexp(30, 0.1) + 1)
m2$event <- ifelse(m2$arm == 1, 0, rbinom(30, 1, 0.7))
write.csv(m2, "cox_arm_age.csv", row.names = FALSE)
# an ordinary small data set (both arms with events): Firth shrinks coefficients slightly
set.seed(11)
c3 <- data.frame(x1 = round(rnorm(40), 2), x2 = rbinom(40, 1, 0.5))
c3$time <- round(rexp(40, exp(0.5 * c3$x1 - 0.7 * c3$x2)), 2) + 0.01
c3$event <- rbinom(40, 1, 0.75)
write.csv(c3, "cox_small.csv", row.names = FALSE)
cox <- list(
  mono = c(list(data = "cox_mono.csv"), firth(cox_pll(mono, "arm"), 1, "arm")),
  arm_age = c(list(data = "cox_arm_age.csv"), firth(cox_pll(m2, c("arm", "age")), 2,
                                                     c("arm", "age"))),
  small = c(list(data = "cox_small.csv"), firth(cox_pll(c3, c("x1", "x2")), 2, c("x1", "x2")))
)
out <- list(R_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            logistic = logistic, cox = cox)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "firth.json")
