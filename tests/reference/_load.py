"""Load the reference values that the R scripts in ``tests/reference/<method>/`` wrote.

R's jsonlite writes ``NA``, ``NaN``, ``Inf`` and ``-Inf`` as strings; they become floats here.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE_DIR = Path(__file__).resolve().parent

#: Relative tolerance for closed-form results.
CLOSED_FORM_RTOL = 1e-10
#: Relative tolerance for iterative fits (Newton-Raphson, root finding).
ITERATIVE_RTOL = 1e-6

_SPECIAL = {"NA": math.nan, "NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}


def _convert(value: Any) -> Any:
    if isinstance(value, str) and value in _SPECIAL:
        return _SPECIAL[value]
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if isinstance(value, dict):
        return {k: _convert(v) for k, v in value.items()}
    return value


def load_json(method: str, name: str | None = None) -> dict[str, Any]:
    """The JSON written by ``tests/reference/<method>/<name or method>.R``."""
    path = REFERENCE_DIR / method / f"{name or method}.json"
    with path.open() as fh:
        out: dict[str, Any] = _convert(json.load(fh))
    return out


def load_csv(method: str, filename: str) -> dict[str, np.ndarray]:
    """A CSV written by an R script, as one float array per column (NA becomes NaN)."""
    path = REFERENCE_DIR / method / filename
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.strip('"') for h in rows[0]]
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        vals = [r[j].strip('"') for r in rows[1:]]
        try:
            cols[name] = np.array([math.nan if v == "NA" else float(v) for v in vals])
        except ValueError:
            cols[name] = np.array(vals)
    return cols


def assert_close(
    actual: Any, expected: Any, rtol: float, *, atol: float = 0.0, what: str = ""
) -> None:
    """Every value matches (NaN where R has NA/NaN, equal infinities); relative tolerance."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def count_values(expected: Any) -> int:
    """How many numbers a reference entry holds (for the record in the test report)."""
    return int(np.asarray(expected, dtype=np.float64).size)
