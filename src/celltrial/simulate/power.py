"""Power by simulation, batched over trials (vectorized numpy, no Python loop per trial).

Trials are simulated in batches of ``batch`` trials; batch ``i`` draws from the ``i``-th child
of the caller's generator (``rng.spawn``), so a run gives the same numbers whether its batches
run in one process, in any order, or on a Dask cluster.

- :func:`simulate_logrank_power`: the classic design (exponential survival, accrual over a
  fixed time, analysis at a fixed number of events, log-rank), as rpact's
  ``getSimulationSurvival`` (``accrual="equal-intervals"`` is rpact's accrual model).
- :func:`power`: every endpoint of a protocol with a test the analysis runs (:func:`plan`):
  time to event (log-rank), binary and safety counts (Fisher exact), continuous (Wilcoxon
  rank-sum; Welch's t-test when listed), with the type I error under the null (every arm on
  the control arm's scenario). The batch tests are :func:`fisher_batch`,
  :func:`~celltrial.simulate.logrank_batch.logrank_batch` and those of
  :mod:`celltrial.simulate.batch_tests`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from celltrial.protocol import Endpoint, Measurement, Protocol, Visit
from celltrial.simulate.batch_tests import t_test_batch, wilcoxon_batch
from celltrial.simulate.logrank_batch import _result, logrank_batch
from celltrial.simulate.outcomes import DEATH, Outcomes, draw_outcomes, event_time, time_to_event
from celltrial.simulate.scenario import Scenario
from celltrial.simulate.values import biomarker

DEFAULT_BATCH = 10_000
HOURS_PER_DAY = 24.0
Progress = Callable[[int], None]
#: Runs jobs (size, generator) and yields one list of rejection counts per job, in order:
#: ``runner(jobs, protocol=, scenario=, pairs=, n=)``.
Runner = Callable[..., Iterable[list[int]]]


@dataclasses.dataclass(frozen=True)
class SimulatedPower:
    """Rejection rate over simulated trials, with its Monte Carlo standard error."""

    power: float
    se: float
    trials: int
    alpha: float
    method: str

    def summary(self) -> str:
        return f"{self.method}: power {self.power:.4f} (MC SE {self.se:.4f}, {self.trials} trials)"

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _rate(rejections: int, trials: int, alpha: float, method: str) -> SimulatedPower:
    p = rejections / trials if trials else math.nan
    return SimulatedPower(
        power=p,
        se=math.sqrt(p * (1 - p) / trials) if trials else math.nan,
        trials=trials,
        alpha=alpha,
        method=method,
    )


def batches(trials: int, batch: int) -> list[int]:
    """Sizes of the batches a run of ``trials`` is cut into."""
    if trials < 1 or batch < 1:
        raise ValueError(f"trials, batch: must be >= 1, got {trials}, {batch}")
    full, rest = divmod(trials, batch)
    return [batch] * full + ([rest] if rest else [])


def arm_sizes(n: int, weights: Sequence[int]) -> list[int]:
    """Fixed arm sizes for ``n`` participants allocated by integer ``weights`` (largest
    remainder, ties to the earlier arm)."""
    total = sum(weights)
    exact = [n * w / total for w in weights]
    sizes = [math.floor(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: sizes[i] - exact[i])[: n - sum(sizes)]:
        sizes[i] += 1
    return sizes


# --------------------------------------------------------------------------------------------
# The classic design
# --------------------------------------------------------------------------------------------


#: Accrual models of the classic design: ``"uniform"``, each participant's entry time drawn
#: independently and uniformly on ``[0, accrual_time]``, arms of fixed sizes (the first
#: ``n1`` participants experimental); ``"equal-intervals"``, rpact's ``getSimulationSurvival``
#: model, participant ``k = 1 .. n`` entering at ``k * accrual_time / n`` with the arms
#: alternating in blocks of the allocation (``allocation[0]`` experimental, then
#: ``allocation[1]`` control, repeated).
ACCRUALS = ("uniform", "equal-intervals")
# Trials processed together by simulate_logrank_power's fused path (its arrays stay in cache).
_CHUNK = 1024


@dataclasses.dataclass(frozen=True)
class LogrankTrials:
    """Simulated trials of the classic design: follow-up at the analysis (NaN when not yet
    enrolled), event, group (1 = experimental)."""

    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    group: NDArray[np.int64]


def _check_design(n: int, hazard_ratio: float, control_median: float, accrual_time: float,
                  events: int, accrual: str) -> None:  # fmt: skip
    if not 1 <= events <= n:
        raise ValueError(f"events: must lie in 1..n ({n}), got {events}")
    if hazard_ratio <= 0 or control_median <= 0 or accrual_time < 0:
        raise ValueError("hazard_ratio, control_median: must be > 0; accrual_time >= 0")
    if accrual not in ACCRUALS:
        raise ValueError(f"accrual: one of {', '.join(map(repr, ACCRUALS))}, got {accrual!r}")


def _group(n: int, allocation: tuple[int, int], accrual: str) -> NDArray[np.int64]:
    """Group of each participant (1 = experimental) in entry order (see :data:`ACCRUALS`)."""
    group = np.zeros(n, dtype=np.int64)
    if accrual == "uniform":
        n1, _ = arm_sizes(n, allocation)
        group[:n1] = 1
    else:
        a, b = allocation
        group[np.arange(n) % (a + b) < a] = 1
    return group


def _entry(
    n: int, accrual_time: float, trials: int, accrual: str, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Entry times, shape (trials, n) (``"equal-intervals"``: one row broadcast)."""
    if accrual == "uniform":
        return rng.random((trials, n)) * accrual_time
    return np.broadcast_to(np.arange(1, n + 1) * (accrual_time / n), (trials, n))


