"""Follow-up forms: completion, clinical events, deviations, visits not done — the actions,
their API, and what the export makes of them.

Times are relative to now (the actions refuse future times), whole minutes (the calendar keeps
randomization to the minute). The test protocol (``data/edctest2027.yaml``) has the events
``death``, ``extubation`` and ``sae`` and the visits screening, baseline (0 h, [-6 h, +2 h]),
day7 ([-1 d, +1 d]), day28 ([-2 d, +2 d]) and day90 ([-7 d, +7 d], the last) from
randomization.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from edc_helpers import ARM_STRINGS, ELIGIBLE, arm_of, fields, message, randomized

from celltrial.edc import actions
from celltrial.edc.actions import ActionError, Conflict, Forbidden, NotFound
from celltrial.edc.models import (
    AuditEntry,
    ClinicalEvent,
    Deviation,
    Disposition,
    Participant,
    VisitRecord,
)

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def minute(t: dt.datetime) -> dt.datetime:
    return t.replace(second=0, microsecond=0)


def days_ago(n: float) -> dt.datetime:
    return minute(dt.datetime.now(dt.UTC) - dt.timedelta(days=n))


def stamp(t: dt.datetime) -> str:
    """How the export writes a time (ISO 8601, UTC, seconds)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit_rows(action: str) -> list[dict[str, Any]]:
    return [
        {"table": e.table, "record_id": e.record_id, "new": json.loads(e.new), "reason": e.reason}
        for e in AuditEntry.objects.filter(action=action).order_by("seq")
    ]


@pytest.fixture
def followed(trial) -> tuple[Any, dt.datetime]:
    """A participant randomized 100 days ago (every window of the schedule has opened)."""
    at = days_ago(100)
    return randomized(trial, at=at), at


# ------------------------------------------------------------------------------ completion


def test_complete_study_ends_follow_up(trial, followed):
    p, r = followed
    at = r + 85 * DAY  # day90's window opens at day 83
    d = actions.complete_study(trial["coord1"], p, at=at)
    p.refresh_from_db()
    assert (d.kind, d.at, p.status) == ("completed", at, "completed")
    assert Disposition.objects.filter(participant=p).count() == 1
    [row] = audit_rows("complete_study")
    assert row["table"] == "disposition" and row["record_id"] == str(d.pk)
    assert row["new"]["kind"] == "completed" and row["new"]["status"] == "completed"
    # Follow-up is over: no second completion, no withdrawal, no death afterwards.
    with pytest.raises(Conflict) as exc:
        actions.complete_study(trial["coord1"], p, at=at)
    assert fields(exc) == {"participant"} and "completed" in message(exc)
    with pytest.raises(Conflict):
        actions.withdraw(trial["coord1"], p, reason="moved")
    with pytest.raises(Conflict):
        actions.record_death(trial["inv1"], p, died_at=at + DAY, cause="ARDS")


def test_complete_study_refuses_before_the_last_visit_or_in_the_future(trial, followed):
    p, r = followed
    with pytest.raises(ActionError) as exc:
        actions.complete_study(trial["coord1"], p, at=r + 80 * DAY)
    assert fields(exc) == {"at"}
    assert "day90 (Day 90)" in message(exc) and stamp(r + 83 * DAY)[:16] in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.complete_study(trial["coord1"], p, at=dt.datetime.now(dt.UTC) + DAY)
    assert fields(exc) == {"at"} and "future" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.complete_study(trial["coord1"], p, at=dt.datetime(2025, 1, 1))
    assert fields(exc) == {"at"} and "zone" in message(exc)
    # Recently randomized: completing now is before day90 opens.
    q = randomized(trial, at=days_ago(10))
    with pytest.raises(ActionError) as exc:
        actions.complete_study(trial["coord1"], q)
    assert fields(exc) == {"at"}
    p.refresh_from_db()
    assert p.status == "randomized" and not Disposition.objects.exists()
    assert audit_rows("complete_study") == []


