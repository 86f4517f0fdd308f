"""Input checks shared by every function in ``celltrial.stats``.

Each check raises ``ValueError`` whose message names the argument and the rule it broke, so a
user's mistake never surfaces as a numpy traceback.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def as_float_array(name: str, values: Any, *, allow_nan: bool = False) -> NDArray[np.float64]:
    """``values`` as a 1-d float64 array; non-numeric or NaN entries are refused."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: must be numeric ({exc})") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {arr.shape}")
    if not allow_nan and arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}: must be finite; element {bad} is {arr[bad]!r}")
    return arr


def as_time(name: str, values: Any) -> NDArray[np.float64]:
    """Follow-up times: finite and non-negative."""
    arr = as_float_array(name, values)
    if arr.size == 0:
        raise ValueError(f"{name}: must not be empty")
    if np.any(arr < 0):
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name}: times must be >= 0; element {bad} is {arr[bad]!r}")
    return arr


def as_event(name: str, values: Any, n: int) -> NDArray[np.bool_]:
    """An event indicator of length ``n`` with values in {0, 1} (or booleans)."""
    arr = as_float_array(name, values)
    if arr.size != n:
        raise ValueError(f"{name}: length {arr.size} differs from time's length {n}")
    ok = (arr == 0) | (arr == 1)
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"{name}: must be 0/1 (censored/event); element {bad} is {arr[bad]!r}")
    return arr.astype(bool)


def same_length(n: int, **arrays: Any) -> None:
    """Every named array has length ``n``."""
    for name, arr in arrays.items():
        if arr is None:
            continue
        length = len(arr)
        if length != n:
            raise ValueError(f"{name}: length {length} differs from the data's length {n}")


def check_level(level: float) -> float:
    """A confidence level strictly between 0 and 1."""
    if not (0.0 < float(level) < 1.0):
        raise ValueError(f"level: must be strictly between 0 and 1, got {level!r}")
    return float(level)
