"""Gaps closed in the EDC core: edits of blank or ill-typed values, edits checked by the entry
forms' rules, participant locks that freeze the casebook, throttled and audited signing
attempts, and the audit trail filtered by a monitor's sites.

SQLite, and PostgreSQL with ``DATABASE_URL``. Times are relative to now (the actions refuse
future times), in whole minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.apps import apps
from edc_helpers import As, arm_of, fields, message, randomized, released_lot

from celltrial.edc import actions, throttle
from celltrial.edc.actions import ActionError, Conflict, monitoring
from celltrial.edc.actions import _base as base
from celltrial.edc.actions._base import TooManyAttempts
from celltrial.edc.audit import verify_audit
from celltrial.edc.models import (
    AdverseEvent,
    AuditEntry,
    ClinicalEvent,
    Consent,
    Death,
    Deviation,
    FormLock,
    Measurement,
    Participant,
    Signature,
    VisitRecord,
)

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
PASSWORD = "investigator's own password 42"


def minute(t: dt.datetime) -> dt.datetime:
    return t.replace(second=0, microsecond=0)


def days_ago(n: float) -> dt.datetime:
    return minute(dt.datetime.now(dt.UTC) - dt.timedelta(days=n))


@pytest.fixture
def records(trial: Any) -> dict[str, Any]:
    """A participant of site1 randomized 30 days ago with one record of each editable form."""
    c = trial["coord1"]
    r = days_ago(30)
    p = randomized(trial, at=r)
    m = actions.record_measurement(c, p, "il6", 12, measured_at=r + 2 * HOUR)
    ae = actions.report_adverse_event(
        c,
        p,
        term="Fever",
        onset=r + DAY,
        grade=2,
        relatedness="possible",
        outcome="recovered",
        aware_at=r + 2 * DAY,
    )
    ce = actions.record_clinical_event(c, p, event="extubation", occurred_at=r + 5 * DAY)
    dv = actions.record_deviation(
        c, p, category="minor", description="Visit late", occurred_at=r + 3 * DAY
    )
    consent = Consent.objects.get(participant=p)
    return {
        "p": p,
        "r": r,
        "measurement": m,
        "adverse_event": ae,
        "clinical_event": ce,
        "deviation": dv,
        "consent": consent,
    }


# ------------------------------------------------------------ 1. blank and ill-typed edits

BAD_EDITS = [
    # (table, changes, field, words in the message)
    ("measurement", {"measured_at": None}, "changes.measured_at", "required"),
    ("measurement", {"measured_at": ""}, "changes.measured_at", "required"),
    ("measurement", {"measured_at": "  "}, "changes.measured_at", "required"),
    ("measurement", {"measured_at": 5}, "changes.measured_at", "ISO 8601"),
    ("measurement", {"measured_at": "yesterday"}, "changes.measured_at", "ISO 8601"),
    ("measurement", {"measured_at": "2026-01-01T10:00"}, "changes.measured_at", "time zone"),
    ("measurement", {"value": None}, "changes.value", "required"),
    ("measurement", {"value": [12]}, "changes.value", "a value"),
    ("measurement", {"confirmed": None}, "changes.confirmed", "required"),
    ("measurement", {"confirmed": "yes"}, "changes.confirmed", "true or false"),
    ("measurement", {"complete": "x"}, "changes.complete", "true or false"),
    ("measurement", {"visit": 5}, "changes.visit", "text"),
    ("adverse_event", {"onset": None}, "changes.onset", "required"),
    ("adverse_event", {"onset": ""}, "changes.onset", "required"),
    ("adverse_event", {"onset": 3}, "changes.onset", "ISO 8601"),
    ("adverse_event", {"grade": "x"}, "changes.grade", "whole number"),
    ("adverse_event", {"grade": None}, "changes.grade", "required"),
    ("adverse_event", {"term": 5}, "changes.term", "text"),
    ("adverse_event", {"term": "  "}, "changes.term", "required"),
    ("adverse_event", {"term": "x" * 201}, "changes.term", "at most 200"),
    ("adverse_event", {"decoded_term": 7}, "changes.decoded_term", "text"),
    ("adverse_event", {"serious_criteria": "death"}, "changes.serious_criteria", "list"),
    ("adverse_event", {"serious_criteria": 5}, "changes.serious_criteria", "list"),
    ("adverse_event", {"expected": "maybe"}, "changes.expected", "true, false or null"),
    ("adverse_event", {"relatedness": 5}, "changes.relatedness", "one of"),
    ("clinical_event", {"occurred_at": None}, "changes.occurred_at", "required"),
    ("clinical_event", {"occurred_at": ""}, "changes.occurred_at", "required"),
    ("clinical_event", {"occurred": "maybe"}, "changes.occurred", "true or false"),
    ("clinical_event", {"occurred": None}, "changes.occurred", "required"),
    ("clinical_event", {"term": 5}, "changes.term", "text"),
    ("deviation", {"description": None}, "changes.description", "required"),
    ("deviation", {"description": ""}, "changes.description", "required"),
    ("deviation", {"description": 5}, "changes.description", "text"),
    ("deviation", {"occurred_at": 7}, "changes.occurred_at", "ISO 8601"),
    ("consent", {"version": None}, "changes.version", "required"),
    ("consent", {"version": 5}, "changes.version", "text"),
    ("consent", {"consented_on": None}, "changes.consented_on", "required"),
    ("consent", {"consented_on": ""}, "changes.consented_on", "required"),
    ("consent", {"consented_on": 5}, "changes.consented_on", "a date"),
    ("consent", {"consented_on": "2026-13-01"}, "changes.consented_on", "a date"),
]


def test_api_edit_of_blank_or_ill_typed_values_is_422_naming_the_field(
    trial: Any, records: dict[str, Any], clients: dict[str, As]
) -> None:
    """Reproduced first through PATCH /api/records/…: each of these was a 500 (or, for a
    blank measured_at, silently became now) before the change."""
    coord = clients["coord1"]
    before = AuditEntry.objects.filter(action="edit_record").count()
    for table, changes, field, words in BAD_EDITS:
        row = records[table]
        r = coord.call("patch", f"/records/{table}/{row.pk}", {"changes": changes, "reason": "r"})
        assert r.status_code == 422, (table, changes, r.content)
        (problem,) = r.json()["detail"]
        assert problem["field"] == field, (table, changes, problem)
        assert words in problem["message"], (table, changes, problem)
        if words == "required":
            assert problem["message"].startswith("required"), problem
    # Nothing changed: no edit in the audit trail, the records as entered.
    assert AuditEntry.objects.filter(action="edit_record").count() == before
    m = Measurement.objects.get(pk=records["measurement"].pk)
    assert m.measured_at == records["r"] + 2 * HOUR and m.value == "12" and m.complete


def test_edit_of_a_death_with_blank_values(trial: Any, records: dict[str, Any]) -> None:
    p, r = records["p"], records["r"]
    d = actions.record_death(trial["coord1"], p, died_at=r + 10 * DAY, cause="ARDS")
    for changes, field in (
        ({"died_at": None}, "changes.died_at"),
        ({"died_at": ""}, "changes.died_at"),
        ({"cause": "  "}, "changes.cause"),
        ({"cause": None}, "changes.cause"),
    ):
        with pytest.raises(ActionError) as exc:
            actions.edit_record(trial["dm"], "death", d.pk, changes, reason="r")
        assert fields(exc) == {field} and message(exc).startswith("required")
    with pytest.raises(ActionError) as exc:  # several problems at once, each named
        actions.edit_record(trial["dm"], "death", d.pk, {"died_at": 5, "cause": ""}, reason="r")
    assert fields(exc) == {"changes.died_at", "changes.cause"}


def test_edit_of_a_death_moves_its_disposition(trial: Any, records: dict[str, Any]) -> None:
    """DS (the disposition) and the death record say the same time and cause after an edit."""
    from celltrial.edc.models import Disposition

    p, r = records["p"], records["r"]
    d = actions.record_death(trial["coord1"], p, died_at=r + 10 * DAY, cause="ARDS")
    actions.edit_record(
        trial["dm"], "death", d.pk, {"died_at": r + 9 * DAY, "cause": "Septic shock"}, reason="EHR"
    )
    ds = Disposition.objects.get(participant=p, kind="death")
    assert (ds.at, ds.reason) == (r + 9 * DAY, "Septic shock")
    rows = AuditEntry.objects.filter(action="edit_record", table="disposition")
    assert [(e.record_id, e.reason) for e in rows] == [(str(ds.pk), "EHR")]


def test_optional_fields_may_be_cleared(trial: Any, records: dict[str, Any]) -> None:
    dm = trial["dm"]
    dv = actions.edit_record(
        dm,
        "deviation",
        records["deviation"].pk,
        {"occurred_at": None},
        reason="time unknown after all",
    )
    assert Deviation.objects.get(pk=dv.pk).occurred_at is None
    ae = actions.edit_record(
        dm,
        "adverse_event",
        records["adverse_event"].pk,
        {"expected": None, "decoded_term": None, "serious_criteria": None},
        reason="r",
    )
    ae = AdverseEvent.objects.get(pk=ae.pk)
    assert (ae.expected, ae.decoded_term, ae.serious_criteria) == (None, "", [])
    m = actions.edit_record(
        dm, "measurement", records["measurement"].pk, {"visit": None}, reason="r"
    )
    assert Measurement.objects.get(pk=m.pk).visit == ""
    ce = actions.edit_record(
        dm, "clinical_event", records["clinical_event"].pk, {"term": None}, reason="r"
    )
    assert ClinicalEvent.objects.get(pk=ce.pk).term == ""


# ------------------------------------------------------- 2. edits checked as entries are


def test_clinical_event_time_edit_follows_the_entry_rules(
    trial: Any, records: dict[str, Any]
) -> None:
    dm, coord, p, r = trial["dm"], trial["coord1"], records["p"], records["r"]
    ce = records["clinical_event"]
    cases = [
        ((dt.datetime.now(dt.UTC) + DAY).isoformat(), "is in the future"),
        ((r - HOUR).isoformat(), "before site1-0001's randomization"),
    ]
    for when, words in cases:
        with pytest.raises(ActionError) as exc:
            actions.edit_record(dm, "clinical_event", ce.pk, {"occurred_at": when}, reason="x")
        assert fields(exc) == {"occurred_at"} and words in message(exc), message(exc)
    # The same rule and message as on entry (one function checks both).
    with pytest.raises(ActionError) as entry:
        actions.record_clinical_event(coord, p, event="extubation", occurred_at=r - HOUR)
    with pytest.raises(ActionError) as edit:
        actions.edit_record(dm, "clinical_event", ce.pk, {"occurred_at": r - HOUR}, reason="x")
    assert message(entry) == message(edit)
    # Moving it onto another occurrence of the same event at the same time: 409, as on entry.
    other = actions.record_clinical_event(
        coord, p, event="extubation", occurred_at=r + 7 * DAY, occurred=False
    )
    with pytest.raises(Conflict) as exc:
        actions.edit_record(dm, "clinical_event", ce.pk, {"occurred_at": r + 7 * DAY}, reason="x")
    assert fields(exc) == {"event"} and f"id {other.pk}" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.edit_record(dm, "clinical_event", ce.pk, {"term": "t" * 201}, reason="x")
    assert fields(exc) == {"changes.term"}
    # After the participant left, not past the end of follow-up.
    actions.withdraw(coord, p, reason="moved away", at=r + 10 * DAY)
    with pytest.raises(ActionError) as exc:
        actions.edit_record(dm, "clinical_event", ce.pk, {"occurred_at": r + 12 * DAY}, reason="x")
    assert fields(exc) == {"occurred_at"} and "withdrew" in message(exc)
    # Its own time (no twin of itself) and an earlier one are fine.
    actions.edit_record(dm, "clinical_event", ce.pk, {"occurred_at": r + 5 * DAY}, reason="x")
    moved = actions.edit_record(
        dm, "clinical_event", ce.pk, {"occurred_at": (r + 6 * DAY).isoformat()}, reason="chart"
    )
    assert ClinicalEvent.objects.get(pk=moved.pk).occurred_at == r + 6 * DAY
    assert verify_audit().ok


def test_deviation_edit_follows_the_entry_rules(trial: Any, records: dict[str, Any]) -> None:
    dm, dv = trial["dm"], records["deviation"]
    consent_day = dt.datetime.combine(records["consent"].consented_on, dt.time(), tzinfo=dt.UTC)
    for when, words in (
        (dt.datetime.now(dt.UTC) + DAY, "is in the future"),
        (consent_day - DAY, "before site1-0001's consent or screening"),
    ):
        with pytest.raises(ActionError) as exc:
            actions.edit_record(dm, "deviation", dv.pk, {"occurred_at": when}, reason="x")
        assert fields(exc) == {"occurred_at"} and words in message(exc), message(exc)
    with pytest.raises(ActionError) as exc:
        actions.edit_record(dm, "deviation", dv.pk, {"description": "   "}, reason="x")
    assert fields(exc) == {"changes.description"}
    assert Deviation.objects.get(pk=dv.pk).occurred_at == records["r"] + 3 * DAY


def test_other_forms_keep_their_entry_rules_on_edit(trial: Any, records: dict[str, Any]) -> None:
    dm, coord, p, r = trial["dm"], trial["coord1"], records["p"], records["r"]
    ae = records["adverse_event"]
    future = dt.datetime.now(dt.UTC) + DAY
    with pytest.raises(ActionError) as exc:
        actions.edit_record(dm, "adverse_event", ae.pk, {"onset": future}, reason="x")
    assert fields(exc) == {"onset"} and "future" in message(exc)
    with pytest.raises(ActionError) as exc:  # after the site became aware of it (r + 2 d)
        actions.edit_record(dm, "adverse_event", ae.pk, {"onset": r + 3 * DAY}, reason="x")
    assert fields(exc) == {"onset"} and "awareness cannot precede the onset" in message(exc)
    assert AdverseEvent.objects.get(pk=ae.pk).onset == r + DAY

    m = records["measurement"]
    with pytest.raises(ActionError) as exc:
        actions.edit_record(dm, "measurement", m.pk, {"measured_at": future}, reason="x")
    assert fields(exc) == {"measured_at"}
    actions.record_visit_not_done(coord, p, "day7", reason="ICU transfer")
    with pytest.raises(Conflict) as exc:  # no results for a visit that did not take place
        actions.edit_record(dm, "measurement", m.pk, {"visit": "day7"}, reason="x")
    assert fields(exc) == {"visit"} and "not done" in message(exc)

    with pytest.raises(ActionError) as exc:
        actions.edit_record(
            dm, "consent", records["consent"].pk, {"consented_on": "2999-01-01"}, reason="x"
        )
    assert fields(exc) == {"consented_on"} and "future" in message(exc)
    d = actions.record_death(coord, p, died_at=r + 10 * DAY, cause="ARDS")
    with pytest.raises(ActionError) as exc:
        actions.edit_record(dm, "death", d.pk, {"died_at": future}, reason="x")
    assert fields(exc) == {"died_at"}
    assert Death.objects.get(pk=d.pk).died_at == r + 10 * DAY


# ------------------------------------------------------ 3. a participant lock freezes it


def _entries(trial: Any, p: Participant, r: dt.datetime) -> dict[str, Any]:
    """Every data entry for ``p``, each a call that would otherwise write."""
    c, now = trial["coord1"], dt.datetime.now(dt.UTC)
    return {
        "record_measurement": lambda: actions.record_measurement(c, p, "il6", 14),
        "report_adverse_event": lambda: actions.report_adverse_event(
            c,
            p,
            term="Rash",
            onset=now - HOUR,
            grade=1,
            relatedness="unlikely",
            outcome="recovering",
        ),
        "record_visit": lambda: actions.record_visit(c, p, "day7", at=r + 7 * DAY),
        "record_visit_not_done": lambda: actions.record_visit_not_done(c, p, "day28", reason="ICU"),
        "record_clinical_event": lambda: actions.record_clinical_event(
            c, p, event="extubation", occurred_at=r + 9 * DAY
        ),
        "record_deviation": lambda: actions.record_deviation(
            trial["mon1"], p, category="major", description="Wrong dose"
        ),
        "record_infusion": lambda: actions.record_infusion(
            trial["pharm"], p, lot="LOT-msc", started_at=r + 2 * HOUR, delivered=1.4e8
        ),
        "update_screening": lambda: actions.update_screening(c, p, {"age": 51}, reason="x"),
        "record_consent": lambda: actions.record_consent(c, p, "2.2", now.date()),
        "complete_study": lambda: actions.complete_study(c, p),
        "withdraw": lambda: actions.withdraw(c, p, reason="moved"),
        "mark_lost_to_follow_up": lambda: actions.mark_lost_to_follow_up(
            c, p, last_contact=now - DAY
        ),
        "record_death": lambda: actions.record_death(c, p, died_at=now - HOUR, cause="ARDS"),
        "enroll": lambda: actions.enroll(c, p),
        "randomize_participant": lambda: actions.randomize_participant(c, p),
        "assign_participant": lambda: actions.assign_participant(c, p, arm="msc"),
        "record_medication": lambda: actions.record_medication(
            c, p, medication="Dexamethasone", start_date=r.date(), ongoing=True
        ),
        "record_medical_history": lambda: actions.record_medical_history(
            c, p, term="Hypertension", start_date="2019-03-01", ongoing=True
        ),
    }


def _counts() -> dict[str, int]:
    return {
        m._meta.model_name: m._default_manager.count()
        for m in apps.get_app_config("edc").get_models()
        if m._meta.model_name not in ("auditentry", "audithead")
    } | {"audit": AuditEntry.objects.count()}


def test_participant_lock_refuses_new_data_naming_the_lock(
    trial: Any, records: dict[str, Any]
) -> None:
    dm, p, r = trial["dm"], records["p"], records["r"]
    released_lot(trial, "msc")
    # Records of every kind that can be marked entered in error (issue 15): a visit, an
    # infusion and a disposition besides the forms of ``records``.
    arm = arm_of(p)
    given = actions.record_infusion(
        trial["pharm"],
        p,
        lot=released_lot(trial, arm, "LOT-EIE").number,
        started_at=r + 2 * HOUR,
        delivered=1.4e8 if arm == "msc" else 70.0,
    )
    visit = actions.record_visit(trial["coord1"], p, "baseline", at=r)
    left = actions.withdraw(trial["coord1"], p, reason="moved", at=r + 20 * DAY)
    lock = actions.lock_record(dm, p, reason="database lock")
    before = _counts()
    entries = _entries(trial, p, r)
    in_error = {
        "measurement": (trial["coord1"], records["measurement"].pk),
        "infusion": (trial["pharm"], given.pk),
        "visit": (trial["coord1"], visit.pk),
        "disposition": (trial["coord1"], left.pk),
    }
    refused = {
        f"mark_entered_in_error {table}": (
            lambda who=who, table=table, pk=pk: actions.mark_entered_in_error(
                who, table, pk, reason="duplicate"
            )
        )
        for table, (who, pk) in in_error.items()
    }
    for name, enter in {**entries, **refused}.items():
        with pytest.raises(Conflict) as exc:
            enter()
        assert fields(exc) == {"lock"}, name
        text = message(exc)
        assert f"lock #{lock.pk}" in text and "by dm at " in text, (name, text)
        assert f"{lock.locked_at:%Y-%m-%d %H:%M} UTC" in text and "database lock" in text
        assert "a data manager unlocks" in text
    assert _counts() == before  # nothing written
    # Every action that looks its participant up is either refused above or exempt.
    assert set(entries) | {"mark_entered_in_error"} | base.FROZEN_EXEMPT == (_participant_actions())

    # Unlocked, the same entries go through again (a few of them).
    actions.unlock_record(dm, lock.pk, reason="late lab result")
    refused["mark_entered_in_error disposition"]()  # follow-up open again
    entries["record_measurement"]()
    entries["record_clinical_event"]()
    assert Measurement.objects.filter(participant=p).count() == 2


def test_what_a_participant_lock_does_not_stop(trial: Any, records: dict[str, Any]) -> None:
    dm, inv, p = trial["dm"], trial["inv1"], records["p"]
    user = inv.user
    user.set_password(PASSWORD)
    user.save()
    actions.record_visit(trial["coord1"], p, "baseline", at=records["r"])
    serious = actions.report_adverse_event(
        trial["coord1"],
        p,
        term="Hypoxia",
        onset=records["r"] + 4 * DAY,
        grade=4,
        relatedness="possible",
        outcome="recovered",
        aware_at=records["r"] + 4 * DAY,
        serious_criteria=["life_threatening"],
    )
    lock = actions.lock_record(dm, p, reason="interim analysis")
    # Safety and attestation go on: the SAE report, emergency unblinding, the signature.
    assert actions.report_sae(trial["coord1"], serious.pk).sae_reported_at is not None
    assert actions.unblind(inv, p, "anaphylaxis: treating physician needs the arm").pk
    assert actions.sign_visit(inv, p, "baseline", password=PASSWORD).pk
    # Queries may be raised and answered; locks and edits say what they always said.
    q = actions.open_query(trial["mon1"], "measurement", records["measurement"].pk, "Units?")
    actions.answer_query(trial["coord1"], q.pk, "pg/mL")
    with pytest.raises(Conflict) as exc:
        actions.lock_record(dm, p, table="measurement", record_id=records["measurement"].pk)
    assert "already locked" in message(exc)
    with pytest.raises(Conflict) as exc:
        actions.edit_record(dm, "measurement", records["measurement"].pk, {"value": 13}, reason="x")
    assert fields(exc) == {"lock"} and "all records of the participant" in message(exc)
    actions.unlock_record(dm, lock.pk, reason="done")
    # A lock of one record does not freeze the participant; a lifted lock freezes nothing.
    actions.close_query(trial["mon1"], q.pk)
    actions.lock_record(dm, p, table="measurement", record_id=records["measurement"].pk)
    actions.record_measurement(trial["coord1"], p, "il6", 15)
    # Another participant is not affected by this one's lock.
    other = randomized(trial, who="coord1")
    actions.lock_record(dm, p, reason="again")
    actions.record_measurement(trial["coord1"], other, "il6", 16)
    assert FormLock.objects.filter(unlocked_at__isnull=True).count() == 2


def test_api_new_record_for_a_locked_participant_is_409(
    trial: Any, records: dict[str, Any], clients: dict[str, As]
) -> None:
    p = records["p"]
    r = clients["dm"].call("post", "/locks", {"participant": p.code, "reason": "freeze"})
    assert r.status_code == 200
    r = clients["coord1"].call(
        "post", f"/participants/{p.code}/measurements", {"code": "il6", "value": 20}
    )
    assert r.status_code == 409
    (problem,) = r.json()["detail"]
    assert problem["field"] == "lock" and "by dm at" in problem["message"]


def _all_actions() -> list[Any]:
    return [getattr(actions, n) for n in actions.__all__ if hasattr(getattr(actions, n), "roles")]


def _participant_actions() -> set[str]:
    """Actions whose code finds a participant with participant_for (so a lock may stop them)."""
    import inspect

    return {f.action_name for f in _all_actions() if "participant_for(" in inspect.getsource(f)}


def test_the_exemptions_name_real_actions() -> None:
    names = {f.action_name for f in _all_actions()}
    assert names >= base.FROZEN_EXEMPT
    assert _participant_actions() >= base.FROZEN_EXEMPT


# ------------------------------------------------- 4. signing attempts: audited, throttled


@pytest.fixture
def own_cache(settings: Any) -> None:
    """A cache of this test's own (the file cache is shared by every test process)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"edc-gaps-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def done_visit(trial: Any, own_cache: None) -> dict[str, Any]:
    p = randomized(trial)
    actions.record_visit(trial["coord1"], p, "baseline")
    user = trial["inv1"].user
    user.set_password(PASSWORD)
    user.save()
    return {"p": p, "v": VisitRecord.objects.get(participant=p, visit="baseline")}


