"""The (weighted, stratified, k-sample) log-rank test, as R's ``survival::survdiff``."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from celltrial.stats._checks import as_event, as_labels, as_time, label_values, show
from celltrial.stats._result import Result
from celltrial.stats.kaplan_meier import _event_keys, _split_keys


@dataclasses.dataclass(frozen=True)
class LogrankResult(Result):
    """A k-sample log-rank test.

    ``observed`` and ``expected`` are the (weighted) event counts per group, summed over strata;
    ``variance`` is the k x k covariance of ``observed - expected``.
    """

    statistic: float
    df: int
    p_value: float
    groups: tuple[Any, ...]
    n: NDArray[np.int64]
    observed: NDArray[np.float64]
    expected: NDArray[np.float64]
    variance: NDArray[np.float64]
    rho: float
    gamma: float
    method: str


def _packed_keys(
    t: NDArray[np.float64], e: NDArray[np.bool_], g: NDArray[np.intp], k: int
) -> tuple[NDArray[np.uint64], int] | None:
    """Sort keys ``(rank of t) << (b + 1) | group << 1 | event``, sorted, or None.

    The bit pattern of a positive double, read as an unsigned integer, is monotone in its value;
    less the smallest pattern in the data it fits in fewer than 64 bits whenever the times span
    a moderate range of binades (e.g. 1e-7 to 1e7), which leaves ``b = bits(k - 1)`` bits for
    the group and one for the event. None when a time is 0 or the span is too wide (the
    caller then merges per-group sorts).
    """
    gbits = max(int(k - 1).bit_length(), 1)
    tmin = float(t.min())
    if t.size < 2 or not tmin > 0.0:
        return None
    lo = int(np.float64(tmin).view(np.uint64))
    if (int(np.float64(t.max()).view(np.uint64)) - lo) >> (63 - gbits) != 0:
        return None
    keys = np.subtract(t.view(np.uint64), np.uint64(lo))
    np.left_shift(keys, np.uint64(gbits), out=keys)  # (in place: one array in all)
    # (codes are 0 .. k - 1: their int64 bits read as uint64, no copy)
    np.bitwise_or(keys, g.view(np.uint64) if g.dtype == np.int64 else g.astype(np.uint64), out=keys)
    np.left_shift(keys, np.uint64(1), out=keys)
    np.bitwise_or(keys, e, out=keys)
    keys.sort()
    return keys, gbits


def _time_order_sums(cols: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each column's sum (``cols`` is times x groups), added in time order (a cumulative sum's
    last entry): the order of the former code, so the same numbers."""
    if cols.shape[0] == 0:
        return np.zeros(cols.shape[1])
    return np.array([np.cumsum(cols[:, j])[-1] for j in range(cols.shape[1])])


def _variance(cf: NDArray[np.float64], frac: NDArray[np.float64], diag: NDArray[np.float64]
              ) -> NDArray[np.float64]:  # fmt: skip
    """``diag(sum_t cf) - cf' frac`` from the (times x groups) arrays and the column sums of
    ``cf``: the same products and sums as the former code (whose arrays were transposed into
    this layout before the product)."""
    cfm = np.ascontiguousarray(cf)
    out: NDArray[np.float64] = np.diag(diag) - cfm.T @ np.ascontiguousarray(frac)
    return out


def _sizes(g: NDArray[np.intp], k: int) -> NDArray[np.intp]:
    """Observations per group (codes ``0 .. k - 1``); two groups by one count."""
    if k == 2:
        ones = np.count_nonzero(g)
        return np.array([g.size - ones, ones], dtype=np.intp)
    out: NDArray[np.intp] = np.bincount(g, minlength=k)
    return out


def _counts(mask: NDArray[np.bool_]) -> NDArray[np.integer[Any]]:
    """Cumulative count of ``mask`` (int32 when it fits: a vectorised scan, ~10x float64's)."""
    return np.cumsum(mask, dtype=np.int32 if mask.size < 2**31 else np.int64)


