"""Tests for 2x2 (and r x c) tables: Fisher's exact test, Barnard's and Boschloo's exact tests,
Pearson's chi-square and the Mantel–Haenszel test for stratified tables.

Tables are ``[[a, b], [c, d]]``: rows are the two arms, columns (event, no event).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy import stats as sps

from celltrial.stats._checks import check_choice, check_counts, check_level, check_table_2x2
from celltrial.stats._result import Result
from celltrial.stats._zeroin import EPS, uniroot

ALTERNATIVES = ("two-sided", "less", "greater")
_REL_ERR = 1.0 + 1e-7


@dataclasses.dataclass(frozen=True)
class FisherResult(Result):
    """Fisher's exact test with the conditional MLE of the odds ratio and its exact CI.

    ``mid_p`` is the mid-p value for the same alternative (tables as likely as the observed
    one count half).
    """

    p_value: float
    mid_p: float
    estimate: float
    ci: tuple[float, float]
    alternative: str
    level: float
    n: int
    method: str = "Fisher's exact test"


@dataclasses.dataclass(frozen=True)
class TableTestResult(Result):
    """A test on a contingency table: statistic, p-value (and df for chi-square tests)."""

    statistic: float
    df: int | None
    p_value: float
    n: int
    method: str
    nuisance: float | None = None


@dataclasses.dataclass(frozen=True)
class MantelHaenszelResult(Result):
    """Mantel–Haenszel chi-square test and common odds ratio with its (RGB) CI."""

    statistic: float
    df: int
    p_value: float
    estimate: float
    ci: tuple[float, float]
    se: float
    level: float
    n: int
    method: str


class _NonCentralHypergeometric:
    """R's ``dnhyper``/``mnhyper``/``pnhyper`` of ``fisher.test`` for a 2x2 table."""

    def __init__(self, table: NDArray[np.float64]) -> None:
        self.m = int(table[:, 0].sum())
        self.n = int(table[:, 1].sum())
        self.k = int(table[0, :].sum())
        self.x = int(table[0, 0])
        self.lo = max(0, self.k - self.n)
        self.hi = min(self.k, self.m)
        self.support = np.arange(self.lo, self.hi + 1, dtype=np.float64)
        if self.lo == self.hi:  # one table has these margins (e.g. all zero): probability 1
            self.logdc = np.zeros(1)
        else:
            self.logdc = sps.hypergeom.logpmf(self.support, self.m + self.n, self.m, self.k)

    def d(self, ncp: float) -> NDArray[np.float64]:
        with np.errstate(divide="ignore"):
            dd = self.logdc + math.log(ncp) * self.support if ncp != 1 else self.logdc.copy()
        dd = np.exp(dd - dd.max())
        out: NDArray[np.float64] = dd / dd.sum()
        return out

    def mean(self, ncp: float) -> float:
        if ncp == 0:
            return float(self.lo)
        if ncp == math.inf:
            return float(self.hi)
        return float(np.sum(self.support * self.d(ncp)))

    def p(self, q: float, ncp: float, upper: bool = False) -> float:
        total = self.m + self.n
        if self.lo == self.hi:
            return 1.0
        if ncp == 1:
            if upper:
                return float(sps.hypergeom.sf(self.x - 1, total, self.m, self.k))
            return float(sps.hypergeom.cdf(self.x, total, self.m, self.k))
        if ncp == 0:
            return float(q <= self.lo) if upper else float(q >= self.lo)
        if ncp == math.inf:
            return float(q <= self.hi) if upper else float(q >= self.hi)
        d = self.d(ncp)
        return float(np.sum(d[self.support >= q] if upper else d[self.support <= q]))

    def mle(self) -> float:
        x = self.x
        if x == self.lo:
            return 0.0
        if x == self.hi:
            return math.inf
        mu = self.mean(1.0)
        if mu > x:
            return uniroot(lambda t: self.mean(t) - x, 0.0, 1.0)
        if mu < x:
            return 1.0 / uniroot(lambda t: self.mean(1.0 / t) - x, EPS, 1.0)
        return 1.0

    def upper_limit(self, alpha: float) -> float:
        x = self.x
        if x == self.hi:
            return math.inf
        p = self.p(x, 1.0)
        if p < alpha:
            return uniroot(lambda t: self.p(x, t) - alpha, 0.0, 1.0)
        if p > alpha:
            return 1.0 / uniroot(lambda t: self.p(x, 1.0 / t) - alpha, EPS, 1.0)
        return 1.0

    def lower_limit(self, alpha: float) -> float:
        x = self.x
        if x == self.lo:
            return 0.0
        p = self.p(x, 1.0, upper=True)
        if p > alpha:
            return uniroot(lambda t: self.p(x, t, upper=True) - alpha, 0.0, 1.0)
        if p < alpha:
            return 1.0 / uniroot(lambda t: self.p(x, 1.0 / t, upper=True) - alpha, EPS, 1.0)
        return 1.0


