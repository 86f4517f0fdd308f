"""Form fields generated from the protocol: screening (its eligibility rules and the screening
visit's measurements) and measurements (the catalogue, with units and plausible ranges)."""

from __future__ import annotations

import dataclasses
from typing import Any

from celltrial.edc import labels
from celltrial.protocol import Measurement, Protocol


@dataclasses.dataclass
class Field:
    name: str
    label: str
    widget: str  # number, select, text
    unit: str = ""
    hint: str = ""
    choices: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    value: str = ""
    error: str = ""
    confirmed: bool = False
    needs_confirm: bool = False
    #: A value of this measurement is recorded already at the visit (a likely duplicate).
    maybe_duplicate: bool = False
    duplicate_ok: bool = False


def _describe(c: Any) -> str:
    try:
        return str(c.describe())
    except Exception:  # a rule without a printable form: its text says it
        return ""


def criteria(protocol: Protocol) -> list[dict[str, str]]:
    """The eligibility rules, each with id, kind, text and the rule as written."""
    return [
        {"id": c.id, "kind": c.kind, "text": c.text, "rule": _describe(c)}
        for c in protocol.population.eligibility or []
    ]


def measurement_field(m: Measurement) -> Field:
    unit = labels.unit(m.unit)
    if m.kind in ("number", "integer"):
        hint = (
            f"plausible range {m.range[0]:g}–{m.range[1]:g} {unit}".rstrip()
            if m.range is not None
            else ""
        )
        return Field(m.code, m.label, "number", unit=unit, hint=hint)
    if m.kind == "boolean":
        return Field(m.code, m.label, "select", choices=[("true", "Yes"), ("false", "No")])
    if m.kind in ("category", "ordinal"):
        levels = [(lv.code, lv.label or lv.code) for lv in m.levels or []]
        return Field(m.code, m.label, "select", choices=levels)
    return Field(m.code, m.label, "text", unit=unit)


def screening_fields(protocol: Protocol) -> list[Field]:
    """The screening visit's measurements, the rules' variables, then the checklist items."""
    codes: list[str] = []
    for v in protocol.schedule.visits:
        if v.kind == "screening":
            codes += [c for c in v.measurements if c not in codes]
    rules = protocol.population.eligibility or []
    codes += [c.variable for c in rules if c.variable and c.variable not in codes]
    fields = []
    known = {m.code for m in protocol.measurements}
    for code in codes:
        if code in known:
            fields.append(measurement_field(protocol.measurement(code)))
    for c in rules:
        if c.variable is None:
            kind = "exclusion" if c.kind == "exclusion" else "inclusion"
            fields.append(
                Field(
                    c.id,
                    c.text,
                    "select",
                    hint=f"{kind} criterion",
                    choices=[("true", "Yes"), ("false", "No")],
                )
            )
    return fields


def measurement_fields(protocol: Protocol, visit: str = "") -> list[Field]:
    """A visit's measurements (or the whole catalogue)."""
    wanted: list[str] | None = None
    for v in protocol.schedule.visits:
        if v.id == visit:
            wanted = list(v.measurements)
    ms = protocol.measurements
    if wanted is not None:
        ms = [protocol.measurement(c) for c in wanted]
    return [measurement_field(m) for m in ms]
