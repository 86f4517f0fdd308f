"""Issue 18: a non-randomized trial (Meng 2020) assigns arms in the EDC without a list."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from edc_helpers import arm_of, fields

from celltrial.protocol import library_text

MENG = {"covid19": True, "covid_severity": "moderate", "age": 50, "weight": 70}


def _meng(method: str = "investigator") -> dict[str, Any]:
    from celltrial.edc import actions

    text = library_text("meng2020").replace("method: investigator", f"method: {method}")
    admin = actions.create_trial(text, sites=[("site1", "Site one")], admin_username="admin")
    staff = {"admin": admin}
    for name, role in (("inv1", "investigator"), ("coord1", "coordinator"), ("mon1", "monitor")):
        staff[name] = actions.add_staff(admin, name, role, ["site1"], full_name=f"Test {name}")
    return staff


def _enrolled(staff: Any) -> Any:
    from celltrial.edc import actions

    p = actions.screen_participant(staff, "site1", MENG)
    actions.record_consent(staff, p, "1.0", dt.date(2020, 2, 5))
    actions.enroll(staff, p)
    return p


def test_investigator_assigns_an_arm_audited(db: Any) -> None:
    from celltrial.edc import actions
    from celltrial.edc.models import AuditEntry, VisitRecord

    s = _meng()
    p = _enrolled(s["coord1"])
    with pytest.raises(actions.ActionError) as no_arm:
        actions.assign_participant(s["inv1"], p)
    assert fields(no_arm) == {"arm"}
    with pytest.raises(actions.ActionError) as bad:
        actions.assign_participant(s["inv1"], p, arm="placebo")
    assert fields(bad) == {"arm"}
    with pytest.raises(actions.ActionError):  # the monitor may not assign (randomize's roles)
        actions.assign_participant(s["mon1"], p, arm="ucmsc")
    actions.assign_participant(s["inv1"], p, arm="control")
    p.refresh_from_db()
    assert arm_of(p) == "control"
    assert VisitRecord.objects.filter(participant=p).count() == 4
    entry = AuditEntry.objects.filter(action="assign_participant").get()
    assert json.loads(entry.new)["arm"] == "control"
    with pytest.raises(actions.ActionError):  # the list-based action has nothing to take
        actions.randomize_participant(s["coord1"], _enrolled(s["coord1"]))


def test_enrolment_order_takes_arms_in_turn(db: Any) -> None:
    from celltrial.edc import actions

    s = _meng("enrolment_order")
    arms = []
    for _ in range(4):
        p = _enrolled(s["coord1"])
        with pytest.raises(actions.ActionError):
            actions.assign_participant(s["coord1"], p, arm="ucmsc")
        actions.assign_participant(s["coord1"], p)
        arms.append(arm_of(p))
    assert arms == ["ucmsc", "control", "ucmsc", "control"]