def fisher_exact(
    table: ArrayLike, *, alternative: str = "two-sided", level: float = 0.95
) -> FisherResult:
    r"""Fisher's exact test for a 2x2 table, as R's ``fisher.test``.

    Conditional on the margins, ``a`` is hypergeometric. The two-sided p-value sums the
    probabilities of all tables no more likely than the observed one, with R's relative
    tolerance: ``p = sum_{d_i <= d_obs (1 + 1e-7)} d_i``. The odds-ratio estimate is the
    conditional maximum-likelihood estimate (the root of ``E_psi[a] = a_obs``) and the CI the
    exact (Cornfield) limits, both found by R's ``uniroot`` with its default tolerance.

    ``mid_p`` (not in R's ``fisher.test``): two-sided ``sum_{d_i < d_obs} d_i + d_obs / 2``
    (ties within R's tolerance count half); one-sided ``P(X < x) + P(X = x)/2`` (less) or
    ``P(X > x) + P(X = x)/2`` (greater).

    Notes
    -----
    R equivalent: ``fisher.test(matrix(c(a, c, b, d), 2), alternative=, conf.level=)``. With a
    zero cell the estimate is 0 or ``inf`` and the CI is one-sided, as in R.

    References
    ----------
    Fisher RA (1935). JRSS 98:39–82. Cornfield J (1956). Proc 3rd Berkeley Symp 4:135–148.
    Lancaster HO (1961). JASA 56:223–234 (mid-p).
    """
    tab = check_table_2x2("table", table)
    check_choice("alternative", alternative, ALTERNATIVES)
    level = check_level(level)
    nh = _NonCentralHypergeometric(tab)
    x = nh.x
    d = nh.d(1.0)
    dx = d[x - nh.lo]
    if alternative == "less":
        p = nh.p(x, 1.0)
        mid = float(np.sum(d[nh.support < x]) + 0.5 * dx)
    elif alternative == "greater":
        p = nh.p(x, 1.0, upper=True)
        mid = float(np.sum(d[nh.support > x]) + 0.5 * dx)
    else:
        p = float(np.sum(d[d <= dx * _REL_ERR]))
        tie = (d >= dx / _REL_ERR) & (d <= dx * _REL_ERR)
        mid = min(1.0, float(np.sum(d[d < dx / _REL_ERR]) + 0.5 * np.sum(d[tie])))
    if alternative == "less":
        ci = (0.0, nh.upper_limit(1.0 - level))
    elif alternative == "greater":
        ci = (nh.lower_limit(1.0 - level), math.inf)
    else:
        alpha = (1.0 - level) / 2.0
        ci = (nh.lower_limit(alpha), nh.upper_limit(alpha))
    return FisherResult(
        p_value=min(1.0, p),
        mid_p=mid,
        estimate=nh.mle(),
        ci=ci,
        alternative=alternative,
        level=level,
        n=int(tab.sum()),
    )


def chi_square(table: ArrayLike, *, correction: bool = True) -> TableTestResult:
    r"""Pearson's chi-square test of independence, as R's ``chisq.test``.

    ``X^2 = sum (|O - E| - c)^2 / E`` with ``E`` the products of the margins over the total;
    for 2x2 tables with ``correction`` Yates's ``c = min(0.5, |O - E|)``, else ``c = 0``;
    ``df = (r - 1)(c - 1)``.

    Notes
    -----
    R equivalent: ``chisq.test(tab, correct = correction)`` (R warns when an expected count is
    below 5; this function does not). A table with an empty row or column gives NaN, as R.

    References
    ----------
    Pearson K (1900). Phil Mag 50:157–175. Yates F (1934). JRSS Suppl 1:217–235.
    """
    tab = np.asarray(table, dtype=np.float64)
    if tab.ndim != 2 or min(tab.shape) < 2:
        raise ValueError(
            f"table: must be a 2-d table with at least 2 rows and 2 columns, got shape {tab.shape}"
        )
    check_counts("table", tab)
    total = tab.sum()
    if total == 0:
        raise ValueError("table: all counts are zero")
    expected = np.outer(tab.sum(axis=1), tab.sum(axis=0)) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        if correction and tab.shape == (2, 2):
            yates = np.minimum(0.5, np.abs(tab - expected))
            stat = float(np.sum((np.abs(tab - expected) - yates) ** 2 / expected))
            method = "Pearson's chi-square test with Yates' continuity correction"
        else:
            stat = float(np.sum((tab - expected) ** 2 / expected))
            method = "Pearson's chi-square test"
    df = (tab.shape[0] - 1) * (tab.shape[1] - 1)
    p = float(sps.chi2.sf(stat, df)) if math.isfinite(stat) else math.nan
    return TableTestResult(statistic=stat, df=df, p_value=p, n=int(total), method=method)


