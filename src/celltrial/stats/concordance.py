"""Harrell's concordance of a risk score with right-censored survival, as R's
``survival::concordance`` (``concordancefit``, ``timewt = "n"``), and its standard error.

A pair ``(i, j)`` is comparable when ``i`` has an event and ``j`` is still at risk after it:
``t_j > t_i``, or ``t_j = t_i`` with ``j`` censored (censored at ``t`` counts as surviving
``t``). Two events at the same time are ``tied_y`` (``tied_xy`` when the scores tie too) and
do not count. Of the comparable pairs, with pair weight ``w_i w_j``, the pair is *concordant*
when the earlier failure has the higher risk score (``reverse=True``, Cox's linear predictor)
and *tied_x* when the scores are equal:

    C = (concordant + tied_x / 2) / (concordant + discordant + tied_x).

Standard error: the infinitesimal jackknife of Somers' ``d = 2C - 1``, as survival's
``concordancefit``: with ``I_ik`` the weighted number of pairs of type ``k`` that row ``i``
belongs to (either member) and ``N`` the comparable pairs, ``U_i = w_i ((I_ic - I_id) / N -
d (I_ic + I_id + I_it) / N)`` and ``Var C = sum_i U_i^2 / 4``.

The pair counts are O(n log^2 n) and vectorised: rows are ordered by (time, events before
censored), and a bottom-up merge counts, for every block pair of each level, the scores of the
later block below, equal to and above each score of the earlier block (one ``searchsorted`` per
level over all blocks at once, on integer keys ``block * (u + 1) + rank``); pairs of events at
one time (counted by that pass but not comparable) are taken out the same way within each
group of tied events.

References
----------
Harrell FE, Califf RM, Pryor DB, Lee KL, Rosati RA (1982). JAMA 247:2543-2546. Therneau TM,
Watson E (2017). The concordance statistic and the Cox model. survival package vignette.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from celltrial.stats._checks import as_event, as_float_array, as_labels, as_time, as_weights
from celltrial.stats._result import Result

FloatArray = NDArray[np.float64]

__all__ = ["ConcordanceResult", "concordance"]


@dataclasses.dataclass(frozen=True)
class ConcordanceResult(Result):
    """Concordance ``estimate`` with its ``se`` and the weighted pair counts (R's ``count``)."""

    estimate: float
    se: float
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float
    tied_xy: float
    n: int
    method: str = "Harrell's concordance (survival::concordance)"


def _cross_counts(
    block_of: NDArray[np.int64],
    rank: NDArray[np.int64],
    w: FloatArray,
    left: NDArray[np.bool_],
    right: NDArray[np.bool_],
    u: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """For every row of ``left``: the weight of ``right`` rows of the same block with a lower,
    equal and higher rank. ``block_of`` pairs each left row with the right rows it meets."""
    key_r = block_of[right] * (u + 1) + rank[right]
    order = np.argsort(key_r, kind="stable")
    sk = key_r[order]
    cw = np.concatenate(([0.0], np.cumsum(w[right][order])))
    base = block_of[left] * (u + 1)
    q = base + rank[left]
    lo = np.searchsorted(sk, base, side="left")
    below = np.searchsorted(sk, q, side="left")
    upto = np.searchsorted(sk, q, side="right")
    hi = np.searchsorted(sk, base + u, side="right")
    less = cw[below] - cw[lo]
    equal = cw[upto] - cw[below]
    more = cw[hi] - cw[upto]
    return less, equal, more


def _pairs(
    t: FloatArray, e: NDArray[np.bool_], score: FloatArray, w: FloatArray
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Counts (concordant, discordant, tied_x, tied_y, tied_xy) and the per-row influence
    (``n x 3``: concordant, discordant, tied_x pairs each row belongs to), for one stratum."""
    n = t.size
    # events first at a tied time: a censored row at t is later than an event at t
    order = np.lexsort((-score, ~e, t))
    ts, es, ws = t[order], e[order], w[order]
    _, rank = np.unique(score[order], return_inverse=True)
    rank = rank.astype(np.int64).reshape(-1)
    u = int(rank.max()) + 1 if n else 1
    infl = np.zeros((n, 3))
    tot = np.zeros(3)
    pos = np.arange(n, dtype=np.int64)
    size = 1
    while size < n:
        half = pos // size  # block index at this level
        is_left = (half % 2 == 0) & es  # earlier block, events only
        is_right = half % 2 == 1
        pair = half // 2
        # events of the earlier block against all rows of the later block
        less, equal, more = _cross_counts(pair, rank, ws, is_left, is_right, u)
        li = np.flatnonzero(is_left)
        infl[li, 0] += less  # event has the higher score: concordant
        infl[li, 1] += more
        infl[li, 2] += equal
        tot += ws[li] @ np.column_stack((less, more, equal))
        # every row of the later block against the events of the earlier block
        less_r, equal_r, more_r = _cross_counts(pair, rank, ws, is_right, is_left, u)
        ri = np.flatnonzero(is_right)
        infl[ri, 0] += more_r  # the earlier event scores higher than this row
        infl[ri, 1] += less_r
        infl[ri, 2] += equal_r
        size *= 2
    # events tied in time were counted as (earlier, later) pairs: take them out
    tied_y = tied_xy = 0.0
    ev = np.flatnonzero(es)
    if ev.size > 1:
        tev = ts[ev]
        start = np.flatnonzero(np.r_[True, tev[1:] != tev[:-1]])
        glen = np.diff(np.r_[start, ev.size])
        multi = np.repeat(glen > 1, glen)
        if np.any(multi):
            rows = ev[multi]
            gid = np.repeat(np.arange(start.size), glen)[multi].astype(np.int64)
            # within a group ordered by descending score, every earlier member has a score
            # >= this one's: for each member, the later members below / equal, and the earlier
            # members above / equal
            key = gid * (u + 1) + rank[rows]
            okey = np.argsort(key, kind="stable")
            sk = key[okey]
            cw = np.concatenate(([0.0], np.cumsum(ws[rows][okey])))
            lo = np.searchsorted(sk, gid * (u + 1), side="left")
            below = np.searchsorted(sk, key, side="left")
            upto = np.searchsorted(sk, key, side="right")
            hi = np.searchsorted(sk, gid * (u + 1) + u, side="right")
            w_less = cw[below] - cw[lo]
            w_eq = cw[upto] - cw[below] - ws[rows]
            w_more = cw[hi] - cw[upto]
            # equal scores: the pass counted (earlier, later) in the order of the rows
            cum_eq = _rank_among_equals(key, ws[rows])
            later_eq = w_eq - cum_eq
            # as an earlier row it gained the lower (later) members as concordant and the later
            # equal ones as tied_x; as a later row, the higher (earlier) ones and earlier equal
            infl[rows, 0] -= w_less + w_more
            infl[rows, 2] -= w_eq
            tot[0] -= float(ws[rows] @ w_less)
            tot[2] -= float(ws[rows] @ later_eq)
            pair_w = 0.5 * float(ws[rows] @ (w_less + w_more + w_eq))
            tied_xy = 0.5 * float(ws[rows] @ w_eq)
            tied_y = pair_w - tied_xy
    counts = np.array([tot[0], tot[1], tot[2], tied_y, tied_xy])
    back = np.empty_like(infl)
    back[order] = infl
    return counts, back


def _rank_among_equals(key: NDArray[np.int64], w: FloatArray) -> FloatArray:
    """For each row: the weight of the rows before it (in the given order) with the same key."""
    out = np.zeros(key.size)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    sw = w[order]
    cw = np.cumsum(sw) - sw
    first = np.searchsorted(sk, sk, side="left")
    out[order] = cw - cw[first]
    return out


def concordance(
    time: ArrayLike,
    event: ArrayLike,
    score: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reverse: bool = True,
) -> ConcordanceResult:
    """Harrell's concordance of ``score`` with survival, and its infinitesimal-jackknife SE.

    ``reverse=True`` (the default, as for a Cox model's risk score): a higher score goes with
    a shorter survival. Pairs are formed within strata only. See the module docstring for the
    definitions.

    Notes
    -----
    R equivalent: ``concordance(Surv(time, event) ~ score + strata(s), weights = w, reverse =
    reverse)`` (``$concordance``, ``sqrt($var)``, ``$count``); for a Cox fit,
    ``concordance(fit)`` or ``fit$concordance``.

    References
    ----------
    Harrell FE et al. (1982). JAMA 247:2543-2546. Therneau TM, Watson E (2017), survival
    vignette "The concordance statistic".
    """
    t = as_time("time", time)
    n = t.size
    e = as_event("event", event, n)
    x = as_float_array("score", score)
    if x.size != n:
        raise ValueError(f"score: length {x.size} differs from time's length {n}")
    w = np.ones(n) if weights is None else as_weights("weights", weights, n)
    if not reverse:
        x = -x
    if strata is None:
        groups: list[NDArray[np.intp]] = [np.arange(n)]
    else:
        _, codes = as_labels("strata", strata, n)
        order = np.argsort(codes, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    counts = np.zeros(5)
    infl = np.zeros((n, 3))
    for g in groups:
        c, inf_g = _pairs(t[g], e[g], x[g], w[g])
        counts += c
        infl[g] = inf_g
    npair = float(counts[0] + counts[1] + counts[2])
    if npair == 0:
        raise ValueError("event: no comparable pairs (no event before another row's time)")
    somer = float(counts[0] - counts[1]) / npair
    dfbeta = w * ((infl[:, 0] - infl[:, 1]) / npair - somer / npair * infl.sum(axis=1))
    var = float(np.sum(dfbeta * dfbeta)) / 4.0
    return ConcordanceResult(
        estimate=(somer + 1.0) / 2.0,
        se=math.sqrt(var),
        concordant=float(counts[0]),
        discordant=float(counts[1]),
        tied_x=float(counts[2]),
        tied_y=float(counts[3]),
        tied_xy=float(counts[4]),
        n=n,
    )
