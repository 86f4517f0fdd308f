"""Repeated measures: linear mixed models against lme4 / nlme::lme, MMRM against nlme::gls.

Reference numbers come from tests/reference/lme4/lme4.json (lme4.R) and
tests/reference/mmrm/mmrm.json (mmrm.R); R and package versions are recorded in the JSON.
Both R scripts fit with tightened optimiser settings. Remaining differences are at the limit of
R's own criterion evaluation: lme4's deviance at celltrial's theta equals its deviance at its own
theta to 2e-13, and celltrial's log-likelihoods are never below R's.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from celltrial.stats import (
    BoundaryFitWarning,
    MixedModelResult,
    MMRMResult,
    linear_mixed_model,
    mmrm,
)
from reference._load import assert_close, load_json

REF = Path(__file__).parents[1] / "reference"
LME4: dict[str, Any] = json.loads((REF / "lme4" / "lme4.json").read_text())
GLS: dict[str, Any] = json.loads((REF / "mmrm" / "mmrm.json").read_text())
SLEEP = pd.read_csv(REF / "lme4" / "sleepstudy.csv")
SLEEP_B = pd.read_csv(REF / "lme4" / "sleepstudy_b.csv")
TRIAL = pd.read_csv(REF / "mmrm" / "trial.csv")

#: iterative fits, as everywhere in celltrial.stats
ITER = 1e-6


def close(actual: Any, expected: Any, rtol: float = ITER, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol
    )


@functools.cache
def sleep_fit(key: str) -> MixedModelResult:
    model, method = key.split("_")
    X = np.column_stack([np.ones(len(SLEEP)), SLEEP.Days])
    return linear_mixed_model(
        SLEEP.Reaction,
        X,
        SLEEP.Subject,
        Z=None if model == "intercept" else X,
        method=method,  # type: ignore[arg-type]
        names=["(Intercept)", "Days"],
        random_names=["(Intercept)"] if model == "intercept" else ["(Intercept)", "Days"],
    )


FITS = ["intercept_REML", "intercept_ML", "slope_REML", "slope_ML"]


@pytest.mark.parametrize("key", FITS)
def test_lmer_sleepstudy(key: str) -> None:
    r = LME4["fits"][key]
    f = sleep_fit(key)
    close(f.fixed_effects, r["fixef"])
    close(f.fixed_se, r["se"])
    close(f.vcov, r["vcov"])
    close(f.t_value, r["t_value"])
    # as.data.frame(VarCorr()): variances, covariance, residual, in that order
    close(list(f.variance_components.values()), r["varcorr"]["vcov"])
    close(f.sigma, r["sigma"])
    close(f.theta, r["theta"])
    close(f.log_likelihood, r["logLik"])
    close(f.aic, r["AIC"])
    close(f.bic, r["BIC"])
    assert f.n == r["nobs"] and f.n_groups == r["ngrps"]
    assert f.method == key.split("_")[1]


@pytest.mark.parametrize("key", FITS)
def test_lmer_default_control_is_close(key: str) -> None:
    # lme4 at its default optimiser settings stops within ~1e-5 of the optimum
    f = sleep_fit(key)
    r = LME4["default"][key]
    close(f.fixed_effects, r["fixef"])
    close(list(f.variance_components.values()), r["varcorr"]["vcov"], rtol=1e-4)
    close(f.log_likelihood, r["logLik"], rtol=1e-9)


@pytest.mark.parametrize("model", ["intercept", "slope"])
def test_nlme_lme_degrees_of_freedom(model: str) -> None:
    r = LME4["lme"][model]
    X = np.column_stack([np.ones(len(SLEEP_B)), SLEEP_B.Days, SLEEP_B.b])
    Z = None if model == "intercept" else X[:, :2]
    f = linear_mixed_model(SLEEP_B.Reaction, X, SLEEP_B.Subject, Z=Z)
    assert f.df.tolist() == r["df"]  # between-subject b: 16, within: 161
    # nlme::lme stops a little earlier than lme4/celltrial
    close(f.fixed_effects, r["coef"], rtol=1e-6)
    close(f.fixed_se, r["se"], rtol=1e-5)
    close(f.p_value, r["p_value"], rtol=1e-4)
    close(f.log_likelihood, r["logLik"], rtol=1e-10)


def test_lmm_result_api() -> None:
    f = sleep_fit("slope_REML")
    assert f.ci.shape == (2, 2) and np.all(f.ci[:, 0] < f.fixed_effects)
    assert f.random_effects.shape == (18, 2)
    # conditional modes sum to ~0 and reproduce lme4's ranef scale
    assert abs(f.random_effects[:, 0].mean()) < 1e-6 * f.sigma
    d = f.to_dict()
    assert d["names"] == ["(Intercept)", "Days"] and isinstance(d["vcov"], list)
    assert "Linear mixed model fit by REML" in f.summary()
    assert "cov((Intercept),Days)" in f.variance_components


def test_lmm_random_intercept_only_is_default_z() -> None:
    X = np.column_stack([np.ones(len(SLEEP)), SLEEP.Days])
    a = linear_mixed_model(SLEEP.Reaction, X, SLEEP.Subject)
    b = linear_mixed_model(SLEEP.Reaction, X, SLEEP.Subject, Z=np.ones(len(SLEEP)))
    close(a.fixed_effects, b.fixed_effects, rtol=1e-12)
    close(a.log_likelihood, b.log_likelihood, rtol=1e-12)


def test_lmm_zero_variance_component_at_bound() -> None:
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(10), 5)
    y = rng.normal(size=50)  # no group effect at all
    with pytest.warns(BoundaryFitWarning, match="boundary"):
        f = linear_mixed_model(y, np.ones(50), g, method="ML")
    assert f.singular
    assert f.theta[0] >= 0.0
    assert f.random_covariance[0, 0] < 0.2
    assert np.isfinite(f.log_likelihood)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": [1.0, 2.0, np.nan, 4.0]}, "y: must be finite"),
        ({"X": np.ones((3, 1))}, "X: 3 rows differ"),
        ({"group": [1, 1, 1, 1]}, "at least 2 groups"),
        ({"group": [1, 1, 2]}, "group: length 3 differs"),
        ({"Z": np.column_stack([np.ones(4), [0, 1, 0, 1]]), "group": [1, 1, 1, 2]}, "one obs"),
        ({"X": np.column_stack([np.ones(4), np.ones(4)])}, "full column rank"),
        ({"method": "OLS"}, "method: must be one of"),
        ({"level": 1.5}, "level: must be strictly"),
    ],
)
def test_lmm_bad_input(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "y": [1.0, 2.0, 3.0, 5.0],
        "X": np.ones((4, 1)),
        "group": [1, 1, 2, 2],
    }
    args.update(kwargs)
    y, X, group = args.pop("y"), args.pop("X"), args.pop("group")
    with pytest.raises(ValueError, match=match):
        linear_mixed_model(y, X, group, **args)


@functools.cache
def trial_fit(key: str) -> MMRMResult:
    age = "age" in key
    return mmrm(
        TRIAL.y,
        TRIAL.day,
        TRIAL.arm,
        TRIAL.subject,
        covariates=TRIAL.age if age else None,
        covariate_names=["age"] if age else None,
        reference="control",
        method=key.split("_")[0],  # type: ignore[arg-type]
        df_method="residual",  # gls's summary: n - p (KR/Satterthwaite: test_mmrm_inference.py)
    )


@pytest.mark.parametrize("key", ["REML", "REML_age", "ML"])
def test_mmrm_against_gls(key: str) -> None:
    r = GLS["fits"][key]
    f = trial_fit(key)
    n, p = f.n, len(f.names)
    assert n == r["nobs"] and f.df == r["df_residual"] == n - p
    close(f.fixed_effects, r["coef"])
    close(f.covariance, r["covariance"])
    close(f.log_likelihood, r["logLik"])
    close(f.aic, r["AIC"])
    close(f.bic, r["BIC"])
    # gls rescales its ML vcov by n / (n - p); celltrial reports the inverse information
    scale = np.sqrt(n / (n - p)) if key == "ML" else 1.0
    close(f.fixed_se * scale, r["se"])
    # vcov entries relative to the SEs (some covariances are ~1e-5 of the variances)
    se_r = np.asarray(r["se"])
    close(
        f.vcov * scale**2 / np.outer(se_r, se_r),
        np.asarray(r["vcov"]) / np.outer(se_r, se_r),
        atol=ITER,
    )
    c = r["contrasts"]
    close([x.estimate for x in f.contrasts], c["estimate"])
    close([x.se * scale for x in f.contrasts], c["se"])
    if key != "ML":
        close(f.t_value, r["t_value"])
        close([x.statistic for x in f.contrasts], c["t"])
        # p-values and interval ends near zero amplify the ~4e-7 differences in t
        close(f.fixed_p_value, r["p_value"], rtol=1e-4)
        close([x.p_value for x in f.contrasts], c["p_value"], rtol=1e-5)
        close(
            [x.ci for x in f.contrasts], np.column_stack([c["ci_lower"], c["ci_upper"]]), atol=1e-7
        )
    assert [x.visit for x in f.contrasts] == [0, 3, 6]
    assert f.estimate == f.contrasts[-1].estimate and f.ci == f.contrasts[-1].ci


def test_mmrm_result_api() -> None:
    f = trial_fit("REML")
    assert f.names == (
        "(Intercept)",
        "visit[3]",
        "visit[6]",
        "arm[active]",
        "visit[3]:arm[active]",
        "visit[6]:arm[active]",
    )
    assert f.reference == "control" and f.n_subjects == 40
    assert "arm contrasts vs control" in f.summary()
    d = f.to_dict()
    assert len(d["contrasts"]) == 3 and d["contrasts"][2]["visit"] == 6
    np.testing.assert_allclose(f.covariance, f.covariance.T)


def test_mmrm_default_reference_is_first_sorted_arm() -> None:
    f = mmrm(TRIAL.y, TRIAL.day, TRIAL.arm, TRIAL.subject)
    g = trial_fit("REML")
    assert f.reference == "active"
    close([x.estimate for x in f.contrasts], [-x.estimate for x in g.contrasts], rtol=1e-7)


def _small() -> dict[str, Any]:
    return {
        "y": [1.0, 2.0, 1.5, 2.5, 0.5, 1.0, 0.7, 1.9, 1.1, 2.2, 0.9, 1.4],
        "visit": [1, 2] * 6,
        "arm": ["a"] * 6 + ["b"] * 6,
        "subject": np.repeat(np.arange(6), 2),
    }


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"y": [np.nan] + [1.0] * 11}, "y: must be finite"),
        ({"arm": ["a"] * 12}, "arm: needs at least 2 arms"),
        ({"visit": [1] * 12}, "visit: needs at least 2"),
        ({"subject": [0] * 12}, "subject: needs at least 2"),
        ({"subject": [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4]}, "more than one row at visit"),
        ({"arm": ["a"] * 5 + ["b"] * 7}, "constant within subject"),
        ({"visit": [1, 2, 1, 2, 1, 2, 1, 3, 1, 3, 1, 3]}, "visit 2 has no data in arm 'b'"),
        ({"visit": [1, 2]}, "visit: length 2 differs"),
    ],
)
def test_mmrm_bad_input(change: dict[str, Any], match: str) -> None:
    args = _small()
    args.update(change)
    with pytest.raises(ValueError, match=match):
        mmrm(args["y"], args["visit"], args["arm"], args["subject"])
    with pytest.raises(ValueError, match="reference: 'z' is not one of the arms"):
        mmrm(**_small(), reference="z")


# --- edge cases as lme4 (tests/reference/lme4/lme4_edge.R) ----------------------------------

EDGE = load_json("lme4", "lme4_edge")


def test_one_observation_per_group_is_refused_as_lme4() -> None:
    ref = EDGE["one_per_group"]
    assert (
        "number of levels of each grouping factor must be < number of observations"
        in (ref["error"])
    )
    X = np.column_stack((np.ones(len(ref["y"])), ref["x"]))
    with pytest.raises(ValueError, match="number of levels of the grouping factor"):
        linear_mixed_model(ref["y"], X, ref["g"])


def test_boundary_fit_is_flagged_singular_as_lme4() -> None:
    ref = EDGE["singular"]
    assert ref["is_singular"] is True
    X = np.column_stack((np.ones(len(ref["y"])), ref["x"]))
    with pytest.warns(BoundaryFitWarning, match="singular"):
        fit = linear_mixed_model(ref["y"], X, ref["g"])
    assert fit.singular
    assert_close(fit.theta, np.atleast_1d(ref["theta"]), 0, atol=1e-4)
    assert_close(fit.fixed_effects, ref["fixef"], 1e-6)
    assert_close(fit.vcov, ref["vcov"], 1e-5)
    assert_close(list(fit.variance_components.values()), ref["vcomp"], 1e-6, atol=1e-7)
    assert_close(fit.log_likelihood, ref["loglik"], 1e-8)
