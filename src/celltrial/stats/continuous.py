"""Two-sample and paired tests for continuous outcomes: Student and Welch t tests, the Wilcoxon
rank-sum and signed-rank tests and the Hodges–Lehmann estimate with its CI, as R's ``t.test``
and ``wilcox.test``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy import stats as sps

from celltrial.stats._checks import as_float_array, check_choice, check_level
from celltrial.stats._result import Result
from celltrial.stats._zeroin import EPS, uniroot

ALTERNATIVES = ("two-sided", "less", "greater")
_TOL_ROOT = 1e-4  # wilcox.test's tol.root


@dataclasses.dataclass(frozen=True)
class TTestResult(Result):
    """A t test; ``estimate`` is the mean (one-sample/paired) or the difference of means."""

    statistic: float
    df: float
    p_value: float
    estimate: float
    se: float
    ci: tuple[float, float]
    alternative: str
    level: float
    n: tuple[int, ...]
    method: str


@dataclasses.dataclass(frozen=True)
class RankTestResult(Result):
    """A Wilcoxon test: ``statistic`` is R's ``W`` (rank sum) or ``V`` (signed rank)."""

    statistic: float
    p_value: float
    exact: bool
    alternative: str
    n: tuple[int, ...]
    method: str


@dataclasses.dataclass(frozen=True)
class HodgesLehmannResult(Result):
    """Hodges–Lehmann shift (or pseudomedian) with the CI of ``wilcox.test(conf.int=TRUE)``.

    ``level`` is the achieved level where R adjusts it (too few observations).
    """

    estimate: float
    ci: tuple[float, float]
    level: float
    exact: bool
    n: tuple[int, ...]
    method: str


def _sample(name: str, values: Any, minimum: int = 1) -> NDArray[np.float64]:
    arr = as_float_array(name, values)
    if arr.size < minimum:
        raise ValueError(f"{name}: needs at least {minimum} observation(s), got {arr.size}")
    return arr


def _p_normal(z: float, alternative: str) -> float:
    if alternative == "less":
        return float(special.ndtr(z))
    if alternative == "greater":
        return float(special.ndtr(-z))
    return float(2.0 * min(special.ndtr(z), special.ndtr(-z)))


