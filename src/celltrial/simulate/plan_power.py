"""Power of a protocol's whole analysis plan, by simulating virtual trials and analysing each
one with the analysis the report runs.

:func:`celltrial.simulate.power.power` tests each endpoint with its own vectorized batch test;
this module instead runs, for every virtual trial, :func:`~celltrial.simulate.simulate_trial`
then the report's own per-endpoint analysis (:meth:`celltrial.analysis.trial.Trial.derive` and
:func:`celltrial.analysis.endpoints.analyse_endpoint`, exactly what
:func:`celltrial.analysis.analyze` runs for each endpoint), and reads every pre-specified test's
p-value and estimate from the results (:func:`planned_tests`). What power gets is therefore the
analysis plan as written: its populations, its reading of ADTTE and ADLB, its tests and its
"not estimable" cases.

Trial ``i`` draws from the ``i``-th ``rng.spawn`` child of the caller's generator, fixed
before trials are cut into chunks, so a run gives the same numbers in one process, in any
chunking, or on a Dask cluster of any size (:func:`plan_power`, ``client=``).

A test that could not be computed in a trial (an arm without values, a statistic not
estimable, an analysis that raised) does not reject, and is counted with its reason
(:attr:`PlanPower.not_computed`): nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from celltrial.analysis import (
    POOLED,
    BinaryResult,
    ContinuousResult,
    EndpointResult,
    SafetyCountResult,
    TimeToEventResult,
)
from celltrial.analysis.arms import Arms
from celltrial.analysis.core import problems_of
from celltrial.analysis.endpoints import analyse_endpoint
from celltrial.analysis.trial import Trial
from celltrial.dataset import errors
from celltrial.protocol import Endpoint, Protocol
from celltrial.simulate.scenario import Scenario
from celltrial.simulate.virtual import simulate_trial
from celltrial.stats.effects import wilson_interval

#: Trials per chunk handed to one worker (or run at once in process).
DEFAULT_CHUNK = 25
Progress = Callable[[int], None]

#: Between-arm tests read from an endpoint result, by the method code the protocol lists.
_LABELS = {
    "logrank": "log-rank",
    "cox_ph": "Cox PH (Wald; LR if monotone)",
    "fisher_exact": "Fisher exact",
    "wilcoxon_rank_sum": "Wilcoxon rank-sum",
    "t_test": "Welch t-test",
    "wilcoxon_signed_rank": "Wilcoxon signed-rank",
    "paired_t_test": "paired t-test",
    "survivors_vs_deaths": "Welch t, died vs survived",
}
#: The statistic a note names when that test was not estimable (``attempt`` in the analysis).
_NOTE_PREFIX = {
    "logrank": "log-rank test",
    "cox_ph": "hazard ratio",
    "fisher_exact": "Fisher's exact test",
    "wilcoxon_rank_sum": "Wilcoxon rank-sum test",
    "t_test": "t-test",
    "wilcoxon_signed_rank": "Wilcoxon signed-rank test",
    "paired_t_test": "paired t-test",
    "survivors_vs_deaths": "Welch t-test",
}
_WITHIN = ("wilcoxon_signed_rank", "paired_t_test")


@dataclasses.dataclass(frozen=True)
class PlannedTest:
    """One pre-specified test of an endpoint, as the analysis reports it.

    ``arm`` is None for a between-arm test, else the arm (or :data:`~celltrial.analysis.POOLED`)
    of a within-arm test; ``estimate`` names the estimate read with the p-value (None: none).
    """

    endpoint: str
    method: str
    arm: str | None
    label: str
    estimate: str | None
    primary: bool
    alpha: float
    #: The analysis' first comparison (treatment, reference): the sign of a risk difference.
    compare: tuple[str, str] | None = None

    @property
    def key(self) -> str:
        return f"{self.endpoint}:{self.method}" + (f":{self.arm}" if self.arm else "")


def planned_tests(protocol: Protocol) -> tuple[list[PlannedTest], list[tuple[str, str]]]:
    """Every test the protocol pre-specifies, as its analysis reports it, primary endpoints
    first; and ``(endpoint id, why)`` of each endpoint with none (descriptive only).

    Time to event: ``logrank``; ``cox_ph`` (the hazard ratio's Wald p, the likelihood-ratio p
    when the estimate is infinite); ``wilcoxon_rank_sum`` (days to the event). Binary and
    safety counts: ``fisher_exact`` with the risk difference. Continuous and ordinal:
    ``wilcoxon_rank_sum`` (or ``hodges_lehmann``) with the Hodges–Lehmann shift, ``t_test``
    with the difference of means; with a baseline visit, ``wilcoxon_signed_rank`` and
    ``paired_t_test`` within each arm and pooled; ``survivors_vs_deaths`` within each arm and
    pooled.
    """
    arms = [a.id for a in protocol.arms] + [POOLED]
    comparisons = Arms.of(protocol).comparisons
    compare = comparisons[0] if comparisons else None
    tests: list[PlannedTest] = []
    none: list[tuple[str, str]] = []
    for e in sorted(protocol.endpoints, key=lambda e: not e.primary):
        listed = set(e.analysis)
        mine: list[tuple[str, str | None, str | None]] = []
        if e.type == "time_to_event":
            if "logrank" in listed:
                mine.append(("logrank", None, None))
            if "cox_ph" in listed:
                mine.append(("cox_ph", None, "hazard ratio"))
            if "wilcoxon_rank_sum" in listed:
                mine.append(("wilcoxon_rank_sum", None, None))
        elif e.type in ("binary", "safety_count"):
            if "fisher_exact" in listed:
                mine.append(("fisher_exact", None, "risk difference"))
        else:
            if listed & {"wilcoxon_rank_sum", "hodges_lehmann"}:
                mine.append(("wilcoxon_rank_sum", None, "Hodges–Lehmann shift"))
            if "t_test" in listed:
                mine.append(("t_test", None, "difference of means"))
            if e.baseline_visit is not None:
                if "wilcoxon_signed_rank" in listed:
                    mine += [("wilcoxon_signed_rank", a, "pseudomedian change") for a in arms]
                if "paired_t_test" in listed:
                    mine += [("paired_t_test", a, "mean change") for a in arms]
            if "survivors_vs_deaths" in listed:
                mine += [("survivors_vs_deaths", a, "mean died − survived") for a in arms]
        if not mine:
            none.append((e.id, f"no test in its analysis ({', '.join(e.analysis)})"))
        for method, arm, est in mine:
            label = _LABELS[method]
            if arm is not None:
                label += " (all)" if arm == POOLED else f" ({arm})"
            tests.append(
                PlannedTest(e.id, method, arm, label, est, bool(e.primary), float(e.alpha), compare)
            )
    return tests, none


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One test in one trial: its p-value and estimate (NaN when none), or why it is missing."""

    p: float
    estimate: float
    why: str | None = None


