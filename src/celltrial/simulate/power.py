"""Power by simulation, batched over trials (vectorized numpy, no Python loop per trial).

Trials are simulated in batches of ``batch`` trials; batch ``i`` draws from the ``i``-th child
of the caller's generator (``rng.spawn``), so a run gives the same numbers whether its batches
run in one process, in any order, or on a Dask cluster.

- :func:`simulate_logrank_power`: the classic design (exponential survival, uniform accrual,
  analysis at a fixed number of events, log-rank), as rpact's ``getSimulationSurvival``.
- :func:`power`: every time-to-event and binary endpoint of a protocol under a scenario,
  with the type I error under the null (every arm on the control arm's scenario).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from celltrial.protocol import Endpoint, Protocol
from celltrial.simulate.logrank_batch import logrank_batch
from celltrial.simulate.outcomes import draw_outcomes, occurred, time_to_event
from celltrial.simulate.scenario import Scenario

DEFAULT_BATCH = 10_000
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


@dataclasses.dataclass(frozen=True)
class LogrankTrials:
    """Simulated trials of the classic design: follow-up at the analysis (NaN when not yet
    enrolled), event, group (1 = experimental)."""

    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    group: NDArray[np.int64]


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
) -> LogrankTrials:
    """Trials with exponential survival, uniform accrual and the analysis at the
    ``events``-th event (calendar time).

    Group 1 (experimental, ``allocation[0]`` shares) has hazard ``hazard_ratio`` times the
    control's ``log(2) / control_median``. Participants enter uniformly over
    ``[0, accrual_time]``; the analysis is when the ``events``-th event happens in calendar
    time (at the last one if fewer happen); one who enters after it is not in the analysis.
    """
    if not 1 <= events <= n:
        raise ValueError(f"events: must lie in 1..n ({n}), got {events}")
    if hazard_ratio <= 0 or control_median <= 0 or accrual_time < 0:
        raise ValueError("hazard_ratio, control_median: must be > 0; accrual_time >= 0")
    n1, _ = arm_sizes(n, allocation)
    group = np.zeros(n, dtype=np.int64)
    group[:n1] = 1
    lam = math.log(2) / control_median
    rate = np.where(group == 1, lam * hazard_ratio, lam)
    entry = rng.random((trials, n)) * accrual_time
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
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> SimulatedPower:
    """Power of the log-rank test by simulation of the classic design
    (:func:`simulate_logrank_trials`).

    ``sided = 1``: reject when the one-sided test at ``alpha`` favours the experimental arm
    in the direction of ``hazard_ratio`` (rpact's default, ``alpha = 0.025``).

    R equivalent: ``rpact::getSimulationSurvival(design, lambda2 = log(2)/median,
    hazardRatio, accrualTime, plannedEvents = events, maxNumberOfSubjects = n)``.
    """
    rejected = 0
    sizes = batches(trials, batch)
    for size, child in zip(sizes, rng.spawn(len(sizes)), strict=True):
        sim = simulate_logrank_trials(
            n=n,
            hazard_ratio=hazard_ratio,
            control_median=control_median,
            accrual_time=accrual_time,
            events=events,
            trials=size,
            rng=child,
            allocation=allocation,
        )
        res = logrank_batch(sim.time, sim.event, sim.group)
        rejected += int(_reject(res.z, res.p_value, alpha, sided, hazard_ratio).sum())
        if progress is not None:
            progress(size)
    return _rate(rejected, trials, alpha, f"log-rank ({sided}-sided), {events} events")


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


def testable(protocol: Protocol) -> list[tuple[Endpoint, str]]:
    """Endpoints whose pre-specified test power can simulate: time to event (log-rank) and
    binary or safety counts (Fisher exact), each with the test's name. Primary first."""
    out: list[tuple[Endpoint, str]] = []
    for e in protocol.endpoints:
        if e.type == "time_to_event" and "logrank" in e.analysis:
            out.append((e, "logrank"))
        elif e.type == "binary" and e.events and "fisher_exact" in e.analysis:
            out.append((e, "fisher_exact"))
        elif e.type == "binary" and e.measurement and e.condition and e.visit:
            if "fisher_exact" in e.analysis:
                out.append((e, "fisher_exact"))
        elif e.type == "safety_count" and "fisher_exact" in e.analysis:
            out.append((e, "fisher_exact"))
    return sorted(out, key=lambda pair: not pair[0].primary)


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


def _binary_measure(
    endpoint: Endpoint,
    protocol: Protocol,
    scenario: Scenario,
    end: NDArray[np.float64],
    arm: NDArray[np.int64],
    arms: tuple[str, str],
    rng: np.random.Generator,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(yes, measured) of a binary endpoint on a yes/no measurement at a visit."""
    assert endpoint.measurement is not None and endpoint.visit is not None
    visit = next(v for v in protocol.schedule.visits if v.id == endpoint.visit)
    measured = end >= visit.at / 24.0
    spec = scenario.booleans.get(endpoint.measurement)
    probs = np.array([spec.p(a, visit.id) if spec else 0.0 for a in arms])
    yes = rng.random(arm.shape) < probs[arm]
    cond = endpoint.condition
    if cond is not None and cond.operator == "eq" and cond.eq is False:
        yes = ~yes
    return yes & measured, measured


def _safety(
    endpoint: Endpoint,
    protocol: Protocol,
    scenario: Scenario,
    end: NDArray[np.float64],
    arm: NDArray[np.int64],
    arms: tuple[str, str],
    rng: np.random.Generator,
) -> NDArray[np.bool_]:
    """Whether each participant had an AE inside a safety window (``per_administration``)."""
    probs = np.array([scenario.arms[a].adverse_events.per_administration for a in arms])
    offsets = [
        [h / 24.0 for h in protocol.arm(a).administrations.offsets_hours()]  # type: ignore[union-attr]
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
    return np.asarray((hit & given).any(axis=-1))


def _endpoint_rejections(
    protocol: Protocol,
    scenario: Scenario,
    pairs: list[tuple[Endpoint, str]],
    *,
    n: int,
    trials: int,
    rng: np.random.Generator,
) -> list[int]:
    exp, ctrl, weights = _two_arms(protocol)
    arms = (exp, ctrl)
    n_exp, _ = arm_sizes(n, weights)
    arm = np.ones((trials, n), dtype=np.int64)
    arm[:, :n_exp] = 0
    out = draw_outcomes(protocol, scenario, arm, arms=arms, rng=rng)
    group = (arm == 0).astype(np.int64)
    counts: list[int] = []
    for endpoint, test in pairs:
        if test == "logrank":
            t, ev = time_to_event(endpoint, scenario, out)
            res = logrank_batch(t, ev, group)
            counts.append(int((res.p_value < endpoint.alpha).sum()))
            continue
        if endpoint.type == "safety_count":
            yes = _safety(endpoint, protocol, scenario, out.end, arm, arms, rng)
            measured = np.ones(arm.shape, dtype=bool)
        elif endpoint.events:
            yes = occurred(endpoint, scenario, out)
            measured = np.ones(arm.shape, dtype=bool)
        else:
            yes, measured = _binary_measure(endpoint, protocol, scenario, out.end, arm, arms, rng)
        g = group == 1
        p = fisher_batch(
            (yes & g).sum(axis=1),
            (measured & g).sum(axis=1),
            (yes & ~g).sum(axis=1),
            (measured & ~g).sum(axis=1),
        )
        counts.append(int((p < endpoint.alpha).sum()))
    return counts


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
    unknown). Time-to-event endpoints: two-sided log-rank at the endpoint's ``alpha``, times
    from the first administration. Binary and safety-count endpoints: two-sided Fisher exact
    (participants without the measurement are left out). The type I error is the rejection
    rate with every arm on the control arm's scenario; under the null each batch uses a second
    child generator so the two runs are independent.

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
        label = "log-rank" if test == "logrank" else "Fisher exact"
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
    """Rejection counts of one batch (what a Dask worker runs)."""
    return _endpoint_rejections(protocol, scenario, pairs, n=n, trials=size, rng=rng)


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
