# Reference values for celltrial.evidence.pool: the seed trials' mortality counts
# (src/celltrial/evidence/library/*.yaml, outcome "mortality") pooled with metafor.
# The fourth row (fathi_example) is an invented study used only for the 4-study and
# subgroup checks; it is not a claim about Fathi-Kazerooni 2022, whose deaths are unknown.
# Run from this folder: Rscript pool.R  (writes pool.json)
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
counts <- read.csv("mortality_counts.csv")
out <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")))
fit_one <- function(dat, measure, method, test = "z") {
  es <- escalc(measure = measure, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat)
  # metafor stops REML at |change in tau2| < 1e-5 by default; converge fully for a reference.
  m <- rma(yi, vi, data = es, method = method, test = test, control = list(threshold = 1e-12, maxiter = 1000))
  p <- predict(m)
  list(yi = as.numeric(es$yi), vi = as.numeric(es$vi),
       estimate = as.numeric(m$beta), se = m$se, ci_lb = m$ci.lb, ci_ub = m$ci.ub,
       pval = m$pval, tau2 = m$tau2, I2 = m$I2, H2 = m$H2, QE = m$QE, QEp = m$QEp,
       pi_lb = if (is.null(p$pi.lb)) p$ci.lb else p$pi.lb, pi_ub = if (is.null(p$pi.ub)) p$ci.ub else p$pi.ub,
       weights = as.numeric(weights(m)))
}
seeds <- counts[counts$study != "fathi_example", ]
out$seeds_RR_REML <- fit_one(seeds, "RR", "REML")
out$seeds_RR_DL <- fit_one(seeds, "RR", "DL")
out$seeds_OR_REML <- fit_one(seeds, "OR", "REML")
out$seeds_RD_FE <- fit_one(seeds, "RD", "FE")
out$four_RR_REML_knha <- fit_one(counts, "RR", "REML", "knha")
es4 <- escalc(measure = "RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = counts)
l1o <- leave1out(rma(yi, vi, data = es4, method = "REML", control = list(threshold = 1e-12, maxiter = 1000)))
out$four_leave1out <- list(estimate = as.numeric(l1o$estimate), se = as.numeric(l1o$se),
                           tau2 = as.numeric(l1o$tau2), I2 = as.numeric(l1o$I2))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "pool.json")