def test_complete_study_needs_a_randomized_participant(trial):
    s = trial["coord1"]
    p = actions.screen_participant(s, "site1", ELIGIBLE)
    actions.record_consent(s, p, "2.1", dt.date(2025, 1, 5))
    actions.enroll(s, p)
    with pytest.raises(Conflict) as exc:
        actions.complete_study(s, p)
    assert fields(exc) == {"participant"} and "enrolled" in message(exc)
    q = randomized(trial, at=days_ago(100))
    actions.record_death(trial["inv1"], q, died_at=days_ago(95), cause="ARDS")
    with pytest.raises(Conflict) as exc:
        actions.complete_study(s, q)
    assert fields(exc) == {"participant"} and "dead" in message(exc)
    with pytest.raises(NotFound) as exc:
        actions.complete_study(s, "site1-9999")
    assert fields(exc) == {"participant"}


@pytest.mark.parametrize("who", ["pharm", "mon1", "dm", "dsmb", "admin"])
def test_complete_study_roles(trial, followed, who):
    p, r = followed
    with pytest.raises(Forbidden) as exc:
        actions.complete_study(trial[who], p, at=r + 85 * DAY)
    assert fields(exc) == {"role"}
    assert Participant.objects.get(pk=p.pk).status == "randomized"


def test_complete_study_other_site_and_investigator(trial, followed):
    p, r = followed
    with pytest.raises(NotFound) as exc:  # another site's participant: as if none
        actions.complete_study(trial["coord2"], p, at=r + 85 * DAY)
    assert fields(exc) == {"participant"}
    assert actions.complete_study(trial["inv1"], p, at=r + 85 * DAY).kind == "completed"


def test_complete_study_idempotency(trial, followed):
    p, r = followed
    first = actions.complete_study(trial["coord1"], p, at=r + 85 * DAY, idempotency_key="k1")
    again = actions.complete_study(trial["coord1"], p, at=r + 86 * DAY, idempotency_key="k1")
    assert again.pk == first.pk and again.at == r + 85 * DAY
    assert Disposition.objects.count() == 1 and len(audit_rows("complete_study")) == 1
    with pytest.raises(Conflict) as exc:
        actions.record_deviation(
            trial["coord1"], p, category="minor", description="x", idempotency_key="k1"
        )
    assert fields(exc) == {"idempotency_key"}


# -------------------------------------------------------------------------- clinical events


def test_record_clinical_event(trial, followed):
    p, r = followed
    e = actions.record_clinical_event(
        trial["coord1"], p, event="extubation", occurred_at=r + 5 * DAY, term="Extubated"
    )
    assert (e.event, e.term, e.occurred_at, e.occurred) == (
        "extubation",
        "Extubated",
        r + 5 * DAY,
        True,
    )
    [row] = audit_rows("record_clinical_event")
    assert row["table"] == "clinicalevent" and row["record_id"] == str(e.pk)
    assert row["new"]["event"] == "extubation" and row["new"]["occurred"] is True
    # Asked and did not occur (CEOCCUR N), by the investigator, at another time.
    no = actions.record_clinical_event(
        trial["inv1"], p, event="extubation", occurred_at=r + 3 * DAY, occurred=False
    )
    assert no.occurred is False and no.term == ""


def test_clinical_event_codes(trial, followed):
    p, r = followed
    s = trial["coord1"]
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(s, p, event="recovery", occurred_at=r + DAY)
    assert fields(exc) == {"event"}
    assert "'recovery' is not an event of protocol edctest2027" in message(exc)
    assert "extubation" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(s, p, event="death", occurred_at=r + DAY)
    assert fields(exc) == {"event"} and "record_death" in message(exc)
    assert f"/participants/{p.code}/death" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(s, p, event="sae", occurred_at=r + DAY)
    assert fields(exc) == {"event"} and "report_adverse_event" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(s, p, event="extubation", occurred_at=r + DAY, term="x" * 201)
    assert fields(exc) == {"term"}
    assert not ClinicalEvent.objects.exists()


def test_clinical_event_times(trial, followed):
    p, r = followed
    s = trial["coord1"]
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(s, p, event="extubation", occurred_at=r - HOUR)
    assert fields(exc) == {"occurred_at"} and "before" in message(exc)
    assert "randomization" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(
            s, p, event="extubation", occurred_at=dt.datetime.now(dt.UTC) + DAY
        )
    assert fields(exc) == {"occurred_at"} and "future" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(
            s, p, event="extubation", occurred_at=dt.datetime(2025, 3, 1, 10)
        )
    assert fields(exc) == {"occurred_at"} and "zone" in message(exc)
    # At randomization exactly is allowed.
    assert actions.record_clinical_event(s, p, event="extubation", occurred_at=r).pk


