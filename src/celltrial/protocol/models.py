"""Typed models of a trial protocol (pydantic v2).

The models express every seed trial without anything hard-coded to one of them. Values that a
source does not give are written ``unknown`` in YAML; such a field reads as ``None`` and its name
is kept in the model's ``unknowns`` set (see :func:`is_unknown`), so "not published" is never
confused with "not applicable".

Times are whole hours (written ``6h``, ``3d``, ``2w`` in YAML, see :mod:`.units`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from celltrial.protocol.units import (
    DOSE_UNITS,
    check_dose_unit,
    check_ucum,
    count_text,
    parse_count,
    parse_duration,
)

UNKNOWN = "unknown"


class _MayBeUnknown:
    """Field metadata: the YAML value ``unknown`` is accepted and recorded."""


MAY_BE_UNKNOWN = _MayBeUnknown()

Hours = Annotated[int, BeforeValidator(parse_duration)]
Amount = Annotated[float, BeforeValidator(parse_count)]
DoseUnit = Annotated[str, AfterValidator(check_dose_unit)]
UcumUnit = Annotated[str, AfterValidator(check_ucum)]
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Anchor = Literal["randomization", "first_administration"]


class Model(BaseModel):
    """Base of the protocol models: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unknowns: frozenset[str] = Field(default=frozenset(), exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _record_unknowns(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        marked = [
            name
            for name, value in data.items()
            if value == UNKNOWN
            and name in cls.model_fields
            and any(m is MAY_BE_UNKNOWN for m in cls.model_fields[name].metadata)
        ]
        if not marked:
            return data
        out = dict(data)
        for name in marked:
            out[name] = None
        out["unknowns"] = frozenset(marked)
        return out


def is_unknown(model: Model, field: str) -> bool:
    """True when the protocol says ``field: unknown`` on ``model``."""
    return field in model.unknowns


# --------------------------------------------------------------------------------------------
# Conditions: one comparison on one variable, shared by eligibility and release criteria.
# --------------------------------------------------------------------------------------------

Scalar = float | int | bool | str
_OPS = ("lt", "le", "gt", "ge", "eq", "ne", "between", "in_")


class Condition(Model):
    """Exactly one of ``lt, le, gt, ge, eq, ne, between, in`` compared with a variable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    eq: Scalar | None = None
    ne: Scalar | None = None
    between: tuple[float, float] | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        given = [op for op in _OPS if getattr(self, op) is not None]
        if len(given) != 1:
            names = ", ".join(o.rstrip("_") for o in _OPS)
            raise ValueError(f"give exactly one comparison of {names}; got {len(given)}")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"between: lower bound {self.between[0]} exceeds {self.between[1]}")
        return self

    @property
    def operator(self) -> str:
        return next(op for op in _OPS if getattr(self, op) is not None).rstrip("_")

    def holds(self, value: Scalar) -> bool:
        """Whether ``value`` satisfies the comparison (numbers compared as floats)."""
        op = self.operator
        if op == "eq":
            return _same(value, self.eq)
        if op == "ne":
            return not _same(value, self.ne)
        if op == "in":
            return any(_same(value, v) for v in self.in_ or [])
        if isinstance(value, (bool, str)):
            raise TypeError(f"{op} compares numbers, got {value!r}")
        x = float(value)
        if op == "between":
            assert self.between is not None
            return self.between[0] <= x <= self.between[1]
        bound = float(getattr(self, op))
        return {"lt": x < bound, "le": x <= bound, "gt": x > bound, "ge": x >= bound}[op]

    def describe(self) -> str:
        op = self.operator
        if op == "between":
            assert self.between is not None
            return f"between {self.between[0]:g} and {self.between[1]:g}"
        if op == "in":
            return "one of " + ", ".join(str(v) for v in self.in_ or [])
        symbol = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥", "eq": "=", "ne": "≠"}[op]
        value = getattr(self, op)
        return f"{symbol} {value:g}" if isinstance(value, float) else f"{symbol} {value}"


def _same(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return str(a) == str(b)


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------


class RegistryId(Model):
    registry: Literal["NCT", "ReBEC", "IRCT", "ChiCTR", "ISRCTN", "EudraCT", "UTN", "other"]
    id: str
    registered: Annotated[str | None, MAY_BE_UNKNOWN] = None
    note: str | None = None


class Source(Model):
    seed: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    citation: str | None = None


# --------------------------------------------------------------------------------------------
# Design and allocation
# --------------------------------------------------------------------------------------------


class StrataFactor(Model):
    factor: Slug
    levels: list[str] = Field(min_length=2)


class Minimization(Model):
    """Pocock–Simon minimization: factors, their weights, imbalance measure and biased coin."""

    factors: list[Slug] = Field(min_length=1)
    weights: dict[str, float] | None = None
    imbalance: Literal["range", "variance", "sum_abs"] = "range"
    p_best: float = Field(default=0.8, gt=0.5, le=1.0)


class Allocation(Model):
    """How participants get their arm.

    Randomized designs: ``simple``, ``permuted_blocks``, ``stratified_blocks``,
    ``minimization`` (a sealed list in the EDC). Non-randomized designs: ``investigator`` (the
    investigator assigns each participant an arm, openly), ``enrolment_order`` (arms in turn,
    by order of enrolment, following the ratio) or ``none`` (not assigned through the EDC).
    """

    method: Annotated[
        Literal[
            "none",
            "simple",
            "permuted_blocks",
            "stratified_blocks",
            "minimization",
            "investigator",
            "enrolment_order",
        ]
        | None,
        MAY_BE_UNKNOWN,
    ]
    ratio: Annotated[dict[str, int] | str | None, MAY_BE_UNKNOWN] = None
    strata: list[StrataFactor] = Field(default_factory=list)
    stratify_by_site: bool = False
    block_sizes: Annotated[list[Annotated[int, Field(gt=0)]] | None, MAY_BE_UNKNOWN] = None
    minimization: Minimization | None = None
    concealment: Annotated[str | None, MAY_BE_UNKNOWN] = None


class Design(Model):
    assignment: Literal["randomized", "non_randomized"]
    blinding: Annotated[Literal["open", "single", "double", "triple"] | None, MAY_BE_UNKNOWN]
    masked: list[Literal["participant", "care_provider", "investigator", "outcomes_assessor"]] = (
        Field(default_factory=list)
    )
    allocation: Allocation
    centres: Annotated[int | None, MAY_BE_UNKNOWN] = None
    control: Literal["placebo", "vehicle", "standard_care", "active"]
    #: A double-blind trial whose arms differ in what blinded staff see (number or timing of
    #: administrations, volumes) must hide it with dummies (each participant gets every arm's
    #: schedule, active or dummy); declaring it lets the protocol through validation.
    double_dummy: bool = False


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------


class Criterion(Condition):
    """One eligibility rule on a screening variable, or a checklist item a person confirms."""

    id: Slug
    kind: Literal["inclusion", "exclusion"] = "inclusion"
    text: str
    variable: Slug | None = None
    source: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _checklist(cls, data: Any) -> Any:
        # A criterion without a variable is answered yes/no at screening: "eq: true" on itself.
        ops = ("lt", "le", "gt", "ge", "eq", "ne", "between", "in")
        if (
            isinstance(data, Mapping)
            and data.get("variable") is None
            and not any(k in data for k in ops)
        ):
            return {**data, "eq": True}
        return data

    def satisfied(self, values: Mapping[str, Scalar | None]) -> bool | None:
        """True if this criterion lets the person in, False if it excludes, None if unanswered."""
        value = values.get(self.variable or self.id)
        if value is None:
            return None
        met = self.holds(value)
        return met if self.kind == "inclusion" else not met


class Population(Model):
    description: str
    setting: str | None = None
    planned_n: Annotated[int | None, MAY_BE_UNKNOWN] = None
    eligibility: Annotated[list[Criterion] | None, MAY_BE_UNKNOWN] = None


# --------------------------------------------------------------------------------------------
# Arms, products, doses, administrations, release
# --------------------------------------------------------------------------------------------

ProductKind = Literal["living_cells", "secretome", "vehicle", "placebo", "standard_care", "drug"]
#: Routes of administration: the cell-therapy ones, and those of drugs (a control arm or a
#: co-medication may be a tablet or a patch). CDISC's ROUTE codelist names them in upper case.
Route = Literal[
    "IV",
    "IM",
    "intratracheal",
    "inhaled",
    "local",
    "none",
    "oral",
    "transdermal",
    "subcutaneous",
    "topical",
    "intrathecal",
]


class ReleaseCriterion(Condition):
    """A lot-release test that must pass before a lot can be infused."""

    id: Slug
    label: str
    unit: str | None = None
    source: str | None = None


class Product(Model):
    kind: ProductKind
    name: str
    cell_source: Annotated[str | None, MAY_BE_UNKNOWN] = None
    route: Route = "IV"
    composition: Annotated[str | None, MAY_BE_UNKNOWN] = None
    release: Annotated[list[ReleaseCriterion] | None, MAY_BE_UNKNOWN] = None


class Dose(Model):
    """Amount per administration; ``tolerance`` is absolute (same unit), ``cap`` the most given."""

    amount: Annotated[Amount | None, MAY_BE_UNKNOWN]
    unit: DoseUnit
    tolerance: Amount | None = None
    tolerance_pct: float | None = Field(default=None, gt=0, lt=100)
    cap: Amount | None = None
    written: str | None = Field(default=None, description="the amount as the source wrote it")

    @model_validator(mode="before")
    @classmethod
    def _keep_written(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "written" not in data:
            text = count_text(data.get("amount"))
            if text:
                return {**data, "written": text}
        return data

    @property
    def counted_in(self) -> str:
        """What the amount counts: ``cells``, ``mL`` or ``mg``."""
        return DOSE_UNITS[self.unit][0]

    @property
    def per_kg(self) -> bool:
        return DOSE_UNITS[self.unit][1]


class Administrations(Model):
    """When a product is given: explicit ``days`` or ``every`` × ``count``.

    Times are from the first administration (day 0), which is ``start`` after randomization
    (nominal), to be given within ``start_window``; later ones within ± ``window``.
    """

    days: list[int] | None = None
    every: Hours | None = None
    count: int | None = Field(default=None, ge=1)
    start: Hours = 0
    start_window: Hours | None = None
    window: Hours | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        explicit = self.days is not None
        periodic = self.every is not None or self.count is not None
        if explicit == periodic:
            raise ValueError("give either days: [...] or every: and count:, not both or neither")
        if periodic and (self.every is None or self.count is None):
            raise ValueError("every: and count: go together")
        if self.every is not None and self.every <= 0:
            raise ValueError(f"every: must be a positive duration, got {self.every}h")
        if self.days is not None:
            if not self.days:
                raise ValueError("days: must list at least one day")
            if any(d < 0 for d in self.days):
                raise ValueError("days: are counted from the first administration and are >= 0")
            if any(b <= a for a, b in zip(self.days, self.days[1:], strict=False)):
                raise ValueError(f"days: must increase strictly, got {self.days}")
        return self

    def offsets_hours(self) -> list[int]:
        """Hours of each administration after the first one."""
        if self.days is not None:
            return [d * 24 for d in self.days]
        assert self.every is not None and self.count is not None
        return [i * self.every for i in range(self.count)]


class Arm(Model):
    id: Slug
    label: str
    role: Literal["experimental", "control"]
    product: Product
    dose: Annotated[Dose | None, MAY_BE_UNKNOWN] = None
    administrations: Annotated[Administrations | None, MAY_BE_UNKNOWN] = None
    planned_n: Annotated[int | None, MAY_BE_UNKNOWN] = None
    background: str = "standard of care"


# --------------------------------------------------------------------------------------------
# Measurements, clinical events, schedule
# --------------------------------------------------------------------------------------------


class Level(Model):
    code: str
    label: str

    @model_validator(mode="before")
    @classmethod
    def _from_scalar(cls, data: Any) -> Any:
        if isinstance(data, (str, int)) and not isinstance(data, bool):
            return {"code": str(data), "label": str(data)}
        if isinstance(data, Mapping) and "code" in data:
            return {**data, "code": str(data["code"])}
        return data


class Measurement(Model):
    code: Slug
    label: str
    kind: Literal["number", "integer", "category", "ordinal", "boolean", "text"]
    unit: UcumUnit | None = None
    range: tuple[float, float] | None = None
    levels: list[Level] | None = None
    domain: Literal["VS", "LB", "QS", "FT", "PR", "MO", "RE", "IS", "SC", "DM", "CT"] | None = None
    testcd: str | None = None
    loinc: str | None = None
    specimen: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        numeric = self.kind in ("number", "integer")
        if self.range is not None:
            if not numeric:
                raise ValueError(
                    f"range: only number and integer measurements have one, not {self.kind}"
                )
            if self.range[0] >= self.range[1]:
                raise ValueError(
                    f"range: low {self.range[0]:g} must be below high {self.range[1]:g}"
                )
        if self.kind in ("category", "ordinal") and not self.levels:
            raise ValueError(f"levels: a {self.kind} measurement needs its levels")
        if self.levels and self.kind not in ("category", "ordinal"):
            raise ValueError(
                f"levels: only category and ordinal measurements have levels, not {self.kind}"
            )
        return self

    @property
    def level_codes(self) -> list[str]:
        return [lv.code for lv in self.levels or []]


class ClinicalEvent(Model):
    code: Slug
    label: str
    terminal: bool = False
    definition: str | None = None


class Visit(Model):
    id: Slug
    label: str
    at: Hours
    anchor: Anchor | None = None
    window: tuple[Hours, Hours] = (0, 0)
    kind: Literal["screening", "baseline", "treatment", "follow_up", "end_of_study"] = "follow_up"
    measurements: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _window(self) -> Self:
        before, after = self.window
        if before > 0 or after < 0:
            raise ValueError(
                f"window: write [-before, +after] around the nominal time; got [{before}h, {after}h]"
            )
        return self


class Schedule(Model):
    anchor: Anchor = "randomization"
    visits: list[Visit] = Field(min_length=1)

    def anchor_of(self, visit: Visit) -> Anchor:
        return visit.anchor or self.anchor


# --------------------------------------------------------------------------------------------
# Safety and endpoints
# --------------------------------------------------------------------------------------------


class SafetyWindow(Model):
    """A window after each administration in which the protocol's named events are counted.

    ``events`` names them, as short terms (``cardiac arrest``, ``death``) or as the
    protocol's sentences; ``terms`` gives the adverse-event terms that stand for sentences
    (``arrhythmia``, ``infusion-related reaction``). :meth:`counts` says whether an adverse
    event is one of them; a window that names no event counts every adverse event in it.
    """

    id: Slug
    label: str
    after: Literal["administration"] = "administration"
    duration: Hours = Field(gt=0)
    events: list[str] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list)

    def named_terms(self) -> list[str] | None:
        """The adverse-event terms this window counts (lower case), None when it counts every
        adverse event (no events named). ``terms`` when given, else the ``events`` that are
        short terms (four words at most); death is counted from the death record, not an
        adverse event's term."""
        if self.terms:
            return [t.strip().lower() for t in self.terms]
        if not self.events:
            return None
        return [e.lower() for e in self.events if len(e.split()) <= 4 and e.lower() != "death"]

    def contains(self, hours_since: Iterable[float]) -> bool:
        """True when an event this many hours after an administration (one value per
        administration) is inside the window: 0 ≤ hours ≤ ``duration`` after any of them.

        The one statement of "inside a safety window": ADAE's ``WIN_`` flags
        (:func:`celltrial.dataset.derive_adae`) and the EDC's AE flags
        (:func:`celltrial.edc.actions.safety.window_flags`) both ask it."""
        return any(0 <= h <= self.duration for h in hours_since)

    def counts(self, *names: str | None) -> bool:
        """True when an adverse event with these terms (reported, decoded) is one of the
        window's named events: a term equal to a named term or containing it as a phrase
        (``new ventricular tachycardia`` is ``ventricular tachycardia``), case-insensitive."""
        import re

        wanted = self.named_terms()
        if wanted is None:
            return True
        for name in names:
            text = (name or "").strip().lower()
            if text and any(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", text) for t in wanted):
                return True
        return False


class Safety(Model):
    windows: list[SafetyWindow] = Field(default_factory=list)
    sae_report_within: Hours = 24
    grading: str = "CTCAE v5.0"
    collection_period: Annotated[Hours | None, MAY_BE_UNKNOWN] = None


class Censoring(Model):
    """How follow-up ends for a time-to-event endpoint.

    ``death``: ``event`` (death counts as the event), ``censor_at_death``, ``censor_at_horizon``
    (kept in the risk set to the end of follow-up, as Lanzoni did for time to recovery),
    ``competing`` (analysed as a competing event) or ``not_applicable``.

    ``at``: where a participant without an event is censored.
    ``last_assessment`` (the ADaM default): at the end-of-study date of the disposition (DS)
    when there is one, else at the last contact (the latest date of any record), never after
    the horizon. ``horizon``: a participant who completed the study (or was in contact at or
    after the horizon) is censored at the horizon itself (administrative censoring), a
    drop-out at the last contact.
    """

    death: Literal["event", "censor_at_death", "censor_at_horizon", "competing", "not_applicable"]
    dropout: Literal["censor_at_last_contact"] = "censor_at_last_contact"
    at: Literal["last_assessment", "horizon"] = "last_assessment"


AnalysisMethod = Literal[
    "kaplan_meier",
    "logrank",
    "cox_ph",
    "rmst",
    "cumulative_incidence",
    "fisher_exact",
    "chi_square",
    "barnard_exact",
    "risk_difference",
    "risk_ratio",
    "odds_ratio",
    "wilcoxon_rank_sum",
    "hodges_lehmann",
    "t_test",
    "wilcoxon_signed_rank",
    "paired_t_test",
    "percent_change",
    "survivors_vs_deaths",
    "change_from_baseline",
    "mixed_model",
    "mmrm",
    "event_counts",
    "descriptive",
]

_METHODS_BY_TYPE: dict[str, set[str]] = {
    "time_to_event": {
        "kaplan_meier",
        "logrank",
        "cox_ph",
        "rmst",
        "cumulative_incidence",
        "wilcoxon_rank_sum",
        "descriptive",
    },
    "binary": {
        "fisher_exact",
        "chi_square",
        "barnard_exact",
        "risk_difference",
        "risk_ratio",
        "odds_ratio",
        "descriptive",
    },
    "continuous": {
        "wilcoxon_rank_sum",
        "hodges_lehmann",
        "t_test",
        "wilcoxon_signed_rank",
        "paired_t_test",
        "percent_change",
        "survivors_vs_deaths",
        "change_from_baseline",
        "mixed_model",
        "mmrm",
        "descriptive",
    },
    "ordinal": {
        "wilcoxon_rank_sum",
        "hodges_lehmann",
        "wilcoxon_signed_rank",
        "change_from_baseline",
        "descriptive",
        "fisher_exact",
    },
    "safety_count": {"event_counts", "fisher_exact", "descriptive", "kaplan_meier", "logrank"},
}


def methods_for(endpoint_type: str) -> set[str]:
    """The analysis methods that fit an endpoint type."""
    return _METHODS_BY_TYPE[endpoint_type]


class Endpoint(Model):
    id: Slug
    label: str
    primary: Annotated[bool | None, MAY_BE_UNKNOWN] = False
    type: Literal["binary", "time_to_event", "continuous", "ordinal", "safety_count"]
    events: list[str] = Field(
        default_factory=list, description="clinical event codes (any of them)"
    )
    measurement: str | None = None
    condition: Condition | None = None
    baseline_visit: str | None = None
    visit: str | None = None
    safety_windows: list[str] = Field(default_factory=list)
    horizon: Hours | None = None
    anchor: Anchor = "randomization"
    censoring: Censoring | None = None
    #: How ADTTE counts AVAL in days: ``0`` elapsed time (the origin's instant is day 0);
    #: ``1`` the ADaM study-day convention on dates, AVAL = ADT − STARTDT + 1 (no day 0).
    days_from: Literal[0, 1] = 0
    competing: list[str] = Field(default_factory=list)
    population: Literal["itt", "mitt", "per_protocol", "safety"] = "itt"
    analysis: list[AnalysisMethod] = Field(min_length=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    sided: Literal[1, 2] = 2
    note: str | None = None


# --------------------------------------------------------------------------------------------
# The protocol
# --------------------------------------------------------------------------------------------


class Protocol(Model):
    """A whole trial protocol. Load one with :func:`celltrial.protocol.load_protocol`."""

    schema_version: Literal[1] = 1
    id: Slug
    title: str
    short_title: str | None = None
    version: str
    phase: str
    registry_ids: list[RegistryId] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    design: Design
    population: Population
    arms: list[Arm] = Field(min_length=1)
    measurements: list[Measurement] = Field(default_factory=list)
    events: list[ClinicalEvent] = Field(default_factory=list)
    schedule: Schedule
    safety: Safety = Safety()
    endpoints: list[Endpoint] = Field(min_length=1)
    follow_up: Annotated[Hours | None, MAY_BE_UNKNOWN] = None
    notes: list[str] = Field(default_factory=list)

    def arm(self, arm_id: str) -> Arm:
        for arm in self.arms:
            if arm.id == arm_id:
                return arm
        raise KeyError(
            f"no arm {arm_id!r} in protocol {self.id}; arms are {[a.id for a in self.arms]}"
        )

    def measurement(self, code: str) -> Measurement:
        for m in self.measurements:
            if m.code == code:
                return m
        raise KeyError(f"no measurement {code!r} in protocol {self.id}")

    def endpoint(self, endpoint_id: str) -> Endpoint:
        for e in self.endpoints:
            if e.id == endpoint_id:
                return e
        raise KeyError(f"no endpoint {endpoint_id!r} in protocol {self.id}")

    def ratio(self) -> dict[str, int] | None:
        """The allocation ratio as {arm id: weight}, or None when the protocol says unknown."""
        ratio = self.design.allocation.ratio
        if ratio is None:
            return None
        if isinstance(ratio, str):
            parts = [int(p) for p in ratio.split(":")]
            return dict(zip([a.id for a in self.arms], parts, strict=True))
        return dict(ratio)

    def eligibility(self, values: Mapping[str, Scalar | None]) -> Eligibility:
        """Evaluate the eligibility rules on screening ``values`` (variable or criterion id -> value)."""
        failed: list[str] = []
        missing: list[str] = []
        for criterion in self.population.eligibility or []:
            ok = criterion.satisfied(values)
            if ok is None:
                missing.append(criterion.id)
            elif not ok:
                failed.append(criterion.id)
        eligible: bool | None = False if failed else (None if missing else True)
        return Eligibility(eligible=eligible, failed=tuple(failed), missing=tuple(missing))


class Eligibility(BaseModel):
    """Outcome of screening: ``eligible`` is None while some criterion is unanswered."""

    model_config = ConfigDict(frozen=True)

    eligible: bool | None
    failed: tuple[str, ...]
    missing: tuple[str, ...]
