"""Analysis populations: who is analysed, and in which arm (as randomized or as treated)."""

from __future__ import annotations

import pandas as pd

#: ADSL flag and arm column of each analysis population.
POPULATIONS: dict[str, tuple[str, str, str]] = {
    "itt": ("ITTFL", "ARMCD", "intention to treat (all randomized, as randomized)"),
    "mitt": ("SAFFL", "ARMCD", "modified intention to treat (randomized and dosed, as randomized)"),
    "per_protocol": ("PPROTFL", "ARMCD", "per protocol (as randomized)"),
    "safety": ("SAFFL", "ACTARMCD", "safety (received any dose, as treated)"),
}


def population(adsl: pd.DataFrame, name: str) -> tuple[pd.DataFrame, str]:
    """The ADSL rows of population ``name`` and the column that holds their arm."""
    flag, arm_col, _ = POPULATIONS[name]
    rows = adsl[(adsl["ITTFL"] == "Y") & (adsl[flag] == "Y")]
    return rows.reset_index(drop=True), arm_col


def describe(name: str) -> str:
    """The population in words."""
    return POPULATIONS[name][2]
