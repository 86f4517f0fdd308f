# Reference values for KaplanMeierResult.quantile where the confidence curves are not monotone
# (routine with censoring): R's quantile.survfit finds each limit with approx(), which sorts the
# curve's points by value first. Run from this directory: Rscript km_quantile.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
probs <- c(0.25, 0.5, 0.75)
one <- function(time, event, ct, level = 0.95) {
  fit <- survfit(Surv(time, event) ~ 1, conf.type = ct, conf.int = level)
  q <- quantile(fit, probs = probs)
  list(time = time, event = event, conf_type = ct, level = level, probs = probs,
       quantile = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper))
}
cases <- list()
# issue 21's example: R gives a median CI of (6, 13)
t1 <- c(13, 8, 13, 4, 6, 14, 12, 6, 2, 12, 3, 7, 11, 4, 2, 10, 3, 3, 2, 13, 2, 12, 1, 16, 4, 2,
        6, 12, 6, 12, 7, 2, 2, 8)
e1 <- c(1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0,
        0, 1, 1, 0, 1)
for (ct in c("log", "plain", "log-log")) {
  cases[[paste0("issue_", ct)]] <- one(t1, e1, ct)
  cases[[paste0("aml_", ct)]] <- one(aml$time, aml$status, ct)
}
# random small trials with tied days and censoring
set.seed(2121)
for (k in 1:100) {
  n <- sample(10:60, 1)
  time <- sample(1:20, n, replace = TRUE)
  event <- rbinom(n, 1, runif(1, 0.3, 0.9))
  if (sum(event) == 0) event[1] <- 1
  ct <- c("log", "plain", "log-log")[(k %% 3) + 1]
  cases[[sprintf("random_%03d", k)]] <- one(time, event, ct)
}
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = FALSE),
           "km_quantile.json")
