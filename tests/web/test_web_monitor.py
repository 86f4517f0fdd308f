"""Monitoring pages: queries (open, answer, close), locks, a record's audit trail and the
investigator's signature of a visit; through Django's test client, then in Debian's Chromium
(Playwright) against the server in a thread."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from edc_helpers import arm_of, make_trial, randomized, released_lot
from web_helpers import (
    PASSWORD,
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


@pytest.fixture
def site(web_trial: Any) -> dict[str, Any]:
    """A participant of site1 randomized now, baseline done, IL-6 taken at it."""
    from celltrial.edc import actions

    p = randomized(web_trial)
    actions.record_visit(web_trial["coord1"], p, "baseline")
    m = actions.record_measurement(web_trial["coord1"], p, "il6", 12, visit="baseline")
    return {"p": p, "m": m, "t": web_trial}


# --------------------------------------------------------------------------- test client


def test_query_cycle_through_the_pages(site: dict[str, Any]) -> None:
    from celltrial.edc.models import AuditEntry, Query

    p, m = site["p"], site["m"]
    mon = client_for("mon1")
    home = mon.get("/")  # the monitor's home is monitoring
    assert home.status_code == 200 and "Monitoring" in text(home.content)
    assert p.code in home.content.decode()
    page = mon.get(f"/p/{p.code}").content.decode()
    record_url = f"/p/{p.code}/record/measurement/{m.id}"
    assert record_url in page  # the record's "Query · audit trail" link
    # An empty question: the error is next to the question's box.
    r = post(mon, record_url, {"do": "query", "field": "value", "text": "  "})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="err_text"' in html and "required: the question" in html
    assert 'aria-describedby="err_text"' in html
    r = post(mon, record_url, {"do": "query", "field": "value", "text": "12 pg/mL? check"})
    assert r.status_code == 302
    q = Query.objects.get()
    assert (q.table, q.record_id, q.field, q.status) == ("measurement", str(m.id), "value", "open")

    coord = client_for("coord1")
    assert f"/queries/{q.id}" in coord.get(f"/p/{p.code}").content.decode()  # badge
    assert "1 open query to answer" in text(coord.get("/").content)
    r = post(coord, f"/queries/{q.id}", {"do": "answer", "answer": ""})
    assert r.status_code == 200 and 'id="err_answer"' in r.content.decode()
    r = post(coord, f"/queries/{q.id}", {"do": "close", "note": "x"})  # not theirs to close
    assert "may not close query" in text(r.content)
    r = post(coord, f"/queries/{q.id}", {"do": "answer", "answer": "Lab sheet says 12."})
    assert r.status_code == 302
    assert client_for("coord2").get(f"/queries/{q.id}").status_code == 404  # other site: as if none

    r = post(mon, f"/queries/{q.id}", {"do": "close", "note": "OK"})
    assert r.status_code == 302
    q.refresh_from_db()
    assert q.status == "closed" and q.answer == "Lab sheet says 12."
    page = text(mon.get(f"/queries/{q.id}").content)
    assert "Lab sheet says 12." in page and "Moritz Onken (mon1) closed it" in page
    assert [e.action for e in AuditEntry.objects.filter(table="query").order_by("seq")] == [
        "open_query",
        "answer_query",
        "close_query",
    ]
    assert "Close the query" not in page  # closed is final


def test_record_page_shows_the_audit_trail_and_locks(site: dict[str, Any]) -> None:
    from celltrial.edc import actions
    from celltrial.edc.models import FormLock

    p, m, t = site["p"], site["m"], site["t"]
    actions.edit_record(t["coord1"], "measurement", m.id, {"value": 15}, reason="lab re-run")
    dm = client_for("dm")
    url = f"/p/{p.code}/record/measurement/{m.id}"
    page = text(dm.get(url).content)
    assert "record measurement" in page and "edit record" in page
    assert "12 → 15" in page and "lab re-run" in page and "coord1" in page

    r = post(dm, url, {"do": "lock", "lock_reason": "clean after SDV"})
    assert r.status_code == 302
    page = text(dm.get(url).content)
    assert "Locked this record" in page and "clean after SDV" in page
    # The coordinator's edit is refused, naming the lock, on the edit page.
    coord = client_for("coord1")
    assert "Locked" in text(coord.get(f"/p/{p.code}").content)
    r = post(coord, f"/p/{p.code}/edit/measurement/{m.id}", {"value": "16", "reason": "typo"})
    assert r.status_code == 200 and 'id="err_lock"' in r.content.decode()
    assert "is locked (lock #" in text(r.content)
    # Unlocking needs a reason, shown next to its box.
    lock_id = re.search(r'name="lock_id" value="(\d+)"', dm.get(url).content.decode())[1]
    r = post(dm, url, {"do": "unlock", "lock_id": lock_id, "unlock_reason": ""})
    assert r.status_code == 200 and 'id="err_unlock_reason"' in r.content.decode()
    r = post(dm, url, {"do": "unlock", "lock_id": lock_id, "unlock_reason": "sponsor query"})
    assert r.status_code == 302
    page = text(dm.get(url).content)
    assert "unlock record" in page and "sponsor query" in page

    # A participant lock from the participant's own record page; the monitor may not lock.
    purl = f"/p/{p.code}/record/participant/{p.id}"
    mon = client_for("mon1")
    assert "Lock all records" not in text(mon.get(purl).content)
    r = post(mon, purl, {"do": "lock"})
    assert "may not lock record" in text(r.content)
    assert post(dm, purl, {"do": "lock"}).status_code == 302
    assert "all records of" in text(coord.get(f"/p/{p.code}").content)
    # An open query prevents a lock: the error is next to the lock's box.
    whole = FormLock.objects.get(unlocked_at__isnull=True)
    assert (
        post(dm, purl, {"do": "unlock", "lock_id": whole.id, "unlock_reason": "x"}).status_code
        == 302
    )
    assert post(mon, url, {"do": "query", "text": "again?"}).status_code == 302
    r = post(dm, url, {"do": "lock"})
    assert 'id="err_lock"' in r.content.decode() and "close the queries first" in text(r.content)


def test_site_staff_may_not_read_the_audit_trail(site: dict[str, Any]) -> None:
    p, m = site["p"], site["m"]
    for name in ("coord1", "inv1"):
        c = client_for(name)
        assert c.get(f"/p/{p.code}/record/measurement/{m.id}").status_code == 403
        assert f"/record/measurement/{m.id}" not in c.get(f"/p/{p.code}").content.decode()
    mon = client_for("mon1")
    assert mon.get(f"/p/{p.code}/record/adverse_event/{m.id}").status_code == 404
    assert mon.get(f"/p/{p.code}/record/lab/{m.id}").status_code == 422
    assert client_for("pharm").get("/queries").status_code == 403
    assert client_for("mon1").get(f"/p/{p.code}/visit/baseline/sign").status_code == 403


def test_sign_visit_page(site: dict[str, Any]) -> None:
    from celltrial.edc import actions
    from celltrial.edc.models import Signature

    p, m, t = site["p"], site["m"], site["t"]
    inv = client_for("inv1")
    page = inv.get(f"/p/{p.code}").content.decode()
    url = f"/p/{p.code}/visit/baseline/sign"
    assert url in page
    html = inv.get(url).content.decode()
    assert 'type="password"' in html and "accurate and complete" in html
    assert "Interleukin 6" in html and "12 pg/mL" in html
    r = post(inv, url, {"password": "wrong"})
    assert r.status_code == 200
    html = r.content.decode()
    assert '<p class="field-error" id="err_password">the password is not correct</p>' in html
    assert 'aria-invalid="true"' in html and "wrong" not in html.split('id="id_password"')[1][:200]
    assert not Signature.objects.exists()
    r = post(inv, url, {"password": PASSWORD})
    assert r.status_code == 302
    page = text(inv.get(f"/p/{p.code}").content)
    assert "Signed by Ines Vidal (inv1)" in page
    # An edit of the visit's measurement invalidates it; the timeline says so.
    actions.edit_record(t["coord1"], "measurement", m.id, {"value": 13}, reason="typo")
    page = text(inv.get(f"/p/{p.code}").content)
    assert "Signature invalidated" in page and "Signed by Ines Vidal (inv1)" not in page
    assert "typo" in text(inv.get(url).content)  # the history says why
    # Coordinators do not sign.
    assert client_for("coord1").get(url).status_code == 403


@pytest.mark.parametrize("name", ["inv1", "coord1", "mon1", "dm", "admin"])
def test_monitoring_pages_show_no_arm(web_trial: Any, name: str) -> None:
    from celltrial.edc import actions

    t = web_trial
    p = randomized(t, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=10))
    arm = arm_of(p)
    lot = released_lot(t, arm)
    i = actions.record_infusion(
        t["pharm"],
        p,
        lot=lot,
        started_at=p.randomization.randomized_at + dt.timedelta(hours=3),
        delivered=140e6 if arm == "msc" else 70.0,
    )
    q = actions.open_query(t["mon1"], "infusion", i.id, "Start time?", field="started_at")
    c = client_for(name)
    urls = [
        "/",
        "/dashboard",
        "/queries",
        "/queries?status=all",
        f"/queries/{q.id}",
        f"/p/{p.code}",
        f"/p/{p.code}/record/infusion/{i.id}",
        f"/p/{p.code}/record/participant/{p.id}",
    ]
    seen = 0
    for url in urls:
        r = c.get(url)
        # 302: an admin's home is /manage (its own tests check it for arms)
        assert r.status_code in (200, 302, 403, 404), (url, r.status_code)
        no_arm(r.content.decode())
        for key in ("delivered", "lot_id", "intended"):
            assert key not in r.content.decode(), (url, key)
        seen += r.status_code == 200
    assert seen >= 3


# ------------------------------------------------------------------------------- browser


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """The trial with one participant randomized 10 h ago, baseline done and IL-6 recorded at
    it, then the EDC's server in a thread (the database is prepared before the browser starts:
    Django refuses ORM calls while Playwright's event loop runs in the thread)."""
    from django.utils import timezone

    from celltrial.edc import actions

    t = with_passwords(make_trial())
    p = randomized(t, at=timezone.now() - dt.timedelta(hours=10))
    actions.record_visit(t["coord1"], p, "baseline", at=p.randomization.randomized_at)
    m = actions.record_measurement(
        t["coord1"],
        p,
        "il6",
        12,
        visit="baseline",
        measured_at=p.randomization.randomized_at + dt.timedelta(minutes=30),
    )
    with live_server() as url:
        yield {"url": url, "code": p.code, "m": m.id}


