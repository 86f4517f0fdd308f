"""Issue 15: a safety window flags only the events the protocol names for it (a grade-1 chills
after an infusion is not "cardiac arrest or death within 24 h"); other AEs are not counted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from edc_helpers import arm_of, make_trial, randomized, released_lot

from celltrial.edc import actions
from celltrial.protocol.models import SafetyWindow

NAMED = (
    "{id: death_24h, label: Death or cardiac arrest, duration: 24h}",
    "{id: death_24h, label: Death or cardiac arrest, duration: 24h, events: [cardiac arrest, death]}",
)


@pytest.fixture
def named_trial(db: Any) -> Any:
    return make_trial(replace=NAMED)


def test_only_the_named_events_are_flagged(named_trial):
    t = named_trial
    r = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=10)
    p = randomized(t, at=r)
    arm = arm_of(p)
    given = r + dt.timedelta(hours=3)
    actions.record_infusion(
        t["pharm"],
        p,
        lot=released_lot(t, arm),
        started_at=given,
        delivered=140e6 if arm == "msc" else 70.0,
    )
    kw = {
        "relatedness": "possible",
        "outcome": "recovered",
        "aware_at": given + dt.timedelta(hours=5),
    }
    chills = actions.report_adverse_event(
        t["coord1"], p, term="Chills", onset=given + dt.timedelta(hours=2), grade=1, **kw
    )
    arrest = actions.report_adverse_event(
        t["coord1"], p, term="Cardiac arrest", onset=given + dt.timedelta(hours=3), grade=4, **kw
    )
    # infusion_6h names no event: every AE in it counts; death_24h names cardiac arrest only.
    assert chills.windows == ["infusion_6h"]
    assert arrest.windows == ["infusion_6h", "death_24h"]
    # An edit of the term re-judges the flags.
    actions.edit_record(
        t["coord1"], "adverse_event", chills.pk, {"term": "Cardiac arrest"}, reason="typo"
    )
    chills.refresh_from_db()
    assert chills.windows == ["infusion_6h", "death_24h"]


def test_safety_window_matching():
    w = SafetyWindow(id="w", label="W", duration=24, events=["cardiac arrest", "death"])
    assert w.counts("Cardiac arrest") and w.counts("", "cardiac arrest, witnessed")
    assert not w.counts("Chills") and not w.counts("") and not w.counts(None)
    sentences = SafetyWindow(
        id="s",
        label="S",
        duration=6,
        events=["new arrhythmia needing cardioversion"] * 1,
        terms=["arrhythmia"],
    )
    assert sentences.counts("Arrhythmia") and not sentences.counts("Chills")
    assert SafetyWindow(id="a", label="A", duration=6).counts("Chills")  # names none: all
