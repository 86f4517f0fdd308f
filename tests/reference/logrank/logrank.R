# Reference values for celltrial.stats.logrank (survival::survdiff).
# Fleming-Harrington G(rho, gamma) with gamma > 0 is not in survdiff: fh_test() below computes it
# from the textbook formula and is first checked against survdiff for gamma = 0.
# Run from this directory: Rscript logrank.R
suppressPackageStartupMessages({library(survival); library(jsonlite)})
lung2 <- data.frame(time = lung$time, event = lung$status - 1, sex = lung$sex,
                    ph_ecog = ifelse(is.na(lung$ph.ecog), 1, lung$ph.ecog), inst = lung$inst)
write.csv(lung2, "lung.csv", row.names = FALSE)
vet <- data.frame(time = veteran$time, event = veteran$status, trt = veteran$trt,
                  celltype = as.integer(veteran$celltype), prior = veteran$prior)
write.csv(vet, "veteran.csv", row.names = FALSE)
aml2 <- data.frame(time = aml$time, event = aml$status, group = as.integer(aml$x == "Maintained"))
write.csv(aml2, "aml.csv", row.names = FALSE)

fh_test <- function(time, event, group, strata, rho, gamma) {
  g <- sort(unique(group)); k <- length(g)
  O <- E <- numeric(k); V <- matrix(0, k, k)
  for (s in unique(strata)) {
    idx <- strata == s
    tt <- time[idx]; ee <- event[idx]; gg <- group[idx]
    ut <- sort(unique(tt[ee == 1]))
    km <- 1
    for (t in ut) {
      atrisk <- tt >= t
      n <- sum(atrisk); d <- sum(tt == t & ee == 1)
      nk <- sapply(g, function(v) sum(atrisk & gg == v))
      dk <- sapply(g, function(v) sum(tt == t & ee == 1 & gg == v))
      w <- km^rho * (1 - km)^gamma
      O <- O + w * dk
      E <- E + w * d * nk / n
      if (n > 1) V <- V + w^2 * d * (n - d) / (n - 1) * (diag(nk / n, k) - outer(nk / n, nk / n))
      km <- km * (1 - d / n)
    }
  }
  keep <- E > 0
  tmp <- ((O - E)[keep])[-1]
  vv <- (V[keep, keep])[-1, -1, drop = FALSE]
  chi <- sum(solve(vv, tmp) * tmp)
  df <- sum(keep) - 1
  list(obs = O, exp = E, var = V, chisq = chi, df = df, p_value = pchisq(chi, df, lower.tail = FALSE))
}

from_survdiff <- function(f) {
  o <- if (is.matrix(f$obs)) rowSums(f$obs) else f$obs
  e <- if (is.matrix(f$exp)) rowSums(f$exp) else f$exp
  df <- sum(e > 0) - 1
  list(obs = unname(o), exp = unname(e), var = unname(f$var), chisq = f$chisq, df = df,
       p_value = f$pvalue)
}

cases <- list()
add <- function(name, data, df, grp, strata, rho, gamma) {
  s <- if (is.null(strata)) rep(1, nrow(df)) else df[[strata]]
  if (gamma == 0) {
    fml <- if (is.null(strata)) as.formula(paste("Surv(time, event) ~", grp)) else
      as.formula(paste("Surv(time, event) ~", grp, "+ strata(", strata, ")"))
    r <- from_survdiff(survdiff(fml, data = df, rho = rho))
    h <- fh_test(df$time, df$event, df[[grp]], s, rho, 0)
    stopifnot(isTRUE(all.equal(r$chisq, h$chisq, tolerance = 1e-10)),
              isTRUE(all.equal(r$obs, h$obs, tolerance = 1e-10)))
    source <- "survdiff"
  } else {
    r <- fh_test(df$time, df$event, df[[grp]], s, rho, gamma)
    source <- "fh_test (formula; checked against survdiff at gamma = 0)"
  }
  cases[[name]] <<- c(list(data = data, group = grp, strata = if (is.null(strata)) NA else strata,
                           rho = rho, gamma = gamma, source = source), r)
}
add("lung_sex", "lung.csv", lung2, "sex", NULL, 0, 0)
add("lung_sex_rho1", "lung.csv", lung2, "sex", NULL, 1, 0)
add("lung_sex_rho05", "lung.csv", lung2, "sex", NULL, 0.5, 0)
add("lung_sex_strata_ecog", "lung.csv", lung2, "sex", "ph_ecog", 0, 0)
add("lung_sex_strata_ecog_rho1", "lung.csv", lung2, "sex", "ph_ecog", 1, 0)
add("lung_ecog_4groups", "lung.csv", lung2, "ph_ecog", NULL, 0, 0)
add("veteran_trt", "veteran.csv", vet, "trt", NULL, 0, 0)
add("veteran_celltype", "veteran.csv", vet, "celltype", NULL, 0, 0)
add("veteran_trt_strata_celltype", "veteran.csv", vet, "trt", "celltype", 0, 0)
add("veteran_celltype_strata_prior_rho1", "veteran.csv", vet, "celltype", "prior", 1, 0)
add("aml", "aml.csv", aml2, "group", NULL, 0, 0)
add("lung_sex_fh01", "lung.csv", lung2, "sex", NULL, 0, 1)
add("lung_sex_fh11", "lung.csv", lung2, "sex", NULL, 1, 1)
add("veteran_trt_fh0505", "veteran.csv", vet, "trt", NULL, 0.5, 0.5)
add("veteran_celltype_strata_prior_fh01", "veteran.csv", vet, "celltype", "prior", 0, 1)
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE), "logrank.json")
