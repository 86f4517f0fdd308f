"""Log-rank and Fleming–Harrington tests against R (tests/reference/logrank/logrank.R)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celltrial.stats import logrank
from reference._load import CLOSED_FORM_RTOL, assert_close, load_csv, load_json

REF = load_json("logrank")


@pytest.mark.parametrize("name", sorted(REF["cases"]))
def test_matches_survdiff(name: str) -> None:
    case = REF["cases"][name]
    data = load_csv("logrank", case["data"])
    strata = case["strata"]
    res = logrank(
        data["time"],
        data["event"],
        data[case["group"]],
        strata=None if isinstance(strata, float) and math.isnan(strata) else data[strata],
        rho=case["rho"],
        gamma=case["gamma"],
    )
    rtol = CLOSED_FORM_RTOL
    assert_close(res.observed, case["obs"], rtol, what="obs")
    assert_close(res.expected, case["exp"], rtol, what="exp")
    assert_close(res.variance, case["var"], rtol, atol=1e-12, what="var")
    assert_close(res.statistic, case["chisq"], rtol, what="chisq")
    assert res.df == case["df"]
    assert_close(res.p_value, case["p_value"], rtol, what="p")


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="group: must have at least 2"):
        logrank([1, 2, 3], [1, 1, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="event: all observations are censored"):
        logrank([1, 2, 3], [0, 0, 0], [1, 2, 1])
    with pytest.raises(ValueError, match="group: length"):
        logrank([1, 2, 3], [1, 0, 1], [1, 2])
    with pytest.raises(ValueError, match="rho: must be"):
        logrank([1, 2, 3], [1, 0, 1], [1, 2, 1], rho=-1)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 15), st.integers(0, 1), st.integers(0, 1)), min_size=4, max_size=40
    ),
    st.sampled_from([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]),
)
def test_property_swapping_groups_keeps_p(rows, weights) -> None:
    t, e, g = (np.array(c) for c in zip(*rows, strict=True))
    if len(set(g.tolist())) < 2 or not e.any():
        return
    a = logrank(t, e, g, rho=weights[0], gamma=weights[1])
    b = logrank(t, e, 1 - g, rho=weights[0], gamma=weights[1])
    assert 0.0 <= a.p_value <= 1.0
    assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-12)


def test_group_as_a_pandas_series_of_strings() -> None:
    # issue 19: AttributeError: 'str' object has no attribute 'item'
    import pandas as pd

    aml = load_csv("logrank", "aml.csv")
    names = pd.Series(np.where(aml["group"] == 1, "Maintained", "Nonmaintained"))
    res = logrank(aml["time"], aml["event"], names)
    ref = logrank(aml["time"], aml["event"], aml["group"])
    assert res.groups == ("Maintained", "Nonmaintained")
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    cat = logrank(aml["time"], aml["event"], names.astype("category"))
    assert cat.groups == res.groups and cat.statistic == res.statistic


def test_missing_group_label_is_named() -> None:
    import pandas as pd

    with pytest.raises(ValueError, match="group: must not contain missing values; element 1"):
        logrank([1.0, 2.0, 3.0], [1, 1, 0], pd.Series(["a", pd.NA, "b"], dtype=object))


def test_messages_show_plain_numbers_not_numpy_reprs() -> None:
    with pytest.raises(ValueError, match=r"element 1 is nan$") as exc:
        logrank(np.array([1.0, np.nan]), [1, 1], ["a", "b"])
    assert "np.float64" not in str(exc.value)
