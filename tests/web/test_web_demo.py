"""Issue 17: after ``make demo`` the trial is in progress up to today, and each role's home page
shows real work: the coordinator a visit due this week, the pharmacist an infusion to prepare,
the monitor an open query, the investigator an SAE whose 24 h clock runs.

The tests use the session's one demo run (``demo_today``, tests/conftest.py), logged in with
the passwords it printed: Django's test client in a subprocess configured on the demo's
database (as ``celltrial serve`` configures itself), and Playwright in Debian's Chromium
against ``celltrial serve`` on that database. The screenshots of docs/edc.md ("The demo: a
trial in progress") are written to tests/web/screenshots/demo-<role>.png.

The demo's own output and reports are checked here too (moved from
tests/simulate/test_through_edc.py): every test of the demo in one file, so that ``make
test``'s ``--dist loadfile`` runs the demo once, in one worker.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_helpers import SHOTS, browser_only, text

from celltrial.dataset import check_dataset, errors, read_dataset
from celltrial.protocol import load_protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "simulate"))
from seed_checklist import missing_from


@pytest.fixture
def demo_run(demo_today: Any) -> tuple[Path, str]:
    """The session's demo (tests/conftest.py): a trial in progress up to this hour."""
    return demo_today.out, demo_today.stdout


def test_demo_runs_end_to_end(demo_run, demo_today):
    out, stdout = demo_run
    for name in ("edc.sqlite3", "report-blinded.html", "report-closed.html", "dataset/dm.csv"):
        assert (out / name).exists(), name
    assert "celltrial serve --db" in stdout and "audit trail intact" in stdout
    if demo_today.pdf:
        for name in ("report-blinded.pdf", "report-closed.pdf"):
            assert (out / name).read_bytes()[:5] == b"%PDF-", name
    assert "coordinator" in stdout and "pharmacist" in stdout  # the logins, once
    dataset = read_dataset(out / "dataset")
    assert errors([*dataset.problems, *check_dataset(dataset, load_protocol("lanzoni2021"))]) == []
    cmd = [sys.executable, "-c", "from celltrial.cli import app; app()", "demo"]
    r = subprocess.run(
        [*cmd, "--out", str(out), "--no-pdf"],
        capture_output=True,
        text=True,
        env=demo_today.env(),
        timeout=300,
    )
    assert r.returncode == 2 and "--force" in r.stderr


def test_demo_report_holds_every_analysis_lanzoni_published(demo_run):
    """docs/seeds.md's lanzoni2021 rows: each endpoint and section is in the closed report."""
    out, _ = demo_run
    html = (out / "report-closed.html").read_text(encoding="utf-8")
    assert missing_from(html, "lanzoni2021") == []


