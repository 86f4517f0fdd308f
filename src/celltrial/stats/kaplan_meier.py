"""Kaplan–Meier estimate of the survival function, its quantiles and restricted mean.

Matches R's ``survival::survfit`` (Greenwood variance, ``conf.type`` plain/log/log-log),
``quantile.survfit`` and ``print(fit, rmean = tau)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from celltrial.stats._checks import (
    as_entry,
    as_event,
    as_labels,
    as_time,
    as_weights,
    check_choice,
    check_level,
    show,
)
from celltrial.stats._result import Result

CI_TYPES = ("log", "log-log", "plain")
_TOL = math.sqrt(np.finfo(float).eps)


def _z(level: float) -> float:
    return float(special.ndtri(1.0 - (1.0 - level) / 2.0))


@dataclasses.dataclass(frozen=True)
class SurvivalQuantile(Result):
    """A quantile of the survival distribution: the time where ``S(t)`` reaches ``1 - p``.

    ``estimate`` and ``ci`` are NaN where the curve (or a bound) never reaches ``1 - p``.
    """

    p: float
    estimate: float
    ci: tuple[float, float]
    level: float
    method: str


@dataclasses.dataclass(frozen=True)
class RMST(Result):
    """Restricted mean survival time up to ``tau`` with its standard error (R's ``rmean``)."""

    tau: float
    estimate: float
    se: float
    ci: tuple[float, float]
    level: float
    method: str


@dataclasses.dataclass(frozen=True)
class RMSTDifference(Result):
    """Difference in RMST between two arms (second level minus first), with a Wald test."""

    groups: tuple[Any, Any]
    tau: float
    rmst: tuple[RMST, RMST]
    estimate: float
    se: float
    ci: tuple[float, float]
    statistic: float
    p_value: float
    level: float
    method: str


@dataclasses.dataclass(frozen=True)
class KaplanMeierResult(Result):
    """A Kaplan–Meier curve, one row per distinct (event or censoring) time.

    ``estimate`` is S(t); ``se_log`` is R's ``std.err`` (the Greenwood standard error of
    ``log S``) and ``se`` that of S itself (``S * se_log``, as ``summary.survfit``); ``ci`` has
    one (lower, upper) row per time. ``se`` and ``ci`` are computed on first access (the
    curve and its Greenwood variance need no logarithms or exponentials, and no arrays beyond
    them: a million-row curve is ~2x faster to fit); they are fields like the others
    (``to_dict``, ``summary`` and equality include them).
    """

    time: NDArray[np.float64]
    n_risk: NDArray[np.float64]
    n_event: NDArray[np.float64]
    n_censor: NDArray[np.float64]
    estimate: NDArray[np.float64]
    se: NDArray[np.float64] = dataclasses.field(init=False)
    se_log: NDArray[np.float64]
    ci: NDArray[np.float64] = dataclasses.field(init=False)
    level: float
    ci_type: str
    n: int
    method: str = "Kaplan-Meier"

    def __getattr__(self, name: str) -> NDArray[np.float64]:
        # Called only for an attribute not (yet) set: ``se`` or ``ci``, computed once and kept.
        if name == "se":
            with np.errstate(invalid="ignore"):
                value = np.multiply(self.estimate, self.se_log)
        elif name == "ci":
            value = _confint(self.estimate, self.se_log, _z(self.level), self.ci_type)
        else:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        object.__setattr__(self, name, value)
        return value

    def survival_at(self, times: ArrayLike) -> NDArray[np.float64]:
        """S(t) at ``times`` (right-continuous step function; 1 before the first time)."""
        t = np.asarray(times, dtype=np.float64)
        idx = np.searchsorted(self.time, t, side="right")
        s = np.concatenate(([1.0], self.estimate))
        out: NDArray[np.float64] = s[idx]
        return out

    def quantile(self, p: float) -> SurvivalQuantile:
        """The ``p`` quantile of survival time with its CI, as R's ``quantile.survfit``.

        The time is the first where ``1 - S(t) >= p``; where ``S`` equals ``1 - p`` (within
        ``sqrt(eps)``) over a flat stretch, the midpoint to the next drop is taken. The CI is
        the same rule applied to the lower and upper confidence curves.
        """
        if not (0.0 <= float(p) <= 1.0):
            raise ValueError(f"p: must be in [0, 1], got {show(p)}")
        p = float(p)
        q = _findq(self.time, 1.0 - self.estimate, p)
        lo = _findq(self.time, 1.0 - self.ci[:, 0], p)
        hi = _findq(self.time, 1.0 - self.ci[:, 1], p)
        return SurvivalQuantile(
            p=p, estimate=q, ci=(lo, hi), level=self.level, method=f"quantile ({self.ci_type} CI)"
        )

    @property
    def median(self) -> SurvivalQuantile:
        """Median survival time with its CI (``quantile(0.5)``)."""
        return self.quantile(0.5)

    def rmst(self, tau: float) -> RMST:
        """Restricted mean survival time to ``tau``, as R's ``print(fit, rmean = tau)``.

        ``RMST = sum_j (t_j - t_{j-1}) S(t_{j-1})`` over the times up to ``tau`` (``t_0 = 0``),
        and ``Var = sum_i A_i^2 d_i / (n_i (n_i - d_i))`` where ``A_i`` is the area under the
        curve from ``t_i`` to ``tau``.
        """
        tau = float(tau)
        if not math.isfinite(tau) or tau <= 0:
            raise ValueError(f"tau: must be a positive finite time, got {show(tau)}")
        n, d = self.n_risk, self.n_event
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))
        keep = self.time <= tau
        if not np.any(keep):
            mean, var = tau, 0.0
        else:
            tt = np.concatenate((self.time[keep], [tau]))
            ss = self.estimate[keep]
            hk = hh[keep]
            delta = np.diff(np.concatenate(([0.0], tt)))
            rect = delta * np.concatenate(([1.0], ss))
            mean = float(np.sum(rect))
            var = float(np.sum(np.cumsum(rect[1:][::-1]) ** 2 * hk[::-1]))
        se = math.sqrt(var)
        z = _z(self.level)
        return RMST(
            tau=tau,
            estimate=mean,
            se=se,
            ci=(mean - z * se, mean + z * se),
            level=self.level,
            method="restricted mean survival time (Kaplan-Meier)",
        )


