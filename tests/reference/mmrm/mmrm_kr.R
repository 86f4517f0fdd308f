# Reference values for the degrees of freedom and least-squares means of celltrial.stats.mmrm.
# Run from this directory after mmrm.R (reads trial.csv): Rscript mmrm_kr.R  (writes mmrm_kr.json)
#
# The model is the unstructured MMRM of mmrm.R, fitted by nlme::gls (REML, tight tolerances).
# The R package 'mmrm' is not in Debian, and pbkrtest / lmerTest work on lme4 fits, which cannot
# express an unstructured residual covariance. So:
# - Kenward-Roger: pbkrtest's own code (pbkrtest:::vcovAdj_internal for the adjusted covariance,
#   pbkrtest:::Lb_ddf for the denominator df) applied to the gls fit: Sigma = the block-diagonal
#   covariance of the rows from gls, G = the derivatives of Sigma in each of the V(V+1)/2 entries
#   of the unstructured covariance (a linear parametrization, so KR's second-derivative term is 0).
# - Satterthwaite: df = 2 (L Phi L')^2 / (g' A g), g the gradient of L Phi L' in the V(V+1)/2
#   entries of the unstructured covariance and A the inverse observed REML information in the
#   same entries, both by numDeriv (Richardson extrapolation) on the REML log-likelihood and on
#   Phi = (X' V^-1 X)^-1 written out here, at gls's estimate. As a second opinion, emmeans'
#   gls Satterthwaite (mode = "appx-satterthwaite": numerical, its df vary by ~1e-3 from run
#   to run) is recorded too.
# - LS means by visit and arm: emmeans(fit, ~ arm | fvisit) (covariates at their mean over
#   rows), with the KR and Satterthwaite df and SEs above.
suppressPackageStartupMessages({library(nlme); library(pbkrtest); library(emmeans);
  library(numDeriv); library(jsonlite)})
d <- read.csv("trial.csv")
d$arm <- factor(d$arm, levels = c("control", "active"))
d$fvisit <- factor(d$visit)
ctl <- glsControl(tolerance = 1e-14, msTol = 1e-14, msMaxIter = 1000, maxIter = 1000,
                  opt = "optim", optimMethod = "BFGS", returnObject = TRUE)