def test_demo_report_shows_the_lanzoni_effect(demo_run):
    """Seed 7 (the demo's default, ``demo.SEED``): fewer deaths with UC-MSC than control in the
    closed report's survival section (the scenario: 91 % vs 42 % day-31 survival)."""
    out, _ = demo_run
    html = (out / "report-closed.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    section = text[text.index("Survival at 31 days") :]
    assert "UC-MSC Control (vehicle) Total" in section[:400]
    events = re.search(r"Events (\d+) (\d+) (\d+)", section)
    assert events is not None
    ucmsc, control, total = (int(x) for x in events.groups())
    assert ucmsc < control and ucmsc + control == total
    assert control - ucmsc >= 3


def test_demo_report_counts_completions_and_recoveries(demo_run):
    """The closed report's CONSORT diagram counts completers, and time to recovery has events
    (both were 0 before the EDC had completion and clinical-event forms)."""
    out, stdout = demo_run
    assert "not entered (" not in stdout  # every simulated event went into the EDC
    html = (out / "report-closed.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    completed = [int(x) for x in re.findall(r"Completed \(n=(\d+)\)", text)]
    assert len(completed) == 2 and all(n > 0 for n in completed), completed
    section = text[text.index("Time to recovery Kaplan") :]
    events = re.search(r"Events (\d+) (\d+) (\d+)", section)
    assert events is not None
    assert int(events.group(3)) > 0
    left = re.search(r"Censored before day 31 \(left the study\) (\d+) (\d+) (\d+)", section)
    still = re.search(r"Censored before day 31 \(still in follow-up\) (\d+) (\d+) (\d+)", section)
    # The trial is in progress: the participants censored before day 31 are those still in
    # follow-up today, on their own row; nobody withdrew with seed 7, and none who completed
    # is counted as having left the study.
    dataset = read_dataset(out / "dataset")
    ended = dataset.table("DS").query("DSCAT == 'DISPOSITION EVENT'")["USUBJID"]
    ongoing = int((~dataset.dm["USUBJID"].isin(ended)).sum())
    assert ongoing > 0
    assert left is not None and int(left.group(3)) == 0
    assert still is not None and 0 < int(still.group(3)) <= ongoing


# -- each role's home page ---------------------------------------------------------------------

CLIENT = """
import json, sys
from celltrial.edc import setup
setup(sys.argv[1])
from django.test import Client
passwords, new = json.loads(sys.argv[2]), sys.argv[3]
out = {}
for user in ("coordinator", "investigator", "pharmacist", "monitor"):
    c = Client(enforce_csrf_checks=True)
    for pw in (passwords[user], new):  # the printed one, or the one set at a first log-in
        token = c.get("/login").cookies["csrftoken"].value
        r = c.post("/login", {"username": user, "password": pw, "csrfmiddlewaretoken": token})
        if r.status_code == 302:
            break
    assert r.status_code == 302, (user, r.status_code)
    page = c.get("/", follow=True)
    if page.request["PATH_INFO"] == "/account/password":  # the first log-in: a new password
        r = c.post("/account/password", {"old_password": pw, "new_password": new,
                   "new_password2": new, "csrfmiddlewaretoken": c.cookies["csrftoken"].value})
        assert r.status_code == 302, (user, r.status_code, r.content[-2000:])
        page = c.get("/", follow=True)
    out[user] = {"status": page.status_code, "url": page.request["PATH_INFO"],
                 "html": page.content.decode()}
json.dump(out, sys.stdout)
"""


#: The password each demo user sets at their first log-in (the printed one is the admin's
#: choice, changed at first log-in: 21 CFR Part 11).
NEW_PASSWORD = "a newcomer's own tour of the demo"


def _items(html: str, heading_id: str) -> list[str]:
    """The texts of the list items in the card whose heading has ``heading_id``."""
    card = html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]
    return [text(li.encode()).strip() for li in re.findall(r"<li[^>]*>(.*?)</li>", card, re.S)]


def test_each_roles_home_page_shows_todays_work(demo_today: Any) -> None:
    r = subprocess.run(
        [
            *(sys.executable, "-c", CLIENT, str(demo_today.db)),
            *(json.dumps(demo_today.passwords), NEW_PASSWORD),
        ],
        capture_output=True,
        text=True,
        env=demo_today.env(),
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    pages = json.loads(r.stdout)
    assert all(p["status"] == 200 for p in pages.values()), pages
    coordinator = pages["coordinator"]["html"]
    due = _items(coordinator, "due-h")
    assert due, "no visit due this week"
    assert all(re.search(r"\d{4}-\d\d-\d\d", d) for d in due)
    # The SAE whose report is not filed yet: its clock counts down (hours left, not overdue).
    clocks = _items(pages["investigator"]["html"], "sae-h")
    assert any(re.search(r"\d+(\.\d)? h left", c) for c in clocks), clocks
    assert pages["pharmacist"]["url"] == "/pharmacy"
    prepare = _items(pages["pharmacist"]["html"], "prep-h")
    assert prepare and all("administration #" in p for p in prepare), prepare
    monitor = text(pages["monitor"]["html"].encode())
    assert "please check the value against it" in monitor.lower()
    # The blinded coordinator sees no arm on their home page.
    assert "UC-MSC" not in text(coordinator.encode())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served_demo(demo_today: Any) -> Iterator[str]:
    """``celltrial serve`` on the demo's database (one worker); yields its base URL."""
    port = _free_port()
    cmd = [sys.executable, "-c", "from celltrial.cli import app; app()", "serve"]
    cmd += ["--db", str(demo_today.db), "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(cmd, env=demo_today.env(), stdout=subprocess.DEVNULL, stderr=None)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 60
        while True:  # polls until the server answers (no fixed sleep)
            try:
                with urllib.request.urlopen(f"{base}/login", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if time.monotonic() > end or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@browser_only
def test_demo_walk_through_in_chromium(served_demo: str, demo_today: Any, browser: Any) -> None:
    """One browser, the four roles in turn, as a newcomer would after ``make demo``; the
    screenshots are docs/edc.md's tour of the demo."""
    SHOTS.mkdir(exist_ok=True)

    def log_in(user: str) -> Any:
        """Log in with the printed password (or the one set at the first log-in, when the
        client test ran first); at the first log-in, set one's own."""
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        for pw in (demo_today.passwords[user], NEW_PASSWORD):
            page.goto(f"{served_demo}/login")
            page.fill("#id_username", user)
            page.fill("#id_password", pw)
            page.get_by_role("button", name="Log in").click()
            if not page.url.endswith("/login"):
                break
        if page.url.endswith("/account/password"):
            page.fill("#id_old_password", pw)
            page.fill("#id_new_password", NEW_PASSWORD)
            page.fill("#id_new_password2", NEW_PASSWORD)
            page.get_by_role("button", name="Change password").click()
        assert "/account/password" not in page.url and not page.url.endswith("/login"), page.url
        return page

    page = log_in("coordinator")
    due = page.locator("#due-h + ul li")
    assert due.count() >= 1
    page.screenshot(path=str(SHOTS / "demo-coordinator.png"), full_page=True)
    # The first visit due: its participant's page, with the visit to record.
    due.first.locator("a").click()
    assert page.get_by_role("heading", level=1).inner_text().strip()
    page.context.close()

    page = log_in("investigator")
    clock = page.locator("ul.clocks li").first
    assert re.search(r"h left", clock.inner_text())
    page.screenshot(path=str(SHOTS / "demo-investigator.png"), full_page=True)
    page.context.close()

    page = log_in("pharmacist")
    assert page.url.endswith("/pharmacy")
    prepare = page.locator("#prep-h + ul li")
    assert prepare.count() >= 1
    page.screenshot(path=str(SHOTS / "demo-pharmacist.png"), full_page=True)
    prepare.first.locator("a").click()  # the dose page of that participant
    assert "/pharmacy/p/" in page.url
    page.context.close()

    page = log_in("monitor")
    assert "please check the value against it" in page.content().lower()
    page.screenshot(path=str(SHOTS / "demo-monitor.png"), full_page=True)
    page.context.close()
