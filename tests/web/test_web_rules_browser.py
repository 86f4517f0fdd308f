"""Issue 15 in a real browser: the defects a coordinator, a pharmacist, a data manager and the
DSMB met on the web, each walked through in Debian's Chromium (Playwright) against the EDC's
server in a thread, asserting the behaviour now in place. One test, one browser and one server
for the four roles (each browser session costs seconds; the test client tests of the same rules
are in ``test_web_corrections.py``, ``test_web_when.py`` and ``tests/edc/test_edc_rules.py``).

The trial is the EDC test trial with its visits anchored on the first administration (Day 0
waits for the first infusion) and its 24 h safety window naming its events (cardiac arrest,
death), as a protocol would."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from edc_helpers import ELIGIBLE, FIRST_DOSE_ANCHOR, arm_of, make_trial, randomized, released_lot
from web_helpers import SHOTS, arm_in, browser_only, live_server, log_in, with_passwords

pytestmark = browser_only

#: The 24 h window names its events: a grade-1 chills in it is listed, not counted.
NAMED_WINDOW = (
    "{id: death_24h, label: Death or cardiac arrest, duration: 24h}",
    "{id: death_24h, label: Death or cardiac arrest, duration: 24h, events: [cardiac arrest, death]}",
)
CONSENTED = dt.date(2025, 1, 5)  # edc_helpers.randomized's consent date


def local(t: dt.datetime) -> str:
    """A time as a ``datetime-local`` box holds it (the test sites' zone is UTC)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """The participants each defect needs, prepared before the browser starts (Django refuses
    ORM calls while Playwright's event loop runs in the thread), then the server:

    - ``plain``: randomized two days ago (the refusals of death, AE and times; corrections);
    - ``dead``: randomized three days ago, died a day ago;
    - ``gone``: randomized three days ago, withdrew a day ago ("final, no further data");
    - ``control``: the control arm (placebo), randomized 5 h ago, its first infusion due."""
    from celltrial.edc import actions

    t = with_passwords(make_trial(replace=[FIRST_DOSE_ANCHOR, NAMED_WINDOW]))
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    plain = randomized(t, at=now - dt.timedelta(days=2))
    dead = randomized(t, at=now - dt.timedelta(days=3))
    died = now - dt.timedelta(days=1)
    actions.record_death(t["coord1"], dead, died_at=died, cause="Refractory hypoxaemia")
    gone = randomized(t, at=now - dt.timedelta(days=3))
    left = now - dt.timedelta(days=1)
    actions.withdraw(t["coord1"], gone, reason="Final: no further data", at=left)
    control = None
    for _ in range(6):  # the 2:1 list gives a placebo within a block
        p = randomized(t, at=now - dt.timedelta(hours=5))
        if arm_of(p) == "placebo":
            control = p
            break
    assert control is not None
    released_lot(t, "placebo", "PL-0042")
    with live_server() as url:
        yield {
            "url": url,
            "now": now,
            "plain": plain.code,
            "randomized_at": plain.randomization.randomized_at,
            "dead": dead.code,
            "died": died,
            "gone": gone.code,
            "left": left,
            "control": control.code,
        }


def _fill_screening(page: Any, values: dict[str, Any]) -> None:
    selects = {"site_size", "ards_severity", "invasive_ventilation", "pregnancy", "malignancy"}
    for key, value in values.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if key in selects:
            page.locator(f"#id_{key}").select_option(text)
        else:
            page.locator(f"#id_{key}").fill(text)


def shot(page: Any, name: str, until: Any) -> None:
    """A screenshot of the page from its top to the bottom of ``until`` (for docs/edc.md)."""
    box = until.bounding_box()
    assert box is not None, name
    bottom = box["y"] + box["height"] + 24
    clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": bottom}
    page.screenshot(path=str(SHOTS / name), clip=clip, full_page=True)


def _row(page: Any, heading: str) -> Any:
    """The timeline's row of a visit (by its label)."""
    return page.locator("tr", has=page.locator("th", has_text=heading))


def test_issue15_defects_walked_through_in_the_browser(
    server: dict[str, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, now = server["url"], server["now"]
    plain, dead, gone, control = (server[k] for k in ("plain", "dead", "gone", "control"))

    # ------------------------------------------------------------------ the coordinator
    page, _ = log_in(browser, base, "coord1")

    # Screened on the web (weight 83.5 kg, PaO2/FiO2 150 on the screening form), consented,
    # enrolled, randomized: Day 0 is due, not "missing" nor overdue, the moment it is
    # randomized (it waits for the first infusion).
    page.goto(f"{base}/screen")
    _fill_screening(page, {**ELIGIBLE, "weight": 83.5, "site_size": "small"})
    page.get_by_role("button", name="Screen").click()
    expect(page.locator("#eligibility")).to_have_text("Eligible")
    page.get_by_role("button", name="Record consent").click()
    page.get_by_role("button", name="Enroll").click()
    page.get_by_role("button", name="Randomize").click()
    expect(page.locator("#kit-shown")).to_be_visible()
    screened = page.locator("h1").inner_text().split()[0]
    expect(_row(page, "Baseline")).to_contain_text("due")
    expect(_row(page, "Baseline")).not_to_contain_text("missing")
    # The visit form takes when the visit took place; a time in the future is refused.
    page.locator("#id_at_baseline").fill(local(now + dt.timedelta(days=1)))
    _row(page, "Baseline").get_by_role("button", name="Visit done").click()
    expect(page.locator(".error[role=alert]")).to_contain_text(
        "baseline done at: the visit time is in the future"
    )
    expect(_row(page, "Baseline")).to_contain_text("due")
    # Day 90, three months away, is upcoming (its window's opening said), not due: no visit
    # time box, no "Visit done", no "Not done…" before its window opens (issue 17).
    day90 = _row(page, "Day 90")
    expect(day90).to_contain_text(
        re.compile(r"upcoming \(window opens \d{4}-\d\d-\d\d \d\d:\d\d\)")
    )
    expect(day90).not_to_contain_text("due")
    expect(day90.get_by_role("button", name="Visit done")).to_have_count(0)
    expect(day90.locator("input[type=datetime-local]")).to_have_count(0)
    expect(day90.get_by_role("link", name="Record Day 90 as not done")).to_have_count(0)
    expect(_row(page, "Infusion #3")).to_contain_text("upcoming (window opens ")
    shot(page, "rules-day0-waits.png", page.locator("#tl-h + .scroll"))
    page.goto(f"{base}/dashboard")
    overdue = page.get_by_role("region", name="Overdue visits")
    expect(overdue).to_be_visible()
    expect(overdue).not_to_contain_text(screened)

    # A death one minute before the randomization: refused on the time of death, naming the
    # rule and the randomization it would precede.
    page.goto(f"{base}/p/{plain}/leave")
    before_rand = server["randomized_at"] - dt.timedelta(minutes=1)
    page.locator("#id_death_died_at").fill(local(before_rand))
    page.locator("#id_death_cause").fill("ARDS")
    page.locator("#death").get_by_role("checkbox").check()
    page.get_by_role("button", name="Record the death").click()
    err = page.locator("#err_death_died_at")
    # One sentence per record already entered (subject and verb agreeing), times as the page
    # writes them (not ISO 8601), the rule and what it says once, at the end.
    rand_at = server["randomized_at"].strftime("%Y-%m-%d %H:%M UTC")
    expect(err).to_contain_text("2 records already entered conflict with it.")
    expect(err).to_contain_text(f"The randomization at {rand_at} is after death")
    expect(err).to_contain_text("The screening values at")
    expect(err).to_contain_text(" are after death")
    expect(err).to_contain_text("These break rule nothing_after_death: nothing happens")
    expect(err).not_to_contain_text(re.compile(r"nothing_after_death.*nothing_after_death"))
    expect(err).not_to_contain_text(re.compile(r"\d{2}:\d{2}Z"))
    expect(page.locator("#id_death_died_at")).to_have_attribute("aria-invalid", "true")
    page.locator("#death").screenshot(path=str(SHOTS / "rules-death-before-randomization.png"))

    def report_ae(code: str, onset: dt.datetime, aware: dt.datetime | None) -> None:
        page.goto(f"{base}/p/{code}/ae")
        page.locator("#id_term").fill("Hypotension")
        page.locator("#id_grade").select_option("2")
        page.locator("#id_onset").fill(local(onset))
        page.locator("#id_aware_at").fill(local(aware) if aware else "")
        page.locator("#id_relatedness").select_option("unlikely")
        page.locator("#id_outcome").select_option("recovered")
        page.get_by_role("button", name="Report").click()

    # An AE whose onset is after the death.
    report_ae(dead, server["died"] + dt.timedelta(hours=1), None)
    expect(page.locator("#err_onset")).to_contain_text("is after death")
    expect(page.locator("#err_onset")).to_contain_text("rule nothing_after_death")
    # An AE onset before consent (2025-01-05), then one the site became aware of before
    # consent (the record that could never be fixed): refused on the form, corrected there.
    first_day = dt.datetime.combine(CONSENTED, dt.time(10), dt.UTC)
    report_ae(plain, first_day - dt.timedelta(days=3), None)
    expect(page.locator("#err_onset")).to_contain_text("before consent (2025-01-05)")
    expect(page.locator("#window-flag")).to_be_hidden()  # no infusion: no window, no empty flag
    expect(page.locator("#err_onset")).to_contain_text("rule after_consent")
    report_ae(plain, first_day - dt.timedelta(days=3), first_day - dt.timedelta(days=2))
    expect(page.locator("#err_onset")).to_contain_text("rule after_consent")
    shot(page, "rules-ae-before-consent.png", page.locator("#id_aware_at"))
    page.locator("#id_onset").fill(local(now - dt.timedelta(hours=20)))  # awareness left
    page.get_by_role("button", name="Report").click()
    expect(page.locator("#err_aware_at")).to_contain_text("awareness cannot precede the onset")
    page.locator("#id_aware_at").fill(local(now - dt.timedelta(hours=18)))
    page.get_by_role("button", name="Report").click()
    expect(page.locator(".notice")).to_contain_text("Adverse event 'Hypotension' recorded.")

    def measure(code: str, visit: str, value: str, at: dt.datetime | None) -> None:
        page.goto(f"{base}/p/{code}/measure?visit={visit}")
        page.locator("#id_measured_at").fill(local(at) if at else "")
        page.locator("#id_il6").fill(value)
        page.get_by_role("button", name="Save").click()

    # A lab value after the death, another after a final withdrawal, one in the future.
    measure(dead, "day7", "31", server["died"] + dt.timedelta(hours=2))
    expect(page.locator("#err_measured_at")).to_contain_text("rule nothing_after_death")
    measure(gone, "day7", "31", server["left"] + dt.timedelta(hours=2))
    expect(page.locator("#err_measured_at")).to_contain_text(
        "is after the end of follow-up (withdrawal)"
    )
    expect(page.locator("#err_measured_at")).to_contain_text("rule nothing_after_end")
    shot(page, "rules-lab-after-withdrawal.png", page.locator("#id_il6"))
    measure(plain, "day7", "31", now + dt.timedelta(days=2))
    expect(page.locator("#err_measured_at")).to_contain_text("the time is in the future")

    # A likely duplicate (the same measurement at the same visit) is a warning to confirm.
    measure(plain, "baseline", "12", now - dt.timedelta(hours=1))
    measure(plain, "baseline", "12", now - dt.timedelta(hours=1))
    expect(page.locator("#err_il6")).to_contain_text("a likely duplicate")
    expect(page.locator("#id_il6__duplicate")).not_to_be_checked()
    shot(page, "rules-duplicate.png", page.get_by_role("button", name="Save"))
    page.locator("#id_il6__duplicate").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("Saved: Interleukin 6.")
    # Corrections: the first value edited (a reason demanded), the second marked entered
    # in error (a reason demanded): it stays on the page, marked, and leaves the dataset.
    values = page.locator("section[aria-labelledby=m-h] tbody tr")
    expect(values).to_have_count(2)
    values.first.get_by_role("link", name="Edit").click()
    page.locator("#id_value").fill("14")
    page.get_by_role("button", name="Save change").click()
    expect(page.locator("#err_reason")).to_contain_text("give a reason for the change")
    page.locator("#id_reason").fill("transcription error: the lab sheet says 14")
    page.get_by_role("button", name="Save change").click()
    expect(page.locator(".notice")).to_contain_text("Measurement changed.")
    values.last.get_by_role("link", name="Entered in error").click()
    page.get_by_role("button", name="Mark entered in error").click()
    expect(page.locator("#err_reason")).to_contain_text("say why")
    page.locator("#id_reason").fill("the same sample typed twice")
    page.get_by_role("button", name="Mark entered in error").click()
    expect(values.first).to_contain_text("14 pg/mL")
    expect(values.last).to_contain_text("entered in error")
    expect(values.last.get_by_role("link", name="Edit")).to_have_count(0)
    page.locator("section[aria-labelledby=m-h]").screenshot(
        path=str(SHOTS / "rules-entered-in-error.png")
    )

    # ------------------------------------------------------------------ the pharmacist
    # The control arm's under-dose (30 mL of 70 mL) is refused unless a deviation is recorded.
    pharm, _ = log_in(browser, base, "pharm")
    pharm.goto(f"{base}/pharmacy/p/{control}")
    pharm.locator("#id_lot").select_option("PL-0042")
    given = now - dt.timedelta(hours=1)
    pharm.locator("#id_started_at").fill(local(given))
    pharm.locator("#id_delivered").fill("30")
    pharm.get_by_role("button", name="Record infusion").click()
    refused = pharm.locator(".field", has=pharm.locator("#id_delivered")).locator(".field-error")
    expect(refused).to_contain_text("30 mL is outside the allowed 63 – 77 mL")
    expect(refused).to_contain_text("record a deviation")
    shot(pharm, "rules-control-underdose.png", pharm.locator("#id_deviation"))
    pharm.locator("#id_deviation").fill("Bag leaked at the spike: 30 mL of 70 mL given")
    pharm.get_by_role("button", name="Record infusion").click()
    expect(pharm.locator(".notice")).to_contain_text(f"Administration #1 of {control} recorded.")
    expect(pharm.locator("#plan-h + .scroll tbody tr").first).to_contain_text(
        "30 mL at " + given.strftime("%Y-%m-%d %H:%M") + " from PL-0042 · deviation: Bag leaked"
    )
    pharm.context.close()

    # ---------------------------------------------------------- the coordinator, later on
    # Day 0 done on the day of the first infusion: in its window (it moved to the infusion).
    page.goto(f"{base}/p/{control}")
    expect(_row(page, "Baseline")).to_contain_text(given.strftime("%Y-%m-%d %H:%M"))
    _row(page, "Baseline").get_by_role("button", name="Visit done").click()
    expect(page.locator(".notice")).to_contain_text("Visit baseline recorded.")
    expect(_row(page, "Baseline")).not_to_contain_text("outside window")
    expect(_row(page, "Baseline")).not_to_contain_text("due")
    # A grade-1 chills 30 min after the infusion: inside the infusion window, listed but
    # not counted as "death or cardiac arrest" within 24 h (the form says so as it is typed).
    page.goto(f"{base}/p/{control}/ae")
    page.locator("#id_term").fill("Chills")
    page.locator("#id_onset").fill(local(now - dt.timedelta(minutes=30)))
    flag = page.locator("#window-flag")
    expect(flag).to_contain_text("Inside the safety window: Infusion-associated events (6 h)")
    expect(flag).to_contain_text("listed, not counted in: Death or cardiac arrest (24 h")
    page.locator("#id_term").fill("Cardiac arrest")
    expect(flag).not_to_contain_text("not counted")
    page.locator("#id_term").fill("Chills")
    shot(page, "rules-chills-window.png", page.locator("#infusion-question"))
    page.locator("#id_grade").select_option("1")
    page.locator("input[name=infusion_associated][value=yes]").check()
    page.locator("#id_relatedness").select_option("possible")
    page.locator("#id_outcome").select_option("recovered")
    page.get_by_role("button", name="Report").click()
    expect(page.locator(".notice")).to_contain_text(
        "Inside safety window(s): Infusion-associated events."
    )
    chills = page.locator("ul.aes li", has_text="Chills")
    expect(chills).to_contain_text("inside: Infusion-associated events")
    expect(chills).not_to_contain_text("cardiac arrest")
    page.context.close()

    # --------------------------------------------------- the data manager: blinded export
    # The screening form's values are in the dataset, at the screening visit (baselines).
    dm, _ = log_in(browser, base, "dm")
    dm.goto(f"{base}/export")
    with dm.expect_download() as info:
        dm.get_by_role("link", name=re.compile("CSV")).first.click()
    with zipfile.ZipFile(info.value.path()) as z:
        found = {
            (r.get("VSTESTCD") or r.get("LBTESTCD"), r.get("VSORRES") or r.get("LBORRES"))
            for name in ("vs.csv", "lb.csv")
            for r in csv.DictReader(io.TextIOWrapper(z.open(name), "utf-8"))
            if r["USUBJID"] == screened and r["VISIT"] == "screening"
        }
        assert {("WEIGHT", "83.5"), ("PAO2FIO2", "150")} <= found, found
        assert not arm_in(z.read("dm.csv").decode())
    dm.context.close()

    # ------------------------------------------------------------------------- the DSMB
    dsmb, _ = log_in(browser, base, "dsmb")
    dsmb.goto(f"{base}/dsmb/report")
    expect(dsmb.locator("h2", has_text="Participant flow")).to_be_visible()
    report = dsmb.locator("body").inner_text()
    assert "Data problems" not in report  # every record passed the entry rules
    # CONSORT accounts for every participant: the ones still in follow-up have their box.
    boxes = re.findall(
        r"Allocated \(n=(\d+)\).*?Lost to follow-up \(n=(\d+)\).*?Discontinued \(n=(\d+)\)"
        r".*?Completed \(n=(\d+)\)\s*Still in follow-up, ongoing \(n=(\d+)\)",
        report,
        re.S,
    )
    assert len(boxes) == 2, boxes
    assert all(int(b[0]) == sum(int(x) for x in b[1:]) for b in boxes), boxes
    assert sum(int(b[4]) for b in boxes) == 3  # plain, control and the one screened today
    # Deaths read the same in the safety table and in CONSORT.
    assert "Death (n=1)" in report
    assert re.search(r"Deaths, all randomized \(as randomized, as in CONSORT\).*\t1/5 ", report)
    # Baselines from the screening form: no participant missing.
    for line in ("Body weight (kg), median (IQR)", "PaO2/FiO2 (mm[Hg]), median (IQR)"):
        row = next(r for r in report.splitlines() if r.startswith(line))
        assert "missing" not in row, row
    # The control arm's deviation is counted and listed.
    assert re.search(r"with a dose, product or timing deviation\t0\t1\t1", report)
    assert "administration 1: Bag leaked at the spike" in report
    # The chills is listed by term, counted in the infusion window, not in the 24 h one.
    assert re.search(r"Chills\t0\t0/0/0/0/0\t1\t1/0/0/0/0", report)
    assert re.search(r"Infusion-associated events\t0 / 0\t1 / 1\t1 / 1", report)
    assert re.search(r"Death or cardiac arrest\t0 / 0\t0 / 0\t0 / 0", report)
    top = dsmb.locator("h2", has_text="1. Participant flow").bounding_box()
    end = dsmb.locator("h2", has_text="5. Endpoints").bounding_box()
    assert top is not None and end is not None
    dsmb.set_viewport_size({"width": 1280, "height": int(end["y"]) + 40})
    dsmb.screenshot(
        path=str(SHOTS / "rules-dsmb-report.png"),
        clip={"x": 0, "y": top["y"] - 10, "width": 1280, "height": end["y"] - top["y"]},
    )
    dsmb.context.close()