def _findq(time: NDArray[np.float64], y: NDArray[np.float64], p: float) -> float:
    """R's ``survival:::findq`` for a single probability (``y = 1 - S``, may hold NaN)."""
    x = np.concatenate(([0.0], time))
    yy = np.concatenate(([0.0], y))
    finite = ~np.isnan(yy)
    if not np.any(finite) or np.max(yy[finite]) < p:
        return math.nan
    xmax = x[-1]
    # drop duplicated y values (NaN counts as one value), keeping the first
    isnan = np.isnan(yy)
    keep = np.ones(yy.size, dtype=bool)
    keep[1:] = ~((yy[1:] == yy[:-1]) | (isnan[1:] & isnan[:-1]))
    if np.sum(isnan) > 1:
        first_nan = int(np.flatnonzero(isnan)[0])
        keep &= ~isnan | (np.arange(yy.size) == first_nan)
    x, yy = x[keep], yy[keep]
    # R's approx(y +- tol, 1:n, p, method = "constant", f = 1) sorts the points by y first:
    # the confidence curves need not be monotone (a later time can have a narrower limit), so
    # the answer is the point with the smallest y + shift >= p, wherever it lies in time.
    idx = np.flatnonzero(~np.isnan(yy))
    by_y = np.argsort(yy[idx], kind="stable")
    idx = idx[by_y]
    yv = yy[idx]

    def approx(shift: float) -> int:
        xs = yv + shift
        if p < xs[0] or p > xs[-1]:
            return -1
        return int(idx[np.searchsorted(xs, p, side="left")])

    i1, i2 = approx(_TOL), approx(-_TOL)
    if p == 0:
        return float(x[0])
    if not np.isnan(yy[-1]) and abs(p - yy[-1]) < _TOL:
        return math.nan if i1 < 0 else float((x[i1] + xmax) / 2)
    if i1 < 0 or i2 < 0:
        return math.nan
    return float((x[i1] + x[i2]) / 2)


