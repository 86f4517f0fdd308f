"""Each action: what it writes, the rules it enforces, the errors it names."""

from __future__ import annotations

import datetime as dt

import pytest
from edc_helpers import ELIGIBLE, MSC_RELEASE, arm_of, fields, message, randomized, released_lot

from celltrial.edc import actions
from celltrial.edc.actions import ActionError, Conflict, Forbidden, NotFound
from celltrial.edc.models import (
    AdverseEvent,
    AuditEntry,
    Infusion,
    Lot,
    Measurement,
    Participant,
    Randomization,
    VisitRecord,
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------ screening


def test_screening_eligible_and_ineligible(trial):
    ok = actions.screen_participant(trial["coord1"], "site1", ELIGIBLE)
    assert ok.status == "screened" and ok.screening.eligible is True
    assert ok.code == "site1-0001" and ok.weight_kg == 70
    bad = actions.screen_participant(
        trial["coord1"], "site1", {**ELIGIBLE, "age": 90, "pregnancy": True}
    )
    assert bad.status == "ineligible"
    assert sorted(bad.screening.failed) == ["age", "pregnancy"]
    partial = actions.screen_participant(trial["coord1"], "site1", {"age": 40})
    assert partial.screening.eligible is None and "pf" in partial.screening.missing
    log = actions.screening_log(trial["dm"])
    assert log["screened"] == 3 and log["ineligible"] == 1
    assert log["ineligible_reasons"] == {"age": 1, "pregnancy": 1}


def test_screening_errors_name_each_field(trial):
    with pytest.raises(ActionError) as exc:
        actions.screen_participant(
            trial["coord1"],
            "site1",
            {
                "age": "old",
                "ards_severity": "9",
                "pregnancy": "maybe",
                "nonsense": 1,
                "weight": 900,
            },
        )
    assert fields(exc) == {
        "values.age",
        "values.ards_severity",
        "values.pregnancy",
        "values.nonsense",
        "values.weight",
    }
    assert Participant.objects.count() == 0


def test_update_screening_reevaluates_and_needs_reason(trial):
    p = actions.screen_participant(trial["coord1"], "site1", {**ELIGIBLE, "age": 90})
    with pytest.raises(ActionError) as exc:
        actions.update_screening(trial["coord1"], p, {"age": 60})
    assert fields(exc) == {"reason"}
    p = actions.update_screening(trial["coord1"], p, {"age": 60}, reason="typo in age")
    assert p.status == "screened" and p.screening.eligible is True


def test_consent_and_enroll_rules(trial):
    c = trial["coord1"]
    bad = actions.screen_participant(c, "site1", {**ELIGIBLE, "age": 90})
    with pytest.raises(Conflict, match="ineligible"):
        actions.enroll(c, bad)
    p = actions.screen_participant(c, "site1", ELIGIBLE)
    with pytest.raises(Conflict, match="not consented"):
        actions.enroll(c, p)
    with pytest.raises(ActionError) as exc:
        actions.record_consent(c, p, "", dt.date(2025, 1, 1))
    assert fields(exc) == {"version"}
    with pytest.raises(ActionError) as exc:
        actions.record_consent(c, p, "2.1", dt.date.today() + dt.timedelta(days=3))
    assert fields(exc) == {"consented_on"}
    actions.record_consent(c, p, "2.1", dt.date(2025, 1, 1))
    p = actions.enroll(c, p)
    assert p.status == "enrolled" and p.enrolled_at is not None
    with pytest.raises(Conflict):
        actions.enroll(c, p)


def test_undecided_eligibility_cannot_enroll(trial):
    c = trial["coord1"]
    p = actions.screen_participant(c, "site1", {"age": 40})
    actions.record_consent(c, p, "2.1", dt.date(2025, 1, 1))
    with pytest.raises(Conflict, match="undecided"):
        actions.enroll(c, p)


# --------------------------------------------------------------------------- randomization


def test_randomization_takes_next_row_of_site_and_stratum(trial):
    p1 = randomized(trial, ards_severity="2")
    p2 = randomized(trial, ards_severity="2")
    p3 = randomized(trial, "coord2", "site2", ards_severity="3")
    r1, r2, r3 = (Randomization.objects.get(participant=p) for p in (p1, p2, p3))
    assert r1.stratum == r2.stratum == "ards_severity=2"
    assert r2.sequence == r1.sequence + 1
    assert r1.slot.site_code == "site1" and r3.slot.site_code == "site2"
    assert r3.stratum == "ards_severity=3"
    assert p1.status == "randomized"
    visits = VisitRecord.objects.filter(participant=p1).order_by("nominal")
    assert [v.visit for v in visits] == ["screening", "baseline", "day7", "day28", "day90"]
    day7 = visits.get(visit="day7")
    assert day7.nominal - r1.randomized_at.replace(second=0, microsecond=0) == dt.timedelta(days=7)
    assert day7.latest - day7.earliest == dt.timedelta(days=2)
    with pytest.raises(Conflict, match="randomized already"):
        actions.randomize_participant(trial["coord1"], p1)


def test_randomize_requires_enrollment_and_list(trial):
    p = actions.screen_participant(trial["coord1"], "site1", ELIGIBLE)
    with pytest.raises(Conflict, match="enroll"):
        actions.randomize_participant(trial["coord1"], p)


def test_list_exhaustion_is_a_conflict(db):
    from edc_helpers import make_trial

    t = make_trial(per_stratum=1)
    taken = Randomization.objects.count()
    with pytest.raises(Conflict, match="exhausted"):
        for _ in range(10):
            randomized(t, ards_severity="1")
    # whole blocks: the stratum held 3 rows (the smallest block), all used, nothing half-written
    assert Randomization.objects.count() == taken + 3
    assert Participant.objects.filter(status="enrolled").count() == 1


def test_list_checks(trial):
    with pytest.raises(Conflict, match="loaded already"):
        actions.load_allocation_list(trial.admin, trial.list_bytes)
    with pytest.raises(ActionError) as exc:
        actions.load_allocation_list(trial.admin, b"junk\n")
    assert fields(exc) == {"list"}


def test_unblind_is_logged_and_needs_reason(trial):
    p = randomized(trial, who="inv1")
    with pytest.raises(ActionError) as exc:
        actions.unblind(trial["inv1"], p, "  ")
    assert fields(exc) == {"reason"}
    u = actions.unblind(trial["inv1"], p, "SAE: anaphylaxis")
    assert u.participant.randomization.slot.arm == arm_of(p)
    assert AuditEntry.objects.filter(action="unblind").count() == 1
    with pytest.raises(Forbidden):
        actions.unblind(trial["coord1"], p, "curious")


# ----------------------------------------------------------------------------- lots, doses


def test_release_lot_against_protocol_criteria(trial):
    ph = trial["pharm"]
    lot = actions.register_lot(ph, "L1", "msc")
    assert lot.status == "quarantine" and lot.product == "Bone-marrow MSC"
    with pytest.raises(ActionError) as exc:
        actions.release_lot(ph, lot, {"viability": 80, "colour": "red"})
    assert fields(exc) == {
        "results.colour",
        "results.viable_cells",
        "results.sterility",
        "results.endotoxin",
        "results.mycoplasma",
        "results.identity",
        "results.purity",
    }
    with pytest.raises(ActionError) as exc:
        actions.release_lot(ph, lot, {**MSC_RELEASE, "viability": "high"})
    assert fields(exc) == {"results.viability"}
    # A result outside its limit: refused naming the criterion, the lot rejected with its
    # results kept (written after the refusal's rollback).
    with pytest.raises(ActionError) as exc:
        actions.release_lot(ph, lot, {**MSC_RELEASE, "sterility": "positive"})
    assert fields(exc) == {"results.sterility"}
    assert "fails the release limit = negative" in message(exc)
    failed = Lot.objects.get(pk=lot.pk)
    assert failed.status == "rejected" and failed.released_at is None
    assert not failed.results.get(criterion="sterility").passed
    assert failed.results.get(criterion="viability").limit == "≥ 70"
    with pytest.raises(Conflict):
        actions.release_lot(ph, lot, MSC_RELEASE)
    ok = released_lot(trial, "msc", "L2")
    assert ok.status == "released" and ok.released_at is not None
    with pytest.raises(ActionError) as exc:
        actions.register_lot(ph, "L3", "nosucharm")
    assert fields(exc) == {"arm"}


def _infusion_case(trial):
    at = now() - dt.timedelta(hours=10)
    p = randomized(trial, at=at)
    arm = arm_of(p)
    lot = released_lot(trial, arm)
    start = at.replace(second=0, microsecond=0) + dt.timedelta(hours=3)
    dose = 140e6 if arm == "msc" else 70.0
    return p, arm, lot, start, dose


def test_infusion_dose_from_weight_and_checks(trial):
    p, arm, lot, start, dose = _infusion_case(trial)
    ph = trial["pharm"]
    other = "placebo" if arm == "msc" else "msc"
    wrong = released_lot(trial, other)
    with pytest.raises(ActionError, match="not the product") as exc:
        actions.record_infusion(ph, p, lot=wrong, started_at=start, delivered=dose)
    quarantined = actions.register_lot(ph, "Q1", arm)
    with pytest.raises(ActionError, match="not released") as exc:
        actions.record_infusion(ph, p, lot=quarantined, started_at=start, delivered=dose)
    assert fields(exc) == {"lot"}
    if arm == "msc":  # 2e6 cells/kg x 70 kg, tolerance 10 %
        with pytest.raises(ActionError, match="outside the allowed") as exc:
            actions.record_infusion(ph, p, lot=lot, started_at=start, delivered=100e6)
        assert fields(exc) == {"delivered"}
    with pytest.raises(ActionError) as exc:
        actions.record_infusion(
            ph, p, lot=lot, started_at=start - dt.timedelta(hours=2), delivered=dose
        )
    assert fields(exc) == {"started_at"}
    inf = actions.record_infusion(
        ph, p, lot=lot, started_at=start, stopped_at=start + dt.timedelta(hours=1), delivered=dose
    )
    assert inf.number == 1 and inf.intended == pytest.approx(dose) and inf.in_window
    assert inf.unit == ("cells" if arm == "msc" else "mL")
    assert Infusion.objects.count() == 1


def test_infusion_of_an_unknown_dose_is_counted_in_ml_or_cells(trial):
    """A protocol may leave a dose unknown (rebelatto2022's placebo volume): the amount given
    is still recorded with a unit — mL for a placebo, cells for a cell product."""
    from edc_helpers import PROTOCOL_FILE

    text = PROTOCOL_FILE.read_text().replace('version: "2.1"', 'version: "2.2"')
    assert "dose: {amount: 1, unit: mL/kg, cap: 100}" in text  # the placebo's
    text = text.replace("dose: {amount: 1, unit: mL/kg, cap: 100}", "dose: unknown")
    actions.load_protocol_version(trial["admin"], text)
    people = [randomized(trial, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))]
    while arm_of(people[-1]) != "placebo":
        people.append(randomized(trial, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)))
    p = people[-1]
    start = p.randomization.randomized_at + dt.timedelta(hours=2, minutes=30)
    lot = released_lot(trial, "placebo")
    inf = actions.record_infusion(trial["pharm"], p, lot=lot, started_at=start, delivered=80.0)
    assert (inf.unit, inf.intended, inf.delivered) == ("mL", None, 80.0)


