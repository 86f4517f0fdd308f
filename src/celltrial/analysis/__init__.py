"""The trial's pre-specified analyses: protocol + dataset -> frozen results.

>>> from celltrial.analysis import analyze
>>> from celltrial.dataset import read_dataset
>>> from celltrial.protocol import load_protocol
>>> result = analyze(read_dataset("tests/dataset/data/lanzoni_small"),
...                  load_protocol("lanzoni2021"))              # doctest: +SKIP
>>> result.endpoint("survival_d31").logrank.p_value             # doctest: +SKIP

See ``docs/analysis.md``.
"""

from celltrial.analysis.arms import ArmInfo
from celltrial.analysis.core import TrialAnalysis, analyze, problems_of
from celltrial.analysis.populations import POPULATIONS
from celltrial.analysis.results import (
    POOLED,
    POOLED_LABEL,
    ArmCount,
    ArmDistribution,
    ArmSurvival,
    BinaryResult,
    ByOutcome,
    ContinuousResult,
    DataProblem,
    Effect,
    EndpointResult,
    Missing,
    SafetyCountResult,
    TimeToEventResult,
    TrajectoryPoint,
    WindowCount,
    WithinArm,
)
from celltrial.analysis.setaside import analyze_despite_problems
from celltrial.analysis.summaries import (
    BaselineRow,
    BaselineTable,
    Consort,
    ConsortArm,
    ExposureArm,
    Listing,
    SafetyArm,
    SafetySummary,
    TermRow,
)

__all__ = [
    "POOLED",
    "POOLED_LABEL",
    "POPULATIONS",
    "ArmCount",
    "ArmDistribution",
    "ArmInfo",
    "ArmSurvival",
    "BaselineRow",
    "BaselineTable",
    "BinaryResult",
    "ByOutcome",
    "Consort",
    "ConsortArm",
    "ContinuousResult",
    "DataProblem",
    "Effect",
    "EndpointResult",
    "ExposureArm",
    "Listing",
    "Missing",
    "SafetyArm",
    "SafetyCountResult",
    "SafetySummary",
    "TermRow",
    "TimeToEventResult",
    "TrajectoryPoint",
    "TrialAnalysis",
    "WindowCount",
    "WithinArm",
    "analyze",
    "analyze_despite_problems",
    "problems_of",
]
