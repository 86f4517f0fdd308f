"""Meta-analysis against metafor 3.8-1 on dat.bcg / dat.normand1999.

Every reference number comes from tests/reference/metafor/metafor.json, written by metafor.R in
the same folder (R and package versions recorded in the JSON).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from celltrial.stats.effect_size import effect_size
from celltrial.stats.meta import egger_test, leave_one_out, meta_analysis, peters_test
from celltrial.stats.meta_fixed import meta_mantel_haenszel, meta_peto

REF = Path(__file__).parents[1] / "reference" / "metafor"
R: dict[str, Any] = json.loads((REF / "metafor.json").read_text())
BCG = pd.read_csv(REF / "dat_bcg.csv")
NOR = pd.read_csv(REF / "dat_normand1999.csv")
ZERO = pd.read_csv(REF / "zero_cells.csv")

#: closed forms (effect sizes, FE, DL, HE, SJ, HS, MH, Peto)
CLOSED = 1e-10
#: iterative fits (REML, ML, PM, EB, Q-profile roots)
ITER = 1e-6
#: absolute floor for values that are (near) zero
ABS = 1e-12

ITERATIVE = {"REML", "ML", "PM", "EB"}


def close(actual: Any, expected: Any, rtol: float) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=ABS
    )


def bcg_rr() -> Any:
    return effect_size("RR", ai=BCG.tpos, bi=BCG.tneg, ci=BCG.cpos, di=BCG.cneg)


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_escalc_tables(measure: str) -> None:
    es = effect_size(measure, ai=BCG.tpos, bi=BCG.tneg, ci=BCG.cpos, di=BCG.cneg)  # type: ignore[arg-type]
    close(es.yi, R["escalc"][measure]["yi"], CLOSED)
    close(es.vi, R["escalc"][measure]["vi"], CLOSED)


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_escalc_zero_cells_add_half_only0(measure: str) -> None:
    es = effect_size(measure, ai=ZERO.ai, n1i=ZERO.n1i, ci=ZERO.ci, n2i=ZERO.n2i)  # type: ignore[arg-type]
    close(es.yi, R["escalc"]["zero_" + measure]["yi"], CLOSED)
    close(es.vi, R["escalc"]["zero_" + measure]["vi"], CLOSED)
    assert es.corrected.tolist() == [True, False, True, True]


@pytest.mark.parametrize("measure", ["MD", "SMD"])
def test_escalc_means(measure: str) -> None:
    es = effect_size(
        measure,  # type: ignore[arg-type]
        m1i=NOR.m1i,
        sd1i=NOR.sd1i,
        n1i=NOR.n1i,
        m2i=NOR.m2i,
        sd2i=NOR.sd2i,
        n2i=NOR.n2i,
    )
    close(es.yi, R["escalc"][measure]["yi"], CLOSED)
    close(es.vi, R["escalc"][measure]["vi"], CLOSED)


def test_log_hr_from_ci() -> None:
    # closed form: se = (log 1.2 - log 0.5) / (2 * 1.959964); no R needed for an identity
    es = effect_size("logHR", estimate=[0.775], ci_lower=[0.5], ci_upper=[1.2])
    assert es.yi[0] == pytest.approx(np.log(0.775), rel=CLOSED)
    se = (np.log(1.2) - np.log(0.5)) / (2 * 1.959963984540054)
    assert es.vi[0] == pytest.approx(se**2, rel=CLOSED)


@pytest.mark.parametrize("key", sorted(R["rma"]))
def test_rma_uni(key: str) -> None:
    method, test = key.split("_")
    r = R["rma"][key]
    es = bcg_rr()
    f = meta_analysis(es.yi, es.vi, method=method, test=test)  # type: ignore[arg-type]
    tol = ITER if method in ITERATIVE else CLOSED
    close(f.estimate, r["beta"], tol)
    close(f.se, r["se"], tol)
    close(f.statistic, r["zval"], tol)
    close(f.p_value, r["pval"], tol)
    close(f.ci, [r["ci_lb"], r["ci_ub"]], tol)
    close(f.tau2, r["tau2"], tol)
    close(f.i2, r["I2"], tol)
    close(f.h2, r["H2"], tol)
    close(f.q, r["QE"], CLOSED)
    close(f.q_p_value, r["QEp"], CLOSED)
    close(f.qm, r["QM"], tol)
    close(f.qm_p_value, r["QMp"], tol)
    if method == "FE":
        assert f.prediction_interval is None and f.tau2_ci is None
    else:
        close(f.prediction_interval, [r["pi_lb"], r["pi_ub"]], tol)
        close(f.tau2_ci, r["tau2_ci"], ITER)
        close(f.i2_ci, r["I2_ci"], ITER)
        close(f.h2_ci, r["H2_ci"], ITER)
    if "logLik" in r:
        close(f.log_likelihood, r["logLik"], ITER)
    assert f.n == r["k"]
    assert "tau2" in f.summary()


@pytest.mark.parametrize("key", sorted(R["metareg"]))
def test_meta_regression(key: str) -> None:
    method, test = key.split("_")
    r = R["metareg"][key]
    es = bcg_rr()
    mods = np.column_stack([BCG.ablat, BCG.year])
    f = meta_analysis(es.yi, es.vi, method=method, test=test, mods=mods)  # type: ignore[arg-type]
    tol = ITER if method in ITERATIVE else CLOSED
    # DL's meta-regression: R inverts X'WX with a different algorithm; agreement is ~3e-10
    tol = max(tol, 1e-9)
    close(f.coefficients, r["beta"], tol)
    close(f.coef_se, r["se"], tol)
    close(f.coef_p_value, r["pval"], tol)
    close(f.coef_ci[:, 0], r["ci_lb"], tol)
    close(f.coef_ci[:, 1], r["ci_ub"], tol)
    close(f.tau2, r["tau2"], tol)
    close(f.qm, r["QM"], tol)
    close(f.qm_p_value, r["QMp"], tol)
    close(f.q, r["QE"], tol)
    close(f.q_p_value, r["QEp"], tol)
    close(f.i2, r["I2"], tol)
    close(f.r2, r["R2"], tol)
    assert f.prediction_interval is None


def test_subgroups_and_test_for_differences() -> None:
    es = bcg_rr()
    f = meta_analysis(es.yi, es.vi, subgroup=BCG.alloc)
    assert f.subgroups is not None
    assert sorted(f.subgroups) == R["subgroup"]["groups"]
    for g, sub in f.subgroups.items():
        r = R["subgroup"]["fits"][g]
        close(sub.estimate, r["beta"], ITER)
        close(sub.se, r["se"], ITER)
        close(sub.tau2, r["tau2"], ITER)
        close(sub.q, r["QE"], CLOSED)
    close(f.subgroup_q, R["subgroup"]["Qb"], ITER)
    assert f.subgroup_df == R["subgroup"]["Qb_df"]
    close(f.subgroup_p_value, R["subgroup"]["Qb_p"], ITER)
    assert "subgroup differences" in f.summary()


def test_leave_one_out() -> None:
    es = bcg_rr()
    loo = leave_one_out(es.yi, es.vi)
    r = R["leave1out"]
    close(loo.estimate, r["estimate"], ITER)
    close(loo.se, r["se"], ITER)
    close(loo.p_value, r["pval"], ITER)
    close(loo.ci[:, 0], r["ci_lb"], ITER)
    close(loo.ci[:, 1], r["ci_ub"], ITER)
    close(loo.q, r["Q"], CLOSED)
    close(loo.q_p_value, r["Qp"], CLOSED)
    close(loo.tau2, r["tau2"], ITER)
    close(loo.i2, r["I2"], ITER)
    close(loo.h2, r["H2"], ITER)


@pytest.mark.parametrize("key", ["rma_sei", "lm_sei", "lm_ninv", "rma_ninv"])
def test_regression_tests(key: str) -> None:
    es = bcg_rr()
    n = (BCG.tpos + BCG.tneg + BCG.cpos + BCG.cneg).to_numpy()
    model, predictor = key.split("_")
    if predictor == "sei":
        res = egger_test(es.yi, es.vi, model=model)  # type: ignore[arg-type]
    else:
        res = peters_test(es.yi, es.vi, n, model=model)  # type: ignore[arg-type]
    r = R["regtest"][key]
    tol = ITER if model == "rma" else CLOSED
    close(res.statistic, r["zval"], tol)
    close(res.p_value, r["pval"], tol)
    close(res.estimate, r["est"], tol)
    close(res.ci, [r["ci_lb"], r["ci_ub"]], tol)
    if r["dfs"] is not None:
        assert res.df == r["dfs"]


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mantel_haenszel(measure: str) -> None:
    f = meta_mantel_haenszel(BCG.tpos, BCG.tneg, BCG.cpos, BCG.cneg, measure=measure)  # type: ignore[arg-type]
    r = R["mh"][measure]
    close(f.estimate, r["beta"], CLOSED)
    close(f.se, r["se"], CLOSED)
    close(f.statistic, r["zval"], CLOSED)
    close(f.p_value, r["pval"], CLOSED)
    close(f.ci, [r["ci_lb"], r["ci_ub"]], CLOSED)
    close(f.q, r["QE"], CLOSED)
    close(f.q_p_value, r["QEp"], CLOSED)
    close(f.i2, r["I2"], CLOSED)
    close(f.h2, r["H2"], CLOSED)
    if measure == "OR":
        close(f.cmh_statistic, r["MH"], CLOSED)
        close(f.cmh_p_value, r["MHp"], CLOSED)


def test_peto() -> None:
    f = meta_peto(BCG.tpos, BCG.tneg, BCG.cpos, BCG.cneg)
    r = R["peto"]
    for ours, theirs in [
        (f.estimate, "beta"),
        (f.se, "se"),
        (f.p_value, "pval"),
        (f.q, "QE"),
        (f.q_p_value, "QEp"),
        (f.i2, "I2"),
    ]:
        close(ours, r[theirs], CLOSED)


# ----- invariants and bad input ---------------------------------------------------------------


def test_tau2_never_negative_and_zero_for_homogeneous_studies() -> None:
    y = np.array([0.10, 0.11, 0.09, 0.10])
    v = np.array([0.04, 0.05, 0.03, 0.06])
    for method in ["DL", "REML", "ML", "PM", "SJ", "HE", "EB", "HS"]:
        f = meta_analysis(y, v, method=method)  # type: ignore[arg-type]
        assert f.tau2 >= 0.0
        if method != "SJ":  # SJ is positive by construction
            assert f.tau2 == 0.0
        assert f.ci[0] <= f.estimate <= f.ci[1]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="k >= 2"):
        meta_analysis([0.1], [0.01], method="REML")
    with pytest.raises(ValueError, match="zero-variance"):
        meta_analysis([0.1, 0.2, 0.3], [0.01, 0.0, 0.02])
    with pytest.raises(ValueError, match="length"):
        meta_analysis([0.1, 0.2], [0.01])
    with pytest.raises(ValueError, match="method"):
        meta_analysis([0.1, 0.2], [0.01, 0.02], method="XX")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mods"):
        meta_analysis([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], mods=[1.0, 2.0])
    with pytest.raises(ValueError, match="exceed"):
        effect_size("RR", ai=[5], n1i=[4], ci=[1], n2i=[4])
    with pytest.raises(ValueError, match="ci_lower"):
        effect_size("logHR", estimate=[2.0], ci_lower=[0.5], ci_upper=[1.5])
    # a single study with FE is fine
    assert meta_analysis([0.1], [0.01], method="FE").estimate == pytest.approx(0.1)


# --- se.tau2, the untruncated DL tau2, knha with tau2 = 0, Breslow-Day/Tarone ------------------
# tests/reference/metafor/metafor_extra.R

RX: dict[str, Any] = json.loads((REF / "metafor_extra.json").read_text(), parse_constant=float)
SET_NAMES = sorted(RX["se_tau2"])


@pytest.mark.parametrize("name", SET_NAMES)
@pytest.mark.parametrize("method", ["DL", "REML", "ML", "PM", "EB", "SJ", "HE", "HS"])
def test_se_tau2_matches_metafor(name: str, method: str) -> None:
    ref = RX["se_tau2"][name]
    fit = meta_analysis(ref["yi"], ref["vi"], method=method, confint=False)  # type: ignore[arg-type]
    rtol = ITER if method in ITERATIVE else CLOSED
    close(fit.tau2, ref[method]["tau2"], rtol)
    close(fit.se_tau2, ref[method]["se_tau2"], rtol)


@pytest.mark.parametrize("name", SET_NAMES)
def test_untruncated_dl_tau2(name: str) -> None:
    ref = RX["se_tau2"][name]
    fit = meta_analysis(ref["yi"], ref["vi"], method="DL", confint=False)
    close(fit.tau2_untruncated, ref["DL"]["tau2_untruncated"], CLOSED)
    if isinstance(ref["DL"]["tau2_metafor_min_inf"], float):
        close(fit.tau2_untruncated, ref["DL"]["tau2_metafor_min_inf"], CLOSED)
    assert fit.tau2 == max(0.0, fit.tau2_untruncated)
    if name == "homogeneous":
        assert fit.tau2_untruncated < 0 and fit.tau2 == 0


def test_se_tau2_meta_regression() -> None:
    ref = RX["se_tau2_mods"]
    fit = meta_analysis(ref["yi"], ref["vi"], mods=ref["mods"], method="REML", confint=False)
    close(fit.tau2, ref["tau2"], ITER)
    close(fit.se_tau2, ref["se_tau2"], ITER)
    fit = meta_analysis(ref["yi"], ref["vi"], mods=ref["mods"], method="DL", confint=False)
    close(fit.se_tau2, ref["DL"]["se_tau2"], CLOSED)


def test_knha_with_identical_studies_does_not_crash() -> None:
    # issue 21: LinAlgError at meta.py:212; metafor: se 0, CI (0.1, 0.1), p 0
    ref = RX["knha_identical"]
    fit = meta_analysis(ref["yi"], ref["vi"], method="REML", test="knha")
    close(fit.estimate, ref["estimate"], CLOSED)
    assert fit.se == pytest.approx(ref["se"], abs=1e-12)
    close(fit.ci, [ref["ci_lb"], ref["ci_ub"]], 1e-9)
    assert fit.p_value == pytest.approx(ref["pval"], abs=1e-12)
    assert fit.tau2 == ref["tau2"] == 0
    close(fit.se_tau2, ref["se_tau2"], CLOSED)


@pytest.mark.parametrize("name", sorted(RX["breslow_day"]))
def test_breslow_day_and_tarone_match_rma_mh(name: str) -> None:
    ref = RX["breslow_day"][name]
    fit = meta_mantel_haenszel(ref["ai"], ref["bi"], ref["ci"], ref["di"], measure="OR")
    close(fit.breslow_day, ref["BD"], CLOSED)
    close(fit.breslow_day_p_value, ref["BDp"], CLOSED)
    close(fit.tarone, ref["TA"], CLOSED)
    close(fit.tarone_p_value, ref["TAp"], CLOSED)
    assert fit.homogeneity_df == ref["k_pos"] - 1
