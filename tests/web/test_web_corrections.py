"""Issue 15 on the web: corrections of every record type (with a reason, audited, re-checked
by the entry rules), "entered in error", the likely-duplicate warning, and Day 0 not missing
the moment a participant is randomized (the visit waits for the first infusion)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from edc_helpers import FIRST_DOSE_ANCHOR, make_trial, randomized
from web_helpers import client_for, post, with_passwords

from celltrial.edc import actions
from celltrial.edc.models import AuditEntry, ClinicalEvent, Deviation, Measurement

NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def _local(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def test_every_record_is_corrected_or_marked_in_error_on_the_web(web_trial: Any) -> None:
    c = web_trial["coord1"]
    p = randomized(web_trial, at=NOW - dt.timedelta(days=3))
    web = client_for("coord1")
    # A clinical event and a deviation: edited (re-checked: not in the future), audited.
    ev = actions.record_clinical_event(
        c, p, event="extubation", occurred_at=NOW - dt.timedelta(days=1)
    )
    url = f"/p/{p.code}/edit/clinical_event/{ev.pk}"
    assert web.get(url).status_code == 200
    form = {"term": "", "occurred_at": _local(NOW + dt.timedelta(days=2)), "occurred": "on"}
    bad = post(web, url, {**form, "reason": "wrong day"})
    assert bad.status_code == 200 and "future" in bad.content.decode()
    ok = post(
        web,
        url,
        {**form, "occurred_at": _local(NOW - dt.timedelta(hours=30)), "reason": "wrong day"},
    )
    assert ok.status_code == 302, ok.content.decode()
    assert ClinicalEvent.objects.get(pk=ev.pk).occurred_at == NOW - dt.timedelta(hours=30)
    dv = actions.record_deviation(c, p, category="minor", description="Late sample")
    r = post(
        web,
        f"/p/{p.code}/edit/deviation/{dv.pk}",
        {"description": "Late IL-6 sample", "occurred_at": "", "reason": "clearer"},
    )
    assert r.status_code == 302, r.content.decode()
    assert Deviation.objects.get(pk=dv.pk).description == "Late IL-6 sample"
    # Entered in error: a reason is required; the record stays, marked, and is audited.
    page = web.get(f"/p/{p.code}").content.decode()
    assert f"/p/{p.code}/in-error/deviation/{dv.pk}" in page
    assert post(web, f"/p/{p.code}/in-error/deviation/{dv.pk}", {"reason": ""}).status_code == 200
    r = post(web, f"/p/{p.code}/in-error/deviation/{dv.pk}", {"reason": "wrong participant"})
    assert r.status_code == 302
    assert Deviation.objects.get(pk=dv.pk).entered_in_error
    assert AuditEntry.objects.filter(
        action="mark_entered_in_error", reason="wrong participant"
    ).exists()
    assert "entered in error" in web.get(f"/p/{p.code}").content.decode()
    # A likely duplicate (same measurement, same visit): a warning to confirm, then saved.
    post(web, f"/p/{p.code}/measure?visit=baseline", {"visit": "baseline", "il6": "12"})
    again = post(web, f"/p/{p.code}/measure?visit=baseline", {"visit": "baseline", "il6": "12"})
    assert again.status_code == 200 and 'name="il6__duplicate"' in again.content.decode()
    r = post(
        web,
        f"/p/{p.code}/measure?visit=baseline",
        {"visit": "baseline", "il6": "12", "il6__duplicate": "on"},
    )
    assert r.status_code == 302
    assert Measurement.objects.filter(participant=p, code="il6").count() == 2
    # A death is corrected on the web (it answered 404): time and cause, with a reason.
    q = randomized(web_trial, at=NOW - dt.timedelta(days=3))
    death = actions.record_death(c, q, died_at=NOW - dt.timedelta(days=1), cause="ARDS")
    assert f"/p/{q.code}/edit/death/{death.pk}" in web.get(f"/p/{q.code}").content.decode()
    url = f"/p/{q.code}/edit/death/{death.pk}"
    assert web.get(url).status_code == 200
    r = post(
        web,
        url,
        {"died_at": _local(death.died_at), "cause": "Septic shock", "reason": "certificate"},
    )
    assert r.status_code == 302, r.content.decode()
    death.refresh_from_db()
    assert death.cause == "Septic shock"
    assert q.dispositions.get(kind="death").reason == "Septic shock"


def test_day0_is_not_missing_after_randomization_on_the_web(db: Any) -> None:
    t = with_passwords(make_trial(replace=FIRST_DOSE_ANCHOR))
    p = randomized(t, at=NOW - dt.timedelta(hours=5))
    web = client_for("coord1")
    page = web.get(f"/p/{p.code}").content.decode()
    assert '<span class="bad">missing</span>' not in page  # before: Day 0 "missing" at once
    assert "Nothing overdue." in web.get("/dashboard").content.decode()
