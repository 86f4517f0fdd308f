"""The one frozen result base of celltrial, at the ground floor beside ``protocol``.

Every result type of the statistics (:mod:`celltrial.stats`), the allocation
(:mod:`celltrial.allocation`) and the trial analysis (:mod:`celltrial.analysis`) is a frozen
dataclass deriving from :class:`Result`, with plainly named fields (the statistics use the same
names everywhere: ``statistic``, ``df``, ``p_value``, ``estimate``, ``se``, ``ci``, ``method``,
``n``). ``to_dict()`` gives plain Python values (numpy arrays become lists, nested results and
dataclasses dicts, dates ISO 8601 text) and ``summary()`` a short human-readable text.

This module imports nothing of celltrial, and every package may import it
(docs/architecture.md); ``celltrial.stats.Result`` is this class.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` as plain Python values: results and dataclasses become dicts of their fields,
    numpy arrays lists, numpy scalars Python numbers, dates and times ISO 8601 text, mappings
    dicts with text keys, tuples lists."""
    if isinstance(value, Result):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def shown(value: Any) -> str:
    """One field's value as :meth:`Result.summary` shows it (6 significant digits; NaN as NA;
    an array of more than 8 values by its shape)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        return f"{value:.6g}"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, float) for v in value):
        return f"({shown(value[0])}, {shown(value[1])})"
    if isinstance(value, np.ndarray):
        if value.size > 8:
            return f"array(shape={value.shape})"
        return np.array2string(value, precision=6)
    return str(value)


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of all result types: frozen, with ``to_dict()`` and ``summary()``.

    Subclasses are declared with ``@dataclasses.dataclass(frozen=True)`` and add named fields.
    """

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain Python values (lists, floats, ints, strings, dicts)."""
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def summary(self) -> str:
        """A short text: the class name, then one ``name: value`` line per field that is set."""
        lines = [type(self).__name__]
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            lines.append(f"  {f.name}: {shown(value)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
