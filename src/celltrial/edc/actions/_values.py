"""Checking a value against the protocol's measurement catalogue."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from celltrial.edc.actions._base import ActionError
from celltrial.protocol import Measurement, Protocol


@dataclasses.dataclass(frozen=True)
class Checked:
    text: str
    number: float | None
    value: Any  # as the protocol's rules compare it (float, int, bool, str)
    out_of_range: bool


def catalogue_entry(protocol: Protocol, code: str, field: str = "code") -> Measurement:
    try:
        return protocol.measurement(code)
    except KeyError:
        known = ", ".join(m.code for m in protocol.measurements)
        raise ActionError(field, f"{code!r} is not in the protocol's catalogue ({known})") from None


def check_value(
    m: Measurement, raw: Any, *, field: str = "value", unit: str | None = None
) -> Checked:
    """Parse ``raw`` by the measurement's kind; the unit, when given, must be the catalogue's."""
    if unit not in (None, "") and m.unit is not None and unit != m.unit:
        raise ActionError("unit", f"{m.code} is recorded in {m.unit}, not {unit!r}")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ActionError(field, f"{m.code}: a value is required")
    if m.kind in ("number", "integer"):
        if isinstance(raw, bool):
            raise ActionError(field, f"{m.code} is a {m.kind}, got {raw!r}")
        try:
            x = float(raw)
        except (TypeError, ValueError):
            raise ActionError(field, f"{m.code} is a {m.kind}, got {raw!r}") from None
        if not math.isfinite(x):
            raise ActionError(field, f"{m.code}: {raw!r} is not a finite number")
        if m.kind == "integer" and not x.is_integer():
            raise ActionError(field, f"{m.code} is an integer, got {raw!r}")
        out = m.range is not None and not (m.range[0] <= x <= m.range[1])
        value: Any = int(x) if m.kind == "integer" else x
        return Checked(f"{value:g}" if isinstance(value, float) else str(value), x, value, out)
    if m.kind == "boolean":
        if isinstance(raw, bool):
            b = raw
        elif str(raw).lower() in ("true", "yes", "1"):
            b = True
        elif str(raw).lower() in ("false", "no", "0"):
            b = False
        else:
            raise ActionError(field, f"{m.code} is yes/no (true or false), got {raw!r}")
        return Checked("true" if b else "false", None, b, False)
    text = str(raw).strip()
    if m.kind in ("category", "ordinal"):
        codes = [lv.code for lv in m.levels or []]
        if text not in codes:
            raise ActionError(field, f"{m.code}: {text!r} is not one of {', '.join(codes)}")
    if len(text) > 200:
        raise ActionError(field, f"{m.code}: at most 200 characters")
    return Checked(text, None, text, False)


def range_problem(m: Measurement, c: Checked) -> str:
    assert m.range is not None
    return (
        f"{m.code}: {c.text} {m.unit or ''} is outside the plausible range "
        f"{m.range[0]:g}–{m.range[1]:g}; set confirmed=true if it is correct"
    )
