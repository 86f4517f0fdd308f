"""Two-sample tests of a continuous outcome on many trials at once (vectorized numpy).

Each row of ``values`` (shape ``(trials, n)``) is one trial; ``group`` says which participants
are in the first sample (``x``: the experimental arm) and which in the second (``y``); a NaN
value is a participant without a value (left out, so the sample sizes may differ by trial).
Each function gives, row by row, the numbers of the scalar function of :mod:`celltrial.stats`
it mirrors (equal to 1e-10, tested), which is itself tested against R:

- :func:`wilcoxon_batch` = :func:`celltrial.stats.wilcoxon_rank_sum` = R's
  ``wilcox.test(x, y)`` with its defaults: the exact p-value when both samples have fewer than
  50 values and there are no ties, otherwise the normal approximation with the tie-corrected
  variance and the continuity correction (``exact = NULL, correct = TRUE``).
- :func:`t_test_batch` = :func:`celltrial.stats.t_test` = R's ``t.test(x, y)`` (Welch,
  the default) or ``t.test(x, y, var.equal = TRUE)`` (Student).

A row where the scalar function raises ``ValueError`` (a sample without values, fewer than two
values for Welch, constant data, all values tied) gets NaN statistic and p-value: a trial whose
test cannot be computed does not reject.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy import stats as sps

# The exact null distribution of W, shared with the scalar test so both use the same counts.
from celltrial.stats.continuous import _wilcox_counts

EPS = float(np.finfo(float).eps)
Floats = NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class BatchTest:
    """Results of one test in many trials, one entry per trial (row).

    ``statistic``: W (rank sum of ``x`` minus ``n_x (n_x + 1) / 2``, R's ``W``) or t;
    ``df``: degrees of freedom of a t-test (NaN for Wilcoxon); ``exact``: whether the exact
    distribution gave the p-value; ``n_x``, ``n_y``: the values in each sample.
    """

    statistic: Floats
    p_value: Floats
    df: Floats
    exact: NDArray[np.bool_]
    n_x: NDArray[np.int64]
    n_y: NDArray[np.int64]


def _samples(
    values: ArrayLike, group: ArrayLike
) -> tuple[Floats, NDArray[np.bool_], NDArray[np.bool_]]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values: give a 2-d array (trials, n), got shape {v.shape}")
    g = np.asarray(group)
    if g.shape != v.shape:
        try:
            g = np.broadcast_to(g, v.shape)
        except ValueError:
            raise ValueError(f"values, group: shapes differ ({v.shape} vs {g.shape})") from None
    g = g.astype(bool)
    ok = ~np.isnan(v)
    return v, ok & g, ok & ~g


def _sorted_ranks(v: Floats) -> tuple[NDArray[np.intp], Floats, Floats]:
    """``(order, ranks, ties)``: the argsort of each row (NaN last), the average rank at each
    sorted position (NaN for NaN values) and each row's ``sum(t^3 - t)`` over tie groups."""
    trials, n = v.shape
    order = np.argsort(v, axis=1)  # NaN sorts last; tied values get one average rank anyway
    s = np.take_along_axis(v, order, axis=1)
    valid = ~np.isnan(s)
    pos = np.broadcast_to(np.arange(n), (trials, n))
    first = np.ones((trials, n), dtype=bool)
    first[:, 1:] = s[:, 1:] != s[:, :-1]  # NaN != NaN: each NaN on its own
    last = np.ones((trials, n), dtype=bool)
    last[:, :-1] = first[:, 1:]
    start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]
    size = (end - start + 1).astype(np.float64)
    # Each of the t members of a tie group adds t^2 - 1, so the group adds t^3 - t.
    ties = np.where(valid, size**2 - 1.0, 0.0).sum(axis=1)
    ranks = np.where(valid, (start + end) / 2.0 + 1.0, np.nan)
    return order, ranks, ties


