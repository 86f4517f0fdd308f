"""Gray's test and Fine–Gray regression against R's cmprsk (tests/reference/finegray/)."""

from __future__ import annotations

import numpy as np
import pytest

from celltrial.stats import cumulative_incidence, fine_gray, gray_test
from reference._load import CLOSED_FORM_RTOL, ITERATIVE_RTOL, assert_close, load_csv, load_json

REF = load_json("finegray")
MGUS2 = load_csv("finegray", "mgus2.csv")
SIM = load_csv("finegray", "sim.csv")

GRAY_CASES = {
    "mgus2_sex": (MGUS2, {"group": MGUS2["sex"]}),
    "mgus2_sex_rho1": (MGUS2, {"group": MGUS2["sex"], "rho": 1.0}),
    "sim_group": (SIM, {"group": SIM["group"]}),
    "sim_group_strata": (SIM, {"group": SIM["group"], "strata": SIM["stratum"]}),
    "sim_group_strata_rho05": (
        SIM,
        {"group": SIM["group"], "strata": SIM["stratum"], "rho": 0.5},
    ),
}


@pytest.mark.parametrize("name", sorted(GRAY_CASES))
@pytest.mark.parametrize("cause", [1, 2])
def test_gray_matches_cuminc_tests(name: str, cause: int) -> None:
    data, kw = GRAY_CASES[name]
    ref = REF["gray"][name]
    res = gray_test(data["time"], data["event"], cause=cause, **kw)
    # closed form (no iteration): agreement to rounding
    assert_close(res.statistic, ref["stat"][cause - 1], CLOSED_FORM_RTOL, what="stat")
    assert_close(res.p_value, ref["pv"][cause - 1], CLOSED_FORM_RTOL, what="pv")
    assert res.df == ref["df"][cause - 1]


FG_CASES = {
    "mgus2_cause1": (MGUS2, ("sex", "age", "hgb"), 1),
    "mgus2_cause2": (MGUS2, ("sex", "age", "hgb"), 2),
    "sim_cause1": (SIM, ("x1", "x2"), 1),
    "sim_cause2_one": (SIM, ("x1",), 2),
}


@pytest.mark.parametrize("name", sorted(FG_CASES))
def test_fine_gray_matches_crr(name: str) -> None:
    data, cols, cause = FG_CASES[name]
    ref = REF["crr"][name]
    X = np.column_stack([data[c] for c in cols])
    fit = fine_gray(X, data["time"], data["event"], cause=cause, names=cols)
    assert fit.converged
    assert fit.terms == cols
    rtol = ITERATIVE_RTOL  # crr stops at its gradient tolerance (1e-8 in the script)
    assert_close(fit.estimate, ref["coef"], rtol, what="coef")
    assert_close(fit.variance, np.array(ref["var"]).reshape(len(cols), len(cols)), rtol, what="var")
    assert_close(fit.se, ref["se"], rtol, what="se")
    assert_close(fit.z, ref["z"], rtol, what="z")
    assert_close(fit.p_value, ref["p"], rtol, what="p")
    assert_close(fit.ci[:, 0], ref["lower"], rtol, what="lower")
    assert_close(fit.ci[:, 1], ref["upper"], rtol, what="upper")
    assert_close(fit.loglik[0], ref["loglik_null"], CLOSED_FORM_RTOL, what="loglik.null")
    assert_close(fit.loglik[1], ref["loglik"], rtol, what="loglik")
    assert fit.n == ref["n"]


def test_fine_gray_without_competing_events_is_cox_breslow() -> None:
    """With no competing event all weights are 1: the Cox partial likelihood (Breslow ties)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(60)
    t = np.round(rng.exponential(1.0 / np.exp(0.5 * x)), 1) + 0.1
    e = (rng.uniform(size=60) < 0.7).astype(int)
    from celltrial.stats import cox_ph

    fg = fine_gray(x, t, e)
    cox = cox_ph(x, t, e, ties="breslow")
    assert_close(fg.estimate, cox.estimate, 1e-8, what="coef")
    assert_close(fg.loglik[1], cox.loglik[1], 1e-10, what="loglik")


def test_gray_test_agrees_with_cumulative_incidence_direction() -> None:
    """The group with the higher cumulative incidence has the positive score."""
    res = gray_test(MGUS2["time"], MGUS2["event"], group=MGUS2["sex"], cause=2)
    ci = cumulative_incidence(MGUS2["time"], MGUS2["event"], group=MGUS2["sex"].astype(int))
    higher_first = ci.curve(0).estimate[-1, 1] > ci.curve(1).estimate[-1, 1]
    assert (res.scores[0] > 0) == higher_first


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="event_type: must be whole numbers"):
        gray_test([1, 2, 3], [0, 1.5, 2], group=[0, 1, 1])
    with pytest.raises(ValueError, match="no event of cause 3"):
        gray_test([1, 2, 3], [0, 1, 2], group=[0, 1, 1], cause=3)
    with pytest.raises(ValueError, match="group: needs at least 2 groups"):
        gray_test([1, 2, 3], [0, 1, 2], group=[1, 1, 1])
    with pytest.raises(ValueError, match="rho: must be finite"):
        gray_test([1, 2, 3], [0, 1, 2], group=[0, 1, 1], rho=-1)
    with pytest.raises(ValueError, match="X: 2 rows differ"):
        fine_gray([1, 2], [1, 2, 3], [0, 1, 2])
    with pytest.raises(ValueError, match="names: 2 names for 1 columns"):
        fine_gray([1, 2, 3], [1, 2, 3], [0, 1, 2], names=["a", "b"])
    with pytest.raises(ValueError, match="X: columns must be linearly independent"):
        fine_gray([1, 1, 1], [1, 2, 3], [0, 1, 2])
