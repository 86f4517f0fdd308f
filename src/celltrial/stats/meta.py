"""Meta-analysis: the fixed- and random-effects model of metafor's ``rma.uni``.

The model is ``y_i = x_i' beta + u_i + e_i`` with ``u_i ~ N(0, tau2)`` and ``e_i ~ N(0, v_i)``,
``v_i`` known. ``tau2`` is estimated first (``method``), then ``beta`` by weighted least squares
with weights ``w_i = 1 / (v_i + tau2)``:

    beta = (X' W X)^-1 X' W y,    Var(beta) = (X' W X)^-1.

With ``test="knha"`` (Hartung-Knapp-Sidik-Jonkman) ``Var(beta)`` is multiplied by
``s2 = y' P y / (k - p)`` and t-distributions with ``k - p`` degrees of freedom replace the
normal. Heterogeneity: ``Q = y' P_0 y`` with fixed-effect weights ``1 / v_i`` (``k - p`` df);
``I2 = 100 tau2 / (tau2 + s2_typ)`` and ``H2 = 1 + tau2 / s2_typ`` with the typical within-study
variance ``s2_typ = (k - p) / tr(P_0)`` (for ``method="FE"``: ``I2 = 100 (Q - df) / Q``,
``H2 = Q / df``). The prediction interval is ``beta +/- crit sqrt(se^2 + tau2)``.

R equivalent: ``metafor::rma(yi, vi, mods, method, test)``, ``confint()``, ``predict()``,
``leave1out()``, ``regtest()``, ``rma.mh()``, ``rma.peto()``.

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. J Educ Behav Stat 30:261-293.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from celltrial.stats import _meta_core as core
from celltrial.stats._checks import as_float_array, check_level, show
from celltrial.stats._result import Result

FloatArray = NDArray[np.float64]
Method = Literal["FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB", "HS"]
Test = Literal["z", "knha"]

__all__ = [
    "LeaveOneOutResult",
    "MetaResult",
    "RegressionTestResult",
    "egger_test",
    "leave_one_out",
    "meta_analysis",
    "peters_test",
]


@dataclasses.dataclass(frozen=True)
class MetaResult(Result):
    """One fitted meta-analysis model (metafor's ``rma`` object).

    ``estimate``, ``se``, ``ci``, ``statistic`` and ``p_value`` describe the first coefficient:
    the pooled effect, or the intercept of a meta-regression (whose coefficients are all in
    ``coefficients``, ``coef_se``, ...). ``q`` is the (residual) heterogeneity statistic.
    """

    estimate: float
    se: float
    ci: tuple[float, float]
    statistic: float
    p_value: float
    df: float | None
    tau2: float
    tau2_ci: tuple[float, float] | None
    i2: float
    i2_ci: tuple[float, float] | None
    h2: float
    h2_ci: tuple[float, float] | None
    q: float
    q_df: int
    q_p_value: float
    prediction_interval: tuple[float, float] | None
    coefficients: FloatArray
    coef_se: FloatArray
    coef_statistic: FloatArray
    coef_p_value: FloatArray
    coef_ci: FloatArray
    qm: float | None
    qm_df: tuple[int, int] | int | None
    qm_p_value: float | None
    r2: float | None
    log_likelihood: float | None
    weights: FloatArray
    method: str
    test: str
    level: float
    n: int
    se_tau2: float | None = None
    tau2_untruncated: float | None = None
    subgroups: dict[str, MetaResult] | None = None
    subgroup_q: float | None = None
    subgroup_df: int | None = None
    subgroup_p_value: float | None = None

    @property
    def tau(self) -> float:
        """Square root of ``tau2``."""
        return math.sqrt(self.tau2)

    def summary(self) -> str:
        """A metafor-like printout."""
        lo, hi = self.ci
        lines = [
            f"Meta-analysis ({self.method}, test={self.test}), k = {self.n}",
            f"  estimate {self.estimate:.6g} (SE {self.se:.6g}), {100 * self.level:g}% CI "
            f"{lo:.6g} to {hi:.6g}, p = {self.p_value:.4g}",
            f"  tau2 = {self.tau2:.6g}, I2 = {self.i2:.4g}%, H2 = {self.h2:.4g}",
            f"  Q({self.q_df}) = {self.q:.6g}, p = {self.q_p_value:.4g}",
        ]
        if self.tau2_ci is not None:
            lines.append(f"  tau2 CI (Q-profile) {self.tau2_ci[0]:.6g} to {self.tau2_ci[1]:.6g}")
        if self.prediction_interval is not None:
            a, b = self.prediction_interval
            lines.append(f"  prediction interval {a:.6g} to {b:.6g}")
        if self.coefficients.size > 1:
            for j in range(self.coefficients.size):
                lines.append(
                    f"  coef[{j}] {self.coefficients[j]:.6g} (SE {self.coef_se[j]:.6g}),"
                    f" p = {self.coef_p_value[j]:.4g}"
                )
            lines.append(f"  QM = {self.qm:.6g}, p = {self.qm_p_value:.4g}")
        if self.subgroups is not None:
            for name, sub in self.subgroups.items():
                lines.append(
                    f"  subgroup {name}: {sub.estimate:.6g} ({sub.ci[0]:.6g}, {sub.ci[1]:.6g}),"
                    f" k = {sub.n}"
                )
            lines.append(
                f"  test for subgroup differences: Q({self.subgroup_df}) = "
                f"{self.subgroup_q:.6g}, p = {self.subgroup_p_value:.4g}"
            )
        return "\n".join(lines)


def _inputs(yi: Any, vi: Any) -> tuple[FloatArray, FloatArray]:
    y = as_float_array("yi", yi)
    v = as_float_array("vi", vi)
    if y.size != v.size:
        raise ValueError(f"vi: length {v.size} differs from yi's length {y.size}")
    if y.size == 0:
        raise ValueError("yi: needs at least one study")
    if np.any(v <= 0):
        bad = int(np.flatnonzero(v <= 0)[0])
        raise ValueError(
            f"vi: sampling variances must be > 0; study {bad} has {show(v[bad])} "
            "(a zero-variance study cannot be weighted)"
        )
    return y, v


def _design(mods: Any, k: int) -> FloatArray:
    if mods is None:
        return np.ones((k, 1))
    m = np.asarray(mods, dtype=np.float64)
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2 or m.shape[0] != k:
        raise ValueError(f"mods: must have {k} rows (one per study), got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("mods: must be finite")
    x = np.column_stack([np.ones(k), m])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError("mods: the moderators (with the intercept) are linearly dependent")
    return x


def _fit(
    y: FloatArray,
    v: FloatArray,
    x: FloatArray,
    *,
    method: str,
    test: str,
    level: float,
    confint: bool,
) -> MetaResult:
    k, p = x.shape
    if method not in core.TAU2_METHODS:
        raise ValueError(
            f"method: must be one of {', '.join(core.TAU2_METHODS)}; got {show(method)}"
        )
    if test not in ("z", "knha"):
        raise ValueError(f"test: must be 'z' or 'knha', got {show(test)}")
    if method != "FE" and k < 2:
        raise ValueError(f"yi: a random-effects model ({method}) needs k >= 2 studies, got {k}")
    if k < p + (1 if method != "FE" or test == "knha" else 0):
        raise ValueError(f"yi: {k} studies cannot fit {p} coefficients")
    tau2_raw = core.raw_tau2(y, v, x, method)
    tau2 = max(0.0, tau2_raw)
    fit = core.wls(y, x, 1.0 / (v + tau2))
    vb = fit.a_inv.copy()
    df: float | None = None
    if test == "knha":
        vb *= fit.rss / (k - p)
        df = float(k - p)
    beta = fit.beta
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):  # se = 0: knha with identical studies
        stat = beta / se
    alpha = 1.0 - level
    if df is None:
        pval = 2.0 * stats.norm.sf(np.abs(stat))
        crit = float(stats.norm.isf(alpha / 2.0))
    else:
        pval = 2.0 * stats.t.sf(np.abs(stat), df)
        crit = float(stats.t.isf(alpha / 2.0, df))
    coef_ci = np.column_stack([beta - crit * se, beta + crit * se])
    # omnibus test of the moderators (or of the intercept in an intercept-only model)
    btt = np.arange(1, p) if p > 1 else np.arange(1)
    bb = beta[btt]
    try:
        qm_val = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb))
    except np.linalg.LinAlgError:  # a zero variance (knha, residual sum of squares 0): as R
        qm_val = math.inf if np.any(bb != 0) else math.nan
    m = btt.size
    qm_df: tuple[int, int] | int
    if df is None:
        qm_df = m
        qm_p = float(stats.chi2.sf(qm_val, m))
    else:
        qm_val /= m
        qm_df = (m, k - p)
        qm_p = float(stats.f.sf(qm_val, m, k - p))
    # heterogeneity with fixed-effect weights
    fe = core.wls(y, x, 1.0 / v)
    q_df = k - p
    if q_df > 0:
        q = max(0.0, fe.rss)
        q_p = float(stats.chi2.sf(q, q_df))
        vt = q_df / core.trace_p(x, fe)
        if method == "FE":
            i2 = max(0.0, 100.0 * (q - q_df) / q) if q > 0 else 0.0
            h2 = q / q_df
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        q, q_p, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    tau2_ci = i2_ci = h2_ci = None
    if confint and method != "FE" and q_df > 0:
        lo, hi = core.q_profile_ci(y, v, x, level)
        tau2_ci = (lo, hi)
        i2_ci = (100.0 * lo / (vt + lo), 100.0 * hi / (vt + hi))
        h2_ci = (1.0 + lo / vt, 1.0 + hi / vt)
    pi = None
    if p == 1 and method != "FE":
        half = crit * math.sqrt(float(se[0]) ** 2 + tau2)
        pi = (float(beta[0]) - half, float(beta[0]) + half)
    r2 = None
    if p > 1 and method != "FE":
        tau2_re = core.estimate_tau2(y, v, np.ones((k, 1)), method)
        r2 = 0.0 if tau2_re == 0.0 else max(0.0, 100.0 * (tau2_re - tau2) / tau2_re)
    ll = None
    if method in ("REML", "ML"):
        ll = core.log_likelihood(y, v, x, tau2, reml=method == "REML")
    return MetaResult(
        estimate=float(beta[0]),
        se=float(se[0]),
        ci=(float(coef_ci[0, 0]), float(coef_ci[0, 1])),
        statistic=float(stat[0]),
        p_value=float(pval[0]),
        df=df,
        tau2=tau2,
        tau2_ci=tau2_ci,
        i2=i2,
        i2_ci=i2_ci,
        h2=h2,
        h2_ci=h2_ci,
        q=q,
        q_df=q_df,
        q_p_value=q_p,
        prediction_interval=pi,
        coefficients=beta,
        coef_se=se,
        coef_statistic=stat,
        coef_p_value=np.asarray(pval, dtype=np.float64),
        coef_ci=coef_ci,
        qm=qm_val,
        qm_df=qm_df,
        qm_p_value=qm_p,
        r2=r2,
        log_likelihood=ll,
        weights=fit.w / float(np.sum(fit.w)) * 100.0,
        se_tau2=None if method == "FE" else core.se_tau2(y, v, x, method, tau2),
        tau2_untruncated=None if method == "FE" else tau2_raw,
        method=method,
        test=test,
        level=level,
        n=k,
    )


def meta_analysis(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: Method = "REML",
    test: Test = "z",
    mods: ArrayLike | None = None,
    subgroup: ArrayLike | None = None,
    level: float = 0.95,
    confint: bool = True,
) -> MetaResult:
    r"""Fixed- or random-effects meta-analysis, meta-regression and subgroup analysis.

    Parameters
    ----------
    yi, vi
        Effect sizes and their sampling variances (see :func:`effect_size`). Every ``vi > 0``.
    method
        Estimator of ``tau2``: ``"FE"`` (fixed effect, inverse variance), ``"DL"``
        (DerSimonian-Laird), ``"REML"``, ``"ML"`` (Fisher scoring), ``"PM"`` (Paule-Mandel),
        ``"SJ"`` (Sidik-Jonkman), ``"HE"`` (Hedges), ``"EB"`` (empirical Bayes; its estimating
        equation is Paule-Mandel's, solved the same way), ``"HS"`` (Hunter-Schmidt). Always
        truncated at 0.
    test
        ``"z"`` (normal) or ``"knha"`` (Hartung-Knapp-Sidik-Jonkman, t with ``k - p`` df).
    mods
        Moderators, ``(k,)`` or ``(k, m)``; an intercept is added. Meta-regression.
    subgroup
        Labels, one per study: the model is also fitted in each subgroup and the subgroups are
        compared by ``Q_b = sum_g (b_g - b_FE)^2 / se_g^2`` with ``G - 1`` df (the Wald-type
        test of metafor's ``rma(b_g, sei = se_g, mods = ~ group, method = "FE")``).
    level
        Confidence level of the CIs, the prediction interval and the Q-profile CI of ``tau2``.
    confint
        Compute the Q-profile CI for ``tau2`` (and the implied CIs for I2, H2).

    Returns
    -------
    MetaResult

    Notes
    -----
    ``Q = sum_i (y_i - x_i' b_FE)^2 / v_i``; the Q-profile CI solves
    ``Q(tau2) = chi2_{k-p}`` quantiles where ``Q(tau2) = sum w_i(tau2) (y_i - x_i' b(tau2))^2``.
    R: ``metafor::rma(yi, vi, mods = ~ ..., method = method, test = test)``,
    ``confint(fit)``, ``predict(fit)``.

    Examples
    --------
    >>> res = meta_analysis([-0.9, -1.6, -1.4], [0.36, 0.19, 0.42], method="DL")
    >>> round(res.estimate, 4)
    -1.3677
    """
    y, v = _inputs(yi, vi)
    level = check_level(level)
    x = _design(mods, y.size)
    res = _fit(y, v, x, method=method, test=test, level=level, confint=confint)
    if subgroup is None:
        return res
    labels = np.asarray(subgroup)
    if labels.shape != (y.size,):
        raise ValueError(
            f"subgroup: needs one label per study ({y.size}), got shape {labels.shape}"
        )
    names = sorted({str(g) for g in labels.tolist()})
    if len(names) < 2:
        raise ValueError("subgroup: needs at least two different subgroups")
    str_labels = np.array([str(g) for g in labels.tolist()])
    subs: dict[str, MetaResult] = {}
    for g in names:
        sel = str_labels == g
        sub_method = method if int(sel.sum()) >= 2 else "FE"
        subs[g] = _fit(
            y[sel],
            v[sel],
            np.ones((int(sel.sum()), 1)),
            method=sub_method,
            test=test if sub_method != "FE" else "z",
            level=level,
            confint=confint,
        )
    est = np.array([subs[g].estimate for g in names])
    w = 1.0 / np.array([subs[g].se for g in names]) ** 2
    pooled = float(np.sum(w * est) / np.sum(w))
    qb = float(np.sum(w * (est - pooled) ** 2))
    dfb = len(names) - 1
    return dataclasses.replace(
        res,
        subgroups=subs,
        subgroup_q=qb,
        subgroup_df=dfb,
        subgroup_p_value=float(stats.chi2.sf(qb, dfb)),
    )


@dataclasses.dataclass(frozen=True)
class LeaveOneOutResult(Result):
    """The model refitted without each study in turn (metafor's ``leave1out``)."""

    estimate: FloatArray
    se: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    ci: FloatArray
    q: FloatArray
    q_p_value: FloatArray
    tau2: FloatArray
    i2: FloatArray
    h2: FloatArray
    method: str
    n: int


def leave_one_out(
    yi: ArrayLike, vi: ArrayLike, *, method: Method = "REML", test: Test = "z", level: float = 0.95
) -> LeaveOneOutResult:
    """Fit the intercept-only model ``k`` times, each time without one study.

    Row ``i`` of every array describes the fit without study ``i``.
    R: ``metafor::leave1out(rma(yi, vi, method = method, test = test))``.
    """
    y, v = _inputs(yi, vi)
    level = check_level(level)
    k = y.size
    if k < 3:
        raise ValueError(f"yi: leave-one-out needs k >= 3 studies, got {k}")
    fits = []
    for i in range(k):
        keep = np.arange(k) != i
        fits.append(
            _fit(
                y[keep],
                v[keep],
                np.ones((k - 1, 1)),
                method=method,
                test=test,
                level=level,
                confint=False,
            )
        )

    def col(name: str) -> FloatArray:
        return np.array([getattr(f, name) for f in fits], dtype=np.float64)

    return LeaveOneOutResult(
        estimate=col("estimate"),
        se=col("se"),
        statistic=col("statistic"),
        p_value=col("p_value"),
        ci=np.array([f.ci for f in fits], dtype=np.float64),
        q=col("q"),
        q_p_value=col("q_p_value"),
        tau2=col("tau2"),
        i2=col("i2"),
        h2=col("h2"),
        method=method,
        n=k,
    )


@dataclasses.dataclass(frozen=True)
class RegressionTestResult(Result):
    """A regression test for funnel-plot asymmetry (metafor's ``regtest``).

    ``statistic``/``p_value`` test the slope on the precision predictor; ``estimate`` and ``ci``
    are the "limit estimate", the intercept (the effect as the predictor goes to 0).
    """

    statistic: float
    df: float | None
    p_value: float
    slope: float
    estimate: float
    ci: tuple[float, float]
    predictor: str
    model: str
    method: str
    n: int


def _regtest(
    y: FloatArray,
    v: FloatArray,
    pred: FloatArray,
    *,
    predictor: str,
    model: str,
    method: str,
    test: str,
    level: float,
) -> RegressionTestResult:
    k = y.size
    if k < 3:
        raise ValueError(f"yi: a regression test needs k >= 3 studies, got {k}")
    x = np.column_stack([np.ones(k), pred])
    if model == "rma":
        res = _fit(y, v, x, method=method, test=test, level=level, confint=False)
        stat = float(res.coef_statistic[1])
        return RegressionTestResult(
            statistic=stat,
            df=res.df,
            p_value=float(res.coef_p_value[1]),
            slope=float(res.coefficients[1]),
            estimate=res.estimate,
            ci=res.ci,
            predictor=predictor,
            model=model,
            method=method,
            n=k,
        )
    if model != "lm":
        raise ValueError(f"model: must be 'rma' or 'lm', got {show(model)}")
    # weighted least squares with weights 1/v and a multiplicative dispersion (R's lm(weights=))
    fit = core.wls(y, x, 1.0 / v)
    df = k - 2
    sigma2 = fit.rss / df
    se = np.sqrt(np.diag(fit.a_inv) * sigma2)
    tval = fit.beta / se
    crit = float(stats.t.isf((1.0 - level) / 2.0, df))
    b0 = float(fit.beta[0])
    return RegressionTestResult(
        statistic=float(tval[1]),
        df=float(df),
        p_value=float(2.0 * stats.t.sf(abs(tval[1]), df)),
        slope=float(fit.beta[1]),
        estimate=b0,
        ci=(b0 - crit * float(se[0]), b0 + crit * float(se[0])),
        predictor=predictor,
        model=model,
        method="weighted least squares",
        n=k,
    )


def egger_test(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    model: Literal["rma", "lm"] = "rma",
    method: Method = "REML",
    test: Test = "z",
    level: float = 0.95,
) -> RegressionTestResult:
    """Egger's regression test: regress ``y_i`` on its standard error ``sqrt(v_i)``.

    ``model="rma"`` (metafor's default) fits the mixed-effects meta-regression
    ``y_i = b0 + b1 sqrt(v_i) + u_i + e_i`` with the given ``method``/``test``; ``model="lm"``
    is Egger's original weighted regression ``lm(y ~ sqrt(v), weights = 1/v)`` with a t-test on
    ``k - 2`` df. The test is of ``b1 = 0``.

    R: ``metafor::regtest(fit, model = model, predictor = "sei")``.
    Reference: Egger M et al (1997). BMJ 315:629-634.
    """
    y, v = _inputs(yi, vi)
    return _regtest(
        y,
        v,
        np.sqrt(v),
        predictor="sei",
        model=model,
        method=method,
        test=test,
        level=check_level(level),
    )


def peters_test(
    yi: ArrayLike,
    vi: ArrayLike,
    n: ArrayLike,
    *,
    model: Literal["rma", "lm"] = "lm",
    method: Method = "REML",
    test: Test = "z",
    level: float = 0.95,
) -> RegressionTestResult:
    """Peters' test: regress ``y_i`` on the inverse of the total sample size ``1 / n_i``.

    As metafor's ``regtest(fit, model = "lm", predictor = "ninv")``: weighted least squares with
    weights ``1 / v_i`` (Peters et al used the closely related weights ``1 / (1/(a+c) + 1/(b+d))``
    for log odds ratios; for them the inverse variance weights differ only by the non-event cells).
    Reference: Peters JL et al (2006). JAMA 295:676-680.
    """
    y, v = _inputs(yi, vi)
    nn = as_float_array("n", n)
    if nn.size != y.size:
        raise ValueError(f"n: length {nn.size} differs from yi's length {y.size}")
    if np.any(nn <= 0):
        raise ValueError("n: sample sizes must be > 0")
    return _regtest(
        y,
        v,
        1.0 / nn,
        predictor="ninv",
        model=model,
        method=method,
        test=test,
        level=check_level(level),
    )
