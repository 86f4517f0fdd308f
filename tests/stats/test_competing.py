"""Aalen–Johansen cumulative incidence against R's multi-state survfit (tests/reference/cuminc/)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celltrial.stats import cumulative_incidence, kaplan_meier
from reference._load import CLOSED_FORM_RTOL, assert_close, load_csv, load_json

REF = load_json("cuminc")["cases"]


def _check(curve, ref) -> None:
    rtol = CLOSED_FORM_RTOL
    pstate = np.array(ref["pstate"], dtype=float)
    se = np.array(ref["std_err"], dtype=float)
    assert_close(curve.time, ref["time"], rtol, what="time")
    assert_close(curve.n_risk, ref["n_risk"], rtol, what="n.risk")
    assert_close(curve.survival, pstate[:, 0], rtol, atol=1e-14, what="(s0)")
    assert_close(curve.estimate, pstate[:, 1:], rtol, atol=1e-14, what="pstate")
    assert_close(curve.survival_se, se[:, 0], rtol, atol=1e-14, what="std.err (s0)")
    assert_close(curve.se, se[:, 1:], rtol, atol=1e-14, what="std.err")
    lower = np.array(ref["lower"], dtype=float)[:, 1:]
    upper = np.array(ref["upper"], dtype=float)[:, 1:]
    assert_close(curve.ci[..., 0], lower, rtol, what="lower")
    assert_close(curve.ci[..., 1], upper, rtol, what="upper")


@pytest.mark.parametrize("name", ["mgus2", "small"])
def test_matches_multistate_survfit(name: str) -> None:
    ref = REF[name]
    data = load_csv("cuminc", ref["data"])
    res = cumulative_incidence(data["time"], data["event"])
    assert res.causes == (1, 2)
    _check(res.curve(), ref)


def test_by_group_matches_survfit_strata() -> None:
    ref = REF["mgus2_by_sex"]
    data = load_csv("cuminc", ref["data"])
    res = cumulative_incidence(data["time"], data["event"], group=data["sex"].astype(int))
    assert res.groups == (0, 1)
    for g in (0, 1):
        _check(res.curve(g), ref["groups"][str(g)])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="event_type: must be whole numbers"):
        cumulative_incidence([1, 2, 3], [0, 1.5, 2])
    with pytest.raises(ValueError, match="event_type: length"):
        cumulative_incidence([1, 2, 3], [0, 1])
    with pytest.raises(ValueError, match="all observations are censored"):
        cumulative_incidence([1, 2, 3], [0, 0, 0])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2)), min_size=2, max_size=40))
def test_property_incidences_and_survival_add_to_one(rows) -> None:
    t, e = (np.array(c) for c in zip(*rows, strict=True))
    if not np.any(e > 0):
        return
    c = cumulative_incidence(t, e).curve()
    total = c.survival + c.estimate.sum(axis=1)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert np.all(np.diff(c.estimate, axis=0) >= -1e-15)
    # all-cause survival is the Kaplan-Meier curve of "any event"
    km = kaplan_meier(t, e > 0)
    np.testing.assert_allclose(c.survival, km.estimate, rtol=1e-12, atol=1e-15)


def test_group_as_a_pandas_series_of_strings() -> None:
    # issue 19: AttributeError: 'str' object has no attribute 'item'
    import pandas as pd

    t = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    ev = np.array([1, 2, 0, 1, 1, 2, 0, 1])
    g = pd.Series(["CAR-T", "SOC"] * 4)
    res = cumulative_incidence(t, ev, group=g)
    ref = cumulative_incidence(t, ev, group=np.array([0, 1] * 4))
    assert res.groups == ("CAR-T", "SOC")
    for a, b in zip(res.curves, ref.curves, strict=True):
        np.testing.assert_array_equal(a.estimate, b.estimate)
