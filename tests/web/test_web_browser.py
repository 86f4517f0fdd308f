"""Real-browser tests: Playwright for Python driving Debian's Chromium against the EDC server
running in a thread on 127.0.0.1 (a free port) over the test database file."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, with_passwords
from edc_helpers import ARM_STRINGS, ELIGIBLE, MSC_RELEASE, make_trial, randomized

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).parent / "screenshots"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, str]]:
    """The trial set up (with one participant randomized 10 h ago), then the EDC's server in a
    background thread; yields its base URL and that participant's code and times. (The
    database is prepared before the browser starts: Django refuses ORM calls while
    Playwright's event loop runs in the thread.)"""
    from django.core.wsgi import get_wsgi_application
    from django.utils import timezone

    from celltrial.edc.server import _server

    t = with_passwords(make_trial())
    early = randomized(t, at=timezone.now() - dt.timedelta(hours=10))
    start = early.randomization.randomized_at + dt.timedelta(hours=3)
    srv = _server("127.0.0.1", 0, get_wsgi_application(), 8, True, None)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield {
            "url": f"http://127.0.0.1:{srv.server_address[1]}",
            "early": early.code,
            "infusion_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ae_onset": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        }
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Recorder:
    """Every response body a page receives (HTML, CSS, any API call)."""

    def __init__(self, page: Any) -> None:
        self.bodies: list[tuple[str, str]] = []
        page.on("response", self._record)

    def _record(self, response: Any) -> None:
        try:
            body = response.text()
        except Exception:  # a redirect has no body
            body = ""
        self.bodies.append((response.url, body))


def arm_in(text: str) -> list[str]:
    return [a for a in ARM_STRINGS if re.search(rf"\b{re.escape(a)}\b", text, re.IGNORECASE)]


def log_in(browser: Any, base: str, name: str, width: int = 1280) -> tuple[Any, Recorder]:
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    rec = Recorder(page)
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page, rec


