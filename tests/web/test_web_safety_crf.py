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