def failed_rows() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="sign_visit_failed").order_by("seq"))


def test_failed_signing_is_audited_and_paused_after_five(
    trial: Any, done_visit: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    inv, p, v = trial["inv1"], done_visit["p"], done_visit["v"]
    clock = [1_000_000.0]
    monkeypatch.setattr(throttle, "clock", lambda: clock[0])
    seen = []
    for attempt in range(5):
        clock[0] += 60
        with pytest.raises(ActionError) as exc:
            actions.sign_visit(inv, p, "baseline", password="" if attempt == 1 else "guess")
        assert type(exc.value) is ActionError and fields(exc) == {"password"}
        seen.append(message(exc))
    assert seen[0] == "the password is not correct"
    assert seen[1] == "re-enter your password to sign"
    assert seen[2] == (
        "the password is not correct (2 attempts left before signing pauses for 15 minutes)"
    )
    assert seen[3] == (
        "the password is not correct (1 attempt left before signing pauses for 15 minutes)"
    )
    assert seen[4] == "the password is not correct; signing pauses for 15 minutes"
    # The sixth attempt, even with the right password, is refused while paused (429).
    clock[0] += 60
    with pytest.raises(TooManyAttempts) as paused:
        actions.sign_visit(inv, p, "baseline", password=PASSWORD)
    assert paused.value.status == 429 and fields(paused) == {"password"}
    assert "too many failed signing attempts for inv1" in message(paused)
    assert "try again in 10 minutes" in message(paused)  # the first failure is 5 min old
    assert not Signature.objects.exists()
    # Each attempt is in the audit trail, on the visit, chained; never the password.
    rows = failed_rows()
    assert len(rows) == 6
    assert {(e.actor, e.role, e.table, e.record_id) for e in rows} == {
        ("inv1", "investigator", "visitrecord", str(v.pk))
    }
    assert [e.reason for e in rows] == [
        "wrong password",
        "no password",
        "wrong password",
        "wrong password",
        "wrong password",
        "refused: signing paused after repeated wrong passwords",
    ]
    assert [json.loads(e.new)["failures"] for e in rows] == [1, 2, 3, 4, 5, 5]
    assert json.loads(rows[0].new)["visit"] == "baseline"
    assert all("guess" not in e.new + e.reason and PASSWORD not in e.new for e in rows)
    assert verify_audit().ok
    # Shown in the visit's own audit trail.
    _, trail = monitoring.record_audit(trial["mon1"], "visit", v.pk)
    assert sum(e.action == "sign_visit_failed" for e in trail) == 6
    # 15 minutes after the first failure one attempt is allowed again; success resets.
    clock[0] += 10 * 60
    sig = actions.sign_visit(inv, p, "baseline", password=PASSWORD)
    assert sig.pk and monitoring.sign_failures(inv) == []


def test_the_pause_is_per_user(trial: Any, done_visit: dict[str, Any]) -> None:
    inv, p = trial["inv1"], done_visit["p"]
    other = actions.add_staff(trial.admin, "inv2", "investigator", ["site1"], full_name="Ines Two")
    other.user.set_password(PASSWORD)
    other.user.save()
    for _ in range(5):
        with pytest.raises(ActionError):
            actions.sign_visit(inv, p, "baseline", password="guess")
    with pytest.raises(TooManyAttempts):
        actions.sign_visit(inv, p, "baseline", password=PASSWORD)
    assert actions.sign_visit(other, p, "baseline", password=PASSWORD).staff == other


def test_api_signing_pause_is_429(
    trial: Any, done_visit: dict[str, Any], clients: dict[str, As]
) -> None:
    inv, p = clients["inv1"], done_visit["p"]
    body = {"participant": p.code, "visit": "baseline", "password": "guess"}
    codes = [inv.call("post", "/signatures", body).status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]
    r = inv.call("post", "/signatures", {**body, "password": PASSWORD})
    assert r.status_code == 429 and r.json()["detail"][0]["field"] == "password"
    assert len(failed_rows()) == 7


@pytest.mark.django_db(transaction=True)
def test_the_failed_attempt_survives_the_rollback(trial: Any, done_visit: dict[str, Any]) -> None:
    """With real commits (no test transaction around it): the refused action is rolled back,
    the audit row of the attempt is committed in a transaction of its own."""
    from django.db import connection

    inv, p = trial["inv1"], done_visit["p"]
    assert connection.get_autocommit()
    head = AuditEntry.objects.order_by("-seq").first()
    assert head is not None
    with pytest.raises(ActionError):
        actions.sign_visit(inv, p, "baseline", password="guess")
    (row,) = failed_rows()
    assert row.seq == head.seq + 1 and row.prev_hash == head.hash
    assert not Signature.objects.exists()
    assert verify_audit().ok


# -------------------------------------------------------- 5. the audit trail by site


def _site_of_row(e: AuditEntry) -> str | None:
    """The site code of the participant an audit row is about (None: not about one),
    found in Python, record by record."""
    model = next(
        (m for m in apps.get_app_config("edc").get_models() if m._meta.model_name == e.table),
        None,
    )
    if model is None:
        return None
    obj = model._default_manager.filter(pk=e.record_id).first()
    if obj is None:
        return None
    if isinstance(obj, Participant):
        return obj.site.code
    if isinstance(obj, Signature):
        return obj.visit.participant.site.code
    p = getattr(obj, "participant", None)
    return p.site.code if isinstance(p, Participant) else None


@pytest.fixture
def two_sites(trial: Any) -> dict[str, Any]:
    """Records, queries and locks at site1 and site2."""
    out = {}
    for who, site in (("coord1", "site1"), ("coord2", "site2")):
        p = randomized(trial, who=who, site=site)
        m = actions.record_measurement(trial[who], p, "il6", 12)
        actions.edit_record(trial[who], "measurement", m.pk, {"value": 13}, reason="typo")
        q = actions.open_query(trial["dm"], "measurement", m.pk, "Units?")
        actions.close_query(trial["dm"], q.pk, note="raised in error")
        lock = actions.lock_record(trial["dm"], p, reason="clean")
        actions.unlock_record(trial["dm"], lock.pk, reason="reopened")
        out[site] = p
    return out


def test_a_monitor_reads_the_audit_rows_of_their_sites_only(
    trial: Any, two_sites: dict[str, Any]
) -> None:
    every = list(AuditEntry.objects.order_by("seq"))
    sites = {e.seq: _site_of_row(e) for e in every}
    assert {"site1", "site2", None} <= set(sites.values())
    seen = monitoring.audit_visible_to(trial["mon1"], AuditEntry.objects.all())
    assert [e.seq for e in seen.order_by("seq")] == [s for s, c in sites.items() if c == "site1"]
    # Filters and limits of GET /audit compose with it.
    some = monitoring.audit_visible_to(trial["mon1"], AuditEntry.objects.filter(table="query"))
    assert some.count() == 2 and {_site_of_row(e) for e in some} == {"site1"}  # open, close
    # Who sees every site sees every row.
    for who in ("dm", "admin", "dsmb"):
        assert monitoring.audit_visible_to(trial[who], AuditEntry.objects.all()).count() == len(
            every
        )
    everywhere = actions.add_staff(
        trial.admin, "mon_all", "monitor", [], all_sites=True, full_name="Mo All"
    )
    total = AuditEntry.objects.count()  # adding staff is audited too
    assert monitoring.audit_visible_to(everywhere, AuditEntry.objects.all()).count() == total
    two = actions.add_staff(
        trial.admin, "mon12", "monitor", ["site1", "site2"], full_name="Mo Twelve"
    )
    assert {
        _site_of_row(e) for e in monitoring.audit_visible_to(two, AuditEntry.objects.all())
    } == {
        "site1",
        "site2",
    }


def test_api_audit_of_a_monitor_holds_their_sites_only(
    trial: Any, two_sites: dict[str, Any], clients: dict[str, As]
) -> None:
    rows = clients["mon1"].call("get", "/audit?limit=1000").json()
    by_seq = {e.seq: e for e in AuditEntry.objects.all()}
    assert rows and {_site_of_row(by_seq[r["seq"]]) for r in rows} == {"site1"}
