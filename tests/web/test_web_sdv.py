"""Issue 17 on the web pages: form status icons and source-data verification (the monitor), a
locked casebook without entry buttons, the dataset download by role (blinded for a blinded
role), lot release with results and the chain from lot to infusion (the pharmacist); through
Django's test client, then one walk-through in Debian's Chromium (Playwright), one browser
session per role, with the screenshots of docs/edc.md."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edc_helpers import MSC_RELEASE, arm_of, make_trial, randomized, released_lot
from web_helpers import (
    SHOTS,
    WRITE_IMAGES,
    browser_only,
    client_for,
    live_server,
    log_in,
    no_arm,
    post,
    text,
    with_passwords,
)

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def _given(t: Any, p: Any, lot: Any) -> Any:
    from celltrial.edc import actions

    return actions.record_infusion(
        t["pharm"],
        p,
        lot=lot,
        started_at=p.randomization.randomized_at + dt.timedelta(hours=3),
        delivered=140e6 if lot.arm == "msc" else 70.0,
    )


@pytest.fixture
def site(web_trial: Any) -> dict[str, Any]:
    """A participant of site1 randomized 10 h ago, baseline done, IL-6 taken at it."""
    from celltrial.edc import actions

    p = randomized(web_trial, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=10))
    actions.record_visit(web_trial["coord1"], p, "baseline", at=p.randomization.randomized_at)
    m = actions.record_measurement(
        web_trial["coord1"],
        p,
        "il6",
        12,
        visit="baseline",
        measured_at=p.randomization.randomized_at + dt.timedelta(minutes=30),
    )
    return {"p": p, "m": m, "t": web_trial}


def test_status_icons_and_sdv_on_the_pages(site: dict[str, Any]) -> None:
    from celltrial.edc.models import AuditEntry

    p, m = site["p"], site["m"]
    mon = client_for("mon1")
    html = mon.get(f"/p/{p.code}").content.decode()
    # One icon per form, with its label as text and what it rests on in the tooltip.
    assert 'id="status-legend"' in html
    row = html[html.index(f"/p/{p.code}/record/measurement/{m.id}") - 2500 :]
    assert 'data-status="complete"' in row and 'title="Complete: SDV not done"' in row
    assert html.count('data-status="empty"') >= 1  # the visits to come
    assert "<svg aria-hidden=" in html and 'class="fs-label">Complete</span>' in html

    url = f"/p/{p.code}/record/measurement/{m.id}"
    page = text(mon.get(url).content)
    assert "SDV not done." in page and "Source data verified" in page
    assert post(mon, url, {"do": "verify"}).status_code == 302
    page = text(mon.get(url).content)
    assert "SDV done by mon1" in page and "Withdraw verification" in page
    assert "verify record" in page  # in the record's audit trail
    html = mon.get(f"/p/{p.code}").content.decode()
    assert 'data-status="verified"' in html and "Source-verified: SDV by mon1" in html
    # Withdrawing needs a reason, shown next to its box.
    r = post(mon, url, {"do": "unverify", "unverify_reason": ""})
    assert r.status_code == 200 and 'id="err_unverify_reason"' in r.content.decode()
    r = post(mon, url, {"do": "unverify", "unverify_reason": "wrong source page"})
    assert r.status_code == 302
    assert "wrong source page" in text(mon.get(url).content)
    actions = [e.action for e in AuditEntry.objects.filter(table="sourceverification")]
    assert actions == ["verify_record", "unverify_record"]

    # The site and the data manager see the status; no verify button for them, and a
    # forged request is refused on the server, naming the role.
    for name in ("coord1", "dm", "inv1"):
        c = client_for(name)
        html = c.get(url).content.decode() if name == "dm" else ""
        assert 'id="verify"' not in html
        page = c.get(f"/p/{p.code}").content.decode()
        assert 'data-status="complete"' in page
    r = post(client_for("dm"), url, {"do": "verify"})
    assert "may not verify record" in text(r.content)


def test_second_verify_is_refused_naming_it(site: dict[str, Any]) -> None:
    from celltrial.edc import actions

    p, m, t = site["p"], site["m"], site["t"]
    actions.verify_record(t["mon1"], "measurement", m.id)
    r = post(client_for("mon1"), f"/p/{p.code}/record/measurement/{m.id}", {"do": "verify"})
    assert r.status_code == 200 and "is source-verified already" in text(r.content)


def test_locked_casebook_hides_entry_buttons(site: dict[str, Any]) -> None:
    from celltrial.edc import actions

    p, m, t = site["p"], site["m"], site["t"]
    coord = client_for("coord1")
    page = coord.get(f"/p/{p.code}").content.decode()
    for button in ("Enter measurements", "Report an adverse event", f"/edit/measurement/{m.id}"):
        assert button in page
    actions.lock_record(t["dm"], p, reason="database lock for the interim")
    for name in ("coord1", "inv1", "dm"):
        page = client_for(name).get(f"/p/{p.code}").content.decode()
        assert 'id="casebook-locked"' in page and "database lock for the interim" in page
        for button in (
            "Enter measurements",
            "Report an adverse event",
            "/edit/measurement/",
            "Visit done</button>",
            "Record a clinical event",
            "Withdrawal, lost to follow-up",
        ):
            assert button not in page, (name, button)
        assert 'data-status="locked"' in page
    # The server refuses what a stale page or a forged request still sends.
    r = post(coord, f"/p/{p.code}/measure", {"visit": "baseline", "il6": "20"})
    assert "locked" in text(r.content)
    r = post(coord, f"/p/{p.code}/edit/measurement/{m.id}", {"value": "16", "reason": "typo"})
    assert r.status_code == 200 and "is locked (lock #" in text(r.content)


def _zip(r: Any) -> dict[str, str]:
    assert r.status_code == 200 and r["Content-Type"] == "application/zip", r.content[:300]
    with zipfile.ZipFile(
        io.BytesIO(b"".join(r.streaming_content) if r.streaming else r.content)
    ) as z:
        return {n: z.read(n).decode("utf-8", "replace") for n in z.namelist()}


def test_dataset_download_by_role(site: dict[str, Any]) -> None:
    p, t = site["p"], site["t"]
    arm = arm_of(p)
    lot = released_lot(t, arm, "LOT-SECRET-7")
    _given(t, p, lot)
    dm = client_for("dm")
    page = text(dm.get("/export").content)
    assert "The blinded dataset" in page and "SDTM and ADaM" in page
    files = _zip(dm.get("/export/download?format=csv"))
    assert {"dm.csv", "ex.csv", "ae.csv", "lb.csv"} <= set(files)
    dm_csv = files["dm.csv"].splitlines()
    assert dm_csv[0].startswith("STUDYID,USUBJID")
    assert ",BLINDED,BLINDED,BLINDED,BLINDED," in dm_csv[1]
    every = "\n".join(files.values())
    assert "LOT-SECRET-7" not in every and p.code in every
    for a in ("msc", "placebo", "BM-MSC", "Plasma-Lyte A"):
        assert not re.search(rf"\b{re.escape(a)}\b", every), a
    # The blinded role gets nothing else, whatever it asks for (403 naming the format).
    r = dm.get("/export/download?format=sdtm-xpt")
    assert r.status_code == 403 and "blinded CSV export only" in text(r.content)
    r = dm.get("/export/download?format=sas")
    assert r.status_code == 422 and "not a format" in text(r.content)
    for name in ("coord1", "inv1", "mon1", "pharm", "admin"):
        c = client_for(name)
        assert c.get("/export").status_code == 403, name
        assert c.get("/export/download?format=csv").status_code == 403, name
    # The DSMB (unblinded) gets the arms, and SDTM/ADaM in XPT.
    dsmb = client_for("dsmb")
    files = _zip(dsmb.get("/export/download?format=csv"))
    assert f",{arm}," in files["dm.csv"] and "LOT-SECRET-7" in files["ex.csv"]
    files = _zip(dsmb.get("/export/download?format=sdtm-xpt"))
    assert {"sdtm/dm.xpt", "sdtm/define.xml", "adam/adsl.xpt"} <= set(files)
    # Each download served is one audit row (who, format, blinded or not); refusals none.
    import json

    from celltrial.edc.audit import verify_audit
    from celltrial.edc.models import AuditEntry

    rows = AuditEntry.objects.filter(action="download_dataset").order_by("seq")
    got = [(e.actor, json.loads(e.new)["format"], json.loads(e.new)["blinded"]) for e in rows]
    assert got == [("dm", "csv", True), ("dsmb", "csv", False), ("dsmb", "sdtm-xpt", False)]
    assert {json.loads(e.new)["via"] for e in rows} == {"web"}
    assert verify_audit().ok


def test_pharmacy_release_results_and_chain(site: dict[str, Any]) -> None:
    p, t = site["p"], site["t"]
    arm = arm_of(p)
    c = client_for("pharm")
    r = post(c, "/pharmacy", {"do": "register", "number": "LOT-B", "arm": "msc"})
    assert r.status_code == 302
    bad = {
        "do": "release",
        "lot": "LOT-B",
        **{f"LOT-B__{k}": str(v) for k, v in MSC_RELEASE.items()},
        "LOT-B__viability": "62",
    }
    r = post(c, "/pharmacy", bad)
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="err_LOT-B__viability"' in html and "fails the release limit ≥ 70 %" in html
    assert "cannot be released" in html
    page = text(c.get("/pharmacy").content)
    assert "LOT-B · BM-MSC · Rejected" in page
    assert "Viability 62 % ≥ 70 % fail" in page
    assert "Viable cell count per dose 150000000.0 cells ≥ 1 × 10^8 cells pass" in page
    lot = released_lot(t, arm, "LOT-C")
    i = _given(t, p, lot)
    page = text(c.get("/pharmacy").content)
    assert "Given to 1 infusion" in page
    assert f"{p.code} · infusion #{i.number}" in page


# ------------------------------------------------------------------------------- browser


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """Two participants randomized 10 h ago, baseline done with IL-6; the first given its
    first infusion from a released lot; a lot of the active arm waiting in quarantine. Then
    the EDC's server in a thread."""
    from celltrial.edc import actions

    t = with_passwords(make_trial())
    people = []
    for _ in range(2):
        p = randomized(t, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=10))
        actions.record_visit(t["coord1"], p, "baseline", at=p.randomization.randomized_at)
        m = actions.record_measurement(
            t["coord1"],
            p,
            "il6",
            12,
            visit="baseline",
            measured_at=p.randomization.randomized_at + dt.timedelta(minutes=30),
        )
        people.append((p, m))
    p, m = people[0]
    actions.record_measurement(t["coord1"], p, "pao2_fio2", 180, visit="baseline")
    actions.verify_record(t["mon1"], "visit", p.visits.get(visit="baseline").id)
    given = released_lot(t, arm_of(p), "LOT-2026-014")
    _given(t, p, given)
    actions.register_lot(t["pharm"], "LOT-2026-015", "msc")
    with live_server() as url:
        yield {"url": url, "code": p.code, "m": m.id}


