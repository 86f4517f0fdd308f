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


#: a number the paper does not report: ``unknown``, or the range ``[low, high]`` it must lie in
Unknown = Literal["unknown"] | tuple[int, int]
#: a reported number kept as written (``"5.20"``: its digits carry its precision)
Reported = str | float


class ArmCount(_Model):
    """One arm's result: events (or a percentage) out of n; or counts per category; or summary
    statistics of a continuous outcome (mean, SD; median, quartiles).

    ``events`` and ``n`` may be ``unknown`` or a range ``[low, high]`` when the paper does not
    report them (an arm's n at a later time point): the audit then gives the values under which
    a claim holds. ``n: unknown`` ranges from the events to the arm's randomized n.
    """

    events: int | Unknown | None = None
    n: int | Unknown | None = None
    percent: str | None = None
    counts: list[int] | None = None
    mean: Reported | None = None
    sd: Reported | None = None
    median: Reported | None = None
    q1: Reported | None = None
    q3: Reported | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in ("events", "n"):
            v = getattr(self, name)
            if isinstance(v, int) and v < (1 if name == "n" else 0):
                raise ValueError(f"{name} must be >= {1 if name == 'n' else 0}, got {v}")
            if isinstance(v, tuple) and not 0 <= v[0] <= v[1]:
                raise ValueError(f"{name}: range {list(v)} is empty or negative")
        if isinstance(self.events, int) and isinstance(self.n, int) and self.events > self.n:
            raise ValueError(f"events {self.events} exceed n {self.n}")
        if self.counts is not None and any(c < 0 for c in self.counts):
            raise ValueError(f"counts {self.counts} must be >= 0")
        if self.percent is not None:
            try:
                value = float(self.percent)
            except ValueError:
                raise ValueError(f"percent {self.percent!r} is not a number") from None
            if not 0 <= value <= 100:
                raise ValueError(f"percent {self.percent} is outside 0-100")
            if isinstance(self.n, int) and not possible_counts(self.percent, self.n):
                raise ValueError(
                    f"percent {self.percent}% is not k/{self.n} for any whole number k "
                    f"(rounded to the digits given)"
                )
        return self


Censoring = Literal["complete", "any"] | tuple[int, int]


