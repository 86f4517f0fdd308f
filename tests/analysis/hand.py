"""The hand-built dataset's analysis arrays, written out by hand from its CSVs.

Times are days from each participant's first infusion (tests/dataset/data/lanzoni_small/
README.md tells each participant's story); nothing here comes from celltrial's derivations.
"""

from __future__ import annotations

import numpy as np

UCMSC = ["L-001", "L-003", "L-005", "L-007", "L-009", "L-011", "L-013", "L-015"]
CONTROL = ["L-002", "L-004", "L-006", "L-008", "L-010", "L-012", "L-014", "L-016"]

L005_LAST = 290 / 24  # withdrew, last contact 290 h after the first infusion
L008_LAST = 20 / 24  # never infused: 20 h after randomization (planned infusion time)

# (time in days, event) per arm, ITT as randomized.
SURVIVAL = {
    "ucmsc": ([31, 31, L005_LAST, 31, 31, 31, 31, 31], [0, 0, 0, 0, 0, 0, 0, 0]),
    "control": ([31, 9, 7, L008_LAST, 25, 82 / 24, 20, 29.5], [0, 1, 0, 0, 1, 1, 1, 1]),
}
SAE_FREE = {
    # L-003: SAE hypotension at 74 h; control: SAE or death, whichever first
    "ucmsc": ([31, 74 / 24, L005_LAST, 31, 31, 31, 31, 31], [0, 1, 0, 0, 0, 0, 0, 0]),
    "control": ([5, 8, 7, L008_LAST, 15, 80 / 24, 20, 27], [1, 1, 0, 0, 1, 1, 1, 1]),
}
RECOVERY = {
    # deaths kept in the risk set to day 31 (censor_at_horizon); L-007 recovered after day 31
    "ucmsc": ([10, 20, L005_LAST, 31, 8, 31, 6, 12], [1, 1, 0, 0, 1, 0, 1, 1]),
    "control": ([22, 31, 7, L008_LAST, 31, 31, 14, 31], [1, 0, 0, 0, 0, 0, 1, 0]),
}
TTE = {"survival_d31": SURVIVAL, "sae_free_survival": SAE_FREE, "time_to_recovery": RECOVERY}

# Change from day 0 to day 6 (lb.csv), ITT as randomized; missing participants and why.
IL6 = {
    "ucmsc": [-60, -80, -25, -110, -45, -45, -50],  # L-009: day-6 sample taken on day 8
    "control": [10, 55, 2, -50, 5, 15],  # L-008: no day-0 sample; L-012 died on day 3
}
TNFA = {
    "ucmsc": [-18, -21, -20, -9, -11, -15],  # L-005: NOT DONE; L-009 as above
    "control": [3, 12, 1, -5, 2, 8],
}
CHANGE = {"il6_change_d6": IL6, "tnfa_change_d6": TNFA}
# Values at day 6 (lb.csv), for the groups compared at day 6: the participants of the changes
# (L-008 has no day-6 sample, L-009's was taken on day 8, L-012 died, L-005's TNF-a not done).
VALUE_D6 = {
    "il6_d6": {"ucmsc": [20, 40, 25, 90, 45, 10, 50], "control": [70, 150, 72, 60, 80, 100]},
    "tnfa_d6": {"ucmsc": [12, 20, 30, 22, 9, 21], "control": [28, 45, 27, 30, 31, 38]},
}
MISSING = {
    "il6_change_d6": {"L-008", "L-009", "L-012"},
    "tnfa_change_d6": {"L-005", "L-008", "L-009", "L-012"},
}

# Safety population as treated: L-010 (randomized control) received UC-MSC; L-008 no dose.
SAFETY_N = {"ucmsc": 9, "control": 6}
# Infusion-associated (6 h): L-003 hypotension 2 h after infusion 2 (the window's term for a
# vasopressor increase); L-015 chills 3 h after infusion 1 is inside the window but not one of
# its named events (issue 15: listed, not counted). Cardiac arrest or death (24 h): L-012
# cardiac arrest 8 h and death 10 h after infusion 2.
INFUSION_SAFETY = {"ucmsc": 1, "control": 1}


def arrays(data: dict[str, tuple[list[float], list[int]]]) -> tuple[np.ndarray, ...]:
    """(time, event, group) over both arms, group 1 = ucmsc."""
    t = np.array(data["ucmsc"][0] + data["control"][0], dtype=float)
    e = np.array(data["ucmsc"][1] + data["control"][1], dtype=float)
    g = np.array([1] * 8 + [0] * 8, dtype=float)
    return t, e, g