def t_test(
    x: ArrayLike,
    y: ArrayLike | None = None,
    *,
    paired: bool = False,
    equal_var: bool = False,
    mu: float = 0.0,
    alternative: str = "two-sided",
    level: float = 0.95,
) -> TTestResult:
    r"""One-sample, paired, Welch (default) or Student two-sample t test.

    Welch: ``t = (mean_x - mean_y - mu) / sqrt(s_x^2/n_x + s_y^2/n_y)`` with Satterthwaite
    ``df = (v_x + v_y)^2 / (v_x^2/(n_x-1) + v_y^2/(n_y-1))``, ``v = s^2/n``; Student pools the
    variances with ``df = n_x + n_y - 2``.

    Notes
    -----
    R equivalent: ``t.test(x, y, paired =, var.equal = equal_var, mu =, alternative =,
    conf.level = level)``. Constant data (zero standard error) raise ``ValueError`` as R errors.

    References
    ----------
    Student (1908). Biometrika 6:1–25. Welch BL (1947). Biometrika 34:28–35.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    level = check_level(level)
    xs = _sample("x", x)
    if y is not None:
        ys = _sample("y", y)
        if paired:
            if ys.size != xs.size:
                raise ValueError(f"y: length {ys.size} differs from x's length {xs.size} (paired)")
            xs = xs - ys
            y = None
    if y is None:
        if xs.size < 2:
            raise ValueError("x: needs at least 2 observations")
        n: tuple[int, ...] = (int(xs.size),)
        est = float(np.mean(xs))
        se = float(np.std(xs, ddof=1) / math.sqrt(xs.size))
        df = float(xs.size - 1)
        method = "paired t test" if paired else "one-sample t test"
    else:
        if (xs.size < 2 and ys.size < 2) or (not equal_var and (xs.size < 2 or ys.size < 2)):
            raise ValueError("x, y: each sample needs at least 2 observations")
        n = (int(xs.size), int(ys.size))
        est = float(np.mean(xs) - np.mean(ys))
        vx = float(np.var(xs, ddof=1)) if xs.size > 1 else 0.0
        vy = float(np.var(ys, ddof=1)) if ys.size > 1 else 0.0
        nx, ny = xs.size, ys.size
        if equal_var:
            df = float(nx + ny - 2)
            v = ((nx - 1) * vx + (ny - 1) * vy) / df
            se = math.sqrt(v * (1 / nx + 1 / ny))
            method = "two-sample t test (equal variances)"
        else:
            sx, sy = vx / nx, vy / ny
            if sx + sy == 0:
                raise ValueError("x: data are essentially constant; the t statistic is undefined")
            se = math.sqrt(sx + sy)
            df = (sx + sy) ** 2 / (sx**2 / (nx - 1) + sy**2 / (ny - 1))
            method = "Welch two-sample t test"
    if se < 10 * EPS * max(abs(est), 1.0):
        raise ValueError("x: data are essentially constant; the t statistic is undefined")
    tstat = (est - mu) / se
    if alternative == "less":
        p = float(sps.t.cdf(tstat, df))
        ci = (-math.inf, tstat + float(sps.t.ppf(level, df)))
    elif alternative == "greater":
        p = float(sps.t.sf(tstat, df))
        ci = (tstat - float(sps.t.ppf(level, df)), math.inf)
    else:
        p = float(2 * sps.t.sf(abs(tstat), df))
        q = float(sps.t.ppf(1 - (1 - level) / 2, df))
        ci = (tstat - q, tstat + q)
    ci = (mu + ci[0] * se, mu + ci[1] * se)
    return TTestResult(
        statistic=tstat, df=df, p_value=p, estimate=est, se=se, ci=ci,
        alternative=alternative, level=level, n=n, method=method,
    )  # fmt: skip


# --- exact null distributions (R's cwilcox / csignrank counts) ---------------------------


@lru_cache(maxsize=64)
def _wilcox_counts(m: int, n: int) -> NDArray[np.float64]:
    """Number of ways the Mann–Whitney U equals k, k = 0..mn (Gaussian binomial coefficient)."""
    poly = [1]
    for i in range(1, m + 1):
        # multiply by (1 - q^(n+i)) / (1 - q^i), exactly in integers
        prod = poly + [0] * (n + i)
        for k in range(len(poly)):
            prod[k + n + i] -= poly[k]
        out = prod[:]
        for k in range(i, len(out)):
            out[k] += out[k - i]
        poly = out[: len(out) - i]
    return np.array([float(v) for v in poly])


@lru_cache(maxsize=64)
def _signrank_counts(n: int) -> NDArray[np.float64]:
    """Number of ways the signed-rank statistic equals k, k = 0..n(n+1)/2."""
    poly = [1]
    for i in range(1, n + 1):
        new = poly + [0] * i
        for k in range(len(poly)):
            new[k + i] += poly[k]
        poly = new
    return np.array([float(v) for v in poly])


def _pdist(counts: NDArray[np.float64], q: float, upper: bool) -> float:
    """P(S <= q) or P(S > q) for a discrete count distribution on 0..len-1 (R's p* functions)."""
    total = float(np.sum(counts))
    k = math.floor(q + 1e-7)
    if upper:
        return float(np.sum(counts[max(k + 1, 0) :]) / total) if k < counts.size - 1 else 0.0
    if k < 0:
        return 0.0
    return float(np.sum(counts[: k + 1]) / total) if k < counts.size - 1 else 1.0


def _qdist(counts: NDArray[np.float64], x: float) -> int:
    """R's qwilcox/qsignrank search (with its 10 * DBL_EPSILON fuzz)."""
    c = float(np.sum(counts))
    p = 0.0
    q = 0
    top = counts.size - 1
    if x <= 0.5:
        x = x - 10 * EPS
        while True:
            p += counts[q] / c
            if p >= x:
                return q
            q += 1
    x = 1 - x + 10 * EPS
    while True:
        p += counts[q] / c
        if p > x:
            return top - q
        q += 1


def _correction(z: float, alternative: str, correct: bool) -> float:
    if not correct:
        return 0.0
    if alternative == "two-sided":
        return float(np.sign(z)) * 0.5
    return 0.5 if alternative == "greater" else -0.5


def _ties_term(ranks: NDArray[np.float64]) -> float:
    _, counts = np.unique(ranks, return_counts=True)
    return float(np.sum(counts.astype(np.float64) ** 3 - counts))


def _exact_p(counts: NDArray[np.float64], stat: float, centre: float, alternative: str) -> float:
    if alternative == "two-sided":
        if stat > centre:
            p = _pdist(counts, stat - 1, upper=True)
        else:
            p = _pdist(counts, stat, upper=False)
        return min(2 * p, 1.0)
    if alternative == "greater":
        return _pdist(counts, stat - 1, upper=True)
    return _pdist(counts, stat, upper=False)


def wilcoxon_rank_sum(
    x: ArrayLike,
    y: ArrayLike,
    *,
    mu: float = 0.0,
    alternative: str = "two-sided",
    correct: bool = True,
    exact: bool | None = None,
) -> RankTestResult:
    r"""Wilcoxon rank-sum (Mann–Whitney) test, as R's ``wilcox.test(x, y)``.

    ``W = sum_{i in x} rank_i - n_x (n_x + 1) / 2`` over the pooled ranks of ``x - mu`` and
    ``y``. Exact p-value (distribution of W) when both samples have < 50 observations and there
    are no ties (or ``exact=True`` and no ties); otherwise the normal approximation
    ``z = (W - n_x n_y / 2 - c) / sigma`` with the tie-corrected ``sigma^2 = n_x n_y / 12 ((N +
    1) - sum(t^3 - t) / (N (N - 1)))`` and continuity correction ``c`` (±0.5) when ``correct``.

    Notes
    -----
    R equivalent: ``wilcox.test(x, y, mu =, alternative =, correct =, exact =)``. With ties R
    warns that it cannot compute an exact p-value and uses the normal approximation; so does
    this function, silently (``exact`` in the result tells which was used).

    References
    ----------
    Wilcoxon F (1945). Biometrics Bulletin 1:80–83. Mann HB, Whitney DR (1947). Ann Math Stat
    18:50–60. Hollander M, Wolfe DA (1999). Nonparametric Statistical Methods, 2nd ed.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    xs, ys = _sample("x", x), _sample("y", y)
    r = sps.rankdata(np.concatenate((xs - mu, ys)))
    nx, ny = float(xs.size), float(ys.size)
    stat = float(np.sum(r[: xs.size]) - nx * (nx + 1) / 2)
    use_exact = (nx < 50 and ny < 50) if exact is None else bool(exact)
    ties = np.unique(r).size != r.size
    if use_exact and not ties:
        p = _exact_p(_wilcox_counts(xs.size, ys.size), stat, nx * ny / 2, alternative)
        method = "Wilcoxon rank-sum exact test"
        is_exact = True
    else:
        z = stat - nx * ny / 2
        sigma = math.sqrt(
            (nx * ny / 12) * ((nx + ny + 1) - _ties_term(r) / ((nx + ny) * (nx + ny - 1)))
        )
        if sigma == 0:
            raise ValueError("x, y: all observations are tied; the test is undefined")
        z = (z - _correction(z, alternative, correct)) / sigma
        p = _p_normal(z, alternative)
        method = "Wilcoxon rank-sum test (normal approximation" + (
            ", continuity correction)" if correct else ")"
        )
        is_exact = False
    return RankTestResult(
        statistic=stat, p_value=p, exact=is_exact, alternative=alternative,
        n=(xs.size, ys.size), method=method,
    )  # fmt: skip


def _signed_sample(x: Any, y: Any, mu: float) -> tuple[NDArray[np.float64], bool]:
    xs = _sample("x", x)
    if y is not None:
        ys = _sample("y", y)
        if ys.size != xs.size:
            raise ValueError(f"y: length {ys.size} differs from x's length {xs.size} (paired)")
        xs = xs - ys
    d = xs - mu
    zeroes = bool(np.any(d == 0))
    return d[d != 0], zeroes


def wilcoxon_signed_rank(
    x: ArrayLike,
    y: ArrayLike | None = None,
    *,
    mu: float = 0.0,
    alternative: str = "two-sided",
    correct: bool = True,
    exact: bool | None = None,
) -> RankTestResult:
    r"""Wilcoxon signed-rank test of ``x - mu`` (or of the paired differences ``x - y - mu``).

    Zero differences are dropped; ``V = sum_{d_i > 0} rank(|d_i|)``. Exact p-value when
    ``n < 50`` with no ties and no zeros, else the normal approximation with ``sigma^2 = n(n+1)
    (2n+1)/24 - sum(t^3 - t)/48`` and continuity correction.

    Notes
    -----
    R equivalent: ``wilcox.test(x, y, paired = TRUE, mu =, ...)`` or ``wilcox.test(x, mu =)``.

    References
    ----------
    Wilcoxon F (1945). Biometrics Bulletin 1:80–83.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    d, zeroes = _signed_sample(x, y, mu)
    n = float(d.size)
    if d.size == 0:
        raise ValueError("x: all differences are zero; the test is undefined")
    r = sps.rankdata(np.abs(d))
    stat = float(np.sum(r[d > 0]))
    use_exact = (n < 50) if exact is None else bool(exact)
    ties = np.unique(r).size != r.size
    if use_exact and not ties and not zeroes:
        p = _exact_p(_signrank_counts(d.size), stat, n * (n + 1) / 4, alternative)
        method = "Wilcoxon signed-rank exact test"
        is_exact = True
    else:
        z = stat - n * (n + 1) / 4
        sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - _ties_term(r) / 48)
        z = (z - _correction(z, alternative, correct)) / sigma
        p = _p_normal(z, alternative)
        method = "Wilcoxon signed-rank test (normal approximation" + (
            ", continuity correction)" if correct else ")"
        )
        is_exact = False
    return RankTestResult(
        statistic=stat, p_value=p, exact=is_exact, alternative=alternative,
        n=(d.size,), method=method,
    )  # fmt: skip


