# Reference values for celltrial.stats.kaplan_meier (survfit, quantile.survfit, print(fit, rmean=)).
# Run from this directory: Rscript kaplan_meier.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
lung2 <- data.frame(time = lung$time, event = lung$status - 1, sex = lung$sex)
write.csv(lung2, "lung.csv", row.names = FALSE)
aml2 <- data.frame(time = aml$time, event = aml$status,
                   group = as.integer(aml$x == "Maintained"))
write.csv(aml2, "aml.csv", row.names = FALSE)
vet <- data.frame(time = veteran$time, event = veteran$status, trt = veteran$trt)
write.csv(vet, "veteran.csv", row.names = FALSE)
# small data: S(t) hits exactly 0.5 (flat segment -> midpoint), last time an event (S = 0)
small <- data.frame(time = c(1, 2, 3, 3, 4, 5, 6, 6), event = c(1, 1, 1, 0, 1, 0, 1, 1))
write.csv(small, "small.csv", row.names = FALSE)
# left truncation (delayed entry) and case weights, generated once and stored
set.seed(20240611)
n <- 150
entry <- round(runif(n, 0, 20), 1)
time <- entry + round(rexp(n, 1 / 30), 1) + 0.1
event <- rbinom(n, 1, 0.7)
wt <- round(runif(n, 0.5, 2.5), 3)
trunc <- data.frame(entry = entry, time = time, event = event, weight = wt)
write.csv(trunc, "trunc.csv", row.names = FALSE)

probs <- c(0.1, 0.25, 0.5, 0.75, 0.9)
one <- function(fit, taus) {
  q <- quantile(fit, probs = probs)
  rm <- lapply(taus, function(tau) {
    m <- survival:::survmean(fit, rmean = tau)$matrix
    list(tau = tau, rmean = unname(m["rmean"]), se = unname(m["se(rmean)"]))
  })
  list(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
       n_censor = fit$n.censor, surv = fit$surv, std_err = fit$std.err,
       lower = fit$lower, upper = fit$upper, conf_type = fit$conf.type,
       probs = probs, quantile = unname(q$quantile), q_lower = unname(q$lower),
       q_upper = unname(q$upper), rmst = rm)
}
cases <- list()
for (ct in c("log", "plain", "log-log")) {
  cases[[paste0("lung_", ct)]] <- c(list(data = "lung.csv", conf_type = ct, level = 0.95),
    one(survfit(Surv(time, event) ~ 1, data = lung2, conf.type = ct), c(365, 1000)))
  cases[[paste0("aml_", ct)]] <- c(list(data = "aml.csv", conf_type = ct, level = 0.9),
    one(survfit(Surv(time, event) ~ 1, data = aml2, conf.type = ct, conf.int = 0.9), c(30, 200)))
  cases[[paste0("small_", ct)]] <- c(list(data = "small.csv", conf_type = ct, level = 0.95),
    one(survfit(Surv(time, event) ~ 1, data = small, conf.type = ct), c(3.5, 6, 8)))
  cases[[paste0("veteran_", ct)]] <- c(list(data = "veteran.csv", conf_type = ct, level = 0.95),
    one(survfit(Surv(time, event) ~ 1, data = vet, conf.type = ct), c(100, 500)))
  cases[[paste0("trunc_", ct)]] <- c(list(data = "trunc.csv", conf_type = ct, level = 0.95, entry = TRUE),
    one(survfit(Surv(entry, time, event) ~ 1, data = trunc, conf.type = ct), c(40, 80)))
  # non-integer case weights: Greenwood variance on weighted counts (robust = FALSE)
  cases[[paste0("weighted_", ct)]] <- c(list(data = "trunc.csv", conf_type = ct, level = 0.95, weights = TRUE),
    one(survfit(Surv(time, event) ~ 1, data = trunc, weights = weight, robust = FALSE,
                conf.type = ct), c(40, 80)))
}
# RMST difference between arms (sex 2 minus sex 1 in lung; trt 2 minus 1 in veteran)
rmstdiff <- function(df, grp, tau) {
  g <- sort(unique(df[[grp]]))
  r <- lapply(g, function(v) {
    fit <- survfit(Surv(time, event) ~ 1, data = df[df[[grp]] == v, ])
    m <- survival:::survmean(fit, rmean = tau)$matrix
    c(unname(m["rmean"]), unname(m["se(rmean)"]))
  })
  est <- r[[2]][1] - r[[1]][1]
  se <- sqrt(r[[1]][2]^2 + r[[2]][2]^2)
  z <- est / se
  list(tau = tau, rmst = c(r[[1]][1], r[[2]][1]), rmst_se = c(r[[1]][2], r[[2]][2]),
       estimate = est, se = se, lower = est - qnorm(0.975) * se,
       upper = est + qnorm(0.975) * se, p_value = 2 * pnorm(-abs(z)))
}
out <- list(R_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            cases = cases,
            rmst_difference = list(lung_sex = c(list(data = "lung.csv", group = "sex"), rmstdiff(lung2, "sex", 365)),
                                   veteran_trt = c(list(data = "veteran.csv", group = "trt"), rmstdiff(vet, "trt", 200))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE), "kaplan_meier.json")
