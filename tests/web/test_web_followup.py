"""Follow-up pages: withdrawal, lost to follow-up and death (one page, three forms), study
completion, clinical events, protocol deviations and visits not done; through Django's test
client (each form's record, status and audit row; errors next to their field; roles; CSRF),
then one scenario in Debian's Chromium (Playwright) against the server in a thread."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from edc_helpers import ELIGIBLE, make_trial, randomized
from web_helpers import (
    SHOTS,
    browser_only,
    client_for,
    live_server,
    log_in,
    no_arm,
    post,
    text,
    with_passwords,
)


def local(t: dt.datetime) -> str:
    """A time as a ``datetime-local`` box holds it (UTC)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def field_error(html: str, field_id: str) -> str:
    """The message shown next to the field ``id_<field_id>`` (asserting it is linked to it)."""
    m = re.search(rf'<p class="field-error" id="err_{field_id}">([^<]*)</p>', html)
    assert m is not None, f"no error next to {field_id}"
    described = re.search(rf'aria-describedby="[^"]*\berr_{field_id}"', html)
    assert described is not None, f"{field_id} is not described by its error"
    return m[1]


def audit_actions(table: str) -> list[str]:
    from celltrial.edc.models import AuditEntry

    return list(
        AuditEntry.objects.filter(table=table).order_by("seq").values_list("action", flat=True)
    )


@pytest.fixture
def trial(web_trial: Any) -> Any:
    return web_trial


# ------------------------------------------------------------------ withdrawal, lost, death


def test_withdrawal_through_the_leave_page(trial: Any) -> None:
    from celltrial.edc.models import AuditEntry, Disposition

    p = randomized(trial)
    coord = client_for("coord1")
    page = coord.get(f"/p/{p.code}")
    assert f'href="/p/{p.code}/leave"' in page.content.decode()
    html = coord.get(f"/p/{p.code}/leave").content.decode()
    for h in ("Withdrawal", "Lost to follow-up", "Death"):
        assert f">{h}</h2>" in html
    assert html.count('name="confirm"') == 3
    assert 'name="form" value="withdraw"' in html and 'id="id_withdraw_at"' in html
    r = post(
        coord,
        f"/p/{p.code}/leave",
        {
            "form": "withdraw",
            "reason": "Wishes to stop: too many blood draws",
            "by": "participant",
            "at": "",  # default: now
            "confirm": "on",
        },
    )
    assert r.status_code == 302 and r["Location"] == f"/p/{p.code}"
    p.refresh_from_db()
    assert p.status == "withdrawn"
    d = Disposition.objects.get(participant=p)
    assert (d.kind, d.by, d.reason) == (
        "withdrawn",
        "participant",
        "Wishes to stop: too many blood draws",
    )
    assert abs((now() - d.at).total_seconds()) < 600
    row = AuditEntry.objects.get(action="withdraw")
    assert row.actor == "coord1" and row.record_id == str(d.pk)
    page = text(coord.get(f"/p/{p.code}").content)
    assert "withdrew from the trial" in page  # the notice
    assert "End of follow-up" in page and "Withdrew on" in page
    assert "withdrawn by the participant" in page and "too many blood draws" in page
    # The leave page no longer offers the withdrawal, still the death.
    html = coord.get(f"/p/{p.code}/leave").content.decode()
    assert 'value="withdraw"' not in html and 'value="death"' in html
    assert "Not available: " + p.code + " is withdrawn" in text(html.encode())


