"""MMRM inference: Kenward–Roger and Satterthwaite df, least-squares means by visit and arm.

Reference: tests/reference/mmrm/mmrm_kr.R on the trial of mmrm.R (40 subjects, 3 visits,
missing visits), fitted by nlme::gls (REML). Kenward–Roger: pbkrtest's own vcovAdj/Lb_ddf code
applied to the gls fit. Satterthwaite: written out in R with numDeriv (REML log-likelihood and
Phi = (X'V^-1 X)^-1 as functions of the covariance entries), and emmeans' approximate gls
Satterthwaite as a second opinion. LS means: emmeans.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest

from celltrial.stats import MMRMResult, mmrm
from reference._load import REFERENCE_DIR, assert_close

REF = json.loads((REFERENCE_DIR / "mmrm" / "mmrm_kr.json").read_text())["fits"]
TRIAL = pd.read_csv(REFERENCE_DIR / "mmrm" / "trial.csv")
#: both fits sit ~1e-7 from the REML optimum (mmrm.R's comparison); KR's df and SEs move by
#: less than that, Satterthwaite's observed information (third derivatives) by up to ~6e-5
KR_RTOL = 1e-6
SATT_RTOL = 2e-4
#: emmeans' "appx-satterthwaite" differentiates numerically; its df vary ~1e-3 between runs
EMMEANS_RTOL = 2e-2
DAY = {1: 0, 2: 3, 3: 6}


@functools.cache
def fit(key: str, df_method: str) -> MMRMResult:
    age = key.endswith("age")
    return mmrm(
        TRIAL.y,
        TRIAL.day,
        TRIAL.arm,
        TRIAL.subject,
        covariates=TRIAL.age if age else None,
        covariate_names=["age"] if age else None,
        reference="control",
        df_method=df_method,  # type: ignore[arg-type]
    )


def _lsm(f: MMRMResult) -> dict[tuple[int, str], object]:
    return {(m.visit, m.arm): m for m in f.lsmeans}


def _check(f: MMRMResult, lsm_ref: dict, con_ref: dict, rtol_df: float, rtol_se: float) -> None:
    by = _lsm(f)
    order = [(v, a) for v in (0, 3, 6) for a in ("control", "active")]
    got = [by[k] for k in order]
    assert_close([m.estimate for m in got], lsm_ref["estimate"], 1e-6, what="LS mean")
    assert_close([m.se for m in got], lsm_ref["se"], rtol_se, what="LS mean SE")
    assert_close([m.df for m in got], lsm_ref["df"], rtol_df, what="LS mean df")
    assert_close([m.ci[0] for m in got], lsm_ref["lower"], 1e-5, what="LS mean lower")
    assert_close([m.ci[1] for m in got], lsm_ref["upper"], 1e-5, what="LS mean upper")
    assert_close([c.estimate for c in f.contrasts], con_ref["estimate"], 1e-6, what="contrast")
    assert_close([c.se for c in f.contrasts], con_ref["se"], rtol_se, what="contrast SE")
    assert_close([c.df for c in f.contrasts], con_ref["df"], rtol_df, what="contrast df")
    if "p_value" in con_ref:
        assert_close([c.p_value for c in f.contrasts], con_ref["p_value"], 1e-4, what="p")
    assert_close([c.ci[0] for c in f.contrasts], con_ref["lower"], 1e-5, what="lower")
    assert_close([c.ci[1] for c in f.contrasts], con_ref["upper"], 1e-5, what="upper")


@pytest.mark.parametrize("key", ["REML", "REML_age"])
def test_kenward_roger_matches_pbkrtest(key: str) -> None:
    r = REF[key]
    f = fit(key, "kenward-roger")
    assert f.df_method == "kenward-roger" and f.vcov_adjusted is not None
    scale = np.abs(np.asarray(r["vcov_kr"])).max()
    assert_close(f.vcov_adjusted / scale, np.asarray(r["vcov_kr"]) / scale, 0, atol=KR_RTOL)
    _check(f, r["kr_lsmeans"], r["kr_contrasts"], KR_RTOL, KR_RTOL)
    assert f.df == f.contrasts[-1].df and f.se == f.contrasts[-1].se


@pytest.mark.parametrize("key", ["REML", "REML_age"])
def test_satterthwaite_matches_r(key: str) -> None:
    r = REF[key]
    f = fit(key, "satterthwaite")
    assert f.vcov_adjusted is None
    _check(f, r["satt_lsmeans"], r["satt_contrasts"], SATT_RTOL, 1e-6)


@pytest.mark.parametrize("key", ["REML", "REML_age"])
def test_satterthwaite_close_to_emmeans(key: str) -> None:
    r = REF[key]
    f = fit(key, "satterthwaite")
    e = r["emmeans_lsmeans"]
    by = _lsm(f)
    for v, a, est, se, df in zip(
        e["visit"], e["arm"], e["estimate"], e["se"], e["df"], strict=True
    ):
        m = by[(DAY[v], a)]
        assert_close(m.estimate, est, 1e-6, what="emmean")
        assert_close(m.se, se, 1e-6, what="emmeans SE")
        assert_close(m.df, df, EMMEANS_RTOL, what="emmeans df")
    c = r["emmeans_contrasts"]
    assert c["contrast"] == ["active - control"] * 3
    assert_close([x.df for x in f.contrasts], c["df"], EMMEANS_RTOL, what="emmeans contrast df")


def test_kr_is_more_conservative_than_residual_df() -> None:
    """KR inflates SEs (Phi_A >= Phi) and uses far fewer df than n - p."""
    kr, res = fit("REML", "kenward-roger"), fit("REML", "residual")
    assert all(a.se > b.se for a, b in zip(kr.contrasts, res.contrasts, strict=True))
    assert all(a.df < b.df for a, b in zip(kr.contrasts, res.contrasts, strict=True))
    assert np.all(np.linalg.eigvalsh(kr.vcov_adjusted - kr.vcov) > -1e-12)
    assert kr.fixed_effects.tolist() == res.fixed_effects.tolist()


def test_lsmeans_differences_are_the_contrasts() -> None:
    f = fit("REML_age", "kenward-roger")
    by = _lsm(f)
    for c in f.contrasts:
        diff = by[(c.visit, "active")].estimate - by[(c.visit, "control")].estimate
        assert_close(diff, c.estimate, 1e-12)
    assert "least-squares means" in f.summary()
    assert len(f.to_dict()["lsmeans"]) == 6


def test_df_method_needs_reml() -> None:
    with pytest.raises(ValueError, match="df_method: 'kenward-roger' is defined for REML"):
        mmrm(TRIAL.y, TRIAL.day, TRIAL.arm, TRIAL.subject, method="ML")
    with pytest.raises(ValueError, match="df_method: must be one of"):
        mmrm(TRIAL.y, TRIAL.day, TRIAL.arm, TRIAL.subject, df_method="bad")  # type: ignore[arg-type]
