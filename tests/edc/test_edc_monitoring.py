"""Monitoring: queries, form locks, visit signatures and a record's audit trail, through the
actions and the REST API (SQLite, and PostgreSQL with ``DATABASE_URL``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from typing import Any

import pytest
from edc_helpers import ARM_STRINGS, arm_of, randomized, released_lot

from celltrial.edc import actions
from celltrial.edc.actions import ActionError, Conflict, Forbidden, NotFound
from celltrial.edc.audit import verify_audit
from celltrial.edc.models import AuditEntry, FormLock, Query, Signature

PASSWORD = "investigator's own password 42"


def field_of(info: pytest.ExceptionInfo[ActionError]) -> str:
    return info.value.problems[0].field


def message_of(info: pytest.ExceptionInfo[ActionError]) -> str:
    return info.value.problems[0].message


@pytest.fixture
def visit(trial: Any) -> dict[str, Any]:
    """A participant of site1 randomized now, the baseline visit done, a measurement taken
    at it and one without a visit; the investigator has a password."""
    p = randomized(trial)
    actions.record_visit(trial["coord1"], p, "baseline")
    m = actions.record_measurement(trial["coord1"], p, "il6", 12, visit="baseline")
    loose = actions.record_measurement(trial["coord1"], p, "who_scale", 5)
    user = trial["inv1"].user
    user.set_password(PASSWORD)
    user.save()
    return {"p": p, "m": m, "loose": loose}


def audit_rows(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


# ------------------------------------------------------------------------------- queries


def test_query_open_answer_close_is_audited(trial: Any, visit: dict[str, Any]) -> None:
    m = visit["m"]
    q = actions.open_query(
        trial["mon1"], "measurement", m.id, "IL-6 of 12 is low: check the lab sheet", field="value"
    )
    assert (q.status, q.table, q.record_id, q.field) == ("open", "measurement", str(m.id), "value")
    assert q.participant_id == visit["p"].id
    (row,) = audit_rows("open_query")
    assert (row.actor, row.table, row.record_id) == ("mon1", "query", str(q.id))
    assert json.loads(row.new)["text"] == "IL-6 of 12 is low: check the lab sheet"

    q = actions.answer_query(trial["coord1"], q.id, "The lab sheet says 12 pg/mL: correct.")
    assert q.status == "answered" and q.answered_by == trial["coord1"]
    (row,) = audit_rows("answer_query")
    assert json.loads(row.old)["status"] == "open" and json.loads(row.new)["status"] == "answered"

    q = actions.close_query(trial["mon1"], q.id)
    assert q.status == "closed" and q.closed_at is not None and q.close_note == ""
    assert len(audit_rows("close_query")) == 1
    assert verify_audit().ok


def test_query_roles_and_sites(trial: Any, visit: dict[str, Any]) -> None:
    m = visit["m"]
    for who in ("coord1", "inv1", "pharm", "dsmb", "admin"):
        with pytest.raises(Forbidden) as info:
            actions.open_query(trial[who], "measurement", m.id, "why?")
        assert field_of(info) == "role"
    q = actions.open_query(trial["dm"], "measurement", m.id, "why?")  # all sites
    for who in ("mon1", "dm", "pharm"):
        with pytest.raises(Forbidden) as info:
            actions.answer_query(trial[who], q.id, "because")
        assert field_of(info) == "role"
    with pytest.raises(NotFound) as info:  # site2's coordinator: as if there were none
        actions.answer_query(trial["coord2"], q.id, "because")
    assert field_of(info) == "query"
    actions.answer_query(trial["inv1"], q.id, "because")
    with pytest.raises(Forbidden) as info:
        actions.close_query(trial["coord1"], q.id)
    assert field_of(info) == "role"
    actions.close_query(trial["mon1"], q.id)  # a monitor closes the data manager's query

    other = randomized(trial, who="coord2", site="site2")
    m2 = actions.record_measurement(trial["coord2"], other, "il6", 30)
    with pytest.raises(NotFound) as info:  # mon1 monitors site1 only: as if there were none
        actions.open_query(trial["mon1"], "measurement", m2.id, "why?")
    assert field_of(info) == "record_id"
    assert Query.objects.count() == 1


def test_query_errors_name_the_field(trial: Any, visit: dict[str, Any]) -> None:
    mon, m = trial["mon1"], visit["m"]
    cases = [
        (("lab_sheet", m.id, "x"), {}, ActionError, "table"),
        (("measurement", "twelve", "x"), {}, ActionError, "record_id"),
        (("measurement", 999999, "x"), {}, NotFound, "record_id"),
        (("measurement", m.id, "   "), {}, ActionError, "text"),
        (("measurement", m.id, "x"), {"field": "colour"}, ActionError, "field"),
    ]
    for args, kwargs, error, field in cases:
        with pytest.raises(error) as info:
            actions.open_query(mon, *args, **kwargs)
        assert field_of(info) == field, (args, kwargs)
    assert "fields:" in message_of(info) and "value" in message_of(info)
    assert Query.objects.count() == 0 and not audit_rows("open_query")

    # The model's name as stored in the audit trail works too; so do the extra tables.
    p = visit["p"]
    ae = actions.report_adverse_event(
        trial["coord1"],
        p,
        term="Fever",
        onset=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        grade=1,
        relatedness="unlikely",
        outcome="recovered",
    )
    q1 = actions.open_query(mon, "adverseevent", ae.id, "onset time?", field="onset")
    assert q1.table == "adverse_event"
    baseline = p.visits.get(visit="baseline")
    assert actions.open_query(mon, "visit", baseline.id, "late?", field="done_at").table == "visit"
    assert actions.open_query(mon, "screening", p.screening.id, "age?", field="values.age")
    assert actions.open_query(mon, "participant", p.id, "weight?", field="weight_kg")

    # The site's answer and the closing.
    with pytest.raises(ActionError) as info:
        actions.answer_query(trial["coord1"], q1.id, "")
    assert field_of(info) == "answer"
    with pytest.raises(NotFound) as info:
        actions.answer_query(trial["coord1"], 424242, "x")
    assert field_of(info) == "query"
    with pytest.raises(ActionError) as info:  # unanswered: closing needs a note
        actions.close_query(mon, q1.id)
    assert field_of(info) == "note"
    actions.close_query(mon, q1.id, note="raised in error")
    with pytest.raises(Conflict) as info:
        actions.close_query(mon, q1.id, note="again")
    assert field_of(info) == "query"
    with pytest.raises(Conflict) as info:
        actions.answer_query(trial["coord1"], q1.id, "late answer")
    assert field_of(info) == "query" and "closed" in message_of(info)


def test_blinded_monitor_cannot_query_dose_fields_of_an_infusion(trial: Any) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10)
    p = randomized(trial, at=start)
    arm = arm_of(p)
    lot = released_lot(trial, arm)
    i = actions.record_infusion(
        trial["pharm"],
        p,
        lot=lot,
        started_at=start.replace(second=0, microsecond=0) + dt.timedelta(hours=3),
        delivered=140e6 if arm == "msc" else 70.0,
    )
    with pytest.raises(ActionError) as info:
        actions.open_query(trial["mon1"], "infusion", i.id, "dose?", field="delivered")
    assert field_of(info) == "field"
    assert "delivered" not in message_of(info).split("fields:")[1]
    q = actions.open_query(trial["mon1"], "infusion", i.id, "start time?", field="started_at")
    assert q.table == "infusion"


# --------------------------------------------------------------------------------- locks


def test_record_lock_blocks_edit_until_unlocked(trial: Any, visit: dict[str, Any]) -> None:
    dm, m, p = trial["dm"], visit["m"], visit["p"]
    lock = actions.lock_record(dm, p.code, table="measurement", record_id=m.id, reason="clean")
    assert (lock.table, lock.record_id, lock.unlocked_at) == ("measurement", str(m.id), None)
    before = AuditEntry.objects.count()
    with pytest.raises(Conflict) as info:
        actions.edit_record(trial["coord1"], "measurement", m.id, {"value": 13}, reason="typo")
    assert field_of(info) == "lock"
    assert f"lock #{lock.id}" in message_of(info) and "dm" in message_of(info)
    assert AuditEntry.objects.count() == before  # nothing written
    m.refresh_from_db()
    assert m.value == "12"
    # Another record of the same participant is not locked.
    actions.edit_record(trial["coord1"], "measurement", visit["loose"].id, {"value": 4}, reason="x")
    with pytest.raises(Conflict) as info:
        actions.lock_record(dm, p, table="measurement", record_id=m.id)
    assert field_of(info) == "lock" and "already locked" in message_of(info)

    with pytest.raises(ActionError) as info:
        actions.unlock_record(dm, lock.id, reason=" ")
    assert field_of(info) == "reason"
    with pytest.raises(Forbidden) as info:
        actions.unlock_record(trial["mon1"], lock.id, reason="x")
    assert field_of(info) == "role"
    lock = actions.unlock_record(dm, lock.id, reason="query from the sponsor")
    assert lock.unlocked_by == dm
    (row,) = audit_rows("unlock_record")
    assert row.reason == "query from the sponsor"
    with pytest.raises(Conflict) as info:
        actions.unlock_record(dm, lock.id, reason="again")
    assert field_of(info) == "lock"
    actions.edit_record(trial["coord1"], "measurement", m.id, {"value": 13}, reason="typo")


def test_participant_lock_blocks_every_record(trial: Any, visit: dict[str, Any]) -> None:
    dm, p = trial["dm"], visit["p"]
    ae = actions.report_adverse_event(
        trial["coord1"],
        p,
        term="Fever",
        onset=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        grade=1,
        relatedness="unlikely",
        outcome="recovered",
    )
    lock = actions.lock_record(dm, p)
    assert lock.table == "" and lock.record_id == ""
    for table, rid, change in (
        ("adverse_event", ae.id, {"grade": 2}),
        ("measurement", visit["loose"].id, {"value": 4}),
    ):
        with pytest.raises(Conflict) as info:
            actions.edit_record(trial["dm"], table, rid, change, reason="x")
        assert field_of(info) == "lock" and "all records of the participant" in message_of(info)
    with pytest.raises(Conflict) as info:  # a record lock under a participant lock
        actions.lock_record(dm, p, table="adverse_event", record_id=ae.id)
    assert field_of(info) == "lock"
    with pytest.raises(Conflict):
        actions.lock_record(dm, p, table="participant", record_id=p.id)
    actions.unlock_record(dm, lock.id, reason="reopened for the SAE follow-up")
    actions.edit_record(trial["dm"], "adverse_event", ae.id, {"grade": 2}, reason="x")


def test_lock_errors_and_clean_before_lock(trial: Any, visit: dict[str, Any]) -> None:
    dm, m, p = trial["dm"], visit["m"], visit["p"]
    other = randomized(trial, who="coord2", site="site2")
    m2 = actions.record_measurement(trial["coord2"], other, "il6", 30)
    cases = [
        ({"table": "", "record_id": m.id}, ActionError, "table"),
        ({"table": "measurement", "record_id": ""}, ActionError, "record_id"),
        ({"table": "measurement", "record_id": m2.id}, ActionError, "record_id"),  # other's
        ({"table": "measurement", "record_id": 99999}, NotFound, "record_id"),
        ({"table": "nonsense", "record_id": 1}, ActionError, "table"),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error) as info:
            actions.lock_record(dm, p, **kwargs)
        assert field_of(info) == field, kwargs
    for who in ("mon1", "coord1", "inv1", "admin"):
        with pytest.raises(Forbidden):
            actions.lock_record(trial[who], p)
    with pytest.raises(NotFound) as info:
        actions.lock_record(dm, "nobody")
    assert field_of(info) == "participant"

    q = actions.open_query(trial["mon1"], "measurement", m.id, "check")
    for kwargs in ({"table": "measurement", "record_id": m.id}, {}):
        with pytest.raises(Conflict) as info:
            actions.lock_record(dm, p, **kwargs)
        assert field_of(info) == "queries" and f"#{q.id}" in message_of(info)
    actions.answer_query(trial["coord1"], q.id, "checked")
    with pytest.raises(Conflict):  # answered, not closed: still not clean
        actions.lock_record(dm, p)
    actions.close_query(trial["mon1"], q.id)
    assert actions.lock_record(dm, p).table == ""
    assert FormLock.objects.count() == 1


# ---------------------------------------------------------------------------- signatures


def test_sign_visit_with_password(trial: Any, visit: dict[str, Any]) -> None:
    inv, p = trial["inv1"], visit["p"]
    before = AuditEntry.objects.count()
    with pytest.raises(ActionError) as info:
        actions.sign_visit(inv, p, "baseline", password="not my password")
    assert field_of(info) == "password" and message_of(info) == "the password is not correct"
    with pytest.raises(ActionError) as info:
        actions.sign_visit(inv, p, "baseline", password="")
    assert field_of(info) == "password" and "re-enter" in message_of(info)
    # each failed attempt is audited (sign_visit_failed), nothing is signed
    assert AuditEntry.objects.count() == before + 2 and not Signature.objects.exists()

    for who in ("coord1", "mon1", "dm", "pharm"):
        with pytest.raises(Forbidden) as info:
            actions.sign_visit(trial[who], p, "baseline", password=PASSWORD)
        assert field_of(info) == "role"
    with pytest.raises(Conflict) as info:  # not done yet
        actions.sign_visit(inv, p, "day7", password=PASSWORD)
    assert field_of(info) == "visit"
    with pytest.raises(NotFound) as info:
        actions.sign_visit(inv, p, "day700", password=PASSWORD)
    assert field_of(info) == "visit"
    with pytest.raises(ActionError) as info:
        actions.sign_visit(inv, p, "baseline", password=PASSWORD, meaning=" ")
    assert field_of(info) == "meaning"

    sig = actions.sign_visit(inv, p, "baseline", password=PASSWORD)
    assert sig.staff == inv and sig.invalidated_at is None
    assert sig.meaning == actions.monitoring.DEFAULT_MEANING
    (row,) = audit_rows("sign_visit")
    assert PASSWORD not in row.new and json.loads(row.new)["visit"] == "baseline"
    with pytest.raises(Conflict) as info:
        actions.sign_visit(inv, p, "baseline", password=PASSWORD)
    assert field_of(info) == "visit" and "signed already by inv1" in message_of(info)
    assert verify_audit().ok


def test_open_query_blocks_signing_answered_does_not(trial: Any, visit: dict[str, Any]) -> None:
    inv, p = trial["inv1"], visit["p"]
    q = actions.open_query(trial["mon1"], "measurement", visit["m"].id, "units?")
    with pytest.raises(Conflict) as info:
        actions.sign_visit(inv, p, "baseline", password=PASSWORD)
    assert field_of(info) == "queries" and f"#{q.id}" in message_of(info)
    # A query on a record that is not of this visit does not block.
    actions.answer_query(inv, q.id, "pg/mL as always")
    actions.open_query(trial["mon1"], "measurement", visit["loose"].id, "which visit?")
    assert actions.sign_visit(inv, p, "baseline", password=PASSWORD).pk


def test_edit_of_a_signed_visit_invalidates_its_signature(
    trial: Any, visit: dict[str, Any]
) -> None:
    inv, p, m = trial["inv1"], visit["p"], visit["m"]
    sig = actions.sign_visit(inv, p, "baseline", password=PASSWORD)
    # An edit of a record of no visit leaves it alone.
    actions.edit_record(trial["coord1"], "measurement", visit["loose"].id, {"value": 4}, reason="x")
    sig.refresh_from_db()
    assert sig.invalidated_at is None

    actions.edit_record(trial["coord1"], "measurement", m.id, {"value": 14}, reason="lab re-run")
    sig.refresh_from_db()
    assert sig.invalidated_at is not None
    assert (
        "lab re-run" in sig.invalidated_reason and f"measurement {m.id}" in sig.invalidated_reason
    )
    edit_row, inv_row = AuditEntry.objects.order_by("-seq")[:2][::-1]
    assert edit_row.action == "edit_record"
    assert (inv_row.action, inv_row.table, inv_row.record_id) == (
        "invalidate_signature",
        "signature",
        str(sig.id),
    )
    assert inv_row.seq == edit_row.seq + 1  # one transaction, chained together
    assert json.loads(inv_row.old)["invalidated_at"] is None

    # Signed again, then the measurement moved off the visit: the old visit's signature goes.
    again = actions.sign_visit(inv, p, "baseline", password=PASSWORD)
    actions.edit_record(
        trial["coord1"], "measurement", m.id, {"visit": "day7"}, reason="wrong visit"
    )
    again.refresh_from_db()
    assert again.invalidated_at is not None
    assert Signature.objects.filter(invalidated_at__isnull=True).count() == 0
    assert verify_audit().ok


def test_refused_edit_keeps_the_signature(trial: Any, visit: dict[str, Any]) -> None:
    sig = actions.sign_visit(trial["inv1"], visit["p"], "baseline", password=PASSWORD)
    with pytest.raises(ActionError):
        actions.edit_record(trial["coord1"], "measurement", visit["m"].id, {"value": 14})
    with pytest.raises(ActionError):  # out of range, not confirmed
        actions.edit_record(
            trial["coord1"], "measurement", visit["m"].id, {"value": 1e9}, reason="x"
        )
    sig.refresh_from_db()
    assert sig.invalidated_at is None


# ------------------------------------------------------------------------------------ API


def test_api_query_cycle_and_errors(trial: Any, visit: dict[str, Any], clients: Any) -> None:
    mon, coord, m = clients["mon1"], clients["coord1"], visit["m"]
    r = mon.call("post", "/queries", {"table": "measurement", "record_id": str(m.id), "text": ""})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"field": "text", "message": "required: the question to the site"}]
    }
    r = coord.call(
        "post", "/queries", {"table": "measurement", "record_id": str(m.id), "text": "?"}
    )
    assert r.status_code == 403 and r.json()["detail"][0]["field"] == "role"
    r = mon.call(
        "post",
        "/queries",
        {"table": "measurement", "record_id": str(m.id), "text": "Units?", "field": "value"},
    )
    assert r.status_code == 200, r.content
    q = r.json()
    assert (q["status"], q["participant"], q["site"], q["opened_by"]) == (
        "open",
        visit["p"].code,
        "site1",
        "mon1",
    )
    n = q["id"]
    assert [x["id"] for x in coord.call("get", "/queries?status=open").json()] == [n]
    assert clients["coord2"].call("get", "/queries").json() == []  # other site
    assert clients["pharm"].call("get", "/queries").status_code == 403
    r = coord.call("get", "/queries?status=pending")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "status"
    r = mon.call("get", f"/queries?table=measurement&record_id={m.id}")
    assert [x["id"] for x in r.json()] == [n]

    r = coord.call("post", f"/queries/{n}/answer", {"answer": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "answer"
    r = coord.call("post", f"/queries/{n}/answer", {"answer": "pg/mL"})
    assert r.status_code == 200 and r.json()["status"] == "answered"
    assert r.json()["answered_by"] == "coord1"
    r = coord.call("post", f"/queries/{n}/answer", {"answer": "again"})
    assert r.status_code == 409 and r.json()["detail"][0]["field"] == "query"
    r = mon.call("post", f"/queries/{n}/close", {})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert mon.call("get", f"/queries/{n}").json()["closed_by"] == "mon1"
    assert mon.call("get", "/queries/99999").status_code == 404
    assert clients["coord2"].call("get", f"/queries/{n}").status_code == 404  # as if none


def test_api_locks_and_signatures(trial: Any, visit: dict[str, Any], clients: Any) -> None:
    dm, p, m = clients["dm"], visit["p"], visit["m"]
    body = {"participant": p.code, "table": "measurement", "record_id": str(m.id)}
    assert clients["mon1"].call("post", "/locks", body).status_code == 403
    r = dm.call("post", "/locks", body)
    assert r.status_code == 200 and r.json()["scope"] == "record" and r.json()["active"]
    lock_id = r.json()["id"]
    r = clients["coord1"].call(
        "patch", f"/records/measurement/{m.id}", {"changes": {"value": 13}, "reason": "typo"}
    )
    assert r.status_code == 409
    assert r.json()["detail"][0]["field"] == "lock"
    assert f"lock #{lock_id}" in r.json()["detail"][0]["message"]
    assert [x["id"] for x in clients["coord1"].call("get", "/locks?active=true").json()] == [
        lock_id
    ]
    r = dm.call("post", f"/locks/{lock_id}/unlock", {"reason": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    r = dm.call("post", f"/locks/{lock_id}/unlock", {"reason": "correction requested"})
    assert r.status_code == 200 and not r.json()["active"]
    assert dm.call("get", "/locks?active=true").json() == []

    inv = clients["inv1"]
    sign = {"participant": p.code, "visit": "baseline", "password": "guess"}
    r = inv.call("post", "/signatures", sign)
    assert r.status_code == 422
    assert r.json()["detail"] == [{"field": "password", "message": "the password is not correct"}]
    assert clients["coord1"].call("post", "/signatures", sign).status_code == 403
    r = inv.call("post", "/signatures", {**sign, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["valid"] and r.json()["signed_by"] == "inv1"
    assert PASSWORD not in r.content.decode()
    r = clients["coord1"].call(
        "patch", f"/records/measurement/{m.id}", {"changes": {"value": 13}, "reason": "typo"}
    )
    assert r.status_code == 200
    (s,) = clients["mon1"].call("get", f"/signatures?participant={p.code}").json()
    assert not s["valid"] and "typo" in s["invalidated_reason"]
    assert clients["mon1"].call("get", "/signatures?valid=true").json() == []


def test_api_record_audit_trail(trial: Any, visit: dict[str, Any], clients: Any) -> None:
    m, p = visit["m"], visit["p"]
    q = actions.open_query(trial["mon1"], "measurement", m.id, "Units?")
    actions.answer_query(trial["coord1"], q.id, "fine")
    actions.close_query(trial["mon1"], q.id)
    actions.edit_record(trial["coord1"], "measurement", m.id, {"value": 15}, reason="lab re-run")
    lock = actions.lock_record(trial["dm"], p, table="measurement", record_id=m.id)
    # Another record's rows are not part of this trail.
    actions.edit_record(trial["coord1"], "measurement", visit["loose"].id, {"value": 4}, reason="x")

    r = clients["mon1"].call("get", f"/audit/record/measurement/{m.id}")
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["table"], out["record_id"], out["participant"]) == (
        "measurement",
        str(m.id),
        p.code,
    )
    got = [(e["action"], e["actor"], e["table"]) for e in out["entries"]]
    assert got == [
        ("record_measurement", "coord1", "measurement"),
        ("open_query", "mon1", "query"),
        ("answer_query", "coord1", "query"),
        ("close_query", "mon1", "query"),
        ("edit_record", "coord1", "measurement"),
        ("lock_record", "dm", "formlock"),
    ]
    edit = out["entries"][4]
    assert edit["reason"] == "lab re-run"
    assert json.loads(edit["old"])["value"] == "12" and json.loads(edit["new"])["value"] == "15"
    assert out["entries"][-1]["record_id"] == str(lock.id)
    seqs = [e["seq"] for e in out["entries"]]
    assert seqs == sorted(seqs)
    # The model's name works as the table too; site staff may not read the trail.
    assert clients["dm"].call("get", f"/audit/record/measurement/{m.id}").json() == out
    assert clients["inv1"].call("get", f"/audit/record/measurement/{m.id}").status_code == 403
    r = clients["mon1"].call("get", f"/audit/record/adverse_event/{m.id}")
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "record_id"
    r = clients["mon1"].call("get", "/audit/record/lab/1")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "table"
    baseline = p.visits.get(visit="baseline")
    actions.sign_visit(trial["inv1"], p, "baseline", password=PASSWORD)
    trail = clients["mon1"].call("get", f"/audit/record/visit/{baseline.id}").json()["entries"]
    assert [e["action"] for e in trail] == ["record_visit", "sign_visit"]

    other = randomized(trial, who="coord2", site="site2")
    m2 = actions.record_measurement(trial["coord2"], other, "il6", 30)
    r = clients["mon1"].call("get", f"/audit/record/measurement/{m2.id}")
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "record_id"


# ------------------------------------------------------------------------------- blinding


#: Keys that carry an arm, a lot or a dose (an infusion's audit row holds the last ones).
ARM_KEYS = {"arm", "lot", "lot_id", "product", "delivered", "intended", "low", "high"}


def _arms_in(payload: Any) -> list[str]:
    """Arm strings and arm-revealing keys anywhere in ``payload``, including inside the JSON
    text of audit rows (``old``, ``new``)."""
    found: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            found.extend(f"key {k}" for k in x if k in ARM_KEYS)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str):
            if x.startswith(("{", "[")):
                with contextlib.suppress(ValueError):  # not JSON: a plain text
                    walk(json.loads(x))
            found.extend(
                a for a in ARM_STRINGS if re.search(rf"\b{re.escape(a)}\b", x, re.IGNORECASE)
            )

    walk(payload)
    return found


def _monitoring_scenario(trial: Any) -> dict[str, Any]:
    """A randomized participant with an infusion, a signed visit, queries and locks about
    both, and an edit; returns the ids the walk needs."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10)
    p = randomized(trial, at=start)
    arm = arm_of(p)
    lot = released_lot(trial, arm)
    i = actions.record_infusion(
        trial["pharm"],
        p,
        lot=lot,
        started_at=start.replace(second=0, microsecond=0) + dt.timedelta(hours=3),
        delivered=140e6 if arm == "msc" else 70.0,
    )
    actions.record_visit(trial["coord1"], p, "baseline", at=start)
    m = actions.record_measurement(trial["coord1"], p, "il6", 12, visit="baseline")
    trial["inv1"].user.set_password(PASSWORD)
    trial["inv1"].user.save()
    actions.sign_visit(trial["inv1"], p, "baseline", password=PASSWORD)
    qi = actions.open_query(trial["mon1"], "infusion", i.id, "Start time?", field="started_at")
    actions.answer_query(trial["inv1"], qi.id, "as recorded")
    actions.close_query(trial["mon1"], qi.id)
    qm = actions.open_query(trial["dm"], "measurement", m.id, "Units?")
    actions.edit_record(trial["coord1"], "measurement", m.id, {"value": 13}, reason="x")
    lock = actions.lock_record(trial["dm"], p, table="infusion", record_id=i.id)
    return {"p": p, "i": i, "m": m, "qi": qi, "qm": qm, "lock": lock, "arm": arm}


