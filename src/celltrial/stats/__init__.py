"""Pure numerics on arrays: survival, binary, continuous, longitudinal, meta-analysis, design,
checks of published claims. Imports nothing of celltrial; numpy and scipy only.

Every function returns a frozen result (see :class:`celltrial.stats.Result`).
"""

from celltrial.stats._result import Result

# --- statistics core I: survival, binary, continuous (exports added below) ---

# --- statistics core II: longitudinal, meta-analysis, design, claims (exports added below) ---

__all__ = ["Result"]