def test_withdrawal_errors_are_next_to_their_field(trial: Any) -> None:
    from celltrial.edc.models import AuditEntry, Disposition

    p = randomized(trial)
    coord = client_for("coord1")
    url = f"/p/{p.code}/leave"
    base = {"form": "withdraw", "reason": "Moved abroad", "by": "guardian", "at": ""}

    # No confirmation: nothing is called, the box says why, the values stay.
    r = post(coord, url, base)
    assert r.status_code == 200
    html = r.content.decode()
    assert "final" in field_error(html, "withdraw_confirm")
    assert 'aria-invalid="true"' in html.split('id="id_withdraw_confirm"')[1].split(">")[0]
    assert ">Moved abroad</textarea>" in html
    assert '<option value="guardian" selected>' in html
    assert 'id="withdraw-errors"' in html

    # No reason (the action's rule), confirmation kept ticked.
    r = post(coord, url, {**base, "reason": "  ", "confirm": "on"})
    html = r.content.decode()
    assert field_error(html, "withdraw_reason") == "say why the participant withdraws"
    assert "checked" in html.split('id="id_withdraw_confirm"')[1].split(">")[0]

    # A time in the future, a time that is not one, a "by" not in the list.
    later = local(now() + dt.timedelta(days=2))
    r = post(coord, url, {**base, "at": later, "confirm": "on"})
    html = r.content.decode()
    assert "in the future" in field_error(html, "withdraw_at")
    assert f'value="{later}"' in html
    r = post(coord, url, {**base, "at": "yesterday", "confirm": "on"})
    assert "not a date and time" in field_error(r.content.decode(), "withdraw_at")
    r = post(coord, url, {**base, "by": "neighbour", "confirm": "on"})
    assert "one of participant, investigator, sponsor, guardian" in field_error(
        r.content.decode(), "withdraw_by"
    )

    # Errors on one form leave the others untouched.
    assert 'id="err_lost_last_contact"' not in html and 'id="err_death_cause"' not in html
    p.refresh_from_db()
    assert p.status == "randomized"
    assert not Disposition.objects.exists()
    assert not AuditEntry.objects.filter(action="withdraw").exists()


def test_lost_to_follow_up(trial: Any) -> None:
    from celltrial.edc.models import AuditEntry, Disposition

    p = randomized(trial, at=now() - dt.timedelta(days=20))
    coord = client_for("coord1")
    url = f"/p/{p.code}/leave"
    r = post(coord, url, {"form": "lost", "reason": "", "confirm": "on"})
    assert "required" in field_error(r.content.decode(), "lost_last_contact")
    # The shared "not in the future" rule is shown next to this form's own time box.
    r = post(
        coord,
        url,
        {"form": "lost", "last_contact": local(now() + dt.timedelta(hours=3)), "confirm": "on"},
    )
    html = r.content.decode()
    assert "in the future" in field_error(html, "lost_last_contact")
    assert 'id="err_withdraw_at"' not in html
    last = now() - dt.timedelta(days=12)
    r = post(
        coord,
        url,
        {
            "form": "lost",
            "last_contact": local(last),
            "reason": "Three calls and a letter unanswered",
            "confirm": "on",
        },
    )
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.status == "lost_to_follow_up"
    d = Disposition.objects.get(participant=p)
    assert d.kind == "lost_to_follow_up" and local(d.at) == local(last)
    assert AuditEntry.objects.filter(action="mark_lost_to_follow_up").count() == 1
    page = text(coord.get(f"/p/{p.code}").content)
    assert "Lost to follow-up ; last contact" in page and "Three calls" in page


