# Reference values for celltrial.stats.claims. Run from this directory: Rscript claims.R
# 1. Fisher's exact test and Pearson's chi-square (with/without Yates) on the Meng 2020 table 3
#    (Signal Transduct Target Ther 2020; UC-MSC vs control, 9 per arm) and other seed tables.
# 2. Log-rank statistics over *all* orderings of events and censorings, by brute force with
#    survival::survdiff (time = position in the ordering), for small cases.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
out <- list(R_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            jsonlite_version = as.character(packageVersion("jsonlite")))
tables <- read.csv("tables.csv", stringsAsFactors = FALSE)
res <- list()
for (i in seq_len(nrow(tables))) {
  t <- tables[i, ]
  m <- matrix(c(t$e1, t$n1 - t$e1, t$e2, t$n2 - t$e2), 2, byrow = TRUE)
  chi <- function(correct) {
    r <- suppressWarnings(chisq.test(m, correct = correct))
    if (is.na(r$p.value)) NA else r$p.value
  }
  res[[t$label]] <- list(fisher = fisher.test(m)$p.value, chi2 = chi(FALSE), chi2_yates = chi(TRUE))
}
out$tables <- res

# all distinct orderings of a multiset of item codes (0 = event arm 1, 1 = censored arm 1,
# 2 = event arm 2, 3 = censored arm 2)
orderings <- function(counts) {
  if (sum(counts) == 0) return(list(integer(0)))
  out <- list()
  for (k in which(counts > 0)) {
    c2 <- counts; c2[k] <- c2[k] - 1
    for (rest in orderings(c2)) out[[length(out) + 1]] <- c(k - 1L, rest)
  }
  out
}
cases <- list(c(e1 = 2, n1 = 4, e2 = 0, n2 = 3), c(e1 = 3, n1 = 5, e2 = 1, n2 = 4),
              c(e1 = 1, n1 = 3, e2 = 3, n2 = 4))
lr <- list()
for (cs in cases) {
  counts <- c(cs[["e1"]], cs[["n1"]] - cs[["e1"]], cs[["e2"]], cs[["n2"]] - cs[["e2"]])
  chis <- c()
  for (o in orderings(counts)) {
    d <- data.frame(time = seq_along(o), status = as.integer(o %% 2 == 0), arm = as.integer(o >= 2))
    chis <- c(chis, survdiff(Surv(time, status) ~ arm, data = d)$chisq)
  }
  chis <- sort(unique(round(chis, 10)))
  lr[[paste(cs, collapse = "_")]] <- list(events = c(cs[["e1"]], cs[["e2"]]), n = c(cs[["n1"]], cs[["n2"]]),
    n_orderings = length(orderings(counts)), chi2 = chis,
    p_min = pchisq(max(chis), 1, lower.tail = FALSE), p_max = pchisq(min(chis), 1, lower.tail = FALSE))
}
out$logrank <- lr
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "claims.json")
