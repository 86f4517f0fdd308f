"""Each role's main page (``/``): where log-in takes them, what it shows, that a blinded role
sees no arm on it, and a full-page screenshot at 1280 px for docs/edc.md
(tests/web/screenshots/role-<role>.png); the log-in's ``?next=`` (local paths only) and the
administrator's home. Browser tests drive Debian's Chromium (Playwright) against the EDC
server in a thread over a small but realistic trial."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from edc_helpers import ELIGIBLE, arm_of, make_trial, randomized, released_lot
from web_helpers import PASSWORD, SHOTS, arm_in, browser_only, live_server, log_in, with_passwords

#: The browser window of the role screenshots: 1280 x 800 px.
VIEWPORT_HEIGHT = 800
EVIL = [
    "https://evil.example/",
    "//evil.example",
    "/\\evil.example",
    "///evil.example",
    "javascript:alert(document.cookie)",
    "http://testserver.evil.example/",
    "queries",
]


def hidden_next(html: bytes) -> str | None:
    found = re.search(r'<input type="hidden" name="next" value="([^"]*)">', html.decode())
    return found[1].replace("&amp;", "&") if found is not None else None


def post_login(c: Client, page: Any, name: str, password: str) -> Any:
    """Post the log-in form of ``page`` as a browser would (with its hidden fields)."""
    data = {
        "username": name,
        "password": password,
        "csrfmiddlewaretoken": c.cookies["csrftoken"].value,
    }
    if (next_url := hidden_next(page.content)) is not None:
        data["next"] = next_url
    return c.post("/login", data)


# --------------------------------------------------------------------------- test client


def test_next_after_login_goes_back_to_the_page(web_trial: Any) -> None:
    c = Client(enforce_csrf_checks=True)
    r = c.get("/queries")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=%2Fqueries"
    page = c.get(r.headers["Location"])
    assert hidden_next(page.content) == "/queries"
    # A wrong password keeps ``next`` in the form; the right one then goes to the page.
    failed = post_login(c, page, "coord1", "wrong")
    assert failed.status_code == 401 and hidden_next(failed.content) == "/queries"
    r = post_login(c, failed, "coord1", PASSWORD)
    assert r.status_code == 302 and r.headers["Location"] == "/queries"
    assert c.get("/queries").status_code == 200
    # A path with a query string of its own: kept whole (encoded) by the redirect to the log-in.
    c = Client(enforce_csrf_checks=True)
    r = c.get("/queries?status=all")
    assert r.headers["Location"] == "/login?next=%2Fqueries%3Fstatus%3Dall"
    page = c.get(r.headers["Location"])
    r = post_login(c, page, "mon1", PASSWORD)
    assert r.status_code == 302 and r.headers["Location"] == "/queries?status=all"
    # No ``next``: home.
    c = Client(enforce_csrf_checks=True)
    r = post_login(c, c.get("/login"), "mon1", PASSWORD)
    assert r.status_code == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize("target", EVIL)
def test_next_elsewhere_lands_on_home(web_trial: Any, target: str) -> None:
    c = Client(enforce_csrf_checks=True)
    page = c.get("/login", {"next": target}).content.decode()
    assert 'name="next"' not in page and "evil" not in page
    token = c.cookies["csrftoken"].value
    r = c.post(
        "/login",
        {"username": "coord1", "password": PASSWORD, "next": target, "csrfmiddlewaretoken": token},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/"
    # Given in the query string only (a hand-made form), the same.
    c = Client()
    r = c.post(f"/login?{urlencode({'next': target})}", {"username": "inv1", "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_admin_home_is_the_administration(web_trial: Any) -> None:
    c = Client()
    assert c.login(username="admin", password=PASSWORD)
    r = c.get("/")
    assert r.status_code == 302 and r.headers["Location"] == "/manage"
    assert c.get("/dashboard").status_code == 200  # the site dashboard stays where it was


# ------------------------------------------------------------------------------- browser


def build_trial() -> dict[str, Any]:
    """Two sites: six participants randomized 6 h to 9 days ago, each with the baseline visit
    (WHO scale, IL-6) and the first infusion (one day-7 visit overdue); two screened out, one
    consented and waiting;
    a grade-1 fever inside the infusion window, a serious hypoxia whose 24-h SAE report clock
    is running, and an open query of the monitor on one IL-6 value."""
    from django.utils import timezone

    from celltrial.edc import actions

    t = with_passwords(make_trial())
    now = timezone.now().replace(second=0, microsecond=0)
    plan = [
        ("coord1", "site1", 30),
        ("coord2", "site2", 26),
        ("coord1", "site1", 20),
        ("coord2", "site2", 8),
        ("coord1", "site1", 6),
        ("coord1", "site1", 9 * 24),  # its day-7 visit is overdue
    ]
    people = []
    lots: dict[str, Any] = {}
    for who, site, hours in plan:
        at = now - dt.timedelta(hours=hours)
        p = randomized(t, who, site, at=at)
        actions.record_visit(t[who], p, "baseline", at=at)
        taken = at + dt.timedelta(minutes=30)
        actions.record_measurement(t[who], p, "who_scale", "5", visit="baseline", measured_at=taken)
        il6 = actions.record_measurement(
            t[who], p, "il6", 40 + 7 * len(people), visit="baseline", measured_at=taken
        )
        arm = arm_of(p)
        if arm not in lots:
            lots[arm] = released_lot(t, arm, f"LOT-2027-{len(lots) + 1:03d}")
        actions.record_infusion(
            t["pharm"],
            p,
            lot=lots[arm],
            started_at=at + dt.timedelta(hours=3),
            delivered=140e6 if arm == "msc" else 70.0,
        )
        people.append((p, il6))
    actions.screen_participant(t["coord1"], "site1", {**ELIGIBLE, "age": 86})
    actions.screen_participant(t["coord2"], "site2", {**ELIGIBLE, "pao2_fio2": 260})
    waiting = actions.screen_participant(t["coord1"], "site1", ELIGIBLE)
    actions.record_consent(t["coord1"], waiting, "2.1", now.date())
    first, recent = people[0][0], people[4][0]
    actions.report_adverse_event(
        t["coord1"],
        first,
        term="Fever",
        onset=now - dt.timedelta(hours=30) + dt.timedelta(hours=4),
        grade=1,
        relatedness="possible",
        outcome="recovered",
    )
    actions.report_adverse_event(
        t["coord1"],
        recent,
        term="Hypoxia",
        onset=now - dt.timedelta(hours=2),
        grade=3,
        relatedness="unlikely",
        outcome="recovering",
        serious_criteria=["hospitalization"],
    )
    actions.open_query(
        t["mon1"],
        "measurement",
        people[2][1].id,
        "IL-6 at baseline: please check the value against the lab report.",
        field="value",
    )
    return {"codes": [p.code for p, _ in people], "title": first.trial.title}


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """The trial of :func:`build_trial`, then the EDC's server in a thread (the database is
    prepared before the browser starts: Django refuses ORM calls while Playwright's event loop
    runs in the thread)."""
    state = build_trial()
    with live_server() as url:
        yield {"url": url, **state}


#: role -> (user, the path their home lands on, the main heading, texts on the page, blinded)
ROLES: dict[str, tuple[str, str, str, list[str], bool]] = {
    "coordinator": (
        "coord1",
        "/",
        "Dashboard",
        ["SAE clocks", "Hypoxia", "1 open query to answer", "Screen a participant"],
        True,
    ),
    "investigator": (
        "inv1",
        "/",
        "Dashboard",
        ["SAE clocks", "Hypoxia", "site1-0004 · Day 7 (window closed"],
        True,
    ),
    "pharmacist": (
        "pharm",
        "/pharmacy",
        "Pharmacy",
        ["Kit-to-arm mapping", "LOT-2027-001", "BM-MSC"],
        False,
    ),
    "monitor": ("mon1", "/", "Monitoring", ["IL-6 at baseline", "Locks in force"], True),
    "data-manager": ("dm", "/", "Monitoring", ["Site one, Site two", "IL-6 at baseline"], True),
    "dsmb": (
        "dsmb",
        "/dsmb",
        "Safety summary by arm",
        ["Open the closed report", "up to date", "BM-MSC", "Placebo (Plasma-Lyte A)"],
        False,
    ),
    # The administration pages ("manage", views_admin): the trial's set-up, not its data.
    "admin": ("admin", "/manage", "Administration", ["Users and roles", "Site one"], True),
}


@browser_only
@pytest.mark.parametrize("role", list(ROLES))
def test_each_roles_main_page(server: dict[str, Any], browser: Any, role: str) -> None:
    name, path, heading, texts, blinded = ROLES[role]
    base = server["url"]
    page, bodies = log_in(browser, base, name, height=VIEWPORT_HEIGHT)
    if role == "dsmb":  # the closed report was opened once: its page says from which seq
        page.goto(f"{base}/dsmb/report")
        assert "CLOSED REPORT" in page.locator("body").inner_text()
        bodies.clear()
    response = page.goto(f"{base}/")
    assert response is not None and response.status == 200, (role, page.url)
    assert page.url == f"{base}{path}"
    h1 = page.locator("main h1").first
    assert h1.is_visible()
    if heading:
        assert h1.inner_text().startswith(heading), h1.inner_text()
    main = page.locator("main").inner_text()
    for t in texts:
        assert t in main, (role, t)
    who = page.locator(".who").inner_text()  # "Full Name (username) · Role"
    assert f"({name}) · " in who or f"{name} · " in who, who
    if blinded:
        # The trial's title names the product ("Bone-marrow MSC for …"): not an allocation.
        title = server["title"]
        assert arm_in(page.content().replace(title, "")) == [], role
        for _url, body in bodies:
            assert arm_in(body.replace(title, "")) == [], role
    page.screenshot(path=str(SHOTS / f"role-{role}.png"), full_page=True)
    page.context.close()


@browser_only
def test_dsmb_logs_in_from_the_report_link_and_gets_the_report(
    server: dict[str, Any], browser: Any
) -> None:
    """Logged out, the closed report's address leads to log-in and, after it, to the report
    (``?next=``); the report names its audit seq and is unblinded (both arms by label)."""
    base = server["url"]
    page, _ = log_in(browser, base, "dsmb", path="/dsmb/report", height=VIEWPORT_HEIGHT)
    assert page.url == f"{base}/dsmb/report"
    source = page.locator("#report-source").inner_text()
    assert re.search(r"Generated .+ UTC from the live EDC database at audit seq \d+", source)
    body = page.locator("body").inner_text()
    assert "CLOSED REPORT — DSMB ONLY" in body
    assert "BM-MSC" in body and "Placebo (Plasma-Lyte A)" in body
    page.get_by_role("link", name="Back to the DSMB page").click()
    assert "up to date" in page.locator("#report-state").inner_text()
    page.context.close()
