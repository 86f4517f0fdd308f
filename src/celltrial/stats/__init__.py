"""Pure numerics on arrays: survival, binary, continuous, longitudinal, meta-analysis, design,
checks of published claims. Imports nothing of celltrial; numpy and scipy only.

Every function returns a frozen result (see :class:`celltrial.stats.Result`).
"""

from celltrial.stats._result import Result
from celltrial.stats._warnings import BoundaryFitWarning, NotEstimableWarning, StatisticsWarning

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
from celltrial.stats.concordance import ConcordanceResult, concordance
from celltrial.stats.continuous import (
    HodgesLehmannResult,
    RankTestResult,
    TTestResult,
    hodges_lehmann,
    t_test,
    wilcoxon_rank_sum,
    wilcoxon_signed_rank,
)
from celltrial.stats.cox import ChiSquareTest, CoxResult, cox_ph
from celltrial.stats.cox_zph import CoxZphResult
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
from celltrial.stats.claims import (
    ClaimCheck,
    check_claim,
    counts_from_percentage,
    grim,
    logrank_p_range,
    normalise_test,
    parse_p_value,
)
from celltrial.stats.claims_kinds import (
    check_estimate,
    check_means,
    check_median_iqr,
    check_table,
    fisher_freeman_halton,
    grimmer,
)
from celltrial.stats.design import (
    SampleSize,
    power_survival,
    sample_size_means,
    sample_size_proportions,
    sample_size_survival,
)
from celltrial.stats.effect_size import EffectSizes, effect_size
from celltrial.stats.meta import (
    LeaveOneOutResult,
    MetaResult,
    RegressionTestResult,
    egger_test,
    leave_one_out,
    meta_analysis,
    peters_test,
)
from celltrial.stats.meta_fixed import MetaTableResult, meta_mantel_haenszel, meta_peto
from celltrial.stats.mixed import MixedModelResult, linear_mixed_model
from celltrial.stats.mmrm import MMRMResult, VisitContrast, mmrm
from celltrial.stats.sequential import GroupSequentialDesign, group_sequential_design

# isort: split
# --- statistics beyond the reference suite: Firth, competing risks, MMRM inference ---
from celltrial.stats.fine_gray import FineGrayResult, GrayTestResult, fine_gray, gray_test
from celltrial.stats.firth import FirthCoxResult, FirthLogisticResult, firth_cox, firth_logistic

__all__ = [
    "RMST",
    "BoundaryFitWarning",
    "ChiSquareTest",
    "ConcordanceResult",
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
    "NotEstimableWarning",
    "RMSTDifference",
    "RankTestResult",
    "Result",
    "StatisticsWarning",
    "SurvivalQuantile",
    "TTestResult",
    "TableTestResult",
    "barnard_exact",
    "boschloo_exact",
    "chi_square",
    "concordance",
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

# statistics core II
__all__ += [
    "ClaimCheck",
    "EffectSizes",
    "GroupSequentialDesign",
    "LeaveOneOutResult",
    "MMRMResult",
    "MetaResult",
    "MetaTableResult",
    "MixedModelResult",
    "RegressionTestResult",
    "SampleSize",
    "VisitContrast",
    "check_claim",
    "check_estimate",
    "check_means",
    "check_median_iqr",
    "check_table",
    "counts_from_percentage",
    "effect_size",
    "egger_test",
    "fisher_freeman_halton",
    "grim",
    "grimmer",
    "group_sequential_design",
    "leave_one_out",
    "linear_mixed_model",
    "logrank_p_range",
    "meta_analysis",
    "meta_mantel_haenszel",
    "meta_peto",
    "mmrm",
    "normalise_test",
    "parse_p_value",
    "peters_test",
    "power_survival",
    "sample_size_means",
    "sample_size_proportions",
    "sample_size_survival",
]

# statistics beyond the reference suite
__all__ += [
    "FineGrayResult",
    "FirthCoxResult",
    "FirthLogisticResult",
    "GrayTestResult",
    "fine_gray",
    "firth_cox",
    "firth_logistic",
    "gray_test",
]