def _note(result: EndpointResult, method: str, arm: str | None) -> str | None:
    prefix = _NOTE_PREFIX[method]
    for note in result.notes:
        if note.startswith(prefix) and (arm is None or method not in _WITHIN or arm in note):
            return note
    return None


def _missing(result: EndpointResult, test: PlannedTest) -> Outcome:
    """Why ``test`` has no result: the analysis' note, else the arms without a participant
    analysed (with the commonest reason the analysis gives for their participants)."""
    note = _note(result, test.method, test.arm)
    if note is None:
        arms = getattr(result, "arms", ())
        present = {a.arm for a in arms if a.n > 0}
        wanted: list[str] = (
            list(test.compare or ()) if test.arm is None or test.arm == POOLED else [test.arm]
        )
        empty = [a for a in wanted if a not in present]
        if test.arm == POOLED or not empty:
            note = "too few participants analysed"
            empty = wanted
        else:
            note = f"no participant of arm {', '.join(empty)} analysed"
        reasons = Counter(m.reason for m in result.missing if m.arm in empty)
        if reasons:
            note += f" (most often: {reasons.most_common(1)[0][0]})"
    return Outcome(math.nan, math.nan, note)


def _first_effect(result: EndpointResult, measure: str) -> float:
    for eff in result.effects:
        if eff.measure.startswith(measure):
            return float(eff.estimate)
    return math.nan


def read_test(result: EndpointResult, test: PlannedTest) -> Outcome:
    """The p-value and estimate of ``test`` in one endpoint's result (see :func:`planned_tests`)."""
    m = test.method
    if isinstance(result, TimeToEventResult):
        if m == "logrank":
            return (
                _missing(result, test)
                if result.logrank is None
                else (Outcome(result.logrank.p_value, math.nan))
            )
        if m == "cox_ph":
            eff = next((e for e in result.effects if e.measure == "hazard ratio"), None)
            if eff is None:
                return _missing(result, test)
            return Outcome(eff.p_value, eff.estimate if eff.estimable else math.nan)
        if m == "wilcoxon_rank_sum":
            w = result.wilcoxon
            return _missing(result, test) if w is None else Outcome(w.p_value, math.nan)
    if isinstance(result, BinaryResult | SafetyCountResult):
        f = result.fisher
        if f is None:
            return _missing(result, test)
        if isinstance(result, BinaryResult):
            est = _first_effect(result, "risk difference")
        else:
            by = {a.arm: a.proportion for a in result.arms}
            trt, ref = test.compare or ("", "")
            est = by[trt] - by[ref] if trt in by and ref in by else math.nan
        return Outcome(f.p_value, est)
    if isinstance(result, ContinuousResult):
        if m == "wilcoxon_rank_sum":
            w = result.wilcoxon
            if w is None:
                return _missing(result, test)
            hl = result.hodges_lehmann
            return Outcome(w.p_value, hl.estimate if hl is not None else math.nan)
        if m == "t_test":
            t = result.t_test
            return _missing(result, test) if t is None else Outcome(t.p_value, t.estimate)
        if m in _WITHIN:
            row = next((w for w in result.within if w.test == m and w.arm == test.arm), None)
            return _missing(result, test) if row is None else Outcome(row.p_value, row.estimate)
        if m == "survivors_vs_deaths":
            b = next((b for b in result.by_survival if b.arm == test.arm), None)
            return _missing(result, test) if b is None else Outcome(b.p_value, b.estimate)
    return Outcome(math.nan, math.nan, f"{type(result).__name__} has no {m}")


