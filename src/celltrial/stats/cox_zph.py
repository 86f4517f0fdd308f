"""Pieces of R's ``cox.zph`` (survival >= 3.0): the result type and the time transforms."""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

from celltrial.stats._result import Result
from celltrial.stats.kaplan_meier import _km_counts

FloatArray = NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class CoxZphResult(Result):
    """Test of proportional hazards (score test for ``beta_j(t) = beta_j + theta_j g(t)``).

    One row per term, the last row (``"GLOBAL"``) for all terms jointly.
    """

    terms: tuple[str, ...]
    statistic: FloatArray
    df: NDArray[np.int64]
    p_value: FloatArray
    transform: str
    method: str


def zph_g(
    event_times: list[FloatArray],
    t: FloatArray,
    e: NDArray[np.bool_],
    entry: FloatArray | None,
    transform: str,
) -> list[FloatArray]:
    """g(t) at each stratum's event times, centred at the mean over all event rows (R's
    ``cox.zph``: ``km`` is 1 - the left-continuous unweighted pooled KM, ``rank`` the ranks of
    all follow-up times)."""
    if transform == "identity":
        vals = list(event_times)
        ev_vals = t[e]
    elif transform == "rank":
        rk = sps.rankdata(t)
        order = np.argsort(t, kind="stable")
        ts = t[order]
        vals = [rk[order][np.searchsorted(ts, et)] for et in event_times]
        ev_vals = rk[e]
    else:
        ut, n_risk, n_event, _ = _km_counts(t, e, np.ones(t.size), entry, weighted=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            surv = np.cumprod(1.0 - n_event / n_risk)
        left = np.concatenate(([1.0], surv))

        def g_of(tt: FloatArray) -> FloatArray:
            out: FloatArray = 1.0 - left[np.searchsorted(ut, tt, side="left")]
            return out

        vals = [g_of(et) for et in event_times]
        ev_vals = g_of(t[e])
    centre = float(np.mean(ev_vals))
    return [v - centre for v in vals]


def zph_test(
    info: FloatArray,
    u_t: list[FloatArray],
    i_t: list[FloatArray],
    gvals: list[FloatArray],
    terms: tuple[str, ...],
    transform: str,
) -> CoxZphResult:
    """Score tests of ``theta = 0`` in ``beta(t) = beta + theta g(t)`` at the fitted beta.

    ``u_t``/``i_t`` are the per-event-time score vectors and information matrices of each
    stratum; ``U_2 = sum_t g u_t``, ``G_k = sum_t g^k I_t`` and the information of
    ``(beta, theta)`` is ``[[I, G_1], [G_1, G_2]]``. Each term's test uses the rows/columns of
    all of beta plus that term's theta; the global test uses all of them.
    """
    p = info.shape[0]
    u2 = np.zeros(p)
    g1 = np.zeros((p, p))
    g2 = np.zeros((p, p))
    for g, ut, it in zip(gvals, u_t, i_t, strict=True):
        u2 += g @ ut
        g1 += np.einsum("t,tij->ij", g, it)
        g2 += np.einsum("t,tij->ij", g * g, it)
    imat = np.block([[info, g1], [g1, g2]])
    u = np.concatenate((np.zeros(p), u2))
    stats_ = np.empty(p + 1)
    for j in range(p):
        kk = np.concatenate((np.arange(p), [p + j]))
        uk = u[kk]
        stats_[j] = float(np.linalg.solve(imat[np.ix_(kk, kk)], uk) @ uk)
    stats_[p] = float(np.linalg.solve(imat, u) @ u)
    df = np.array([1] * p + [p], dtype=np.int64)
    return CoxZphResult(
        terms=(*terms, "GLOBAL"),
        statistic=stats_,
        df=df,
        p_value=sps.chi2.sf(stats_, df),
        transform=transform,
        method="proportional hazards score test (cox.zph, survival >= 3.0)",
    )