def test_infusion_outside_tolerance_allowed_with_deviation(trial):
    p, _arm, lot, start, dose = _infusion_case(trial)
    inf = actions.record_infusion(
        trial["pharm"],
        p,
        lot=lot,
        started_at=start - dt.timedelta(hours=2),
        delivered=dose * 0.5,
        deviation="pump failure; half the dose and early start",
    )
    assert inf.deviation and not inf.in_window


def test_infusion_roles(trial):
    p, _arm, lot, start, dose = _infusion_case(trial)
    for who in ("coord1", "inv1", "mon1", "dm", "dsmb", "admin"):
        with pytest.raises(Forbidden):
            actions.record_infusion(trial[who], p, lot=lot, started_at=start, delivered=dose)


# ---------------------------------------------------------------------------- measurements


def test_measurements_validated_against_catalogue(trial):
    c = trial["coord1"]
    p = randomized(trial)
    m = actions.record_measurement(c, p, "il6", 35.5, visit="baseline")
    assert m.unit == "pg/mL" and m.number == 35.5 and m.domain == "LB"
    with pytest.raises(ActionError) as exc:
        actions.record_measurement(c, p, "il6", 35.5, unit="ng/mL")
    assert fields(exc) == {"unit"}
    with pytest.raises(ActionError, match="plausible range") as exc:
        actions.record_measurement(c, p, "pao2_fio2", 900)
    assert fields(exc) == {"value"}
    m = actions.record_measurement(c, p, "pao2_fio2", 900, confirmed=True)
    assert m.out_of_range and m.confirmed
    with pytest.raises(ActionError) as exc:
        actions.record_measurement(c, p, "who_scale", "11")
    assert fields(exc) == {"value"}
    with pytest.raises(ActionError) as exc:
        actions.record_measurement(c, p, "cholesterol", 5)
    assert fields(exc) == {"code"}
    with pytest.raises(ActionError) as exc:
        actions.record_measurement(c, p, "il6", 1, visit="day999")
    assert fields(exc) == {"visit"}
    with pytest.raises(ActionError) as exc:
        actions.record_measurement(c, p, "il6", 1, measured_at=dt.datetime(2026, 1, 1))
    assert fields(exc) == {"measured_at"}
    assert Measurement.objects.count() == 2


