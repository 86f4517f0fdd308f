# Reference values for celltrial.stats continuous methods: t.test and wilcox.test (with
# conf.int = TRUE for the Hodges-Lehmann estimate and CI).
# Run from this directory: Rscript continuous.R
suppressPackageStartupMessages(library(jsonlite))
set.seed(42)
samples <- list(
  # R's ?wilcox.test example (y has ties -> normal approximation)
  depression = list(x = c(1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30),
                    y = c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29)),
  untied_small = list(x = round(rnorm(8, 1, 1), 4), y = round(rnorm(10, 0, 1.5), 4)),
  untied_tiny = list(x = c(0.8, 1.9, 3.1), y = c(0.2, 0.5, 1.1, 1.4)),
  sleep = list(x = sleep$extra[sleep$group == 2], y = sleep$extra[sleep$group == 1]),
  large = list(x = round(rnorm(60, 0.4, 1), 3), y = round(rnorm(55, 0, 1), 3)),
  crp_like = list(x = c(12, 35, 8, 60, 22, 15, 40, 9, 18, 27, 33), y = c(45, 70, 38, 22, 90, 55, 61, 48, 30))
)
write_json(samples, "samples.json", digits = NA, pretty = TRUE)
tt <- function(r) list(statistic = unname(r$statistic), df = unname(r$parameter), p_value = r$p.value,
                       lower = r$conf.int[1], upper = r$conf.int[2], stderr = r$stderr)
wt <- function(r) list(statistic = unname(r$statistic), p_value = r$p.value,
                       estimate = unname(r$estimate), lower = r$conf.int[1], upper = r$conf.int[2],
                       conf_level = attr(r$conf.int, "conf.level"), method = r$method)
out <- list()
for (nm in names(samples)) {
  x <- samples[[nm]]$x; y <- samples[[nm]]$y
  r <- list()
  for (alt in c("two.sided", "less", "greater")) {
    r[[paste0("welch_", alt)]] <- tt(t.test(x, y, alternative = alt))
    r[[paste0("student_", alt)]] <- tt(t.test(x, y, var.equal = TRUE, alternative = alt, conf.level = 0.9))
    r[[paste0("onesample_", alt)]] <- tt(t.test(x, mu = 1, alternative = alt))
    for (corr in c(TRUE, FALSE)) {
      r[[paste0("ranksum_", alt, "_", corr)]] <- wt(suppressWarnings(
        wilcox.test(x, y, alternative = alt, correct = corr, conf.int = (alt == "two.sided"))))
      r[[paste0("ranksum_mu_", alt, "_", corr)]] <- wt(suppressWarnings(
        wilcox.test(x, y, mu = 0.3, alternative = alt, correct = corr)))
      r[[paste0("signrank_", alt, "_", corr)]] <- wt(suppressWarnings(
        wilcox.test(x, mu = 1, alternative = alt, correct = corr, conf.int = (alt == "two.sided" && !corr))))
    }
  }
  r$ranksum_approx_ci_TRUE <- wt(suppressWarnings(wilcox.test(x, y, exact = FALSE, correct = TRUE, conf.int = TRUE)))
  r$ranksum_approx_ci_FALSE <- wt(suppressWarnings(wilcox.test(x, y, exact = FALSE, correct = FALSE, conf.int = TRUE)))
  r$signrank_ci_0 <- wt(suppressWarnings(wilcox.test(x, conf.int = TRUE)))
  r$signrank_approx_ci <- wt(suppressWarnings(wilcox.test(x, conf.int = TRUE, exact = FALSE)))
  if (length(x) == length(y)) {
    r$paired_t <- tt(t.test(x, y, paired = TRUE))
    r$paired_signrank <- wt(suppressWarnings(wilcox.test(x, y, paired = TRUE, conf.int = TRUE)))
  }
  out[[nm]] <- r
}
res <- list(R_version = R.version.string, stats_version = as.character(packageVersion("stats")),
            cases = out)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE), "continuous.json")
