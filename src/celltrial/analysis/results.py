"""The frozen result types of a trial analysis.

Every endpoint result names its method as a statistician would write it, the population and
the number of participants used, and every participant of the population who could not be
analysed (:class:`Missing`), so that nothing is dropped silently. Per-arm summaries come with
a pooled summary (``pooled``, all arms together) that the blinded report uses.
"""

from __future__ import annotations

import dataclasses
import math

from celltrial._result import Result
from celltrial.stats import (
    CoxResult,
    CumulativeIncidenceResult,
    FisherResult,
    HodgesLehmannResult,
    KaplanMeierResult,
    LogrankResult,
    RankTestResult,
    TTestResult,
)

#: The arm id of a pooled summary (all arms together).
POOLED = "__all__"
POOLED_LABEL = "All participants"

Interval = tuple[float, float]
NAN_CI: Interval = (math.nan, math.nan)


@dataclasses.dataclass(frozen=True)
class Missing(Result):
    """A participant of the population left out of an analysis, and why."""

    usubjid: str
    arm: str
    reason: str


@dataclasses.dataclass(frozen=True)
class DataProblem(Result):
    """A record set aside because of an error (:mod:`celltrial.analysis.setaside`), for the
    report's "Data problems" section."""

    record: str
    usubjid: str | None
    site: str | None
    what: str
    left_out: str
    #: False when the text may reveal the arm (an administration's product or unit).
    blinded_safe: bool = True


@dataclasses.dataclass(frozen=True)
class Effect(Result):
    """A between-arm effect (``treatment`` versus ``reference``) for the forest plot.

    ``null`` is the value of no effect (1 for ratios, 0 for differences); ``log_scale`` says
    how the forest plot draws it. ``note`` says why an effect is not estimable.
    """

    measure: str
    treatment: str
    reference: str
    estimate: float
    ci: Interval
    p_value: float
    null: float
    log_scale: bool
    method: str
    note: str | None = None
    #: False when the protocol does not list this analysis for the endpoint: the report
    #: shows it in its "Exploratory analyses (not pre-specified)" section only.
    prespecified: bool = True

    @property
    def estimable(self) -> bool:
        return math.isfinite(self.estimate) and self.note is None


@dataclasses.dataclass(frozen=True, kw_only=True)
class EndpointResult(Result):
    """What every endpoint result has. Subclasses add the per-arm summaries and tests."""

    endpoint: str
    label: str
    type: str
    primary: bool | None
    population: str
    method: str
    n: int
    missing: tuple[Missing, ...] = ()
    effects: tuple[Effect, ...] = ()
    notes: tuple[str, ...] = ()
    #: The analyses computed for this endpoint that its protocol does not list (method codes
    #: such as ``wilcoxon_rank_sum``): reported as exploratory, never as pre-specified.
    exploratory: tuple[str, ...] = ()

    @property
    def n_missing(self) -> int:
        return len(self.missing)

    @property
    def p_value(self) -> float:
        """The p-value of the endpoint's pre-specified test (NaN when none was run)."""
        return math.nan


# --- time to event --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArmSurvival(Result):
    """Kaplan–Meier summary of one arm (or of all arms pooled): times in days."""

    arm: str
    label: str
    n: int
    events: int
    competing: int
    censored_early: int
    survival: float
    survival_ci: Interval
    median: float
    median_ci: Interval
    km: KaplanMeierResult
    #: Censored before the horizon because still in follow-up (a trial in progress): not
    #: drop-outs; ``censored_early`` counts only those who left the study.
    ongoing: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class TimeToEventResult(EndpointResult):
    """Kaplan–Meier per arm, log-rank test, Cox hazard ratio, cumulative incidence."""

    horizon: float
    arms: tuple[ArmSurvival, ...]
    pooled: ArmSurvival
    logrank: LogrankResult | None = None
    cox: CoxResult | None = None
    cumulative_incidence: CumulativeIncidenceResult | None = None
    pooled_incidence: CumulativeIncidenceResult | None = None
    #: ``wilcoxon_rank_sum`` listed: the days to the event of the participants who had it
    #: (a length of stay), median (IQR) per arm and pooled, and the rank-sum test between arms.
    times: tuple[ArmDistribution, ...] = ()
    times_pooled: ArmDistribution | None = None
    wilcoxon: RankTestResult | None = None

    @property
    def p_value(self) -> float:
        """The log-rank p, else (a length of stay) the rank-sum p; NaN when neither is listed."""
        if self.logrank is not None:
            return self.logrank.p_value
        return self.wilcoxon.p_value if self.wilcoxon is not None else math.nan


