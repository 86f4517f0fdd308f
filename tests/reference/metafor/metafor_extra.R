# Reference values for celltrial.stats.meta_analysis (se.tau2, the untruncated tau2, Knapp-Hartung
# with tau2 = 0) and meta_mantel_haenszel (Breslow-Day and Tarone tests), computed with metafor.
# Run from this directory: Rscript metafor_extra.R (reads dat_bcg.csv and dat_normand1999.csv,
# written by metafor.R; writes metafor_extra.json).
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
bcg <- read.csv("dat_bcg.csv")
nor <- read.csv("dat_normand1999.csv")
ctl <- list(threshold = 1e-13, tol = 1e-13, maxiter = 10000)
out <- list(R_version = R.version.string, metafor_version = as.character(packageVersion("metafor")))
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
smd <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = nor)
# a homogeneous set: DL's estimate is negative before truncation
homog <- data.frame(yi = c(0.10, 0.12, 0.09, 0.11, 0.10), vi = c(0.05, 0.04, 0.06, 0.05, 0.03))
sets <- list(bcg_rr = list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi)),
             normand_smd = list(yi = as.numeric(smd$yi), vi = as.numeric(smd$vi)),
             homogeneous = list(yi = homog$yi, vi = homog$vi))
out$se_tau2 <- list()
for (nm in names(sets)) {
  s <- sets[[nm]]
  res <- list(yi = s$yi, vi = s$vi)
  for (m in c("DL", "REML", "ML", "PM", "EB", "SJ", "HE", "HS")) {
    f <- rma(s$yi, s$vi, method = m, control = ctl)
    res[[m]] <- list(tau2 = f$tau2, se_tau2 = f$se.tau2)
  }
  # the untruncated DerSimonian-Laird estimate, (Q - (k - 1)) / (sum w - sum w^2 / sum w),
  # and metafor's own where its tau2.min = -Inf is not constrained (above -min(vi))
  w <- 1 / s$vi
  q <- sum(w * (s$yi - sum(w * s$yi) / sum(w))^2)
  res$DL$tau2_untruncated <- (q - (length(w) - 1)) / (sum(w) - sum(w^2) / sum(w))
  res$DL$tau2_metafor_min_inf <- tryCatch(
    suppressWarnings(rma(s$yi, s$vi, method = "DL", control = list(tau2.min = -Inf))$tau2),
    error = function(e) NA)
  # with a moderator (meta-regression) for bcg
  out$se_tau2[[nm]] <- res
}
f <- rma(yi, vi, mods = ~ ablat, data = dat, method = "REML", control = ctl)
out$se_tau2_mods <- list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), mods = dat$ablat,
                         tau2 = f$tau2, se_tau2 = f$se.tau2)
f <- rma(yi, vi, mods = ~ ablat, data = dat, method = "DL")
out$se_tau2_mods$DL <- list(tau2 = f$tau2, se_tau2 = f$se.tau2)
# Knapp-Hartung with identical studies: tau2 = 0, residual sum of squares 0 (issue 21)
f <- rma(c(.1, .1, .1), c(.1, .2, .1), method = "REML", test = "knha")
out$knha_identical <- list(yi = c(.1, .1, .1), vi = c(.1, .2, .1), estimate = c(f$beta),
                           se = f$se, ci_lb = f$ci.lb, ci_ub = f$ci.ub, pval = f$pval,
                           tau2 = f$tau2, se_tau2 = f$se.tau2, QM = f$QM)
# Breslow-Day and Tarone (rma.mh, measure = "OR")
mh <- function(ai, bi, ci, di) {
  f <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = "OR")
  list(ai = ai, bi = bi, ci = ci, di = di, BD = f$BD, BDp = f$BDp, TA = f$TA, TAp = f$TAp,
       k_pos = f$k.pos)
}
out$breslow_day <- list(
  bcg = mh(bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg),
  # a stratified trial: strata with a zero cell and one stratum with no events
  strata = mh(c(3, 0, 5, 0, 7), c(9, 12, 6, 10, 5), c(6, 2, 4, 0, 9), c(6, 10, 8, 11, 3)),
  # common OR of exactly 1
  null = mh(c(2, 4), c(8, 6), c(4, 2), c(6, 8))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           "metafor_extra.json")
