"""Issue 17 on the web: one's own password (forced after someone else chose it), full names,
dormant accounts, the user-access list, emergency unblinding with its notices, and a new site's
allocation list; Django's test client for each form, error and role, then one Playwright
walk-through in Debian's Chromium (every role in one browser)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from edc_helpers import ELIGIBLE, arm_of, make_trial, randomized
from web_helpers import (
    PASSWORD,
    SHOTS,
    browser_only,
    client_for,
    live_server,
    post,
    text,
    with_passwords,
)

OWN = "ochre tapir 1987 lamp"
LABELS = {"msc": "BM-MSC", "placebo": "Placebo (Plasma-Lyte A)"}


def test_someone_elses_password_sends_to_the_password_page(web_trial: Any) -> None:
    from celltrial.edc import actions

    actions.add_staff(
        web_trial.admin, "coord3", "coordinator", ["site1"], password=PASSWORD, full_name="Cy Three"
    )
    c = client_for("coord3")
    for path in ("/", "/screen", "/queries"):
        r = c.get(path)
        assert r.status_code == 302 and r.headers["Location"] == "/account/password", path
    page = c.get("/account/password").content.decode()
    assert "chosen by someone else" in page and "Cy Three (coord3)" in page
    r = post(
        c, "/account/password", {"old_password": "x", "new_password": OWN, "new_password2": OWN}
    )
    assert r.status_code == 422
    assert "not correct" in text(r.content) and 'id="err_old_password"' in r.content.decode()
    r = post(
        c,
        "/account/password",
        {"old_password": PASSWORD, "new_password": OWN, "new_password2": "y"},
    )
    assert r.status_code == 422 and "the two new passwords differ" in text(r.content)
    r = post(
        c,
        "/account/password",
        {"old_password": PASSWORD, "new_password": "password1234", "new_password2": "password1234"},
    )
    assert r.status_code == 422 and 'id="err_new_password"' in r.content.decode()
    r = post(
        c,
        "/account/password",
        {"old_password": PASSWORD, "new_password": OWN, "new_password2": OWN},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert c.get("/").status_code == 200  # still logged in, free to work
    client_for("coord3", OWN)  # the new password logs in; the admin never knew it


def test_names_on_the_pages(web_trial: Any) -> None:
    from celltrial.edc import actions

    p = randomized(web_trial)
    actions.record_visit(web_trial["coord1"], p, "baseline")
    inv = client_for("inv1")
    page = text(inv.get(f"/p/{p.code}/visit/baseline/sign").content)
    assert "Signing as Ines Vidal (inv1)" in page and "Ines Vidal (inv1) · Investigator" in page
    post(inv, f"/p/{p.code}/visit/baseline/sign", {"password": PASSWORD})
    page = text(inv.get(f"/p/{p.code}/visit/baseline/sign").content)
    assert re.search(r"Signed by Ines Vidal \(inv1\) on \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert "accurate and complete" in page  # the meaning
    dm = client_for("dm")
    trail = text(dm.get(f"/p/{p.code}/record/visit/{p.visits.get(visit='baseline').pk}").content)
    assert "Ines Vidal (inv1)" in trail  # the audit trail names the signer


def test_admin_pages_users_csv_and_dormant(web_trial: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    get_user_model().objects.filter(username="mon1").update(
        last_login=timezone.now() - dt.timedelta(days=100)
    )
    admin = client_for("admin")
    r = post(admin, "/manage/staff", {"username": "c9", "role": "coordinator", "password": OWN})
    assert r.status_code == 200 and "required" in text(r.content)
    assert 'id="err_full_name"' in r.content.decode()
    page = text(admin.get("/manage/staff").content)
    assert "mon1 Moritz Onken Monitor site1 active" in page
    assert re.search(r"mon1 Moritz Onken .*? dormant", page)
    assert len(re.findall(r"\bdormant\b", page)) == 1  # mon1's badge only
    r = admin.get("/manage/access.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert {"coord1", "inv1", "pharm", "dsmb", "admin"} <= {x["username"] for x in rows}
    from celltrial.edc.models import AuditEntry

    row = AuditEntry.objects.get(action="download_access_list")  # the download is audited
    assert row.actor == "admin" and '"via":"web"' in row.new
    for who in ("coord1", "inv1", "mon1", "dm", "pharm", "dsmb"):
        c = client_for(who)
        for path in ("/manage/access.csv", "/manage/allocation"):
            assert c.get(path).status_code == 403, (who, path)


def test_unblinding_form(web_trial: Any) -> None:
    p = randomized(web_trial)
    inv = client_for("inv1")
    assert f'href="/p/{p.code}/unblind"' in inv.get(f"/p/{p.code}").content.decode()
    r = post(inv, f"/p/{p.code}/unblind", {"reason": " "})
    html = r.content.decode()
    assert r.status_code == 422 and 'id="err_reason"' in html and 'id="err_confirm"' in html
    assert not [x for x in LABELS.values() if x in html]
    r = post(inv, f"/p/{p.code}/unblind", {"reason": "SAE: needs the treatment", "confirm": "on"})
    assert r.status_code == 200 and LABELS[arm_of(p)] in r.content.decode()
    assert not [x for x in LABELS.values() if x in inv.get(f"/p/{p.code}").content.decode()]
    for who in ("coord1", "mon1", "dm", "pharm", "dsmb", "admin"):
        c = client_for(who)
        r = post(c, f"/p/{p.code}/unblind", {"reason": "x", "confirm": "on"})
        assert r.status_code == 403 and not [x for x in LABELS.values() if x in r.content.decode()]
    for who, path in (("dsmb", "/dsmb"), ("pharm", "/pharmacy")):
        page = text(client_for(who).get(path).content)
        assert "Emergency unblindings" in page and "SAE: needs the treatment" in page
    assert "Emergency unblindings" not in text(client_for("coord1").get("/").content)


def test_allocation_form(web_trial: Any) -> None:
    from celltrial.edc import actions

    actions.add_site(web_trial.admin, "site3", "Site three")
    admin = client_for("admin")
    page = text(admin.get("/manage/allocation").content)
    assert "site1, site2" in page and "site3 · Site three" in page
    r = post(admin, "/manage/allocation", {"site": "", "per_stratum": "x"})
    assert r.status_code == 422 and 'id="err_site"' in r.content.decode()
    assert 'id="err_per_stratum"' in r.content.decode()
    r = post(admin, "/manage/allocation", {"site": "site3", "per_stratum": "2", "block_sizes": "7"})
    assert r.status_code == 422 and 'id="err_block_sizes"' in r.content.decode()
    r = post(admin, "/manage/allocation", {"site": "site3", "per_stratum": "2"})
    html = r.content.decode()
    assert r.status_code == 200
    commitment = re.search(r'<code id="commitment">([0-9a-f]{64})</code>', html)
    assert commitment is not None
    assert text(r.content).count(commitment.group(1)) == 2  # shown, and in the lists table
    assert "Every site has its list" in text(r.content)


# ------------------------------------------------------------------------------- browser


@pytest.fixture
def server(transactional_db: Any) -> Iterator[dict[str, str]]:
    """The trial with passwords, a participant randomized with the baseline visit done, an
    account not used for 100 days; then the server in a thread."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from celltrial.edc import actions

    t = with_passwords(make_trial())
    p = randomized(t)
    actions.record_visit(t["coord1"], p, "baseline")
    get_user_model().objects.filter(username="mon1").update(
        last_login=timezone.now() - dt.timedelta(days=100)
    )
    with live_server() as url:
        yield {"url": url, "code": p.code, "arm": LABELS[arm_of(p)]}