def fill_screening(page: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        field = page.locator(f"#id_{key}")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(text)
        else:
            field.fill(text)


def test_coordinator_screens_enrolls_randomizes_blinded(
    server: dict[str, str], browser: Any
) -> None:
    base = server["url"]
    page, rec = log_in(browser, base, "coord1")
    assert "Dashboard" in page.title()

    # Ineligible: too old.
    page.get_by_role("link", name="Screen a participant").first.click()
    fill_screening(page, {**ELIGIBLE, "age": 85})
    page.screenshot(path=str(SHOTS / "screening-form.png"), full_page=True)
    page.get_by_role("button", name="Screen").click()
    assert page.locator("#eligibility").inner_text() == "Not eligible"
    assert "Age 18-80 years" in page.content()
    page.screenshot(path=str(SHOTS / "screening-ineligible.png"), full_page=True)

    # A value outside the catalogue's range: the error is next to the field.
    page.goto(f"{base}/screen")
    fill_screening(page, {**ELIGIBLE, "pao2_fio2": 5})
    page.get_by_role("button", name="Screen").click()
    assert "outside the plausible range" in page.locator("#err_pao2_fio2").inner_text()
    page.screenshot(path=str(SHOTS / "screening-error.png"), full_page=True)

    # Eligible, consent, enroll, randomize.
    page.goto(f"{base}/screen")
    fill_screening(page, ELIGIBLE)
    page.get_by_role("button", name="Screen").click()
    assert page.locator("#eligibility").inner_text() == "Eligible"
    page.get_by_role("button", name="Record consent").click()
    page.get_by_role("button", name="Enroll").click()
    page.get_by_role("button", name="Randomize").click()
    kit = page.locator("#kit-shown strong").inner_text()
    assert re.fullmatch(r"[A-Z0-9-]{6,}", kit), kit
    code = page.locator("h1").inner_text().split()[0]
    page.screenshot(path=str(SHOTS / "participant-randomized.png"), full_page=True)
    assert not arm_in(page.inner_text("body")), "arm in the page text"
    assert not arm_in(page.content()), "arm in the HTML"

    page.goto(f"{base}/")
    page.screenshot(path=str(SHOTS / "web-coordinator.png"), full_page=True)
    page.goto(f"{base}/p/{code}/measure?visit=baseline")
    page.screenshot(path=str(SHOTS / "measurement-form.png"), full_page=True)
    page.goto(f"{base}/p/{code}/ae")
    page.screenshot(path=str(SHOTS / "ae-form.png"), full_page=True)

    # Everything the browser received: no arm anywhere.
    assert rec.bodies
    for url, body in rec.bodies:
        assert not arm_in(body), url

    # A tablet-width view of the dashboard.
    tablet, _ = log_in(browser, base, "inv1", width=800)
    tablet.screenshot(path=str(SHOTS / "web-investigator-tablet.png"), full_page=True)

    # The pharmacist sees the arm of the same participant; the DSMB the by-arm summary.
    pharm, _ = log_in(browser, base, "pharm")
    assert "Pharmacy" in pharm.title()
    assert code in pharm.content()
    pharm.screenshot(path=str(SHOTS / "web-pharmacist.png"), full_page=True)
    pharm.goto(f"{base}/pharmacy/p/{code}")
    arm = pharm.locator(".meta .arm").inner_text()
    assert arm in ("msc", "placebo")
    pharm.screenshot(path=str(SHOTS / "pharmacist-dose.png"), full_page=True)

    dsmb, _ = log_in(browser, base, "dsmb")
    assert "Safety summary by arm" in dsmb.content()
    assert arm_in(dsmb.content())
    dsmb.screenshot(path=str(SHOTS / "web-dsmb.png"), full_page=True)


def test_login_throttled_in_browser(server: dict[str, str], browser: Any) -> None:
    base = server["url"]
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{base}/login")
    for _ in range(5):
        page.get_by_label("Username").fill("coord1")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
    page.get_by_label("Username").fill("coord1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert "Too many failed log-ins" in page.locator("#login-error").inner_text()
    page.screenshot(path=str(SHOTS / "login-throttled.png"))


def test_infusion_ae_in_window_sae_clock_and_edit_reason(
    server: dict[str, str], browser: Any
) -> None:
    base, code = server["url"], server["early"]

    # The pharmacist registers and releases a lot of the participant's arm and records infusion #1.
    pharm, _ = log_in(browser, base, "pharm")
    pharm.goto(f"{base}/pharmacy/p/{code}")
    arm = pharm.locator(".meta .arm").inner_text()
    pharm.goto(f"{base}/pharmacy")
    pharm.get_by_label("Lot number").fill("LOT-1")
    pharm.locator("#id_arm").select_option(arm)
    pharm.get_by_role("button", name="Register").click()
    if arm == "msc":
        for key, value in MSC_RELEASE.items():
            pharm.locator(f"#id_LOT-1__{key}").fill(str(value))
    pharm.get_by_role("button", name="Record release results").click()
    assert "LOT-1: released" in pharm.locator(".notice").inner_text()
    pharm.goto(f"{base}/pharmacy/p/{code}")
    pharm.get_by_label("Started at (UTC)").fill(server["infusion_at"])
    pharm.get_by_label("Delivered (cells or mL)").fill("1.4e8" if arm == "msc" else "70")
    pharm.get_by_role("button", name="Record infusion").click()
    assert "Administration #1" in pharm.locator(".notice").inner_text()
    pharm.screenshot(path=str(SHOTS / "pharmacist-infusion.png"), full_page=True)

    # The coordinator reports a serious AE 2 h later: flagged inside the 6 h window, clock runs.
    page, rec = log_in(browser, base, "coord1")
    page.goto(f"{base}/p/{code}/ae")
    page.get_by_label("Term").fill("Hypoxia")
    page.get_by_label("Onset (UTC)").fill(server["ae_onset"])
    assert "Infusion-associated events" in page.locator("#window-flag").inner_text()
    page.get_by_label("CTCAE grade").select_option("3")
    page.get_by_label("Hospitalization").check()
    page.get_by_label("Relatedness to the study product").select_option("possible")
    page.get_by_label("Outcome").select_option("recovering")
    page.screenshot(path=str(SHOTS / "ae-form-filled.png"), full_page=True)
    page.get_by_role("button", name="Report").click()
    assert "infusion_6h" in page.locator(".notice").inner_text()
    assert "inside: Infusion-associated events" in page.content()
    page.goto(f"{base}/")
    clock = page.locator(".clocks li").first.inner_text()
    assert "Hypoxia" in clock and "h left" in clock
    page.screenshot(path=str(SHOTS / "dashboard-sae-clock.png"), full_page=True)

    # Editing the completed AE demands a reason; the change is then saved.
    page.goto(f"{base}/p/{code}")
    page.get_by_role("link", name="Edit").last.click()
    page.get_by_label("CTCAE grade").select_option("2")
    page.get_by_role("button", name="Save change").click()
    assert "give a reason" in page.locator("#err_reason").inner_text()
    page.screenshot(path=str(SHOTS / "edit-needs-reason.png"), full_page=True)
    page.get_by_label("Reason for change").fill("grade re-assessed by the investigator")
    page.get_by_role("button", name="Save change").click()
    assert "changed" in page.locator(".notice").inner_text()
    assert "grade 2" in page.content()
    for url, body in rec.bodies:
        assert not arm_in(body), url
