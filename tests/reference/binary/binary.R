# Reference values for celltrial.stats binary methods: fisher.test, chisq.test, prop.test
# (Wald and Wilson intervals), mantelhaen.test; Newcombe, Katz and Woolf intervals and the mid-p
# value are computed from their textbook formulas in base R.
# Tables are [[a, b], [c, d]]: rows = arms, columns = (event, no event).
# Run from this directory: Rscript binary.R
suppressPackageStartupMessages(library(jsonlite))
tables <- list(
  seed_11of12_vs_5of12 = c(11, 1, 5, 7),
  seed_7of14_vs_12of15 = c(7, 7, 12, 3),
  seed_10of56_vs_0of30 = c(10, 46, 0, 30),
  seed_1of9_vs_4of9 = c(1, 8, 4, 5),
  tea_tasting = c(3, 1, 1, 3),
  moderate = c(20, 15, 10, 25),
  seed_5of11_vs_1of6 = c(5, 6, 1, 5),
  large = c(123, 377, 98, 402)
)
relErr <- 1 + 1e-7
midp <- function(x, m, n, k) {
  lo <- max(0, k - n); hi <- min(k, m); support <- lo:hi
  d <- dhyper(support, m, n, k)
  dx <- d[x - lo + 1]
  two <- sum(d[d < dx / relErr]) + 0.5 * sum(d[d >= dx / relErr & d <= dx * relErr])
  less <- sum(d[support < x]) + 0.5 * dx
  greater <- sum(d[support > x]) + 0.5 * dx
  c(two_sided = min(1, two), less = less, greater = greater)
}
wilson <- function(x, n, level) unname(suppressWarnings(prop.test(x, n, correct = FALSE, conf.level = level))$conf.int[1:2])
out <- list()
for (nm in names(tables)) {
  v <- tables[[nm]]
  tab <- matrix(v, 2, 2, byrow = TRUE)
  a <- v[1]; b <- v[2]; c <- v[3]; d <- v[4]; n1 <- a + b; n2 <- c + d
  r <- list(table = v)
  for (alt in c("two.sided", "less", "greater")) {
    for (lev in c(0.95, 0.9)) {
      f <- fisher.test(tab, alternative = alt, conf.level = lev)
      r[[paste0("fisher_", alt, "_", lev)]] <- list(p_value = f$p.value, estimate = unname(f$estimate),
                                                  lower = f$conf.int[1], upper = f$conf.int[2])
    }
  }
  r$midp <- as.list(midp(a, a + c, b + d, a + b))
  for (corr in c(TRUE, FALSE)) {
    ch <- suppressWarnings(chisq.test(tab, correct = corr))
    r[[paste0("chisq_", corr)]] <- list(statistic = unname(ch$statistic), df = unname(ch$parameter),
                                      p_value = ch$p.value)
  }
  p1 <- a / n1; p2 <- c / n2; z <- qnorm(0.975)
  pt <- suppressWarnings(prop.test(c(a, c), c(n1, n2), correct = FALSE))
  w1 <- wilson(a, n1, 0.95); w2 <- wilson(c, n2, 0.95)
  rd <- p1 - p2
  r$rd <- list(estimate = rd, wald = unname(pt$conf.int[1:2]),
               newcombe = c(rd - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
                            rd + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2)),
               wilson1 = w1, wilson2 = w2)
  rr <- p1 / p2; se <- sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
  r$rr <- list(estimate = rr, katz = c(exp(log(rr) - z * se), exp(log(rr) + z * se)), se_log = se)
  or <- (a * d) / (b * c); se <- sqrt(1 / a + 1 / b + 1 / c + 1 / d)
  r$or <- list(estimate = or, woolf = c(exp(log(or) - z * se), exp(log(or) + z * se)), se_log = se)
  out[[nm]] <- r
}
# Mantel-Haenszel: UCBAdmissions (Admitted/Rejected x Male/Female x 6 departments), rearranged so
# that rows are sex (Male, Female) and columns (Admitted, Rejected), plus a 3-stratum table
ucb <- aperm(UCBAdmissions, c(2, 1, 3))
small <- array(c(2, 5, 3, 6,  3, 4, 2, 7,  1, 6, 4, 5), dim = c(2, 2, 3))
mh <- list()
for (nm in c("ucb", "small")) {
  arr <- if (nm == "ucb") ucb else small
  strata <- lapply(seq_len(dim(arr)[3]), function(k) as.vector(t(arr[, , k])))
  for (corr in c(TRUE, FALSE)) {
    m <- mantelhaen.test(arr, correct = corr)
    mh[[paste0(nm, "_", corr)]] <- list(strata = strata, correct = corr,
      statistic = unname(m$statistic), p_value = m$p.value, estimate = unname(m$estimate),
      lower = m$conf.int[1], upper = m$conf.int[2])
  }
}
res <- list(R_version = R.version.string, stats_version = as.character(packageVersion("stats")),
            tables = out, mantel_haenszel = mh)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE), "binary.json")
