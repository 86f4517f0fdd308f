"""Analysis populations and arms: who is analysed, in which arm, compared with which."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from celltrial.protocol import Protocol

#: ADSL flag and arm column of each analysis population.
POPULATIONS: dict[str, tuple[str, str, str]] = {
    "itt": ("ITTFL", "ARMCD", "intention to treat (all randomized, as randomized)"),
    "mitt": ("SAFFL", "ARMCD", "modified intention to treat (randomized and dosed, as randomized)"),
    "per_protocol": ("PPROTFL", "ARMCD", "per protocol (as randomized)"),
    "safety": ("SAFFL", "ACTARMCD", "safety (received any dose, as treated)"),
}


@dataclasses.dataclass(frozen=True)
class ArmInfo:
    """An arm of the protocol as the analysis names it."""

    id: str
    label: str
    role: str


def arms_of(protocol: Protocol) -> tuple[ArmInfo, ...]:
    return tuple(ArmInfo(a.id, a.label, a.role) for a in protocol.arms)


def comparisons(protocol: Protocol) -> list[tuple[str, str]]:
    """(treatment, reference) pairs: every other arm against the first control arm."""
    ids = [a.id for a in protocol.arms]
    controls = [a.id for a in protocol.arms if a.role == "control"]
    if len(ids) < 2:
        return []
    ref = controls[0] if controls else ids[-1]
    return [(a, ref) for a in ids if a != ref]


def population(adsl: pd.DataFrame, name: str) -> tuple[pd.DataFrame, str]:
    """The ADSL rows of population ``name`` and the column that holds their arm."""
    flag, arm_col, _ = POPULATIONS[name]
    rows = adsl[(adsl["ITTFL"] == "Y") & (adsl[flag] == "Y")]
    return rows.reset_index(drop=True), arm_col


def describe(name: str) -> str:
    return POPULATIONS[name][2]


def quartiles(values: np.ndarray) -> tuple[float, float, float]:
    """(median, Q1, Q3), R's default type 7 quantiles; NaNs when empty."""
    if values.size == 0:
        return (math.nan, math.nan, math.nan)
    q1, med, q3 = np.percentile(values, [25.0, 50.0, 75.0])
    return (float(med), float(q1), float(q3))


def mean_sd(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return (math.nan, math.nan)
    sd = float(np.std(values, ddof=1)) if values.size > 1 else math.nan
    return (float(np.mean(values)), sd)