@browser_only
def test_monitoring_in_the_browser(server: dict[str, Any], browser: Any) -> None:
    base, code, m = server["url"], server["code"], server["m"]

    # The monitor opens a query on the IL-6 measurement from the participant's page.
    mon, mon_bodies = log_in(browser, base, "mon1")
    assert "Monitoring" in mon.title()
    mon.goto(f"{base}/p/{code}")
    mon.get_by_role("link", name=f"Query or audit trail of measurement {m}").click()
    mon.get_by_label("Field (optional)").select_option("value")
    mon.get_by_role("button", name="Open query").click()  # no question yet
    assert "required" in mon.locator("#err_text").inner_text()
    assert mon.get_by_label("Question to the site").get_attribute("aria-invalid") == "true"
    mon.get_by_label("Question to the site").fill(
        "IL-6 of 12 pg/mL at baseline: please check against the lab report."
    )
    mon.get_by_role("button", name="Open query").click()
    assert "opened" in mon.locator(".notice").inner_text()

    # The coordinator sees it on the dashboard, corrects the completed form (a reason is
    # demanded) and answers.
    coord, coord_bodies = log_in(browser, base, "coord1")
    assert "1 open query to answer" in coord.locator("#queries-summary").inner_text()
    coord.get_by_role("link", name="Queries", exact=True).first.click()
    coord.get_by_role("link", name="Answer").click()
    coord.get_by_role("link", name="correct the record").click()
    coord.locator("#id_value").fill("21")
    coord.get_by_role("button", name="Save change").click()
    assert "give a reason" in coord.locator("#err_reason").inner_text()
    coord.get_by_label("Reason for change").fill("transcription error: lab report says 21")
    coord.get_by_role("button", name="Save change").click()
    assert "changed" in coord.locator(".notice").inner_text()
    coord.goto(f"{base}/queries")
    coord.get_by_role("link", name="Answer").click()
    coord.get_by_label("Your answer to the monitor").fill(
        "Transcription error; corrected to 21 pg/mL from the lab report."
    )
    coord.screenshot(path=str(SHOTS / "monitor-query-answer.png"), full_page=True)
    coord.get_by_role("button", name="Send answer").click()
    assert coord.locator("#query-status").inner_text() == "Answered"

    # The monitor reviews the answered query on the home page and closes it.
    mon.goto(f"{base}/")
    assert mon.locator("#count-answered").inner_text() == "1"
    mon.screenshot(path=str(SHOTS / "web-monitor.png"), full_page=True)
    mon.get_by_role("link", name="Review and close").click()
    mon.get_by_label("Closing note (optional)").fill("Source verified.")
    mon.get_by_role("button", name="Close query").click()
    assert mon.locator("#query-status").inner_text() == "Closed"

    # The edit is in that record's audit trail: who, when, old → new, why.
    mon.get_by_role("link", name="record and audit trail").click()
    trail = mon.locator("table.audit").inner_text()
    assert "edit record" in trail and "coord1" in trail
    assert "transcription error: lab report says 21" in trail
    assert re.search(r"value:\s*12\s*→\s*21", trail), trail
    for action in ("open query", "answer query", "close query"):
        assert action in trail
    mon.screenshot(path=str(SHOTS / "monitor-audit-record.png"), full_page=True)

    # The investigator signs the baseline visit; a wrong password shows next to the field.
    inv, inv_bodies = log_in(browser, base, "inv1")
    inv.goto(f"{base}/p/{code}")
    inv.get_by_role("link", name="Sign", exact=True).click()
    inv.get_by_label("Password (re-enter yours to sign)").fill("not my password")
    inv.get_by_role("button", name="Sign visit").click()
    assert inv.locator("#err_password").inner_text() == "the password is not correct"
    field = inv.get_by_label("Password (re-enter yours to sign)")
    assert "err_password" in (field.get_attribute("aria-describedby") or "")
    inv.screenshot(path=str(SHOTS / "monitor-sign-wrong-password.png"), full_page=True)
    field.fill(PASSWORD)
    inv.get_by_role("button", name="Sign visit").click()
    assert "signed" in inv.locator(".notice").inner_text()
    assert "Signed by Ines Vidal (inv1)" in inv.locator("#tl-h + .scroll").inner_text()
    inv.screenshot(path=str(SHOTS / "monitor-signed-visit.png"), full_page=True)

    # The data manager locks the participant; the monitor's page shows it.
    dm, dm_bodies = log_in(browser, base, "dm")
    dm.goto(f"{base}/p/{code}")
    dm.get_by_role("link", name=f"Audit trail, queries and lock of {code}").click()
    dm.get_by_label("Reason for the lock (optional)").fill("database lock for the interim")
    dm.get_by_role("button", name=f"Lock all records of {code}").click()
    assert "Locked" in dm.locator("#lock-in-force").inner_text()
    dm.screenshot(path=str(SHOTS / "monitor-participant-locked.png"), full_page=True)

    for bodies in (mon_bodies, coord_bodies, inv_bodies, dm_bodies):
        assert bodies
        for _url, body in bodies:
            no_arm(body)