def test_visit_done_in_and_out_of_window(trial):
    at = now() - dt.timedelta(days=8)
    p = randomized(trial, at=at)
    v = actions.record_visit(trial["coord1"], p, "day7", at=at + dt.timedelta(days=7, hours=3))
    assert v.in_window is True
    v = actions.record_visit(trial["coord1"], p, "baseline", at=at + dt.timedelta(hours=5))
    assert v.in_window is False
    with pytest.raises(NotFound):
        actions.record_visit(trial["coord1"], p, "day1000")
    with pytest.raises(Conflict):
        actions.record_visit(trial["coord1"], p, "day7")


# ---------------------------------------------------------------------------------- safety


def test_adverse_event_window_flags_and_sae_clock(trial):
    p, _arm, lot, start, dose = _infusion_case(trial)
    actions.record_infusion(trial["pharm"], p, lot=lot, started_at=start, delivered=dose)
    c = trial["coord1"]
    ae = actions.report_adverse_event(
        c,
        p,
        term="Hypotension",
        onset=start + dt.timedelta(hours=1),
        grade=3,
        relatedness="possible",
        outcome="recovered",
        serious_criteria=["hospitalization"],
        expected=False,
    )
    assert ae.windows == ["infusion_6h", "death_24h"]
    assert ae.serious and ae.sae_due_at == ae.aware_at + dt.timedelta(hours=24)
    later = actions.report_adverse_event(
        c,
        p,
        term="Rash",
        onset=start + dt.timedelta(hours=7),
        grade=1,
        relatedness="unlikely",
        outcome="recovering",
    )
    assert later.windows == ["death_24h"] and not later.serious and later.sae_due_at is None
    done = actions.report_sae(c, ae.id)
    assert done.sae_reported_at is not None
    with pytest.raises(Conflict):
        actions.report_sae(c, later.id)