def _confint(
    s: NDArray[np.float64], se_log: NDArray[np.float64], z: float, ci_type: str
) -> NDArray[np.float64]:
    """R's ``survfit_confint`` (``logse = TRUE``)."""
    out = np.empty((s.size, 2))
    lower, upper = out[:, 0], out[:, 1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if ci_type == "plain":
            se2 = se_log * s * z
            np.fmax(s - se2, 0.0, out=lower)
            np.fmin(s + se2, 1.0, out=upper)
            nan = np.isnan(se2)
            lower[nan] = np.nan
            upper[nan] = np.nan
        elif ci_type == "log":
            xx = np.where(s == 0, np.nan, s)
            se2 = z * se_log
            logx = np.log(xx)
            np.exp(logx - se2, out=lower)
            np.fmin(np.exp(logx + se2), 1.0, out=upper)
            upper[np.isnan(xx)] = np.nan
        else:
            xx = np.where((s == 0) | (s == 1), np.nan, s)
            logx = np.log(xx)
            se2 = z * se_log / logx
            lll = np.log(-logx)
            np.exp(-np.exp(lll - se2), out=lower)
            np.exp(-np.exp(lll + se2), out=upper)
    return out


def _event_keys(t: NDArray[np.float64], e: NDArray[np.bool_]) -> NDArray[np.uint64]:
    """Sort keys ``(bits of t) * 2 + event``: ordered as (time, event), one value sort.

    For non-negative finite doubles the IEEE-754 bit pattern read as an unsigned integer is
    monotone in the value (``-0.0`` is first made ``+0.0``); the sign bit is 0, so shifting
    left by one loses nothing and leaves the lowest bit for the event indicator.
    """
    keys = (t + 0.0).view(np.uint64)  # a fresh array: shifted and tagged in place
    np.left_shift(keys, np.uint64(1), out=keys)
    np.bitwise_or(keys, e, out=keys)
    return keys


def _split_keys(keys: NDArray[np.uint64]) -> tuple[NDArray[np.float64], NDArray[np.uint64]]:
    """Times (exact) and event indicators (0/1) back from :func:`_event_keys` keys."""
    ev: NDArray[np.uint64] = keys & np.uint64(1)
    ts: NDArray[np.float64] = (keys >> np.uint64(1)).view(np.float64)
    return ts, ev


def _sorted_with_events(
    t: NDArray[np.float64], e: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Times sorted ascending (events after censorings at a tie) and their event indicators
    (0.0 / 1.0)."""
    keys = _event_keys(t, e)
    keys.sort()  # a value sort (SIMD in numpy >= 2), in place
    ev = np.empty(keys.size)
    np.bitwise_and(keys, np.uint64(1), out=ev, casting="unsafe")
    np.right_shift(keys, np.uint64(1), out=keys)
    return keys.view(np.float64), ev


def _km_counts(
    t: NDArray[np.float64],
    e: NDArray[np.bool_],
    w: NDArray[np.float64] | None,
    entry: NDArray[np.float64] | None,
    *,
    weighted: bool = True,
) -> tuple[NDArray[np.float64], ...]:
    """Distinct times, (weighted) numbers at risk, events and censorings.

    Unweighted data need one value sort of (time, event) keys and, unless every time is
    distinct, ``add.reduceat`` over the distinct times; weighted data one argsort.
    """
    if weighted:
        assert w is not None
        order = np.argsort(t)
        ts = t[order]
        first = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))
        ws = w[order]
        wall = np.add.reduceat(ws, first)
        wd = np.add.reduceat(np.where(e[order], ws, 0.0), first)
        n_risk = np.cumsum(wall[::-1])[::-1]
    else:
        ts, ev = _sorted_with_events(t, e)
        new = ts[1:] != ts[:-1]
        if entry is None and bool(new.all()):
            # all times distinct (continuous times): one row per observation, no gathers
            n_risk = np.arange(t.size, 0, -1, dtype=np.float64)
            return ts, n_risk, ev, np.subtract(1.0, ev)
        first = np.flatnonzero(np.concatenate(([True], new)))
        wd = np.add.reduceat(ev, first)  # (sums of 0/1: exact)
        wall = np.diff(np.append(first, t.size)).astype(np.float64)
        n_risk = (t.size - first).astype(np.float64)
    ut = ts[first]
    if entry is not None:
        if weighted:
            assert w is not None
            eorder = np.argsort(entry)
            tail = np.concatenate((np.cumsum(w[eorder][::-1])[::-1], [0.0]))
            n_risk = n_risk - tail[np.searchsorted(entry[eorder], ut, side="left")]
        else:
            es = np.sort(entry)
            n_risk = n_risk - (entry.size - np.searchsorted(es, ut, side="left"))
    return ut, n_risk, wd, wall - wd


def kaplan_meier(
    time: ArrayLike,
    event: ArrayLike,
    *,
    entry: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    level: float = 0.95,
    ci: str = "log",
) -> KaplanMeierResult:
    r"""Kaplan–Meier (product-limit) estimate of the survival function.

    .. math::

        \hat S(t) = \prod_{t_i \le t} \Bigl(1 - \frac{d_i}{n_i}\Bigr), \qquad
        \widehat{\mathrm{se}}\{\log \hat S(t)\} =
        \Bigl(\sum_{t_i \le t} \frac{d_i}{n_i (n_i - d_i)}\Bigr)^{1/2}
        \quad\text{(Greenwood)}

    with ``d_i`` and ``n_i`` the (weighted) numbers of events and at risk at ``t_i``. A subject
    is at risk at ``t`` when ``entry < t <= time``.

    Parameters
    ----------
    time, event
        Follow-up times (>= 0) and event indicators (1 = event, 0 = censored).
    entry
        Delayed-entry (left-truncation) times, each < ``time``; default none.
    weights
        Non-negative case weights; the variance is Greenwood's on weighted counts.
    level
        Confidence level of the pointwise intervals.
    ci
        ``"log"`` (R's default), ``"log-log"`` or ``"plain"``.

    Returns
    -------
    KaplanMeierResult
        With ``survival_at``, ``quantile``, ``median`` and ``rmst``.

    Notes
    -----
    R equivalent: ``survfit(Surv(time, event) ~ 1, conf.type = ci, conf.int = level)`` (with
    ``Surv(entry, time, event)`` for delayed entry; with weights ``robust = FALSE``). When the
    last time is an event with everyone at risk dying, S = 0, ``se_log`` is infinite and the
    log/log-log bounds are NaN, as in R. With no events S = 1 throughout.

    References
    ----------
    Kaplan EL, Meier P (1958). JASA 53:457–481. Greenwood M (1926). Reports on Public Health
    and Medical Subjects 33. Therneau TM, Grambsch PM (2000). Modeling Survival Data.

    Examples
    --------
    >>> fit = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 1])
    >>> fit.survival_at(2.5)
    array(0.75)
    """
    t = as_time("time", time)
    n = t.size
    e = as_event("event", event, n)
    w = None if weights is None else as_weights("weights", weights, n)
    en = None if entry is None else as_entry("entry", entry, t)
    level = check_level(level)
    check_choice("ci", ci, CI_TYPES)
    ut, n_risk, n_event, n_censor = _km_counts(t, e, w, en, weighted=w is not None)
    # The same operations as cumprod(1 - d / n) and sqrt(cumsum(where(d > 0, d / (n (n - d)),
    # 0))), written into preallocated arrays (no temporaries of a million rows).
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.divide(n_event, n_risk)
        np.subtract(1.0, s, out=s)
        np.cumprod(s, out=s)
        se_log = np.subtract(n_risk, n_event)
        np.multiply(n_risk, se_log, out=se_log)
        np.divide(n_event, se_log, out=se_log)
        if w is not None:  # (unweighted: n >= 1 at every time, so d = 0 gives 0 already)
            se_log[~(n_event > 0)] = 0.0
        np.cumsum(se_log, out=se_log)
        np.sqrt(se_log, out=se_log)
    return KaplanMeierResult(
        time=ut,
        n_risk=n_risk,
        n_event=n_event,
        n_censor=n_censor,
        estimate=s,
        se_log=se_log,
        level=level,
        ci_type=ci,
        n=n,
    )


def rmst_difference(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    tau: float,
    level: float = 0.95,
) -> RMSTDifference:
    r"""Difference in restricted mean survival time between two arms.

    ``estimate = RMST_2 - RMST_1`` (arms in sorted label order), ``se = sqrt(se_1^2 +
    se_2^2)`` with each ``se`` as R's ``print(fit, rmean = tau)``, and a two-sided Wald test.

    Notes
    -----
    R equivalent: the two ``rmean`` and ``se(rmean)`` values of ``print(survfit(Surv(time,
    event) ~ group), rmean = tau)`` combined as above (``survRM2::rmst2`` gives the same
    estimate; its variance uses a different convention).

    References
    ----------
    Royston P, Parmar MKB (2013). BMC Med Res Methodol 13:152.
    """
    t = as_time("time", time)
    e = as_event("event", event, t.size)
    levels, codes = as_labels("group", group, t.size)
    if levels.size != 2:
        raise ValueError(f"group: must have exactly 2 distinct values, got {levels.size}")
    level = check_level(level)
    fits = [kaplan_meier(t[codes == k], e[codes == k], level=level).rmst(tau) for k in range(2)]
    est = fits[1].estimate - fits[0].estimate
    se = math.hypot(fits[0].se, fits[1].se)
    z = _z(level)
    stat = est / se if se > 0 else math.nan
    p = float(2.0 * special.ndtr(-abs(stat))) if se > 0 else math.nan
    return RMSTDifference(
        groups=(levels[0].item(), levels[1].item()),
        tau=float(tau),
        rmst=(fits[0], fits[1]),
        estimate=est,
        se=se,
        ci=(est - z * se, est + z * se),
        statistic=stat,
        p_value=p,
        level=level,
        method="difference in restricted mean survival time",
    )