def test_clinical_event_duplicate_is_a_conflict(trial, followed):
    p, r = followed
    s = trial["coord1"]
    first = actions.record_clinical_event(s, p, event="extubation", occurred_at=r + 2 * DAY)
    with pytest.raises(Conflict) as exc:
        actions.record_clinical_event(s, p, event="extubation", occurred_at=r + 2 * DAY)
    assert fields(exc) == {"event"} and f"id {first.pk}" in message(exc)
    # The same event at another time is another occurrence.
    actions.record_clinical_event(s, p, event="extubation", occurred_at=r + 9 * DAY)
    assert ClinicalEvent.objects.count() == 2
    # Replayed with its key: the first row, nothing written.
    k = actions.record_clinical_event(
        s, p, event="extubation", occurred_at=r + 20 * DAY, idempotency_key="ce-1"
    )
    again = actions.record_clinical_event(
        s, p, event="extubation", occurred_at=r + 20 * DAY, idempotency_key="ce-1"
    )
    assert again.pk == k.pk and ClinicalEvent.objects.count() == 3
    assert len(audit_rows("record_clinical_event")) == 3


def test_clinical_event_after_leaving(trial, followed):
    p, r = followed
    s = trial["coord1"]
    actions.record_death(trial["inv1"], p, died_at=r + 10 * DAY, cause="ARDS")
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(s, p, event="extubation", occurred_at=r + 12 * DAY)
    assert fields(exc) == {"occurred_at"}
    assert "died at" in message(exc) and "events up to then still can" in message(exc)
    # An event before the death, entered late, is accepted.
    assert actions.record_clinical_event(s, p, event="extubation", occurred_at=r + 8 * DAY).pk
    # Withdrawn: the same rule with the withdrawal time.
    q = randomized(trial, at=days_ago(50))
    actions.withdraw(s, q, reason="moved", at=days_ago(40))
    with pytest.raises(ActionError) as exc:
        actions.record_clinical_event(s, q, event="extubation", occurred_at=days_ago(30))
    assert fields(exc) == {"occurred_at"} and "withdrew" in message(exc)


def test_clinical_event_needs_randomization_and_role(trial, followed):
    s = trial["coord1"]
    p = actions.screen_participant(s, "site1", ELIGIBLE)
    with pytest.raises(Conflict) as exc:
        actions.record_clinical_event(s, p, event="extubation", occurred_at=days_ago(1))
    assert fields(exc) == {"participant"} and "not randomized" in message(exc)
    q, r = followed
    for who in ("pharm", "mon1", "dm", "dsmb", "admin"):
        with pytest.raises(Forbidden) as exc:
            actions.record_clinical_event(trial[who], q, event="extubation", occurred_at=r + DAY)
        assert fields(exc) == {"role"}, who
    with pytest.raises(NotFound) as exc:  # another site's participant: as if none
        actions.record_clinical_event(trial["coord2"], q, event="extubation", occurred_at=r + DAY)
    assert fields(exc) == {"participant"}
    assert not ClinicalEvent.objects.exists()


# ------------------------------------------------------------------------------ deviations


def test_record_deviation_by_site_and_monitor(trial, followed):
    p, r = followed
    d = actions.record_deviation(
        trial["coord1"],
        p,
        category="major",
        description="Eligibility not verified before randomization",
        occurred_at=r - HOUR,
    )
    assert (d.category, d.occurred_at) == ("major", r - HOUR)
    m = actions.record_deviation(trial["mon1"], p, category="MINOR", description=" Late visit ")
    assert (m.category, m.description, m.occurred_at) == ("minor", "Late visit", None)
    rows = audit_rows("record_deviation")
    assert [x["new"]["category"] for x in rows] == ["major", "minor"]
    assert [x["table"] for x in rows] == ["deviation", "deviation"]
    # Deviations are often found after the fact: a participant who left may still get one.
    actions.record_death(trial["inv1"], p, died_at=r + 3 * DAY, cause="ARDS")
    assert actions.record_deviation(trial["mon1"], p, category="minor", description="x").pk


