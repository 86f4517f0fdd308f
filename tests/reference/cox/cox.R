# Reference values for celltrial.stats.cox_ph (survival::coxph, cox.zph with survival >= 3.0).
# Run from this directory: Rscript cox.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
lung2 <- na.omit(data.frame(time = lung$time, event = lung$status - 1, age = lung$age,
                            sex = lung$sex, ph_ecog = lung$ph.ecog, inst = lung$inst,
                            wt_loss = lung$wt.loss))
set.seed(3)
lung2$w <- round(runif(nrow(lung2), 0.2, 3), 3)
write.csv(lung2, "lung.csv", row.names = FALSE)
vet <- data.frame(time = veteran$time, event = veteran$status, trt = veteran$trt,
                  karno = veteran$karno, age = veteran$age, celltype = as.integer(veteran$celltype))
write.csv(vet, "veteran.csv", row.names = FALSE)
hrt <- data.frame(entry = heart$start, time = heart$stop, event = heart$event, age = heart$age,
                  surgery = heart$surgery, transplant = as.integer(heart$transplant) - 1L,
                  id = heart$id)
write.csv(hrt, "heart.csv", row.names = FALSE)
aml2 <- data.frame(time = aml$time, event = aml$status, group = as.integer(aml$x == "Maintained"))
write.csv(aml2, "aml.csv", row.names = FALSE)

one <- function(fit, data, x, opts) {
  s <- summary(fit)
  z <- lapply(c("km", "rank", "identity"), function(tr) {
    zz <- cox.zph(fit, transform = tr)
    list(transform = tr, chisq = unname(zz$table[, "chisq"]), df = unname(zz$table[, "df"]),
         p = unname(zz$table[, "p"]))
  })
  c(list(data = data, x = x), opts,
    list(coef = unname(coef(fit)), var = unname(fit$var),
         naive_var = if (is.null(fit$naive.var)) NA else unname(fit$naive.var),
         loglik = fit$loglik, score = unname(fit$score), wald = unname(fit$wald.test),
         logtest = unname(s$logtest[1]), sctest = unname(s$sctest[1]),
         waldtest = unname(s$waldtest[1]), df = unname(s$logtest[2]),
         hr_lower = unname(s$conf.int[, "lower .95"]), hr_upper = unname(s$conf.int[, "upper .95"]),
         n = fit$n, nevent = fit$nevent, iter = fit$iter, zph = z))
}
cases <- list()
f <- Surv(time, event) ~ age + sex + ph_ecog
for (ties in c("efron", "breslow")) {
  cases[[paste0("lung_", ties)]] <- one(coxph(f, data = lung2, ties = ties), "lung.csv",
    c("age", "sex", "ph_ecog"), list(ties = ties))
  cases[[paste0("lung_weighted_", ties)]] <- one(coxph(f, data = lung2, ties = ties, weights = w,
    robust = FALSE), "lung.csv", c("age", "sex", "ph_ecog"), list(ties = ties, weights = "w"))
  cases[[paste0("lung_robust_", ties)]] <- one(coxph(f, data = lung2, ties = ties, robust = TRUE),
    "lung.csv", c("age", "sex", "ph_ecog"), list(ties = ties, robust = TRUE))
  cases[[paste0("lung_cluster_inst_", ties)]] <- one(coxph(Surv(time, event) ~ age + sex + ph_ecog +
    cluster(inst), data = lung2, ties = ties), "lung.csv", c("age", "sex", "ph_ecog"),
    list(ties = ties, cluster = "inst"))
  cases[[paste0("lung_weighted_robust_", ties)]] <- one(coxph(f, data = lung2, ties = ties,
    weights = w, robust = TRUE), "lung.csv", c("age", "sex", "ph_ecog"),
    list(ties = ties, weights = "w", robust = TRUE))
  cases[[paste0("veteran_strata_", ties)]] <- one(coxph(Surv(time, event) ~ trt + karno + age +
    strata(celltype), data = vet, ties = ties), "veteran.csv", c("trt", "karno", "age"),
    list(ties = ties, strata = "celltype"))
  cases[[paste0("heart_entry_", ties)]] <- one(coxph(Surv(entry, time, event) ~ age + surgery +
    transplant, data = hrt, ties = ties), "heart.csv", c("age", "surgery", "transplant"),
    list(ties = ties, entry = "entry"))
  cases[[paste0("heart_entry_cluster_", ties)]] <- one(coxph(Surv(entry, time, event) ~ age +
    surgery + transplant + cluster(id), data = hrt, ties = ties), "heart.csv",
    c("age", "surgery", "transplant"), list(ties = ties, entry = "entry", cluster = "id"))
  cases[[paste0("aml_", ties)]] <- one(coxph(Surv(time, event) ~ group, data = aml2, ties = ties),
    "aml.csv", c("group"), list(ties = ties))
}
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE), "cox.json")