def _stratum_terms(
    t: NDArray[np.float64],
    e: NDArray[np.bool_],
    g: NDArray[np.intp],
    k: int,
    rho: float,
    gamma: float,
    sizes: NDArray[np.intp] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Observed, expected and variance contributions of one stratum (vectorised over times).

    Only value sorts and linear passes: per group, the numbers at risk and the deaths at the
    distinct event times of the stratum.
    """
    if sizes is None:
        sizes = _sizes(g, k)
    packed = _packed_keys(t, e, g, k)
    if packed is not None:
        # One value sort of (time, group, event) packed into one integer per observation.
        keys, gbits = packed
        mask = (2 << gbits) - 1
        if gbits < 8:  # (the low byte first: a cast that keeps it, then a 1-byte mask)
            tag: NDArray[np.integer[Any]] = keys.astype(np.uint8, casting="unsafe")
            tag &= np.uint8(mask)
        else:
            tag = (keys & np.uint64(mask)).astype(np.intp)
        np.right_shift(keys, np.uint64(gbits + 1), out=keys)
        new = keys[1:] != keys[:-1]
    else:
        # One value sort per group of (time, event) keys, then a stable merge of the k sorted
        # runs (timsort: linear for two runs) gives every observation's group in time order.
        all_keys = _event_keys(t, e)
        runs = [np.sort(all_keys[g == j]) for j in range(k)]
        keys = np.concatenate(runs)
        merge = np.argsort(keys, kind="stable")
        ts, ev_u = _split_keys(keys[merge])
        tag = np.repeat(np.arange(0, 2 * k, 2, dtype=np.intp), sizes)[merge] + ev_u.astype(np.intp)
        new = ts[1:] != ts[:-1]
    # tag = 2 group + event per observation in time order. The numbers at risk and deaths per
    # group are integer counts at the distinct times' boundaries (whatever the order of the
    # observations within a time); held exactly in float64.
    nobs = t.size
    is_event = (tag & 1).astype(bool)
    distinct = bool(new.all())
    if distinct:  # continuous times: one observation per time, the event times are the events
        at = np.flatnonzero(is_event)
        first = hit = at
        d_all = None
    else:
        first = np.flatnonzero(np.concatenate(([True], new)))
        d_all = np.add.reduceat(is_event, first, dtype=np.int64)
        hit = np.flatnonzero(d_all)  # distinct times with at least one event
        at = first[hit]
    m = at.size
    n = np.subtract(float(nobs), at)  # at risk (all groups); decreasing
    # (times x groups), the layout of the variance's matrix product
    n_risk = np.empty((m, k))
    deaths = np.empty((k, m))
    group = tag >> 1
    tag_at = np.take(tag, at)
    for j in range(k - 1):
        # at risk in group j: its size less those of the group before each event time's
        # first row (integer counts, exact)
        before = _counts(group == j)  # (up to and including the row)
        col = np.take(before, at)
        col -= tag_at >> 1 == j
        np.subtract(sizes[j], col, out=n_risk[:, j], casting="unsafe")
        if distinct:
            deaths[j] = tag_at == 2 * j + 1
        else:
            deaths[j] = np.add.reduceat(tag == 2 * j + 1, first, dtype=np.int64)[hit]
    # the last group by difference
    rest_n = n_risk[:, 0] if k == 2 else n_risk[:, : k - 1].sum(axis=1)
    rest_d = deaths[0] if k == 2 else deaths[: k - 1].sum(axis=0)
    np.subtract(n, rest_n, out=n_risk[:, k - 1])
    frac = np.divide(n_risk, n[:, None], out=n_risk)
    if distinct and rho == 0.0 and gamma == 0.0:
        # d = 1 at every event time: w d = 1 and w^2 d (n - d) / (n - 1) = 1 where n > 1 (only
        # the last time can have n = 1, and it contributes 0)
        np.subtract(1.0, rest_d, out=deaths[k - 1])
        expected = np.empty(k)
        diag = np.empty(k)
        last_zero = bool(m and n[-1] <= 1)
        for j in range(k):
            run = np.cumsum(frac[:, j])
            expected[j] = run[-1] if m else 0.0
            # (cf = frac with the last time's row zeroed: the same partial sums, + 0.0)
            diag[j] = (run[-2] if m > 1 else 0.0) if last_zero else expected[j]
        # (a copy even when no row is zeroed: numpy computes a' a with one buffer by syrk,
        # whose sums are not the general product's)
        cf = frac.copy()
        if last_zero:
            cf[-1] = 0.0
        return deaths.sum(axis=1), expected, _variance(cf, frac, diag)
    d = np.ones(m) if d_all is None else d_all[hit].astype(np.float64)
    np.subtract(d, rest_d, out=deaths[k - 1])
    nm1 = np.where(n > 1, n - 1, 1.0)
    if rho == 0.0 and gamma == 0.0:
        observed = deaths.sum(axis=1)  # integers: exact
        wd = d
        c = np.where(n > 1, d * (n - d) / nm1, 0.0)  # (w = 1)
    else:
        s_left = np.concatenate(([1.0], np.cumprod(1.0 - d / n)[:-1]))
        w = s_left**rho * (1.0 - s_left) ** gamma
        observed = _time_order_sums(np.ascontiguousarray((w * deaths).T))
        wd = w * d
        c = np.where(n > 1, w**2 * d * (n - d) / nm1, 0.0)
    expected = _time_order_sums(wd[:, None] * frac)
    cf = c[:, None] * frac
    return observed, expected, _variance(cf, frac, _time_order_sums(cf))


def logrank(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
) -> LogrankResult:
    r"""Log-rank test of equal survival in k groups, with Fleming–Harrington weights.

    At each distinct event time ``t`` (within stratum) with ``d`` events among ``n`` at risk,
    ``n_k`` of them in group k, and weight ``w(t) = S(t-)^rho (1 - S(t-))^gamma`` (S the pooled
    left-continuous Kaplan–Meier curve of the stratum):

    .. math::

        O_k = \sum_t w d_k, \quad E_k = \sum_t w d \frac{n_k}{n}, \quad
        V_{jk} = \sum_t w^2 \frac{d (n-d)}{n-1} \frac{n_j}{n}\Bigl(\delta_{jk} - \frac{n_k}{n}
        \Bigr),

    summed over strata; ``chi2 = (O-E)' V^{-1} (O-E)`` over groups with ``E > 0`` less the
    first, with ``df`` = (number of such groups) - 1.

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event).
    group
        Group labels (numbers or strings); at least two distinct values.
    strata
        Optional stratum labels: the test is computed within strata and the pieces summed.
    rho, gamma
        Fleming–Harrington G(rho, gamma) weights; ``rho = gamma = 0`` is the log-rank test,
        ``rho = 1, gamma = 0`` the Peto–Peto–Prentice variant of the Gehan–Wilcoxon test.

    Notes
    -----
    R equivalent: ``survdiff(Surv(time, event) ~ group + strata(strata), rho = rho)``
    (``observed``/``expected`` are R's ``obs``/``exp`` summed over strata). R has no ``gamma``;
    with ``gamma > 0`` the weights follow Fleming & Harrington (1991) and the reference values
    come from a direct R implementation of the formula above. All-censored data raise
    ``ValueError`` (there is nothing to test).

    References
    ----------
    Mantel N (1966). Cancer Chemother Rep 50:163–170. Harrington DP, Fleming TR (1982).
    Biometrika 69:553–566. Fleming TR, Harrington DP (1991). Counting Processes and Survival
    Analysis, Wiley.
    """
    t = as_time("time", time)
    nobs = t.size
    e = as_event("event", event, nobs)
    levels, g = as_labels("group", group, nobs)
    k = levels.size
    if k < 2:
        raise ValueError("group: must have at least 2 distinct values (only one group found)")
    if not np.any(e):
        raise ValueError("event: all observations are censored; there is nothing to test")
    for name, val in (("rho", rho), ("gamma", gamma)):
        if not (math.isfinite(float(val)) and float(val) >= 0):
            raise ValueError(f"{name}: must be a finite number >= 0, got {show(val)}")
    if strata is None:
        s_codes = np.zeros(nobs, dtype=np.intp)
        n_strata = 1
    else:
        s_levels, s_codes = as_labels("strata", strata, nobs)
        n_strata = s_levels.size
    observed = np.zeros(k)
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    sizes = _sizes(g, k)
    for s in range(n_strata):
        idx = s_codes == s if n_strata > 1 else slice(None)
        o, ex, v = _stratum_terms(t[idx], e[idx], g[idx], k, float(rho), float(gamma),
                                  sizes if n_strata == 1 else None)  # fmt: skip
        observed += o
        expected += ex
        variance += v
    keep = expected > 0
    df = int(np.sum(keep)) - 1
    if df < 1:
        stat = 0.0
    else:
        diff = (observed - expected)[keep][1:]
        vv = variance[np.ix_(keep, keep)][1:, 1:]
        try:
            stat = float(np.linalg.solve(vv, diff) @ diff)
        except np.linalg.LinAlgError:
            stat = float(np.linalg.pinv(vv) @ diff @ diff)
    p = float(sps.chi2.sf(stat, df)) if df >= 1 else 1.0
    if rho == 0 and gamma == 0:
        method = "log-rank test"
    else:
        method = f"Fleming-Harrington G(rho={float(rho):g}, gamma={float(gamma):g}) test"
    if n_strata > 1:
        method = "stratified " + method
    return LogrankResult(
        statistic=stat,
        df=df,
        p_value=p,
        groups=label_values(levels),
        n=sizes.astype(np.int64),
        observed=observed,
        expected=expected,
        variance=variance,
        rho=float(rho),
        gamma=float(gamma),
        method=method,
    )