def _log_in(browser: Any, base: str, name: str, password: str = PASSWORD) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))
    return page


@browser_only
def test_accounts_unblinding_and_a_new_site_in_the_browser(
    server: dict[str, str], browser: Any, tmp_path: Any
) -> None:
    """One browser, every role of these pages: the admin adds a site and its coordinator
    (full name), flags a dormant account, downloads the access list and generates the site's
    list (its commitment shown); the coordinator changes the admin's password at the first
    log-in and randomizes the new site's first participant; the investigator unblinds (reason
    required, the arm shown once) and signs (full name, time, meaning, the password again);
    the DSMB and the pharmacist find the unblinding on their home pages; another coordinator
    sees no arm. About 35 s: seven log-ins and some twenty pages in one browser, grouped here
    rather than one browser per role."""
    base, code = server["url"], server["code"]

    admin = _log_in(browser, base, "admin")
    admin.goto(f"{base}/manage/sites")
    admin.get_by_label("Site code").fill("site3")
    admin.get_by_label("Site name").fill("Site three")
    admin.get_by_role("button", name="Add site").click()
    admin.get_by_role("link", name="Users", exact=True).click()
    admin.get_by_label("Username").fill("coord3")
    admin.get_by_label("Role").select_option("coordinator")
    admin.get_by_label("site3 · Site three").check()
    admin.get_by_label("Initial password").fill(PASSWORD)
    admin.get_by_role("button", name="Add user").click()
    assert admin.locator("#err_full_name").inner_text().startswith("required")
    admin.get_by_label("Full name").fill("Cleo Three")
    admin.get_by_label("Initial password").fill(PASSWORD)
    admin.get_by_role("button", name="Add user").click()
    assert "Cleo Three (coord3) added" in admin.locator(".notice").inner_text()
    admin.get_by_role("link", name="Users", exact=True).click()
    row = admin.locator("#staff-table tr", has_text="mon1")
    assert "Moritz Onken" in row.inner_text() and row.locator(".dormant").count() == 1
    admin.screenshot(path=str(SHOTS / "admin-users-dormant.png"), full_page=True)
    with admin.expect_download() as download:
        admin.locator("#access-csv").click()
    saved = tmp_path / "access.csv"
    download.value.save_as(saved)
    with saved.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert ("coord3", "Cleo Three", "site3") in {
        (x["username"], x["full_name"], x["site"]) for x in rows
    }
    admin.get_by_role("link", name="Allocation", exact=True).click()
    admin.get_by_label("Site without a list").select_option("site3")
    admin.get_by_label("Rows per stratum").fill("4")
    admin.get_by_role("button", name="Generate the list").click()
    commitment = admin.locator("#commitment").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", commitment)
    assert commitment in admin.locator("#lists-table").inner_text()
    admin.screenshot(path=str(SHOTS / "admin-allocation.png"), full_page=True)

    # The new site's coordinator: their own password first, then the first participant.
    coord = _log_in(browser, base, "coord3")
    assert coord.url.endswith("/account/password")
    assert "chosen by someone else" in coord.locator("#forced").inner_text()
    coord.screenshot(path=str(SHOTS / "account-password.png"), full_page=True)
    coord.get_by_label("Current password").fill(PASSWORD)
    coord.get_by_label("New password", exact=True).fill(OWN)
    coord.get_by_label("New password again").fill(OWN)
    coord.get_by_role("button", name="Change password").click()
    coord.wait_for_url(lambda url: not url.endswith("/account/password"))
    coord.get_by_role("link", name="Screen a participant").first.click()
    for key, value in ELIGIBLE.items():
        field = coord.locator(f"#id_{key}")
        value_text = str(value).lower() if isinstance(value, bool) else str(value)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value_text)
        else:
            field.fill(value_text)
    coord.get_by_role("button", name="Screen").click()
    coord.get_by_role("button", name="Record consent").click()
    coord.get_by_role("button", name="Enroll").click()
    coord.get_by_role("button", name="Randomize").click()
    kit = coord.locator("#kit-shown strong").inner_text()
    assert re.fullmatch(r"[A-Z0-9-]{6,}", kit), kit
    assert "Site three" in coord.locator(".meta").first.inner_text()
    coord.screenshot(path=str(SHOTS / "new-site-randomized.png"), full_page=True)

    # The investigator: emergency unblinding, then the e-signature.
    inv = _log_in(browser, base, "inv1")
    inv.goto(f"{base}/p/{code}")
    inv.locator("#unblind-link").click()
    inv.get_by_role("button", name=f"Unblind {code}").click()
    assert inv.locator("#err_reason").inner_text().startswith("give the medical reason")
    assert inv.locator("#err_confirm").is_visible()
    inv.get_by_label("Medical reason").fill("Grade 4 infusion reaction: treatment depends on arm")
    inv.locator("#id_confirm").check()
    inv.get_by_role("button", name=f"Unblind {code}").click()
    assert server["arm"] in inv.locator("#arm").inner_text()
    inv.screenshot(path=str(SHOTS / "investigator-unblinded.png"), full_page=True)
    inv.goto(f"{base}/p/{code}/visit/baseline/sign")
    assert inv.locator("#signer").inner_text() == "Ines Vidal (inv1)"
    inv.get_by_label("Password (re-enter yours to sign)").fill("not my password")
    inv.get_by_role("button", name="Sign visit").click()
    assert "not correct" in inv.locator("#err_password").inner_text()
    inv.get_by_label("Password (re-enter yours to sign)").fill(PASSWORD)
    inv.get_by_role("button", name="Sign visit").click()
    inv.wait_for_url(lambda url: url.endswith(f"/p/{code}"))
    inv.goto(f"{base}/p/{code}/visit/baseline/sign")
    signed = inv.locator("#signed").inner_text()
    assert re.match(r"Signed by Ines Vidal \(inv1\) on \d{4}-\d\d-\d\d \d\d:\d\d UTC", signed)
    inv.screenshot(path=str(SHOTS / "investigator-signed.png"), full_page=True)

    # Notified: the DSMB and the pharmacist, on their home pages.
    for who in ("dsmb", "pharm"):
        page = _log_in(browser, base, who)
        notices = page.locator("#unblind-notices").inner_text()
        assert code in notices and "Grade 4 infusion reaction" in notices
        assert "Ines Vidal (inv1)" in notices
        page.screenshot(path=str(SHOTS / f"{who}-unblind-notice.png"), full_page=True)

    # A blinded colleague learns nothing: no arm, no notice, no unblinding form.
    other = _log_in(browser, base, "coord1")
    other.goto(f"{base}/p/{code}")
    html = other.content()
    assert server["arm"] not in html and "unblind-link" not in html
    other.goto(f"{base}/p/{code}/unblind")
    assert "may not open this page" in other.content()
