"""Cox proportional-hazards regression, as R's ``survival::coxph`` and ``cox.zph`` (>= 3.0).

Everything is vectorised: the rows of each stratum are binned once by the distinct event times
(one sort of the times, skipped when already sorted), each Newton step's risk-set and death
sums are one ``bincount`` per column of ``w exp(x'beta) [1, x, x x']`` followed by reverse
cumulative sums over the bins (``entry`` subtracts the rows not yet entered), and Efron's tie
correction is a short power series in ``D0 / S0`` at the tied times (summed term by term where
the risk set is small); there is no Python loop over rows or times.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy import stats as sps

from celltrial.stats._checks import (
    as_entry,
    as_event,
    as_float_array,
    as_labels,
    as_time,
    as_weights,
    check_choice,
    check_level,
)
from celltrial.stats._result import Result
from celltrial.stats._warnings import NotEstimableWarning, StatisticsWarning
from celltrial.stats.concordance import ConcordanceResult, concordance
from celltrial.stats.cox_zph import CoxZphResult as CoxZphResult
from celltrial.stats.cox_zph import zph_g, zph_test

FloatArray = NDArray[np.float64]
_MAX_ITER = 50
_STEP_TOL = 1e-6
# R's coxph.control(): eps (relative log-likelihood change at which R stops), toler.chol (the
# pivot below which cholesky2 declares a column singular) and toler.inf (the remaining Newton
# step above which R warns that a coefficient may be infinite).
_R_EPS = 1e-9
_TOLER_CHOL = float(np.finfo(np.float64).eps) ** 0.75
_TOLER_INF = math.sqrt(_R_EPS)
# A log-likelihood lower than the previous one by less than this (relative) is rounding noise
# of the sums over the rows (~1e-9 absolute at 1e6 rows), not a reason to halve the step.
_LL_NOISE = 1e-12
# Efron's k-sums at a time with d0 / s0 <= _SERIES_RHO come from power series in d0 / s0,
# truncated after _SERIES_TERMS terms (relative truncation error < 0.05^16 ~ 2e-21).
_SERIES_RHO = 0.05
# With more distinct event times than this, a stratum's rows are kept in bin order (the
# per-step bincounts' bins no longer fit in the caches).
_SORT_ROWS_ABOVE = 1 << 15
_SERIES_TERMS = 16


@dataclasses.dataclass(frozen=True)
class ChiSquareTest(Result):
    """A chi-square test: statistic, degrees of freedom, p-value."""

    statistic: float
    df: int
    p_value: float
    method: str


@dataclasses.dataclass(frozen=True)
class _Stratum:
    """Static structures of one stratum; rows keep their original order.

    ``key = 2 * stop_bin + event`` with ``stop_bin`` the number of the ``m`` distinct event
    times that are <= the row's time: one ``bincount`` over ``key`` gives both the per-bin
    totals (a row is at risk at event time ``j`` when ``j < stop_bin``, and not ``j <
    entry_bin``; risk-set sums are reverse cumulative sums over the bins) and the deaths'
    totals at event time ``j`` (key ``2 (j + 1) + 1``). Efron's correction adds, to the ``k =
    0`` term of every time (Breslow's), the terms ``k = 1 .. d - 1`` of the ``tied`` times (``d
    > 1`` deaths); ``qsum[n]`` holds their power sums ``Q_n = sum_k (k / d)^n`` for the series in
    :func:`_efron_sums`.
    """

    xt: FloatArray
    pairs: list[tuple[int, int]]
    w: FloatArray | None
    entry_bin: NDArray[np.intp] | None
    key: NDArray[np.intp]
    event_times: FloatArray
    n_dead: FloatArray
    dead_w: FloatArray
    mean_dead_w: FloatArray
    dead_wx: FloatArray
    dwx_t: FloatArray
    tied: NDArray[np.intp]
    qsum: FloatArray
    rows: NDArray[np.intp] | None
    # scratch arrays reused by every Newton step of the fit (fresh pages of a million-row
    # array cost more than the arithmetic on them); nothing returned refers to them
    work: dict[str, FloatArray] = dataclasses.field(default_factory=dict, repr=False)

    def scratch(self, name: str, shape: tuple[int, ...]) -> FloatArray:
        """A float64 array of ``shape`` kept under ``name`` for the next call (contents left
        over from the last)."""
        a = self.work.get(name)
        if a is None or a.shape != shape:
            a = self.work[name] = np.empty(shape)
        return a


@dataclasses.dataclass(frozen=True)
class _Terms:
    """Log-likelihood, score, information and, per stratum, the per-time score ``u_t`` (m x p)
    and information ``i_t`` (m x p x p; built on request from its ``(a, b)`` columns, as only
    the final step's is ever read)."""

    loglik: float
    score: FloatArray
    info: FloatArray
    u_t: list[FloatArray]
    i_cols: list[dict[tuple[int, int], FloatArray]]

    @property
    def i_t(self) -> list[FloatArray]:
        p = self.score.size
        out = []
        for cols, u in zip(self.i_cols, self.u_t, strict=True):
            it = np.empty((u.shape[0], p, p))
            for (a, b), col in cols.items():
                it[:, a, b] = col
                if (b, a) not in cols:
                    it[:, b, a] = col
            out.append(it)
        return out


@dataclasses.dataclass(frozen=True)
class CoxResult(Result):
    """A fitted Cox model.

    ``estimate`` holds the coefficients (log hazard ratios), ``se`` their standard errors
    (robust ones when ``robust``), ``ci`` the confidence limits of the hazard ratios, ``z`` and
    ``p_value`` the per-coefficient Wald tests; ``loglik`` is (null, fitted) partial
    log-likelihood.

    ``infinite[j]`` flags a coefficient whose estimate diverges (monotone likelihood: no events
    in one arm, or separation); its ``estimate`` is where the log-likelihood stopped changing
    (as R's), its ``se``, CI and Wald test are meaningless, and the likelihood-ratio and score
    tests remain valid. ``aliased[j]`` flags a coefficient that is not identified (a constant
    or collinear covariate, or no variation within any risk set): R's ``NA``; its estimate,
    SE, variance row and column are NaN and the tests' degrees of freedom exclude it.
    """

    terms: tuple[str, ...]
    estimate: FloatArray
    se: FloatArray
    variance: FloatArray
    naive_variance: FloatArray
    hazard_ratio: FloatArray
    ci: FloatArray
    z: FloatArray
    p_value: FloatArray
    loglik: tuple[float, float]
    wald_test: ChiSquareTest
    lr_test: ChiSquareTest
    score_test: ChiSquareTest
    n: int
    n_event: int
    iterations: int
    ties: str
    robust: bool
    level: float
    method: str
    infinite: NDArray[np.bool_] = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    aliased: NDArray[np.bool_] = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    converged: bool = True
    _fit: Any = dataclasses.field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """All public fields as plain Python values."""
        out = super().to_dict()
        out.pop("_fit", None)
        return out

    def summary(self) -> str:
        """Coefficient table and the three global tests."""
        lines = [f"CoxResult ({self.method}; n={self.n}, events={self.n_event})"]
        lines.append(f"  {'term':<12}{'coef':>11}{'HR':>11}{'se':>11}{'z':>9}{'p':>11}")
        for j, name in enumerate(self.terms):
            if self.aliased.size and self.aliased[j]:
                lines.append(f"  {name:<12}{'NA':>11}  (not estimable: aliased)")
                continue
            flag = "  (infinite: monotone likelihood)" if self.infinite[j] else ""
            lines.append(
                f"  {name:<12}{self.estimate[j]:>11.5g}{self.hazard_ratio[j]:>11.5g}"
                f"{self.se[j]:>11.5g}{self.z[j]:>9.3f}{self.p_value[j]:>11.4g}{flag}"
            )
        for t in (self.lr_test, self.wald_test, self.score_test):
            lines.append(f"  {t.method}: {t.statistic:.4f} on {t.df} df, p={t.p_value:.4g}")
        return "\n".join(lines)

    def concordance(self) -> ConcordanceResult:
        """Harrell's concordance of the linear predictor and its SE, as R's ``fit$concordance``.

        Pairs within strata, with the case weights; see
        :func:`celltrial.stats.concordance.concordance`. Not defined for counting-process
        (``entry``) data here (R's ``concordance4``).
        """
        fit: _FitData = self._fit
        if fit.all_entry is not None or fit.lp is None:
            raise ValueError("concordance: not implemented for (entry, time] data")
        return concordance(
            fit.all_time,
            fit.all_event,
            fit.lp,
            strata=fit.strata_labels,
            weights=fit.weights,
            reverse=True,
        )

    def zph(self, transform: str = "km") -> CoxZphResult:
        r"""Test proportional hazards as R's ``cox.zph`` (survival >= 3.0).

        With ``g(t)`` the transformed event time centred at its mean over the events, the
        score vector ``U_2 = sum_t g(t) u_t`` and information ``[[I, G1], [G1, G2]]`` (``G_k =
        sum_t g(t)^k I_t``, ``u_t`` and ``I_t`` the per-time score and information at the
        fitted coefficients) give, for each term, ``chi2 = u' M^{-1} u`` on the rows/columns of
        all coefficients plus that term's ``g`` column, and globally on all of them.

        ``transform`` is ``"km"`` (1 - left-continuous pooled KM), ``"rank"`` (ranks of all
        follow-up times) or ``"identity"``.

        References
        ----------
        Grambsch PM, Therneau TM (1994). Biometrika 81:515–526. Therneau TM (2020), survival
        3.0 ``cox.zph`` vignette.
        """
        check_choice("transform", transform, ("km", "rank", "identity"))
        if np.any(self.aliased):
            raise ValueError("zph: the model has aliased (NA) coefficients; drop them and refit")
        if self.ties == "exact":
            raise ValueError('zph: not implemented for ties = "exact"; refit with "efron"')
        fit: _FitData = self._fit
        gvals = zph_g(
            [s.event_times for s in fit.strata],
            fit.all_time,
            fit.all_event,
            fit.all_entry,
            transform,
        )
        return zph_test(fit.terms.info, fit.terms.u_t, fit.terms.i_t, gvals, self.terms, transform)


@dataclasses.dataclass(frozen=True)
class _FitData:
    strata: list[_Stratum]
    terms: _Terms
    all_time: FloatArray
    all_event: NDArray[np.bool_]
    all_entry: FloatArray | None
    lp: FloatArray | None = None
    strata_labels: Any = None
    weights: FloatArray | None = None


def _k_terms(d: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp], FloatArray]:
    """Efron's terms ``k = 1 .. d_i - 1`` of each ``d_i`` laid out one after another: the
    entry ``i`` of each term, the start of each entry's segment and ``f = k / d_i``."""
    reps = d - 1
    starts = np.cumsum(reps) - reps
    owner = np.repeat(np.arange(d.size), reps)
    k = np.arange(1, owner.size + 1) - starts[owner]
    return owner, starts, k / d[owner]