def _shot(page: Any, name: str) -> None:
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    if WRITE_IMAGES:  # docs/edc.md's figures, regenerated by `make images`
        shutil.copyfile(path, DOCS_IMG / name)


@browser_only
def test_monitor_and_pharmacist_in_the_browser(server: dict[str, Any], browser: Any) -> None:
    base, code, m = server["url"], server["code"], server["m"]

    # The monitor: the participant page's status icons, then SDV of the IL-6 form.
    mon, mon_bodies = log_in(browser, base, "mon1")
    mon.goto(f"{base}/p/{code}")
    icon = mon.locator(f'tr:has(a[href^="/p/{code}/record/measurement/{m}"]) .fs')
    assert icon.get_attribute("data-status") == "complete"
    assert icon.get_attribute("title") == "Complete: SDV not done"
    assert mon.locator(".fs-verified").count() >= 1  # the baseline visit, verified before
    mon.get_by_text("Form status icons").click()  # the key opens
    _shot(mon, "monitor-form-status.png")
    mon.get_by_role("link", name=f"Query or audit trail of measurement {m}").click()
    assert mon.locator("#sdv-line").inner_text() == "SDV not done."
    mon.get_by_role("button", name="Source data verified").click()
    assert "verified" in mon.locator(".notice").inner_text()
    assert "SDV done by mon1" in mon.locator("#sdv-line").inner_text()
    _shot(mon, "monitor-sdv-record.png")
    mon.goto(f"{base}/p/{code}")
    icon = mon.locator(f'tr:has(a[href^="/p/{code}/record/measurement/{m}"]) .fs')
    assert icon.get_attribute("data-status") == "verified"
    assert (icon.get_attribute("title") or "").startswith("Source-verified: SDV by mon1")
    for _url, body in mon_bodies:
        no_arm(body)

    # The pharmacist: a failing result refuses the release, naming the criterion; the lot
    # is rejected with its results; a good lot is released; the chain lot -> infusion.
    ph, _ = log_in(browser, base, "pharm")
    assert "Pharmacy" in ph.title()
    lot = ph.locator("#lot-lot-2026-015")
    for k, v in {**MSC_RELEASE, "viability": ""}.items():
        lot.locator(f'[name="LOT-2026-015__{k}"]').fill(str(v))
    lot.get_by_role("button", name="Record release results").click()
    field = ph.locator('[name="LOT-2026-015__viability"]')
    assert field.get_attribute("aria-invalid") == "true"  # a result missing: beside its field
    assert "required: Viability ≥ 70" in ph.locator("#err_LOT-2026-015__viability").inner_text()
    assert (
        field.input_value() == "" and ph.locator('[name="LOT-2026-015__sterility"]').input_value()
    )
    field.fill("64")
    ph.locator("#lot-lot-2026-015").get_by_role("button", name="Record release results").click()
    error = ph.locator("#err_LOT-2026-015__viability").inner_text()
    assert "Viability 64 % fails the release limit ≥ 70 %" in error
    assert "Rejected" in ph.locator("#lot-lot-2026-015 h3").inner_text()
    _shot(ph, "pharmacist-release-refused.png")
    ph.goto(f"{base}/pharmacy")
    assert "Rejected" in ph.locator("#lot-lot-2026-015 h3").inner_text()
    ph.get_by_label("Lot number").fill("LOT-2026-016")
    ph.get_by_label("Arm", exact=True).select_option("msc")
    ph.get_by_role("button", name="Register").click()
    lot = ph.locator("#lot-lot-2026-016")
    for k, v in MSC_RELEASE.items():
        lot.locator(f'[name="LOT-2026-016__{k}"]').fill(str(v))
    lot.get_by_role("button", name="Record release results").click()
    assert "released" in ph.locator(".notice").inner_text()
    assert "Released" in ph.locator("#lot-lot-2026-016 h3").inner_text()
    chain = ph.locator("#lot-lot-2026-014 details.chain").inner_text()
    assert f"{code} · infusion #1" in chain
    _shot(ph, "pharmacist-lot-release.png")
