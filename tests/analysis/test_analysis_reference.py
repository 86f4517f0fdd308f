"""Survival results of the analysis against R (tests/reference/analysis_lanzoni_small/).

analysis.R read adtte.csv (the derived ADTTE, exported once by export_adtte.py) and wrote
analysis.json with survfit (KM at day 31, log CI; median), survdiff and coxph(ties = "efron")
(R 4.2.2, survival 3.5.3). Tolerance: ITERATIVE_RTOL = 1e-6.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from celltrial.analysis import TimeToEventResult, TrialAnalysis
from reference._load import ITERATIVE_RTOL, assert_close, load_json

REF = load_json("analysis_lanzoni_small", "analysis")
EXPORT = Path(__file__).parents[1] / "reference" / "analysis_lanzoni_small" / "adtte.csv"
ENDPOINTS = ["survival_d31", "sae_free_survival", "time_to_recovery"]


def test_exported_adtte_is_what_the_analysis_uses(result: TrialAnalysis) -> None:
    d = pd.read_csv(EXPORT)
    for ep in ENDPOINTS:
        r = result.endpoint(ep)
        assert isinstance(r, TimeToEventResult)
        for arm in r.arms:
            rows = d[(d["PARAMCD"] == ep) & (d["ARMCD"] == arm.arm)]
            assert len(rows) == arm.n and int((rows["EVTYPE"] == 1).sum()) == arm.events


@pytest.mark.parametrize("ep", ENDPOINTS)
def test_survival_against_r(result: TrialAnalysis, ep: str) -> None:
    r = result.endpoint(ep)
    assert isinstance(r, TimeToEventResult)
    ref = REF[ep]
    for arm in r.arms:
        a = ref[arm.arm]
        assert (arm.n, arm.events) == (a["n"], a["events"])
        assert_close(arm.survival, a["surv31"], ITERATIVE_RTOL, what=f"{ep} {arm.arm} S(31)")
        assert_close(arm.survival_ci, [a["lower31"], a["upper31"]], ITERATIVE_RTOL)
        assert_close(arm.median, a["median"], ITERATIVE_RTOL, what=f"{ep} {arm.arm} median")
        assert_close(arm.median_ci, [a["median_lower"], a["median_upper"]], ITERATIVE_RTOL)
    assert r.logrank is not None
    assert_close(r.logrank.statistic, ref["logrank"]["chisq"], ITERATIVE_RTOL, what="chisq")
    assert_close(r.logrank.p_value, ref["logrank"]["p"], ITERATIVE_RTOL, what="log-rank p")
    (hr,) = r.effects
    if "cox" not in ref:
        assert math.isnan(hr.estimate)  # R: "coefficient may be infinite"
        return
    c = ref["cox"]
    assert_close(hr.estimate, c["hr"], ITERATIVE_RTOL, what="HR")
    assert_close(hr.ci, [c["lower"], c["upper"]], ITERATIVE_RTOL, what="HR CI")
    assert_close(hr.p_value, c["p"], ITERATIVE_RTOL, what="Wald p")
