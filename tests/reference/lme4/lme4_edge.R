# Reference behaviour of lme4::lmer for celltrial.stats.linear_mixed_model's edge cases:
# one observation per group (lme4 refuses) and a boundary (singular) fit (isSingular TRUE).
# Run from this directory: Rscript lme4_edge.R
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
out <- list(R_version = R.version.string, lme4_version = as.character(packageVersion("lme4")))
one <- data.frame(y = c(5.1, 6.3, 4.8, 7.0, 5.5, 6.1), x = c(0, 1, 0, 1, 0, 1), g = 1:6)
out$one_per_group <- list(y = one$y, x = one$x, g = one$g,
  error = tryCatch({lmer(y ~ x + (1 | g), data = one); NA}, error = function(e) conditionMessage(e)))
# groups whose means vary less than the residual noise predicts: the intercept variance is 0
sing <- data.frame(g = rep(1:6, each = 3),
                   y = c(5.0, 6.0, 4.0, 4.1, 5.9, 5.0, 6.1, 3.9, 5.0, 5.0, 4.0, 6.0, 4.2, 5.8,
                         5.0, 5.9, 4.0, 5.1))
sing$x <- rep(c(0, 1, 2), 6)
f <- suppressMessages(lmer(y ~ x + (1 | g), data = sing, REML = TRUE))
vc <- as.data.frame(VarCorr(f))
out$singular <- list(y = sing$y, x = sing$x, g = sing$g, is_singular = isSingular(f),
                     theta = unname(getME(f, "theta")), fixef = unname(fixef(f)),
                     vcov = unname(as.matrix(vcov(f))), vcomp = vc$vcov,
                     loglik = as.numeric(logLik(f)))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "lme4_edge.json")
