# Reference values for celltrial.stats.cox_ph on 200,000 rows with continuous times, where the
# partial log-likelihood (~1.6e6) carries rounding noise far above an absolute 1e-12 (the step
# used to be halved on that noise and stopped 2e-6 away from the maximum).
# The data are a formula, not a random draw, so Python builds the same rows (only the ranks
# of the times matter, so a last-bit difference between libm's log/exp cannot change them).
# Run from this directory: Rscript cox_large.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
n <- 200000
i <- as.numeric(1:n)
arm <- i %% 2
x <- ((i * 13) %% 101) / 100 - 0.5
u <- (i * 0.6180339887498949) %% 1
v <- (i * 0.7548776662466927) %% 1
te <- -log(u) / exp(-0.4 * arm + 0.3 * x)
tc <- -2.8 * log(v)
fit <- coxph(Surv(pmin(te, tc), as.numeric(te <= tc)) ~ arm + x)
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            n = n, coef = unname(coef(fit)), var = unname(fit$var), loglik = fit$loglik,
            iter = fit$iter)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE), "cox_large.json")
