"""MMRM: a mixed model for repeated measures with an unstructured covariance across visits.

Each subject ``i`` is seen at a subset of the visits ``1..V``; its observed rows satisfy

    y_i = X_i beta + e_i,    e_i ~ N(0, Sigma[o_i, o_i]),

with ``Sigma`` (``V x V``) unstructured and ``o_i`` the subject's observed visits (missing
visits are simply absent: the likelihood is that of the observed data, valid under MAR). The
fixed effects are ``visit + arm + covariates + visit:arm`` in treatment coding (the first
visit and the reference arm are the baselines). ``Sigma = sigma2 L L'`` with ``L`` lower
triangular, ``L[0, 0] = 1`` and the other diagonal entries ``exp(.)``; ``beta`` and ``sigma2``
are profiled out and the REML (or ML) criterion

    -2 l_R = sum_i log|C_i| + log|X' W X| + (n - p) (1 + log(2 pi r2 / (n - p)))

(``C_i = (L L')[o_i, o_i]``, ``W = blockdiag(C_i^-1)``, ``r2 = y' W y - beta' X' W y``) is
minimised over the free entries of ``L``. Subjects with the same pattern of observed visits
share ``C_i^-1``, so the work is one small factorisation per pattern.

The treatment contrast at visit ``v`` (arm ``a`` minus the reference) is ``c' beta`` with
``c`` selecting ``arm[a]`` and ``visit[v]:arm[a]``, ``SE = sqrt(c' Var(beta) c)``,
``Var(beta) = Phi = sigma2 (X' W X)^-1``. Least-squares means by visit and arm are
``c' beta`` with ``c`` the visit's and arm's columns and every covariate at its mean over the
rows (as ``emmeans``).

Degrees of freedom (``df_method``), with ``Sigma`` parametrized by its ``V(V+1)/2`` entries
``phi_k`` (``G_k = dSigma/dphi_k``; the parametrization is linear, so Kenward–Roger's
second-derivative term vanishes), ``P_k = -X'W G_k W X`` and ``Q_kl = X'W G_k W G_l W X``:

- ``"kenward-roger"`` (the default; SAS ``DDFM=KR``): the adjusted covariance
  ``Phi_A = Phi + 2 Phi {sum_kl w_kl (Q_kl - P_k Phi P_l)} Phi`` with ``w = I_E^-1``, the
  inverse expected REML information ``I_E,kl = tr(P G_k P G_l) / 2`` (``P`` the REML
  projection), and the df of Kenward & Roger (1997) for ``c' beta``; SEs come from ``Phi_A``.
- ``"satterthwaite"``: ``df = 2 (c' Phi c)^2 / (g' H^-1 g)`` with ``g_k = -c' Phi P_k Phi c``
  (the gradient of ``c' Phi c``) and ``H`` the observed REML information
  ``-tr(P G_k P G_l)/2 + r'W G_k P G_l W r``; SEs from ``Phi``.
- ``"residual"``: ``n - p`` for every contrast, as ``summary(nlme::gls(...))``.

R equivalent::

    nlme::gls(y ~ factor(visit) * arm + covariates,
              correlation = corSymm(form = ~ visit_index | subject),
              weights = varIdent(form = ~ 1 | factor(visit)), method = "REML")

References
----------
Mallinckrodt CH, Lane PW, Schnell D, Peng Y, Mancuso JP (2008). Recommendations for the primary
analysis of continuous endpoints in longitudinal clinical trials. Drug Inf J 42:303-319.
Pinheiro JC, Bates DM (2000). Mixed-Effects Models in S and S-PLUS. Springer (chapter 5).
Kenward MG, Roger JH (1997). Small sample inference for fixed effects from restricted maximum
likelihood. Biometrics 53:983-997.
Satterthwaite FE (1946). An approximate distribution of estimates of variance components.
Biometrics Bulletin 2:110-114.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from celltrial.stats._checks import as_float_array, as_labels, check_choice, check_level
from celltrial.stats._result import Result
from celltrial.stats.mixed import (
    _as_matrix,
    _check_rank,
    _minimize,
    _profiled_criterion,
    _t_table,
)

FloatArray = NDArray[np.float64]
Method = Literal["REML", "ML"]
DfMethod = Literal["kenward-roger", "satterthwaite", "residual"]

__all__ = ["LSMean", "MMRMResult", "VisitContrast", "mmrm"]


@dataclasses.dataclass(frozen=True)
class VisitContrast(Result):
    """The difference ``arm - reference`` in the mean at one visit."""

    visit: Any
    arm: Any
    reference: Any
    estimate: float
    se: float
    statistic: float
    df: float
    p_value: float
    ci: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class LSMean(Result):
    """The least-squares (model-based) mean of one arm at one visit, covariates at their mean."""

    visit: Any
    arm: Any
    estimate: float
    se: float
    df: float
    ci: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class MMRMResult(Result):
    """A fitted MMRM (``nlme::gls`` with ``corSymm`` and ``varIdent``).

    ``estimate``, ``se``, ``statistic``, ``df``, ``p_value`` and ``ci`` are those of the
    treatment contrast at the last visit (first non-reference arm), the usual primary
    estimand; every visit's contrast is in ``contrasts``. ``fixed_effects`` etc. are per column
    of the design (``names``); ``covariance`` is the estimated ``Sigma`` over ``visits``
    (``getVarCov``). ``lsmeans`` are the least-squares means by visit and arm.
    ``df_method`` says how every ``df`` was found; with Kenward–Roger the SEs (contrasts, LS
    means and ``fixed_se``) come from the adjusted covariance ``vcov_adjusted``, while ``vcov``
    stays the unadjusted ``Phi``. ``fixed_df`` are the per-coefficient df. ``log_likelihood`` is the REML or ML log-likelihood as ``logLik`` reports
    it; ``aic``/``bic`` count ``p + V(V+1)/2`` parameters, and ``bic`` uses ``log(n - p)``
    for REML (as ``nlme``) and ``log(n)`` for ML. ``vcov`` is ``sigma2 (X' W X)^-1`` with the
    fitted ``sigma2``: for ML that is the inverse information (as lme4 and SAS PROC MIXED),
    whereas ``nlme::gls`` rescales its ML ``vcov`` by ``n / (n - p)``.
    """

    estimate: float
    se: float
    statistic: float
    df: float
    p_value: float
    ci: tuple[float, float]
    contrasts: tuple[VisitContrast, ...]
    lsmeans: tuple[LSMean, ...]
    fixed_effects: FloatArray
    fixed_se: FloatArray
    fixed_df: FloatArray
    t_value: FloatArray
    fixed_p_value: FloatArray
    fixed_ci: FloatArray
    vcov: FloatArray
    vcov_adjusted: FloatArray | None
    df_method: str
    names: tuple[str, ...]
    covariance: FloatArray
    visits: NDArray[Any]
    arms: NDArray[Any]
    reference: Any
    log_likelihood: float
    aic: float
    bic: float
    method: str
    level: float
    n: int
    n_subjects: int

    def summary(self) -> str:
        """A printout of the per-visit contrasts and the fit."""
        lines = [
            f"MMRM ({self.method}, unstructured), n = {self.n} rows, {self.n_subjects} subjects, "
            f"df: {self.df_method}",
            f"  logLik {self.log_likelihood:.6g}, AIC {self.aic:.6g}, BIC {self.bic:.6g}",
            f"  arm contrasts vs {self.reference!s} (estimate, SE, df, p, "
            f"{100 * self.level:g}% CI):",
        ]
        for c in self.contrasts:
            lines.append(
                f"    visit {c.visit!s}, {c.arm!s}: {c.estimate:.6g}, {c.se:.6g}, {c.df:g}, "
                f"{c.p_value:.4g}, ({c.ci[0]:.6g}, {c.ci[1]:.6g})"
            )
        lines.append("  least-squares means (estimate, SE, df, CI):")
        for m in self.lsmeans:
            lines.append(
                f"    visit {m.visit!s}, {m.arm!s}: {m.estimate:.6g}, {m.se:.6g}, {m.df:.4g}, "
                f"({m.ci[0]:.6g}, {m.ci[1]:.6g})"
            )
        return "\n".join(lines)


def _factor_l(theta: FloatArray, v: int) -> FloatArray:
    """``L`` with ``L[0,0] = 1``, ``L[j,j] = exp(theta_j)`` (j >= 1), then the strict lower part."""
    L = np.zeros((v, v))
    L[0, 0] = 1.0
    idx = np.arange(1, v)
    L[idx, idx] = np.exp(theta[: v - 1])
    rows, cols = np.tril_indices(v, -1)
    L[rows, cols] = theta[v - 1 :]
    return L


@dataclasses.dataclass(frozen=True)
class _DfInference:
    """What Kenward–Roger and Satterthwaite need, in the ``V(V+1)/2`` entries of ``Sigma``."""

    P: FloatArray  # (k, p, p): -X'W G_k W X
    w_expected: FloatArray  # (k, k): inverse expected REML information
    h_observed_inv: FloatArray  # (k, k): inverse observed REML information
    vcov_kr: FloatArray  # Phi_A

    def satterthwaite_df(self, L: FloatArray, vcov: FloatArray) -> float:
        v = float(L @ vcov @ L)
        g = -np.einsum("i,kij,j->k", L @ vcov, self.P, vcov @ L)
        den = float(g @ self.h_observed_inv @ g)
        return 2.0 * v * v / den if den > 0 else math.inf

    def kr_df(self, L: FloatArray, vcov: FloatArray) -> float:
        """Kenward–Roger denominator df of the single contrast ``L' beta`` (q = 1)."""
        theta = np.outer(L, L) / float(L @ vcov @ L)
        u = np.einsum("ij,jk,nkl,lm->nim", theta, vcov, self.P, vcov)  # Theta Phi P_n Phi
        tr = np.einsum("nii->n", u)
        a1 = float(tr @ self.w_expected @ tr)
        a2 = float(np.einsum("kl,kij,lji->", self.w_expected, u, u))
        q = 1.0
        b = (a1 + 6.0 * a2) / (2.0 * q)
        g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2)
        den = 3.0 * q + 2.0 * (1.0 - g)
        c1, c2, c3 = g / den, (q - g) / den, (q + 2.0 - g) / den
        v0 = 1.0 + c1 * b
        v0 = 0.0 if abs(v0) < 1e-10 else v0
        v1 = 1.0 - c2 * b
        v2 = 1.0 - c3 * b
        ratio = (1.0 - a2 / q) / v1 if v1 != 0 else 0.0
        rho = ratio**2 * v0 / v2 / q
        return 4.0 + (q + 2.0) / (q * rho - 1.0)


