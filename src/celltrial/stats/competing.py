"""Cumulative incidence with competing risks (Aalen–Johansen), as R's multi-state ``survfit``.

Tied times are used as they are (never jittered): all events of all causes at a time, and the
censorings at that time, enter the same step, censored subjects counted at risk.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from celltrial.stats._checks import (
    as_float_array,
    as_labels,
    as_time,
    check_level,
    label_values,
    show,
)
from celltrial.stats._result import Result

FloatArray = NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class CumulativeIncidenceCurve(Result):
    """Aalen–Johansen curves of one group, one row per distinct time.

    ``estimate[:, k]`` is the cumulative incidence of cause ``causes[k]``, ``se`` its
    infinitesimal-jackknife standard error and ``ci[:, k, :]`` the (log-scale) limits;
    ``survival`` is the probability of no event of any cause yet (state ``(s0)`` in R).
    """

    group: Any
    time: FloatArray
    n_risk: FloatArray
    causes: tuple[int, ...]
    estimate: FloatArray
    se: FloatArray
    ci: FloatArray
    survival: FloatArray
    survival_se: FloatArray
    level: float
    n: int
    method: str = "Aalen-Johansen"


@dataclasses.dataclass(frozen=True)
class CumulativeIncidenceResult(Result):
    """Cumulative incidence curves, one per group (a single curve when no group was given)."""

    groups: tuple[Any, ...]
    curves: tuple[CumulativeIncidenceCurve, ...]
    causes: tuple[int, ...]
    n: int
    method: str = "Aalen-Johansen cumulative incidence"

    def curve(self, group: Any = None) -> CumulativeIncidenceCurve:
        """The curve of ``group`` (the only one when no group was given)."""
        if group is None and len(self.curves) == 1:
            return self.curves[0]
        for g, c in zip(self.groups, self.curves, strict=True):
            if g == group:
                return c
        raise ValueError(f"group: {show(group)} is not one of {show(self.groups)}")


def _log_ci(p: FloatArray, se: FloatArray, z: float) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        xx = np.where(p == 0, np.nan, p)
        lower = np.exp(np.log(xx) - z * se / xx)
        upper = np.fmin(np.exp(np.log(xx) + z * se / xx), 1.0)
        upper[np.isnan(xx)] = np.nan
    return np.stack((lower, upper), axis=-1)


def _aalen_johansen(
    t: FloatArray, ev: NDArray[np.intp], causes: tuple[int, ...], level: float, group: Any
) -> CumulativeIncidenceCurve:
    n = t.size
    k = len(causes)
    ut, tau = np.unique(t, return_inverse=True)
    m = ut.size
    cause_idx = np.searchsorted(np.asarray(causes), ev)  # valid only where ev > 0
    at_time = np.bincount(tau, minlength=m).astype(np.float64)
    y = np.cumsum(at_time[::-1])[::-1]
    d_k = np.zeros((m, k))
    has_ev = ev > 0
    np.add.at(d_k, (tau[has_ev], cause_idx[has_ev]), 1.0)
    d = d_k.sum(axis=1)
    lam = d / y
    lam_k = d_k / y[:, None]
    p0 = np.cumprod(1.0 - lam)
    p0m = np.concatenate(([1.0], p0[:-1]))
    cif = np.cumsum(p0m[:, None] * lam_k, axis=0)

    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(d > 0, lam / (y - d), 0.0)
        cum_c = np.cumsum(c)
        cum_c_prev = np.concatenate(([0.0], cum_c[:-1]))
        # A_k(t): influence common to everyone still at risk after t
        common = np.where(p0m > 0, p0m * cum_c_prev, 0.0)[:, None] * lam_k
        common -= (p0m / y)[:, None] * lam_k
        a_k = np.cumsum(common, axis=0)
        q_k = np.cumsum(p0m[:, None] * lam_k, axis=0)
        beta = cum_c[tau] - np.where(has_ev, 1.0 / (y - d)[tau], 0.0)
    beta = np.where(np.isfinite(beta), beta, 0.0)
    y_after = y - at_time  # subjects whose time is later than t
    surv_var = np.zeros(m)
    with np.errstate(invalid="ignore"):
        base = np.where(p0 > 0, cum_c, 0.0)
    s_b2 = np.cumsum(np.bincount(tau, weights=beta**2, minlength=m))
    surv_var = p0**2 * (y_after * base**2 + s_b2)
    var_k = np.zeros((m, k))
    for j in range(k):
        alpha = a_k[tau, j] + np.where(has_ev & (cause_idx == j), p0m[tau] / y[tau], 0.0)
        gamma = alpha - beta * q_k[tau, j]
        s_g2 = np.cumsum(np.bincount(tau, weights=gamma**2, minlength=m))
        s_gb = np.cumsum(np.bincount(tau, weights=gamma * beta, minlength=m))
        s_b2j = s_b2
        qt = q_k[:, j]
        var_k[:, j] = y_after * a_k[:, j] ** 2 + s_g2 + 2 * qt * s_gb + qt**2 * s_b2j
    se = np.sqrt(np.maximum(var_k, 0.0))
    surv_se = np.sqrt(np.maximum(surv_var, 0.0))
    z = float(special.ndtri(1.0 - (1.0 - level) / 2.0))
    return CumulativeIncidenceCurve(
        group=group,
        time=ut,
        n_risk=y,
        causes=causes,
        estimate=cif,
        se=se,
        ci=_log_ci(cif, se, z),
        survival=p0,
        survival_se=surv_se,
        level=level,
        n=n,
    )


def cumulative_incidence(
    time: ArrayLike,
    event_type: ArrayLike,
    *,
    group: ArrayLike | None = None,
    level: float = 0.95,
) -> CumulativeIncidenceResult:
    r"""Aalen–Johansen cumulative incidence of each cause in the presence of competing risks.

    With ``Y(s)`` at risk, ``dN_k(s)`` events of cause k and ``S(s-)`` the all-cause
    Kaplan–Meier survival just before ``s``:

    .. math::

        F_k(t) = \sum_{s \le t} S(s-) \frac{dN_k(s)}{Y(s)}.

    Standard errors are the infinitesimal jackknife, ``Var F_k(t) = sum_i U_{ik}(t)^2`` with
    ``U_ik`` the derivative of ``F_k(t)`` with respect to subject i's case weight, obtained from
    the recursion ``p(t) = p(t-) H(t)`` of the Aalen–Johansen transition matrices and evaluated
    for all subjects at once with cumulative sums. Confidence limits are on the log scale.

    Parameters
    ----------
    time
        Follow-up times.
    event_type
        0 for censored, 1, 2, ... for the cause of the event.
    group
        Optional group labels: one curve per group.
    level
        Confidence level.

    Notes
    -----
    R equivalent: ``survfit(Surv(time, factor(event_type)) ~ group)``; ``estimate`` is
    ``pstate`` of the cause states, ``se`` the ``std.err``, ``survival`` ``pstate[, "(s0)"]``.
    Tied event and censoring times are treated exactly as R does (no jittering, unlike
    lifelines' ``AalenJohansenFitter``).

    References
    ----------
    Aalen OO, Johansen S (1978). Scand J Stat 5:141–150. Therneau TM, Crowson C, Atkinson E,
    "Multi-state models and competing risks", survival package vignette.
    """
    t = as_time("time", time)
    n = t.size
    evf = as_float_array("event_type", event_type)
    if evf.size != n:
        raise ValueError(f"event_type: length {evf.size} differs from time's length {n}")
    if np.any(evf < 0) or np.any(evf != np.round(evf)):
        raise ValueError("event_type: must be whole numbers >= 0 (0 = censored, 1, 2, ... causes)")
    ev = evf.astype(np.intp)
    level = check_level(level)
    causes = tuple(int(v) for v in np.unique(ev[ev > 0]))
    if not causes:
        raise ValueError("event_type: all observations are censored; there is no incidence")
    if group is None:
        curves: tuple[CumulativeIncidenceCurve, ...] = (
            _aalen_johansen(t, ev, causes, level, None),
        )
        groups: tuple[Any, ...] = (None,)
    else:
        levels, codes = as_labels("group", group, n)
        groups = label_values(levels)
        curves = tuple(
            _aalen_johansen(t[codes == i], ev[codes == i], causes, level, groups[i])
            for i in range(levels.size)
        )
    return CumulativeIncidenceResult(groups=groups, curves=curves, causes=causes, n=n)