def _wald_exact(x1: int, x2: int, n1: int, n2: int, pooled: bool) -> tuple[int, int, int]:
    """Barnard's Wald statistic of table ``(x1, x2)`` as ``(sign, num, den)``, ``T^2 = num /
    den`` in Python integers (``d = x1 n2 - x2 n1``; pooled ``T^2 = d^2 N / (n1 n2 s (N -
    s))``, ``s = x1 + x2``; unpooled ``T^2 = d^2 n1 n2 / (x1 (n1 - x1) n2^3 + x2 (n2 - x2)
    n1^3)``); ``den = 0`` with ``d != 0`` is an infinite statistic, ``d = 0`` gives 0."""
    d = x1 * n2 - x2 * n1
    if d == 0:
        return 0, 0, 1
    if pooled:
        s_, big_n = x1 + x2, n1 + n2
        return (1 if d > 0 else -1), d * d * big_n, n1 * n2 * s_ * (big_n - s_)
    den = x1 * (n1 - x1) * n2**3 + x2 * (n2 - x2) * n1**3
    return (1 if d > 0 else -1), d * d * n1 * n2, den


def _cmp_exact(u: tuple[int, int, int], v: tuple[int, int, int]) -> int:
    """Sign of ``T_u - T_v`` for statistics given as ``(sign, num, den)``."""
    su, nu, du = u
    sv, nv, dv = v
    if su != sv:
        return 1 if su > sv else -1
    if su == 0:
        return 0
    if du == 0 or dv == 0:
        mag = (du == 0) - (dv == 0)
    else:
        lhs, rhs = nu * dv, nv * du
        mag = (lhs > rhs) - (lhs < rhs)
    return mag * su


def _wald_selection(
    n1: int, n2: int, a: int, c: int, pooled: bool, alternative: str
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_], float]:
    """The tables at least as extreme as the observed ``(a, c)``, and ``T_obs``.

    The Wald statistics are compared in floating point, except those within 1e-9 (relative) of
    the observed one, which are compared exactly in integer arithmetic (:func:`_wald_exact`):
    a table whose statistic equals the observed one is always counted.
    """
    x1 = np.repeat(np.arange(n1 + 1, dtype=np.int64), n2 + 1)
    x2 = np.tile(np.arange(n2 + 1, dtype=np.int64), n1 + 1)
    p1, p2 = x1 / n1, x2 / n2
    if pooled:
        p = (x1 + x2) / (n1 + n2)
        var = p * (1 - p) * (1 / n1 + 1 / n2)
    else:
        var = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (p1 - p2) / np.sqrt(var)
    t[x1 * n2 == x2 * n1] = 0.0
    i_obs = a * (n2 + 1) + c
    t_obs = float(t[i_obs])
    if alternative == "two-sided":
        u, u_obs = np.abs(t), abs(t_obs)
    elif alternative == "less":
        u, u_obs = -t, -t_obs
    else:
        u, u_obs = t, t_obs
    sel = u >= u_obs
    with np.errstate(invalid="ignore"):
        near = np.abs(u - u_obs) <= 1e-9 * np.maximum(np.abs(u_obs), 1e-300)
    near |= np.isinf(u) & (u == u_obs)
    if np.any(near):
        obs = _wald_exact(a, c, n1, n2, pooled)
        for i in np.flatnonzero(near):
            k = _wald_exact(int(x1[i]), int(x2[i]), n1, n2, pooled)
            if alternative == "two-sided":
                cmp = _cmp_exact((abs(k[0]), k[1], k[2]), (abs(obs[0]), obs[1], obs[2]))
            elif alternative == "less":
                cmp = _cmp_exact(obs, k)
            else:
                cmp = _cmp_exact(k, obs)
            sel[i] = cmp >= 0
    return x1, x2, sel, t_obs


