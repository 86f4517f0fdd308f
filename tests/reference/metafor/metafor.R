# Reference values for celltrial.stats.meta / effect_size, computed with metafor.
# Run from this directory:  Rscript metafor.R   (writes dat_bcg.csv, dat_normand1999.csv,
# zero_cells.csv and metafor.json).  Convergence tolerances are tightened (threshold, tol) so that
# the reference values are exact to ~1e-10 and a 1e-6 comparison tests the method, not R's stopping rule.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
bcg <- metadat::dat.bcg
write.csv(bcg, "dat_bcg.csv", row.names = FALSE)
nor <- metadat::dat.normand1999
write.csv(nor, "dat_normand1999.csv", row.names = FALSE)
zero <- data.frame(ai = c(0, 3, 5, 0), n1i = c(20, 25, 30, 15), ci = c(2, 6, 0, 0), n2i = c(21, 24, 28, 15))
write.csv(zero, "zero_cells.csv", row.names = FALSE)

ctl <- list(threshold = 1e-13, tol = 1e-13, maxiter = 10000)
out <- list(
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  control = ctl
)
es <- function(e) list(yi = as.numeric(e$yi), vi = as.numeric(e$vi))
out$escalc <- list(
  RR = es(escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)),
  OR = es(escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)),
  RD = es(escalc(measure = "RD", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)),
  MD = es(escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nor)),
  SMD = es(escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nor)),
  zero_RR = es(escalc(measure = "RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = zero)),
  zero_OR = es(escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = zero)),
  zero_RD = es(escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = zero))
)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)

fitvals <- function(f) {
  r <- list(beta = as.numeric(f$beta), se = as.numeric(f$se), zval = as.numeric(f$zval),
            pval = as.numeric(f$pval), ci_lb = as.numeric(f$ci.lb), ci_ub = as.numeric(f$ci.ub),
            tau2 = f$tau2, I2 = f$I2, H2 = f$H2, QE = f$QE, QEp = f$QEp,
            QM = f$QM, QMp = f$QMp, k = f$k, p = f$p)
  if (!is.null(f$R2)) r$R2 <- f$R2
  if (f$method %in% c("ML", "REML")) r$logLik <- as.numeric(logLik(f))
  r
}
methods <- c("FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB", "HS")
out$rma <- list()
for (m in methods) {
  for (tst in c("z", "knha")) {
    if (m == "FE" && tst == "knha") next
    f <- rma(yi, vi, data = dat, method = m, test = tst, control = ctl)
    v <- fitvals(f)
    p <- predict(f)
    v$pi_lb <- as.numeric(p$pi.lb); v$pi_ub <- as.numeric(p$pi.ub)
    if (m != "FE") {
      ci <- confint(f, control = list(tol = 1e-13))
      v$tau2_ci <- as.numeric(ci$random["tau^2", 2:3])
      v$I2_ci <- as.numeric(ci$random["I^2(%)", 2:3])
      v$H2_ci <- as.numeric(ci$random["H^2", 2:3])
    }
    out$rma[[paste(m, tst, sep = "_")]] <- v
  }
}
# meta-regression on absolute latitude and year
for (tst in c("z", "knha")) {
  for (m in c("REML", "DL", "ML")) {
    f <- rma(yi, vi, mods = ~ ablat + year, data = dat, method = m, test = tst, control = ctl)
    out$metareg[[paste(m, tst, sep = "_")]] <- fitvals(f)
  }
}
# subgroups by allocation: a random-effects model in each subgroup, then the test for subgroup
# differences as the Wald-type Q-test of a fixed-effect meta-regression of the subgroup estimates
sub <- list()
groups <- sort(unique(as.character(dat$alloc)))
for (g in groups) {
  f <- rma(yi, vi, data = dat, subset = alloc == g, method = "REML", control = ctl)
  sub[[g]] <- fitvals(f)
}
est <- sapply(groups, function(g) sub[[g]]$beta); sei <- sapply(groups, function(g) sub[[g]]$se)
fb <- rma(est, sei = sei, mods = ~ factor(groups), method = "FE")
out$subgroup <- list(groups = groups, fits = sub, Qb = fb$QM, Qb_df = fb$QMdf[1], Qb_p = fb$QMp)
# leave-one-out
f <- rma(yi, vi, data = dat, method = "REML", control = ctl)
l1 <- leave1out(f)
out$leave1out <- list(estimate = as.numeric(l1$estimate), se = as.numeric(l1$se), pval = as.numeric(l1$pval),
  ci_lb = as.numeric(l1$ci.lb), ci_ub = as.numeric(l1$ci.ub), Q = as.numeric(l1$Q), Qp = as.numeric(l1$Qp),
  tau2 = as.numeric(l1$tau2), I2 = as.numeric(l1$I2), H2 = as.numeric(l1$H2))
# Egger (regtest) and Peters tests
rt <- function(r) list(zval = r$zval, pval = r$pval, dfs = if (is.null(r$dfs)) NA else r$dfs,
                       est = as.numeric(r$est), ci_lb = as.numeric(r$ci.lb), ci_ub = as.numeric(r$ci.ub))
out$regtest <- list(
  rma_sei = rt(regtest(f)),
  lm_sei = rt(regtest(f, model = "lm")),
  lm_ninv = rt(regtest(rma(yi, vi, data = dat, ni = tpos + tneg + cpos + cneg, method = "REML", control = ctl),
                       model = "lm", predictor = "ninv")),
  rma_ninv = rt(regtest(rma(yi, vi, data = dat, ni = tpos + tneg + cpos + cneg, method = "REML", control = ctl),
                       predictor = "ninv"))
)
# Mantel-Haenszel and Peto
mh <- function(f) list(beta = as.numeric(f$beta), se = as.numeric(f$se), zval = f$zval, pval = f$pval,
  ci_lb = f$ci.lb, ci_ub = f$ci.ub, QE = f$QE, QEp = f$QEp, I2 = f$I2, H2 = f$H2,
  MH = if (is.null(f$MH)) NA else f$MH, MHp = if (is.null(f$MHp)) NA else f$MHp)
f_or <- rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg, measure = "OR")
f_rr <- rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg, measure = "RR")
f_rd <- rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg, measure = "RD")
f_peto <- rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
out$mh <- list(OR = mh(f_or), RR = mh(f_rr), RD = mh(f_rd))
out$peto <- mh(f_peto)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "metafor.json")