def simulate_logrank_trials(
    *,
    n: int,
    hazard_ratio: float,
    control_median: float,
    accrual_time: float,
    events: int,
    trials: int,
    rng: np.random.Generator,
    allocation: tuple[int, int] = (1, 1),
    accrual: str = "uniform",
) -> LogrankTrials:
    """Trials with exponential survival, accrual over ``accrual_time`` and the analysis at the
    ``events``-th event (calendar time).

    Group 1 (experimental, ``allocation[0]`` shares) has hazard ``hazard_ratio`` times the
    control's ``log(2) / control_median``. Participants enter over ``[0, accrual_time]`` by
    the ``accrual`` model (:data:`ACCRUALS`: uniform random times, or rpact's equal intervals
    with alternating arms); the analysis is when the ``events``-th event happens in calendar
    time (at the last one if fewer happen); one who enters after it is not in the analysis.
    Draws: the entry times (uniform accrual only), then the standard exponential survival
    times, each as one (trials, n) array.
    """
    _check_design(n, hazard_ratio, control_median, accrual_time, events, accrual)
    group = _group(n, allocation, accrual)
    lam = math.log(2) / control_median
    rate = np.where(group == 1, lam * hazard_ratio, lam)
    entry = _entry(n, accrual_time, trials, accrual, rng)
    survival = rng.standard_exponential((trials, n)) / rate
    calendar = entry + survival
    cutoff = np.partition(calendar, events - 1, axis=1)[:, events - 1 : events]
    event = calendar <= cutoff  # in calendar time, so the cutoff's own event counts
    time = np.where(event, survival, cutoff - entry)
    time[entry >= cutoff] = np.nan
    return LogrankTrials(time=time, event=event, group=np.broadcast_to(group, (trials, n)))


def _reject(
    z: NDArray[np.float64], p: NDArray[np.float64], alpha: float, sided: int, hr: float
) -> NDArray[np.bool_]:
    if sided == 2:
        return p < alpha
    crit = float(special.ndtri(1 - alpha))
    return z < -crit if hr < 1 else z > crit


def _reject_oev(
    observed: NDArray[np.float64],
    expected: NDArray[np.float64],
    variance: NDArray[np.float64],
    alpha: float,
    sided: int,
    hr: float,
) -> NDArray[np.bool_]:
    """:func:`_reject` from O, E and V, computing only the p-value (two-sided) or only ``z``
    (one-sided), each as :class:`~celltrial.simulate.logrank_batch.BatchLogrank` does."""
    if sided == 2:
        return _result(observed, expected, variance).p_value < alpha
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (observed - expected) / np.sqrt(variance)
    crit = float(special.ndtri(1 - alpha))
    return z < -crit if hr < 1 else z > crit


