# Reference values for celltrial.stats.mixed.linear_mixed_model, computed with lme4.
# Run from this directory:  Rscript lme4.R   (writes sleepstudy.csv and lme4.json).
# lme4's default optimiser stops at a relative tolerance of about 1e-6 in the deviance, which
# leaves the estimates uncertain in the 5th-7th digit. The reference fits therefore use bobyqa
# with rhoend = 1e-12 (and tight ftol), so that a 1e-6 comparison tests the method, not R's
# stopping rule. The fits at lme4's default control are recorded under "default" for comparison.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
data(sleepstudy, package = "lme4")
write.csv(sleepstudy, "sleepstudy.csv", row.names = FALSE)

tight <- lmerControl(optimizer = "bobyqa",
                     optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5),
                     check.conv.grad = "ignore")

fitvals <- function(f) {
  vc <- as.data.frame(VarCorr(f))
  V <- as.matrix(vcov(f))
  ll <- logLik(f)
  list(
    fixef = as.numeric(fixef(f)),
    fixef_names = names(fixef(f)),
    vcov = unname(V),
    se = as.numeric(sqrt(diag(V))),
    t_value = as.numeric(coef(summary(f))[, "t value"]),
    varcorr = list(grp = vc$grp, var1 = vc$var1, var2 = vc$var2, vcov = vc$vcov, sdcor = vc$sdcor),
    sigma = sigma(f),
    theta = as.numeric(getME(f, "theta")),
    logLik = as.numeric(ll),
    df = attr(ll, "df"),
    deviance_or_reml = if (isREML(f)) as.numeric(REMLcrit(f)) else as.numeric(deviance(f)),
    AIC = AIC(f),
    BIC = BIC(f),
    nobs = nobs(f),
    ngrps = as.numeric(ngrps(f))
  )
}

models <- list(
  intercept = Reaction ~ Days + (1 | Subject),
  slope = Reaction ~ Days + (Days | Subject)
)
out <- list(
  R_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  control = "bobyqa, rhobeg = 0.2, rhoend = 1e-12",
  fits = list(),
  default = list()
)
for (m in names(models)) {
  for (reml in c(TRUE, FALSE)) {
    key <- paste(m, if (reml) "REML" else "ML", sep = "_")
    out$fits[[key]] <- fitvals(lmer(models[[m]], data = sleepstudy, REML = reml, control = tight))
    out$default[[key]] <- fitvals(lmer(models[[m]], data = sleepstudy, REML = reml))
  }
}
# Degrees of freedom for t tests: nlme::lme's between/within rule, on sleepstudy with a
# between-subject covariate (constant within subject) added.
suppressPackageStartupMessages(library(nlme))
out$nlme_version <- as.character(packageVersion("nlme"))
sleepstudy$b <- (as.integer(as.character(sleepstudy$Subject)) %% 7) / 3
write.csv(sleepstudy, "sleepstudy_b.csv", row.names = FALSE)
out$lme <- list()
lctl <- lmeControl(tolerance = 1e-12, msTol = 1e-12, niterEM = 100, msMaxIter = 1000)
for (m in c("intercept", "slope")) {
  rnd <- if (m == "intercept") ~ 1 | Subject else ~ Days | Subject
  f <- lme(Reaction ~ Days + b, random = rnd, data = sleepstudy, method = "REML", control = lctl)
  tt <- summary(f)$tTable
  out$lme[[m]] <- list(coef = as.numeric(tt[, "Value"]), se = as.numeric(tt[, "Std.Error"]),
                       df = as.numeric(tt[, "DF"]), t_value = as.numeric(tt[, "t-value"]),
                       p_value = as.numeric(tt[, "p-value"]), logLik = as.numeric(logLik(f)))
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "lme4.json")