def _power_sums(d: NDArray[np.intp]) -> FloatArray:
    """``Q_n(d) = sum_{k=1}^{d-1} (k/d)^n`` for ``n = 0 .. _SERIES_TERMS + 1``, one column per
    entry of ``d`` (all >= 2), computed once per distinct ``d``."""
    ud, inv = np.unique(d, return_inverse=True)
    _, starts, f = _k_terms(ud)
    q = np.empty((_SERIES_TERMS + 2, ud.size))
    fn = np.ones_like(f)
    for n in range(_SERIES_TERMS + 2):
        q[n] = np.add.reduceat(fn, starts) if f.size else 0.0
        fn *= f
    out: FloatArray = q[:, inv.reshape(-1)]
    return out


def _bins(idx: NDArray[np.intp], v: FloatArray, nb: int) -> FloatArray:
    """Sums of ``v`` by ``idx`` (``nb`` bins)."""
    out: FloatArray = np.bincount(idx, weights=v, minlength=nb).astype(np.float64, copy=False)
    return out


def _stable_order(key: NDArray[np.intp]) -> NDArray[np.intp]:
    """``np.argsort(key, kind="stable")`` for keys in ``[0, 2^k)``: one value sort of ``key <<
    b | row`` (SIMD in numpy >= 2) when key and row number fit in 63 bits."""
    n = key.size
    ibits = max(n - 1, 1).bit_length()
    if n < 2 or int(key.max()).bit_length() + ibits > 63:
        return np.argsort(key, kind="stable")
    packed = np.left_shift(key, ibits, dtype=np.int64)
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    packed &= (1 << ibits) - 1
    return packed.astype(np.intp, copy=False)


