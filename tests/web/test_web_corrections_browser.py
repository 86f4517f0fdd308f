"""Issue 17's correction pages and the dataset download, walked in Debian's Chromium: the
coordinator corrects a medication (the entry rules again, a reason required) and marks a
condition of the history entered in error; corrects an adverse event on the page that holds
every field of the AE form; the data manager downloads the blinded dataset from the web and the
DSMB statistician the unblinded one (each download audited). One browser for all of it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edc_helpers import arm_of, make_trial, randomized, released_lot
from web_helpers import SHOTS, browser_only, live_server, log_in, with_passwords


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """A participant randomized ten days ago with an infusion, an AE, a medication and two
    conditions of the history; the server in a thread."""
    from celltrial.edc import actions

    t = with_passwords(make_trial())
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(days=10)
    p = randomized(t, at=start)
    arm = arm_of(p)
    lot = released_lot(t, arm, "LOT-SECRET-9")
    actions.record_infusion(
        t["pharm"],
        p,
        lot=lot.number,
        started_at=start + dt.timedelta(hours=3),
        delivered=(140e6 if arm == "msc" else 70.0),
    )
    coord = t["coord1"]
    ae = actions.report_adverse_event(
        coord,
        p,
        term="Hypoxia",
        onset=start + dt.timedelta(days=3),
        grade=2,
        relatedness="unlikely",
        outcome="recovering",
        ongoing=True,
    )
    cm = actions.record_medication(
        coord, p, medication="Dexamethasone", route="oral", start_date="2025-01-03"
    )
    actions.record_medical_history(coord, p, term="Asthma", start_date="2010-01-01")
    wrong = actions.record_medical_history(coord, p, term="Gout", start_date="2012-01-01")
    with live_server() as url:
        yield {"url": url, "p": p, "arm": arm, "ae": ae.id, "cm": cm.id, "wrong": wrong.id}


def _zip_of(download: Any, tmp: Path, name: str) -> dict[str, str]:
    path = tmp / name
    download.value.save_as(path)
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist()}


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=True)


@browser_only
def test_corrections_and_the_dataset_download_in_the_browser(
    server: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    """About 25 s: three log-ins and a dozen pages in one browser."""
    from playwright.sync_api import expect

    base, code = server["url"], server["p"].code

    # --- the coordinator corrects a medication: the entry rules, then a reason
    coord, _ = log_in(browser, base, "coord1")
    coord.goto(f"{base}/p/{code}/medications")
    row = coord.locator("#medications tr", has_text="Dexamethasone")
    row.get_by_role("link", name="Edit").click()
    expect(coord.locator("h1")).to_contain_text("Edit concomitant medication")
    expect(coord.get_by_label("Route", exact=True)).to_have_value("oral")
    coord.get_by_label("Dose", exact=True).fill("6")
    coord.get_by_label("Route", exact=True).select_option("intravenous")
    coord.get_by_role("button", name="Save change").click()
    # a complete form needs a reason, and a dose its unit (the entry form's rule)
    expect(coord.locator("#err_reason")).to_contain_text("reason")
    expect(coord.get_by_label("Dose", exact=True)).to_have_value("6")  # kept as typed
    coord.get_by_label("Reason for change").fill("Dose and route from the drug chart")
    coord.get_by_role("button", name="Save change").click()
    expect(coord.locator("#err_dose_unit")).to_contain_text("unit")
    expect(coord.get_by_label("Reason for change")).to_have_value(
        "Dose and route from the drug chart"
    )
    _shot(coord, "safety-cm-edit.png")
    coord.get_by_label("Dose unit", exact=True).fill("mg")
    coord.get_by_role("button", name="Save change").click()
    expect(coord.locator(".notice")).to_contain_text("Concomitant medication changed")
    row = coord.locator("#medications tr", has_text="Dexamethasone")
    expect(row).to_contain_text("6 mg")
    expect(row).to_contain_text("Intravenous")

    # --- and marks a condition of the history entered in error
    coord.goto(f"{base}/p/{code}/history")
    coord.locator("#history tr", has_text="Gout").get_by_role(
        "link", name="Entered in error"
    ).click()
    coord.get_by_role("button", name="Mark entered in error").click()
    expect(coord.locator("#err_reason")).to_be_visible()
    coord.get_by_label("Why was it entered in error?").fill("Another participant's history")
    coord.get_by_role("button", name="Mark entered in error").click()
    gout = coord.locator("#history tr", has_text="Gout")
    expect(gout).to_have_class("in-error")
    expect(gout).to_contain_text("entered in error")
    expect(gout.get_by_role("link", name="Edit")).to_have_count(0)
    expect(
        coord.locator("#history tr", has_text="Asthma").get_by_role("link", name="Edit")
    ).to_have_count(1)
    _shot(coord, "safety-mh-in-error.png")

    # --- the AE page holds every field of the AE form, checked by the same rules
    coord.goto(f"{base}/p/{code}/edit/adverse_event/{server['ae']}")
    for label in (
        "Term (CTCAE term as reported)",
        "CTCAE grade",
        "Relatedness to the cell product",
        "Relatedness to the infusion procedure",
        "Expectedness",
        "Action taken with the study product",
        "Outcome",
    ):
        expect(coord.get_by_label(label, exact=True)).to_be_visible()
    expect(coord.get_by_label("Ongoing (not resolved)")).to_be_checked()
    coord.get_by_label("Outcome", exact=True).select_option("recovered")
    coord.get_by_label("Reason for change").fill("Resolved, per the discharge letter")
    coord.get_by_role("button", name="Save change").click()
    # recovered says it ended: not with "ongoing" (the entry form's rule, beside its field)
    expect(coord.locator("#err_ongoing")).to_contain_text("has ended")
    coord.get_by_label("Ongoing (not resolved)").uncheck()
    end = coord.locator("#id_end_at")
    onset = coord.locator("#id_onset").input_value()
    end.fill((dt.datetime.fromisoformat(onset) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    coord.get_by_label("Hospitalisation (initial or prolonged)").check()
    coord.get_by_label("Relatedness to the infusion procedure", exact=True).select_option(
        "not_related"
    )
    coord.get_by_label("Expectedness", exact=True).select_option("unexpected")
    coord.get_by_label("Action taken with the study product", exact=True).select_option(
        "drug_interrupted"
    )
    _shot(coord, "safety-ae-edit.png")
    coord.get_by_role("button", name="Save change").click()
    expect(coord.locator(".notice")).to_contain_text("Adverse event changed")
    ae_row = coord.locator("ul.aes li", has_text="Hypoxia")
    expect(ae_row).to_contain_text("Hospitalisation")
    expect(ae_row).to_contain_text("Infusion interrupted or delayed")

    # --- the data manager downloads the blinded dataset from the web
    dm, _ = log_in(browser, base, "dm")
    dm.get_by_role("link", name="Dataset").click()
    expect(dm.locator("#blinded-note")).to_be_visible()
    with dm.expect_download() as got:
        dm.get_by_role("link", name="CSV tables (one file per domain) — blinded").click()
    assert "-blinded-" in got.value.suggested_filename
    files = _zip_of(got, tmp_path, "dm.zip")
    assert {"dm.csv", "ae.csv", "ex.csv", "cm.csv", "mh.csv"} <= set(files), sorted(files)
    dm_rows = list(csv.DictReader(io.StringIO(files["dm.csv"])))
    assert {r["ARMCD"] for r in dm_rows} == {"BLINDED"}
    every = "\n".join(files.values())
    assert "LOT-SECRET-9" not in every and server["arm"] not in every
    cm_rows = list(csv.DictReader(io.StringIO(files["cm.csv"])))
    assert [(r["CMTRT"], r["CMROUTE"], r["CMDOSE"]) for r in cm_rows] == [
        ("Dexamethasone", "INTRAVENOUS", "6.0")
    ]
    mh_terms = [r["MHTERM"] for r in csv.DictReader(io.StringIO(files["mh.csv"]))]
    assert mh_terms == ["Asthma"]  # Gout was entered in error
    ae_rows = list(csv.DictReader(io.StringIO(files["ae.csv"])))
    assert [(r["AETERM"], r["AEOUT"], r["AESHOSP"]) for r in ae_rows] == [
        ("Hypoxia", "RECOVERED/RESOLVED", "Y")
    ]
    _shot(dm, "dm-download.png")

    # --- the DSMB statistician gets the unblinded one
    dsmb, _ = log_in(browser, base, "dsmb")
    dsmb.goto(f"{base}/export")
    with dsmb.expect_download() as got:
        dsmb.get_by_role("link", name="CSV tables (one file per domain)").click()
    files = _zip_of(got, tmp_path, "dsmb.zip")
    assert "LOT-SECRET-9" in files["ex.csv"]
    assert {r["ARMCD"] for r in csv.DictReader(io.StringIO(files["dm.csv"]))} == {server["arm"]}