def test_deviation_errors(trial, followed):
    p, _ = followed
    s = trial["coord1"]
    with pytest.raises(ActionError) as exc:
        actions.record_deviation(s, p, category="serious", description="x")
    assert fields(exc) == {"category"} and "major, minor" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.record_deviation(s, p, category="minor", description="  ")
    assert fields(exc) == {"description"}
    with pytest.raises(ActionError) as exc:
        actions.record_deviation(
            s, p, category="minor", description="x", occurred_at=dt.datetime.now(dt.UTC) + DAY
        )
    assert fields(exc) == {"occurred_at"} and "future" in message(exc)
    # Consent was on 2025-01-05 (edc_helpers.randomized).
    with pytest.raises(ActionError) as exc:
        actions.record_deviation(
            s,
            p,
            category="minor",
            description="x",
            occurred_at=dt.datetime(2024, 12, 1, tzinfo=dt.UTC),
        )
    assert fields(exc) == {"occurred_at"} and "2025-01-05T00:00Z" in message(exc)
    assert not Deviation.objects.exists()


@pytest.mark.parametrize("who", ["pharm", "dm", "dsmb", "admin"])
def test_deviation_roles(trial, followed, who):
    p, _ = followed
    with pytest.raises(Forbidden) as exc:
        actions.record_deviation(trial[who], p, category="minor", description="x")
    assert fields(exc) == {"role"}


def test_monitor_of_another_site_may_not_record_a_deviation(trial):
    p = randomized(trial, who="coord2", site="site2", at=days_ago(5))
    with pytest.raises(NotFound) as exc:  # another site's participant: as if none
        actions.record_deviation(trial["mon1"], p, category="minor", description="x")
    assert fields(exc) == {"participant"}


# -------------------------------------------------------------------------- visits not done


def test_record_visit_not_done(trial, followed):
    p, _ = followed
    v = actions.record_visit_not_done(trial["coord1"], p, "day7", reason=" In another hospital ")
    assert (v.visit, v.not_done, v.not_done_reason, v.done_at) == (
        "day7",
        True,
        "In another hospital",
        None,
    )
    [row] = audit_rows("record_visit_not_done")
    assert row["table"] == "visitrecord" and row["reason"] == "In another hospital"
    assert row["new"]["not_done"] is True
    with pytest.raises(Conflict) as exc:
        actions.record_visit_not_done(trial["coord1"], p, "day7", reason="again")
    assert fields(exc) == {"visit"} and "already" in message(exc)
    # Idempotent replay with a key: same row, no new audit row.
    a = actions.record_visit_not_done(trial["coord1"], p, "day28", reason="x", idempotency_key="n")
    b = actions.record_visit_not_done(trial["coord1"], p, "day28", reason="x", idempotency_key="n")
    assert a.pk == b.pk and len(audit_rows("record_visit_not_done")) == 2


def test_visit_not_done_refusals(trial, followed):
    p, r = followed
    s = trial["coord1"]
    actions.record_visit(s, p, "day7", at=r + 7 * DAY)
    with pytest.raises(Conflict) as exc:
        actions.record_visit_not_done(s, p, "day7", reason="x")
    assert fields(exc) == {"visit"} and "was done" in message(exc)
    actions.record_measurement(s, p, "who_scale", "4", visit="day28", measured_at=r + 28 * DAY)
    with pytest.raises(Conflict) as exc:
        actions.record_visit_not_done(s, p, "day28", reason="x")
    assert fields(exc) == {"visit"} and "1 measurement(s)" in message(exc)
    with pytest.raises(NotFound) as exc:
        actions.record_visit_not_done(s, p, "day8", reason="x")
    assert fields(exc) == {"visit"} and "day90" in message(exc)
    with pytest.raises(ActionError) as exc:
        actions.record_visit_not_done(s, p, "day90", reason=" ")
    assert fields(exc) == {"reason"}
    # Not due yet.
    q = randomized(trial, at=days_ago(2))
    with pytest.raises(Conflict) as exc:
        actions.record_visit_not_done(s, q, "day90", reason="x")
    assert fields(exc) == {"visit"} and "due" in message(exc)
    # After death a later visit is not "missed".
    actions.record_death(trial["inv1"], p, died_at=r + 40 * DAY, cause="ARDS")
    with pytest.raises(Conflict) as exc:
        actions.record_visit_not_done(s, p, "day90", reason="x")
    assert fields(exc) == {"visit"} and "not a missed visit" in message(exc)
    assert not VisitRecord.objects.filter(not_done=True).exists()
    for who in ("pharm", "mon1", "dm", "dsmb", "admin"):
        with pytest.raises(Forbidden) as exc:
            actions.record_visit_not_done(trial[who], q, "baseline", reason="x")
        assert fields(exc) == {"role"}, who