def test_death_and_its_errors(trial: Any) -> None:
    from celltrial.edc.models import AuditEntry, Death

    p = randomized(trial, at=now() - dt.timedelta(days=3))
    inv = client_for("inv1")
    url = f"/p/{p.code}/leave"
    html = inv.get(url).content.decode()
    assert f'href="/p/{p.code}/ae"' in html and "grade 5" in html  # the AE is reported apart
    died = local(now() - dt.timedelta(hours=5))
    r = post(inv, url, {"form": "death", "died_at": died, "cause": "", "confirm": "on"})
    html = r.content.decode()
    assert "cause of death is required" in field_error(html, "death_cause")
    assert f'value="{died}"' in html
    r = post(inv, url, {"form": "death", "died_at": "", "cause": "ARDS", "confirm": "on"})
    assert "required" in field_error(r.content.decode(), "death_died_at")
    r = post(inv, url, {"form": "death", "died_at": died, "cause": "ARDS"})
    assert "final" in field_error(r.content.decode(), "death_confirm")
    future = local(now() + dt.timedelta(days=1))
    r = post(inv, url, {"form": "death", "died_at": future, "cause": "ARDS", "confirm": "on"})
    assert "in the future" in field_error(r.content.decode(), "death_died_at")
    assert not Death.objects.exists()

    r = post(
        inv,
        url,
        {"form": "death", "died_at": died, "cause": "Refractory hypoxaemia", "confirm": "on"},
    )
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.status == "dead"
    death = Death.objects.get(participant=p)
    assert death.cause == "Refractory hypoxaemia" and local(death.died_at) == died
    assert [a for a in audit_actions("death")] == ["record_death"]
    assert AuditEntry.objects.filter(action="record_death", table="disposition").exists()
    page = text(inv.get(f"/p/{p.code}").content)
    assert "Death of " + p.code + " recorded" in page and "grade 5" in page
    assert "Died on" in page and "Refractory hypoxaemia" in page
    # Dead: no link to the leave page any more, and a second death is a conflict shown above
    # the death form.
    assert f'href="/p/{p.code}/leave"' not in inv.get(f"/p/{p.code}").content.decode()
    r = post(inv, url, {"form": "death", "died_at": died, "cause": "ARDS", "confirm": "on"})
    assert r.status_code == 200
    html = r.content.decode()
    alert = html.split('id="death-errors"')[1].split("</div>")[0]
    assert f"{p.code} is dead" in alert
    assert Death.objects.count() == 1


