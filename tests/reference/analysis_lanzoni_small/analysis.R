# Reference values for the survival analyses of tests/dataset/data/lanzoni_small.
# Input: adtte.csv (written by export_adtte.py from the derived ADTTE, ITT population).
# Per time-to-event endpoint: KM survival at day 31 and its log CI per arm, median, the
# log-rank test (survdiff) and the Cox HR of ucmsc vs control (coxph, Efron ties).
library(survival)
library(jsonlite)

d <- read.csv("adtte.csv", stringsAsFactors = FALSE)
out <- list(R = R.version.string, survival = as.character(packageVersion("survival")))
for (ep in unique(d$PARAMCD)) {
  x <- d[d$PARAMCD == ep, ]
  x$event <- as.integer(x$EVTYPE == 1)
  x$trt <- as.integer(x$ARMCD == "ucmsc")
  res <- list()
  for (arm in c("ucmsc", "control")) {
    a <- x[x$ARMCD == arm, ]
    fit <- survfit(Surv(AVAL, event) ~ 1, data = a, conf.type = "log")
    s <- summary(fit, times = 31, extend = TRUE)
    med <- quantile(fit, probs = 0.5)
    res[[arm]] <- list(
      n = nrow(a), events = sum(a$event),
      surv31 = s$surv, lower31 = s$lower, upper31 = s$upper,
      median = unname(med$quantile), median_lower = unname(med$lower),
      median_upper = unname(med$upper)
    )
  }
  sd <- survdiff(Surv(AVAL, event) ~ ARMCD, data = x)
  res$logrank <- list(chisq = sd$chisq, p = pchisq(sd$chisq, 1, lower.tail = FALSE))
  if (all(tapply(x$event, x$trt, sum) > 0)) {
    cx <- coxph(Surv(AVAL, event) ~ trt, data = x, ties = "efron")
    sm <- summary(cx)
    res$cox <- list(hr = unname(sm$conf.int[1, 1]), lower = unname(sm$conf.int[1, 3]),
                    upper = unname(sm$conf.int[1, 4]), p = unname(sm$coefficients[1, 5]))
  } else {
    res$cox <- NULL  # an arm without events: the estimate is infinite (R warns)
  }
  out[[ep]] <- res
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "analysis.json")
