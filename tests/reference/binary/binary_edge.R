# Reference values for celltrial.stats.fisher_exact on an all-zero table (R: p = 1).
# Run from this directory: Rscript binary_edge.R
suppressPackageStartupMessages(library(jsonlite))
z <- matrix(0, 2, 2)
fz <- lapply(c("two-sided", "less", "greater"), function(a) {
  f <- fisher.test(z, alternative = sub("-", ".", a))
  list(p = f$p.value, estimate = unname(f$estimate), lower = f$conf.int[1], upper = f$conf.int[2])
})
names(fz) <- c("two-sided", "less", "greater")
out <- list(R_version = R.version.string, fisher_zero = fz)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "binary_edge.json")