def test_already_left_is_a_conflict_and_death_may_follow_withdrawal(trial: Any) -> None:
    from celltrial.edc import actions
    from celltrial.edc.models import Disposition

    p = randomized(trial, at=now() - dt.timedelta(days=5))
    actions.withdraw(
        trial["coord1"],
        p,
        reason="Consent withdrawn",
        by="participant",
        at=now() - dt.timedelta(days=1),  # the death below follows it (rule nothing_after_death)
    )
    coord = client_for("coord1")
    url = f"/p/{p.code}/leave"
    # The page says so and hides the withdrawal and loss forms.
    html = coord.get(url).content.decode()
    assert "Withdrew on" in text(html.encode()) and "Consent withdrawn" in html
    # A submission anyway (another tab): the conflict is shown above that form.
    for form, extra in (
        ("withdraw", {"reason": "again", "by": "participant"}),
        ("lost", {"last_contact": local(now() - dt.timedelta(days=1))}),
    ):
        r = post(coord, url, {"form": form, **extra, "confirm": "on"})
        assert r.status_code == 200
        alert = r.content.decode().split(f'id="{form}-errors"')[1].split("</div>")[0]
        assert f"{p.code} is withdrawn" in alert, form
    assert Disposition.objects.filter(participant=p).count() == 1
    # The vital status is still recorded after a withdrawal.
    died = local(now() - dt.timedelta(hours=2))
    r = post(coord, url, {"form": "death", "died_at": died, "cause": "Sepsis", "confirm": "on"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.status == "dead"
    page = text(coord.get(f"/p/{p.code}").content)
    assert "Withdrew on" in page and "Died on" in page and "Sepsis" in page


def test_unknown_form_and_other_site(trial: Any) -> None:
    p = randomized(trial)
    coord = client_for("coord1")
    r = post(coord, f"/p/{p.code}/leave", {"form": "vanish", "confirm": "on"})
    assert r.status_code == 422 and "one of withdraw, lost, death" in text(r.content)
    other = client_for("coord2")  # site2 only
    for path in ("leave", "complete", "event", "deviation", "visit/day7/not-done"):
        assert other.get(f"/p/{p.code}/{path}").status_code == 404, path


# --------------------------------------------------------------------------------- roles


def test_roles_and_links(trial: Any) -> None:
    from celltrial.edc.models import Death, Deviation

    p = randomized(trial, at=now() - dt.timedelta(days=10))
    pages = ["leave", "complete", "event", "visit/day7/not-done"]
    # The monitor: read-only clinical data, but deviations; never a death.
    mon = client_for("mon1")
    for path in pages:
        assert mon.get(f"/p/{p.code}/{path}").status_code == 403, path
    r = post(
        mon,
        f"/p/{p.code}/leave",
        {"form": "death", "died_at": local(now()), "cause": "x", "confirm": "on"},
    )
    assert r.status_code == 403 and "may not open this page" in text(r.content)
    assert not Death.objects.exists()
    assert mon.get(f"/p/{p.code}/deviation").status_code == 200
    page = mon.get(f"/p/{p.code}").content.decode()
    assert f'href="/p/{p.code}/deviation"' in page
    for path in pages:
        assert f'href="/p/{p.code}/{path}"' not in page, path
    # Pharmacist, DSMB, data manager: none of these pages (the DSMB is not even a site reader
    # of forms); they see no link.
    for name in ("pharm", "dsmb", "dm"):
        c = client_for(name)
        for path in [*pages, "deviation"]:
            assert c.get(f"/p/{p.code}/{path}").status_code == 403, (name, path)
        r = post(c, f"/p/{p.code}/deviation", {"category": "minor", "description": "x"})
        assert r.status_code == 403, name
        page = c.get(f"/p/{p.code}").content.decode()
        for path in [*pages, "deviation"]:
            assert f'href="/p/{p.code}/{path}"' not in page, (name, path)
    assert not Deviation.objects.exists()
    # Site staff see every link, and the "not done" link beside each open visit.
    page = client_for("inv1").get(f"/p/{p.code}").content.decode()
    for path in ["leave", "complete", "event", "deviation", "visit/day7/not-done"]:
        assert f'href="/p/{p.code}/{path}"' in page, path


def test_csrf_is_enforced(trial: Any) -> None:
    from celltrial.edc.models import Deviation, Disposition

    p = randomized(trial)
    coord = client_for("coord1")
    r = coord.post(
        f"/p/{p.code}/leave",
        {"form": "withdraw", "reason": "x", "by": "participant", "confirm": "on"},
    )
    assert r.status_code == 403
    r = coord.post(f"/p/{p.code}/deviation", {"category": "minor", "description": "x"})
    assert r.status_code == 403
    assert not Disposition.objects.exists() and not Deviation.objects.exists()
    p.refresh_from_db()
    assert p.status == "randomized"


@pytest.mark.parametrize("name", ["coord1", "inv1", "mon1"])
def test_follow_up_pages_show_no_arm(trial: Any, name: str) -> None:
    from celltrial.edc import actions

    p = randomized(trial, at=now() - dt.timedelta(days=10))
    actions.record_clinical_event(
        trial["coord1"], p, event="extubation", occurred_at=now() - dt.timedelta(days=2)
    )
    actions.record_deviation(trial["mon1"], p, category="minor", description="late IL-6 sample")
    c = client_for(name)
    seen = 0
    for path in ["", "/leave", "/complete", "/event", "/deviation", "/visit/day7/not-done"]:
        r = c.get(f"/p/{p.code}{path}")
        assert r.status_code in (200, 403), (path, r.status_code)
        no_arm(r.content.decode())
        seen += r.status_code == 200
    assert seen >= 2


# ------------------------------------------------------------------------ study completion


def test_study_completion(trial: Any) -> None:
    from celltrial.edc.models import AuditEntry, Disposition

    early = randomized(trial)
    coord = client_for("coord1")
    url = f"/p/{early.code}/complete"
    html = coord.get(url).content.decode()
    assert "Day 90" in html and 'id="last-visit"' in html
    r = post(coord, url, {"at": "", "confirm": "on"})
    assert "before the last scheduled visit, day90" in field_error(r.content.decode(), "at")
    r = post(coord, url, {"at": ""})
    assert "final" in field_error(r.content.decode(), "confirm")
    assert not Disposition.objects.exists()

    p = randomized(trial, at=now() - dt.timedelta(days=91))
    page = coord.get(f"/p/{p.code}").content.decode()
    assert f'href="/p/{p.code}/complete"' in page
    r = post(coord, f"/p/{p.code}/complete", {"at": "", "confirm": "on"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.status == "completed"
    assert Disposition.objects.get(participant=p).kind == "completed"
    assert AuditEntry.objects.filter(action="complete_study").count() == 1
    page = text(coord.get(f"/p/{p.code}").content)
    assert "completed the study" in page and "Completed the study on" in page
    # Completed: nothing ends the follow-up again.
    html = coord.get(f"/p/{p.code}/complete").content.decode()
    assert "Not available" in html and 'name="confirm"' not in html
    r = post(coord, f"/p/{p.code}/complete", {"at": "", "confirm": "on"})
    alert = r.content.decode().split('id="complete-errors"')[1].split("</div>")[0]
    assert "is completed" in alert
    r = post(
        coord,
        f"/p/{p.code}/leave",
        {"form": "withdraw", "reason": "x", "by": "participant", "confirm": "on"},
    )
    assert f"{p.code} is completed" in r.content.decode().split('id="withdraw-errors"')[1]


# ------------------------------------------------------------------------- clinical events


def test_clinical_event(trial: Any) -> None:
    from celltrial.edc.models import ClinicalEvent

    rand_at = now() - dt.timedelta(days=6)
    p = randomized(trial, at=rand_at)
    coord = client_for("coord1")
    url = f"/p/{p.code}/event"
    html = coord.get(url).content.decode()
    # The protocol's events, less those recorded elsewhere (death, SAE).
    options = re.findall(
        r'<option value="([^"]*)"', html.split('id="id_event"')[1].split("</select>")[0]
    )
    assert options == ["extubation"]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)[1]
    at = local(now() - dt.timedelta(days=2))
    base = {"event": "extubation", "occurred_at": at, "term": "", "occurred": "yes"}

    r = post(coord, url, {**base, "occurred_at": "", "idempotency_key": key})
    assert "required" in field_error(r.content.decode(), "occurred_at")
    before = local(rand_at - dt.timedelta(days=1))
    r = post(coord, url, {**base, "occurred_at": before, "idempotency_key": key})
    html = r.content.decode()
    assert "before" in field_error(html, "occurred_at") and "randomization" in html
    assert f'value="{before}"' in html and f'value="{key}"' in html  # kept, same key
    r = post(coord, url, {**base, "event": "death", "idempotency_key": key})
    assert "record_death" in field_error(r.content.decode(), "event")
    r = post(coord, url, {**base, "occurred": "maybe", "idempotency_key": key})
    assert 'id="err_occurred"' in r.content.decode()
    r = post(coord, url, {**base, "term": "x" * 201, "idempotency_key": key})
    assert "at most 200 characters" in field_error(r.content.decode(), "term")
    assert not ClinicalEvent.objects.exists()

    r = post(coord, url, {**base, "term": "Extubated to HFNO", "idempotency_key": key})
    assert r.status_code == 302
    e = ClinicalEvent.objects.get()
    assert (e.event, e.term, e.occurred, local(e.occurred_at)) == (
        "extubation",
        "Extubated to HFNO",
        True,
        at,
    )
    assert audit_actions("clinicalevent") == ["record_clinical_event"]
    # The same submission again (a double click): the idempotency key writes nothing twice.
    r = post(coord, url, {**base, "term": "Extubated to HFNO", "idempotency_key": key})
    assert r.status_code == 302 and ClinicalEvent.objects.count() == 1
    page = text(coord.get(f"/p/{p.code}").content)
    assert "Clinical event recorded: Successful extubation" in page
    assert "extubation (Extubated to HFNO)" in page
    # The same event at the same time from a new form: a conflict, shown above the form.
    r = post(coord, url, {**base, "idempotency_key": "another"})
    assert "recorded already" in field_error(r.content.decode(), "event")
    # Asked about and did not occur.
    r = post(
        coord,
        url,
        {
            **base,
            "occurred_at": local(now() - dt.timedelta(days=1)),
            "occurred": "no",
            "idempotency_key": "k3",
        },
    )
    assert r.status_code == 302
    assert ClinicalEvent.objects.filter(occurred=False).count() == 1
    assert "did not occur" in text(coord.get(url).content)


def test_clinical_event_needs_randomization(trial: Any) -> None:
    from celltrial.edc import actions

    p = actions.screen_participant(trial["coord1"], "site1", dict(ELIGIBLE))
    coord = client_for("coord1")
    assert f'href="/p/{p.code}/event"' not in coord.get(f"/p/{p.code}").content.decode()
    r = post(
        coord,
        f"/p/{p.code}/event",
        {"event": "extubation", "occurred_at": local(now()), "occurred": "yes"},
    )
    assert r.status_code == 200
    assert "not randomized" in r.content.decode().split('id="event-errors"')[1]


# ------------------------------------------------------------------------------ deviations


def test_deviation_by_site_and_monitor(trial: Any) -> None:
    from celltrial.edc.models import AuditEntry, Deviation

    p = randomized(trial, at=now() - dt.timedelta(days=4))
    coord = client_for("coord1")
    url = f"/p/{p.code}/deviation"
    r = post(coord, url, {"category": "", "description": "Infusion 2 h late"})
    html = r.content.decode()
    assert "one of major, minor" in field_error(html, "category")
    assert ">Infusion 2 h late</textarea>" in html
    r = post(coord, url, {"category": "major", "description": " "})
    html = r.content.decode()
    assert field_error(html, "description") == "say what deviated from the protocol"
    assert 'value="major" checked' in html
    r = post(
        coord,
        url,
        {
            "category": "major",
            "description": "x",
            "occurred_at": local(now() + dt.timedelta(days=1)),
        },
    )
    assert "in the future" in field_error(r.content.decode(), "occurred_at")
    assert not Deviation.objects.exists()

    when = local(now() - dt.timedelta(days=3))
    r = post(
        coord,
        url,
        {"category": "major", "description": "Second infusion given 3 h late", "occurred_at": when},
    )
    assert r.status_code == 302
    mon = client_for("mon1")
    r = post(mon, url, {"category": "minor", "description": "Day 1 IL-6 not centrifuged"})
    assert r.status_code == 302
    rows = list(Deviation.objects.order_by("id"))
    assert [(d.category, d.occurred_at is not None) for d in rows] == [
        ("major", True),
        ("minor", False),
    ]
    assert [
        (e.actor, e.action) for e in AuditEntry.objects.filter(table="deviation").order_by("seq")
    ] == [
        ("coord1", "record_deviation"),
        ("mon1", "record_deviation"),
    ]
    page = text(mon.get(f"/p/{p.code}").content)
    assert "Minor protocol deviation recorded." in page
    assert "Second infusion given 3 h late" in page and "Day 1 IL-6 not centrifuged" in page
    assert "Deviation log of" in text(mon.get(url).content)


# -------------------------------------------------------------------------- visits not done


def test_visit_not_done(trial: Any) -> None:
    from celltrial.edc import actions
    from celltrial.edc.models import VisitRecord

    p = randomized(trial, at=now() - dt.timedelta(days=10))
    coord = client_for("coord1")
    page = coord.get(f"/p/{p.code}").content.decode()
    assert f'href="/p/{p.code}/visit/day7/not-done"' in page
    assert 'aria-label="Record Day 7 as not done"' in page
    assert "None." in page.split('id="visits-not-done"')[1].split("</ul>")[0]
    url = f"/p/{p.code}/visit/day7/not-done"
    assert "Day 7 not done" in text(coord.get(url).content)
    r = post(coord, url, {"reason": ""})
    assert r.status_code == 200
    assert field_error(r.content.decode(), "reason") == "say why the visit did not take place"
    r = post(coord, url, {"reason": "Participant transferred to another hospital"})
    assert r.status_code == 302
    v = VisitRecord.objects.get(participant=p, visit="day7")
    assert v.not_done and v.not_done_reason == "Participant transferred to another hospital"
    assert audit_actions("visitrecord").count("record_visit_not_done") == 1
    page = coord.get(f"/p/{p.code}").content.decode()
    assert "Visit Day 7 recorded as not done." in text(page.encode())
    assert f'href="/p/{p.code}/visit/day7/not-done"' not in page
    marked = page.split('id="visits-not-done"')[1].split("</ul>")[0]
    assert "Participant transferred to another hospital" in marked and "None." not in marked
    # Again: a conflict, and the page says the visit is marked already.
    r = post(coord, url, {"reason": "again"})
    assert "marked not done already" in r.content.decode().split('id="not-done-errors"')[1]
    # A visit not due yet, a visit with a measurement, a visit that does not exist.
    r = post(coord, f"/p/{p.code}/visit/day28/not-done", {"reason": "x"})
    assert "only once it is due" in r.content.decode().split('id="not-done-errors"')[1]
    assert "not due yet" in text(coord.get(f"/p/{p.code}/visit/day28/not-done").content)
    actions.record_measurement(trial["coord1"], p, "il6", 30, visit="baseline")
    r = post(coord, f"/p/{p.code}/visit/baseline/not-done", {"reason": "x"})
    assert "it took place" in r.content.decode().split('id="not-done-errors"')[1]
    assert coord.get(f"/p/{p.code}/visit/day400/not-done").status_code == 404
    assert VisitRecord.objects.filter(not_done=True).count() == 1


def test_timeline_after_not_done_and_after_leaving(trial: Any) -> None:
    """A visit marked not done, and every visit once the participant has left, is neither due
    (no "Visit done" button) nor missing, on the timeline and on the dashboard."""
    from celltrial.edc import actions

    p = randomized(trial, at=now() - dt.timedelta(days=10))
    q = randomized(trial, at=now() - dt.timedelta(days=10))
    coord = client_for("coord1")
    done_now = f'action="/p/{p.code}/visit/day7"'
    assert done_now in coord.get(f"/p/{p.code}").content.decode()
    actions.record_visit_not_done(trial["coord1"], p, "day7", reason="Transferred")
    page = coord.get(f"/p/{p.code}").content.decode()
    row = page.split(">Day 7</th>")[1].split("</tr>")[0]
    assert "not done" in row and "missing" not in row and done_now not in page

    def late(code: str) -> str:
        dash = coord.get("/").content.decode()
        return dash.split(f'href="/p/{code}"')[1].split("</tr>")[0]

    assert "missing" in coord.get(f"/p/{q.code}").content.decode()
    before = late(q.code)
    actions.withdraw(trial["coord1"], q, reason="Wishes to stop")
    page = coord.get(f"/p/{q.code}").content.decode()
    timeline = page.split('id="visits-not-done"')[0]
    assert f'action="/p/{q.code}/visit/' not in page and "not-done" not in timeline
    assert ">missing<" not in timeline and "not expected" in timeline
    assert late(q.code) != before and "overdue" not in late(q.code).lower()


def test_ae_form_says_why_when_refused_for_no_field(trial: Any) -> None:
    """A refusal not about one field (here the casebook is locked) is said above the form."""
    from celltrial.edc import actions
    from celltrial.edc.models import AdverseEvent

    p = randomized(trial)
    actions.lock_record(trial["dm"], p, reason="database lock for the interim")
    coord = client_for("coord1")
    r = post(
        coord,
        f"/p/{p.code}/ae",
        {
            "term": "Headache",
            "onset": local(now() - dt.timedelta(hours=1)),
            "grade": "1",
            "relatedness": "unrelated",
            "outcome": "recovered",
        },
    )
    assert r.status_code == 200 and not AdverseEvent.objects.exists()
    alert = r.content.decode().split('role="alert">')[1].split("</p>")[0]
    assert "locked" in alert and "Please correct" not in alert


# ------------------------------------------------------------------------------- browser


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """Two participants of site1 randomized 3 days ago, then the EDC's server in a thread (the
    database is prepared before the browser starts: Django refuses ORM calls while
    Playwright's event loop runs in the thread)."""
    from django.utils import timezone

    t = with_passwords(make_trial())
    at = timezone.now() - dt.timedelta(days=3)
    a = randomized(t, at=at)
    b = randomized(t, at=at)
    with live_server() as url:
        yield {"url": url, "a": a.code, "b": b.code}


@browser_only
def test_withdrawal_and_death_in_the_browser(server: dict[str, Any], browser: Any) -> None:
    base, a, b = server["url"], server["a"], server["b"]
    page, _ = log_in(browser, base, "coord1")

    # Participant A withdraws: the form refuses until the confirmation box is ticked.
    page.goto(f"{base}/p/{a}")
    page.get_by_role("link", name="Withdrawal, lost to follow-up or death").click()
    page.wait_for_url(f"**/p/{a}/leave")
    assert "Leaving the trial" in page.title()
    page.get_by_label("Reason for withdrawal").fill("Family withdrew consent on her behalf")
    page.get_by_label("Withdrawn by").select_option("guardian")
    page.get_by_role("button", name="Record the withdrawal").click()
    assert "final" in page.locator("#err_withdraw_confirm").inner_text()
    box = page.get_by_label(f"I confirm that {a} withdraws from the trial", exact=False)
    assert box.get_attribute("aria-invalid") == "true"
    # Focus moved to the error: the page's script runs as the page is parsed, so wait for it
    # (Playwright's expect retries until its timeout) rather than racing the parser.
    from playwright.sync_api import expect

    expect(box).to_be_focused()
    assert page.get_by_label("Reason for withdrawal").input_value().startswith("Family withdrew")
    page.screenshot(path=str(SHOTS / "leave-form.png"), full_page=True)
    box.check()
    page.get_by_role("button", name="Record the withdrawal").click()
    assert "withdrew from the trial" in page.locator(".notice").inner_text()
    assert "Withdrawn" in page.locator("h1 .status").inner_text()
    assert "Family withdrew consent" in page.locator("#disposition").inner_text()

    # Participant B dies: time and cause, confirmed, from the death form.
    page.goto(f"{base}/p/{b}/leave")
    died = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Date and time of death (UTC)").fill(died)
    page.get_by_label("Cause of death").fill("Refractory hypoxaemic respiratory failure")
    page.get_by_label(f"I confirm the death of {b}", exact=False).check()
    page.get_by_role("button", name="Record the death").click()
    assert f"Death of {b} recorded" in page.locator(".notice").inner_text()
    assert "Dead" in page.locator("h1 .status").inner_text()
    disposition = page.locator("#disposition").inner_text()
    assert "Died on" in disposition and "Refractory hypoxaemic" in disposition
    page.screenshot(path=str(SHOTS / "death-recorded.png"), full_page=True)

    # The dashboard shows both statuses.
    page.goto(f"{base}/")
    rows = {
        r.locator("td").first.inner_text(): r.locator(".status").inner_text()
        for r in page.locator("#pp-h ~ .scroll tbody tr").all()
    }
    assert rows[a] == "Withdrawn" and rows[b] == "Dead", rows
    no_arm(page.content())
    page.context.close()
