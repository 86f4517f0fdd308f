# Reference values for celltrial.stats.claims_kinds. Run from this directory: Rscript kinds.R
# r x c tables: fisher.test (Fisher-Freeman-Halton) and chisq.test(correct = FALSE).
# Two means: t.test on data built to have exactly the reported mean and SD.
# Estimates with a CI: p from the CI (Altman & Bland 2011) and the Wald CI of RR/OR/RD.
suppressPackageStartupMessages(library(jsonlite))
out <- list(R_version = R.version.string)
tabs <- list(
  improvement_3cat = matrix(c(12, 3, 1, 5, 6, 5), 2, byrow = TRUE),   # improved/stable/worse
  two_by_four = matrix(c(3, 5, 2, 0, 1, 2, 6, 4), 2, byrow = TRUE),
  three_by_three = matrix(c(4, 1, 0, 2, 3, 1, 0, 2, 5), 3, byrow = TRUE)
)
out$tables <- lapply(tabs, function(m) list(table = m, fisher = fisher.test(m)$p.value,
  chi2 = suppressWarnings(chisq.test(m, correct = FALSE))$p.value))
exact_sample <- function(m, s, n) { z <- seq_len(n); z <- (z - mean(z)) / sd(z); m + s * z }
means <- list(m = c(5.2, 6.8), s = c(1.9, 2.3), n = c(15, 14))
x <- exact_sample(means$m[1], means$s[1], means$n[1]); y <- exact_sample(means$m[2], means$s[2], means$n[2])
st <- t.test(x, y, var.equal = TRUE); we <- t.test(x, y, var.equal = FALSE)
out$means <- list(means = means$m, sds = means$s, n = means$n, student = st$p.value, welch = we$p.value,
  student_ci = as.numeric(st$conf.int), welch_ci = as.numeric(we$conf.int))
ci_p <- function(est, lo, hi, log = TRUE) {
  f <- if (log) base::log else identity
  se <- (f(hi) - f(lo)) / (2 * qnorm(0.975)); 2 * pnorm(-abs(f(est)) / se)
}
out$p_from_ci <- list(rr = list(est = 0.45, ci = c(0.21, 0.95), p = ci_p(0.45, 0.21, 0.95)),
  md = list(est = -10.8, ci = c(-20.7, -1.5), p = ci_p(-10.8, -20.7, -1.5, FALSE)))
wald <- function(e1, n1, e2, n2) {
  rr <- (e1 / n1) / (e2 / n2); se <- sqrt(1 / e1 - 1 / n1 + 1 / e2 - 1 / n2)
  list(rr = rr, ci = exp(log(rr) + c(-1, 1) * qnorm(0.975) * se))
}
out$wald_rr <- c(list(counts = c(2, 12, 7, 12)), wald(2, 12, 7, 12))
# OR and RD (metafor's escalc would add 1/2 only to a table with a zero cell; none here)
or_ <- (5 / 6) / (1 / 5); se_or <- sqrt(1 / 5 + 1 / 6 + 1 / 1 + 1 / 5)
out$wald_or <- list(counts = c(5, 11, 1, 6), or = or_, ci = exp(log(or_) + c(-1, 1) * qnorm(0.975) * se_or))
rd <- 2 / 12 - 7 / 12; se_rd <- sqrt((2 / 12) * (10 / 12) / 12 + (7 / 12) * (5 / 12) / 12)
out$wald_rd <- list(counts = c(2, 12, 7, 12), rd = rd, ci = rd + c(-1, 1) * qnorm(0.975) * se_rd,
  p = 2 * pnorm(-abs(rd) / se_rd))
out$grimmer <- list(data = 1:5, mean = mean(1:5), sd = sd(1:5))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "kinds.json")
