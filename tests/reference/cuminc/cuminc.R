# Reference values for celltrial.stats.cumulative_incidence (Aalen-Johansen via the multi-state
# survfit: Surv(time, factor(status)) ~ 1, infinitesimal-jackknife standard errors).
# Run from this directory: Rscript cuminc.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
m <- mgus2
etime <- with(m, ifelse(pstat == 0, futime, ptime))
event <- with(m, ifelse(pstat == 0, 2 * death, 1))
mg <- data.frame(time = etime, event = event, sex = as.integer(m$sex == "M"))
write.csv(mg, "mgus2.csv", row.names = FALSE)
# small data with tied times: both causes and a censoring at the same times
small <- data.frame(time = c(1, 2, 2, 2, 3, 3, 4, 5, 5, 5, 6, 7, 8, 8),
                    event = c(1, 1, 2, 0, 2, 2, 0, 1, 2, 0, 1, 0, 2, 1))
write.csv(small, "small.csv", row.names = FALSE)
one <- function(fit) {
  list(time = fit$time, n_risk = fit$n.risk[, 1], pstate = unname(fit$pstate),
       std_err = unname(fit$std.err), lower = unname(fit$lower), upper = unname(fit$upper))
}
cases <- list()
for (nm in c("mgus2", "small")) {
  df <- if (nm == "mgus2") mg else small
  fit <- survfit(Surv(time, factor(event, 0:2)) ~ 1, data = df)
  stopifnot(identical(fit$states, c("(s0)", "1", "2")))
  cases[[nm]] <- c(list(data = paste0(nm, ".csv")), one(fit))
}
fits <- survfit(Surv(time, factor(event, 0:2)) ~ sex, data = mg)
grp <- list()
for (g in 0:1) grp[[as.character(g)]] <- one(fits[g + 1, ])
cases$mgus2_by_sex <- list(data = "mgus2.csv", groups = grp)
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE), "cuminc.json")
