r"""Firth-penalized logistic and Cox regression with profile penalized-likelihood CIs.

In small trials a coefficient's maximum likelihood estimate is often infinite: separation in
logistic regression (every responder in one arm), monotone likelihood in Cox regression (no
event in one arm). Firth's penalty ``(1/2) log |I(beta)|`` (the Jeffreys prior) removes the
first-order bias of the MLE and keeps the estimate finite:

.. math::

    \ell^*(\beta) = \ell(\beta) + \tfrac12 \log\det I(\beta).

The estimate solves the modified score ``U^*_r = U_r + (1/2) tr(I^{-1} dI/d beta_r) = 0``
(Newton steps ``I^{-1} U^*`` with step halving on ``l*``). Confidence limits and p-values use
the penalized likelihood ratio, as R's ``logistf`` and ``coxphf`` do: the limits for
``beta_j`` are the two values ``b`` with ``2 (l*(beta_hat) - max_{beta: beta_j = b} l*(beta))
= chi2_{1, level}``, and the p-value compares ``l*(beta_hat)`` with the maximum at
``beta_j = 0``. Wald SEs (``sqrt(diag I^{-1})`` at the estimate) are reported as well but are
not used for inference, because they are poor exactly where Firth's method is needed.

Validation: R's ``logistf`` and ``coxphf`` are not in Debian. The reference values in
``tests/reference/firth/`` come from an independent computation written from scratch in R
(``firth.R``): the penalized log-likelihood evaluated directly (for Cox, the log partial
likelihood and the information from ``survival::coxph`` at fixed coefficients,
``iter.max = 0``), maximised with ``optim``, the profile limits found with ``uniroot``.

References
----------
Firth D (1993). Bias reduction of maximum likelihood estimates. Biometrika 80:27-38.
Heinze G, Schemper M (2001). A solution to the problem of monotone likelihood in Cox
regression. Biometrics 57:114-119.
Heinze G, Schemper M (2002). A solution to the problem of separation in logistic regression.
Stat Med 21:2409-2419.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special
from scipy import stats as sps

from celltrial.stats._checks import as_event, as_float_array, as_time, check_level
from celltrial.stats._result import Result
from celltrial.stats.cox import ChiSquareTest
from celltrial.stats.mixed import _as_matrix

FloatArray = NDArray[np.float64]
#: (penalized log-likelihood, modified score, information) at beta
Derivs = Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]

__all__ = ["FirthCoxResult", "FirthLogisticResult", "firth_cox", "firth_logistic"]


@dataclasses.dataclass(frozen=True)
class FirthLogisticResult(Result):
    """A Firth-penalized logistic regression (R's ``logistf``).

    ``estimate`` (log odds ratios; the intercept first when fitted), ``se`` the Wald SEs from
    the inverse information, ``ci`` the profile penalized-likelihood limits of the coefficients
    and ``odds_ratio_ci`` the same on the odds-ratio scale, ``p_value`` the penalized
    likelihood-ratio tests of each coefficient = 0. ``loglik`` is (null, fitted) penalized
    log-likelihood, the null model having only the intercept; ``lr_test`` compares them.
    """

    terms: tuple[str, ...]
    estimate: FloatArray
    se: FloatArray
    variance: FloatArray
    odds_ratio: FloatArray
    ci: FloatArray
    odds_ratio_ci: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    loglik: tuple[float, float]
    lr_test: ChiSquareTest
    n: int
    n_events: int
    iterations: int
    level: float
    method: str = "Firth-penalized logistic regression (profile penalized-likelihood CIs)"

    def summary(self) -> str:
        """Coefficient table with profile CIs and penalized LR p-values."""
        lines = [f"FirthLogisticResult (n={self.n}, events={self.n_events})"]
        lines.append(f"  {'term':<14}{'coef':>11}{'se':>11}{'lower':>11}{'upper':>11}{'p':>11}")
        for j, name in enumerate(self.terms):
            lines.append(
                f"  {name:<14}{self.estimate[j]:>11.5g}{self.se[j]:>11.5g}"
                f"{self.ci[j, 0]:>11.5g}{self.ci[j, 1]:>11.5g}{self.p_value[j]:>11.4g}"
            )
        t = self.lr_test
        lines.append(f"  {t.method}: {t.statistic:.4f} on {t.df} df, p={t.p_value:.4g}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class FirthCoxResult(Result):
    """A Firth-penalized Cox regression (R's ``coxphf``; Breslow ties).

    ``estimate`` (log hazard ratios), ``se`` the Wald SEs, ``ci`` the profile
    penalized-likelihood limits of the hazard ratios (``coef_ci`` on the log scale),
    ``p_value`` the penalized likelihood-ratio tests; ``loglik`` is (null, fitted) penalized
    log partial likelihood and ``lr_test`` the global penalized LR test.
    """

    terms: tuple[str, ...]
    estimate: FloatArray
    se: FloatArray
    variance: FloatArray
    hazard_ratio: FloatArray
    coef_ci: FloatArray
    ci: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    loglik: tuple[float, float]
    lr_test: ChiSquareTest
    n: int
    n_event: int
    iterations: int
    level: float
    method: str = "Firth-penalized Cox regression (profile penalized-likelihood CIs)"

    def summary(self) -> str:
        """Coefficient table with profile CIs and penalized LR p-values."""
        lines = [f"FirthCoxResult (n={self.n}, events={self.n_event})"]
        lines.append(f"  {'term':<14}{'coef':>11}{'HR':>11}{'lower':>11}{'upper':>11}{'p':>11}")
        for j, name in enumerate(self.terms):
            lines.append(
                f"  {name:<14}{self.estimate[j]:>11.5g}{self.hazard_ratio[j]:>11.5g}"
                f"{self.ci[j, 0]:>11.5g}{self.ci[j, 1]:>11.5g}{self.p_value[j]:>11.4g}"
            )
        t = self.lr_test
        lines.append(f"  {t.method}: {t.statistic:.4f} on {t.df} df, p={t.p_value:.4g}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- penalized fits


def _maximize(
    derivs: Derivs,
    beta0: FloatArray,
    free: NDArray[np.bool_],
    *,
    max_iter: int = 100,
    tol: float = 1e-11,
) -> tuple[FloatArray, float, int]:
    """Maximise ``l*`` over the ``free`` coordinates (the others fixed at ``beta0``).

    Newton steps ``I^{-1} U^*`` on the free coordinates, each step at most 5 in any coordinate
    and halved until ``l*`` does not decrease (as logistf/coxphf), until the largest modified
    score is below ``tol``.
    """
    beta = beta0.copy()
    ll, score, info = derivs(beta)
    it = 0
    if not np.any(free):
        return beta, ll, 0
    while it < max_iter:
        if float(np.max(np.abs(score[free]))) < tol:
            break
        it += 1
        sub = info[np.ix_(free, free)]
        try:
            step = np.linalg.solve(sub, score[free])
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(sub, score[free], rcond=None)[0]
        big = float(np.max(np.abs(step)))
        if big > 5.0:
            step *= 5.0 / big
        for _ in range(40):
            new = beta.copy()
            new[free] += step
            ll_new, s_new, i_new = derivs(new)
            if math.isfinite(ll_new) and ll_new >= ll - 1e-12 * max(1.0, abs(ll)):
                break
            step = step / 2.0
        else:
            break  # no step improves l*: at the maximum to rounding
        beta, ll, score, info = new, ll_new, s_new, i_new
        if float(np.max(np.abs(step))) < 1e-13:
            break
    return beta, ll, it


def _profile_limits(
    derivs: Derivs, beta_hat: FloatArray, ll_hat: float, se: FloatArray, level: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Profile penalized-likelihood limits, LR statistics and p-values (``beta_j = 0``)."""
    p = beta_hat.size
    crit = float(sps.chi2.ppf(level, 1))
    lim = np.empty((p, 2))
    stat = np.empty(p)
    for j in range(p):
        free = np.ones(p, dtype=bool)
        free[j] = False
        warm = {"beta": beta_hat.copy()}

        def prof(
            b: float, j: int = j, free: NDArray[np.bool_] = free, warm: dict[str, FloatArray] = warm
        ) -> float:
            start = warm["beta"].copy()
            start[j] = b
            fit, ll, _ = _maximize(derivs, start, free)
            warm["beta"] = fit
            return 2.0 * (ll_hat - ll)

        warm["beta"] = beta_hat.copy()
        stat[j] = max(prof(0.0), 0.0)
        scale = se[j] if math.isfinite(se[j]) and se[j] > 0 else 1.0
        for side, sign in ((0, -1.0), (1, 1.0)):
            warm["beta"] = beta_hat.copy()
            inner = float(beta_hat[j])
            width = scale
            outer = inner + sign * width
            while prof(outer) - crit < 0:
                inner = outer
                width *= 2.0
                outer = inner + sign * width
                if width > 1e4:
                    outer = sign * math.inf
                    break
            if not math.isfinite(outer):
                lim[j, side] = outer
                continue
            warm["beta"] = beta_hat.copy()
            lo, hi = sorted((inner, outer))
            lim[j, side] = optimize.brentq(
                lambda b: prof(b) - crit, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=200
            )
    pv = np.asarray(sps.chi2.sf(stat, 1), dtype=np.float64)
    return lim, stat, pv


# ----------------------------------------------------------------------------- logistic


def _logistic_derivs(X: FloatArray, y: FloatArray) -> Derivs:
    def derivs(beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        eta = X @ beta
        pi = special.expit(eta)
        w = pi * (1.0 - pi)
        info = (X * w[:, None]).T @ X
        sign, logdet = np.linalg.slogdet(info)
        if sign <= 0:
            return -math.inf, np.zeros_like(beta), info
        # log-likelihood as sum y*eta - log(1 + exp(eta)), stable for large |eta|
        ll = float(np.sum(y * eta - np.logaddexp(0.0, eta))) + 0.5 * float(logdet)
        inv = np.linalg.inv(info)
        h = np.einsum("ij,jk,ik->i", X, inv, X) * w  # diagonal of the hat matrix
        score = X.T @ (y - pi + h * (0.5 - pi))
        return ll, score, info

    return derivs


def firth_logistic(
    X: ArrayLike,
    y: ArrayLike,
    *,
    intercept: bool = True,
    names: Sequence[str] | None = None,
    level: float = 0.95,
) -> FirthLogisticResult:
    r"""Firth-penalized logistic regression with profile penalized-likelihood CIs.

    Maximises

    .. math::

        \ell^*(\beta) = \sum_i \{y_i \eta_i - \log(1 + e^{\eta_i})\}
            + \tfrac12 \log\det(X' W X),\quad \eta = X\beta,\ W = diag\{\pi_i(1-\pi_i)\},

    whose score is ``X'(y - pi + h (1/2 - pi))`` with ``h`` the hat diagonal of ``W^{1/2} X``.
    The estimate is finite even under complete separation. CIs and p-values: profile penalized
    likelihood ratio (the penalty keeps the full model's information in the restricted fits,
    as ``logistf``).

    Parameters
    ----------
    X : array_like, shape (n, p) or (n,)
        Covariates (an intercept column is added when ``intercept``).
    y : array_like, shape (n,)
        0/1 responses.
    intercept : bool
        Add an intercept (first coefficient, named ``(Intercept)``).
    names : sequence of str, optional
        Names of the columns of ``X`` (default ``x1, x2, ...``).
    level : float
        Confidence level.

    Returns
    -------
    FirthLogisticResult

    Notes
    -----
    R equivalent: ``logistf::logistf(y ~ x1 + x2)`` (estimates, ``ci.lower``/``ci.upper`` with
    the default profile method, ``prob``, ``loglik``). logistf is not in Debian; the reference
    is an independent R computation from scratch (``tests/reference/firth/firth.R``).

    References
    ----------
    Firth D (1993). Biometrika 80:27-38. Heinze G, Schemper M (2002). A solution to the problem
    of separation in logistic regression. Stat Med 21:2409-2419.

    Examples
    --------
    >>> from celltrial.stats import firth_logistic
    >>> arm = [0] * 6 + [1] * 6
    >>> resp = [0, 0, 0, 0, 0, 1] + [1] * 6   # every treated subject responded
    >>> fit = firth_logistic(arm, resp, names=["arm"])
    >>> bool(fit.estimate[1] < 10)               # finite, unlike the MLE
    True
    """
    yv = as_float_array("y", y)
    n = yv.size
    if not np.all((yv == 0) | (yv == 1)):
        bad = int(np.flatnonzero((yv != 0) & (yv != 1))[0])
        raise ValueError(f"y: must be 0/1; element {bad} is {float(yv[bad])!r}")
    Xm = _as_matrix("X", X, n)
    k = Xm.shape[1]
    cols = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(k))
    if len(cols) != k:
        raise ValueError(f"names: {len(cols)} names for {k} columns of X")
    level = check_level(level)
    if intercept:
        Xm = np.column_stack([np.ones(n), Xm])
        cols = ("(Intercept)", *cols)
    p = Xm.shape[1]
    if np.linalg.matrix_rank(Xm) < p:
        raise ValueError("X: columns (with the intercept) must be linearly independent")
    if n <= 1:
        raise ValueError(f"y: needs at least 2 observations, got {n}")
    derivs = _logistic_derivs(Xm, yv)
    all_free = np.ones(p, dtype=bool)
    beta, ll, it = _maximize(derivs, np.zeros(p), all_free)
    _, _, info = derivs(beta)
    var: FloatArray = np.asarray(np.linalg.inv(info), dtype=np.float64)
    se = np.sqrt(np.diag(var))
    lim, stat, pv = _profile_limits(derivs, beta, ll, se, level)
    null_free = np.zeros(p, dtype=bool)
    if intercept:
        null_free[0] = True
    _, ll0, _ = _maximize(derivs, np.zeros(p), null_free)
    lr = 2.0 * (ll - ll0)
    df = p - int(intercept)
    return FirthLogisticResult(
        terms=cols,
        estimate=beta,
        se=se,
        variance=var,
        odds_ratio=np.exp(beta),
        ci=lim,
        odds_ratio_ci=np.exp(lim),
        statistic=stat,
        p_value=pv,
        loglik=(ll0, ll),
        lr_test=ChiSquareTest(
            statistic=lr,
            df=df,
            p_value=float(sps.chi2.sf(lr, df)) if df > 0 else math.nan,
            method="Penalized likelihood ratio test",
        ),
        n=n,
        n_events=int(yv.sum()),
        iterations=it,
        level=level,
    )


# ----------------------------------------------------------------------------- Cox


def _cox_derivs(X: FloatArray, t: FloatArray, e: NDArray[np.bool_]) -> Derivs:
    """Penalized log partial likelihood (Breslow ties), modified score and information."""
    ut, tau = np.unique(t, return_inverse=True)
    tau = tau.reshape(-1)
    T = ut.size
    d = np.bincount(tau, weights=e.astype(np.float64), minlength=T).astype(np.float64)
    ev_t = d > 0
    dd = d[ev_t]
    sx_ev = X[e].sum(axis=0)
    p = X.shape[1]
    xx = X[:, :, None] * X[:, None, :]
    xxx = xx[:, :, :, None] * X[:, None, None, :]

    def risk(values: FloatArray) -> FloatArray:
        per = np.zeros((T, *values.shape[1:]))
        np.add.at(per, tau, values)
        out: FloatArray = np.cumsum(per[::-1], axis=0)[::-1][ev_t]
        return out

    def derivs(beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        eta = X @ beta
        shift = float(eta.max())
        r = np.exp(eta - shift)  # scale-free: every ratio below is invariant to the shift
        s0 = risk(r)
        s1 = risk(r[:, None] * X)
        s2 = risk(r[:, None, None] * xx)
        s3 = risk(r[:, None, None, None] * xxx)
        xbar = s1 / s0[:, None]
        a = s2 / s0[:, None, None]
        info = np.einsum("t,tij->ij", dd, a - xbar[:, :, None] * xbar[:, None, :])
        ll = float(sx_ev @ beta - np.sum(dd * (np.log(s0) + shift)))
        sign, logdet = np.linalg.slogdet(info)
        if sign <= 0:
            return -math.inf, np.zeros(p), info
        score = sx_ev - dd @ xbar
        # dI/dbeta_r = sum_t d_t [S3_r/S0 - A xbar_r - C_r xbar' - xbar C_r'], C_r = A_r - xbar xbar_r
        c = a - xbar[:, :, None] * xbar[:, None, :]  # c[t, i, r]
        d_info = (
            s3 / s0[:, None, None, None]
            - a[:, :, :, None] * xbar[:, None, None, :]
            - c[:, :, None, :] * xbar[:, None, :, None]
            - xbar[:, :, None, None] * c[:, None, :, :]
        )
        d_info = np.einsum("t,tijr->ijr", dd, d_info)
        inv = np.linalg.inv(info)
        score = score + 0.5 * np.einsum("ij,jir->r", inv, d_info)
        return ll + 0.5 * float(logdet), score, info

    return derivs


def firth_cox(
    X: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    names: Sequence[str] | None = None,
    level: float = 0.95,
) -> FirthCoxResult:
    r"""Firth-penalized Cox regression with profile penalized-likelihood CIs.

    Maximises the penalized log partial likelihood (Breslow ties)

    .. math::

        \ell^*(\beta) = \sum_{i:\,\delta_i = 1} \Big[x_i'\beta
            - \log \sum_{j:\,t_j \ge t_i} e^{x_j'\beta}\Big] + \tfrac12\log\det I(\beta),

    with modified score ``U_r + (1/2) tr(I^{-1} dI/d beta_r)`` (the third-order risk-set sums
    give ``dI/d beta``). The estimate is finite under monotone likelihood (no event in one arm),
    where ``cox_ph`` has an infinite coefficient. CIs and p-values: profile penalized likelihood
    ratio, as ``coxphf``.

    Parameters
    ----------
    X : array_like, shape (n, p) or (n,)
        Covariates.
    time : array_like, shape (n,)
        Follow-up times.
    event : array_like, shape (n,)
        1 event, 0 censored.
    names : sequence of str, optional
        Covariate names (default ``x1, x2, ...``).
    level : float
        Confidence level.

    Returns
    -------
    FirthCoxResult

    Notes
    -----
    R equivalent: ``coxphf::coxphf(Surv(time, event) ~ x1 + x2)`` (``coef``, ``ci.lower``/
    ``ci.upper``, ``prob``). coxphf is not in Debian; the reference is an independent R
    computation (``tests/reference/firth/firth.R``: ``survival::coxph`` log-likelihood and
    information at fixed coefficients, penalty added, ``optim`` and ``uniroot``).

    References
    ----------
    Heinze G, Schemper M (2001). A solution to the problem of monotone likelihood in Cox
    regression. Biometrics 57:114-119.

    Examples
    --------
    >>> from celltrial.stats import firth_cox
    >>> fit = firth_cox([1, 0, 1, 0, 1, 0, 1, 0], [1, 2, 3, 4, 5, 6, 7, 8],
    ...                 [0, 1, 0, 1, 0, 1, 0, 1], names=["arm"])
    >>> round(float(fit.estimate[0]), 4)   # no event in arm 1: finite (the MLE is -inf)
    -1.4997
    """
    t = as_time("time", time)
    n = t.size
    e = as_event("event", event, n)
    Xm = _as_matrix("X", X, n)
    p = Xm.shape[1]
    terms = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(p))
    if len(terms) != p:
        raise ValueError(f"names: {len(terms)} names for {p} columns of X")
    level = check_level(level)
    if not np.any(e):
        raise ValueError("event: no events; the partial likelihood is empty")
    if np.linalg.matrix_rank(np.column_stack([np.ones(n), Xm])) < p + 1:
        raise ValueError("X: columns must be linearly independent and not constant")
    derivs = _cox_derivs(Xm, t, e)
    _, _, info0 = derivs(np.zeros(p))
    ev = np.linalg.eigvalsh(info0)
    if ev[0] <= 1e-12 * max(float(ev[-1]), 1e-300):
        flat = [terms[j] for j in range(p) if info0[j, j] <= 1e-12 * max(float(ev[-1]), 1e-300)]
        which = f"column(s) {', '.join(map(repr, flat))} of X" if flat else "X"
        raise ValueError(
            f"X: {which} carry no information in the partial likelihood (constant within the "
            "risk set at every event time, e.g. censored before the first event); the penalized "
            "likelihood is undefined and nothing can be estimated"
        )
    beta, ll, it = _maximize(derivs, np.zeros(p), np.ones(p, dtype=bool))
    _, _, info = derivs(beta)
    var: FloatArray = np.asarray(np.linalg.inv(info), dtype=np.float64)
    se = np.sqrt(np.diag(var))
    lim, stat, pv = _profile_limits(derivs, beta, ll, se, level)
    ll0, _, _ = derivs(np.zeros(p))
    lr = 2.0 * (ll - ll0)
    return FirthCoxResult(
        terms=terms,
        estimate=beta,
        se=se,
        variance=var,
        hazard_ratio=np.exp(beta),
        coef_ci=lim,
        ci=np.exp(lim),
        statistic=stat,
        p_value=pv,
        loglik=(ll0, ll),
        lr_test=ChiSquareTest(
            statistic=lr,
            df=p,
            p_value=float(sps.chi2.sf(lr, p)),
            method="Penalized likelihood ratio test",
        ),
        n=n,
        n_event=int(e.sum()),
        iterations=it,
        level=level,
    )
