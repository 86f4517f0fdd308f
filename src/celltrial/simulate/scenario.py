"""Scenarios: what a virtual trial's participants are like and what happens to them.

A scenario is YAML validated by pydantic models; a mistake is reported with its field path
(``lanzoni2021.yaml: arms.ucmsc.hazards.death.rate: Input should be greater than or equal
to 0``). Times are in **days**; hazards are per day. The clock of a participant's clinical
events starts at the first administration (randomization for an arm given nothing).

Shipped scenarios (``celltrial/simulate/scenarios/``) are calibrated to each seed trial's
published numbers; each file says which numbers and how each rate was derived.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from celltrial.protocol import Protocol

SCENARIO_DIR = Path(__file__).parent / "scenarios"
DROPOUT = "dropout"


class ScenarioError(ValueError):
    """A scenario file has problems; ``problems`` lists them, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _probabilities(values: Mapping[Any, float], what: str) -> None:
    if not values:
        raise ValueError(f"{what}: give at least one probability")
    if any(v < 0 for v in values.values()):
        raise ValueError(f"{what}: probabilities must be >= 0")
    total = sum(values.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what}: probabilities must sum to 1, got {total:g}")


class Hazard(_Model):
    """An exponential (``rate``) or piecewise-constant (``breaks`` and ``rates``) hazard per day.

    ``breaks`` are the days each rate starts (the first is 0); the last rate goes on for ever.
    ``only_before`` names events after which this one can no longer happen (death always
    ends every event).
    """

    rate: float | None = Field(default=None, ge=0)
    breaks: list[float] | None = None
    rates: list[Annotated[float, Field(ge=0)]] | None = None
    only_before: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        piecewise = self.breaks is not None or self.rates is not None
        if (self.rate is not None) == piecewise:
            raise ValueError("give either rate: or breaks: and rates:, not both or neither")
        if piecewise:
            if self.breaks is None or self.rates is None or len(self.breaks) != len(self.rates):
                raise ValueError("breaks: and rates: go together and have the same length")
            if not self.breaks or self.breaks[0] != 0:
                raise ValueError("breaks: the first break is day 0")
            if any(b <= a for a, b in zip(self.breaks, self.breaks[1:], strict=False)):
                raise ValueError(f"breaks: must increase strictly, got {self.breaks}")
        return self

    def _pieces(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if self.rate is not None:
            return np.array([0.0]), np.array([self.rate])
        assert self.breaks is not None and self.rates is not None
        return np.asarray(self.breaks, dtype=np.float64), np.asarray(self.rates, dtype=np.float64)

    def cumulative(self, days: float) -> float:
        """The cumulative hazard ``H(t)`` at ``days``."""
        breaks, rates = self._pieces()
        ends = np.append(breaks[1:], np.inf)
        spans = np.clip(days - breaks, 0.0, ends - breaks)
        return float((spans * rates).sum())

    def survival(self, days: float) -> float:
        """``exp(-H(t))``: the probability that the event has not happened by ``days``."""
        return math.exp(-self.cumulative(days))

    def invert(self, h: NDArray[np.float64]) -> NDArray[np.float64]:
        """The time ``t`` with ``H(t) = h`` (``inf`` when the hazard never gets there)."""
        breaks, rates = self._pieces()
        ends = np.append(breaks[1:], np.inf)
        widths = ends - breaks
        with np.errstate(invalid="ignore"):
            cum = np.concatenate(
                [[0.0], np.cumsum(np.where(np.isfinite(widths), widths, 0) * rates)]
            )
        k = np.searchsorted(cum[1:-1], h, side="right") if len(rates) > 1 else np.zeros_like(h, int)
        k = np.asarray(k, dtype=np.int64)
        rate = rates[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = breaks[k] + (h - cum[k]) / rate
        return np.where(rate > 0, t, np.inf)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float64]:
        """Event times (days) by inversion of ``H``: ``H^{-1}(E)`` with ``E ~ Exp(1)``."""
        return self.invert(rng.standard_exponential(shape))


class AdverseEvents(_Model):
    """Adverse events of one arm.

    ``rate``: non-serious AEs per participant-day (a Poisson process over follow-up), graded
    by ``grades``. ``per_administration``: probability of an AE starting inside the first
    safety window after each administration (an infusion-associated AE). ``serious``: hazard
    of a participant's first serious AE that does not kill, graded by ``serious_grades``.
    A death is reported as a fatal (grade 5) serious AE when ``fatal_at_death``.
    """

    rate: float = Field(default=0.0, ge=0)
    grades: dict[int, float] = Field(default_factory=lambda: {1: 0.6, 2: 0.4})
    per_administration: float = Field(default=0.0, ge=0, le=1)
    serious: Hazard | None = None
    serious_grades: dict[int, float] = Field(default_factory=lambda: {3: 0.7, 4: 0.3})
    fatal_at_death: bool = True
    terms: list[str] = Field(
        default_factory=lambda: [
            "Headache",
            "Nausea",
            "Fever",
            "Hypotension",
            "Rash",
            "Anaemia",
            "Hyperglycaemia",
            "Diarrhoea",
        ]
    )
    serious_terms: list[str] = Field(
        default_factory=lambda: [
            "Pneumonia",
            "Respiratory failure",
            "Septic shock",
            "Acute kidney injury",
            "Pulmonary embolism",
        ]
    )

    @model_validator(mode="after")
    def _grades(self) -> Self:
        for name, grades in (("grades", self.grades), ("serious_grades", self.serious_grades)):
            _probabilities(grades, name)
            bad = [g for g in grades if g not in (1, 2, 3, 4, 5)]
            if bad:
                raise ValueError(f"{name}: CTCAE grades are 1-5, got {bad}")
        return self


class ArmScenario(_Model):
    """What happens to participants of one arm: hazards of the protocol's clinical events
    (and ``dropout``), and adverse events."""

    hazards: dict[str, Hazard] = Field(default_factory=dict)
    adverse_events: AdverseEvents = AdverseEvents()


class Biomarker(_Model):
    """A log-normal measurement: baseline ``median`` and ``sd_log`` between participants;
    ``change`` per arm is the mean change of ``log(value)`` from baseline by day (linear
    between the days given, constant after the last); ``within_sd_log`` is the visit-to-visit
    noise on the log scale."""

    median: float = Field(gt=0)
    sd_log: float = Field(default=0.5, ge=0)
    within_sd_log: float = Field(default=0.2, ge=0)
    change: dict[str, dict[float, float]] = Field(default_factory=dict)
    decimals: int = Field(default=1, ge=0, le=6)

    def mean_change(self, arm: str, day: float | NDArray[np.float64]) -> NDArray[np.float64]:
        points = self.change.get(arm)
        if not points:
            return np.zeros_like(np.asarray(day, dtype=np.float64))
        days = sorted(points)
        values = [points[d] for d in days]
        return np.interp(np.asarray(day, dtype=np.float64), [0.0, *days], [0.0, *values])


class Normal(_Model):
    mean: float
    sd: float = Field(ge=0)
    low: float | None = None
    high: float | None = None


class BooleanOutcome(_Model):
    """A yes/no measurement: probability of yes per arm, one number or one per visit id."""

    probability: dict[str, float | dict[str, float]]

    def p(self, arm: str, visit: str) -> float:
        value = self.probability.get(arm, 0.0)
        if isinstance(value, dict):
            return float(value.get(visit, 0.0))
        return float(value)


class Accrual(_Model):
    per_week: float = Field(default=2.0, gt=0)
    sites: list[str] = Field(default_factory=lambda: ["01"], min_length=1)
    start: str = "2020-05-01T08:00Z"


class Screening(_Model):
    failure_rate: float = Field(default=0.15, ge=0, lt=1)
    declined_rate: float = Field(default=0.0, ge=0, lt=1)


class Deviations(_Model):
    """``per_participant``: expected protocol deviations per participant (Poisson);
    ``major_share``: share of them that are MAJOR; ``infusion_timing``: probability that an
    administration is given outside its window (EXDEVFL = Y)."""

    per_participant: float = Field(default=0.1, ge=0)
    major_share: float = Field(default=0.2, ge=0, le=1)
    infusion_timing: float = Field(default=0.02, ge=0, le=1)


class AllocationOverride(_Model):
    """How to allocate where the protocol says ``unknown`` (an assumption of the scenario)."""

    method: Literal["simple", "permuted_blocks", "stratified_blocks"] | None = None
    #: e.g. ``"2:1"``, in the order of the protocol's arms (``celltrial.allocation.parse_ratio``)
    ratio: str | None = None
    block_sizes: list[int] | None = None


class Demographics(_Model):
    age: Normal = Normal(mean=60, sd=12, low=18, high=95)
    female: float = Field(default=0.4, ge=0, le=1)
    weight: Normal = Normal(mean=80, sd=15, low=40, high=160)


class Scenario(_Model):
    """A whole scenario. Load one with :func:`load_scenario`."""

    scenario_version: Literal[1] = 1
    id: str
    protocol: str
    description: str = ""
    calibration: list[str] = Field(default_factory=list)
    follow_up_days: float | None = Field(default=None, gt=0)
    accrual: Accrual = Accrual()
    screening: Screening = Screening()
    allocation: AllocationOverride = AllocationOverride()
    assumed_doses: dict[str, float] = Field(default_factory=dict)
    demographics: Demographics = Demographics()
    strata: dict[str, dict[str, float]] = Field(default_factory=dict)
    categories: dict[str, dict[str, float]] = Field(default_factory=dict)
    arms: dict[str, ArmScenario]
    biomarkers: dict[str, Biomarker] = Field(default_factory=dict)
    booleans: dict[str, BooleanOutcome] = Field(default_factory=dict)
    missed_visits: float = Field(default=0.03, ge=0, le=1)
    deviations: Deviations = Deviations()

    @model_validator(mode="after")
    def _distributions(self) -> Self:
        for name, dist in (*self.strata.items(), *self.categories.items()):
            _probabilities(dist, name)
        return self

    def arm(self, arm_id: str) -> ArmScenario:
        return self.arms[arm_id]

    def null(self, control: str) -> Scenario:
        """The same scenario with every arm given the hazards and AEs of arm ``control``
        (the null hypothesis, for the type I error)."""
        ctrl = self.arms[control]
        booleans = {
            code: b.model_copy(
                update={"probability": dict.fromkeys(self.arms, b.probability.get(control, 0.0))}
            )
            for code, b in self.booleans.items()
        }
        biomarkers = {
            code: b.model_copy(
                update={"change": dict.fromkeys(self.arms, b.change.get(control, {}))}
            )
            for code, b in self.biomarkers.items()
        }
        return self.model_copy(
            update={
                "arms": dict.fromkeys(self.arms, ctrl),
                "booleans": booleans,
                "biomarkers": biomarkers,
            }
        )


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top)"


