# Reference values for celltrial.stats.cox_ph(ties = "exact") (survival::coxph, ties = "exact").
# Run from this directory: Rscript cox_exact.R (reads aml.csv, veteran.csv and lung.csv written
# by cox.R; writes cox_exact.json).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
aml2 <- read.csv("aml.csv")
vet <- read.csv("veteran.csv")
lung2 <- read.csv("lung.csv")
lung2$day30 <- ceiling(lung2$time / 30)  # months: heavy ties
ctl <- coxph.control(eps = 1e-10, toler.chol = 1e-11, iter.max = 50)
one <- function(fit, data, x, opts) {
  s <- summary(fit)
  c(list(data = data, x = x), opts,
    list(coef = unname(coef(fit)), var = unname(fit$var), loglik = fit$loglik,
         logtest = unname(s$logtest[1]), sctest = unname(s$sctest[1]),
         waldtest = unname(fit$wald.test), n = fit$n, nevent = fit$nevent))
}
cases <- list(
  aml = one(coxph(Surv(time, event) ~ group, data = aml2, ties = "exact", control = ctl),
            "aml.csv", "group", list(time = "time")),
  veteran_strata = one(coxph(Surv(time, event) ~ trt + karno + strata(celltype), data = vet,
                             ties = "exact", control = ctl),
                       "veteran.csv", c("trt", "karno"), list(time = "time", strata = "celltype")),
  lung_months = one(coxph(Surv(day30, event) ~ age + sex, data = lung2, ties = "exact",
                          control = ctl),
                    "lung.csv", c("age", "sex"), list(time = "day30"))
)
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE), "cox_exact.json")
