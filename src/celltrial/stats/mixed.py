"""Linear mixed models with one grouping factor: random intercept, or intercept and slopes.

The model (Laird & Ware 1982) for group ``i`` with ``n_i`` observations is

    y_i = X_i beta + Z_i b_i + e_i,    b_i ~ N(0, sigma2 Lambda Lambda'),    e_i ~ N(0, sigma2 I),

so ``V_i = Var(y_i) = sigma2 (Z_i Lambda Lambda' Z_i' + I)``. ``Lambda`` is the lower-triangular
relative covariance factor whose entries are ``theta`` (column-major, diagonal >= 0), as in
lme4. ``beta`` and ``sigma2`` are profiled out; with ``M_i = Lambda' Z_i' Z_i Lambda + I`` and
``W = sigma2 V^-1`` (Woodbury: ``W_i = I - Z_i Lambda M_i^-1 Lambda' Z_i'``),

    beta(theta) = (X' W X)^-1 X' W y,   r2(theta) = y' W y - beta' X' W y,

and the criteria minimised over ``theta`` are (``log|V|/sigma2 = sum_i log|M_i|``)

    ML:    -2 l(theta)   = sum_i log|M_i| + n (1 + log(2 pi r2 / n)),
    REML:  -2 l_R(theta) = sum_i log|M_i| + log|X' W X| + (n - p) (1 + log(2 pi r2 / (n - p))),

with ``sigma2 = r2 / n`` (ML) or ``r2 / (n - p)`` (REML). Every group's ``M_i`` is ``q x q``:
the sums ``Z_i' Z_i``, ``Z_i' X_i``, ``Z_i' y_i`` are accumulated once and each evaluation is a
batch of small Cholesky factorisations (no loop over groups). ``Var(beta) = sigma2 (X' W X)^-1``
at the optimum (lme4's ``vcov``).

R equivalent: ``lme4::lmer(y ~ x + (1 | g), REML = TRUE)`` (or ``(x | g)``, ``REML = FALSE``):
``fixef``, ``vcov``, ``VarCorr``, ``sigma``, ``logLik``, ``AIC``, ``BIC``. The t-test degrees of
freedom follow ``nlme::lme`` (lme4 reports none): a column constant within every group is a
between-group effect with ``G - p_between - 1`` df, every other coefficient (the intercept
included) gets ``n - G - p_within``. Satterthwaite and Kenward-Roger df are not implemented.

References
----------
Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using lme4.
J Stat Softw 67(1):1-48.
Pinheiro JC, Bates DM (2000). Mixed-Effects Models in S and S-PLUS. Springer (section 2.4.2).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from celltrial.stats._checks import as_float_array, as_labels, check_choice, check_level, show
from celltrial.stats._result import Result
from celltrial.stats._warnings import BoundaryFitWarning

FloatArray = NDArray[np.float64]
Method = Literal["REML", "ML"]

__all__ = ["MixedModelResult", "linear_mixed_model"]


def _minimize(
    fun: Callable[[FloatArray], float],
    x0: FloatArray,
    bounds: Sequence[tuple[float | None, float | None]] | None = None,
) -> tuple[FloatArray, float]:
    """Minimise a smooth criterion of a few parameters tightly; ``(x, fun(x))``.

    L-BFGS-B with central-difference gradients (one-sided at a lower bound), restarted from its
    own optimum until it stops moving, then Newton steps with finite-difference derivatives on
    the coordinates away from their bounds. R's optimisers stop earlier at their defaults.
    """
    lower = np.array([-np.inf if b[0] is None else b[0] for b in bounds]) if bounds else None

    def fgrad(x: FloatArray) -> tuple[float, FloatArray]:
        f0 = fun(x)
        g = np.empty_like(x)
        for j in range(x.size):
            h = 1e-6 * max(1.0, abs(x[j]))
            xp = x.copy()
            xp[j] += h
            if lower is not None and x[j] - h < lower[j]:
                g[j] = (fun(xp) - f0) / h
                continue
            xm = x.copy()
            xm[j] -= h
            g[j] = (fun(xp) - fun(xm)) / (2.0 * h)
        return f0, g

    x = np.asarray(x0, dtype=np.float64).copy()
    best = fun(x)
    for _ in range(20):
        res = optimize.minimize(
            fgrad,
            x,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000, "maxcor": 20},
        )
        xn, fn = np.asarray(res.x, dtype=np.float64), float(res.fun)
        if fn > best:
            break
        moved = not np.allclose(xn, x, rtol=1e-10, atol=1e-12)
        x, best = xn, fn
        if not moved:
            break
    # Newton polish on the free coordinates: the root of a central-difference gradient is
    # located far more precisely than the minimum of the (flat) criterion itself
    free = np.ones(x.size, dtype=bool) if lower is None else x > lower + 1e-8
    idx = np.flatnonzero(free)
    for _ in range(8):
        if idx.size == 0:
            break
        h = 1e-4 * np.maximum(1.0, np.abs(x[idx]))
        k = idx.size
        grad = np.empty(k)
        hess = np.empty((k, k))
        f0 = fun(x)
        fp = np.empty(k)
        fm = np.empty(k)
        for a in range(k):
            e = np.zeros(x.size)
            e[idx[a]] = h[a]
            fp[a], fm[a] = fun(x + e), fun(x - e)
            grad[a] = (fp[a] - fm[a]) / (2.0 * h[a])
            hess[a, a] = (fp[a] - 2.0 * f0 + fm[a]) / h[a] ** 2
        for a in range(k):
            for b in range(a + 1, k):
                ea = np.zeros(x.size)
                eb = np.zeros(x.size)
                ea[idx[a]] = h[a]
                eb[idx[b]] = h[b]
                fab = fun(x + ea + eb) - fun(x + ea - eb) - fun(x - ea + eb) + fun(x - ea - eb)
                hess[a, b] = hess[b, a] = fab / (4.0 * h[a] * h[b])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        xn = x.copy()
        xn[idx] -= step
        if lower is not None and np.any(xn < lower):
            break
        fn = fun(xn)
        if not fn <= best + 1e-9 * max(1.0, abs(best)):
            break
        x, best = xn, min(fn, best)
        if np.all(np.abs(step) <= 1e-12 * np.maximum(1.0, np.abs(x[idx]))):
            break
    return x, best


def _as_matrix(name: str, values: Any, n: int) -> FloatArray:
    """A design matrix with ``n`` finite rows (a 1-d input is one column)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: must be numeric ({exc})") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name}: must be a 2-d design matrix, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name}: {arr.shape[0]} rows differ from the data's length {n}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: must have at least one column")
    if not np.all(np.isfinite(arr)):
        row = int(np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[0])
        raise ValueError(f"{name}: must be finite; row {row} has a NaN or infinite entry")
    return arr


