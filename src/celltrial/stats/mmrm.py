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
``Var(beta) = sigma2 (X' W X)^-1``. Tests and intervals use the t distribution with the residual
degrees of freedom ``n - p`` (``n`` observed rows), as ``summary(nlme::gls(...))`` does;
Kenward-Roger and Satterthwaite degrees of freedom (the ``mmrm`` package) are not implemented.

R equivalent::

    nlme::gls(y ~ factor(visit) * arm + covariates,
              correlation = corSymm(form = ~ visit_index | subject),
              weights = varIdent(form = ~ 1 | factor(visit)), method = "REML")

References
----------
Mallinckrodt CH, Lane PW, Schnell D, Peng Y, Mancuso JP (2008). Recommendations for the primary
analysis of continuous endpoints in longitudinal clinical trials. Drug Inf J 42:303-319.
Pinheiro JC, Bates DM (2000). Mixed-Effects Models in S and S-PLUS. Springer (chapter 5).
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

__all__ = ["MMRMResult", "VisitContrast", "mmrm"]


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
class MMRMResult(Result):
    """A fitted MMRM (``nlme::gls`` with ``corSymm`` and ``varIdent``).

    ``estimate``, ``se``, ``statistic``, ``df``, ``p_value`` and ``ci`` are those of the
    treatment contrast at the last visit (first non-reference arm), the usual primary
    estimand; every visit's contrast is in ``contrasts``. ``fixed_effects`` etc. are per column
    of the design (``names``); ``covariance`` is the estimated ``Sigma`` over ``visits``
    (``getVarCov``). ``log_likelihood`` is the REML or ML log-likelihood as ``logLik`` reports
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
    fixed_effects: FloatArray
    fixed_se: FloatArray
    t_value: FloatArray
    fixed_p_value: FloatArray
    fixed_ci: FloatArray
    vcov: FloatArray
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
            f"MMRM ({self.method}, unstructured), n = {self.n} rows, {self.n_subjects} subjects",
            f"  logLik {self.log_likelihood:.6g}, AIC {self.aic:.6g}, BIC {self.bic:.6g}",
            f"  arm contrasts vs {self.reference!s} (estimate, SE, df, p, "
            f"{100 * self.level:g}% CI):",
        ]
        for c in self.contrasts:
            lines.append(
                f"    visit {c.visit!s}, {c.arm!s}: {c.estimate:.6g}, {c.se:.6g}, {c.df:g}, "
                f"{c.p_value:.4g}, ({c.ci[0]:.6g}, {c.ci[1]:.6g})"
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
    level: float = 0.95,
) -> MMRMResult:
    """Fit an MMRM with unstructured covariance and arm contrasts at each visit.

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
    level : float
        Confidence level.

    Returns
    -------
    MMRMResult

    Notes
    -----
    ``y_i ~ N(X_i beta, Sigma[o_i, o_i])`` with unstructured ``Sigma``; contrasts use t with
    ``n - p`` df. R equivalent: ``nlme::gls(y ~ visit * arm, correlation = corSymm(form = ~
    as.integer(visit) | subject), weights = varIdent(form = ~ 1 | visit), method = "REML")``.

    References
    ----------
    Mallinckrodt CH et al. (2008). Recommendations for the primary analysis of continuous
    endpoints in longitudinal clinical trials. Drug Inf J 42:303-319.
    """
    yv = as_float_array("y", y)
    n = yv.size
    visits, vcode = as_labels("visit", visit, n)
    arms, acode = as_labels("arm", arm, n)
    subjects, scode = as_labels("subject", subject, n)
    method = check_choice("method", method, ("REML", "ML"))  # type: ignore[assignment]
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
    se = np.sqrt(np.diag(vcov))
    df_res = float(n - p)
    t, pv, ci = _t_table(beta, se, np.full(p, df_res), level)

    contrasts: list[VisitContrast] = []
    for a in others:
        for j in range(V):
            c = np.zeros(p)
            c[arm_col[a]] = 1.0
            if j > 0:
                c[inter_col[(j, a)]] = 1.0
            est = float(c @ beta)
            s = math.sqrt(float(c @ vcov @ c))
            ct, cp, cci = _t_table(np.array([est]), np.array([s]), np.array([df_res]), level)
            contrasts.append(
                VisitContrast(
                    visit=lab(visits[j]),
                    arm=lab(arms[a]),
                    reference=lab(arms[ref]),
                    estimate=est,
                    se=s,
                    statistic=float(ct[0]),
                    df=df_res,
                    p_value=float(cp[0]),
                    ci=(float(cci[0, 0]), float(cci[0, 1])),
                )
            )
    primary = contrasts[V - 1]
    n_par = p + V * (V + 1) // 2
    return MMRMResult(
        estimate=primary.estimate,
        se=primary.se,
        statistic=primary.statistic,
        df=df_res,
        p_value=primary.p_value,
        ci=primary.ci,
        contrasts=tuple(contrasts),
        fixed_effects=beta,
        fixed_se=se,
        t_value=t,
        fixed_p_value=pv,
        fixed_ci=ci,
        vcov=vcov,
        names=tuple(names),
        covariance=sigma2 * Cm,
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
