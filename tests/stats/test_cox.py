"""Cox regression and cox.zph against R (tests/reference/cox/cox.R)."""

from __future__ import annotations

import numpy as np
import pytest

from celltrial.stats import cox_ph
from reference._load import ITERATIVE_RTOL, assert_close, load_csv, load_json

REF = load_json("cox")


def _names(case: dict) -> list[str]:
    x = case["x"]
    return [x] if isinstance(x, str) else list(x)


def _fit(case: dict):
    data = load_csv("cox", case["data"])
    X = np.column_stack([data[v] for v in _names(case)])
    return cox_ph(
        X,
        data["time"],
        data["event"],
        ties=case["ties"],
        strata=data[case["strata"]] if "strata" in case else None,
        entry=data[case["entry"]] if "entry" in case else None,
        weights=data[case["weights"]] if "weights" in case else None,
        cluster=data[case["cluster"]] if "cluster" in case else None,
        robust=bool(case.get("robust", False)),
        names=_names(case),
    )


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_fit_matches_coxph(name: str) -> None:
    case = REF["cases"][name]
    fit = _fit(case)
    rtol = ITERATIVE_RTOL
    assert_close(fit.estimate, case["coef"], rtol, what="coef")
    assert_close(fit.variance, case["var"], rtol, what="var")
    if not isinstance(case["naive_var"], float):
        assert_close(fit.naive_variance, case["naive_var"], rtol, what="naive.var")
    assert_close(fit.loglik, case["loglik"], rtol, what="loglik")
    assert_close(fit.score_test.statistic, case["sctest"], rtol, what="score test")
    assert_close(fit.wald_test.statistic, case["wald"], rtol, what="wald test")
    assert_close(fit.lr_test.statistic, case["logtest"], rtol, what="LR test")
    assert_close(fit.ci[:, 0], case["hr_lower"], rtol, what="HR lower")
    assert_close(fit.ci[:, 1], case["hr_upper"], rtol, what="HR upper")
    assert fit.n == case["n"]
    assert fit.n_event == case["nevent"]


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_zph_matches_cox_zph(name: str) -> None:
    case = REF["cases"][name]
    fit = _fit(case)
    for z in case["zph"]:
        res = fit.zph(z["transform"])
        chisq = np.atleast_1d(z["chisq"])
        assert_close(res.statistic, chisq, ITERATIVE_RTOL, what=f"zph {z['transform']} chisq")
        assert_close(res.p_value, np.atleast_1d(z["p"]), ITERATIVE_RTOL, what="zph p")
        np.testing.assert_array_equal(res.df, np.atleast_1d(z["df"]))
