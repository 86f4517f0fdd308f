# Reference values for celltrial.stats.gray_test and celltrial.stats.fine_gray (R cmprsk).
# Gray's test: cuminc(...)$Tests (rho = 0 and rho = 1, with and without strata).
# Fine-Gray: crr(...) with a single censoring distribution, run to a tight tolerance
# (gtol = 1e-8, maxiter = 100) so that the comparison is of the estimator, not of where
# Newton stopped. Run from this directory: Rscript finegray.R
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
m <- mgus2[complete.cases(mgus2[, c("age", "hgb", "sex")]), ]
etime <- with(m, ifelse(pstat == 0, futime, ptime))
event <- with(m, ifelse(pstat == 0, 2 * death, 1))
mg <- data.frame(time = etime, event = event, sex = as.integer(m$sex == "M"), age = m$age,
                 hgb = m$hgb)
write.csv(mg, "mgus2.csv", row.names = FALSE)
# small simulated data: integer times (many ties across causes and censoring), 3 groups, 2 strata
set.seed(20261207)
n <- 90
sim <- data.frame(time = sample(1:15, n, replace = TRUE),
                  event = sample(0:2, n, replace = TRUE, prob = c(.3, .4, .3)),
                  group = rep(c("a", "b", "c"), length.out = n),
                  stratum = rep(1:2, each = n / 2), x1 = round(rnorm(n), 2),
                  x2 = rbinom(n, 1, .4))
sim$event[sim$group == "b" & sim$event == 2] <- 1  # groups differ
write.csv(sim, "sim.csv", row.names = FALSE)

tests <- function(tst) {
  list(causes = rownames(tst), stat = unname(tst[, "stat"]), pv = unname(tst[, "pv"]),
       df = unname(tst[, "df"]))
}
gray <- list(
  mgus2_sex = tests(cuminc(mg$time, mg$event, mg$sex)$Tests),
  mgus2_sex_rho1 = tests(cuminc(mg$time, mg$event, mg$sex, rho = 1)$Tests),
  sim_group = tests(cuminc(sim$time, sim$event, sim$group)$Tests),
  sim_group_strata = tests(cuminc(sim$time, sim$event, sim$group, strata = sim$stratum)$Tests),
  sim_group_strata_rho05 = tests(cuminc(sim$time, sim$event, sim$group, strata = sim$stratum,
                                        rho = 0.5)$Tests)
)
# z, p and CI as summary.crr computes them (its printed table is rounded, so recomputed here)
fg <- function(fit) {
  se <- sqrt(diag(fit$var))
  z <- fit$coef / se
  list(coef = unname(fit$coef), var = unname(fit$var), loglik = fit$loglik,
       loglik_null = fit$loglik.null, converged = fit$converged,
       se = unname(se), z = unname(z), p = unname(2 * pnorm(-abs(z))),
       lower = unname(exp(fit$coef - qnorm(0.975) * se)),
       upper = unname(exp(fit$coef + qnorm(0.975) * se)), n = fit$n)
}
tight <- function(...) crr(..., gtol = 1e-8, maxiter = 100)
crr_cases <- list(
  mgus2_cause1 = fg(tight(mg$time, mg$event, cbind(sex = mg$sex, age = mg$age, hgb = mg$hgb))),
  mgus2_cause2 = fg(tight(mg$time, mg$event, cbind(sex = mg$sex, age = mg$age, hgb = mg$hgb),
                          failcode = 2)),
  sim_cause1 = fg(tight(sim$time, sim$event, cbind(x1 = sim$x1, x2 = sim$x2))),
  sim_cause2_one = fg(tight(sim$time, sim$event, cbind(x1 = sim$x1), failcode = 2))
)
out <- list(R_version = R.version.string,
            cmprsk_version = as.character(packageVersion("cmprsk")),
            gray = gray, crr = crr_cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "finegray.json")
