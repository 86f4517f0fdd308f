# Reference values for celltrial.stats.cox_ph on an infinite coefficient (monotone likelihood)
# and on coefficients R reports as NA (constant, duplicated, or no variation within any risk
# set). Run from this directory: Rscript cox_infinite.R
# For an infinite coefficient R stops where the log-likelihood settles (or after iter.max) and
# warns; its coef and SE are arbitrary, but the log-likelihoods, the LR and score tests and the
# other (finite) coefficients are the limits that celltrial must match.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
one <- function(d, f, ties = "efron") {
  fit <- suppressWarnings(coxph(f, data = d, ties = ties))
  s <- summary(fit)
  list(time = d$t, event = d$e, X = unname(as.matrix(d[, all.vars(f)[-(1:2)], drop = FALSE])),
       ties = ties, coef = unname(coef(fit)), var = unname(fit$var),
       loglik = fit$loglik, logtest = unname(s$logtest[1]), sctest = unname(s$sctest[1]),
       df = unname(s$logtest[2]))
}
cases <- list()
# one arm without events: the arm's coefficient is -Inf
d <- data.frame(t = 1:8, x = c(0, 1, 0, 1, 0, 1, 0, 1))
d$e <- 1 - d$x
cases$no_events_in_arm <- one(d, Surv(t, e) ~ x)
d$z <- c(0.3, -1, 2, 0.5, 1, 0, -0.4, 0.2)
cases$no_events_in_arm_plus_covariate <- one(d, Surv(t, e) ~ x + z)
cases$no_events_in_arm_breslow <- one(d, Surv(t, e) ~ x + z, ties = "breslow")
# 12 vs 12 with tied days, no deaths in the treated arm (the cell-therapy case)
set.seed(21)
d2 <- data.frame(t = c(sample(5:28, 12, replace = TRUE), sample(3:28, 12, replace = TRUE)),
                 x = rep(c(1, 0), each = 12))
d2$e <- ifelse(d2$x == 1, 0, rbinom(24, 1, 0.6))
cases$trial_12_vs_12 <- one(d2, Surv(t, e) ~ x)
# the issue's example: the arm x = 1 leaves before the first event, so x never varies in a
# risk set; R gives NA (no information), not an infinite coefficient
d3 <- data.frame(t = 1:8, e = c(0, 0, 0, 0, 1, 1, 1, 1), x = c(1, 1, 1, 1, 0, 0, 0, 0))
cases$no_variation_in_risk_sets <- one(d3, Surv(t, e) ~ x)
# constant and duplicated covariates: NA
d4 <- data.frame(t = 1:8, e = c(1, 0, 1, 1, 0, 1, 1, 0), z = c(0.3, -1, 2, 0.5, 1, 0, -0.4, 0.2))
d4$c <- 0.1
d4$z2 <- d4$z
cases$constant_covariate <- one(d4, Surv(t, e) ~ z + c)
cases$duplicated_covariate <- one(d4, Surv(t, e) ~ z + z2)
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "cox_infinite.json")
