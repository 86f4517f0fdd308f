# Reference p-values for celltrial.simulate.logrank_batch: survival::survdiff on each trial of
# trials.csv (written by make_trials.py). Run from this directory: Rscript survdiff.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
d <- read.csv("trials.csv", colClasses = c("integer", "numeric", "integer", "integer"))
trials <- sort(unique(d$trial))
res <- lapply(trials, function(i) {
  x <- d[d$trial == i, ]
  s <- survdiff(Surv(time, event) ~ group, data = x)
  list(trial = i, chisq = s$chisq,
       p = pchisq(s$chisq, df = 1, lower.tail = FALSE),
       observed1 = unname(s$obs[2]), expected1 = unname(s$exp[2]))
})
out <- list(
  source = "survival::survdiff(Surv(time, event) ~ group), rho = 0, per trial of trials.csv",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  trials = res
)
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "survdiff.json")
