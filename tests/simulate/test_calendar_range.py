"""Dates past 2262 (beyond 64-bit nanoseconds): named as such, never silently dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celltrial.dataset import check_dataset
from celltrial.dataset.times import BEYOND_RANGE, beyond_range, normalize
from celltrial.protocol import load_protocol
from celltrial.simulate import ScenarioError, load_scenario, simulate_trial
from celltrial.simulate.virtual import _screen


def test_beyond_range_marks_valid_iso_dates_past_2262_only() -> None:
    text = pd.Series(["2263-11-10T14:00Z", "2020-05-01", "2020-13-01", "1600-01-01", None, "2300"])
    assert beyond_range(text).tolist() == [True, False, False, True, False, True]
    _, bad = normalize(text)
    assert bad.tolist() == [True, False, True, True, False, True]  # pandas cannot hold them


def test_slow_accrual_is_refused_with_the_setting_to_change() -> None:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    slow = s.model_copy(update={"accrual": s.accrual.model_copy(update={"per_week": 0.005})})
    with pytest.raises(ScenarioError, match=r"accrual\.per_week.*2262"):
        simulate_trial(p, slow, n=120, rng=np.random.default_rng(1))


def test_screening_loop_is_unchanged_by_the_running_count() -> None:
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    people = _screen(p, s, 40, np.random.default_rng(5))
    assert sum(x["randomized"] for x in people) == 40
    assert people[-1]["randomized"]  # stops at the 40th randomized, as before


def test_check_dataset_reports_dates_past_2262() -> None:
    from celltrial.dataset import make_dataset

    p = load_protocol("lanzoni2021")
    ds = simulate_trial(p, load_scenario("lanzoni2021", p), n=6, rng=np.random.default_rng(2))
    dm = ds.dm.copy()
    dm.loc[0, "RFICDTC"] = "2263-01-05T10:00Z"
    tables = {k: v for k, v in ds.tables.items()}
    tables["DM"] = dm
    again = make_dataset(tables)
    far = [x for x in again.problems if BEYOND_RANGE in x.message]
    assert far and "not an ISO 8601" not in far[0].message
    assert any(BEYOND_RANGE in x.message for x in check_dataset(again, p))