def test_adverse_event_errors(trial):
    p = randomized(trial)
    with pytest.raises(ActionError) as exc:
        actions.report_adverse_event(
            trial["coord1"],
            p,
            term="",
            onset=now() + dt.timedelta(days=2),
            grade=7,
            relatedness="maybe",
            outcome="fine",
            serious_criteria=["boredom"],
        )
    assert fields(exc) == {"term", "grade", "relatedness", "outcome", "serious_criteria", "onset"}
    with pytest.raises(ActionError) as exc:
        actions.report_adverse_event(
            trial["coord1"],
            p,
            term="Death",
            onset=now() - dt.timedelta(hours=1),
            grade=5,
            relatedness="not_related",
            outcome="recovered",
        )
    assert "outcome" in fields(exc)
    assert AdverseEvent.objects.count() == 0


# ---------------------------------------------------------------------- leaving the trial


def test_withdraw_lost_death(trial):
    c = trial["coord1"]
    p1 = randomized(trial)
    p2 = randomized(trial, at=now() - dt.timedelta(days=4))  # lost after randomization
    p3 = randomized(trial, at=now() - dt.timedelta(days=1))
    with pytest.raises(ActionError) as exc:
        actions.withdraw(c, p1, reason="")
    assert fields(exc) == {"reason"}
    d = actions.withdraw(c, p1, reason="moved away", by="participant")
    assert d.kind == "withdrawn"
    with pytest.raises(Conflict):
        actions.withdraw(c, p1, reason="again")
    actions.mark_lost_to_follow_up(c, p2, last_contact=now() - dt.timedelta(days=3))
    death = actions.record_death(c, p3, died_at=now() - dt.timedelta(hours=2), cause="ARDS")
    assert death.participant.status == "dead"
    statuses = dict(Participant.objects.values_list("code", "status"))
    assert sorted(statuses.values()) == ["dead", "lost_to_follow_up", "withdrawn"]
    with pytest.raises(ActionError) as exc:
        actions.record_death(c, randomized(trial), died_at=now(), cause=" ")
    assert fields(exc) == {"cause"}