class _FusedLogrank:
    """The log-rank test of each trial fused with the analysis cut-off (the fast path of
    :func:`simulate_logrank_power`); its O, E and V are those of
    :func:`~celltrial.simulate.logrank_batch.logrank_batch` on the trials of
    :func:`simulate_logrank_trials`, bit for bit.

    One value sort per row of 64-bit keys: the follow-up time's bits with the three lowest
    replaced by a code, ``2 event + group`` for a participant in the analysis and 4 for one
    enrolled after the cut-off (whose key, all ones above the code less 8 times the column, is
    larger than any time's and distinct). When no two keys of a row agree above the code bits
    their order is that of the times (``logrank_batch``'s argsort). Then each position's
    ``(n + 1) * at risk + at risk in group 1`` is the sum, from it to the row's end, of a
    weight per code (``n + 1`` per participant in, 1 more in group 1, 0 for one not in): one
    cumulative sum over the flattened rows. It indexes the tables of ``n1 / n`` and ``n1 (n -
    n1) / n^2`` that ``logrank_batch`` uses, and the (trials, n) arrays of looked-up terms are
    summed along the rows as there.
    """

    _CODE = np.uint64(7)

    def __init__(self, group: NDArray[np.int64], events: int) -> None:
        n = group.size
        self.events = events
        self.gbits = group.astype(np.uint64)
        self.not_in = (
            np.uint64(0xFFFF_FFFF_FFFF_FFF8) - np.uint64(8) * np.arange(n, dtype=np.uint64)
        ) | np.uint64(4)
        self.ones = np.ones(n, dtype=np.uint8)
        self.weight = np.array([n + 1, n + 2, n + 1, n + 2, 0, 0, 0, 0], dtype=np.intp)
        # the weight again where the code is an event; past the tables' end (a 0) where not
        past = (n + 1) ** 2
        self.offset = self.weight + np.array([past, past, 0, 0, past, 0, 0, 0], dtype=np.intp)
        size = np.arange(n + 1, dtype=np.float64)[:, None]
        in1 = np.arange(n + 1, dtype=np.float64)[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(size > 0, in1 / size, 0.0)
        # logrank_batch's tables, each followed by as many zeros (for the keys moved past it)
        zero = np.zeros(past)
        self.e_table = np.concatenate((np.where(in1 <= size, share, 0.0).ravel(), zero))
        self.v_table = np.concatenate(
            (np.where(in1 <= size, share * (1.0 - share), 0.0).ravel(), zero)
        )

    def __call__(
        self, entry: NDArray[np.float64], survival: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]] | None:
        """Observed, expected and variance of each row; None when two follow-up times of a row agree in all but
        their three lowest bits (the caller then runs ``logrank_batch``)."""
        events = self.events
        calendar = entry + survival
        cutoff = np.partition(calendar, events - 1, axis=1)[:, events - 1 : events]
        event = calendar <= cutoff
        time = np.where(event, survival, cutoff - entry)
        keys = time.view(np.uint64)
        keys &= ~self._CODE
        keys |= self.gbits
        keys += event.view(np.uint8) * np.uint64(2)
        np.copyto(keys, self.not_in, where=entry >= cutoff)
        keys.sort(axis=1)
        flat = keys.ravel()  # (the last key of a row against the next row's first: harmless)
        if np.any((flat[1:] ^ flat[:-1]) <= self._CODE):
            return None
        code = (keys & self._CODE).astype(np.intp)
        # (np.take with mode="clip" is a faster gather than indexing; every index is in range)
        w = np.take(self.weight, code, mode="clip")
        key = np.cumsum(w.ravel()).reshape(w.shape)
        np.subtract(key[:, -1:], key, out=key)
        key += np.take(self.offset, code, mode="clip")
        observed = ((code == 3).view(np.uint8) @ self.ones).astype(np.float64)
        terms = np.take(self.e_table, key, mode="clip")
        expected = terms.sum(axis=1)
        np.take(self.v_table, key, mode="clip", out=terms)
        return observed, expected, terms.sum(axis=1)


