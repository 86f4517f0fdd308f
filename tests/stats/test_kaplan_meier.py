"""Kaplan–Meier, quantiles and RMST against R (tests/reference/kaplan_meier/kaplan_meier.R)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celltrial.stats import kaplan_meier, rmst_difference
from reference._load import CLOSED_FORM_RTOL, assert_close, load_csv, load_json

REF = load_json("kaplan_meier")


def _fit(case: dict) -> object:
    data = load_csv("kaplan_meier", case["data"])
    return kaplan_meier(
        data["time"],
        data["event"],
        entry=data["entry"] if case.get("entry") else None,
        weights=data["weight"] if case.get("weights") else None,
        level=case["level"],
        ci=case["conf_type"],
    )


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_curve_matches_survfit(name: str) -> None:
    case = REF["cases"][name]
    fit = _fit(case)
    rtol = CLOSED_FORM_RTOL
    assert_close(fit.time, case["time"], rtol, what="time")
    assert_close(fit.n_risk, case["n_risk"], rtol, what="n.risk")
    assert_close(fit.n_event, case["n_event"], rtol, what="n.event")
    assert_close(fit.n_censor, case["n_censor"], rtol, what="n.censor")
    assert_close(fit.estimate, case["surv"], rtol, what="surv")
    assert_close(fit.se_log, case["std_err"], rtol, what="std.err")
    assert_close(fit.ci[:, 0], case["lower"], rtol, what="lower")
    assert_close(fit.ci[:, 1], case["upper"], rtol, what="upper")


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_quantiles_match_quantile_survfit(name: str) -> None:
    case = REF["cases"][name]
    fit = _fit(case)
    for p, q, lo, hi in zip(
        case["probs"], case["quantile"], case["q_lower"], case["q_upper"], strict=True
    ):
        res = fit.quantile(p)
        assert_close(res.estimate, q, CLOSED_FORM_RTOL, what=f"quantile {p}")
        assert_close(res.ci[0], lo, CLOSED_FORM_RTOL, what=f"lower {p}")
        assert_close(res.ci[1], hi, CLOSED_FORM_RTOL, what=f"upper {p}")
    med = fit.median
    i = case["probs"].index(0.5)
    assert_close(med.estimate, case["quantile"][i], CLOSED_FORM_RTOL)


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_rmst_matches_print_rmean(name: str) -> None:
    case = REF["cases"][name]
    fit = _fit(case)
    for r in case["rmst"]:
        res = fit.rmst(r["tau"])
        assert_close(res.estimate, r["rmean"], CLOSED_FORM_RTOL, what="rmean")
        assert_close(res.se, r["se"], CLOSED_FORM_RTOL, what="se(rmean)")


@pytest.mark.parametrize("name", sorted(REF["rmst_difference"]))
def test_rmst_difference(name: str) -> None:
    ref = REF["rmst_difference"][name]
    data = load_csv("kaplan_meier", ref["data"])
    res = rmst_difference(data["time"], data["event"], data[ref["group"]], tau=ref["tau"])
    assert_close([r.estimate for r in res.rmst], ref["rmst"], CLOSED_FORM_RTOL)
    assert_close([r.se for r in res.rmst], ref["rmst_se"], CLOSED_FORM_RTOL)
    for key in ("estimate", "se", "p_value"):
        assert_close(getattr(res, key), ref[key], CLOSED_FORM_RTOL, what=key)
    assert_close(res.ci, [ref["lower"], ref["upper"]], CLOSED_FORM_RTOL)


def test_survival_at_is_a_right_continuous_step() -> None:
    fit = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])
    np.testing.assert_allclose(fit.survival_at([0.5, 1, 1.5, 2, 3, 10]), [1, 0.75, 0.75, 0.5, 0, 0])


def test_no_events_gives_flat_curve() -> None:
    fit = kaplan_meier([1, 2, 3], [0, 0, 0])
    np.testing.assert_array_equal(fit.estimate, [1, 1, 1])
    assert np.isnan(fit.median.estimate)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [1, 2], "event": [1]}, "event: length"),
        ({"time": [1, np.nan], "event": [1, 1]}, "time: must be finite"),
        ({"time": [1, -2], "event": [1, 1]}, "time: times must be >= 0"),
        ({"time": [1, 2], "event": [1, 2]}, "event: must be 0/1"),
        ({"time": [], "event": []}, "time: must not be empty"),
        ({"time": [1, 2], "event": [1, 1], "entry": [0, 3]}, "entry: entry must be < time"),
        ({"time": [1, 2], "event": [1, 1], "weights": [1, -1]}, "weights: weights must be >= 0"),
        ({"time": [1, 2], "event": [1, 1], "ci": "logit"}, "ci: must be one of"),
        ({"time": [1, 2], "event": [1, 1], "level": 1.5}, "level: must be strictly"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaplan_meier(kwargs.pop("time"), kwargs.pop("event"), **kwargs)


survival_data = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 20), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(survival_data, st.sampled_from(["log", "log-log", "plain"]))
def test_property_survival_in_unit_interval_and_non_increasing(data, ci) -> None:
    time, event = data
    fit = kaplan_meier(time, event, ci=ci)
    assert np.all((fit.estimate >= 0) & (fit.estimate <= 1))
    assert np.all(np.diff(fit.estimate) <= 0)
    lo, hi = fit.ci[:, 0], fit.ci[:, 1]
    ok = ~np.isnan(lo) & ~np.isnan(hi)
    assert np.all(lo[ok] <= fit.estimate[ok] + 1e-12)
    assert np.all(hi[ok] >= fit.estimate[ok] - 1e-12)
    med = fit.median
    if not np.isnan(med.ci[0]) and not np.isnan(med.estimate):
        assert med.ci[0] <= med.estimate
    if not np.isnan(med.ci[1]) and not np.isnan(med.estimate):
        assert med.ci[1] >= med.estimate


# --- quantile CIs where the confidence curve is not monotone (km_quantile.R) --------------------

QREF = load_json("kaplan_meier", "km_quantile")


@pytest.mark.parametrize("name", sorted(QREF["cases"]))
def test_quantile_ci_matches_r_when_the_ci_curve_is_not_monotone(name: str) -> None:
    case = QREF["cases"][name]
    fit = kaplan_meier(case["time"], case["event"], ci=case["conf_type"], level=case["level"])
    for i, p in enumerate(case["probs"]):
        res = fit.quantile(p)
        assert_close(res.estimate, case["quantile"][i], CLOSED_FORM_RTOL, what=f"q {p}")
        assert_close(res.ci[0], case["lower"][i], CLOSED_FORM_RTOL, what=f"lower {p}")
        assert_close(res.ci[1], case["upper"][i], CLOSED_FORM_RTOL, what=f"upper {p}")


def test_issue_example_median_ci() -> None:
    case = QREF["cases"]["issue_log"]
    assert kaplan_meier(case["time"], case["event"]).median.ci == (6.0, 13.0)
    aml = QREF["cases"]["aml_log"]
    assert kaplan_meier(aml["time"], aml["event"]).median.ci[1] == 48.0
