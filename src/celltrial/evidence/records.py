"""Trial records: what a publication says about a trial, each number with its source sentence.

A record is YAML (one trial per file) validated by the models below. Nothing is inferred:
what the source does not say is absent, or written ``unknown``. Bad input (a count larger than
its n, a percentage no integer count over n can give, a missing denominator) is reported with
the record and the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class RecordError(ValueError):
    """One or more problems in trial records, each naming the record and the field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identifiers(_Model):
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    registry: list[str] = Field(default_factory=list)

    def keys(self) -> set[str]:
        """Normalised identifiers used to recognise the same trial across sources."""
        out: set[str] = set()
        if self.pmid:
            out.add(f"pmid:{self.pmid}")
        if self.pmcid:
            out.add(f"pmcid:{self.pmcid.upper()}")
        if self.doi:
            out.add(f"doi:{self.doi.lower()}")
        out.update(f"registry:{r.upper()}" for r in self.registry)
        return out


class Arm(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    n: int | None = Field(default=None, ge=0)
    role: Literal["experimental", "control"] | None = None
    product: str | None = None
    dose: str | None = None
    schedule: str | None = None
    source: str | None = None


class ArmCount(_Model):
    """Events (or a percentage) out of n in one arm."""

    events: int | None = Field(default=None, ge=0)
    n: int | None = Field(default=None, ge=1)
    percent: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.events is not None and self.n is not None and self.events > self.n:
            raise ValueError(f"events {self.events} exceed n {self.n}")
        if self.percent is not None:
            try:
                value = float(self.percent)
            except ValueError:
                raise ValueError(f"percent {self.percent!r} is not a number") from None
            if not 0 <= value <= 100:
                raise ValueError(f"percent {self.percent} is outside 0-100")
            if self.n is not None and not possible_counts(self.percent, self.n):
                raise ValueError(
                    f"percent {self.percent}% is not k/{self.n} for any whole number k "
                    f"(rounded to the digits given)"
                )
        return self


class Outcome(_Model):
    """A result reported by arm: counts for a binary outcome, or a summary statistic."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    kind: Literal["binary", "survival", "continuous"] = "binary"
    timepoint: str | None = None
    arms: dict[str, ArmCount] = Field(default_factory=dict)
    estimate: float | None = None
    ci: tuple[float, float] | None = None
    measure: str | None = None
    p_value: str | None = None
    test: str | None = None
    source: str


class Claim(_Model):
    """A sentence's numeric claim, for auditing (``celltrial evidence audit``)."""

    id: str
    text: str
    outcome: str | None = None
    percentages: tuple[str, str] | None = None
    p_value: str | None = None
    test: str | None = None
    source: str


class TrialRecord(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    journal: str | None = None
    identifiers: Identifiers = Identifiers()
    design: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    subgroups: dict[str, str] = Field(default_factory=dict)
    arms: list[Arm] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _arms_exist(self) -> Self:
        arm_ids = {a.id for a in self.arms}
        for i, outcome in enumerate(self.outcomes):
            for arm in outcome.arms:
                if arm not in arm_ids:
                    raise ValueError(
                        f"outcomes[{i}] ({outcome.id}): arm {arm!r} is not one of {sorted(arm_ids)}"
                    )
        return self

    def arm(self, arm_id: str) -> Arm:
        for a in self.arms:
            if a.id == arm_id:
                return a
        raise KeyError(f"record {self.id}: no arm {arm_id!r}")

    def outcome(self, outcome_id: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.id == outcome_id), None)

    def denominator(self, outcome: Outcome, arm_id: str) -> int | None:
        """The n of an arm for an outcome: the outcome's own, else the arm's."""
        count = outcome.arms[arm_id]
        return count.n if count.n is not None else self.arm(arm_id).n


def possible_counts(percent: str, n: int) -> list[int]:
    """Whole numbers k with 100 k / n rounding to ``percent`` at its reported digits."""
    text = percent.strip()
    digits = len(text.split(".")[1]) if "." in text else 0
    half = 0.5 * 10.0**-digits
    value = float(text)
    low = math.ceil((value - half) * n / 100 - 1e-9)
    high = math.floor((value + half) * n / 100 + 1e-9)
    return [k for k in range(max(low, 0), min(high, n) + 1)]


def _format_error(name: str, err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"record {name}: {loc}: {msg}" if loc else f"record {name}: {msg}"


def parse_record(data: Any, *, name: str) -> TrialRecord:
    """Validate one record (a mapping); raise :class:`RecordError` naming record and field."""
    try:
        record = TrialRecord.model_validate(data)
    except ValidationError as exc:
        raise RecordError([_format_error(name, e) for e in exc.errors()]) from None
    problems = []
    for outcome in record.outcomes:
        if outcome.kind != "binary":
            continue
        for arm_id, count in outcome.arms.items():
            if (count.events is not None or count.percent is not None) and record.denominator(
                outcome, arm_id
            ) is None:
                problems.append(
                    f"record {name}: outcomes.{outcome.id}.arms.{arm_id}: a count needs its "
                    "denominator (n on the count or on the arm)"
                )
            n = record.denominator(outcome, arm_id)
            if count.events is not None and n is not None and count.events > n:
                problems.append(
                    f"record {name}: outcomes.{outcome.id}.arms.{arm_id}.events: "
                    f"{count.events} exceeds the arm's n {n}"
                )
            if (
                count.percent is not None
                and n is not None
                and not possible_counts(count.percent, n)
            ):
                problems.append(
                    f"record {name}: outcomes.{outcome.id}.arms.{arm_id}.percent: "
                    f"{count.percent}% is not k/{n} for any whole number k"
                )
    if problems:
        raise RecordError(problems)
    return record


def load_records(paths: Iterable[str | Path]) -> list[TrialRecord]:
    """Load record files (YAML, one record or a list per file); all problems at once."""
    records: list[TrialRecord] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            problems.append(f"{path}: no such record file")
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: not valid YAML: {exc}")
            continue
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            name = (
                f"{path.name}:{item.get('id', i)}"
                if isinstance(item, dict)
                else f"{path.name}[{i}]"
            )
            try:
                records.append(parse_record(item, name=name))
            except RecordError as exc:
                problems.extend(exc.problems)
    if problems:
        raise RecordError(problems)
    return records


def library_record_paths() -> list[Path]:
    """The records of the five seed trials shipped with celltrial."""
    folder = Path(__file__).with_name("library")
    return sorted(folder.glob("*.yaml"))
