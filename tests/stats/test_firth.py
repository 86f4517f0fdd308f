"""Firth-penalized logistic and Cox regression.

R's logistf and coxphf are not in Debian; the reference values (tests/reference/firth/firth.R)
are an independent R computation from scratch: the penalized log-likelihood evaluated directly
(Cox: survival::coxph's log partial likelihood and information at fixed coefficients), maximised
with optim, profile penalized-likelihood limits by uniroot. The estimates agree to optim's
precision (~1e-7), the profile limits and p-values (found by root finding at tight tolerance
on both sides) to ~1e-12. A 2x2 table also has a closed form: Firth's estimate there is the
log odds ratio with 1/2 added to every cell (Haldane).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from celltrial.stats import NotEstimableWarning, cox_ph, firth_cox, firth_logistic
from reference._load import ITERATIVE_RTOL, assert_close, load_csv, load_json

REF = load_json("firth")
#: optim (BFGS, reltol 1e-15, central-difference gradients) pins the maximum to ~1e-7
OPTIM_ATOL = 1e-6
#: uniroot(tol = 1e-11) on both sides
ROOT_ATOL = 1e-8

LOGISTIC = {"sep_arm": ["arm"], "sep_arm_age": ["arm", "age"], "small": ["x1", "x2"]}
COX = {"mono": ["arm"], "arm_age": ["arm", "age"], "small": ["x1", "x2"]}


@pytest.mark.parametrize("name", sorted(LOGISTIC))
def test_logistic_matches_r_from_scratch(name: str) -> None:
    ref = REF["logistic"][name]
    d = load_csv("firth", ref["data"])
    cols = LOGISTIC[name]
    fit = firth_logistic(np.column_stack([d[c] for c in cols]), d["y"], names=cols)
    assert fit.terms == tuple(ref["names"])
    assert_close(fit.estimate, ref["coef"], 0.0, atol=OPTIM_ATOL, what="coef")
    assert_close(fit.loglik[1], ref["loglik"], 1e-12, what="penalized loglik")
    assert_close(fit.ci[:, 0], ref["lower"], 0.0, atol=ROOT_ATOL, what="lower")
    assert_close(fit.ci[:, 1], ref["upper"], 0.0, atol=ROOT_ATOL, what="upper")
    assert_close(fit.p_value, ref["p"], ITERATIVE_RTOL, what="p")
    if "loglik_null" in ref:
        assert_close(fit.loglik[0], ref["loglik_null"], 1e-12, what="null loglik")


@pytest.mark.parametrize("name", sorted(COX))
def test_cox_matches_r_from_scratch(name: str) -> None:
    ref = REF["cox"][name]
    d = load_csv("firth", ref["data"])
    cols = COX[name]
    fit = firth_cox(np.column_stack([d[c] for c in cols]), d["time"], d["event"], names=cols)
    assert_close(fit.estimate, ref["coef"], 0.0, atol=OPTIM_ATOL, what="coef")
    assert_close(fit.loglik[1], ref["loglik"], 1e-12, what="penalized loglik")
    assert_close(fit.coef_ci[:, 0], ref["lower"], 0.0, atol=ROOT_ATOL, what="lower")
    assert_close(fit.coef_ci[:, 1], ref["upper"], 0.0, atol=ROOT_ATOL, what="upper")
    assert_close(fit.ci, np.exp(fit.coef_ci), 1e-15, what="HR limits")
    assert_close(fit.p_value, ref["p"], ITERATIVE_RTOL, what="p")


def test_logistic_2x2_is_haldane_closed_form() -> None:
    """One binary covariate: Firth = log odds ratio of the table with 1/2 added to each cell."""
    a, b, c, d = 3, 9, 12, 0  # control: 3 responders / 9 not; treated: 12 / 0 (separation)
    x = [0] * (a + b) + [1] * (c + d)
    y = [1] * a + [0] * b + [1] * c + [0] * d
    fit = firth_logistic(x, y)
    log_or = math.log((c + 0.5) / (d + 0.5)) - math.log((a + 0.5) / (b + 0.5))
    assert_close(fit.estimate, [math.log((a + 0.5) / (b + 0.5)), log_or], 1e-9, what="coef")


def test_cox_finite_where_mle_is_infinite() -> None:
    """No event in one arm: cox_ph flags an infinite coefficient; Firth's is finite."""
    d = load_csv("firth", "cox_arm_age.csv")
    fit = firth_cox(d["arm"], d["time"], d["event"])
    assert np.all(np.isfinite(fit.estimate)) and np.all(np.isfinite(fit.ci))
    assert fit.ci[0, 1] < 1.0
    with pytest.warns(NotEstimableWarning, match="coefficient is infinite"):
        cox_ph(d["arm"], d["time"], d["event"])


def test_flat_partial_likelihood_is_a_clear_error() -> None:
    """The issue's example: arm 1 censored before any event; x carries no information."""
    with pytest.raises(ValueError, match="'arm' of X carry no information"):
        firth_cox(
            [1, 1, 1, 1, 0, 0, 0, 0], list(range(1, 9)), [0, 0, 0, 0, 1, 1, 1, 1], names=["arm"]
        )


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"y: must be 0/1; element 1 is 2\.0"):
        firth_logistic([0, 1, 0], [0, 2, 1])
    with pytest.raises(ValueError, match="names: 2 names for 1 columns"):
        firth_logistic([0, 1, 0], [0, 1, 1], names=["a", "b"])
    with pytest.raises(ValueError, match="linearly independent"):
        firth_logistic([1, 1, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="event: no events"):
        firth_cox([0, 1, 0], [1, 2, 3], [0, 0, 0])
    with pytest.raises(ValueError, match="event: must be 0/1"):
        firth_cox([0, 1, 0], [1, 2, 3], [0, 2, 0])