def _walk_monitoring(trial: Any, clients: Any, who: str) -> tuple[list[Any], dict[str, int]]:
    ids = _monitoring_scenario(trial)
    p = ids["p"]
    calls = [
        ("get", "/queries", None),
        ("get", f"/queries?participant={p.code}", None),
        ("get", f"/queries/{ids['qi'].id}", None),
        ("get", "/locks", None),
        ("get", "/signatures", None),
        ("get", f"/audit/record/infusion/{ids['i'].id}", None),
        ("get", f"/audit/record/measurement/{ids['m'].id}", None),
        ("get", f"/audit/record/participant/{p.id}", None),
        ("get", f"/audit/record/visit/{p.visits.get(visit='baseline').id}", None),
        ("post", "/queries", {"table": "infusion", "record_id": str(ids["i"].id), "text": "?"}),
        ("post", f"/queries/{ids['qm'].id}/answer", {"answer": "ok"}),
        ("post", f"/queries/{ids['qm'].id}/close", {"note": "ok"}),
        ("post", f"/locks/{ids['lock'].id}/unlock", {"reason": "x"}),
        (
            "post",
            "/locks",
            {"participant": p.code, "table": "infusion", "record_id": str(ids["i"].id)},
        ),
        ("post", "/signatures", {"participant": p.code, "visit": "baseline", "password": PASSWORD}),
    ]
    found = []
    status = {}
    for method, path, body in calls:
        r = clients[who].call(method, path, body)
        assert r.status_code < 500, (method, path, r.content[:300])
        status[f"{method} {path}"] = r.status_code
        leaks = _arms_in(r.json())
        if leaks:
            found.append((method, path, leaks))
    return found, status


@pytest.mark.parametrize("who", ["inv1", "coord1", "mon1", "dm", "admin"])
def test_blinded_roles_get_no_arm_from_monitoring_endpoints(
    trial: Any, clients: Any, who: str
) -> None:
    found, status = _walk_monitoring(trial, clients, who)
    assert found == []
    # Not vacuous: the reads each role is allowed answered.
    reads = {k: v for k, v in status.items() if k.startswith("get /audit")}
    if who in ("mon1", "dm", "admin"):
        assert set(reads.values()) == {200}, reads
    if who != "admin":
        assert status["get /queries"] == status["get /signatures"] == 200


def test_the_monitoring_walk_finds_dose_where_the_trial_is_open_label(
    trial: Any, clients: Any
) -> None:
    """Control: in an open-label trial the monitor sees the infusion's audit rows unredacted,
    and the same walk then finds the dose; so the check above can fail."""
    t = trial["mon1"].trial
    t.blinding = "open"
    t.save()
    found, _ = _walk_monitoring(trial, clients, "mon1")
    assert any(
        "/audit/record/infusion/" in path and "key delivered" in leaks for _, path, leaks in found
    )
