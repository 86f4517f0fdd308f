"""Allocation: randomization schemes, sealed lists, blinding codes, balance and predictability.

Pure logic on top of :mod:`celltrial.protocol` (the EDC puts it behind locks and roles).
See ``docs/allocation.md``.

>>> import numpy as np
>>> from celltrial.allocation import permuted_blocks
>>> seq = permuted_blocks(8, ratio={"a": 1, "b": 1}, block_sizes=[4], rng=np.random.default_rng(1))
>>> len(seq), sorted(seq.arms[:4])
(8, ['a', 'a', 'b', 'b'])
"""

from celltrial.allocation._core import (
    AllocationError,
    Factor,
    Ratio,
    Scheme,
    check_block_sizes,
    check_factor_values,
    make_ratio,
    parse_ratio,
    scheme_from_protocol,
    strata_cells,
    stratum_label,
    stratum_of,
)
from celltrial.allocation.assess import (
    Assessment,
    SchemeAssessment,
    SimScheme,
    StratumBalance,
    assess,
    default_schemes,
    power_at,
)
from celltrial.allocation.blinding import (
    Unblinding,
    UnblindingKey,
    UnblindRecord,
    kit_code_features,
    kit_code_ok,
    make_kit_codes,
    unblind,
)
from celltrial.allocation.minimization import (
    Decision,
    MinimizationDesign,
    Minimizer,
    ReplayReport,
    decisions_from_jsonl,
    decisions_to_jsonl,
    replay,
)
from celltrial.allocation.schemes import (
    AllocationSequence,
    permuted_blocks,
    simple_randomization,
    stratified_blocks,
)
from celltrial.allocation.sealed import (
    BlindedRow,
    ListRow,
    SealedList,
    Verification,
    generate_list,
    key_id,
    parse_list,
    read_or_create_key,
    rng_from_key,
    site_names,
    verify,
)

__all__ = [
    "AllocationError",
    "AllocationSequence",
    "Assessment",
    "BlindedRow",
    "Decision",
    "Factor",
    "ListRow",
    "MinimizationDesign",
    "Minimizer",
    "Ratio",
    "ReplayReport",
    "Scheme",
    "SchemeAssessment",
    "SealedList",
    "SimScheme",
    "StratumBalance",
    "UnblindRecord",
    "Unblinding",
    "UnblindingKey",
    "Verification",
    "assess",
    "check_block_sizes",
    "check_factor_values",
    "decisions_from_jsonl",
    "decisions_to_jsonl",
    "default_schemes",
    "generate_list",
    "key_id",
    "kit_code_features",
    "kit_code_ok",
    "make_kit_codes",
    "make_ratio",
    "parse_list",
    "parse_ratio",
    "permuted_blocks",
    "power_at",
    "read_or_create_key",
    "replay",
    "rng_from_key",
    "scheme_from_protocol",
    "simple_randomization",
    "site_names",
    "strata_cells",
    "stratified_blocks",
    "stratum_label",
    "stratum_of",
    "unblind",
    "verify",
]
