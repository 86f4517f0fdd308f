"""Pure numerics on arrays: survival, binary, continuous, longitudinal, meta-analysis, design,
checks of published claims. Imports nothing of celltrial; numpy and scipy only.

Every function returns a frozen result (see :class:`celltrial.stats.Result`).
"""

from celltrial.stats._result import Result

# --- statistics core I: survival, binary, continuous (exports added below) ---
from celltrial.stats.binary import (
    FisherResult,
    MantelHaenszelResult,
    TableTestResult,
    barnard_exact,
    boschloo_exact,
    chi_square,
    fisher_exact,
    mantel_haenszel,
)
from celltrial.stats.competing import (
    CumulativeIncidenceCurve,
    CumulativeIncidenceResult,
    cumulative_incidence,
)
from celltrial.stats.continuous import (
    HodgesLehmannResult,
    RankTestResult,
    TTestResult,
    hodges_lehmann,
    t_test,
    wilcoxon_rank_sum,
    wilcoxon_signed_rank,
)
from celltrial.stats.cox import ChiSquareTest, CoxResult, CoxZphResult, cox_ph
from celltrial.stats.effects import (
    EffectResult,
    odds_ratio,
    risk_difference,
    risk_ratio,
    wilson_interval,
)
from celltrial.stats.kaplan_meier import (
    RMST,
    KaplanMeierResult,
    RMSTDifference,
    SurvivalQuantile,
    kaplan_meier,
    rmst_difference,
)
from celltrial.stats.logrank import LogrankResult, logrank

# isort: split
# --- statistics core II: longitudinal, meta-analysis, design, claims (exports added below) ---

__all__ = [
    "RMST",
    "ChiSquareTest",
    "CoxResult",
    "CoxZphResult",
    "CumulativeIncidenceCurve",
    "CumulativeIncidenceResult",
    "EffectResult",
    "FisherResult",
    "HodgesLehmannResult",
    "KaplanMeierResult",
    "LogrankResult",
    "MantelHaenszelResult",
    "RMSTDifference",
    "RankTestResult",
    "Result",
    "SurvivalQuantile",
    "TTestResult",
    "TableTestResult",
    "barnard_exact",
    "boschloo_exact",
    "chi_square",
    "cox_ph",
    "cumulative_incidence",
    "fisher_exact",
    "hodges_lehmann",
    "kaplan_meier",
    "logrank",
    "mantel_haenszel",
    "odds_ratio",
    "risk_difference",
    "risk_ratio",
    "rmst_difference",
    "t_test",
    "wilcoxon_rank_sum",
    "wilcoxon_signed_rank",
    "wilson_interval",
]
