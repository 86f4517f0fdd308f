# Reference values for celltrial.stats.concordance and CoxResult.concordance (survival's
# concordance / coxph()$concordance). Run from this directory: Rscript cox_concordance.R
# (reads lung.csv and veteran.csv written by cox.R; writes ties.csv and cox_concordance.json).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
lung2 <- read.csv("lung.csv")
vet <- read.csv("veteran.csv")
set.seed(5)
n <- 60
ties <- data.frame(time = sample(1:15, n, replace = TRUE), event = rbinom(n, 1, 0.6),
                   x = round(rnorm(n), 1), s = rep(1:2, 30), w = round(runif(n, .5, 2), 2))
write.csv(ties, "ties.csv", row.names = FALSE)
cc <- function(f) {
  cnt <- f$count
  if (is.matrix(cnt)) cnt <- colSums(cnt)
  list(concordance = f$concordance, std = sqrt(f$var), count = unname(cnt))
}
cox <- function(fit) {
  v <- fit$concordance
  list(concordance = unname(v["concordance"]), std = unname(v["std"]),
       count = unname(v[c("concordant", "discordant", "tied.x", "tied.y", "tied.xy")]))
}
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")))
out$score <- list(
  plain = cc(concordance(Surv(time, event) ~ x, data = ties, reverse = TRUE)),
  strata = cc(concordance(Surv(time, event) ~ x + strata(s), data = ties, reverse = TRUE)),
  weights = cc(concordance(Surv(time, event) ~ x, data = ties, weights = w, reverse = TRUE)),
  not_reversed = cc(concordance(Surv(time, event) ~ x, data = ties))
)
out$cox <- list(
  lung = c(list(data = "lung.csv", x = c("age", "sex", "ph_ecog")),
           cox(coxph(Surv(time, event) ~ age + sex + ph_ecog, data = lung2))),
  lung_weighted = c(list(data = "lung.csv", x = c("age", "sex", "ph_ecog"), weights = "w"),
           cox(coxph(Surv(time, event) ~ age + sex + ph_ecog, data = lung2, weights = w))),
  veteran_strata = c(list(data = "veteran.csv", x = c("trt", "karno", "age"), strata = "celltype"),
           cox(coxph(Surv(time, event) ~ trt + karno + age + strata(celltype), data = vet)))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "cox_concordance.json")