def simulate_logrank_power(
    *,
    n: int,
    hazard_ratio: float,
    control_median: float,
    accrual_time: float,
    events: int,
    trials: int,
    rng: np.random.Generator,
    alpha: float = 0.05,
    sided: int = 2,
    allocation: tuple[int, int] = (1, 1),
    accrual: str = "uniform",
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> SimulatedPower:
    """Power of the log-rank test by simulation of the classic design
    (:func:`simulate_logrank_trials`).

    ``sided = 1``: reject when the one-sided test at ``alpha`` favours the experimental arm
    in the direction of ``hazard_ratio`` (rpact's default, ``alpha = 0.025``). ``accrual``:
    ``"uniform"`` (random entry times) or ``"equal-intervals"`` (rpact's model), see
    :data:`ACCRUALS`.

    Each batch draws as :func:`simulate_logrank_trials` and tests its trials ``_CHUNK`` at a
    time, the cut-off and the log-rank fused (:class:`_FusedLogrank`); the statistics are
    those of :func:`~celltrial.simulate.logrank_batch.logrank_batch` on the simulated trials,
    bit for bit.

    R equivalent: ``rpact::getSimulationSurvival(design, lambda2 = log(2)/median,
    hazardRatio, accrualTime, plannedEvents = events, maxNumberOfSubjects = n)`` with
    ``accrual = "equal-intervals"``.
    """
    _check_design(n, hazard_ratio, control_median, accrual_time, events, accrual)
    group = _group(n, allocation, accrual)
    lam = math.log(2) / control_median
    rate = np.where(group == 1, lam * hazard_ratio, lam)
    fused = _FusedLogrank(group, events)
    rejected = 0
    sizes = batches(trials, batch)
    for size, child in zip(sizes, rng.spawn(len(sizes)), strict=True):
        entry = _entry(n, accrual_time, size, accrual, child)
        survival = child.standard_exponential((size, n))
        survival /= rate
        for lo in range(0, size, _CHUNK):
            e, s = entry[lo : lo + _CHUNK], survival[lo : lo + _CHUNK]
            oev = fused(e, s)
            if oev is None:  # (near-)tied times: the general test
                res = logrank_batch(*_cut(e, s, events), np.broadcast_to(group, s.shape))
                oev = res.observed, res.expected, res.variance
            rejected += int(_reject_oev(*oev, alpha, sided, hazard_ratio).sum())
        if progress is not None:
            progress(size)
    label = f"log-rank ({sided}-sided), {events} events"
    if accrual != "uniform":
        label += f", {accrual} accrual"
    return _rate(rejected, trials, alpha, label)


def _cut(
    entry: NDArray[np.float64], survival: NDArray[np.float64], events: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Follow-up and event at the ``events``-th event (as :func:`simulate_logrank_trials`)."""
    calendar = entry + survival
    cutoff = np.partition(calendar, events - 1, axis=1)[:, events - 1 : events]
    event = calendar <= cutoff
    time = np.where(event, survival, cutoff - entry)
    time[entry >= cutoff] = np.nan
    return time, event


# --------------------------------------------------------------------------------------------
# Fisher's exact test on many 2x2 tables
# --------------------------------------------------------------------------------------------


def fisher_batch(
    x1: NDArray[np.int64], m1: NDArray[np.int64], x2: NDArray[np.int64], m2: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Two-sided Fisher exact p-values of many tables (``x1`` of ``m1`` vs ``x2`` of ``m2``).

    The p-value sums the hypergeometric probabilities not above the observed one (relative
    tolerance 1e-7, as R's ``fisher.test``). Distinct tables are computed once, vectorized.
    """
    tables = np.stack([np.ravel(x1), np.ravel(m1), np.ravel(x2), np.ravel(m2)], axis=1)
    uniq, inverse = np.unique(tables, axis=0, return_inverse=True)
    a, ma, b, mb = (uniq[:, i].astype(np.int64) for i in range(4))
    total = ma + mb
    k = a + b
    x = np.arange(int(ma.max(initial=0)) + 1)[None, :]
    lo = np.maximum(0, k - mb)[:, None]
    hi = np.minimum(k, ma)[:, None]
    pmf = stats.hypergeom.pmf(x, total[:, None], k[:, None], ma[:, None])
    pmf = np.where((x >= lo) & (x <= hi), pmf, 0.0)
    observed = stats.hypergeom.pmf(a, total, k, ma)[:, None]
    p = np.where(pmf <= observed * (1 + 1e-7), pmf, 0.0).sum(axis=1)
    p = np.minimum(p, 1.0)
    return np.asarray(p[inverse.ravel()].reshape(np.shape(x1)), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# A protocol's endpoints under a scenario
# --------------------------------------------------------------------------------------------

#: The tests power simulates, by name, with the label shown for each.
TESTS: dict[str, str] = {
    "logrank": "log-rank",
    "fisher_exact": "Fisher exact",
    "wilcoxon": "Wilcoxon rank-sum",
    "welch_t": "Welch t-test",
}
_NUMBER_KINDS = ("number", "integer")


@dataclasses.dataclass(frozen=True)
class EndpointPower:
    """Power and type I error of one endpoint's test at one sample size."""

    endpoint: str
    test: str
    primary: bool
    n: int
    power: SimulatedPower
    type1: SimulatedPower | None

    def to_dict(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "test": self.test,
            "primary": self.primary,
            "n": self.n,
            "power": self.power.power,
            "power_se": self.power.se,
            "type1": None if self.type1 is None else self.type1.power,
            "type1_se": None if self.type1 is None else self.type1.se,
            "trials": self.power.trials,
        }


def _visit(protocol: Protocol, visit_id: str | None) -> Visit | None:
    return next((v for v in protocol.schedule.visits if v.id == visit_id), None)


def _measured_at(protocol: Protocol, endpoint: Endpoint, visit_id: str | None) -> str | None:
    """Why ``endpoint``'s measurement cannot be simulated at ``visit_id`` (None when it can)."""
    visit = _visit(protocol, visit_id)
    if visit is None:
        return f"visit {visit_id!r} is not in the schedule"
    if endpoint.measurement not in visit.measurements:
        return f"{endpoint.measurement} is not measured at visit {visit.id}"
    return None


def _continuous_problem(protocol: Protocol, e: Endpoint) -> str | None:
    if e.measurement is None or e.visit is None:
        return "a continuous endpoint needs a measurement and a visit"
    try:
        m = protocol.measurement(e.measurement)
    except KeyError:
        return f"{e.measurement} is not a measurement of the protocol"
    if m.kind not in _NUMBER_KINDS:
        return f"{e.measurement} is a {m.kind} measurement, not a number"
    for visit_id in [e.visit] + ([e.baseline_visit] if e.baseline_visit else []):
        why = _measured_at(protocol, e, visit_id)
        if why is not None:
            return why
    return None


def _binary_measure_problem(protocol: Protocol, e: Endpoint) -> str | None:
    assert e.measurement is not None
    if e.condition is None or e.visit is None:
        return "a binary endpoint on a measurement needs a condition and a visit"
    try:
        m = protocol.measurement(e.measurement)
    except KeyError:
        return f"{e.measurement} is not a measurement of the protocol"
    if m.kind not in ("boolean", *_NUMBER_KINDS):
        return f"a condition on a {m.kind} measurement is not simulated (boolean and numbers are)"
    if m.kind == "boolean":
        try:
            e.condition.holds(True)
            e.condition.holds(False)
        except (TypeError, ValueError):
            return f"{e.condition.describe()} does not apply to the yes/no {e.measurement}"
    return _measured_at(protocol, e, e.visit)


def plan(protocol: Protocol) -> tuple[list[tuple[Endpoint, str]], list[tuple[str, str]]]:
    """The tests power simulates and the endpoints it leaves out.

    Returns ``(pairs, skipped)``: ``pairs`` are ``(endpoint, test)`` with ``test`` a key of
    :data:`TESTS`, primary endpoints first; ``skipped`` are ``(endpoint id, why)``. As the
    analysis (:mod:`celltrial.analysis.endpoints`) runs them: time to event — log-rank when
    listed; binary and safety counts — Fisher's exact test when listed; continuous — the
    Wilcoxon rank-sum test when ``wilcoxon_rank_sum`` or ``hodges_lehmann`` is listed (the
    analysis computes it for every continuous endpoint, but reports it as exploratory
    otherwise), and Welch's t-test when ``t_test`` is listed.
    """
    pairs: list[tuple[Endpoint, str]] = []
    skipped: list[tuple[str, str]] = []
    for e in protocol.endpoints:
        why: str | None = None
        if e.type == "time_to_event":
            if "logrank" in e.analysis:
                pairs.append((e, "logrank"))
            else:
                why = "log-rank not in its analysis (the only time-to-event test simulated)"
        elif e.type in ("binary", "safety_count"):
            if "fisher_exact" not in e.analysis:
                why = "no test in its analysis (Fisher's exact test is run only when listed)"
            elif e.type == "binary" and e.measurement is not None:
                why = _binary_measure_problem(protocol, e)
            elif e.type == "binary" and not e.events:
                why = "a binary endpoint needs events or a measurement"
            if why is None:
                pairs.append((e, "fisher_exact"))
        elif e.type == "continuous":
            why = _continuous_problem(protocol, e)
            rank = {"wilcoxon_rank_sum", "hodges_lehmann"} & set(e.analysis)
            if why is None and not rank and "t_test" not in e.analysis:
                why = "no between-arm test in its analysis (within-arm or descriptive only)"
            if why is None:
                if rank:
                    pairs.append((e, "wilcoxon"))
                if "t_test" in e.analysis:
                    pairs.append((e, "welch_t"))
        else:
            why = f"{e.type} endpoints are not simulated (a scenario has no per-arm categories)"
        if why is not None:
            skipped.append((e.id, why))
    return sorted(pairs, key=lambda pair: not pair[0].primary), skipped


def testable(protocol: Protocol) -> list[tuple[Endpoint, str]]:
    """``(endpoint, test)`` pairs power simulates, primary first (see :func:`plan`)."""
    return plan(protocol)[0]


def untestable(protocol: Protocol) -> list[tuple[str, str]]:
    """``(endpoint id, why)`` of each endpoint power leaves out (see :func:`plan`)."""
    return plan(protocol)[1]


def _two_arms(protocol: Protocol) -> tuple[str, str, tuple[int, int]]:
    exp = [a for a in protocol.arms if a.role == "experimental"]
    ctrl = [a for a in protocol.arms if a.role == "control"]
    if len(exp) != 1 or len(ctrl) != 1:
        raise ValueError(f"{protocol.id}: power compares one experimental with one control arm")
    ratio = protocol.ratio()
    if ratio is None:
        weights = (exp[0].planned_n or 1, ctrl[0].planned_n or 1)
    else:
        weights = (ratio[exp[0].id], ratio[ctrl[0].id])
    return exp[0].id, ctrl[0].id, weights


@dataclasses.dataclass(frozen=True)
class EndpointBatch:
    """One endpoint's simulated data in a batch of trials, arrays of shape ``(trials, n)``.

    ``group`` is True for the experimental arm. By ``test``: ``logrank`` — ``time`` (days)
    and ``event``; ``fisher_exact`` — ``yes`` and ``measured`` (participants not measured are
    left out); ``wilcoxon`` and ``welch_t`` — ``values``, NaN for no value (the change from
    baseline when the endpoint has a baseline visit).
    """

    endpoint: Endpoint
    test: str
    group: NDArray[np.bool_]
    values: NDArray[np.float64] | None = None
    time: NDArray[np.float64] | None = None
    event: NDArray[np.bool_] | None = None
    yes: NDArray[np.bool_] | None = None
    measured: NDArray[np.bool_] | None = None

    def p_values(self) -> NDArray[np.float64]:
        """Two-sided p-value of each trial (NaN where the test cannot be computed)."""
        g = self.group
        if self.test == "logrank":
            assert self.time is not None and self.event is not None
            return logrank_batch(self.time, self.event, g.astype(np.int64)).p_value
        if self.test == "fisher_exact":
            assert self.yes is not None and self.measured is not None
            y, m = self.yes & self.measured, self.measured
            return fisher_batch(
                (y & g).sum(axis=1), (m & g).sum(axis=1), (y & ~g).sum(axis=1), (m & ~g).sum(axis=1)
            )
        assert self.values is not None
        if self.test == "wilcoxon":
            return wilcoxon_batch(self.values, g).p_value
        if self.test == "welch_t":
            return t_test_batch(self.values, g).p_value
        raise ValueError(f"test: one of {', '.join(TESTS)}, got {self.test!r}")


class _Draws:
    """What one batch of trials draws beyond the clinical events, made on first use and kept
    so that endpoints on the same visits and measurements see the same participants: the day
    of each visit, whether it was done, each measurement's baseline level and its value at
    each visit. The draws follow the virtual trial (:mod:`celltrial.simulate.virtual`)."""

    def __init__(
        self,
        protocol: Protocol,
        scenario: Scenario,
        outcomes: Outcomes,
        arms: tuple[str, ...],
        rng: np.random.Generator,
    ) -> None:
        self.protocol, self.scenario, self.out, self.arms, self.rng = (
            protocol,
            scenario,
            outcomes,
            arms,
            rng,
        )
        self.shape = outcomes.arm.shape
        self._day: dict[str, NDArray[np.float64]] = {}
        self._done: dict[str, NDArray[np.bool_]] = {}
        self._base: dict[str, NDArray[np.float64]] = {}
        self._values: dict[tuple[str, str], NDArray[np.float64]] = {}
        self._endpoint: dict[str, NDArray[np.float64]] = {}

    def visit(self, visit_id: str | None) -> Visit:
        v = _visit(self.protocol, visit_id)
        assert v is not None
        return v

    def day(self, visit: Visit) -> NDArray[np.float64]:
        """Day of the visit from the first administration: nominal plus whole hours drawn
        uniformly in its window."""
        if visit.id not in self._day:
            lo, hi = (round(h) for h in visit.window)
            jitter = self.rng.integers(lo, hi + 1, size=self.shape)
            self._day[visit.id] = (visit.at + jitter) / HOURS_PER_DAY
        return self._day[visit.id]

    def done(self, visit: Visit) -> NDArray[np.bool_]:
        """Whether each participant had the visit: before death or drop-out (within the
        follow-up otherwise), and not missed (``missed_visits``; never the baseline)."""
        if visit.id not in self._done:
            out = self.out
            day = self.day(visit)
            stopped = out.dropout | np.isfinite(out.death)
            done = np.where(stopped, day < out.end, visit.at / HOURS_PER_DAY <= out.follow_up)
            if visit.kind not in ("screening", "baseline"):
                done &= self.rng.random(self.shape) >= self.scenario.missed_visits
            self._done[visit.id] = done
        return self._done[visit.id]

    def value(self, m: Measurement, visit: Visit) -> NDArray[np.float64]:
        """Value of measurement ``m`` at ``visit`` (NaN where the visit was not done):
        ``exp(baseline + change(arm, day) + within_sd_log * Z)`` with the baseline
        ``log(median) + sd_log * Z0`` of each participant, kept in range and rounded."""
        key = (m.code, visit.id)
        if key not in self._values:
            spec = biomarker(self.scenario, m)
            done = self.done(visit)
            day = np.maximum(self.day(visit), 0.0)
            if m.code not in self._base:
                self._base[m.code] = math.log(spec.median) + spec.sd_log * self.rng.standard_normal(
                    self.shape
                )
            x = self._base[m.code] + spec.within_sd_log * self.rng.standard_normal(self.shape)
            change = np.zeros(self.shape)
            for k, arm_id in enumerate(self.arms):
                if spec.change.get(arm_id):
                    change = np.where(self.out.arm == k, spec.mean_change(arm_id, day), change)
            x += change
            value = np.exp(x)
            if m.range is not None:
                value = np.clip(value, m.range[0], m.range[1])
            decimals = 0 if m.kind == "integer" else spec.decimals
            value = np.round(value, decimals)
            self._values[key] = np.where(done, value, np.nan)
        return self._values[key]

    def continuous(self, endpoint: Endpoint) -> NDArray[np.float64]:
        """The endpoint's value at its visit, or its change from the baseline visit."""
        if endpoint.id not in self._endpoint:
            assert endpoint.measurement is not None
            m = self.protocol.measurement(endpoint.measurement)
            values = self.value(m, self.visit(endpoint.visit))
            if endpoint.baseline_visit is not None:
                values = values - self.value(m, self.visit(endpoint.baseline_visit))
            self._endpoint[endpoint.id] = values
        return self._endpoint[endpoint.id]

    def binary_measure(self, endpoint: Endpoint) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """(yes, measured) of a condition on a measurement at a visit."""
        assert endpoint.measurement is not None and endpoint.condition is not None
        m = self.protocol.measurement(endpoint.measurement)
        visit = self.visit(endpoint.visit)
        cond = endpoint.condition
        if m.kind == "boolean":
            measured = self.done(visit)
            spec = self.scenario.booleans.get(m.code)
            probs = np.array([spec.p(a, visit.id) if spec else 0.5 for a in self.arms])
            raw = self.rng.random(self.shape) < probs[self.out.arm]
            yes = np.where(raw, cond.holds(True), cond.holds(False))
            return yes & measured, measured
        values = self.value(m, visit)
        measured = ~np.isnan(values)
        uniq, inverse = np.unique(np.where(measured, values, 0.0), return_inverse=True)
        holds = np.array([cond.holds(float(u)) for u in uniq], dtype=bool)
        return holds[inverse.reshape(self.shape)] & measured, measured


def _binary_events(
    endpoint: Endpoint, protocol: Protocol, scenario: Scenario, out: Outcomes
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(yes, measured) of a binary 'event by the horizon' endpoint, read as the analysis reads
    it (ADTTE with the endpoint's rule for death, :mod:`celltrial.dataset.adtte`).

    Yes: one of its events comes first, by the horizon (death only when the rule is
    ``event``). No: a competing event comes first (death too when the rule is ``competing``),
    or followed to the horizon without the event (also a death censored at the horizon).
    Left out: a death under ``censor_at_death`` and a drop-out before the horizon. Without any
    horizon (none on the endpoint, the protocol's follow-up unknown) the analysis keeps
    every participant.
    """
    hours = endpoint.horizon if endpoint.horizon is not None else protocol.follow_up
    horizon = hours / HOURS_PER_DAY if hours is not None else math.inf
    rule = endpoint.censoring.death if endpoint.censoring is not None else "censor_at_death"
    none = np.full(out.arm.shape, np.inf)
    first, competing = none.copy(), none.copy()
    for code in endpoint.events:
        if code != DEATH:
            first = np.minimum(first, event_time(scenario, out, code))
    for code in endpoint.competing:
        if code != DEATH:
            competing = np.minimum(competing, event_time(scenario, out, code))
    death = out.death
    if rule == "event":
        first = np.minimum(first, death)
    elif rule == "competing":
        competing = np.minimum(competing, death)
    yes = np.isfinite(first) & (first <= competing) & (first <= horizon)
    zero = ~yes & np.isfinite(competing) & (competing <= horizon)
    if hours is None:
        return yes, np.ones(out.arm.shape, dtype=bool)
    died = ~yes & ~zero & np.isfinite(death) & (death <= horizon)
    dropped = out.dropout & (out.end < horizon)
    followed = np.where(died, rule == "censor_at_horizon", ~dropped)
    return yes, yes | zero | followed


def _safety(
    endpoint: Endpoint,
    protocol: Protocol,
    scenario: Scenario,
    end: NDArray[np.float64],
    arm: NDArray[np.int64],
    arms: tuple[str, str],
    rng: np.random.Generator,
    death: NDArray[np.float64] | None = None,
) -> NDArray[np.bool_]:
    """Whether each participant had an event inside one of the endpoint's safety windows.

    An infusion-associated AE after each administration given (``per_administration``), and,
    as the analysis counts them (:func:`celltrial.analysis.endpoints.safety.window_events`), a
    death within ``duration`` hours after an administration given, for a window that lists
    death among its events: ``0 <= death - offset <= duration``, in days from the first
    administration.
    """
    probs = np.array([scenario.arms[a].adverse_events.per_administration for a in arms])
    offsets = [
        [h / HOURS_PER_DAY for h in protocol.arm(a).administrations.offsets_hours()]  # type: ignore[union-attr]
        if protocol.arm(a).administrations is not None
        else []
        for a in arms
    ]
    k = max((len(o) for o in offsets), default=0)
    if k == 0:
        return np.zeros(arm.shape, dtype=bool)
    days = np.full((len(arms), k), np.inf)
    for i, o in enumerate(offsets):
        days[i, : len(o)] = o
    given = days[arm] <= end[..., None]
    hit = rng.random((*arm.shape, k)) < probs[arm][..., None]
    if death is not None:
        named = set(endpoint.safety_windows)
        for w in protocol.safety.windows:
            if w.id in named and any("death" in e.lower() for e in w.events):
                since = death[..., None] - days[arm]
                hit |= (since >= 0) & (since <= w.duration / HOURS_PER_DAY)
    return np.asarray((hit & given).any(axis=-1))


def simulate_batch(
    protocol: Protocol,
    scenario: Scenario,
    pairs: Sequence[tuple[Endpoint, str]],
    *,
    n: int,
    trials: int,
    rng: np.random.Generator,
) -> list[EndpointBatch]:
    """Simulate ``trials`` trials of ``n`` participants and each pair's data.

    Arms get fixed sizes from the allocation (experimental first); clinical events come from
    :func:`~celltrial.simulate.outcomes.draw_outcomes`, then each endpoint's data in the order
    of ``pairs`` (measurements, visits and AEs drawn on first use), so the data are a
    deterministic function of ``rng``.
    """
    exp, ctrl, weights = _two_arms(protocol)
    arms = (exp, ctrl)
    n_exp, _ = arm_sizes(n, weights)
    arm = np.ones((trials, n), dtype=np.int64)
    arm[:, :n_exp] = 0
    out = draw_outcomes(protocol, scenario, arm, arms=arms, rng=rng)
    group = arm == 0
    draws = _Draws(protocol, scenario, out, arms, rng)
    data: list[EndpointBatch] = []
    for endpoint, test in pairs:
        if test == "logrank":
            t, ev = time_to_event(endpoint, scenario, out)
            data.append(EndpointBatch(endpoint, test, group, time=t, event=ev))
        elif test == "fisher_exact":
            if endpoint.type == "safety_count":
                yes = _safety(
                    endpoint, protocol, scenario, out.end, arm, arms, rng, death=out.death
                )
                measured = np.ones(arm.shape, dtype=bool)
            elif endpoint.measurement is not None:
                yes, measured = draws.binary_measure(endpoint)
            else:
                yes, measured = _binary_events(endpoint, protocol, scenario, out)
            data.append(EndpointBatch(endpoint, test, group, yes=yes, measured=measured))
        elif test in ("wilcoxon", "welch_t"):
            data.append(EndpointBatch(endpoint, test, group, values=draws.continuous(endpoint)))
        else:
            raise ValueError(f"test: one of {', '.join(TESTS)}, got {test!r}")
    return data


def power(
    protocol: Protocol,
    scenario: Scenario,
    *,
    n: int,
    trials: int,
    rng: np.random.Generator,
    batch: int = DEFAULT_BATCH,
    null: bool = True,
    progress: Progress | None = None,
    run_batches: Runner | None = None,
) -> list[EndpointPower]:
    """Power (and type I error) of each testable endpoint at total sample size ``n``.

    Arms get fixed sizes from the allocation ratio (the planned arm sizes when the ratio is
    unknown). Each endpoint gets the test the analysis runs (:func:`plan`), two-sided at the
    endpoint's ``alpha``: time to event — log-rank, times from the first administration;
    binary and safety counts — Fisher exact, on the participants the analysis keeps;
    continuous — Wilcoxon rank-sum (exact or normal approximation as R's ``wilcox.test``) on
    the value at the visit or its change from baseline, and Welch's t-test when listed. The
    type I error is the rejection rate with every arm on the control arm's scenario; under the
    null each batch uses a second child generator so the two runs are independent.

    ``run_batches`` (a :data:`Runner`) runs the (size, generator) jobs of a run elsewhere
    (:func:`celltrial.simulate.distributed.dask_runner`); by default they run here, one after
    the other. Each job's generator is fixed before it is handed out, so results do not
    depend on where or in which order jobs run.
    """
    pairs = testable(protocol)
    if not pairs:
        return []
    _, ctrl, _ = _two_arms(protocol)
    scenarios = [scenario, scenario.null(ctrl)] if null else [scenario]
    sizes = batches(trials, batch)
    children = rng.spawn(len(sizes) * len(scenarios))
    totals: list[list[int]] = []
    for s, scn in enumerate(scenarios):
        jobs = [(size, children[s * len(sizes) + i]) for i, size in enumerate(sizes)]

        runner = _run_here if run_batches is None else run_batches
        results = []
        for (size, _), counts in zip(
            jobs, runner(jobs, protocol=protocol, scenario=scn, pairs=pairs, n=n), strict=True
        ):
            if progress is not None:
                progress(size)
            results.append(counts)
        totals.append([sum(col) for col in zip(*results, strict=True)])
    out: list[EndpointPower] = []
    for i, (endpoint, test) in enumerate(pairs):
        label = TESTS[test]
        pw = _rate(totals[0][i], trials, endpoint.alpha, label)
        t1 = _rate(totals[1][i], trials, endpoint.alpha, label) if null else None
        out.append(
            EndpointPower(
                endpoint=endpoint.id,
                test=label,
                primary=bool(endpoint.primary),
                n=n,
                power=pw,
                type1=t1,
            )
        )
    return out


def batch_rejections(
    protocol: Protocol,
    scenario: Scenario,
    pairs: list[tuple[Endpoint, str]],
    n: int,
    size: int,
    rng: np.random.Generator,
) -> list[int]:
    """Rejection counts of one batch (what a Dask worker runs): trials with ``p < alpha``."""
    data = simulate_batch(protocol, scenario, pairs, n=n, trials=size, rng=rng)
    return [int((d.p_values() < d.endpoint.alpha).sum()) for d in data]


def _run_here(
    jobs: list[tuple[int, np.random.Generator]],
    *,
    protocol: Protocol,
    scenario: Scenario,
    pairs: list[tuple[Endpoint, str]],
    n: int,
) -> Iterable[list[int]]:
    for size, child in jobs:
        yield batch_rejections(protocol, scenario, pairs, n, size, child)