def test_a_visit_marked_not_done_takes_no_results(trial, followed):
    p, r = followed
    s = trial["coord1"]
    actions.record_visit_not_done(s, p, "day7", reason="transferred")
    with pytest.raises(Conflict) as exc:
        actions.record_visit(s, p, "day7", at=r + 7 * DAY)
    assert fields(exc) == {"visit"} and "marked not done (transferred)" in message(exc)
    with pytest.raises(Conflict) as exc:
        actions.record_measurement(s, p, "who_scale", "4", visit="day7", measured_at=r + 7 * DAY)
    assert fields(exc) == {"visit"} and "marked not done" in message(exc)
    # Other visits are unaffected.
    actions.record_measurement(s, p, "who_scale", "4", visit="day28", measured_at=r + 28 * DAY)


# ---------------------------------------------------------------------------------- edits


def test_edit_clinical_event_and_deviation(trial, followed):
    p, r = followed
    e = actions.record_clinical_event(
        trial["coord1"], p, event="extubation", occurred_at=r + 5 * DAY
    )
    changed = actions.edit_record(
        trial["dm"],
        "clinical_event",
        e.pk,
        {"occurred_at": (r + 6 * DAY).isoformat()},
        reason="source: ICU chart",
    )
    assert changed.occurred_at == r + 6 * DAY
    d = actions.record_deviation(trial["coord1"], p, category="minor", description="x")
    with pytest.raises(ActionError) as exc:
        actions.edit_record(trial["dm"], "deviation", d.pk, {"category": "major"}, reason="r")
    assert fields(exc) == {"changes.category"}
    actions.edit_record(trial["dm"], "deviation", d.pk, {"description": "y"}, reason="typo")
    assert Deviation.objects.get().description == "y"


# --------------------------------------------------------------------------------- export


