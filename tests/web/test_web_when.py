"""Issue 15, "when, not just what": the web forms take when a sample was drawn and when the
site became aware of an adverse event (the SAE clock runs from awareness), and the entry rules
(:mod:`celltrial.dataset.rules`) refuse a time that breaks one, next to its field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from edc_helpers import randomized
from web_helpers import client_for, post


def _local(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def test_ae_form_takes_awareness_and_the_sae_clock_runs_from_it(web_trial: Any) -> None:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    p = randomized(web_trial, at=now - dt.timedelta(days=2))
    c = client_for("coord1")
    assert 'name="aware_at"' in c.get(f"/p/{p.code}/ae").content.decode()
    aware = now - dt.timedelta(hours=20)
    r = post(
        c,
        f"/p/{p.code}/ae",
        {
            "term": "hypotension",
            "onset": _local(now - dt.timedelta(days=1)),
            "aware_at": _local(aware),
            "grade": "3",
            "relatedness": "possible",
            "outcome": "recovered",
            "serious_criteria": ["hospitalization"],
        },
    )
    assert r.status_code == 302, r.content.decode()
    ae = p.adverse_events.get()
    assert ae.aware_at == aware
    assert ae.sae_due_at == aware + dt.timedelta(hours=24)  # not entry time + 24 h


def test_measure_form_takes_the_sample_time_and_refuses_one_after_death(web_trial: Any) -> None:
    from celltrial.edc import actions

    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    p = randomized(web_trial, at=now - dt.timedelta(days=2))
    c = client_for("coord1")
    assert 'name="measured_at"' in c.get(f"/p/{p.code}/measure?visit=day7").content.decode()
    drawn = now - dt.timedelta(hours=30)
    r = post(
        c, f"/p/{p.code}/measure", {"visit": "day7", "il6": "30", "measured_at": _local(drawn)}
    )
    assert r.status_code == 302, r.content.decode()
    assert p.measurements.get(code="il6").measured_at == drawn
    actions.record_death(web_trial["coord1"], p, died_at=now - dt.timedelta(hours=10), cause="ARDS")
    r = post(c, f"/p/{p.code}/measure", {"visit": "day7", "il6": "31"})  # blank: now
    page = r.content.decode()
    assert r.status_code == 200 and 'id="err_measured_at"' in page
    assert "rule nothing_after_death" in page
    assert p.measurements.count() == 1


def test_visit_form_takes_when_the_visit_took_place(web_trial: Any) -> None:
    """The timeline's "Visit done" has a time box (blank: now): the visit is stamped with the
    time typed; a time in the future or not a time is refused, named on the page."""
    from celltrial.edc.models import VisitRecord

    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    p = randomized(web_trial, at=now - dt.timedelta(days=7))
    c = client_for("coord1")
    assert (
        'id="id_at_day7" name="at" type="datetime-local"' in c.get(f"/p/{p.code}").content.decode()
    )
    for typed, said in ((_local(now + dt.timedelta(days=1)), "in the future"), ("soon", "a date")):
        r = post(c, f"/p/{p.code}/visit/day7", {"at": typed})
        assert r.status_code == 302
        page = c.get(f"/p/{p.code}").content.decode()
        assert "day7 done at: " in page and said in page, typed
        assert VisitRecord.objects.get(participant=p, visit="day7").done_at is None
    done = now - dt.timedelta(hours=2)
    assert post(c, f"/p/{p.code}/visit/day7", {"at": _local(done)}).status_code == 302
    v = VisitRecord.objects.get(participant=p, visit="day7")
    assert v.done_at == done and v.in_window  # day 7 ± 1 d: 6 d 22 h after randomization
    # Day 28, three weeks away, is upcoming: its window's opening said, no time box offered.
    page = c.get(f"/p/{p.code}").content.decode()
    row = page.split(">Day 28</th>")[1].split("</tr>")[0]
    assert "upcoming" in row and "window opens" in row and ">due<" not in row
    assert 'id="id_at_day28"' not in page


def test_refusal_and_timeline_in_the_site_time_zone(web_trial: Any) -> None:
    """At a site in Sao Paulo (UTC-3, no abbreviation) a rule's refusal writes its times as
    the page does, in the site's zone (not ISO 8601 in UTC), the rule once; the timeline's
    headers name the zone and an upcoming visit's window opening is local (issue 17)."""
    from celltrial.edc import actions

    actions.set_site_time_zone(web_trial.admin, "site1", "America/Sao_Paulo")
    sp = dt.timezone(dt.timedelta(hours=-3))
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    p = randomized(web_trial, at=now - dt.timedelta(days=3))
    c = client_for("coord1")
    page = c.get(f"/p/{p.code}").content.decode()
    assert "Nominal (America/Sao_Paulo)" in page and "Window (America/Sao_Paulo)" in page
    day90 = p.visits.get(visit="day90")
    row = page.split(">Day 90</th>")[1].split("</tr>")[0]
    assert f"window opens {day90.earliest.astimezone(sp):%Y-%m-%d %H:%M}" in row
    died = (now - dt.timedelta(days=2)).astimezone(sp)
    actions.record_death(web_trial["coord1"], p, died_at=died, cause="ARDS")
    onset = (now - dt.timedelta(days=1)).astimezone(sp)
    body = {"term": "Headache", "grade": "1", "relatedness": "not_related"}
    r = post(
        c, f"/p/{p.code}/ae", body | {"outcome": "recovered", "onset": f"{onset:%Y-%m-%dT%H:%M}"}
    )
    err = r.content.decode().split('id="err_onset"')[1].split("</p>")[0]
    assert f"at {onset:%Y-%m-%d %H:%M} UTC-03 is after death ({died:%Y-%m-%d %H:%M} UTC-03)." in err
    assert "This breaks rule nothing_after_death: nothing happens after death" in err
    assert err.count("nothing_after_death") == 1 and "Z)" not in err
