"""Real-browser tests: Playwright for Python driving Debian's Chromium against the EDC server
running in a thread on 127.0.0.1 (a free port) over the test database file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from edc_helpers import ELIGIBLE, MSC_RELEASE, make_trial, randomized
from web_helpers import PASSWORD, SHOTS, arm_in, browser_only, live_server, log_in, with_passwords

pytestmark = browser_only


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, str]]:
    """The trial set up (with one participant randomized 10 h ago), then the EDC's server in a
    background thread; yields its base URL and that participant's code and times. (The
    database is prepared before the browser starts: Django refuses ORM calls while
    Playwright's event loop runs in the thread.)"""
    from django.utils import timezone

    t = with_passwords(make_trial())
    early = randomized(t, at=timezone.now() - dt.timedelta(hours=10))
    start = early.randomization.randomized_at + dt.timedelta(hours=3)
    with live_server(close_connections=False) as url:
        yield {
            "url": url,
            "early": early.code,
            "infusion_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ae_onset": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "cm_start": "2025-01-03",  # before consent (2025-01-05): a prior medication
        }


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
    page, bodies = log_in(browser, base, "coord1")
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
    assert bodies
    for url, body in bodies:
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
    # infusion details (issue 17): pre-medication, volume, an interruption, a reaction
    pharm.get_by_label("Volume infused (mL)", exact=True).fill("50")
    pharm.get_by_label("Pre-medication given", exact=True).fill("paracetamol 1 g PO")
    pharm.get_by_label("The infusion was interrupted").check()
    pharm.get_by_label("Interruption (when, how long, why)", exact=True).fill("10 min, chills")
    pharm.get_by_label("Infusion reactions (none: write none)", exact=True).fill("chills")
    pharm.get_by_role("button", name="Record infusion").click()
    assert "Administration #1" in pharm.locator(".notice").inner_text()
    given = pharm.locator("table").first.inner_text()
    assert "50 mL" in given and "paracetamol 1 g PO" in given and "interrupted" in given
    pharm.screenshot(path=str(SHOTS / "pharmacist-infusion.png"), full_page=True)

    # The coordinator reports a serious AE 2 h later: flagged inside the 6 h window, clock runs.
    page, bodies = log_in(browser, base, "coord1")
    page.goto(f"{base}/p/{code}/ae")
    page.get_by_label("Term").fill("Hypoxia")
    page.get_by_label("Onset (UTC)").fill(server["ae_onset"])
    assert "Infusion-associated events" in page.locator("#window-flag").inner_text()
    page.get_by_label("CTCAE grade").select_option("3")
    # The safety CRF (issue 17): seriousness criteria and both relatednesses by their labels;
    # the onset inside the 6 h window asks whether it is a pre-specified infusion event.
    page.get_by_label("Hospitalisation (initial or prolonged)").check()
    page.get_by_label("Life-threatening").check()
    assert page.locator("#infusion-question").is_visible()
    page.locator("#infusion-question").get_by_label("Yes").check()
    page.get_by_label("Relatedness to the cell product", exact=True).select_option(
        label="Possibly related"
    )
    page.get_by_label("Relatedness to the infusion procedure", exact=True).select_option(
        label="Not related"
    )
    page.get_by_label("Expectedness", exact=True).select_option(label="Unexpected")
    page.get_by_label("Action taken with the study product", exact=True).select_option(
        label="Infusion interrupted or delayed"
    )
    page.get_by_label("Ongoing (not resolved at this entry)").check()
    page.get_by_label("Outcome", exact=True).select_option(label="Recovering / resolving")
    page.screenshot(path=str(SHOTS / "ae-form-filled.png"), full_page=True)
    page.get_by_role("button", name="Report").click()
    assert "Infusion-associated events" in page.locator(".notice").inner_text()
    assert "inside: Infusion-associated events" in page.content()
    ae_item = page.locator("ul.aes li").first.inner_text()
    for words in (
        "Life-threatening",
        "Hospitalisation (initial or prolonged)",
        "Product: Possibly related",
        "infusion procedure: Not related",
        "unexpected",
        "Infusion interrupted or delayed",
        "pre-specified infusion-associated event",
        "ongoing",
    ):
        assert words in ae_item, (words, ae_item)
    assert "life_threatening" not in ae_item and "not_related" not in ae_item  # labels, not codes
    page.locator("#ae-h").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "ae-on-participant-page.png"), full_page=True)

    # A concomitant medication and a condition of the medical history, with a missing-data code.
    page.goto(f"{base}/p/{code}/medications")
    page.get_by_label("Medication (as reported)").fill("Dexamethasone")
    page.get_by_label("Indication", exact=True).fill("COVID-19 pneumonia")
    page.get_by_label("Dose per administration", exact=True).fill("6")
    page.get_by_label("Dose unit (e.g. mg, mL, IU)", exact=True).fill("mg")
    page.get_by_label("Route", exact=True).select_option(label="Intravenous")
    page.get_by_label("Frequency", exact=True).select_option(label="Once a day")
    page.get_by_label("Start date", exact=True).fill(server["cm_start"])
    page.get_by_label("Ongoing").check()
    page.get_by_role("button", name="Record the medication").click()
    assert "Recorded: Dexamethasone" in page.locator(".notice").inner_text()
    row = page.locator("#medications tbody tr").first.inner_text()
    assert "Intravenous" in row and "Once a day" in row and "Ongoing" in row, row
    page.screenshot(path=str(SHOTS / "cm-form.png"), full_page=True)
    page.goto(f"{base}/p/{code}/history")
    page.get_by_label("Condition (as reported)").fill("Type 2 diabetes mellitus")
    page.get_by_label("Start date", exact=True).fill("2015-06-01")
    page.get_by_label("End date: or a missing-data code").select_option(label="Asked but unknown")
    page.get_by_role("button", name="Record the condition").click()
    assert "Recorded: Type 2 diabetes mellitus" in page.locator(".notice").inner_text()
    assert "Asked but unknown" in page.locator("#history tbody tr").first.inner_text()
    page.get_by_label("Condition (as reported)").fill("Rash")
    page.get_by_label("Start date", exact=True).fill(server["cm_start"][:8] + "28")
    page.get_by_role("button", name="Record the condition").click()
    assert "adverse event" in page.locator("#err_start_date").inner_text()  # after consent
    page.screenshot(path=str(SHOTS / "mh-form.png"), full_page=True)
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
    for url, body in bodies:
        assert not arm_in(body), url