def _check_rank(name: str, X: FloatArray) -> None:
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"{name}: columns must be linearly independent (full column rank)")


def _t_table(
    est: FloatArray, se: FloatArray, df: FloatArray, level: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """t statistics, two-sided p-values and ``level`` confidence intervals."""
    t = est / se
    p = 2.0 * stats.t.sf(np.abs(t), df)
    q = stats.t.ppf(0.5 + level / 2.0, df)
    ci = np.column_stack([est - q * se, est + q * se])
    return t, np.asarray(p, dtype=np.float64), ci


@dataclasses.dataclass(frozen=True)
class MixedModelResult(Result):
    """A fitted linear mixed model (lme4's ``merMod``).

    ``fixed_effects``, ``fixed_se``, ``t_value``, ``df``, ``p_value`` and ``ci`` (rows: lower,
    upper) are per fixed-effect coefficient, in the columns' order of ``X`` (``names``).
    ``random_covariance`` is ``Var(b_i)`` (``q x q``); ``residual_variance`` is ``sigma2``;
    ``variance_components`` holds both as lme4's ``as.data.frame(VarCorr(fit))`` lists them
    (variances, then covariances ``"cov(a,b)"``, then ``"Residual"``). ``log_likelihood`` is the
    REML or ML log-likelihood as ``logLik`` reports it; ``aic``/``bic`` use it with
    ``p + q(q+1)/2 + 1`` parameters. ``random_effects`` are the conditional modes (BLUPs) per
    group (rows in the sorted order of ``groups``). ``singular`` is lme4's ``isSingular``: a
    diagonal element of ``theta`` below 1e-4 (a variance component on the boundary, 0, or a
    random-effects correlation of +-1); the fit then warns (``BoundaryFitWarning``).
    """

    fixed_effects: FloatArray
    fixed_se: FloatArray
    t_value: FloatArray
    df: FloatArray
    p_value: FloatArray
    ci: FloatArray
    vcov: FloatArray
    names: tuple[str, ...]
    random_names: tuple[str, ...]
    random_covariance: FloatArray
    residual_variance: float
    variance_components: dict[str, float]
    theta: FloatArray
    random_effects: FloatArray
    groups: NDArray[Any]
    log_likelihood: float
    aic: float
    bic: float
    method: str
    level: float
    n: int
    n_groups: int
    singular: bool = False

    @property
    def sigma(self) -> float:
        """Residual standard deviation (lme4's ``sigma``)."""
        return math.sqrt(self.residual_variance)

    def summary(self) -> str:
        """An lme4-like printout."""
        lines = [
            f"Linear mixed model fit by {self.method}: n = {self.n}, groups = {self.n_groups}",
            f"  logLik {self.log_likelihood:.6g}, AIC {self.aic:.6g}, BIC {self.bic:.6g}",
            "  variance components:",
        ]
        lines += [f"    {k}: {v:.6g}" for k, v in self.variance_components.items()]
        lines.append("  fixed effects (estimate, SE, t, df, p):")
        for j, name in enumerate(self.names):
            lines.append(
                f"    {name}: {self.fixed_effects[j]:.6g}, {self.fixed_se[j]:.6g}, "
                f"{self.t_value[j]:.4g}, {self.df[j]:g}, {self.p_value[j]:.4g}"
            )
        return "\n".join(lines)


def _lambda(theta: FloatArray, q: int) -> FloatArray:
    """Lower-triangular ``Lambda`` from ``theta`` in column-major order (lme4's ``Lambdat``)."""
    cols, rows = np.triu_indices(q)
    lam = np.zeros((q, q))
    lam[rows, cols] = theta
    return lam


def _nlme_df(X: FloatArray, codes: NDArray[np.intp], n_groups: int) -> FloatArray:
    """nlme::lme's between/within degrees of freedom for each column of ``X``."""
    n, p = X.shape
    first = np.zeros((n_groups, p))
    first[codes] = X  # any row of each group
    constant_all = np.all(X[0] == X, axis=0)
    between = np.all(first[codes] == X, axis=0) & ~constant_all
    p_between = int(between.sum())
    p_within = int((~between & ~constant_all).sum())
    intercept = bool(constant_all.any())
    df_between = n_groups - p_between - (1 if intercept else 0)
    df_within = n - n_groups - p_within
    return np.where(between, float(df_between), float(df_within))


def _profiled_criterion(
    logdet: float, XtWX: FloatArray, XtWy: FloatArray, ytWy: float, *, dfr: float, reml: bool
) -> float:
    """-2 x the (restricted) log-likelihood with beta and sigma^2 profiled out.

    ``logdet`` is log|V/sigma^2|; ``XtWX, XtWy, ytWy`` are the generalised least-squares cross
    products; ``dfr`` is n (ML) or n - p (REML). Infinite where ``XtWX`` is not positive
    definite or the residual sum of squares is not positive (the optimiser steps away).
    """
    try:
        cx = np.linalg.cholesky(XtWX)
    except np.linalg.LinAlgError:
        return math.inf
    beta = np.linalg.solve(XtWX, XtWy)
    r2 = ytWy - float(beta @ XtWy)
    if not r2 > 0:
        return math.inf
    crit = logdet + dfr * (1.0 + math.log(2.0 * math.pi * r2 / dfr))
    if reml:
        crit += 2.0 * float(np.log(np.diag(cx)).sum())
    return crit


def linear_mixed_model(
    y: ArrayLike,
    X: ArrayLike,
    group: ArrayLike,
    *,
    Z: ArrayLike | None = None,
    method: Method = "REML",
    level: float = 0.95,
    names: Sequence[str] | None = None,
    random_names: Sequence[str] | None = None,
) -> MixedModelResult:
    """Fit a linear mixed model with random effects for one grouping factor.

    Parameters
    ----------
    y : array_like, shape (n,)
        Response.
    X : array_like, shape (n, p)
        Fixed-effects design (include a column of ones for an intercept); full column rank.
    group : array_like, shape (n,)
        Group (subject) labels, numbers or strings; at least 2 distinct groups.
    Z : array_like, shape (n, q), optional
        Random-effects design; default a column of ones (random intercept). ``Z = X`` with
        columns (1, time) gives a random intercept and slope (lme4's ``(time | group)``); every
        group then needs at least 2 observations.
    method : {"REML", "ML"}
        Restricted or full maximum likelihood.
    level : float
        Confidence level of ``ci``.
    names, random_names : sequence of str, optional
        Labels of the columns of ``X`` and ``Z`` (default ``x0, x1, ...``, ``z0, ...``; with
        the default ``Z``, ``"(Intercept)"``).

    Returns
    -------
    MixedModelResult

    Notes
    -----
    ``V_i = sigma2 (Z_i Lambda Lambda' Z_i' + I)``; ``beta`` and ``sigma2`` are profiled out
    and the REML/ML criterion is minimised over the relative covariance factor ``theta``
    (Bates et al. 2015, eqs. 34 and 41), see the module docstring. R equivalent:
    ``lme4::lmer(y ~ x + (1 | g))`` / ``(x | g)`` with ``REML = TRUE`` or ``FALSE``.

    References
    ----------
    Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
    lme4. J Stat Softw 67(1):1-48.
    """
    yv = as_float_array("y", y)
    n = yv.size
    Xm = _as_matrix("X", X, n)
    levels, codes = as_labels("group", group, n)
    Zm = np.ones((n, 1)) if Z is None else _as_matrix("Z", Z, n)
    method = check_choice("method", method, ("REML", "ML"))  # type: ignore[assignment]
    level = check_level(level)
    p, q, G = Xm.shape[1], Zm.shape[1], levels.size
    if G < 2:
        raise ValueError(f"group: needs at least 2 groups, got {G}")
    if n <= p:
        raise ValueError(f"y: needs more observations ({n}) than fixed effects ({p})")
    _check_rank("X", Xm)
    if n <= G:  # lme4's check.nobs.vs.nlev
        raise ValueError(
            f"group: number of levels of the grouping factor ({G}) must be < number of "
            f"observations ({n}); with one observation per group the random-intercept variance "
            "and the residual variance cannot be told apart (lme4 refuses too)"
        )
    counts = np.bincount(codes, minlength=G)
    if q > 1 and np.any(counts < 2):
        bad = levels[int(np.flatnonzero(counts < 2)[0])]
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise ValueError(
            f"group: group {show(bad)} has one observation; a random slope (Z with {q} columns) "
            "needs at least 2 per group"
        )
    if n <= G * q:  # lme4's check.nobs.vs.nRE
        raise ValueError(
            f"group: number of observations ({n}) must be > number of random effects ({G * q})"
        )
    xnames = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    if len(xnames) != p:
        raise ValueError(f"names: {len(xnames)} names for {p} columns of X")
    default_z = ("(Intercept)",) if Z is None else tuple(f"z{j}" for j in range(q))
    znames = tuple(random_names) if random_names is not None else default_z
    if len(znames) != q:
        raise ValueError(f"random_names: {len(znames)} names for {q} columns of Z")

    # per-group cross-products, accumulated once
    ZtZ = np.zeros((G, q, q))
    ZtX = np.zeros((G, q, p))
    Zty = np.zeros((G, q))
    np.add.at(ZtZ, codes, Zm[:, :, None] * Zm[:, None, :])
    np.add.at(ZtX, codes, Zm[:, :, None] * Xm[:, None, :])
    np.add.at(Zty, codes, Zm * yv[:, None])
    XtX, Xty, yty = Xm.T @ Xm, Xm.T @ yv, float(yv @ yv)
    eye = np.eye(q)
    reml = method == "REML"
    dfr = n - p if reml else n

    def solve_parts(theta: FloatArray) -> tuple[float, FloatArray, FloatArray, float, Any]:
        lam = _lambda(theta, q)
        M = lam.T @ ZtZ @ lam + eye
        M = 0.5 * (M + np.swapaxes(M, 1, 2))
        chol = np.linalg.cholesky(M)
        logdet = 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
        U = lam.T @ ZtX  # (G, q, p)
        v = Zty @ lam  # (G, q): rows are Lambda' Z_i' y_i
        MiU = np.linalg.solve(M, U)
        Miv = np.linalg.solve(M, v[:, :, None])[:, :, 0]
        XtWX = XtX - np.einsum("gqp,gqr->pr", U, MiU)
        XtWy = Xty - np.einsum("gqp,gq->p", U, Miv)
        ytWy = yty - float(np.einsum("gq,gq->", v, Miv))
        return logdet, XtWX, XtWy, ytWy, (lam, M, U, v)

    def criterion(theta: FloatArray) -> float:
        try:
            logdet, XtWX, XtWy, ytWy, _ = solve_parts(theta)
        except np.linalg.LinAlgError:
            return math.inf
        return _profiled_criterion(logdet, XtWX, XtWy, ytWy, dfr=dfr, reml=reml)

    cols, rows = np.triu_indices(q)
    diag = rows == cols
    theta0 = np.where(diag, 1.0, 0.0)
    bounds: list[tuple[float | None, float | None]] = [
        (0.0, None) if d else (None, None) for d in diag
    ]
    theta, crit = _minimize(criterion, theta0, bounds)

    _, XtWX, XtWy, ytWy, (lam, M, U, v) = solve_parts(theta)
    beta: FloatArray = np.asarray(np.linalg.solve(XtWX, XtWy), dtype=np.float64)
    r2 = ytWy - float(beta @ XtWy)
    sigma2 = r2 / dfr
    vcov = sigma2 * np.linalg.inv(XtWX)
    vcov = 0.5 * (vcov + vcov.T)
    se = np.sqrt(np.diag(vcov))
    df = _nlme_df(Xm, codes, G)
    t, pv, ci = _t_table(beta, se, df, level)
    cov_b = sigma2 * (lam @ lam.T)
    # conditional modes b_i = Lambda M_i^-1 Lambda' Z_i' (y_i - X_i beta)
    resid = v - U @ beta
    blup = np.linalg.solve(M, resid[:, :, None])[:, :, 0] @ lam.T

    vc: dict[str, float] = {znames[j]: float(cov_b[j, j]) for j in range(q)}
    for j in range(q):
        for k in range(j + 1, q):
            vc[f"cov({znames[j]},{znames[k]})"] = float(cov_b[j, k])
    vc["Residual"] = float(sigma2)
    n_par = p + q * (q + 1) // 2 + 1
    singular = bool(np.any(theta[diag] < 1e-4))
    if singular:
        warnings.warn(
            "linear_mixed_model: boundary (singular) fit: a random-effects variance is "
            "estimated as 0 (or a correlation as +-1), as lme4's isSingular",
            BoundaryFitWarning,
            stacklevel=2,
        )
    return MixedModelResult(
        fixed_effects=beta,
        fixed_se=se,
        t_value=t,
        df=df,
        p_value=pv,
        ci=ci,
        vcov=vcov,
        names=xnames,
        random_names=znames,
        random_covariance=cov_b,
        residual_variance=float(sigma2),
        variance_components=vc,
        theta=theta,
        random_effects=blup,
        groups=levels,
        log_likelihood=-0.5 * crit,
        aic=crit + 2.0 * n_par,
        bic=crit + math.log(n) * n_par,
        method=method,
        level=level,
        n=n,
        n_groups=G,
        singular=singular,
    )
