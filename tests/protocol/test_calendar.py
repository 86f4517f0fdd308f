"""The calendar: administrations and visits to the hour, time-zone aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from celltrial.protocol import CalendarError, calendar, load_protocol

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_lanzoni_two_infusions_of_100_million_cells() -> None:
    cal = calendar(load_protocol("lanzoni2021"), T0, weight_kg=70, arms=["ucmsc"])
    doses = cal.administrations
    assert [a.nominal for a in doses] == [T0, T0 + timedelta(days=3)]
    assert [a.amount for a in doses] == [100e6, 100e6]
    assert [a.amount_text() for a in doses] == ["100 × 10^6 cells"] * 2
    # 100 ± 20 × 10^6
    assert (doses[0].amount_low, doses[0].amount_high) == (80e6, 120e6)
    # the first infusion within 24 h of randomization (registry)
    assert doses[0].latest - doses[0].earliest == timedelta(hours=24)


def test_rebelatto_three_infusions_48h_apart_weight_based() -> None:
    cal = calendar(load_protocol("rebelatto2022"), T0, weight_kg=70, arms=["ucmsc"])
    doses = cal.administrations
    assert [a.nominal - T0 for a in doses] == [timedelta(hours=h) for h in (0, 48, 96)]
    # 5 × 10^5 cells/kg × 70 kg = 3.5 × 10^7 cells
    assert [a.amount for a in doses] == pytest.approx([3.5e7] * 3, rel=1e-12)
    assert doses[0].amount_text() == "3.5 × 10^7 cells"


def test_placebo_with_unknown_dose_says_unknown() -> None:
    cal = calendar(load_protocol("rebelatto2022"), T0, weight_kg=70, arms=["placebo"])
    assert [a.amount for a in cal.administrations] == [None] * 3
    assert cal.administrations[0].amount_text() == "unknown"


def test_per_kg_dose_needs_a_weight() -> None:
    with pytest.raises(CalendarError, match=r"weight: arm 'ucmsc' is dosed in cells/kg"):
        calendar(load_protocol("rebelatto2022"), T0)


def test_fixed_dose_needs_no_weight() -> None:
    cal = calendar(load_protocol("shi2021"), T0)
    assert {a.amount for a in cal.administrations if a.arm == "ucmsc"} == {4e7}


@pytest.mark.parametrize("weight", [0.5, 501, float("nan")])
def test_implausible_weight(weight: float) -> None:
    with pytest.raises(CalendarError, match="weight"):
        calendar(load_protocol("lanzoni2021"), T0, weight_kg=weight)


def test_naive_time_is_refused() -> None:
    with pytest.raises(CalendarError, match="time-zone-aware"):
        calendar(load_protocol("lanzoni2021"), datetime(2026, 3, 1, 10))


def test_zone_is_kept_and_dst_is_respected() -> None:
    # 2026-03-29 is the spring DST change in Europe/Rome: day 3 is 72 real hours later.
    rome = ZoneInfo("Europe/Rome")
    start = datetime(2026, 3, 27, 10, 0, tzinfo=rome)
    cal = calendar(load_protocol("lanzoni2021"), start, arms=["ucmsc"])
    second = cal.administrations[1].nominal
    assert second.astimezone(UTC) == start.astimezone(UTC) + timedelta(hours=72)
    # shown in the caller's zone: 10:00 CET + 72 h = 11:00 CEST
    assert second.tzinfo is rome and (second.hour, second.utcoffset()) == (11, timedelta(hours=2))


def test_visits_follow_their_anchor() -> None:
    cal = calendar(load_protocol("shi2021"), T0)
    by_id = {v.visit: v for v in cal.visits}
    assert by_id["day28"].nominal == T0 + timedelta(days=28)
    assert by_id["month12"].nominal == T0 + timedelta(days=365)
    assert by_id["month12"].earliest == T0 + timedelta(days=351)
    assert by_id["month12"].latest == T0 + timedelta(days=379)


def test_visit_anchored_to_first_administration_moves_with_start() -> None:
    from pathlib import Path

    example = Path(__file__).parents[2] / "docs" / "examples" / "mytrial2027.yaml"
    p = load_protocol(example)
    cal = calendar(p, T0, weight_kg=60)
    # the first administration is 2 h after randomization
    assert cal.first_administration == T0 + timedelta(hours=2)
    msc = [a for a in cal.administrations if a.arm == "msc"]
    assert [a.nominal - T0 for a in msc] == [timedelta(hours=h) for h in (2, 50, 98)]
    # 2 × 10^6 cells/kg × 60 kg = 1.2 × 10^8, under the 2 × 10^8 cap; ± 10 %
    assert msc[0].amount == pytest.approx(1.2e8) and not msc[0].capped
    assert (msc[0].amount_low, msc[0].amount_high) == pytest.approx((1.08e8, 1.32e8))
    capped = calendar(p, T0, weight_kg=150, arms=["msc"]).administrations[0]
    assert capped.amount == 2e8 and capped.capped
    placebo = calendar(p, T0, weight_kg=150, arms=["placebo"]).administrations[0]
    assert placebo.amount == 100 and placebo.counted_in == "mL" and placebo.capped


def test_unknown_arm() -> None:
    with pytest.raises(KeyError, match="no arm 'msc'"):
        calendar(load_protocol("lanzoni2021"), T0, arms=["msc"])