def parse_scenario(text: str, *, name: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text; raise :class:`ScenarioError` listing every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{name}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ScenarioError([f"{name}: a scenario is a mapping of fields"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{name}: {_loc(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ScenarioError(problems) from None


def scenario_ids() -> list[str]:
    """The scenarios shipped with celltrial."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(source: str | Path, protocol: Protocol | None = None) -> Scenario:
    """Load a scenario by library id (``lanzoni2021``) or path, and check it against
    ``protocol`` when one is given (see :func:`check_scenario`)."""
    path = Path(source)
    if not path.suffix and not path.exists():
        path = SCENARIO_DIR / f"{source}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"no scenario {str(source)!r}: not a file, nor one of {', '.join(scenario_ids())}"
        )
    scenario = parse_scenario(path.read_text(encoding="utf-8"), name=path.name)
    if protocol is not None:
        problems = check_scenario(scenario, protocol)
        if problems:
            raise ScenarioError([f"{path.name}: {p}" for p in problems])
    return scenario


def check_scenario(scenario: Scenario, protocol: Protocol) -> list[str]:
    """Problems of fit between a scenario and a protocol, each with its field path."""
    out: list[str] = []
    if scenario.protocol != protocol.id:
        out.append(f"protocol: '{scenario.protocol}' is not the protocol's id '{protocol.id}'")
    arms = {a.id for a in protocol.arms}
    events = {e.code for e in protocol.events} | {DROPOUT}
    for arm_id in scenario.arms:
        if arm_id not in arms:
            out.append(f"arms.{arm_id}: not an arm of {protocol.id} ({', '.join(sorted(arms))})")
    for arm_id in sorted(arms - set(scenario.arms)):
        out.append(f"arms: arm '{arm_id}' of {protocol.id} has no scenario")
    for arm_id, arm in scenario.arms.items():
        for code, hazard in arm.hazards.items():
            if code not in events:
                out.append(
                    f"arms.{arm_id}.hazards.{code}: not an event of {protocol.id} "
                    f"({', '.join(sorted(events))})"
                )
            for other in hazard.only_before:
                if other not in events:
                    out.append(
                        f"arms.{arm_id}.hazards.{code}.only_before: '{other}' is not an event"
                    )
    measures = {m.code: m for m in protocol.measurements}
    for section, kinds in (
        ("biomarkers", ("number", "integer")),
        ("booleans", ("boolean",)),
        ("categories", ("category", "ordinal")),
    ):
        for code in getattr(scenario, section):
            m = measures.get(code)
            if m is None:
                out.append(f"{section}.{code}: not a measurement of {protocol.id}")
            elif m.kind not in kinds:
                out.append(f"{section}.{code}: {code} is a {m.kind} measurement")
            elif section == "categories":
                levels = set(m.level_codes)
                for level in scenario.categories[code]:
                    if level not in levels:
                        out.append(f"categories.{code}.{level}: not a level of {code}")
    for code, bio in scenario.biomarkers.items():
        for arm_id in bio.change:
            if arm_id not in arms:
                out.append(f"biomarkers.{code}.change.{arm_id}: not an arm of {protocol.id}")
    strata = {s.factor: s for s in protocol.design.allocation.strata}
    for factor, dist in scenario.strata.items():
        if factor not in strata:
            out.append(f"strata.{factor}: not a stratification factor of {protocol.id}")
            continue
        for level in dist:
            if level not in strata[factor].levels:
                out.append(f"strata.{factor}.{level}: not a level of {factor}")
    for arm_id in scenario.assumed_doses:
        if arm_id not in arms:
            out.append(f"assumed_doses.{arm_id}: not an arm of {protocol.id}")
    if protocol.follow_up is None and scenario.follow_up_days is None:
        out.append("follow_up_days: the protocol's follow-up is unknown; give one here")
    return out


def follow_up_days(scenario: Scenario, protocol: Protocol) -> float:
    """The follow-up of a virtual participant: the protocol's, else the scenario's."""
    if protocol.follow_up is not None:
        return protocol.follow_up / 24.0
    if scenario.follow_up_days is None:
        raise ScenarioError(["follow_up_days: the protocol's follow-up is unknown; give one"])
    return scenario.follow_up_days