def _root_ci(
    w: Callable[[float, bool], float],
    lo: float,
    hi: float,
    alpha: float,
    correct: bool,
) -> tuple[float, float]:
    """Two-sided asymptotic CI: roots of ``W(d) = z`` on [lo, hi] (R's ``root``)."""
    w_lo, w_hi = w(lo, correct), w(hi, correct)

    def root(zq: float) -> float:
        f_lower = w_lo - zq
        if f_lower <= 0:
            return lo
        f_upper = w_hi - zq
        if f_upper >= 0:
            return hi
        return uniroot(
            lambda d: w(d, correct) - zq, lo, hi, tol=_TOL_ROOT, f_lower=f_lower, f_upper=f_upper
        )

    zq = float(special.ndtri(1 - alpha / 2))
    return root(zq), root(-zq)


def hodges_lehmann(
    x: ArrayLike,
    y: ArrayLike | None = None,
    *,
    paired: bool = False,
    level: float = 0.95,
    correct: bool = True,
    exact: bool | None = None,
) -> HodgesLehmannResult:
    r"""Hodges–Lehmann estimate with the CI of ``wilcox.test(conf.int = TRUE)`` (two-sided).

    Two samples: the median of all differences ``x_i - y_j``; one sample (or paired
    differences): the median of the Walsh averages ``(d_i + d_j)/2, i <= j`` (pseudomedian).
    Exact case (as the corresponding test): the CI is the order statistics of those differences
    at the exact quantiles of W (or V). Otherwise (ties, large samples) the estimate and limits
    are R's roots of the normal-approximation statistic in the shift, found with R's
    ``uniroot`` at ``tol = 1e-4`` (the estimate without continuity correction).

    Notes
    -----
    R equivalent: ``wilcox.test(x, y, conf.int = TRUE, conf.level = level)$estimate`` and
    ``$conf.int`` (``paired = TRUE`` or ``y = NULL`` for the one-sample version).

    References
    ----------
    Hodges JL, Lehmann EL (1963). Ann Math Stat 34:598–611. Bauer DF (1972). JASA
    67:687–690.
    """
    level = check_level(level)
    alpha = 1 - level
    if y is not None and not paired:
        xs, ys = _sample("x", x), _sample("y", y)
        nx, ny = xs.size, ys.size
        pooled = np.concatenate((xs, ys))
        ties = np.unique(pooled).size != pooled.size
        use_exact = (nx < 50 and ny < 50) if exact is None else bool(exact)
        if use_exact and not ties:
            diffs = np.sort(np.subtract.outer(xs, ys).ravel())
            counts = _wilcox_counts(nx, ny)
            qu = _qdist(counts, alpha / 2) or 1
            ql = nx * ny - qu
            achieved = 2 * _pdist(counts, qu - 1, upper=False)
            if achieved - alpha > alpha / 2:
                level = 1 - achieved
            return HodgesLehmannResult(
                estimate=float(np.median(diffs)), ci=(float(diffs[qu - 1]), float(diffs[ql])),
                level=level, exact=True, n=(nx, ny), method="Hodges-Lehmann shift (exact CI)",
            )  # fmt: skip
        fnx, fny = float(nx), float(ny)

        def w2(d: float, corr: bool) -> float:
            dr = sps.rankdata(np.concatenate((xs - d, ys)))
            dz = float(np.sum(dr[:nx]) - fnx * (fnx + 1) / 2 - fnx * fny / 2)
            sigma = math.sqrt(
                (fnx * fny / 12)
                * ((fnx + fny + 1) - _ties_term(dr) / ((fnx + fny) * (fnx + fny - 1)))
            )
            if sigma == 0:
                raise ValueError("x, y: cannot compute the CI; all values are tied")
            return (dz - _correction(dz, "two-sided", corr)) / sigma

        lo, hi = float(xs.min() - ys.max()), float(xs.max() - ys.min())
        ci = _root_ci(w2, lo, hi, alpha, correct)
        est = uniroot(lambda d: w2(d, False), lo, hi, tol=_TOL_ROOT)
        return HodgesLehmannResult(
            estimate=est, ci=ci, level=level, exact=False, n=(nx, ny),
            method="Hodges-Lehmann shift (asymptotic CI)",
        )  # fmt: skip
    d, zeroes = _signed_sample(x, y, 0.0)
    n = d.size
    if n == 0:
        raise ValueError("x: all values (differences) are zero")
    r = sps.rankdata(np.abs(d))
    ties = np.unique(r).size != r.size
    use_exact = (n < 50) if exact is None else bool(exact)
    if use_exact and not ties and not zeroes:
        walsh = np.add.outer(d, d)[np.triu_indices(n)]
        walsh = np.sort(walsh) / 2
        counts = _signrank_counts(n)
        qu = _qdist(counts, alpha / 2) or 1
        ql = n * (n + 1) // 2 - qu
        achieved = 2 * _pdist(counts, qu - 1, upper=False)
        if achieved - alpha > alpha / 2:
            level = 1 - float(f"{achieved:.2g}")
        return HodgesLehmannResult(
            estimate=float(np.median(walsh)), ci=(float(walsh[qu - 1]), float(walsh[ql])),
            level=level, exact=True, n=(n,), method="Hodges-Lehmann pseudomedian (exact CI)",
        )  # fmt: skip

    def w1(dd: float, corr: bool) -> float:
        xd = d - dd
        xd = xd[xd != 0]
        nxd = float(xd.size)
        dr = sps.rankdata(np.abs(xd))
        zd = float(np.sum(dr[xd > 0]) - nxd * (nxd + 1) / 4)
        sigma = math.sqrt(nxd * (nxd + 1) * (2 * nxd + 1) / 24 - _ties_term(dr) / 48)
        if sigma == 0:
            raise ValueError("x: cannot compute the CI; all values are tied")
        return (zd - _correction(zd, "two-sided", corr)) / sigma

    lo, hi = float(d.min()), float(d.max())
    w_lo, w_hi = w1(lo, correct), w1(hi, correct)
    a = alpha
    while w_lo - float(special.ndtri(1 - a / 2)) < 0 or w_hi - float(special.ndtri(a / 2)) > 0:
        a *= 2
    if a >= 1 or 1 - level < a * 0.75:
        level = 1 - min(1.0, a)
    ci = _root_ci(w1, lo, hi, a, correct) if a < 1 else (float(np.median(d)),) * 2
    est = uniroot(lambda dd: w1(dd, False), lo, hi, tol=_TOL_ROOT)
    return HodgesLehmannResult(
        estimate=est, ci=(ci[0], ci[1]), level=level, exact=False, n=(n,),
        method="Hodges-Lehmann pseudomedian (asymptotic CI)",
    )  # fmt: skip