def _pinv_sym(m: FloatArray) -> FloatArray:
    """Inverse of a symmetric matrix, the Moore–Penrose inverse when (near) singular."""
    ev = np.linalg.eigvalsh(m)
    if ev[0] > 1e-10 * max(abs(ev[-1]), 1e-300):
        out = np.asarray(np.linalg.inv(m), dtype=np.float64)
    else:
        out = np.asarray(np.linalg.pinv(m, hermitian=True), dtype=np.float64)
    sym: FloatArray = 0.5 * (out + out.T)
    return sym


def _df_inference(
    blocks: list[tuple[NDArray[np.intp], FloatArray, FloatArray]],
    Sigma: FloatArray,
    beta: FloatArray,
    vcov: FloatArray,
    V: int,
    p: int,
) -> _DfInference:
    """``P_k``, ``Q_kl``, expected and observed REML information (module docstring)."""
    pairs = [(j, m) for j in range(V) for m in range(j, V)]
    k = len(pairs)
    G = np.zeros((k, V, V))
    for i, (j, m) in enumerate(pairs):
        G[i, j, m] = G[i, m, j] = 1.0
    P = np.zeros((k, p, p))
    Q = np.zeros((k, k, p, p))
    ktrace = np.zeros((k, k))
    t1 = np.zeros((k, k))
    h = np.zeros((k, p))
    for idx, Yb, Xb in blocks:
        W = np.linalg.inv(Sigma[np.ix_(idx, idx)])
        W = 0.5 * (W + W.T)
        Gs = G[:, idx][:, :, idx]  # (k, m, m)
        XX = np.einsum("iap,ibq->apbq", Xb, Xb)
        U = (Yb - Xb @ beta) @ W  # rows u_i = W r_i
        RR = U.T @ U
        XU = np.einsum("iap,ib->apb", Xb, U)
        WG = np.einsum("ab,kbc->kac", W, Gs)  # W G_k
        WGW = np.einsum("kab,bc->kac", WG, W)
        P -= np.einsum("kab,apbq->kpq", WGW, XX)
        h += np.einsum("kab,apb->kp", WG, XU)
        WGWG = np.einsum("kab,lbc->klac", WG, WG)  # W G_k W G_l
        Q += np.einsum("klab,bd,apdq->klpq", WGWG, W, XX)  # X'W G_k W G_l W X
        ktrace += Yb.shape[0] * np.einsum("klaa->kl", WGWG)
        # u' G_k W G_l u = tr(G_k W G_l RR)
        t1 += np.einsum("kab,lbc,ca->kl", Gs, WG, RR)
    tr_pgpg = (
        ktrace
        - 2.0 * np.einsum("pq,klqp->kl", vcov, Q)
        + np.einsum("ab,kbc,cd,lda->kl", vcov, P, vcov, P)
    )
    expected = 0.5 * tr_pgpg
    observed = -0.5 * tr_pgpg + (t1 - h @ vcov @ h.T)
    w = _pinv_sym(0.5 * (expected + expected.T))
    uu = np.einsum("kl,klpq->pq", w, Q) - np.einsum("kl,kab,bc,lcd->ad", w, P, vcov, P)
    uu = 0.5 * (uu + uu.T)
    vcov_kr = vcov + 2.0 * vcov @ uu @ vcov
    return _DfInference(
        P=P,
        w_expected=w,
        h_observed_inv=_pinv_sym(0.5 * (observed + observed.T)),
        vcov_kr=0.5 * (vcov_kr + vcov_kr.T),
    )


