"""Issue 15: the AE safety-window flags follow the infusions whatever the order of entry, and
"entered in error" for infusions (pharmacist only, the same refusal for every arm), visits and
dispositions (the participant's status returns), through the API and the actions."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from edc_helpers import arm_of, fields, randomized, released_lot

from celltrial.edc import actions, audit
from celltrial.edc.actions import ActionError, Forbidden
from celltrial.edc.export import export_dataset
from celltrial.edc.models import AdverseEvent, AuditEntry, Infusion, Participant, VisitRecord

HOUR = dt.timedelta(hours=1)
PASSWORD = "ochre tapir 1987 lamp"


def _start(hours_ago: float = 10) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - hours_ago * HOUR


def _dose(arm: str) -> float:
    return 140e6 if arm == "msc" else 70.0


def _infuse_api(clients: dict[str, Any], p: Participant, lot: str, at: dt.datetime) -> Any:
    body = {"lot": lot, "started_at": at.isoformat(), "delivered": _dose(arm_of(p))}
    return clients["pharm"].call("post", f"/participants/{p.code}/infusions", body)


def _ae(trial: Any, p: Participant, onset: dt.datetime) -> AdverseEvent:
    return actions.report_adverse_event(
        trial["coord1"],
        p,
        term="Chills",
        onset=onset,
        grade=1,
        relatedness="possible",
        outcome="recovered",
        aware_at=onset + HOUR,
    )


def _adae_flags(tmp_path: Path, trial: Any) -> dict[str, dict[str, Any]]:
    from celltrial.analysis.endpoints import window_events
    from celltrial.analysis.trial import Trial
    from celltrial.dataset import derive_adae, read_dataset

    export_dataset(tmp_path)
    ds = read_dataset(tmp_path)
    protocol = trial.admin.trial.active_protocol().protocol
    adae = derive_adae(ds, protocol)
    ids = [w.id for w in protocol.safety.windows]
    counted = window_events(Trial.derive(ds, protocol), ids)
    out: dict[str, dict[str, Any]] = {}
    for _, row in adae.iterrows():
        flags = {w: row[f"WIN_{w.upper()}"] for w in ids}
        out[row["USUBJID"]] = flags | {
            "counted": sorted(counted.loc[counted["USUBJID"] == row["USUBJID"], "WINDOW"])
        }
    return out


def test_ae_flags_do_not_depend_on_the_order_of_entry(trial, clients, tmp_path):
    r = _start()
    first_ae, first_dose = randomized(trial, at=r), randomized(trial, at=r)
    given, onset = r + 3 * HOUR, r + 5 * HOUR  # the AE 2 h after the infusion
    for p in (first_ae, first_dose):
        released_lot(trial, arm_of(p), f"LOT-{p.code}")
    # Participant 1: the AE is entered first (no infusion yet: in no window) ...
    late = _ae(trial, first_ae, onset)
    assert late.windows == []
    assert _infuse_api(clients, first_ae, f"LOT-{first_ae.code}", given).status_code == 200
    # ... participant 2 in the other order.
    assert _infuse_api(clients, first_dose, f"LOT-{first_dose.code}", given).status_code == 200
    timely = _ae(trial, first_dose, onset)
    late.refresh_from_db()
    assert "infusion_6h" in timely.windows and late.windows == timely.windows
    # The recomputation is audited, in the infusion's transaction, naming why.
    row = AuditEntry.objects.get(action="derive_windows", record_id=str(late.pk))
    assert row.actor == "pharm" and row.reason == "infusion #1 recorded"
    assert '"windows":[]' in row.old.replace(" ", "")
    got = clients["coord1"].call("get", f"/participants/{first_ae.code}/adverse-events")
    assert got.json()[0]["safety_windows"] == timely.windows
    # The export and the analysis count both AEs alike.
    flags = _adae_flags(tmp_path, trial)
    assert flags[first_ae.code] == flags[first_dose.code]
    assert flags[first_ae.code]["infusion_6h"] == "Y"
    assert "infusion_6h" in flags[first_ae.code]["counted"]
    # The infusion entered in error: the AE leaves the window (flags, export, counts).
    inf = Infusion.objects.get(participant=first_ae)
    done = clients["pharm"].call(
        "post", f"/records/infusion/{inf.pk}/entered-in-error", {"reason": "wrong participant"}
    )
    assert done.status_code == 200, done.content
    late.refresh_from_db()
    assert late.windows == []
    flags = _adae_flags(tmp_path / "again", trial)
    assert flags[first_ae.code]["infusion_6h"] == "N" and flags[first_ae.code]["counted"] == []
    assert audit.verify_data() == []


def _both_arms(trial: Any, r: dt.datetime) -> dict[str, Participant]:
    by_arm: dict[str, Participant] = {}
    while len(by_arm) < 2:
        p = randomized(trial, at=r)
        by_arm.setdefault(arm_of(p), p)
    return by_arm


def test_infusion_entered_in_error_pharmacist_only_same_refusal_for_every_arm(
    trial, clients, tmp_path
):
    from celltrial.dataset import read_dataset

    r = _start()
    people = _both_arms(trial, r)
    infusions = {}
    for arm, p in people.items():
        released_lot(trial, arm, f"LOT-{arm}")
        assert _infuse_api(clients, p, f"LOT-{arm}", r + 3 * HOUR).status_code == 200
        infusions[arm] = Infusion.objects.get(participant=p)
    # Blinded roles: refused by role before the record is read, in the same words for both
    # arms (API and web page).
    answers = set()
    for who in ("coord1", "inv1", "dm"):
        for inf in infusions.values():
            res = clients[who].call(
                "post", f"/records/infusion/{inf.pk}/entered-in-error", {"reason": "x"}
            )
            assert res.status_code == 403, res.content
            answers.add(res.content.decode().replace(str(inf.pk), "#"))
            with pytest.raises(Forbidden):
                actions.mark_entered_in_error(trial[who], "infusion", inf.pk, reason="x")
    assert len(answers) == 1 and "pharmacist" in answers.pop()
    coord = trial["coord1"]
    coord.user.set_password(PASSWORD)
    coord.user.save()
    web = Client()
    assert web.post("/login", {"username": "coord1", "password": PASSWORD}).status_code == 302
    said = set()
    for arm, inf in infusions.items():
        page = web.get(f"/p/{people[arm].code}/in-error/infusion/{inf.pk}")
        assert page.status_code == 403
        said.update(re.findall(r'<p class="error" role="alert">(.*?)</p>', page.content.decode()))
    assert len(said) == 1 and "pharmacist" in said.pop()
    # The pharmacist may not mark clinical records.
    m = actions.record_measurement(trial["coord1"], people["msc"], "il6", 12)
    with pytest.raises(Forbidden):
        actions.mark_entered_in_error(trial["pharm"], "measurement", m.pk, reason="x")
    # The pharmacist marks one: kept, audited (unblinded row), out of EX, the number free again.
    p, inf = people["msc"], infusions["msc"]
    no_reason = clients["pharm"].call(
        "post", f"/records/infusion/{inf.pk}/entered-in-error", {"reason": ""}
    )
    assert no_reason.status_code == 422
    done = clients["pharm"].call(
        "post", f"/records/infusion/{inf.pk}/entered-in-error", {"reason": "wrong lot typed"}
    )
    assert done.status_code == 200, done.content
    inf.refresh_from_db()
    assert inf.entered_in_error
    row = AuditEntry.objects.get(action="mark_entered_in_error", record_id=str(inf.pk))
    assert row.reason == "wrong lot typed" and not row.blinded_safe
    again = clients["pharm"].call(
        "post", f"/records/infusion/{inf.pk}/entered-in-error", {"reason": "twice"}
    )
    assert again.status_code == 422
    listed = clients["pharm"].call("get", f"/participants/{p.code}/infusions").json()
    assert [i["entered_in_error"] for i in listed] == [True]
    export_dataset(tmp_path)
    ds = read_dataset(tmp_path)
    assert p.code not in set(ds.tables["EX"]["USUBJID"])
    dm = ds.tables["DM"].set_index("USUBJID")
    assert dm.at[p.code, "ACTARMCD"] == "NOTTRT"
    # Entered again, correctly: number 1 again.
    redo = _infuse_api(clients, p, "LOT-msc", r + 4 * HOUR)
    assert redo.status_code == 200, redo.content
    assert Infusion.objects.filter(participant=p).count() == 2
    assert audit.verify_data() == []


def test_visit_entered_in_error_clears_it_to_be_recorded_again(trial, clients):
    r = _start(30 * 24)
    p = randomized(trial, at=r)
    v = actions.record_visit(trial["coord1"], p, "baseline", at=r)
    assert v.done_at is not None
    res = clients["coord1"].call(
        "post", f"/records/visit/{v.pk}/entered-in-error", {"reason": "another participant's"}
    )
    assert res.status_code == 200, res.content
    v.refresh_from_db()
    assert v.done_at is None and v.in_window is None
    row = AuditEntry.objects.get(action="mark_entered_in_error", record_id=str(v.pk))
    assert row.reason == "another participant's" and '"done_at":null' in row.new.replace(" ", "")
    # Nothing recorded any more: a second mark is refused; the visit is recorded again.
    with pytest.raises(ActionError) as exc:
        actions.mark_entered_in_error(trial["coord1"], "visit", v.pk, reason="x")
    assert fields(exc) == {"record_id"}
    assert actions.record_visit(trial["coord1"], p, "baseline", at=r + HOUR).done_at == r + HOUR
    nd = actions.record_visit_not_done(trial["coord1"], p, "day7", reason="in ICU")
    actions.mark_entered_in_error(trial["dm"], "visit", nd.pk, reason="it did take place")
    nd.refresh_from_db()
    assert not nd.not_done and nd.not_done_reason == ""
    assert VisitRecord.objects.filter(participant=p).count() > 2  # no visit deleted
    assert audit.verify_data() == []


def test_disposition_entered_in_error_returns_the_status(trial, clients, tmp_path):
    from celltrial.dataset import read_dataset

    r = _start(30 * 24)
    p = randomized(trial, at=r)
    coord = trial["coord1"]
    d = actions.withdraw(coord, p, reason="moved", at=r + 48 * HOUR)
    # A measurement after the withdrawal is refused while it stands ...
    with pytest.raises(ActionError):
        actions.record_measurement(coord, p, "il6", 12, measured_at=r + 72 * HOUR)
    res = clients["coord1"].call(
        "post", f"/records/disposition/{d.pk}/entered-in-error", {"reason": "wrong participant"}
    )
    assert res.status_code == 200, res.content
    p.refresh_from_db()
    assert p.status == Participant.Status.RANDOMIZED
    status_rows = AuditEntry.objects.filter(action="participant_status", record_id=str(p.pk))
    assert status_rows.order_by("-seq").first().new.replace(" ", "") == '{"status":"randomized"}'
    # ... and accepted once it is entered in error; the export has no withdrawal.
    actions.record_measurement(coord, p, "il6", 12, measured_at=r + 72 * HOUR)
    export_dataset(tmp_path)
    ds = read_dataset(tmp_path).tables["DS"]
    assert "WITHDRAWAL BY SUBJECT" not in set(ds.loc[ds["USUBJID"] == p.code, "DSDECOD"])
    detail = clients["coord1"].call("get", f"/participants/{p.code}").json()
    assert [x["entered_in_error"] for x in detail["dispositions"]] == [True]
    # The web: the same mark from the participant's page (a completion this time).
    coord.user.set_password(PASSWORD)
    coord.user.save()
    web = Client()
    assert web.post("/login", {"username": "coord1", "password": PASSWORD}).status_code == 302
    v = actions.record_visit(coord, p, "baseline", at=r)
    page = web.get(f"/p/{p.code}").content.decode()
    assert f"/p/{p.code}/in-error/visit/{v.pk}" in page and "entered in error" in page
    lost = actions.mark_lost_to_follow_up(coord, p, last_contact=r + 96 * HOUR)
    assert f"/p/{p.code}/in-error/disposition/{lost.pk}" in web.get(f"/p/{p.code}").content.decode()
    form = f"/p/{p.code}/in-error/disposition/{lost.pk}"
    assert web.post(form, {"reason": ""}).status_code == 200  # the form again, asking why
    assert web.post(form, {"reason": "reached by phone"}).status_code == 302
    p.refresh_from_db()
    assert p.status == Participant.Status.RANDOMIZED
    # A loss to follow-up then a death: the loss entered in error, the participant stays dead.
    q = randomized(trial, at=r)
    lost = actions.mark_lost_to_follow_up(coord, q, last_contact=r + 24 * HOUR)
    death = actions.record_death(coord, q, died_at=r + 48 * HOUR, cause="ARDS")
    actions.mark_entered_in_error(coord, "disposition", lost.pk, reason="was reached")
    q.refresh_from_db()
    assert q.status == Participant.Status.DEAD
    # The death itself entered in error (recorded for the wrong participant): the status
    # returns, the death leaves the rules and the export, and it can no longer be edited ...
    died = q.dispositions.get(kind="death")
    page = web.get(f"/p/{q.code}").content.decode()
    assert f"/p/{q.code}/in-error/disposition/{died.pk}" in page
    assert (
        web.post(
            f"/p/{q.code}/in-error/disposition/{died.pk}", {"reason": "wrong participant"}
        ).status_code
        == 302
    )
    q.refresh_from_db()
    assert q.status == Participant.Status.RANDOMIZED
    actions.record_measurement(coord, q, "il6", 9, measured_at=r + 72 * HOUR)
    with pytest.raises(ActionError) as exc:
        actions.edit_record(coord, "death", death.pk, {"cause": "x"}, reason="typo")
    assert "entered in error" in exc.value.problems[0].message
    page = web.get(f"/p/{q.code}").content.decode()
    assert f"/p/{q.code}/edit/death/{death.pk}" not in page
    # ... and a death recorded later writes its own time and cause (the same row, audited).
    again = actions.record_death(coord, q, died_at=r + 96 * HOUR, cause="Sepsis")
    assert again.pk == death.pk and again.cause == "Sepsis"
    q.refresh_from_db()
    assert q.status == Participant.Status.DEAD
    rows = AuditEntry.objects.filter(action="record_death", record_id=str(death.pk))
    assert "ARDS" in rows.order_by("-seq").first().old
    export_dataset(tmp_path)
    ds = read_dataset(tmp_path).tables["DS"]
    mine = ds[(ds["USUBJID"] == q.code) & (ds["DSDECOD"] == "DEATH")]
    assert len(mine) == 1 and mine["DSSTDTC"].iloc[0].startswith(
        (r + 96 * HOUR).strftime("%Y-%m-%dT%H")
    )
    assert audit.verify_data() == []


def test_completion_entered_in_error_reopens_follow_up(trial):
    r = _start(100 * 24)
    p = randomized(trial, at=r)
    done = actions.complete_study(trial["coord1"], p, at=_start(48))
    actions.mark_entered_in_error(trial["inv1"], "disposition", done.pk, reason="too early")
    p.refresh_from_db()
    assert p.status == Participant.Status.RANDOMIZED
    with pytest.raises(ActionError):  # the mark is final
        actions.mark_entered_in_error(trial["inv1"], "disposition", done.pk, reason="x")
    assert actions.complete_study(trial["coord1"], p, at=_start(24)).pk != done.pk