# -------------------------------------------------------------------------------- editing


def test_edit_needs_reason_once_complete_and_revalidates(trial):
    c = trial["coord1"]
    p = randomized(trial)
    m = actions.record_measurement(c, p, "il6", 35.5)
    with pytest.raises(ActionError) as exc:
        actions.edit_record(c, "measurement", m.id, {"value": 40})
    assert fields(exc) == {"reason"}
    with pytest.raises(ActionError) as exc:
        actions.edit_record(c, "measurement", m.id, {"value": -3}, reason="transcription")
    assert fields(exc) == {"value"}
    with pytest.raises(ActionError) as exc:
        actions.edit_record(c, "measurement", m.id, {"code": "tnf"}, reason="x")
    assert fields(exc) == {"changes.code"}
    m2 = actions.edit_record(
        trial["dm"], "measurement", m.id, {"value": 40}, reason="transcription"
    )
    assert m2.value == "40" and m2.number == 40
    row = AuditEntry.objects.filter(action="edit_record").get()
    assert (
        row.reason == "transcription" and '"value":"35.5"' in row.old and '"value":"40"' in row.new
    )
    draft = actions.edit_record(c, "measurement", m.id, {"complete": False}, reason="reopen")
    assert not draft.complete
    actions.edit_record(c, "measurement", m.id, {"value": 41})  # no reason needed while open


def test_edit_adverse_event_recomputes_flags(trial):
    p = randomized(trial)
    c = trial["coord1"]
    ae = actions.report_adverse_event(
        c,
        p,
        term="Fever",
        onset=now() - dt.timedelta(hours=1),
        grade=2,
        relatedness="possible",
        outcome="recovering",
    )
    ae = actions.edit_record(
        c,
        "adverse_event",
        ae.id,
        {"grade": 4, "serious_criteria": ["life_threatening"]},
        reason="worsened",
    )
    assert ae.serious and ae.sae_due_at is not None
    with pytest.raises(NotFound):
        actions.edit_record(c, "adverse_event", 999999, {"grade": 1}, reason="x")
    with pytest.raises(ActionError) as exc:
        actions.edit_record(c, "participant", p.id, {"status": "x"}, reason="x")
    assert fields(exc) == {"table"}


