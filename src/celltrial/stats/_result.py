"""The frozen result type that every statistical function in ``celltrial.stats`` returns.

Each method has its own subclass (a frozen dataclass) with plainly named fields. The names are
the same everywhere: ``statistic``, ``df``, ``p_value``, ``estimate``, ``se``, ``ci``,
``method``, ``n``. ``to_dict()`` gives plain Python values (numpy arrays become lists) and
``summary()`` a short human-readable text.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    """Convert numpy scalars/arrays and nested containers into plain Python values."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        return f"{value:.6g}"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, float) for v in value):
        return f"({_fmt(value[0])}, {_fmt(value[1])})"
    if isinstance(value, np.ndarray):
        if value.size > 8:
            return f"array(shape={value.shape})"
        return np.array2string(value, precision=6)
    return str(value)


@dataclasses.dataclass(frozen=True)
class Result:
    """Base of all result types: frozen, with ``to_dict()`` and ``summary()``.

    Subclasses are declared with ``@dataclasses.dataclass(frozen=True)`` and add named fields.
    Fields whose value is a large array are summarised by shape in ``summary()``.
    """

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain Python values (lists, floats, ints, strings, dicts)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def summary(self) -> str:
        """A short text: the class name, then one ``name: value`` line per scalar field."""
        lines = [type(self).__name__]
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            lines.append(f"  {f.name}: {_fmt(value)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
