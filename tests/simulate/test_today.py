"""Where a rehearsal of a trial in progress stops (celltrial.rehearse.today), without the EDC:
the simulator's own events, arms given in turn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from celltrial.protocol import load_protocol
from celltrial.rehearse.today import (
    AWARE_AFTER,
    SAE_REPORT_AFTER,
    WEEK,
    choose_stop,
    shift_candidate,
    shift_event,
    this_hour,
)
from celltrial.simulate import load_scenario, participant_events, screen_candidates


@pytest.fixture(scope="module")
def trial():
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    rng = np.random.default_rng(7)
    candidates = screen_candidates(p, s, n=24, rng=rng)
    arms = ["ucmsc", "control"]
    planned = {}
    for k, c in enumerate(c for c in candidates if c.randomized):
        planned[c.screening_id] = participant_events(p, s, c, arms[k % 2], usubjid=f"P{k}", rng=rng)
    return candidates, planned


def test_the_stop_leaves_work_for_every_role(trial):
    candidates, planned = trial
    stop = choose_stop(candidates, planned)
    at = stop.at
    assert "SAE" in stop.why
    # An SAE the site knows of, whose report (6 h after awareness) is not filed yet.
    saes = [
        e
        for events in planned.values()
        for e in events
        if e.kind == "adverse_event" and e.data["AESER"] == "Y"
    ]
    assert any(e.time + AWARE_AFTER <= at < e.time + AWARE_AFTER + SAE_REPORT_AFTER for e in saes)
    randomized = {c.screening_id: c.randomize_at for c in candidates if c.screening_id in planned}
    ends = {
        sid: min(e.time for e in events if e.kind in ("death", "withdrawal", "completion"))
        for sid, events in planned.items()
    }
    followed = [sid for sid in planned if randomized[sid] <= at < ends[sid]]
    soon = [e for sid in followed for e in planned[sid] if at < e.time <= at + WEEK]
    assert any(e.kind == "infusion" for e in soon)
    assert any(e.kind == "measurement" and not e.data["missed"] for e in soon)
    # The latest such moment: some participants are randomized after it (still to come).
    assert any(t > at for t in randomized.values())


def test_shifting_moves_every_time_and_the_sdtm_dates():
    p = load_protocol("lanzoni2021")
    s = load_scenario("lanzoni2021", p)
    rng = np.random.default_rng(1)
    c = next(c for c in screen_candidates(p, s, n=2, rng=rng) if c.randomized)
    by = timedelta(days=2000, hours=5)
    moved = shift_candidate(c, by)
    assert moved.randomize_at - c.randomize_at == by == moved.consent_at - c.consent_at
    events = participant_events(p, s, c, "control", usubjid="X", rng=rng)
    ae = next((e for e in events if e.kind == "adverse_event"), None)
    for e in events:
        assert shift_event(e, by).time == e.time + by
    if ae is not None:
        start = datetime.fromisoformat(ae.data["AESTDTC"].replace("Z", "+00:00"))
        shifted = shift_event(ae, by).data["AESTDTC"]
        assert datetime.fromisoformat(shifted.replace("Z", "+00:00")) == start + by


def test_today_is_an_hour_of_an_aware_time():
    assert this_hour(datetime(2026, 3, 2, 9, 41, 7, tzinfo=UTC)) == datetime(
        2026, 3, 2, 9, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="time-zone-aware"):
        this_hour(datetime(2026, 3, 2, 9))