def mmrm(
    y: Any,
    visit: Any,
    arm: Any,
    subject: Any,
    *,
    covariates: Any = None,
    covariate_names: Sequence[str] | None = None,
    reference: Any = None,
    method: Method = "REML",
    df_method: DfMethod = "kenward-roger",
    level: float = 0.95,
) -> MMRMResult:
    """Fit an MMRM with unstructured covariance: arm contrasts and LS means at each visit.

    Parameters
    ----------
    y : array_like, shape (n,)
        Response at the observed visits (one row per subject and observed visit; no NaN: leave
        missing visits out).
    visit : array_like, shape (n,)
        Visit labels (e.g. study day); sorted order defines the visit order.
    arm : array_like, shape (n,)
        Treatment arm of the subject (constant within subject); at least 2 arms.
    subject : array_like, shape (n,)
        Subject identifiers; each subject has at most one row per visit.
    covariates : array_like, shape (n,) or (n, k), optional
        Further fixed effects (e.g. a baseline value, age), added as main effects.
    covariate_names : sequence of str, optional
        Labels of the covariates (default ``c0, c1, ...``).
    reference : label, optional
        The control arm (default: the first arm in sorted order).
    method : {"REML", "ML"}
    df_method : {"kenward-roger", "satterthwaite", "residual"}
        Degrees of freedom (and, for Kenward–Roger, SEs) of every test and interval; the first
        two need ``method="REML"``. See the module docstring for the formulas.
    level : float
        Confidence level.

    Returns
    -------
    MMRMResult

    Notes
    -----
    ``y_i ~ N(X_i beta, Sigma[o_i, o_i])`` with unstructured ``Sigma``. The Kenward–Roger
    adjusted covariance and df ``nu`` of ``c' beta`` (Kenward & Roger 1997, with
    ``Theta = c (c' Phi c)^-1 c'``, ``A_1 = sum w_kl tr(Theta Phi P_k Phi) tr(Theta Phi P_l
    Phi)``, ``A_2 = sum w_kl tr(Theta Phi P_k Phi Theta Phi P_l Phi)``) are those of
    ``pbkrtest::vcovAdj`` / ``Lb_ddf``; Satterthwaite's
    ``nu = 2 (c' Phi c)^2 / (g' H^-1 g)`` uses the observed REML information as ``lmerTest``
    and the ``mmrm`` package do.

    R equivalent: ``fit <- nlme::gls(y ~ visit * arm, correlation = corSymm(form = ~
    as.integer(visit) | subject), weights = varIdent(form = ~ 1 | visit), method = "REML")``;
    ``emmeans::emmeans(fit, ~ arm | visit, mode = "appx-satterthwaite")`` for LS means and
    Satterthwaite df; ``pbkrtest``'s KR formulas applied to that fit (R's ``mmrm`` package,
    ``mmrm(y ~ visit * arm + us(visit | subject), method = "Kenward-Roger")``, is the same
    model but not in Debian). Checked in ``tests/reference/mmrm/mmrm_kr.R``.

    References
    ----------
    Mallinckrodt CH et al. (2008). Recommendations for the primary analysis of continuous
    endpoints in longitudinal clinical trials. Drug Inf J 42:303-319. Kenward MG, Roger JH
    (1997). Biometrics 53:983-997.

    Examples
    --------
    >>> import numpy as np
    >>> from celltrial.stats import mmrm
    >>> rng = np.random.default_rng(1)
    >>> subj = np.repeat(np.arange(20), 2)
    >>> arm = np.where(subj < 10, "control", "active")
    >>> visit = np.tile([1, 2], 20)
    >>> y = rng.normal(size=40) + (arm == "active") * visit * 0.5
    >>> fit = mmrm(y, visit, arm, subj, reference="control")
    >>> fit.df_method, len(fit.lsmeans)
    ('kenward-roger', 4)
    """
    yv = as_float_array("y", y)
    n = yv.size
    visits, vcode = as_labels("visit", visit, n)
    arms, acode = as_labels("arm", arm, n)
    subjects, scode = as_labels("subject", subject, n)
    method = check_choice("method", method, ("REML", "ML"))  # type: ignore[assignment]
    df_method = check_choice(  # type: ignore[assignment]
        "df_method", df_method, ("kenward-roger", "satterthwaite", "residual")
    )
    if method == "ML" and df_method != "residual":
        raise ValueError(
            f"df_method: {df_method!r} is defined for REML fits; use method='REML' or "
            "df_method='residual'"
        )
    level = check_level(level)
    V, A, S = visits.size, arms.size, subjects.size
    if V < 2:
        raise ValueError(f"visit: needs at least 2 distinct visits, got {V}")
    if A < 2:
        raise ValueError(f"arm: needs at least 2 arms, got {A}")
    if S < 2:
        raise ValueError(f"subject: needs at least 2 subjects, got {S}")
    if reference is None:
        ref = 0
    else:
        hits = np.flatnonzero(arms == reference)
        if hits.size == 0:
            raise ValueError(f"reference: {reference!r} is not one of the arms {arms.tolist()}")
        ref = int(hits[0])

    def lab(x: Any) -> Any:
        return x.item() if isinstance(x, np.generic) else x

    key = scode * V + vcode
    if np.unique(key).size != n:
        dup = int(np.flatnonzero(np.bincount(key) > 1)[0])
        raise ValueError(
            f"visit: subject {lab(subjects[dup // V])!r} has more than one row at visit "
            f"{lab(visits[dup % V])!r}"
        )
    subj_arm = np.full(S, -1)
    subj_arm[scode] = acode
    if np.any(subj_arm[scode] != acode):
        bad = lab(subjects[int(scode[np.flatnonzero(subj_arm[scode] != acode)[0]])])
        raise ValueError(f"arm: must be constant within subject; subject {bad!r} changes arm")
    cell = np.zeros((V, A), dtype=np.intp)
    np.add.at(cell, (vcode, acode), 1)
    if np.any(cell == 0):
        j, a = np.argwhere(cell == 0)[0]
        raise ValueError(f"visit: visit {lab(visits[j])!r} has no data in arm {lab(arms[a])!r}")

    # design: intercept, visit, arm, covariates, visit:arm (R's column order)
    others = [a for a in range(A) if a != ref]
    cols: list[FloatArray] = [np.ones(n)]
    names: list[str] = ["(Intercept)"]
    for j in range(1, V):
        cols.append((vcode == j).astype(np.float64))
        names.append(f"visit[{visits[j]!s}]")
    arm_col: dict[int, int] = {}
    for a in others:
        arm_col[a] = len(cols)
        cols.append((acode == a).astype(np.float64))
        names.append(f"arm[{arms[a]!s}]")
    if covariates is not None:
        C = _as_matrix("covariates", covariates, n)
        cn = (
            tuple(covariate_names)
            if covariate_names is not None
            else tuple(f"c{j}" for j in range(C.shape[1]))
        )
        if len(cn) != C.shape[1]:
            raise ValueError(f"covariate_names: {len(cn)} names for {C.shape[1]} covariates")
        cols += list(C.T)
        names += list(cn)
    inter_col: dict[tuple[int, int], int] = {}
    for a in others:
        for j in range(1, V):
            inter_col[(j, a)] = len(cols)
            cols.append(((vcode == j) & (acode == a)).astype(np.float64))
            names.append(f"visit[{visits[j]!s}]:arm[{arms[a]!s}]")
    X = np.column_stack(cols)
    p = X.shape[1]
    if n <= p:
        raise ValueError(f"y: needs more observations ({n}) than fixed effects ({p})")
    _check_rank("covariates", X)

    # subjects grouped by their pattern of observed visits
    order = np.lexsort((vcode, scode))
    ys, Xs, vs, ss = yv[order], X[order], vcode[order], scode[order]
    masks = np.zeros((S, V), dtype=bool)
    masks[ss, vs] = True
    patterns, pat_of = np.unique(masks, axis=0, return_inverse=True)
    pat_of = pat_of.reshape(-1)
    starts = np.concatenate([[0], np.cumsum(masks.sum(axis=1))])
    blocks: list[tuple[NDArray[np.intp], FloatArray, FloatArray]] = []
    for k, pat in enumerate(patterns):
        members = np.flatnonzero(pat_of == k)
        m = int(pat.sum())
        rows = (starts[members][:, None] + np.arange(m)[None, :]).reshape(-1)
        blocks.append(
            (
                np.flatnonzero(pat),
                ys[rows].reshape(members.size, m),
                Xs[rows].reshape(members.size, m, p),
            )
        )

    reml = method == "REML"
    dfr = n - p if reml else n

    def parts(theta: FloatArray) -> tuple[float, FloatArray, FloatArray, float, FloatArray]:
        L = _factor_l(theta, V)
        Cm = L @ L.T
        logdet = 0.0
        XtWX = np.zeros((p, p))
        XtWy = np.zeros(p)
        ytWy = 0.0
        for idx, Yb, Xb in blocks:
            Cp = Cm[np.ix_(idx, idx)]
            ch = np.linalg.cholesky(Cp)
            logdet += Yb.shape[0] * 2.0 * float(np.log(np.diag(ch)).sum())
            Ci = np.linalg.inv(Cp)
            CiX = np.einsum("kl,mlp->mkp", Ci, Xb)
            XtWX += np.einsum("mkp,mkr->pr", Xb, CiX)
            XtWy += np.einsum("mkp,mk->p", CiX, Yb)
            ytWy += float(np.einsum("mk,kl,ml->", Yb, Ci, Yb))
        return logdet, XtWX, XtWy, ytWy, Cm

    def criterion(theta: FloatArray) -> float:
        try:
            logdet, XtWX, XtWy, ytWy, _ = parts(theta)
        except np.linalg.LinAlgError:
            return math.inf
        return _profiled_criterion(logdet, XtWX, XtWy, ytWy, dfr=dfr, reml=reml)

    # start: the pairwise covariance of the OLS residuals (the diagonal where not positive)
    beta0 = np.linalg.lstsq(X, yv, rcond=None)[0]
    res = np.full((S, V), np.nan)
    res[scode, vcode] = yv - X @ beta0
    start = np.diag(np.nanmean(res**2, axis=0))
    for j in range(V):
        for k in range(j):
            both = ~np.isnan(res[:, j]) & ~np.isnan(res[:, k])
            if both.sum() > 2:
                start[j, k] = start[k, j] = float(np.mean(res[both, j] * res[both, k]))
    if np.any(~np.isfinite(start)) or np.linalg.eigvalsh(start)[0] <= 1e-8 * start.trace():
        start = np.diag(np.where(np.isfinite(np.diag(start)), np.diag(start), 1.0))
    L0 = np.linalg.cholesky(start / start[0, 0])
    rr, cc = np.tril_indices(V, -1)
    theta0 = np.concatenate([np.log(np.diag(L0)[1:]), L0[rr, cc]])
    theta, crit = _minimize(criterion, theta0)

    _, XtWX, XtWy, ytWy, Cm = parts(theta)
    beta: FloatArray = np.asarray(np.linalg.solve(XtWX, XtWy), dtype=np.float64)
    sigma2 = (ytWy - float(beta @ XtWy)) / dfr
    vcov = sigma2 * np.linalg.inv(XtWX)
    vcov = 0.5 * (vcov + vcov.T)
    df_res = float(n - p)
    Sigma = sigma2 * Cm
    inf: _DfInference | None = None
    if df_method != "residual":
        inf = _df_inference(blocks, Sigma, beta, vcov, V, p)
    vcov_used = inf.vcov_kr if (inf is not None and df_method == "kenward-roger") else vcov

    def infer(L: FloatArray) -> tuple[float, float, float]:
        """(estimate, SE, df) of ``L' beta``."""
        est = float(L @ beta)
        se_l = math.sqrt(max(float(L @ vcov_used @ L), 0.0))
        if inf is None:
            return est, se_l, df_res
        if df_method == "kenward-roger":
            return est, se_l, inf.kr_df(L, vcov)
        return est, se_l, inf.satterthwaite_df(L, vcov)

    eye = np.eye(p)
    fixed = [infer(eye[j]) for j in range(p)]
    se = np.array([f[1] for f in fixed])
    fixed_df = np.array([f[2] for f in fixed])
    t, pv, ci = _t_table(beta, se, fixed_df, level)

    contrasts: list[VisitContrast] = []
    for a in others:
        for j in range(V):
            c = np.zeros(p)
            c[arm_col[a]] = 1.0
            if j > 0:
                c[inter_col[(j, a)]] = 1.0
            est, s_c, df_c = infer(c)
            ct, cp, cci = _t_table(np.array([est]), np.array([s_c]), np.array([df_c]), level)
            contrasts.append(
                VisitContrast(
                    visit=lab(visits[j]),
                    arm=lab(arms[a]),
                    reference=lab(arms[ref]),
                    estimate=est,
                    se=s_c,
                    statistic=float(ct[0]),
                    df=df_c,
                    p_value=float(cp[0]),
                    ci=(float(cci[0, 0]), float(cci[0, 1])),
                )
            )
    # least-squares means: covariates at their mean over the rows (as emmeans)
    means = X.mean(axis=0)
    lsmeans: list[LSMean] = []
    for j in range(V):
        for a in range(A):
            c = np.zeros(p)
            c[0] = 1.0
            if covariates is not None:
                cov_cols = np.arange(1 + (V - 1) + len(others), p - len(inter_col))
                c[cov_cols] = means[cov_cols]
            if j > 0:
                c[j] = 1.0
            if a != ref:
                c[arm_col[a]] = 1.0
                if j > 0:
                    c[inter_col[(j, a)]] = 1.0
            est, s_c, df_c = infer(c)
            _, _, cci = _t_table(np.array([est]), np.array([s_c]), np.array([df_c]), level)
            lsmeans.append(
                LSMean(
                    visit=lab(visits[j]),
                    arm=lab(arms[a]),
                    estimate=est,
                    se=s_c,
                    df=df_c,
                    ci=(float(cci[0, 0]), float(cci[0, 1])),
                )
            )
    primary = contrasts[V - 1]
    n_par = p + V * (V + 1) // 2
    return MMRMResult(
        estimate=primary.estimate,
        se=primary.se,
        statistic=primary.statistic,
        df=primary.df,
        p_value=primary.p_value,
        ci=primary.ci,
        contrasts=tuple(contrasts),
        lsmeans=tuple(lsmeans),
        fixed_effects=beta,
        fixed_se=se,
        fixed_df=fixed_df,
        t_value=t,
        fixed_p_value=pv,
        fixed_ci=ci,
        vcov=vcov,
        vcov_adjusted=inf.vcov_kr if (inf is not None and df_method == "kenward-roger") else None,
        df_method=df_method,
        names=tuple(names),
        covariance=Sigma,
        visits=visits,
        arms=arms,
        reference=primary.reference,
        log_likelihood=-0.5 * crit,
        aic=crit + 2.0 * n_par,
        bic=crit + math.log(dfr) * n_par,
        method=method,
        level=level,
        n=n,
        n_subjects=S,
    )