V <- 3
one <- function(formula) {
  fit <- eval(bquote(gls(.(formula), data = d, correlation = corSymm(form = ~ visit | subject),
                         weights = varIdent(form = ~ 1 | fvisit), method = "REML",
                         control = ctl)))
  X <- model.matrix(formula, data = d)
  full <- names(which(table(d$subject) == V))[1]
  S <- unclass(getVarCov(fit, individual = full))
  n <- nrow(d)
  same <- outer(d$subject, d$subject, "==")
  Sigma <- S[d$visit, d$visit] * same
  G <- list()
  for (j in 1:V) for (l in j:V) {
    E <- matrix(0, V, V); E[j, l] <- 1; E[l, j] <- 1
    G[[length(G) + 1]] <- E[d$visit, d$visit] * same
  }
  Phi <- unclass(vcov(fit))
  # Satterthwaite from scratch: REML log-likelihood and Phi as functions of the entries of S
  up <- which(upper.tri(S, diag = TRUE), arr.ind = TRUE)
  up <- up[order(up[, 1], up[, 2]), , drop = FALSE]  # (1,1), (1,2), ..., (V,V), as G above
  to_S <- function(phi) { M <- matrix(0, V, V); M[up] <- phi; M[up[, 2:1]] <- phi; M }
  phi_hat <- S[up]
  yv <- d$y
  reml <- function(phi) {
    Vm <- to_S(phi)[d$visit, d$visit] * same
    Vi <- solve(Vm)
    XtVX <- crossprod(X, Vi %*% X)
    beta <- solve(XtVX, crossprod(X, Vi %*% yv))
    r <- yv - X %*% beta
    -0.5 * (as.numeric(determinant(Vm)$modulus) + as.numeric(determinant(XtVX)$modulus) +
              drop(crossprod(r, Vi %*% r)))
  }
  phi_of <- function(phi) {
    Vi <- solve(to_S(phi)[d$visit, d$visit] * same)
    solve(crossprod(X, Vi %*% X))
  }
  A <- solve(-hessian(reml, phi_hat))
  satt <- function(L) {
    L <- matrix(L, nrow = 1)
    v <- drop(L %*% Phi %*% t(L))
    g <- grad(function(phi) drop(L %*% phi_of(phi) %*% t(L)), phi_hat)
    df <- 2 * v^2 / drop(t(g) %*% A %*% g)
    est <- sum(L * coef(fit)); se <- sqrt(v); q <- qt(0.975, df)
    list(estimate = est, se = se, df = df, p_value = 2 * pt(-abs(est / se), df),
         lower = est - q * se, upper = est + q * se)
  }
  PhiA <- pbkrtest:::vcovAdj_internal(Phi, list(Sigma = Sigma, G = G, n.ggamma = length(G)), X)
  p <- ncol(X)
  b <- coef(fit)
  xbar <- colMeans(X)
  kr <- function(L) {
    L <- matrix(L, nrow = 1)
    est <- sum(L * b)
    se <- sqrt(drop(L %*% PhiA %*% t(L)))
    df <- pbkrtest:::Lb_ddf(L, Phi, PhiA)
    q <- qt(0.975, df)
    list(estimate = est, se = se, df = df, p_value = 2 * pt(-abs(est / se), df),
         lower = est - q * se, upper = est + q * se)
  }
  # LS mean rows: intercept + visit + arm + visit:arm at the visit/arm, covariates at their mean
  lsm_row <- function(j, a) {
    L <- xbar
    L[] <- 0
    L["(Intercept)"] <- 1
    if (j > 1) L[paste0("fvisit", j)] <- 1
    if (a == "active") L["armactive"] <- 1
    if (j > 1 && a == "active") L[paste0("fvisit", j, ":armactive")] <- 1
    cov <- setdiff(names(L), c("(Intercept)", grep("fvisit|arm", names(L), value = TRUE)))
    L[cov] <- xbar[cov]
    L
  }
  kr_lsm <- list(); kr_con <- list(); s_lsm <- list(); s_con <- list()
  for (j in 1:V) {
    for (a in c("control", "active")) {
      kr_lsm[[length(kr_lsm) + 1]] <- kr(lsm_row(j, a))
      s_lsm[[length(s_lsm) + 1]] <- satt(lsm_row(j, a))
    }
    kr_con[[j]] <- kr(lsm_row(j, "active") - lsm_row(j, "control"))
    s_con[[j]] <- satt(lsm_row(j, "active") - lsm_row(j, "control"))
  }
  tidy <- function(lst) lapply(names(lst[[1]]), function(k) sapply(lst, `[[`, k)) |>
    setNames(names(lst[[1]]))
  emm <- emmeans(fit, ~ arm | fvisit, mode = "appx-satterthwaite")
  es <- as.data.frame(summary(emm))
  cs <- as.data.frame(summary(contrast(emm, "revpairwise"), infer = TRUE))
  list(
    coef = unname(b), vcov = unname(Phi), vcov_kr = unname(as.matrix(PhiA)),
    covariance = unname(S), covariate_means = unname(xbar),
    observed_information_inverse = unname(A),
    kr_lsmeans = tidy(kr_lsm), kr_contrasts = tidy(kr_con),
    satt_lsmeans = tidy(s_lsm), satt_contrasts = tidy(s_con),
    emmeans_lsmeans = list(visit = as.integer(as.character(es$fvisit)), arm = as.character(es$arm),
                        estimate = es$emmean, se = es$SE, df = es$df, lower = es$lower.CL,
                        upper = es$upper.CL),
    emmeans_contrasts = list(visit = as.integer(as.character(cs$fvisit)),
                          contrast = as.character(cs$contrast), estimate = cs$estimate,
                          se = cs$SE, df = cs$df, p_value = cs$p.value, lower = cs$lower.CL,
                          upper = cs$upper.CL)
  )
}
out <- list(
  R_version = R.version.string,
  nlme_version = as.character(packageVersion("nlme")),
  pbkrtest_version = as.character(packageVersion("pbkrtest")),
  emmeans_version = as.character(packageVersion("emmeans")),
  fits = list(REML = one(y ~ fvisit * arm), REML_age = one(y ~ fvisit * arm + age))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "mmrm_kr.json")