def test_export_rows_of_follow_up(trial, tmp_path):
    """DS COMPLETED, CE, DV and NOT DONE findings rows, against rows written by hand."""
    from celltrial.dataset import (
        check_dataset,
        derive_adsl,
        derive_adtte,
        errors,
        read_dataset,
    )
    from celltrial.edc.export import export_dataset, tables

    s = trial["coord1"]
    r = days_ago(100)
    p = randomized(trial, at=r)
    actions.record_measurement(s, p, "il6", 12, visit="baseline", measured_at=r + HOUR)
    actions.record_visit_not_done(s, p, "day7", reason="Transferred")
    actions.record_clinical_event(s, p, event="extubation", occurred_at=r + 9 * DAY)
    actions.record_clinical_event(
        s, p, event="extubation", occurred_at=r + 4 * DAY, term="Asked", occurred=False
    )
    actions.record_deviation(
        trial["mon1"], p, category="major", description="Wrong kit", occurred_at=r + 2 * DAY
    )
    actions.record_deviation(s, p, category="minor", description="Late sample")
    actions.complete_study(s, p, at=r + 90 * DAY)
    # A second participant who died before day7 was due: their day7 NOT DONE row is dated at
    # the death (the end of follow-up), not after it.
    r2 = days_ago(60)
    q = randomized(trial, at=r2)
    actions.record_visit_not_done(s, q, "day7", reason="In ICU")
    actions.record_death(trial["inv1"], q, died_at=r2 + 6 * DAY + 12 * HOUR, cause="ARDS")

    t = tables(trial.admin.trial)
    study = "edctest2027"
    ds = t["DS"][t["DS"]["USUBJID"] == p.code]
    assert ds[["DSDECOD", "DSCAT", "DSSTDTC"]].values.tolist() == [
        ["INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "2025-01-05"],
        ["RANDOMIZED", "PROTOCOL MILESTONE", stamp(r)],
        ["COMPLETED", "DISPOSITION EVENT", stamp(r + 90 * DAY)],
    ]
    ce = t["CE"].where(t["CE"].notna(), None)
    assert ce.to_dict("records") == [
        {
            "STUDYID": study,
            "USUBJID": p.code,
            "CESEQ": 1,
            "CETERM": "Asked",
            "CEDECOD": "extubation",
            "CESTDTC": stamp(r + 4 * DAY),
            "CEOCCUR": "N",
        },
        {
            "STUDYID": study,
            "USUBJID": p.code,
            "CESEQ": 2,
            "CETERM": "Successful extubation",
            "CEDECOD": "extubation",
            "CESTDTC": stamp(r + 9 * DAY),
            "CEOCCUR": "Y",
        },
    ]
    dv = t["DV"].where(t["DV"].notna(), None)
    assert dv.to_dict("records") == [
        {
            "STUDYID": study,
            "USUBJID": p.code,
            "DVSEQ": 1,
            "DVTERM": "Wrong kit",
            "DVCAT": "MAJOR",
            "DVSTDTC": stamp(r + 2 * DAY),
        },
        {
            "STUDYID": study,
            "USUBJID": p.code,
            "DVSEQ": 2,
            "DVTERM": "Late sample",
            "DVCAT": "MINOR",
            "DVSTDTC": None,
        },
    ]
    cols = ["USUBJID", "SEQ", "TESTCD", "ORRES", "STAT", "REASND", "DTC", "VISIT", "VISITNUM"]

    def findings(dom: str) -> list[list[Any]]:
        f = t[dom].rename(columns=lambda c: c.removeprefix(dom) if c != "USUBJID" else c)
        return f[cols].astype(object).where(f[cols].notna(), None).values.tolist()

    # The screening form's PaO2/FiO2 comes first (screened "now", randomized back-dated: the
    # values are dated at the randomization).
    assert findings("LB") == [
        [p.code, 1, "PAO2FIO2", "150", None, None, stamp(r), "screening", 1],
        [p.code, 2, "IL6", "12", None, None, stamp(r + HOUR), "baseline", 2],
        [p.code, 3, "IL6", None, "NOT DONE", "Transferred", stamp(r + 7 * DAY), "day7", 3],
        [q.code, 1, "PAO2FIO2", "150", None, None, stamp(r2), "screening", 1],
        [q.code, 2, "IL6", None, "NOT DONE", "In ICU", stamp(r2 + 6 * DAY + 12 * HOUR), "day7", 3],
    ]
    assert findings("QS") == [
        [p.code, 1, "WHOSCALE", None, "NOT DONE", "Transferred", stamp(r + 7 * DAY), "day7", 3],
        [
            q.code,
            1,
            "WHOSCALE",
            None,
            "NOT DONE",
            "In ICU",
            stamp(r2 + 6 * DAY + 12 * HOUR),
            "day7",
            3,
        ],
    ]

    # The written dataset reads back clean and its derivations see the follow-up.
    export_dataset(tmp_path)
    data = read_dataset(tmp_path)
    protocol = trial.admin.trial.active_protocol().protocol
    assert errors([*data.problems, *check_dataset(data, protocol)]) == []
    adsl = derive_adsl(data, protocol).set_index("USUBJID")
    assert adsl.loc[p.code, "EOSSTT"] == "COMPLETED"
    assert adsl.loc[q.code, "EOSSTT"] == "DISCONTINUED"
    adtte = derive_adtte(data, protocol)
    vf = adtte[(adtte["PARAMCD"] == "ventilator_free") & (adtte["USUBJID"] == p.code)]
    # Extubation on day 9 (the CEOCCUR N row on day 4 is not an occurrence).
    assert vf["CNSR"].tolist() == [0] and vf["AVAL"].tolist() == [9.0]


# ------------------------------------------------------------------------------------- API


def test_api_follow_up(trial, clients, followed):
    p, r = followed
    c = clients["coord1"]
    base = f"/participants/{p.code}"
    x = c.call("post", f"{base}/clinical-events", {"event": "recovery", "occurred_at": "x"})
    assert x.status_code == 422 and {d["field"] for d in x.json()["detail"]} == {"occurred_at"}
    x = c.call(
        "post",
        f"{base}/clinical-events",
        {"event": "death", "occurred_at": (r + DAY).isoformat()},
    )
    assert x.status_code == 422 and x.json()["detail"][0]["field"] == "event"
    x = c.call(
        "post",
        f"{base}/clinical-events",
        {"event": "extubation", "occurred_at": "2025-03-01T10:00:00"},
    )
    assert x.status_code == 422 and x.json()["detail"][0]["field"] == "occurred_at"
    body = {"event": "extubation", "occurred_at": (r + 5 * DAY).isoformat()}
    x = c.call("post", f"{base}/clinical-events", body, **{"Idempotency-Key": "ce"})
    y = c.call("post", f"{base}/clinical-events", body, **{"Idempotency-Key": "ce"})
    assert x.status_code == y.status_code == 200 and x.json() == y.json()
    assert x.json()["label"] == "Successful extubation" and x.json()["occurred"] is True
    assert c.call("post", f"{base}/clinical-events", body).status_code == 409
    events = clients["mon1"].call("get", f"{base}/clinical-events").json()
    assert [e["id"] for e in events] == [x.json()["id"]]

    x = clients["mon1"].call(
        "post", f"{base}/deviations", {"category": "minor", "description": "Late sample"}
    )
    assert x.status_code == 200 and x.json()["category"] == "minor"
    x = c.call("post", f"{base}/deviations", {"category": "huge", "description": "x"})
    assert x.status_code == 422 and x.json()["detail"][0]["field"] == "category"
    assert len(c.call("get", f"{base}/deviations").json()) == 1

    x = c.call("post", f"{base}/visits/day7/not-done", {"reason": "Transferred"})
    assert x.status_code == 200 and x.json()["not_done"] is True
    assert x.json()["not_done_reason"] == "Transferred"
    assert c.call("post", f"{base}/visits/day7/not-done", {"reason": "x"}).status_code == 409
    assert c.call("post", f"{base}/visits/nope/not-done", {"reason": "x"}).status_code == 404

    assert clients["dsmb"].call("post", f"{base}/completion", {}).status_code == 403
    early = c.call("post", f"{base}/completion", {"at": (r + 50 * DAY).isoformat()})
    assert early.status_code == 422 and early.json()["detail"][0]["field"] == "at"
    done = c.call("post", f"{base}/completion", {"at": (r + 85 * DAY).isoformat()})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["dispositions"][0]["kind"] == "completed"
    assert c.call("post", f"{base}/completion", {}).status_code == 409


def _arm_strings(payload: Any) -> list[str]:
    found: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("arm", "arm_id", "arm_label", "by_arm", "product", "lot"):
                    found.append(f"key {k}")
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str) and x in ARM_STRINGS:
            found.append(x)

    walk(payload)
    return found


