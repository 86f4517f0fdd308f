# Reference values for the follow-up assumptions of celltrial.stats.claims (issue 20).
# Run from this directory: Rscript followup.R   (writes followup.json)
# 1. Complete follow-up to a fixed horizon: deaths at distinct times 1..d, every survivor
#    censored at the horizon (time d + 1). Every ordering of the deaths between the arms
#    (choose(d, e1) of them) is run through survival::survdiff.
# 2. Censoring as stated: k1, k2 participants censored early at unknown times, the other
#    survivors at the horizon: every ordering of the deaths and early censorings.
# 3. Shi 2021 "normal CT at month 12: 10/56 vs 0/N, p = 0.013" for N = 28..35: fisher.test,
#    chisq.test with and without Yates.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")))

orderings <- function(counts) {  # all distinct orderings of a multiset of codes 0..3
  if (sum(counts) == 0) return(list(integer(0)))
  res <- list()
  for (k in which(counts > 0)) {
    c2 <- counts; c2[k] <- c2[k] - 1
    for (rest in orderings(c2)) res[[length(res) + 1]] <- c(k - 1L, rest)
  }
  res
}
logrank_chis <- function(e1, n1, e2, n2, k1 = 0, k2 = 0) {
  h1 <- n1 - e1 - k1; h2 <- n2 - e2 - k2
  if (k1 + k2 == 0) {
    d <- e1 + e2
    pos <- combn(d, e1, simplify = FALSE)   # positions of arm-1 deaths among the d deaths
    os <- lapply(pos, function(p) { o <- rep(2L, d); o[p] <- 0L; o })
  } else {
    os <- orderings(c(e1, k1, e2, k2))
  }
  chis <- vapply(os, function(o) {
    o <- c(o, rep(1L, h1), rep(3L, h2))      # horizon censorings after every death
    t <- seq_along(o); t[(length(o) - h1 - h2 + 1):length(o)] <- length(o) # tied at the horizon
    dd <- data.frame(time = t, status = as.integer(o %% 2 == 0), arm = as.integer(o >= 2))
    survdiff(Surv(time, status) ~ arm, data = dd)$chisq
  }, numeric(1))
  chis
}
cases <- list(
  list(label = "fathi_6_14_11_15", e = c(6, 11), n = c(14, 15), k = c(0, 0)),
  list(label = "lanzoni_2_12_7_12", e = c(2, 7), n = c(12, 12), k = c(0, 0)),
  list(label = "lanzoni_1_12_7_12", e = c(1, 7), n = c(12, 12), k = c(0, 0)),
  list(label = "stated_3_8_2_7_k1_1", e = c(3, 2), n = c(8, 7), k = c(1, 1)),
  list(label = "stated_2_6_4_6_k2_0", e = c(2, 4), n = c(6, 6), k = c(2, 0))
)
lr <- list()
for (cs in cases) {
  chis <- logrank_chis(cs$e[1], cs$n[1], cs$e[2], cs$n[2], cs$k[1], cs$k[2])
  u <- sort(unique(round(chis, 10)))
  lr[[cs$label]] <- list(events = cs$e, n = cs$n, early_censored = cs$k, n_orderings = length(chis),
    chi2 = u, p_min = pchisq(max(chis), 1, lower.tail = FALSE),
    p_max = pchisq(min(chis), 1, lower.tail = FALSE))
}
out$logrank <- lr
shi <- list()
for (N in 28:35) {
  m <- matrix(c(10, 46, 0, N), 2, byrow = TRUE)
  shi[[as.character(N)]] <- list(fisher = fisher.test(m)$p.value,
    chi2 = suppressWarnings(chisq.test(m, correct = FALSE))$p.value,
    chi2_yates = suppressWarnings(chisq.test(m, correct = TRUE))$p.value)
}
out$shi_normal_ct <- shi
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "followup.json")