def average_ranks(values: ArrayLike) -> tuple[Floats, Floats]:
    """Average ranks within each row, NaN values left out (their rank is NaN).

    Returns ``(ranks, ties)``: ``ties[i] = sum(t^3 - t)`` over the groups of ``t`` tied values
    of row ``i`` (0 without ties), the term of the tie-corrected variance. Row by row the ranks
    equal ``scipy.stats.rankdata`` of the row's non-NaN values.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values: give a 2-d array (trials, n), got shape {v.shape}")
    order, sorted_ranks, ties = _sorted_ranks(v)
    ranks = np.empty_like(sorted_ranks)
    np.put_along_axis(ranks, order, sorted_ranks, axis=1)
    return ranks, ties


def _exact_two_sided(w: Floats, nx: int, ny: int) -> Floats:
    """Two-sided exact p-values of integer W for samples of ``nx`` and ``ny`` (as
    ``celltrial.stats`` and R: twice the smaller tail, at most 1)."""
    counts = _wilcox_counts(nx, ny)
    total = float(np.sum(counts))
    lower = np.cumsum(counts) / total  # P(W <= k)
    upper = np.cumsum(counts[::-1])[::-1] / total  # P(W >= k)
    k = np.rint(w).astype(np.int64)
    p = np.where(w > nx * ny / 2.0, upper[np.clip(k, 0, counts.size - 1)], lower[k])
    return np.asarray(np.minimum(2.0 * p, 1.0), dtype=np.float64)


def wilcoxon_batch(
    values: ArrayLike, group: ArrayLike, *, correct: bool = True, exact: bool | None = None
) -> BatchTest:
    r"""Two-sided Wilcoxon rank-sum (Mann–Whitney) test of ``x`` (``group`` true) against ``y``
    in every row, as R's ``wilcox.test(x, y, correct =, exact =)``.

    ``W = sum of the ranks of x - n_x (n_x + 1) / 2`` over the pooled average ranks. With
    ``exact = None`` (R's default) the p-value is exact when ``n_x < 50`` and ``n_y < 50`` and
    the row has no ties (``exact = True``: whenever there are no ties); otherwise
    ``z = (W - n_x n_y / 2 - c) / sigma``, ``sigma^2 = n_x n_y / 12 ((N + 1) - sum(t^3 - t) /
    (N (N - 1)))`` and ``c = sign(z) / 2`` when ``correct``.

    Parameters
    ----------
    values : array_like, shape (trials, n)
        Values; NaN for a participant without one.
    group : array_like of bool, shape (trials, n) or (n,)
        True for the first sample (``x``).
    """
    v, in_x, in_y = _samples(values, group)
    nx = in_x.sum(axis=1)
    ny = in_y.sum(axis=1)
    order, ranks, ties = _sorted_ranks(v)
    fx, fy = nx.astype(np.float64), ny.astype(np.float64)
    x_sorted = np.take_along_axis(in_x, order, axis=1)
    w = np.where(x_sorted, ranks, 0.0).sum(axis=1) - fx * (fx + 1) / 2
    use_exact = (nx < 50) & (ny < 50) if exact is None else np.full(nx.shape, bool(exact))
    is_exact = use_exact & (ties == 0) & (nx > 0) & (ny > 0)
    big_n = fx + fy
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt(fx * fy / 12 * ((big_n + 1) - ties / (big_n * (big_n - 1))))
        z = w - fx * fy / 2
        if correct:
            z = z - np.sign(z) * 0.5
        z = z / sigma
    p = 2.0 * np.minimum(special.ndtr(z), special.ndtr(-z))
    p = np.where(is_exact | (sigma > 0), p, np.nan)
    for a, b in {(int(a), int(b)) for a, b in zip(nx[is_exact], ny[is_exact], strict=True)}:
        rows = is_exact & (nx == a) & (ny == b)
        p[rows] = _exact_two_sided(w[rows], a, b)
    empty = (nx == 0) | (ny == 0)
    return BatchTest(
        statistic=np.where(empty, np.nan, w),
        p_value=np.where(empty, np.nan, p),
        df=np.full(nx.shape, np.nan),
        exact=is_exact,
        n_x=nx.astype(np.int64),
        n_y=ny.astype(np.int64),
    )


def t_test_batch(values: ArrayLike, group: ArrayLike, *, equal_var: bool = False) -> BatchTest:
    r"""Two-sided two-sample t-test of ``x`` (``group`` true) against ``y`` in every row:
    Welch (default, R's ``t.test(x, y)``) or Student (``equal_var``, ``var.equal = TRUE``).

    Welch: ``t = (mean_x - mean_y) / sqrt(v_x + v_y)``, ``v = s^2 / n``, Satterthwaite
    ``df = (v_x + v_y)^2 / (v_x^2 / (n_x - 1) + v_y^2 / (n_y - 1))``; Student pools the
    variances with ``df = n_x + n_y - 2``. ``p = 2 P(T_df > |t|)``.
    """
    v, in_x, in_y = _samples(values, group)
    nx = in_x.sum(axis=1)
    ny = in_y.sum(axis=1)
    fx, fy = nx.astype(np.float64), ny.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.where(in_x, v, 0.0).sum(axis=1) / fx
        my = np.where(in_y, v, 0.0).sum(axis=1) / fy
        ssx = np.where(in_x, (v - mx[:, None]) ** 2, 0.0).sum(axis=1)
        ssy = np.where(in_y, (v - my[:, None]) ** 2, 0.0).sum(axis=1)
        vx = np.where(nx > 1, ssx / (fx - 1), 0.0)
        vy = np.where(ny > 1, ssy / (fy - 1), 0.0)
        est = mx - my
        if equal_var:
            df = fx + fy - 2
            se = np.sqrt((ssx + ssy) / df * (1 / fx + 1 / fy))
            ok = (nx >= 1) & (ny >= 1) & ((nx >= 2) | (ny >= 2))
        else:
            sx, sy = vx / fx, vy / fy
            se = np.sqrt(sx + sy)
            df = (sx + sy) ** 2 / (sx**2 / (fx - 1) + sy**2 / (fy - 1))
            ok = (nx >= 2) & (ny >= 2) & (sx + sy > 0)
        ok &= se >= 10 * EPS * np.maximum(np.abs(est), 1.0)
        t = est / se
    t = np.where(ok, t, np.nan)
    df = np.where(ok, df, np.nan)
    p = np.where(ok, 2.0 * sps.t.sf(np.abs(np.where(ok, t, 0.0)), np.where(ok, df, 1.0)), np.nan)
    return BatchTest(
        statistic=t,
        p_value=np.asarray(p, dtype=np.float64),
        df=df,
        exact=np.zeros(nx.shape, dtype=bool),
        n_x=nx.astype(np.int64),
        n_y=ny.astype(np.int64),
    )
