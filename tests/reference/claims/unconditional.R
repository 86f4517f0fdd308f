# Barnard's (pooled Wald statistic) and Boschloo's unconditional exact tests, written out in R
# (no CRAN package for them is installed here), for Shi 2021's 10/56 vs 0/N, N = 28..32: the
# values behind "consistent if N(placebo) in [29, 31]". Run: Rscript unconditional.R
# Both maximise the p-value over the common event probability pi: a grid of 2000 points, then
# optimize() around the best. Boschloo two-sided = 2 x the smaller one-sided p (scipy's rule).
suppressPackageStartupMessages(library(jsonlite))
sup <- function(f) {
  g <- seq(1e-6, 1 - 1e-6, length.out = 2000); v <- vapply(g, f, 0); i <- which.max(v)
  lo <- g[max(1, i - 1)]; hi <- g[min(length(g), i + 1)]
  max(v[i], optimize(f, c(lo, hi), maximum = TRUE, tol = 1e-12)$objective)
}
tests <- function(x1, n1, x2, n2) {
  X1 <- rep(0:n1, times = n2 + 1); X2 <- rep(0:n2, each = n1 + 1)
  prob <- function(pi) dbinom(X1, n1, pi) * dbinom(X2, n2, pi)
  wald <- function(a, b) {
    p <- (a + b) / (n1 + n2); se <- sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    ifelse(se > 0, (a / n1 - b / n2) / se, 0)
  }
  t_obs <- abs(wald(x1, x2)); extreme <- abs(wald(X1, X2)) >= t_obs * (1 - 1e-12)
  barnard <- sup(function(pi) sum(prob(pi)[extreme]))
  one <- function(lower) {  # Fisher's one-sided p as the statistic
    s <- function(a, b) if (lower) phyper(a, n1, n2, a + b) else phyper(b, n2, n1, a + b)
    stat <- mapply(s, X1, X2); obs <- s(x1, x2)
    sup(function(pi) sum(prob(pi)[stat <= obs * (1 + 1e-13)]))
  }
  list(barnard = barnard, boschloo = min(1, 2 * min(one(TRUE), one(FALSE))))
}
out <- list(R_version = R.version.string)
for (N in 28:32) out[[as.character(N)]] <- tests(10, 56, 0, N)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "unconditional.json")