def _why(exc: BaseException) -> str:
    return f"analysis failed: {type(exc).__name__}: {exc}".splitlines()[0][:200]


def analyse_trial(
    protocol: Protocol,
    scenario: Scenario,
    tests: Sequence[PlannedTest],
    *,
    n: int,
    rng: np.random.Generator,
    check: bool = False,
) -> list[Outcome]:
    """Simulate one trial of ``n`` and read every test of ``tests`` from its analysis.

    The dataset goes through :meth:`Trial.derive` and :func:`analyse_endpoint` (what
    :func:`celltrial.analysis.analyze` runs for every endpoint; the report's summaries --
    CONSORT, baseline, exposure, safety tables, listings -- are not needed and not made).
    ``check``: also run the dataset checks ``analyze`` runs first; a dataset with errors is
    not analysed and every test is missing with the first error as the reason. Warnings of
    the analysis (a Cox fit with an infinite estimate, ...) are silenced: the result says it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _analyse_trial(protocol, scenario, tests, n=n, rng=rng, check=check)


def _analyse_trial(
    protocol: Protocol,
    scenario: Scenario,
    tests: Sequence[PlannedTest],
    *,
    n: int,
    rng: np.random.Generator,
    check: bool,
) -> list[Outcome]:
    ds = simulate_trial(protocol, scenario, n=n, rng=rng)
    if check:
        bad = errors(problems_of(ds, protocol))
        if bad:
            why = f"dataset has {len(bad)} error(s), first: {bad[0]}"
            return [Outcome(math.nan, math.nan, why) for _ in tests]
    try:
        trial = Trial.derive(ds, protocol)
    except Exception as exc:  # counted and reported, never dropped
        return [Outcome(math.nan, math.nan, _why(exc)) for _ in tests]
    results: dict[str, EndpointResult | BaseException] = {}
    endpoints: dict[str, Endpoint] = {e.id: e for e in protocol.endpoints}
    out: list[Outcome] = []
    for test in tests:
        if test.endpoint not in results:
            try:
                results[test.endpoint] = analyse_endpoint(endpoints[test.endpoint], trial)
            except Exception as exc:  # the same: a reason counted
                results[test.endpoint] = exc
        res = results[test.endpoint]
        if isinstance(res, BaseException):
            out.append(Outcome(math.nan, math.nan, _why(res)))
            continue
        o = read_test(res, test)
        if o.why is None and not math.isfinite(o.p):
            o = Outcome(math.nan, o.estimate, "p-value not defined (NaN)")
        out.append(o)
    return out


def run_chunk(
    protocol: Protocol,
    scenario: Scenario,
    tests: Sequence[PlannedTest],
    n: int,
    jobs: Sequence[tuple[int, np.random.Generator]],
    check_first: bool = True,
    progress: Progress | None = None,
) -> list[tuple[int, list[Outcome]]]:
    """Trials ``(index, generator)`` of one chunk (what a Dask worker runs). Trial 0's
    dataset is checked as ``analyze`` checks it when ``check_first``."""
    out = []
    for index, rng in jobs:
        out.append(
            (
                index,
                analyse_trial(
                    protocol, scenario, tests, n=n, rng=rng, check=check_first and index == 0
                ),
            )
        )
        if progress is not None:
            progress(1)
    return out


@dataclasses.dataclass(frozen=True)
class PlanPower:
    """Power of one pre-specified test over simulated trials.

    ``power`` is the share of all trials with ``p < alpha`` (a trial where the test could not
    be computed does not reject), ``se`` its Monte Carlo SE ``sqrt(p(1 − p)/trials)``, ``ci``
    the 95 % Wilson interval; ``median_estimate`` is over the trials with a finite estimate
    (``estimates`` of them); ``not_computed`` counts the trials without a p-value by reason.
    """

    test: PlannedTest
    n: int
    trials: int
    rejected: int
    power: float
    se: float
    ci: tuple[float, float]
    median_estimate: float
    estimates: int
    not_computed: dict[str, int]

    @property
    def computed(self) -> int:
        return self.trials - sum(self.not_computed.values())

    def to_dict(self) -> dict[str, object]:
        t = self.test
        return {
            "endpoint": t.endpoint,
            "test": t.label,
            "method": t.method,
            "arm": t.arm,
            "primary": t.primary,
            "alpha": t.alpha,
            "n": self.n,
            "trials": self.trials,
            "rejected": self.rejected,
            "power": self.power,
            "power_se": self.se,
            "power_ci": list(self.ci),
            "estimate": t.estimate,
            "median_estimate": None if math.isnan(self.median_estimate) else self.median_estimate,
            "estimates": self.estimates,
            "not_computed": self.not_computed,
        }


def summarise(
    tests: Sequence[PlannedTest], outcomes: Sequence[Sequence[Outcome]], n: int
) -> list[PlanPower]:
    """Power per test from the outcomes of every trial (trial-major)."""
    trials = len(outcomes)
    out = []
    for j, test in enumerate(tests):
        col = [row[j] for row in outcomes]
        p = np.array([o.p for o in col], dtype=float)
        est = np.array([o.estimate for o in col], dtype=float)
        rejected = int(np.sum(np.isfinite(p) & (p < test.alpha)))
        rate = rejected / trials
        finite = est[np.isfinite(est)]
        why = Counter(o.why for o in col if o.why is not None)
        lo, hi = wilson_interval(rejected, trials)
        out.append(
            PlanPower(
                test=test,
                n=n,
                trials=trials,
                rejected=rejected,
                power=rate,
                se=math.sqrt(rate * (1 - rate) / trials),
                ci=(0.0 if rejected == 0 else lo, 1.0 if rejected == trials else hi),
                median_estimate=float(np.median(finite)) if finite.size else math.nan,
                estimates=int(finite.size),
                not_computed=dict(why.most_common()),
            )
        )
    return out


def chunks(trials: int, chunk: int) -> list[range]:
    """Trial indices cut into consecutive chunks of ``chunk``."""
    if trials < 1 or chunk < 1:
        raise ValueError(f"trials, chunk: must be >= 1, got {trials}, {chunk}")
    return [range(i, min(i + chunk, trials)) for i in range(0, trials, chunk)]


def plan_power(
    protocol: Protocol,
    scenario: Scenario,
    *,
    n: int,
    trials: int,
    rng: np.random.Generator,
    chunk: int = DEFAULT_CHUNK,
    client: Any = None,
    progress: Progress | None = None,
    tests: Sequence[PlannedTest] | None = None,
) -> list[PlanPower]:
    """Power of every pre-specified test of ``protocol`` (:func:`planned_tests`) over
    ``trials`` virtual trials of ``n`` participants under ``scenario``.

    Each trial is :func:`simulate_trial` then the report's per-endpoint analysis
    (:func:`analyse_trial`); trial ``i`` uses the ``i``-th child of ``rng.spawn(trials)``, so
    the result is the same for any ``chunk`` and whether chunks run here (``client=None``) or
    on a Dask ``client`` (:func:`celltrial.simulate.distributed.dask_client`). Tests are two-sided at each endpoint's alpha,
    as the analysis runs them.

    Notes
    -----
    R equivalent: a loop over ``trials`` of simulate-then-analyse, collecting each test's
    ``$p.value`` (``survdiff``, ``fisher.test``, ``wilcox.test``, ...); power is
    ``mean(p < alpha)`` with ``prop.test(x, n, correct = FALSE)$conf.int`` for the CI.
    """
    planned = list(tests) if tests is not None else planned_tests(protocol)[0]
    if not planned:
        return []
    gens = rng.spawn(trials)
    parts = chunks(trials, chunk)
    results: dict[int, list[Outcome]] = {}
    if client is None:
        for part in parts:
            jobs = [(i, gens[i]) for i in part]
            results.update(run_chunk(protocol, scenario, planned, n, jobs, progress=progress))
    else:
        from dask.distributed import as_completed

        p_f, s_f, t_f = client.scatter([protocol, scenario, planned], broadcast=True)
        futures = [
            client.submit(run_chunk, p_f, s_f, t_f, n, [(i, gens[i]) for i in part], pure=False)
            for part in parts
        ]
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            done = future.result()
            results.update(done)
            if progress is not None:
                progress(len(done))
    return summarise(planned, [results[i] for i in range(trials)], n)
