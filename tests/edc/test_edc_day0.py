"""Issue 15: Day 0 is not "missing" the moment a participant is randomized, and the visits the
schedule anchors on the first administration count from the infusion actually given (as the
analysis anchors them), so a Day 0 done on the day of the first infusion is in its window."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from edc_helpers import FIRST_DOSE_ANCHOR, As, arm_of, make_trial, randomized, released_lot

from celltrial.edc import actions
from celltrial.edc.models import VisitRecord

H = dt.timedelta(hours=1)


@pytest.fixture
def dosed_trial(db: Any) -> Any:
    return make_trial(replace=FIRST_DOSE_ANCHOR)


def _visit(p: Any, visit: str) -> VisitRecord:
    return VisitRecord.objects.get(participant=p, visit=visit)


def test_day0_waits_for_the_first_infusion_and_counts_from_it(dosed_trial):
    t = dosed_trial
    api = As(actions.token_for(t["coord1"]))
    r = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - 5 * H
    p = randomized(t, at=r)
    # Planned first administration: randomization + 2 h, to be given within 22 h. Five hours
    # after randomization the baseline visit (0 h, window -6 h..+2 h) is still open.
    base = _visit(p, "baseline")
    assert base.latest > dt.datetime.now(dt.UTC)
    listed = {v["visit"]: v for v in api.call("get", f"/participants/{p.code}/visits").json()}
    assert dt.datetime.fromisoformat(listed["baseline"]["latest"]) > dt.datetime.now(dt.UTC)

    arm = arm_of(p)
    lot = released_lot(t, arm)
    given = r + 4 * H
    actions.record_infusion(
        t["pharm"], p, lot=lot, started_at=given, delivered=140e6 if arm == "msc" else 70.0
    )
    base = _visit(p, "baseline")
    assert (base.nominal, base.earliest, base.latest) == (given, given - 6 * H, given + 2 * H)
    assert _visit(p, "day7").nominal == given + dt.timedelta(days=7)
    # Day 0 done half an hour after the infusion (same day): in its window.
    at = (given + H / 2).isoformat().replace("+00:00", "Z")
    r2 = api.call("post", f"/participants/{p.code}/visits/baseline?at={at}")
    assert r2.status_code == 200, r2.content
    assert r2.json()["in_window"] is True and _visit(p, "baseline").in_window is True
    from celltrial.edc import audit

    assert audit.verify_data() == []  # the moved schedule is bound by a new audit row
