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
        raise ValueError(f"{name}: must be finite; element {bad} is {show(arr[bad])}")
    return arr


def as_time(name: str, values: Any) -> NDArray[np.float64]:
    """Follow-up times: finite and non-negative."""
    arr = as_float_array(name, values, allow_nan=True)
    if arr.size and arr.min() >= 0.0 and arr.max() < np.inf:  # (NaN fails both: checked below)
        return arr
    arr = as_float_array(name, arr)
    if arr.size == 0:
        raise ValueError(f"{name}: must not be empty")
    if np.any(arr < 0):
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name}: times must be >= 0; element {bad} is {show(arr[bad])}")
    return arr


def as_event(name: str, values: Any, n: int) -> NDArray[np.bool_]:
    """An event indicator of length ``n`` with values in {0, 1} (or booleans)."""
    if isinstance(values, np.ndarray) and values.dtype == np.bool_ and values.shape == (n,):
        return values.copy()
    arr = as_float_array(name, values, allow_nan=True)
    if arr.size == n and np.count_nonzero(arr == 0.0) + np.count_nonzero(arr == 1.0) == n:
        return arr.astype(bool)
    arr = as_float_array(name, arr)
    if arr.size != n:
        raise ValueError(f"{name}: length {arr.size} differs from time's length {n}")
    ok = (arr == 0) | (arr == 1)
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"{name}: must be 0/1 (censored/event); element {bad} is {show(arr[bad])}")
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
        raise ValueError(f"level: must be strictly between 0 and 1, got {show(level)}")
    return float(level)


def as_weights(name: str, values: Any, n: int) -> NDArray[np.float64]:
    """Case weights of length ``n``: finite and non-negative, not all zero."""
    arr = as_float_array(name, values)
    if arr.size != n:
        raise ValueError(f"{name}: length {arr.size} differs from the data's length {n}")
    if np.any(arr < 0):
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name}: weights must be >= 0; element {bad} is {show(arr[bad])}")
    if not np.any(arr > 0):
        raise ValueError(f"{name}: at least one weight must be positive")
    return arr


def as_labels(name: str, values: Any, n: int) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Group or stratum labels of length ``n``: the sorted distinct labels and integer codes.

    Labels may be numbers or strings; NaN (or None) labels are refused.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {arr.shape}")
    if arr.size != n:
        raise ValueError(f"{name}: length {arr.size} differs from the data's length {n}")
    if arr.dtype == object:
        for i, v in enumerate(arr.tolist()):
            if v is None or (isinstance(v, float) and v != v) or type(v).__name__ == "NAType":
                raise ValueError(f"{name}: must not contain missing values; element {i} is {v}")
    elif arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: must not contain NaN or infinite labels")
    few = _few_levels(arr)
    if few is not None:
        return few
    try:
        levels, codes = np.unique(arr, return_inverse=True)
    except TypeError:
        raise ValueError(f"{name}: labels must be all numbers or all strings") from None
    return levels, codes.astype(np.intp).reshape(-1)


def _few_levels(arr: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]] | None:
    """``np.unique(arr, return_inverse=True)`` in linear time for many numeric labels of a few
    distinct values (arms, strata): the distinct values of a sample, then one binary search per
    label among them, checked to give every label back; None when they do not (or when the
    labels are few or not numbers), and the caller sorts."""
    if arr.dtype.kind not in "biuf" or arr.size < 4096:
        return None
    levels = np.unique(arr[:: arr.size // 1024])
    if levels.size > 64:
        return None
    if levels.size <= 4:  # a comparison per level beats a binary search
        # every label is one of the (distinct) levels when the counts of each add up to n
        if sum(int(np.count_nonzero(arr == v)) for v in levels) != arr.size:
            return None
        codes = (
            (arr >= levels[1]).astype(np.intp) if levels.size > 1 else np.zeros(arr.size, np.intp)
        )
        for v in levels[2:]:
            codes += arr >= v
        return levels, codes
    else:
        codes = np.searchsorted(levels, arr)
        np.minimum(codes, levels.size - 1, out=codes)
    if not np.array_equal(levels[codes], arr):
        return None
    return levels, codes


def label_values(levels: NDArray[Any]) -> tuple[Any, ...]:
    """The distinct labels from :func:`as_labels` as plain Python values (str, int, float)."""
    return tuple(v.item() if isinstance(v, np.generic) else v for v in levels.tolist())


def show(value: Any) -> str:
    """A value for a message: a numpy scalar as the plain Python number (``nan``, not
    ``np.float64(nan)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(
            f"{name}: must be one of {', '.join(map(repr, choices))}; got {show(value)}"
        )
    return value


def as_entry(name: str, values: Any, time: NDArray[np.float64]) -> NDArray[np.float64]:
    """Entry (left-truncation) times: finite, >= 0, same length as ``time`` and < ``time``."""
    arr = as_float_array(name, values)
    if arr.size != time.size:
        raise ValueError(f"{name}: length {arr.size} differs from time's length {time.size}")
    if np.any(arr < 0):
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name}: times must be >= 0; element {bad} is {show(arr[bad])}")
    if np.any(arr >= time):
        bad = int(np.flatnonzero(arr >= time)[0])
        raise ValueError(
            f"{name}: entry must be < time; element {bad} has entry {show(arr[bad])} "
            f">= time {show(time[bad])}"
        )
    return arr


def check_table_2x2(name: str, table: Any) -> NDArray[np.float64]:
    """A 2x2 table of non-negative integer counts."""
    arr = np.asarray(table, dtype=np.float64)
    if arr.shape != (2, 2):
        raise ValueError(f"{name}: must be a 2x2 table, got shape {arr.shape}")
    check_counts(name, arr)
    return arr


def check_counts(name: str, arr: NDArray[np.float64]) -> None:
    """Finite, non-negative, whole-number counts."""
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: counts must be finite")
    if np.any(arr < 0):
        raise ValueError(f"{name}: counts must be >= 0")
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name}: counts must be whole numbers")