# --- binary ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArmCount(Result):
    """Participants with the outcome among those analysed in one arm (or pooled)."""

    arm: str
    label: str
    n: int
    events: int

    @property
    def proportion(self) -> float:
        return self.events / self.n if self.n else math.nan


@dataclasses.dataclass(frozen=True, kw_only=True)
class BinaryResult(EndpointResult):
    """Counts per arm, Fisher's exact test, risk difference (Newcombe CI)."""

    arms: tuple[ArmCount, ...]
    pooled: ArmCount
    fisher: FisherResult | None = None

    @property
    def p_value(self) -> float:
        return self.fisher.p_value if self.fisher is not None else math.nan


# --- continuous -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArmDistribution(Result):
    """Median and quartiles (R's type 7) of the analysed values of one arm (or pooled)."""

    arm: str
    label: str
    n: int
    median: float
    q1: float
    q3: float
    mean: float
    sd: float


@dataclasses.dataclass(frozen=True)
class TrajectoryPoint(Result):
    """Median and IQR of a measurement at one analysis visit, in one arm (or pooled)."""

    arm: str
    visit: str
    day: float
    n: int
    median: float
    q1: float
    q3: float


@dataclasses.dataclass(frozen=True)
class WithinArm(Result):
    """The change from baseline within one arm (or pooled): a paired test of the analysed
    participants' values at the visit against their own baseline values.

    ``test`` is ``wilcoxon_signed_rank`` (``estimate``: the median change, no CI) or
    ``paired_t_test`` (``estimate``: the mean change with its t interval).
    """

    arm: str
    label: str
    test: str
    n: int
    statistic: float
    p_value: float
    estimate: float
    ci: Interval
    method: str
    exact: bool = False


@dataclasses.dataclass(frozen=True)
class ByOutcome(Result):
    """The analysed values of the participants who died during the study against those of the
    survivors, within one arm (or pooled): Welch's two-sample t-test (``survivors_vs_deaths``).

    ``estimate`` is ``mean_died − mean_survived`` with its Welch t interval.
    """

    arm: str
    label: str
    n_survived: int
    n_died: int
    mean_survived: float
    mean_died: float
    estimate: float
    ci: Interval
    statistic: float
    df: float
    p_value: float
    method: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContinuousResult(EndpointResult):
    """Median (IQR) of the change (or value) per arm, Wilcoxon rank-sum, Hodges–Lehmann;
    within-arm paired tests and the percent change when the protocol lists them."""

    measurement: str
    unit: str | None
    change: bool
    arms: tuple[ArmDistribution, ...]
    pooled: ArmDistribution
    wilcoxon: RankTestResult | None = None
    hodges_lehmann: HodgesLehmannResult | None = None
    t_test: TTestResult | None = None
    trajectory: tuple[TrajectoryPoint, ...] = ()
    #: Within-arm paired tests (``wilcoxon_signed_rank``, ``paired_t_test``), per arm and pooled.
    within: tuple[WithinArm, ...] = ()
    #: Percent change from baseline, 100 × (value − baseline) / baseline, per arm (``percent_change``).
    percent: tuple[ArmDistribution, ...] = ()
    percent_pooled: ArmDistribution | None = None
    #: Participants who died during the study against the survivors, per arm and pooled
    #: (``survivors_vs_deaths``).
    by_survival: tuple[ByOutcome, ...] = ()

    @property
    def p_value(self) -> float:
        """The pre-specified between-arm test's p (Wilcoxon rank-sum, else Welch t), NaN when
        the protocol lists neither."""
        if self.wilcoxon is not None and "wilcoxon_rank_sum" not in self.exploratory:
            return self.wilcoxon.p_value
        return self.t_test.p_value if self.t_test is not None else math.nan


# --- safety count ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WindowCount(Result):
    """Events in one safety window: participants and events, per arm (or pooled)."""

    window: str
    label: str
    arm: str
    participants: int
    events: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class SafetyCountResult(EndpointResult):
    """Participants with events (in the endpoint's safety windows) per arm; Fisher's test."""

    arms: tuple[ArmCount, ...]
    pooled: ArmCount
    windows: tuple[WindowCount, ...]
    fisher: FisherResult | None = None

    @property
    def p_value(self) -> float:
        return self.fisher.p_value if self.fisher is not None else math.nan