class Outcome(_Model):
    """A result reported by arm: counts for a binary outcome, counts per category, or summary
    statistics; with the estimate, CI and p-value the paper gives for the comparison."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    kind: Literal["binary", "survival", "continuous", "categorical"] = "binary"
    timepoint: str | None = None
    categories: list[str] | None = None
    arms: dict[str, ArmCount] = Field(default_factory=dict)
    compare: tuple[str, str] | None = None
    estimate: Reported | None = None
    ci: tuple[Reported, Reported] | None = None
    measure: str | None = None
    p_value: str | None = None
    test: str | None = None
    censoring: Censoring | None = None
    source: str


class Claim(_Model):
    """A sentence's numeric claim, for auditing (``celltrial evidence audit``).

    ``outcome`` names an outcome of the record whose counts or statistics are behind it;
    ``compare`` the two arms compared (needed when the trial has more than two arms). The
    other fields are the claim's own numbers: ``percentages``; ``measure`` (RR, OR, RD, HR,
    MD), ``estimate`` and ``ci``; ``mean``, ``sd``, ``n`` and ``items`` of integer data (GRIM,
    GRIMMER); ``p_value`` and the ``test`` the paper names; ``censoring`` for a log-rank claim.
    """

    id: str
    text: str
    outcome: str | None = None
    compare: tuple[str, str] | None = None
    percentages: tuple[str, str] | None = None
    measure: str | None = None
    estimate: Reported | None = None
    ci: tuple[Reported, Reported] | None = None
    mean: Reported | None = None
    sd: Reported | None = None
    n: int | None = Field(default=None, ge=1)
    items: int = Field(default=1, ge=1)
    p_value: str | None = None
    test: str | None = None
    censoring: Censoring | None = None
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
        outcome_ids = {o.id for o in self.outcomes}
        for i, outcome in enumerate(self.outcomes):
            for arm in [*outcome.arms, *(outcome.compare or ())]:
                if arm not in arm_ids:
                    raise ValueError(
                        f"outcomes[{i}] ({outcome.id}): arm {arm!r} is not one of {sorted(arm_ids)}"
                    )
        for i, claim in enumerate(self.claims):
            if claim.outcome is not None and claim.outcome not in outcome_ids:
                raise ValueError(
                    f"claims[{i}] ({claim.id}).outcome: {claim.outcome!r} is not an outcome of "
                    f"this record (outcomes: {', '.join(sorted(outcome_ids)) or 'none'})"
                )
            for arm in claim.compare or ():
                if arm not in arm_ids:
                    raise ValueError(
                        f"claims[{i}] ({claim.id}).compare: arm {arm!r} is not one of "
                        f"{sorted(arm_ids)}"
                    )
        return self

    def arm(self, arm_id: str) -> Arm:
        for a in self.arms:
            if a.id == arm_id:
                return a
        raise KeyError(f"record {self.id}: no arm {arm_id!r}")

    def outcome(self, outcome_id: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.id == outcome_id), None)

    def denominator(self, outcome: Outcome, arm_id: str) -> int | tuple[int, int] | None:
        """The n of an arm for an outcome: the outcome's own, else the arm's.

        An outcome's ``n: unknown`` is the range from the events (at least 1) to the arm's n;
        ``None`` when nothing bounds it.
        """
        count = outcome.arms[arm_id]
        if count.n is None:
            return self.arm(arm_id).n
        if count.n == "unknown":
            top = self.arm(arm_id).n
            if top is None:
                return None
            low = count.events if isinstance(count.events, int) else 0
            return (max(low, 1), top)
        return count.n


def possible_counts(percent: str, n: int) -> list[int]:
    """Whole numbers k with 100 k / n rounding to ``percent`` at its reported digits."""
    text = percent.strip()
    digits = len(text.split(".")[1]) if "." in text else 0
    half = 0.5 * 10.0**-digits
    value = float(text)
    low = math.ceil((value - half) * n / 100 - 1e-9)
    high = math.floor((value + half) * n / 100 + 1e-9)
    return [k for k in range(max(low, 0), min(high, n) + 1)]


def _format_error(name: str, err: Any) -> tuple[tuple[str | int, ...], str]:
    loc = tuple(err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    # a model validator's message may name its own place: "claims[2] (x).outcome: ..."
    if not loc and msg[:1].isalpha() and "[" in msg.split(":")[0]:
        head = msg.split(":")[0]
        field, _, rest = head.partition("[")
        index, _, tail = rest.partition("]")
        sub = tail.split(")")[-1].lstrip(".")
        if index.isdigit():
            loc = (field, int(index), *([sub] if sub else []))
    where = ".".join(str(p) for p in err["loc"])
    return loc, (f"record {name}: {where}: {msg}" if where else f"record {name}: {msg}")


_UNION_TAGS = ("int", "str", "float", "bool", "none")


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and (part in _UNION_TAGS or "[" in part)


def _merge_union_errors(errors: list[Any]) -> list[Any]:
    """One error per field: pydantic reports a value that fits no member of a union (``n: 12``
    or ``unknown`` or ``[low, high]``) once per member; say what the field accepts instead."""
    out: list[Any] = []
    seen: dict[tuple[Any, ...], int] = {}
    for err in errors:
        loc = tuple(err["loc"])
        if not loc or not _is_union_tag(loc[-1]):
            out.append(err)
            continue
        field = loc[:-1]
        while field and _is_union_tag(field[-1]):
            field = field[:-1]
        if field in seen:
            continue
        seen[field] = len(out)
        accepted = {
            "n": "a whole number, 'unknown' or a range [low, high]",
            "events": "a whole number, 'unknown' or a range [low, high]",
            "censoring": "'complete', 'any' or two counts [arm 1, arm 2]",
        }.get(str(field[-1]) if field else "", "a value of the documented form")
        out.append({**err, "loc": field, "msg": f"expected {accepted}, got {err.get('input')!r}"})
    return out


def _check_numbers(record: TrialRecord) -> list[tuple[tuple[str | int, ...], str]]:
    """p-values that cannot be read, and tests no wording stands for, at their fields."""
    from celltrial.stats.claims import normalise_test, parse_p_value

    out: list[tuple[tuple[str | int, ...], str]] = []
    items: list[tuple[str, int, Outcome | Claim]] = [
        *(("outcomes", i, o) for i, o in enumerate(record.outcomes)),
        *(("claims", i, c) for i, c in enumerate(record.claims)),
    ]
    for what, i, item in items:
        if True:
            if item.p_value is not None:
                try:
                    parse_p_value(item.p_value)
                except ValueError as exc:
                    hint = (
                        " (a footnote mark? write the p-value alone and say the test in test:)"
                        if any(ch in item.p_value for ch in "*†‡§a")
                        else ""
                    )
                    msg = str(exc).removeprefix("p_value: ")
                    out.append(
                        ((what, i, "p_value"), f"{what}[{i}] ({item.id}).p_value: {msg}{hint}")
                    )
            if item.test is not None:
                try:
                    normalise_test(item.test)
                except ValueError as exc:
                    msg = str(exc).removeprefix("test: ")
                    out.append(((what, i, "test"), f"{what}[{i}] ({item.id}).test: {msg}"))
    return out


def parse_record(data: Any, *, name: str, lines: Any = None) -> TrialRecord:
    """Validate one record (a mapping); raise :class:`RecordError` naming record and field.

    ``lines``, when given, maps a field's location (``("claims", 0, "p_value")``) to its line
    in the YAML file, and each message starts with ``file:line:``.
    """

    def place(loc: tuple[str | int, ...], msg: str) -> str:
        line = lines(loc) if lines is not None else None
        return f"line {line}: {msg}" if line is not None else msg

    try:
        record = TrialRecord.model_validate(data)
    except ValidationError as exc:
        raise RecordError(
            [place(*_format_error(name, e)) for e in _merge_union_errors(exc.errors())]
        ) from None
    problems = [place(loc, f"record {name}: {msg}") for loc, msg in _check_numbers(record)]
    for oi, outcome in enumerate(record.outcomes):
        if outcome.kind != "binary":
            continue
        for arm_id, count in outcome.arms.items():
            n = record.denominator(outcome, arm_id)
            loc: tuple[str | int, ...] = ("outcomes", oi, "arms", arm_id)
            if (count.events is not None or count.percent is not None) and n is None:
                problems.append(
                    place(
                        loc,
                        f"record {name}: outcomes.{outcome.id}.arms.{arm_id}: a count needs its "
                        "denominator (n on the count or on the arm)",
                    )
                )
            if isinstance(count.events, int) and isinstance(n, int) and count.events > n:
                problems.append(
                    place(
                        (*loc, "events"),
                        f"record {name}: outcomes.{outcome.id}.arms.{arm_id}.events: "
                        f"{count.events} exceeds the arm's n {n}",
                    )
                )
            if (
                count.percent is not None
                and isinstance(n, int)
                and not possible_counts(count.percent, n)
            ):
                problems.append(
                    place(
                        (*loc, "percent"),
                        f"record {name}: outcomes.{outcome.id}.arms.{arm_id}.percent: "
                        f"{count.percent}% is not k/{n} for any whole number k",
                    )
                )
    if problems:
        raise RecordError(problems)
    return record


def _line_finder(node: Any) -> Any:
    """A function from a field's location to its 1-based line in the composed YAML ``node``."""

    def find(loc: tuple[str | int, ...]) -> int | None:
        current = node
        best = current.start_mark.line + 1 if current is not None else None
        for key in loc:
            if isinstance(current, yaml.MappingNode):
                nxt = next((v for k, v in current.value if k.value == str(key)), None)
                if nxt is None:
                    key_node = None
                    break
                key_node = next(k for k, v in current.value if k.value == str(key))
                best = key_node.start_mark.line + 1
                current = nxt
            elif isinstance(current, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(current.value):
                    break
                current = current.value[key]
                best = current.start_mark.line + 1
            else:
                break
        return best

    return find


def load_records(paths: Iterable[str | Path]) -> list[TrialRecord]:
    """Load record files (YAML, one record or a list per file); all problems at once.

    Each problem starts with ``file:line:`` (the line of the field at fault) and names the
    record and the field.
    """
    records: list[TrialRecord] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            problems.append(f"{path}: no such record file")
            continue
        text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
            root = yaml.compose(text, Loader=yaml.SafeLoader)
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
            node = root.value[i] if isinstance(root, yaml.SequenceNode) else root
            find = _line_finder(node)
            try:
                records.append(
                    parse_record(item, name=name, lines=lambda loc, find=find: find(loc))
                )
            except RecordError as exc:
                problems.extend(
                    f"{path.name}:{p.removeprefix('line ')}" if p.startswith("line ") else p
                    for p in exc.problems
                )
    if problems:
        raise RecordError(problems)
    return records


def library_record_paths() -> list[Path]:
    """The records of the five seed trials shipped with celltrial."""
    folder = Path(__file__).with_name("library")
    return sorted(folder.glob("*.yaml"))