def _max_nuisance(coef: NDArray[np.float64], n_total: int) -> tuple[float, float]:
    """``max_pi sum_s c_s pi^s (1 - pi)^(N - s)`` over ``pi`` in [0, 1] (log ``c_s``).

    A grid of 1,001 points, then Brent's method (``scipy.optimize.minimize_scalar``, bounded,
    xatol 1e-12) between the neighbours of each of the best three grid points; returns (p,
    pi).
    """
    from scipy import optimize

    s_ = np.arange(n_total + 1, dtype=np.float64)
    finite = np.isfinite(coef)
    if not np.any(finite):
        return 0.0, 0.5
    cs, ss = coef[finite], s_[finite]

    def logp(pi: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = cs + special.xlogy(ss, pi) + special.xlog1py(n_total - ss, -pi)
        return float(special.logsumexp(terms))

    grid = np.linspace(0.0, 1.0, 1001)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (
            cs[None, :]
            + special.xlogy(ss[None, :], grid[:, None])
            + special.xlog1py((n_total - ss)[None, :], -grid[:, None])
        )
    vals = special.logsumexp(terms, axis=1)
    best_lp, best_pi = float(np.max(vals)), float(grid[int(np.argmax(vals))])
    for i in np.argsort(vals)[::-1][:3]:
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        res = optimize.minimize_scalar(
            lambda t: -logp(t), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
        )
        if -res.fun > best_lp:
            best_lp, best_pi = float(-res.fun), float(res.x)
    return min(1.0, math.exp(best_lp)), best_pi


def barnard_exact(
    table: ArrayLike, *, alternative: str = "two-sided", pooled: bool = True
) -> TableTestResult:
    r"""Barnard's unconditional exact test for a 2x2 table (Wald statistic, nuisance maximised).

    The rows are the arms: ``x1`` events of ``n1``, ``x2`` of ``n2``. For every table with
    these row totals the Wald statistic ``T = (p1 - p2) / sqrt(V)`` (pooled ``V = p (1 - p)
    (1/n1 + 1/n2)``, unpooled ``V = p1 (1 - p1)/n1 + p2 (1 - p2)/n2``; ``T = 0`` when ``p1 =
    p2``) is compared with the observed one exactly (in integer arithmetic where the two are
    within 1e-9), so tables whose statistic equals the observed one are always counted (floating point dropped some: ``[[7, 7], [12, 3]]`` gave 0.108943727
    instead of 0.108947017). The p-value is

    .. math:: p = \max_{0 \le \pi \le 1} \sum_{T \succeq T_{obs}}
        \binom{n_1}{x_1}\binom{n_2}{x_2} \pi^{x_1 + x_2} (1 - \pi)^{N - x_1 - x_2}

    (``|T| >= |T_obs|`` two-sided; ``T <= T_obs`` for ``"less"``, arm 1 with the lower event
    probability; ``T >= T_obs`` for ``"greater"``). ``statistic`` is ``T_obs`` and
    ``nuisance`` the maximising ``pi``, found on a 1,001-point grid refined by Brent's method
    around the best three.

    Notes
    -----
    R equivalent: ``Exact::exact.test(..., method = "z-pooled" / "z-unpooled", model =
    "Binomial", to.plot = FALSE)`` (``Exact`` is not in Debian; the values in the tests are
    an independent evaluation of the sum above in rational arithmetic, and scipy's
    ``barnard_exact`` where it has no tie).

    References
    ----------
    Barnard GA (1945). Nature 156:177. Mehta CR, Senchaudhuri P (2003). Cytel technical note.
    Suissa S, Shuster JJ (1985). JRSS A 148:317–327.
    """
    tab = check_table_2x2("table", table)
    check_choice("alternative", alternative, ALTERNATIVES)
    if np.any(tab.sum(axis=1) == 0):
        raise ValueError("table: each row (arm) must have at least one observation")
    a, b, c, d = (int(v) for v in tab.ravel())
    n1, n2 = a + b, c + d
    x1, x2, sel, t_obs = _wald_selection(n1, n2, a, c, pooled, alternative)
    logc = special.gammaln(n1 + 1) - special.gammaln(x1 + 1) - special.gammaln(n1 - x1 + 1)
    logc += special.gammaln(n2 + 1) - special.gammaln(x2 + 1) - special.gammaln(n2 - x2 + 1)
    big_n = n1 + n2
    coef = np.full(big_n + 1, -np.inf)
    ssum = (x1 + x2)[sel]
    if ssum.size:
        order = np.argsort(ssum, kind="stable")
        ss, lc = ssum[order], logc[sel][order]
        starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
        mx = np.maximum.reduceat(lc, starts)
        tot = np.add.reduceat(np.exp(lc - np.repeat(mx, np.diff(np.r_[starts, ss.size]))), starts)
        coef[ss[starts]] = mx + np.log(tot)
    p, pi = _max_nuisance(coef, big_n)
    return TableTestResult(
        statistic=t_obs,
        df=None,
        p_value=p,
        n=int(tab.sum()),
        method="Barnard's exact test" + (" (pooled)" if pooled else " (unpooled)"),
        nuisance=pi,
    )


def boschloo_exact(table: ArrayLike, *, alternative: str = "two-sided") -> TableTestResult:
    """Boschloo's exact test for a 2x2 table (Fisher's p-value as statistic, nuisance maximised).

    Delegates to :func:`scipy.stats.boschloo_exact`; ``statistic`` is Fisher's p-value.

    References
    ----------
    Boschloo RD (1970). Statistica Neerlandica 24:1–35.
    """
    tab = check_table_2x2("table", table)
    check_choice("alternative", alternative, ALTERNATIVES)
    if np.any(tab.sum(axis=1) == 0):
        raise ValueError("table: each row (arm) must have at least one observation")
    res = sps.boschloo_exact(tab.T.astype(np.int64), alternative=alternative)
    return TableTestResult(
        statistic=float(res.statistic),
        df=None,
        p_value=float(res.pvalue),
        n=int(tab.sum()),
        method="Boschloo's exact test",
    )


def mantel_haenszel(
    tables: ArrayLike, *, correction: bool = True, level: float = 0.95
) -> MantelHaenszelResult:
    r"""Mantel–Haenszel test and common odds ratio over K stratified 2x2 tables.

    With ``n_k`` the stratum totals: ``Delta = sum_k (a_k - E a_k)``, ``X^2 = (|Delta| - c)^2 /
    sum_k Var a_k`` (``c = 0.5`` with ``correction`` when ``|Delta| >= 0.5``), ``OR_MH = sum
    a_k d_k / n_k / sum b_k c_k / n_k`` and the Robins–Breslow–Greenland variance of
    ``log OR_MH``.

    Parameters
    ----------
    tables
        Array of shape (K, 2, 2): one ``[[a, b], [c, d]]`` table per stratum.

    Notes
    -----
    R equivalent: ``mantelhaen.test(array(..., dim = c(2, 2, K)), correct = correction)`` (R's
    array is indexed ``[row, column, stratum]``).

    References
    ----------
    Mantel N, Haenszel W (1959). JNCI 22:719–748. Robins J, Breslow N, Greenland S (1986).
    Biometrics 42:311–323.
    """
    arr = np.asarray(tables, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (2, 2):
        raise ValueError(f"tables: must have shape (K, 2, 2), got {arr.shape}")
    check_counts("tables", arr)
    level = check_level(level)
    n = arr.sum(axis=(1, 2))
    if np.any(n < 2):
        raise ValueError("tables: each stratum needs at least 2 observations")
    a, b, c, d = arr[:, 0, 0], arr[:, 0, 1], arr[:, 1, 0], arr[:, 1, 1]
    r1, r2, c1, c2 = a + b, c + d, a + c, b + d
    delta = float(np.sum(a - r1 * c1 / n))
    yates = 0.5 if correction and abs(delta) >= 0.5 else 0.0
    var = float(np.sum(r1 * r2 * c1 * c2 / (n**2 * (n - 1))))
    stat = (abs(delta) - yates) ** 2 / var
    s_diag = float(np.sum(a * d / n))
    s_offd = float(np.sum(b * c / n))
    with np.errstate(divide="ignore", invalid="ignore"):
        est = s_diag / s_offd
        sd = math.sqrt(
            float(np.sum((a + d) * a * d / n**2)) / (2 * s_diag**2)
            + float(np.sum(((a + d) * b * c + (b + c) * a * d) / n**2)) / (2 * s_diag * s_offd)
            + float(np.sum((b + c) * b * c / n**2)) / (2 * s_offd**2)
        )
    z = float(special.ndtri(1.0 - (1.0 - level) / 2.0))
    return MantelHaenszelResult(
        statistic=stat,
        df=1,
        p_value=float(sps.chi2.sf(stat, 1)),
        estimate=est,
        ci=(est * math.exp(-z * sd), est * math.exp(z * sd)),
        se=sd,
        level=level,
        n=int(arr.sum()),
        method="Mantel-Haenszel chi-square test "
        + ("with" if yates else "without")
        + " continuity correction",
    )