def _build_stratum(
    xt: FloatArray,
    t: FloatArray,
    e: NDArray[np.bool_],
    w: FloatArray | None,
    entry: FloatArray | None,
    rows: NDArray[np.intp] | None,
    ties: str,
) -> _Stratum:
    if rows is None:  # a single stratum: no copies
        xs, ts, es, ws, en = xt, t, e, w, entry
    else:
        xs, ts, es = xt[:, rows], t[rows], e[rows]
        ws = None if w is None else w[rows]
        en = None if entry is None else entry[rows]
    # Bin the rows by the event times: sort the times once (unless already sorted), count the
    # distinct event times up to each distinct time, and scatter the bins back to the rows.
    order: NDArray[np.intp] | None = None
    if ts.size > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        order = np.argsort(ts)
        t_sorted, e_sorted = np.take(ts, order), np.take(es, order)
    else:
        t_sorted, e_sorted = ts, es
    last = np.append(np.flatnonzero(t_sorted[1:] != t_sorted[:-1]), t_sorted.size - 1)
    starts = np.concatenate(([0], last[:-1] + 1))
    deaths = np.add.reduceat(e_sorted.view(np.uint8), starts, dtype=np.intp)  # per distinct time
    is_event = deaths > 0
    event_times = t_sorted[last[is_event]]
    counts = deaths[is_event]
    m = event_times.size
    stop_bin = np.repeat(np.cumsum(is_event), last - starts + 1)
    key_sorted = stop_bin * 2 + e_sorted
    if order is None:
        key = key_sorted
    else:
        key = np.empty_like(key_sorted)
        key[order] = key_sorted
    if order is not None and m > _SORT_ROWS_ABOVE:
        # Keep the rows in key order, those of a key in their original order: each Newton
        # step's bincounts then walk memory in order instead of scattering over bins larger
        # than the caches, and add within every bin in the same order as before (the same
        # sums, bit for bit).
        perm = _stable_order(key)
        key = key[perm]
        xs = np.take(xs, perm, axis=1)
        ws = None if ws is None else ws[perm]
        en = None if en is None else en[perm]
        rows = perm if rows is None else rows[perm]
    p = xs.shape[0]
    nb = 2 * m + 2
    n_dead = counts.astype(np.float64)
    if ws is None:
        dead_w = n_dead
        dwx_t = np.stack([_bins(key, xs[j], nb)[3::2] for j in range(p)], axis=1)
    else:
        dead_w = _bins(key, ws, nb)[3::2]
        dwx_t = np.stack([_bins(key, ws * xs[j], nb)[3::2] for j in range(p)], axis=1)
    tied = np.flatnonzero(counts > 1) if ties == "efron" else np.zeros(0, dtype=np.intp)
    return _Stratum(
        xt=xs,
        pairs=[(a, b) for a in range(p) for b in range(a + 1)],
        w=ws,
        entry_bin=None if en is None else np.searchsorted(event_times, en, side="right"),
        key=key,
        event_times=event_times,
        n_dead=n_dead,
        dead_w=dead_w,
        mean_dead_w=dead_w / n_dead,
        dead_wx=dwx_t.sum(axis=0),
        dwx_t=dwx_t,
        tied=tied,
        qsum=_power_sums(counts[tied]),
        rows=rows,
    )