FOLLOW_UP = [
    ("post", "/participants/{code}/clinical-events", "event"),
    ("get", "/participants/{code}/clinical-events", None),
    ("post", "/participants/{code}/deviations", "deviation"),
    ("get", "/participants/{code}/deviations", None),
    ("post", "/participants/{code}/visits/day7/not-done", "not_done"),
    ("post", "/participants/{code}/completion", "completion"),
]


def test_follow_up_endpoints_are_in_the_openapi_schema(trial):
    from celltrial.edc.api import api

    paths = api.get_openapi_schema()["paths"]
    for _, path, _ in FOLLOW_UP:
        assert "/api" + path.replace("day7", "{visit}") in paths, path


@pytest.mark.parametrize("who", ["inv1", "coord1", "mon1", "dm", "admin"])
def test_blinded_roles_never_receive_an_arm_from_follow_up(trial, clients, followed, who):
    p, r = followed
    assert arm_of(p)  # it has an arm to leak
    bodies = {
        "event": {"event": "extubation", "occurred_at": (r + 5 * DAY).isoformat()},
        "deviation": {"category": "minor", "description": "Late sample"},
        "not_done": {"reason": "Transferred"},
        "completion": {"at": (r + 85 * DAY).isoformat()},
    }
    seen = []
    for method, path, body in FOLLOW_UP:
        x = clients[who].call(method, path.format(code=p.code), bodies.get(body or ""))
        assert x.status_code < 500, (method, path, x.content[:300])
        seen.append(x.status_code)
        assert _arm_strings(x.json()) == [], (who, method, path)
    if who in ("inv1", "coord1"):  # they wrote everything: the answers held data
        assert seen == [200] * len(FOLLOW_UP)
    # Control: the same check finds the arm where it is allowed.
    assert _arm_strings(clients["dsmb"].call("get", f"/participants/{p.code}").json())


def test_visit_not_done_respects_a_lock(trial, followed):
    p, _ = followed
    lock = actions.lock_record(trial["dm"], p, reason="database lock")
    with pytest.raises(Conflict) as exc:
        actions.record_visit_not_done(trial["coord1"], p, "day7", reason="x")
    assert fields(exc) == {"lock"} and f"#{lock.pk}" in message(exc)
    actions.unlock_record(trial["dm"], lock.pk, reason="query answered")
    assert actions.record_visit_not_done(trial["coord1"], p, "day7", reason="x").not_done
