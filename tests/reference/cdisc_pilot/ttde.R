# Reference values for the CDISC pilot's time to first dermatologic event (ADTTE PARAMCD TTDE),
# computed with R survival on the OFFICIAL ADaM ADTTE (../shared/cdisc-pilot/adam/adtte.xpt).
# celltrial derives its own ADTTE from the pilot's SDTM and is compared with these values
# (tests/cdisc/test_pilot.py). Run from this directory: Rscript ttde.R
suppressPackageStartupMessages({library(haven); library(survival); library(jsonlite)})
adtte <- as.data.frame(read_xpt("../../../../shared/cdisc-pilot/adam/adtte.xpt"))
adtte <- adtte[adtte$PARAMCD == "TTDE", ]
keep <- data.frame(USUBJID = adtte$USUBJID, TRTA = adtte$TRTA, TRTAN = adtte$TRTAN,
                   AVAL = adtte$AVAL, CNSR = adtte$CNSR, ADT = format(adtte$ADT),
                   STARTDT = format(adtte$STARTDT), EVNTDESC = adtte$EVNTDESC)
write.csv(keep, "adtte_official.csv", row.names = FALSE)
fit <- survfit(Surv(AVAL, 1 - CNSR) ~ TRTA, data = adtte, conf.type = "log")
arms <- sub("TRTA=", "", names(fit$strata))
per_arm <- list()
ends <- cumsum(fit$strata); starts <- c(1, head(ends, -1) + 1)
for (i in seq_along(arms)) {
  idx <- starts[i]:ends[i]
  s <- summary(fit[i], times = c(30, 60, 90, 180), extend = TRUE)
  per_arm[[arms[i]]] <- list(
    time = fit$time[idx], n_risk = fit$n.risk[idx], n_event = fit$n.event[idx],
    n_censor = fit$n.censor[idx], surv = fit$surv[idx], std_err = fit$std.err[idx],
    lower = fit$lower[idx], upper = fit$upper[idx],
    at = list(times = s$time, surv = s$surv),
    median = unname(summary(fit[i])$table["median"]),
    n = unname(fit$n[i]), events = sum(fit$n.event[idx]))
}
sd <- survdiff(Surv(AVAL, 1 - CNSR) ~ TRTA, data = adtte)
out <- list(
  source = "CDISC pilot ADaM adtte.xpt (PHUSE phuse-scripts data/adam/cdiscpilot01, updated 2013)",
  r_version = R.version.string, survival = as.character(packageVersion("survival")),
  arms = per_arm,
  logrank = list(chisq = unname(sd$chisq), df = length(sd$n) - 1,
                 p_value = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE),
                 observed = unname(sd$obs), expected = unname(sd$exp)))
write_json(out, "ttde.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
