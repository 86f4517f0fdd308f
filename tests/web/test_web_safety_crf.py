"""Issue 17 on the web (no browser): the site's time zone (set by the admin, validated; typed
times read in it and stored in UTC, shown back in it), labels instead of codes, the CM and MH
forms' refusals next to their field and their missing-data codes, no arm on these pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from edc_helpers import randomized
from web_helpers import client_for, no_arm, post, text


def test_site_time_zone_reads_and_shows_local_times(web_trial: Any) -> None:
    admin = client_for("admin")
    r = post(admin, "/manage/sites/site1/time-zone", {"time_zone": "Mars/Olympus_Mons"})
    page = admin.get("/manage/sites").content.decode()
    assert "IANA time zone" in page and 'id="err_tz_site1"' in page
    post(admin, "/manage/sites/site1/time-zone", {"time_zone": "America/Sao_Paulo"})
    page = admin.get("/manage/sites").content.decode()
    assert 'value="America/Sao_Paulo"' in page

    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    p = randomized(web_trial, at=now - dt.timedelta(days=3))
    c = client_for("coord1")
    assert "Onset (America/Sao_Paulo)" in c.get(f"/p/{p.code}/ae").content.decode()
    onset_utc = now - dt.timedelta(days=1)
    local = onset_utc.astimezone(dt.timezone(dt.timedelta(hours=-3)))  # Sao Paulo: UTC-3
    r = post(
        c,
        f"/p/{p.code}/ae",
        {
            "term": "Headache",
            "onset": local.strftime("%Y-%m-%dT%H:%M"),
            "grade": "1",
            "relatedness": "not_related",
            "outcome": "recovered",
            "end_at": (local + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "procedure_relatedness": "unlikely",
            "action_taken": "dose_not_changed",
            "expected": "yes",
        },
    )
    assert r.status_code == 302, r.content.decode()
    ae = p.adverse_events.get()
    assert ae.onset == onset_utc  # typed in local time, stored in UTC
    assert ae.end_at == onset_utc + dt.timedelta(hours=2)
    page = text(c.get(f"/p/{p.code}").content)
    assert f"onset {local:%Y-%m-%d %H:%M} America/Sao_Paulo" in page
    assert f"onset {onset_utc:%Y-%m-%d %H:%M}" not in page or local.hour == onset_utc.hour
    for words in (
        "Product: Not related",
        "infusion procedure: Unlikely related",
        "expected",
        "Infusions not changed",
        "Recovered / resolved",
        "grade 1 — mild",
    ):
        assert words in page, words
    assert "not_related" not in page and "dose_not_changed" not in page


def test_a_typed_time_utc_cannot_hold_is_named_not_a_500(web_trial: Any) -> None:
    """In Tokyo (local mean time, +9:19, before 1888) 0001-01-01 00:00 is before the year 1
    in UTC: ``astimezone`` raised ``OverflowError`` (a 500); now the box names it (issue 16,
    item 9)."""
    from celltrial.edc import actions

    actions.set_site_time_zone(web_trial.admin, "site1", "Asia/Tokyo")
    p = randomized(web_trial)
    c = client_for("coord1")
    r = post(
        c,
        f"/p/{p.code}/ae",
        {"term": "Headache", "onset": "0001-01-01T00:00", "grade": "1", "outcome": "recovered"},
    )
    assert r.status_code == 200 and 'id="err_onset"' in r.content.decode()
    r = post(c, f"/p/{p.code}/visit/day3", {"at": "0001-01-01T00:00"})
    assert r.status_code == 302 and not p.visits.filter(visit="day3", done_at__isnull=False)


def test_cm_and_mh_forms_on_the_web(web_trial: Any) -> None:
    p = randomized(web_trial)
    c = client_for("coord1")
    r = post(c, f"/p/{p.code}/medications", {"medication": "Heparin", "dose": "lots"})
    page = r.content.decode()
    assert r.status_code == 200 and 'id="err_dose"' in page and "a number" in page
    r = post(
        c,
        f"/p/{p.code}/medications",
        {
            "medication": "Heparin",
            "route": "subcutaneous",
            "missing.dose": "unknown",
            "start_date": "2025-01-06",
        },
    )
    assert r.status_code == 302, r.content.decode()
    page = text(c.get(f"/p/{p.code}/medications").content)
    assert "Subcutaneous" in page and "Unknown" in page and "subcutaneous" not in page
    r = post(c, f"/p/{p.code}/history", {"not_done": "on"})
    assert 'id="err_not_done_reason"' in r.content.decode()
    r = post(c, f"/p/{p.code}/history", {"not_done": "on", "not_done_reason": "unconscious"})
    assert r.status_code == 302
    assert "Not done — unconscious" in text(c.get(f"/p/{p.code}/history").content)
    page = c.get(f"/p/{p.code}").content.decode()
    assert "Medications (1)" in page and "Medical history (1)" in page
    # a monitor reads them (no form), and no page shows an arm
    mon = client_for("mon1")
    for url in (f"/p/{p.code}/medications", f"/p/{p.code}/history"):
        body = mon.get(url).content.decode()
        assert "Heparin" in body or "unconscious" in body
        assert "<form" not in body.split("<main", 1)[1] or "Record the" not in body
        no_arm(body)
        no_arm(c.get(url).content.decode())
    assert post(mon, f"/p/{p.code}/history", {"term": "x"}).status_code == 200
    assert not p.medical_history.filter(term="x").exists()


def test_cm_mh_and_ae_corrections_on_the_web(web_trial: Any) -> None:
    """The correction pages of the safety CRF (no browser): who sees the links and may post;
    a CM corrected with the entry rules and a reason; an MH row marked entered in error; an AE
    page with every field of the AE form, and a required field given a missing-data code."""
    from celltrial.edc import actions
    from celltrial.edc.models import AdverseEvent, ConcomitantMedication, MedicalHistory

    start = dt.datetime(2025, 1, 10, 9, tzinfo=dt.UTC)
    p = randomized(web_trial, at=start)
    coord = web_trial["coord1"]
    cm = actions.record_medication(coord, p, medication="Heparin", start_date="2025-01-06")
    mh = actions.record_medical_history(coord, p, term="Gout", start_date="2012-01-01")
    ae = actions.report_adverse_event(
        coord,
        p,
        term="Rash",
        onset=start + dt.timedelta(days=2),
        grade=1,
        relatedness="possible",
        outcome="recovering",
        ongoing=True,
    )
    c = client_for("coord1")
    page = c.get(f"/p/{p.code}/medications").content.decode()
    assert f'href="/p/{p.code}/edit/medication/{cm.id}"' in page
    assert f'href="/p/{p.code}/in-error/medication/{cm.id}"' in page
    form = {
        "medication": "Heparin",
        "dose": "5000",
        "route": "subcutaneous",
        "start_date": "2025-01-06",
        "reason": "from the chart",
    }
    r = post(c, f"/p/{p.code}/edit/medication/{cm.id}", form)
    assert r.status_code == 200 and 'id="err_dose_unit"' in r.content.decode()
    r = post(c, f"/p/{p.code}/edit/medication/{cm.id}", {**form, "dose_unit": "IU"})
    assert r.status_code == 302 and r.headers["Location"] == f"/p/{p.code}/medications"
    cm.refresh_from_db()
    assert (cm.dose, cm.dose_unit, cm.route) == (5000.0, "IU", "subcutaneous")
    r = post(c, f"/p/{p.code}/in-error/medical_history/{mh.id}", {"reason": "not this patient"})
    assert r.status_code == 302 and r.headers["Location"] == f"/p/{p.code}/history"
    assert MedicalHistory.objects.get(pk=mh.id).entered_in_error
    page = c.get(f"/p/{p.code}/history").content.decode()
    assert 'class="in-error"' in page and f"/edit/medical_history/{mh.id}" not in page
    # The AE page: every field of the AE form, stored values shown as the form's options.
    page = c.get(f"/p/{p.code}/edit/adverse_event/{ae.id}").content.decode()
    for name in (
        "term", "grade", "onset", "aware_at", "end_at", "ongoing", "serious_criteria",
        "relatedness", "procedure_relatedness", "expected", "action_taken", "outcome",
        "infusion_associated",
    ):  # fmt: skip
        assert f'name="{name}"' in page, name
    assert 'name="missing.relatedness"' in page and 'name="missing.outcome"' in page
    ae_form = {
        "term": "Rash",
        "grade": "1",
        "onset": "2025-01-12T09:00",
        "aware_at": dt.datetime.fromisoformat(str(ae.aware_at)).strftime("%Y-%m-%dT%H:%M"),
        "ongoing": "on",
        "relatedness": "",
        "missing.relatedness": "asked_unknown",
        "outcome": "recovering",
        "reason": "the investigator could not assess it",
    }
    r = post(c, f"/p/{p.code}/edit/adverse_event/{ae.id}", ae_form)
    assert r.status_code == 302, text(r.content)[-600:]
    ae = AdverseEvent.objects.get(pk=ae.id)
    assert ae.relatedness == "" and ae.missing == {"relatedness": "asked_unknown"}
    assert "Product: Asked but unknown" in text(c.get(f"/p/{p.code}").content)
    # Roles: a monitor reads, but neither sees the links nor may post.
    mon = client_for("mon1")
    assert "/edit/medication/" not in mon.get(f"/p/{p.code}/medications").content.decode()
    r = post(mon, f"/p/{p.code}/edit/medication/{cm.id}", {**form, "dose_unit": "mg"})
    assert r.status_code == 403
    assert ConcomitantMedication.objects.get(pk=cm.id).dose_unit == "IU"