# ---------------------------------------------------------------------- roles and sites


ROLE_CASES = [
    (actions.screen_participant, {"investigator", "coordinator"}),
    (actions.record_consent, {"investigator", "coordinator"}),
    (actions.enroll, {"investigator", "coordinator"}),
    (actions.randomize_participant, {"investigator", "coordinator"}),
    (actions.unblind, {"investigator"}),
    (actions.register_lot, {"pharmacist"}),
    (actions.release_lot, {"pharmacist"}),
    (actions.record_infusion, {"pharmacist"}),
    (actions.record_measurement, {"investigator", "coordinator"}),
    (actions.record_visit, {"investigator", "coordinator"}),
    (actions.report_adverse_event, {"investigator", "coordinator"}),
    (actions.report_sae, {"investigator", "coordinator"}),
    (actions.withdraw, {"investigator", "coordinator"}),
    (actions.mark_lost_to_follow_up, {"investigator", "coordinator"}),
    (actions.record_death, {"investigator", "coordinator"}),
    (actions.edit_record, {"investigator", "coordinator", "data_manager"}),
    (actions.add_site, {"admin"}),
    (actions.add_staff, {"admin"}),
    (actions.issue_token, {"admin", "pharmacist", "dsmb"}),  # the latter for themselves only
    (actions.approve_access, {"dsmb"}),
    (actions.load_allocation_list, {"admin", "pharmacist"}),
]


@pytest.mark.parametrize(("fn", "allowed"), ROLE_CASES, ids=[f.__name__ for f, _ in ROLE_CASES])
def test_every_action_refuses_other_roles(trial, fn, allowed):
    assert fn.roles == allowed
    before = AuditEntry.objects.count()
    for staff in trial.staff.values():
        if staff.role in allowed:
            continue
        with pytest.raises(Forbidden) as exc:
            fn(staff, "x", "y")
        assert exc.value.problems[0].field == "role"
    assert AuditEntry.objects.count() == before


def test_site_access_is_checked(trial):
    p = randomized(trial)  # site1
    with pytest.raises(NotFound) as exc:  # another site's participant: as if none (issue 16)
        actions.record_measurement(trial["coord2"], p, "il6", 3)
    assert fields(exc) == {"participant"}
    with pytest.raises(Forbidden):
        actions.screen_participant(trial["coord2"], "site1", ELIGIBLE)
    with pytest.raises(NotFound):
        actions.screen_participant(trial["coord2"], "site9", ELIGIBLE)
    assert actions.screening_log(trial["coord2"])["screened"] == 0


# ------------------------------------------------------------------------------ idempotency


def test_idempotency_key_returns_first_result(trial):
    p = randomized(trial)
    c = trial["coord1"]
    a = actions.record_measurement(c, p, "il6", 3, idempotency_key="k-1")
    b = actions.record_measurement(c, p, "il6", 4, idempotency_key="k-1")
    assert a.pk == b.pk and b.value == "3"
    assert Measurement.objects.count() == 1
    with pytest.raises(Conflict) as exc:
        actions.withdraw(c, p, reason="x", idempotency_key="k-1")
    assert fields(exc) == {"idempotency_key"}
    # another person may use the same key for their own submission
    other = actions.record_measurement(trial["inv1"], p, "il6", 5, idempotency_key="k-1")
    assert other.pk != a.pk


def test_failed_action_writes_nothing(trial):
    p = randomized(trial)
    before = (AuditEntry.objects.count(), Lot.objects.count())
    with pytest.raises(ActionError):
        actions.record_measurement(trial["coord1"], p, "il6", "abc")
    assert (AuditEntry.objects.count(), Lot.objects.count()) == before