@dataclasses.dataclass(frozen=True)
class _TimeSums:
    """Per-event-time sums at one ``beta``: risk-set (S) and death (D) sums and Efron's
    k-sums ``H1 = sum_k 1/D_k``, ``Hf = sum_k f_k/D_k``, ``Q0 = sum_k 1/D_k^2``,
    ``Qf = sum_k f_k/D_k^2``, ``Qff = sum_k f_k^2/D_k^2`` (``f_k = k/d``,
    ``D_k = S0 - f_k D0``), ``L = sum_k log D_k`` and the death weight per k-term ``mw``."""

    eta: FloatArray
    s1: FloatArray
    s2: FloatArray
    d1: FloatArray
    d2: FloatArray
    mw: FloatArray
    log_sum: FloatArray
    h1: FloatArray
    hf: FloatArray
    q0: FloatArray
    qf: FloatArray
    qff: FloatArray


def _efron_sums(
    s: _Stratum, s0: FloatArray, d0: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """``L, H1, Hf, Q0, Qf, Qff`` (see :class:`_TimeSums`) at each event time.

    The ``k = 0`` term is Breslow's. At the tied times, with ``rho = D0 / S0`` and ``D_k = S0
    (1 - f_k rho)``, the terms ``k >= 1`` are ``sum_k log D_k = (d - 1) log S0 - sum_{n>=1}
    rho^n Q_n / n``, ``sum_k f_k^a / D_k = S0^-1 sum_n rho^n Q_{n+a}`` and ``sum_k f_k^a /
    D_k^2 = S0^-2 sum_n (n + 1) rho^n Q_{n+a}`` (all terms positive, no cancellation) where
    ``rho <= _SERIES_RHO``, and summed term by term elsewhere.
    """
    m = s0.size
    log_sum = np.log(s0)
    h1 = 1.0 / s0
    q0 = h1 * h1
    hf, qf, qff = np.zeros(m), np.zeros(m), np.zeros(m)
    if s.tied.size == 0:
        return log_sum, h1, hf, q0, qf, qff
    big = s0[s.tied]
    rho = d0[s.tied] / big
    ser = rho <= _SERIES_RHO
    if np.any(ser):
        i, sv, q = s.tied[ser], big[ser], s.qsum[:, ser]
        nt = _SERIES_TERMS
        pw = np.empty((nt, i.size))
        pw[0] = 1.0
        for n in range(1, nt):
            np.multiply(pw[n - 1], rho[ser], out=pw[n])
        npw = pw * np.arange(1, nt + 1)[:, None]
        inv1 = 1.0 / sv
        inv2 = inv1 * inv1
        log_sum[i] += q[0] * np.log(sv) - np.sum(pw[1:] * q[1:nt] / np.arange(1, nt)[:, None], 0)
        h1[i] += inv1 * np.sum(pw * q[:nt], 0)
        hf[i] = inv1 * np.sum(pw * q[1 : nt + 1], 0)
        q0[i] += inv2 * np.sum(npw * q[:nt], 0)
        qf[i] = inv2 * np.sum(npw * q[1 : nt + 1], 0)
        qff[i] = inv2 * np.sum(npw * q[2 : nt + 2], 0)
    if not np.all(ser):
        i = s.tied[~ser]
        owner, starts, f = _k_terms(s.n_dead[i].astype(np.intp))
        kt = i[owner]
        dk = s0[kt] - f * d0[kt]
        kv = np.empty((6, dk.size))
        np.log(dk, out=kv[0])
        np.divide(1.0, dk, out=kv[1])
        np.multiply(f, kv[1], out=kv[2])
        np.multiply(kv[1], kv[1], out=kv[3])
        np.multiply(f, kv[3], out=kv[4])
        np.multiply(f, kv[4], out=kv[5])
        ks = np.add.reduceat(kv, starts, axis=1)
        log_sum[i] += ks[0]
        h1[i] += ks[1]
        hf[i] = ks[2]
        q0[i] += ks[3]
        qf[i] = ks[4]
        qff[i] = ks[5]
    return log_sum, h1, hf, q0, qf, qff


def _time_sums(s: _Stratum, beta: FloatArray, ties: str) -> _TimeSums:
    p = s.xt.shape[0]
    m = s.event_times.size
    nb = 2 * m + 2
    n = s.xt.shape[1]
    # x'beta without BLAS (its threads only slow down an n x p matvec)
    eta = np.multiply(s.xt[0], beta[0], out=s.scratch("eta", (n,)))
    buf = s.scratch("buf", (n,))
    for j in range(1, p):
        eta += np.multiply(s.xt[j], beta[j], out=buf)
    rw = np.exp(eta, out=s.scratch("rw", (n,)))
    if s.w is not None:
        rw *= s.w
    rx = np.multiply(s.xt, rw, out=s.scratch("rx", (p, n)))
    # columns: w r, w r x_a, w r x_a x_b (pairs)
    ncol = 1 + p + len(s.pairs)
    risk = s.scratch("risk", (ncol, m + 1))
    dead = s.scratch("dead", (ncol, m))
    for c in range(ncol):
        if c == 0:
            v = rw
        elif c <= p:
            v = rx[c - 1]
        else:
            a, b = s.pairs[c - 1 - p]
            v = np.multiply(rx[a], s.xt[b], out=buf)
        tot = _bins(s.key, v, nb)
        np.add(tot[0::2], tot[1::2], out=risk[c])
        dead[c] = tot[3::2]
        if s.entry_bin is not None:
            risk[c] -= _bins(s.entry_bin, v, m + 1)
    # risk-set sums: cumulative sums from the last bin back (one contiguous pass per column;
    # a cumsum along axis 1 of the reversed matrix walks it column by column)
    sums = s.scratch("sums", (ncol, m))
    back = s.scratch("back", (m + 1,))
    for c in range(ncol):
        np.cumsum(risk[c, ::-1], out=back)
        sums[c] = back[-2::-1]
    s0, d0 = sums[0], dead[0]
    s1, s2 = sums[1 : p + 1].T, sums[p + 1 :].T
    d1, d2 = dead[1 : p + 1].T, dead[p + 1 :].T
    log_sum, h1, hf, q0, qf, qff = _efron_sums(s, s0, d0)
    mw = s.mean_dead_w if ties == "efron" else s.dead_w
    return _TimeSums(eta, s1, s2, d1, d2, mw, log_sum, h1, hf, q0, qf, qff)


def _terms(strata: list[_Stratum], beta: FloatArray, ties: str) -> _Terms:
    """Partial log-likelihood, score and information (and their per-time pieces)."""
    p = beta.size
    ll = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    u_ts: list[FloatArray] = []
    i_cols: list[dict[tuple[int, int], FloatArray]] = []
    for s in strata:
        ts = _time_sums(s, beta, ties)
        m = s.event_times.size
        ll += float(s.dead_wx @ beta - np.sum(ts.mw * ts.log_sum))
        # sum_k M_k = S1 H1 - D1 Hf, per time
        msum = ts.s1 * ts.h1[:, None] - ts.d1 * ts.hf[:, None]
        u_t = s.dwx_t - ts.mw[:, None] * msum
        # the information's (a, b) column per time: the same operations in the same order as
        # mw (S2 H1 - D2 Hf - (S1a S1b Q0 - (S1a D1b + D1a S1b) Qf + D1a D1b Qff)), written
        # into scratch arrays
        t1, t2, t3 = (s.scratch(f"t{i}", (m,)) for i in range(3))
        cols: dict[tuple[int, int], FloatArray] = {}
        for c, (a, b) in enumerate(s.pairs):
            s1a, s1b, d1a, d1b = ts.s1[:, a], ts.s1[:, b], ts.d1[:, a], ts.d1[:, b]
            np.multiply(s1a, s1b, out=t1)
            t1 *= ts.q0
            np.multiply(s1a, d1b, out=t2)
            t2 += np.multiply(d1a, s1b, out=t3)
            t2 *= ts.qf
            t1 -= t2
            np.multiply(d1a, d1b, out=t2)
            t2 *= ts.qff
            t1 += t2  # mm
            np.multiply(ts.s2[:, c], ts.h1, out=t2)
            t2 -= np.multiply(ts.d2[:, c], ts.hf, out=t3)
            t2 -= t1
            col = cols[(a, b)] = np.multiply(ts.mw, t2)
            # the information summed in time order (as i_t.sum(axis=0) of the C-ordered
            # m x p x p array): one contiguous pass
            total = np.cumsum(col, out=t1)[-1] if m else 0.0
            info[a, b] += total
            if a != b:
                info[b, a] += total
        acc = s.scratch("t0", (m,))
        for a in range(p):  # (as u_t.sum(axis=0) of the C-ordered m x p array)
            score[a] += np.cumsum(u_t[:, a], out=acc)[-1] if m else 0.0
        u_ts.append(u_t)
        i_cols.append(cols)
    return _Terms(loglik=ll, score=score, info=info, u_t=u_ts, i_cols=i_cols)


def _score_residuals(s: _Stratum, beta: FloatArray, ties: str) -> FloatArray:
    """Score residuals of each row of the stratum (R's ``residuals(fit, "score")``).

    ``L_i = delta_i (x_i - xbar_i) - r_i sum_t sum_k c_ik haz_k (x_i - M_k)`` with ``haz_k =
    mw / D_k`` and ``c_ik = 1`` (``1 - f_k`` for the deaths at ``t``, Efron).
    """
    ts = _time_sums(s, beta, ties)
    x = s.xt.T
    p = x.shape[1]
    hi = s.key >> 1
    dr = np.flatnonzero(s.key & 1)
    j = hi[dr] - 1
    dx = x[dr]
    r = np.exp(ts.eta)
    mw = ts.mw[:, None]
    h = ts.mw * ts.h1
    a = ts.mw * ts.hf
    hx = mw * (ts.s1 * ts.q0[:, None] - ts.d1 * ts.qf[:, None])
    ax = mw * (ts.s1 * ts.qf[:, None] - ts.d1 * ts.qff[:, None])
    if ties == "efron":
        xbar = (ts.s1 * ts.h1[:, None] - ts.d1 * ts.hf[:, None]) / s.n_dead[:, None]
    else:
        xbar = ts.s1 * ts.h1[:, None]
    ch = np.concatenate(([0.0], np.cumsum(h)))
    chx = np.vstack((np.zeros((1, p)), np.cumsum(hx, axis=0)))
    lo = np.zeros_like(hi) if s.entry_bin is None else s.entry_bin
    resid = -r[:, None] * (x * (ch[hi] - ch[lo])[:, None] - (chx[hi] - chx[lo]))
    resid[dr] += dx - xbar[j]
    resid[dr] += r[dr, None] * (dx * a[j, None] - ax[j])
    out: FloatArray = resid.astype(np.float64, copy=False)
    return out


def _exact_terms(
    xt: FloatArray,
    t: FloatArray,
    e: NDArray[np.bool_],
    groups: list[NDArray[np.intp] | None],
    beta: FloatArray,
) -> _Terms:
    """Partial log-likelihood, score and information with R's ``ties = "exact"``.

    At an event time with ``d`` deaths in the risk set ``R`` (``r_j = exp(eta_j)``) the term
    is ``sum_dead eta - log e_d(r_R)``, ``e_d`` the elementary symmetric polynomial of degree
    ``d`` (the sum over all ``d``-subsets of the risk set): the exact conditional (discrete
    logistic) likelihood. ``e_d`` and its first and second derivatives in ``beta`` come from
    the recursion ``B_k(m) = B_k(m - 1) + r_m B_{k-1}(m - 1)`` over the members ``m`` of the
    risk set (scaled by the largest ``r``); a time with one death is Breslow's term.
    """
    p = beta.size
    eta_all = beta @ xt
    ll = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    u_ts: list[FloatArray] = []
    i_cols: list[dict[tuple[int, int], FloatArray]] = []
    for g in groups:
        rows = np.arange(t.size) if g is None else g
        tt, ee, xx, eta = t[rows], e[rows], xt[:, rows].T, eta_all[rows]
        etimes = np.unique(tt[ee])
        u_t = np.zeros((etimes.size, p))
        i_t = np.zeros((etimes.size, p, p))
        for j, tau in enumerate(etimes):
            risk = tt >= tau
            dead = (tt == tau) & ee
            d = int(np.sum(dead))
            xr, er = xx[risk], eta[risk]
            c = float(np.max(er))
            r = np.exp(er - c)
            if d == 1:
                s0 = float(np.sum(r))
                s1 = r @ xr / s0
                s2 = (xr.T * r) @ xr / s0
                log_ed = math.log(s0)
                mean, second = s1, s2
            else:
                bk = np.zeros(d + 1)
                bk[0] = 1.0
                db = np.zeros((d + 1, p))
                ddb = np.zeros((d + 1, p, p))
                for rm, xm in zip(r.tolist(), xr, strict=True):
                    xx_m = np.outer(xm, xm)
                    add_dd = rm * (
                        xx_m[None] * bk[:-1, None, None]
                        + xm[None, :, None] * db[:-1, None, :]
                        + db[:-1, :, None] * xm[None, None, :]
                        + ddb[:-1]
                    )
                    add_d = rm * (xm[None, :] * bk[:-1, None] + db[:-1])
                    add_b = rm * bk[:-1]
                    ddb[1:] += add_dd
                    db[1:] += add_d
                    bk[1:] += add_b
                log_ed = math.log(bk[d])
                mean = db[d] / bk[d]
                second = ddb[d] / bk[d]
            u = xx[dead].sum(axis=0) - mean
            inf = second - np.outer(mean, mean)
            ll += float(np.sum(eta[dead])) - log_ed - d * c
            u_t[j] = u
            i_t[j] = inf
        score += u_t.sum(axis=0)
        info += i_t.sum(axis=0)
        u_ts.append(u_t)
        i_cols.append({(a, b): i_t[:, a, b] for a in range(p) for b in range(p)})
    return _Terms(loglik=ll, score=score, info=info, u_t=u_ts, i_cols=i_cols)


def _test(stat: float, df: int, method: str) -> ChiSquareTest:
    p = float(sps.chi2.sf(stat, df)) if df > 0 else 1.0
    return ChiSquareTest(statistic=stat if df > 0 else 0.0, df=df, p_value=p, method=method)


def _ginv(info: FloatArray, guard: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Generalized inverse of the information as R's ``cholesky2``/``chinv2``.

    An LDL' factorisation in column order declares column ``i`` singular when its pivot is
    below ``toler.chol`` times the largest diagonal element (R's rule) or below ``guard[i]``
    (an absolute floor: ~1e-12 of the most information the column could carry, which catches
    a column whose information is rounding noise); the inverse is that of the remaining
    columns, with zero rows and columns for the singular ones. Returns it and the mask of the
    columns kept.
    """
    p = info.shape[0]
    a = np.array(info, dtype=np.float64)
    eps = _TOLER_CHOL * max(float(np.max(np.diag(a))), 0.0)
    ok = np.zeros(p, dtype=bool)
    for i in range(p):
        piv = a[i, i]
        if not (piv > eps and piv > guard[i]):
            continue
        ok[i] = True
        for j in range(i + 1, p):
            temp = a[j, i] / piv
            a[j, j] -= temp * temp * piv
            a[j + 1 :, j] -= temp * a[j + 1 :, i]
            a[j, i] = temp
    out = np.zeros((p, p))
    if np.any(ok):
        keep = np.ix_(ok, ok)
        out[keep] = np.linalg.inv(info[keep])
    return out, ok


def cox_ph(
    X: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    ties: str = "efron",
    strata: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    cluster: ArrayLike | None = None,
    robust: bool = False,
    names: Sequence[str] | None = None,
    level: float = 0.95,
) -> CoxResult:
    r"""Fit a Cox proportional-hazards model by Newton–Raphson.

    Partial log-likelihood with Efron's tie correction (event time ``t`` with ``d`` deaths,
    weights ``w``, ``r = w exp(x'beta)``, risk-set sum ``S0``, deaths' sum ``D0``):

    .. math::

        \ell(\beta) = \sum_{\text{deaths}} w_i x_i'\beta
            - \sum_t \bar w_t \sum_{k=0}^{d-1} \log\Bigl(S_0(t) - \tfrac{k}{d} D_0(t)\Bigr),

    ``bar w_t`` the mean weight of the deaths; Breslow's uses ``sum_t W_t log S0(t)``. The
    robust (sandwich) variance is ``V B V`` with ``V`` the inverse information and ``B =
    sum_c (sum_{i in c} w_i L_i)(...)'`` over clusters ``c`` of the weighted score residuals
    ``L_i`` (each row its own cluster when ``cluster`` is not given).

    Parameters
    ----------
    X
        Covariates, shape (n,) or (n, p).
    time, event
        Follow-up (stop) times and event indicators.
    ties
        ``"efron"`` (R's default), ``"breslow"`` or ``"exact"`` (the exact conditional
        likelihood, R's ``ties = "exact"``; without weights, entry or robust variance).
    strata
        Stratum labels: separate baseline hazards.
    entry
        Start times for counting-process data ``(entry, time]``.
    weights
        Case weights.
    cluster
        Cluster labels for the robust variance (implies ``robust``).
    robust
        Use the sandwich variance for SEs, CIs and the Wald test.
    names
        Term names (default ``x1``, ``x2``, ...).
    level
        Confidence level for the hazard-ratio CIs.

    Notes
    -----
    R equivalent: ``coxph(Surv(entry, time, event) ~ X + strata(s) + cluster(c), ties = ties,
    weights = w, robust = robust)``; ``loglik``, ``wald.test``, ``summary(fit)$logtest``,
    ``$sctest``. Coefficients are iterated to full convergence (R stops at a relative
    log-likelihood change of 1e-9), so they agree with R to about 1e-9. All-censored data
    raise ``ValueError``.

    References
    ----------
    Cox DR (1972). JRSS B 34:187–220. Efron B (1977). JASA 72:557–565. Lin DY, Wei LJ (1989).
    JASA 84:1074–1078. Therneau TM, Grambsch PM (2000). Modeling Survival Data.
    """
    t = as_time("time", time)
    n = t.size
    e = as_event("event", event, n)
    xarr = np.asarray(X, dtype=np.float64) if not isinstance(X, np.ndarray) else X
    xarr = np.asarray(xarr, dtype=np.float64)
    if xarr.ndim == 1:
        xarr = xarr[:, None]
    if xarr.ndim != 2 or xarr.shape[1] == 0:
        raise ValueError(f"X: must have shape (n,) or (n, p) with p >= 1, got {xarr.shape}")
    if xarr.shape[0] != n:
        raise ValueError(f"X: has {xarr.shape[0]} rows but time has length {n}")
    xt = np.array(xarr.T, dtype=np.float64, order="C")  # one contiguous row per covariate
    for j in range(xt.shape[0]):
        as_float_array(f"X[:, {j}]", xt[j])
    check_choice("ties", ties, ("efron", "breslow", "exact"))
    if ties == "exact" and (
        weights is not None or entry is not None or robust or cluster is not None
    ):
        raise ValueError(
            'ties: "exact" is implemented without weights, entry, robust or cluster; use '
            '"efron" for those'
        )
    level = check_level(level)
    w = None if weights is None else as_weights("weights", weights, n)
    en = None if entry is None else as_entry("entry", entry, t)
    if not np.any(e):
        raise ValueError("event: all observations are censored; the model cannot be fitted")
    p = xarr.shape[1]
    term_names = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(p))
    if len(term_names) != p:
        raise ValueError(f"names: {len(term_names)} names for {p} columns of X")
    xt -= xt.mean(axis=1)[:, None]
    xt[np.ptp(xt, axis=1) == 0.0] = 0.0  # a constant covariate centres to exact zeros
    groups: list[NDArray[np.intp] | None]
    if strata is None:
        groups = [None]
    else:
        _, codes = as_labels("strata", strata, n)
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        groups = [g for g in np.split(order, bounds)]
    sts = [
        _build_stratum(xt, t, e, w, en, g, "breslow" if ties == "exact" else ties) for g in groups
    ]

    def evaluate(b: FloatArray) -> _Terms:
        if ties == "exact":
            return _exact_terms(xt, t, e, groups, b)
        return _terms(sts, b, ties)

    # An information that cannot exceed the deaths' weight times max x_j^2: a pivot below
    # 1e-12 of that is rounding noise (constant covariate, or none varies in any risk set).
    dead_total = sum(float(np.sum(s.dead_w)) for s in sts)
    guard = 1e-12 * dead_total * np.max(xt * xt, axis=1)
    beta = np.zeros(p)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        terms0 = evaluate(beta)
        ginv, ok = _ginv(terms0.info, guard)
        score_stat = float(terms0.score @ ginv @ terms0.score)
        cur = terms0
        it = 0
        converged = False
        infinite = np.zeros(p, dtype=bool)
        for it in range(1, _MAX_ITER + 1):
            step = ginv @ cur.score
            new_beta = beta + step
            new = evaluate(new_beta)
            halvings = 0
            floor = cur.loglik - _LL_NOISE * abs(cur.loglik)
            while (not math.isfinite(new.loglik) or new.loglik < floor) and halvings < 30:
                new_beta = (beta + new_beta) / 2.0
                new = evaluate(new_beta)
                halvings += 1
            # Newton converges quadratically: once a step is below 1e-6 (relative) and the
            # log-likelihood has settled, the new beta is within ~1e-12 of the maximum.
            small = np.max(np.abs(new_beta - beta)) <= _STEP_TOL * (1.0 + np.max(np.abs(beta)))
            change = abs(new.loglik - cur.loglik)
            converged = bool(small and change <= 1e-11 * abs(new.loglik))
            settled = halvings == 0 and change <= _R_EPS * max(abs(new.loglik), 1.0)
            beta, cur = new_beta, new
            ginv, ok = _ginv(cur.info, guard)
            if converged:
                break
            if settled or it == _MAX_ITER:
                # Where R stops (the log-likelihood settled to 1e-9): a coefficient that would
                # still move by more than toler.inf is diverging (R's "may be infinite").
                rest = np.abs(ginv @ cur.score)
                infinite = ok & (rest > _TOLER_INF) & (rest > _TOLER_INF * np.abs(beta))
                if np.any(infinite):
                    break
    aliased = ~ok
    if np.any(infinite):
        which = ", ".join(term_names[j] for j in np.flatnonzero(infinite))
        warnings.warn(
            f"cox_ph: the log-likelihood converged before {which}; the coefficient is "
            "infinite (monotone likelihood: e.g. no events in one group). Its Wald SE, CI and "
            "p-value are meaningless; use the likelihood-ratio or score test",
            NotEstimableWarning,
            stacklevel=2,
        )
    elif not converged:
        warnings.warn(
            f"cox_ph: did not converge in {_MAX_ITER} iterations", StatisticsWarning, stacklevel=2
        )
    if np.any(aliased):
        which = ", ".join(term_names[j] for j in np.flatnonzero(aliased))
        warnings.warn(
            f"cox_ph: {which} not estimable (constant, collinear with other covariates, or not "
            "varying within any risk set); coefficient NA as in R",
            NotEstimableWarning,
            stacklevel=2,
        )
    final = cur  # the terms at the final beta (per-time pieces included)
    naive: FloatArray = ginv
    var = naive
    robust = bool(robust or cluster is not None)
    if robust:
        resid = np.zeros((n, p))
        for s in sts:
            if s.rows is None:
                resid[:] = _score_residuals(s, beta, ties)
            else:
                resid[s.rows] = _score_residuals(s, beta, ties)
        wres = resid if w is None else resid * w[:, None]
        if cluster is not None:
            _, ccodes = as_labels("cluster", cluster, n)
            wres = np.stack([np.bincount(ccodes, weights=wres[:, j]) for j in range(p)], axis=1)
        dfb = wres @ naive
        var = (dfb.T @ dfb).astype(np.float64, copy=False)
    for s in sts:  # the fit is done: the result keeps no scratch arrays
        s.work.clear()
    df = int(np.sum(ok))
    keep = np.ix_(ok, ok)
    wald = float(beta[ok] @ np.linalg.solve(var[keep], beta[ok])) if df else 0.0
    beta = np.where(ok, beta, np.nan)
    nan_rc = ~(ok[:, None] & ok[None, :])
    naive = np.where(nan_rc, np.nan, naive)
    var = np.where(nan_rc, np.nan, var)
    se = np.sqrt(np.diag(var))
    zq = float(special.ndtri(1.0 - (1.0 - level) / 2.0))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = beta / se
        ci = np.column_stack((np.exp(beta - zq * se), np.exp(beta + zq * se)))
    return CoxResult(
        terms=term_names,
        estimate=beta,
        se=se,
        variance=var,
        naive_variance=naive,
        hazard_ratio=np.exp(beta),
        ci=ci,
        z=z,
        p_value=2.0 * special.ndtr(-np.abs(z)),
        loglik=(terms0.loglik, final.loglik),
        wald_test=_test(wald, df, "Wald test" + (" (robust)" if robust else "")),
        lr_test=_test(2.0 * (final.loglik - terms0.loglik), df, "likelihood-ratio test"),
        score_test=_test(score_stat, df, "score (log-rank) test"),
        n=n,
        n_event=int(np.sum(e)),
        iterations=it,
        ties=ties,
        robust=robust,
        level=level,
        method=f"Cox proportional hazards ({ties} ties)",
        infinite=infinite,
        aliased=aliased,
        converged=bool(converged or np.any(infinite)),
        _fit=_FitData(
            strata=sts,
            terms=final,
            all_time=t,
            all_event=e,
            all_entry=en,
            lp=np.asarray(np.nan_to_num(beta) @ xt, dtype=np.float64),
            strata_labels=strata,
            weights=w,
        ),
    )
