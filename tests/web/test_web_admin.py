"""Administration pages (``/manage``): sites, users and roles, the protocol; through Django's
test client (forms, errors next to their field, 403 for every other role), then in Debian's
Chromium (Playwright) against the server in a thread."""

from __future__ import annotations

import hashlib
import html as entities
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from edc_helpers import PROTOCOL_FILE, make_trial
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

TEXT = PROTOCOL_FILE.read_text()
V22 = TEXT.replace('version: "2.1"', 'version: "2.2"')
#: Line 5 misspelt: a field the loader does not know, and ``title`` missing.
BROKEN = V22.replace("title: Bone", "titel: Bone")
PAGES = ["/manage", "/manage/sites", "/manage/staff", "/manage/staff/coord1", "/manage/protocol"]
NEW_PASSWORD = "site three coordinator pw"


def field_error(html: str, name: str) -> str:
    m = re.search(rf'<p class="field-error" id="err_{name}">([^<]*)</p>', html)
    assert m, f"no error next to {name}"
    return entities.unescape(m[1])


# --------------------------------------------------------------------------- test client


def test_admin_pages_are_for_the_admin_only(web_trial: Any) -> None:
    admin = client_for("admin")
    for url in PAGES:
        r = admin.get(url)
        assert r.status_code == 200, url
        nav = r.content.decode().split('<nav aria-label="Main">')[1].split("</nav>")[0]
        assert 'href="/manage/staff">Users</a>' in nav and "/screen" not in nav
    assert admin.get("/manage/staff/nobody").status_code == 404
    from celltrial.edc import actions as edc_actions

    kept = edc_actions.issue_token(web_trial.admin, web_trial["coord1"], "kept")
    for name in ("inv1", "coord1", "pharm", "mon1", "dm", "dsmb"):
        c = client_for(name)
        for url in PAGES:
            r = c.get(url)
            assert r.status_code == 403, (name, url)
            assert "may not open this page" in text(r.content)
        assert post(c, "/manage/sites", {"code": "x9", "name": "X"}).status_code == 403
        r = post(c, "/manage/staff/coord1", {"do": "issue_token", "label": "x9"})
        assert r.status_code == 403, name
        r = post(c, "/manage/staff/coord1", {"do": "revoke_token", "token": kept.pk, "reason": "x"})
        assert r.status_code == 403, name
        assert "/manage" not in c.get("/dashboard").content.decode()
    r = Client().get("/manage")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    from celltrial.edc.models import Site

    assert not Site.objects.filter(code="x9").exists()
    from celltrial.edc.models import ApiToken

    assert list(ApiToken.objects.values_list("label", "revoked")) == [("kept", False)]


def test_sites_page(web_trial: Any) -> None:
    admin = client_for("admin")
    r = post(admin, "/manage/sites", {"code": "site 3", "name": ""})
    assert r.status_code == 200
    html = r.content.decode()
    assert "letters, digits, - or _" in field_error(html, "code")
    assert field_error(html, "name") == "required"
    assert 'aria-describedby="hint_code err_code" aria-invalid="true"' in html
    assert 'value="site 3"' in html  # what was typed stays
    r = post(admin, "/manage/sites", {"code": "site1", "name": "Again"})
    assert "exists already" in field_error(r.content.decode(), "code")
    r = post(admin, "/manage/sites", {"code": "site3", "name": "Site three"})
    assert r.status_code == 302 and r.headers["Location"] == "/manage/sites"
    page = text(admin.get("/manage/sites").content)
    assert "Site site3 (Site three) added." in page and "site3 Site three 0" in page
    assert "added site site3" in text(admin.get("/manage").content)


def test_users_page_adds_a_user_who_can_log_in(web_trial: Any) -> None:
    admin = client_for("admin")
    page = text(admin.get("/manage/staff").content)
    assert "coord1 Carl Ortiz Study coordinator site1 active" in page
    assert "dm Dana Meyer Data manager every site active" in page
    r = post(
        admin,
        "/manage/staff",
        {"username": "coord1", "role": "", "sites": ["site1"], "password": "short"},
    )
    html = r.content.decode()
    assert field_error(html, "role") == "choose a role"
    r = post(
        admin,
        "/manage/staff",
        {"username": "bad name", "role": "coordinator", "sites": ["site2"], "password": "short"},
    )
    html = r.content.decode()
    assert "letters, digits and @ . + - _" in field_error(html, "username")
    assert field_error(html, "password") == "at least 12 characters"
    assert 'value="site2" id="id_sites_site2" checked' in html  # the ticked site stays
    r = post(
        admin,
        "/manage/staff",
        {"username": "coord1", "role": "coordinator", "password": NEW_PASSWORD, "full_name": "X"},
    )
    assert "'coord1' is already taken" in field_error(r.content.decode(), "username")
    r = post(admin, "/manage/staff", {"username": "nopw", "role": "monitor", "password": ""})
    assert field_error(r.content.decode(), "password").startswith("required")

    r = post(
        admin,
        "/manage/staff",
        {
            "username": "coord3",
            "full_name": "Cy Three",
            "role": "coordinator",
            "sites": ["site2"],
            "password": NEW_PASSWORD,
        },
    )
    assert r.status_code == 302 and r.headers["Location"] == "/manage/staff/coord3"
    page = text(admin.get("/manage/staff/coord3").content)
    assert (
        "Cy Three (coord3) added as Study coordinator (site2)" in page
        and "added coord3 (Study coordinator)" in page
    )
    new = client_for("coord3", NEW_PASSWORD)
    # The admin chose that password: the person chooses their own before anything else.
    assert new.get("/").headers["Location"] == "/account/password"
    own = "ochre tapir 1987 lamp"
    body = {"old_password": NEW_PASSWORD, "new_password": own, "new_password2": own}
    assert post(new, "/account/password", body).status_code == 302
    assert "Site two" in text(new.get("/").content)


def test_person_page_deactivates_and_reactivates(web_trial: Any) -> None:
    admin = client_for("admin")
    coord = client_for("coord1")
    url = "/manage/staff/coord1"
    r = post(admin, url, {"do": "deactivate", "reason": " "})
    html = r.content.decode()
    assert r.status_code == 200 and field_error(html, "reason").startswith("give a reason")
    assert 'aria-invalid="true" aria-describedby="err_reason"' in html
    r = post(admin, url, {"do": "deactivate", "reason": "left the trial"})
    assert r.status_code == 302
    page = text(admin.get(url).content)
    assert "coord1 is deactivated" in page and "inactive: cannot log in" in page
    assert "deactivated coord1" in page and "left the trial" in page
    assert "Reactivate coord1" in page
    assert "coord1 Carl Ortiz Study coordinator site1 inactive" in text(
        admin.get("/manage/staff").content
    )
    # The person's session is over and they cannot log in.
    assert coord.get("/").status_code == 302
    r = Client().post("/login", {"username": "coord1", "password": PASSWORD})
    assert r.status_code == 401
    # Deactivating again (a stale page) is a clear conflict, shown on the page.
    r = post(admin, url, {"do": "deactivate", "reason": "again"})
    assert r.status_code == 200 and "is inactive already" in text(r.content)
    r = post(admin, url, {"do": "reactivate", "reason": "back from leave"})
    assert r.status_code == 302
    assert "coord1 is active again" in text(admin.get(url).content)
    client_for("coord1")
    # Yourself: no form, and a forged post is refused.
    page = text(admin.get("/manage/staff/admin").content)
    assert "You cannot deactivate yourself" in page and "Deactivate admin" not in page
    r = post(admin, "/manage/staff/admin", {"do": "deactivate", "reason": "x"})
    assert "username: you cannot deactivate yourself" in text(r.content)
    assert r.status_code == 200 and admin.get("/manage").status_code == 200


def test_protocol_page(web_trial: Any) -> None:
    from celltrial.edc.models import ProtocolVersion

    admin = client_for("admin")
    url = "/manage/protocol"
    page = text(admin.get(url).content)
    assert "Version 2.1" in page and "active" in page
    r = post(admin, url, {"text": "  "})
    assert "choose a YAML file or paste" in field_error(r.content.decode(), "text")
    upload = SimpleUploadedFile("new.yaml", BROKEN.encode(), content_type="text/yaml")
    r = post(admin, url, {"file": upload})
    assert r.status_code == 200
    html = r.content.decode()
    items = re.findall(r"<li>(.*?)</li>", html.split('id="err_protocol"')[1].split("</ul>")[0])
    assert [entities.unescape(x) for x in items] == [
        "new.yaml:3 title: required, but missing",  # no line text: it does not hold the field
        "new.yaml:5 titel: 'titel' is not a field here (did you mean 'title'?)"
        '<br><code class="source">titel: Bone-marrow MSC for moderate-to-severe ARDS — an '
        "example protocol</code>",
    ]
    assert 'aria-invalid="true" aria-describedby="err_protocol"' in html
    assert "titel: Bone-marrow" in html.split('id="id_text"')[1]  # the text, to correct
    r = post(admin, url, {"file": SimpleUploadedFile("x.yaml", b"\xff\xfe\x00bad")})
    assert "not UTF-8 text" in field_error(r.content.decode(), "file")
    r = post(admin, url, {"text": V22.replace("id: edctest2027", "id: othertrial")})
    assert "id: the protocol's id is 'othertrial'" in entities.unescape(r.content.decode())
    r = post(admin, url, {"text": TEXT.replace("\n", "\r\n")})  # as a browser sends it
    assert "this exact text is loaded already: version 2.1" in text(r.content)
    assert ProtocolVersion.objects.count() == 1

    r = post(admin, url, {"text": V22.replace("\n", "\r\n")})
    assert r.status_code == 302
    page = text(admin.get(url).content)
    assert "Protocol version 2.2 loaded: it is the active version now." in page
    assert re.search(r"2\.2 \S+ \S+ admin \w+… active", page), page
    assert re.search(r"2\.1 \S+ \S+ system \w+… inactive", page), page
    assert ProtocolVersion.objects.get(active=True).yaml_text == V22
    assert "Version 2.2" in text(admin.get("/manage").content)


@pytest.fixture
def api_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API asks the database on every request (no token cache): a revocation shows at once
    instead of within ``CELLTRIAL_AUTH_CACHE_SECONDS``."""
    from celltrial.edc import api

    monkeypatch.setattr(api, "AUTH_CACHE_SECONDS", 0.0)
    api._AUTH_CACHE.clear()


def me(token: str) -> Any:
    """``GET /api/me`` with the token as ``Authorization: Bearer``."""
    return Client().get("/api/me", headers={"Authorization": f"Bearer {token}"})


def form_once(html: str) -> str:
    """The one-time key of the page's "Issue a token" form."""
    m = re.search(r'name="once" value="([^"]+)"', html)
    assert m, "no issue form"
    return m[1]


def test_person_page_issues_a_token_shown_once(web_trial: Any, api_now: None) -> None:
    from django.contrib.sessions.models import Session

    from celltrial.edc.models import ApiToken, AuditEntry

    admin = client_for("admin")
    url = "/manage/staff/coord1"
    html = admin.get(url).content.decode()
    assert "API tokens" in html and "No API token issued." in text(html.encode())
    r = post(admin, url, {"do": "issue_token", "label": "  ", "once": form_once(html)})
    html = r.content.decode()
    assert r.status_code == 200 and field_error(html, "label").startswith("required")
    assert 'aria-describedby="hint_label err_label" aria-invalid="true"' in html
    assert not ApiToken.objects.exists()

    once = form_once(html)
    r = post(admin, url, {"do": "issue_token", "label": "lab import", "once": once})
    assert r.status_code == 200
    html = r.content.decode()
    m = re.search(r'<input id="new-token" readonly value="(ct_[^"]+)"', html)
    assert m, "the new token is not shown"
    raw = m[1]
    assert "Copy it now: it is shown this once" in text(r.content)
    assert "no-store" in r.headers["Cache-Control"]
    t = ApiToken.objects.get()
    assert (t.staff.username, t.label, t.revoked) == ("coord1", "lab import", False)
    assert t.digest == hashlib.sha256(raw.encode()).hexdigest()
    # Kept nowhere in clear: not in the audit trail, not in any session.
    assert not any(raw in f"{e.old}{e.new}{e.reason}" for e in AuditEntry.objects.all())
    assert not any(raw in str(x.get_decoded()) for x in Session.objects.all())

    # It works against the API; a second look at the page does not show it.
    r = me(raw)
    assert r.status_code == 200 and r.json()["username"] == "coord1"
    page = admin.get(url)
    assert raw not in page.content.decode() and 'id="new-token"' not in page.content.decode()
    assert re.search(rf"{t.pk} lab import \S+ \S+ active", text(page.content))
    assert "issued an API token to coord1 (lab import)" in text(page.content)
    assert "Unrevoked API tokens 1" in text(page.content)
    # The same form sent again (a reload): no second token, the clear text not shown again.
    r = post(admin, url, {"do": "issue_token", "label": "lab import", "once": once})
    assert r.status_code == 200 and raw not in r.content.decode()
    assert "This form was sent already" in text(r.content)
    assert ApiToken.objects.count() == 1
    # A label too long is refused next to the field.
    r = post(admin, url, {"do": "issue_token", "label": "x" * 101, "once": "k2"})
    assert field_error(r.content.decode(), "label") == "at most 100 characters"


def test_person_page_revokes_a_token(web_trial: Any, api_now: None) -> None:
    from celltrial.edc import actions
    from celltrial.edc.models import ApiToken

    t = actions.issue_token(web_trial.admin, web_trial["coord1"], "lab import")
    other = actions.issue_token(web_trial.admin, web_trial["coord1"], "laptop")
    inv = actions.issue_token(web_trial.admin, web_trial["inv1"], "inv's")
    raw = str(t.raw)
    assert me(raw).status_code == 200
    admin = client_for("admin")
    url = "/manage/staff/coord1"
    page = admin.get(url).content.decode()
    assert f'id="id_reason_{t.pk}"' in page and f'id="id_reason_{other.pk}"' in page
    assert f'<label for="id_reason_{t.pk}">Reason' in page

    r = post(admin, url, {"do": "revoke_token", "token": t.pk, "reason": "  "})
    html = r.content.decode()
    assert r.status_code == 200
    assert field_error(html, f"reason_{t.pk}").startswith("give a reason")
    assert f'aria-invalid="true" aria-describedby="err_reason_{t.pk}"' in html
    assert f"err_reason_{other.pk}" not in html and 'id="err_reason"' not in html
    assert not ApiToken.objects.get(pk=t.pk).revoked and me(raw).status_code == 200

    r = post(admin, url, {"do": "revoke_token", "token": t.pk, "reason": "laptop stolen"})
    assert r.status_code == 302 and r.headers["Location"] == url
    page = admin.get(url)
    words = text(page.content)
    assert f"API token {t.pk} (lab import) of coord1 is revoked" in words
    assert re.search(rf"{t.pk} lab import \S+ \S+ revoked \S+ \S+ by admin: laptop stolen", words)
    assert f'id="id_reason_{t.pk}"' not in page.content.decode()  # no form for it any more
    assert f'id="id_reason_{other.pk}"' in page.content.decode()
    assert "revoked an API token of coord1 (lab import)" in words
    assert "Unrevoked API tokens 1" in words
    assert ApiToken.objects.get(pk=t.pk).revoked
    r = me(raw)
    assert r.status_code == 401
    assert me(str(other.raw)).status_code == 200

    # A stale page (revoked already): a clear conflict on the page.
    r = post(admin, url, {"do": "revoke_token", "token": t.pk, "reason": "again"})
    assert r.status_code == 200 and "is revoked already" in text(r.content)
    # A forged form: another person's token, or no token at all, is a 404.
    for forged in (inv.pk, "abc", "", "99999999999999999999999"):
        r = post(admin, url, {"do": "revoke_token", "token": forged, "reason": "x"})
        assert r.status_code == 404, forged
    assert not ApiToken.objects.get(pk=inv.pk).revoked


# ------------------------------------------------------------------------------- browser


@pytest.fixture
def server(transactional_db: Any) -> Iterator[str]:
    """The trial with passwords, then the EDC's server in a thread (the database is prepared
    before the browser starts: Django refuses ORM calls while Playwright's loop runs)."""
    with_passwords(make_trial())
    with live_server() as url:
        yield url


def log_in(browser: Any, base: str, name: str, password: str, width: int = 1280) -> Any:
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))
    return page


@browser_only
def test_administration_in_the_browser(server: str, browser: Any) -> None:
    base = server
    admin = log_in(browser, base, "admin", PASSWORD)

    # A new site, then a coordinator for it.
    admin.goto(f"{base}/manage")
    admin.get_by_role("link", name="Sites", exact=True).click()
    admin.get_by_label("Site code").fill("site3")
    admin.get_by_label("Site name").fill("Site three")
    admin.get_by_role("button", name="Add site").click()
    assert "Site site3 (Site three) added." in admin.locator(".notice").inner_text()
    admin.get_by_role("link", name="Users", exact=True).click()
    admin.get_by_label("Username").fill("coord3")
    admin.get_by_label("Role").select_option("coordinator")
    admin.get_by_label("site3 · Site three").check()
    admin.get_by_label("Initial password").fill("short")
    admin.get_by_role("button", name="Add user").click()
    assert admin.locator("#err_password").inner_text() == "at least 12 characters"
    assert admin.get_by_label("Initial password").get_attribute("aria-invalid") == "true"
    assert admin.get_by_label("site3 · Site three").is_checked()
    admin.get_by_label("Initial password").fill(NEW_PASSWORD)
    admin.get_by_label("Full name").fill("Cy Three")
    admin.get_by_role("button", name="Add user").click()
    assert "coord3) added as Study coordinator (site3)" in admin.locator(".notice").inner_text()

    # The new coordinator logs in and works at that site.
    coord = log_in(browser, base, "coord3", NEW_PASSWORD, width=820)
    assert coord.url.endswith("/account/password")  # the admin's password: changed first
    coord.get_by_label("Current password").fill(NEW_PASSWORD)
    coord.get_by_label("New password", exact=True).fill("ochre tapir 1987 lamp")
    coord.get_by_label("New password again").fill("ochre tapir 1987 lamp")
    coord.get_by_role("button", name="Change password").click()
    coord.wait_for_url(lambda url: not url.endswith("/account/password"))
    assert "Site three" in coord.locator("h1").inner_text()
    coord.goto(f"{base}/screen")
    assert "site3" in coord.locator("#id_site").inner_text()

    # A broken protocol: the loader's problems, each with its line.
    admin.get_by_role("link", name="Protocol", exact=True).click()
    admin.set_input_files(
        "#id_file",
        files=[
            {"name": "edctest2027-v2.2.yaml", "mimeType": "text/yaml", "buffer": BROKEN.encode()}
        ],
    )
    admin.get_by_role("button", name="Check and load").click()
    admin.locator("#err_protocol").wait_for()  # the answer to the upload has arrived
    problems = admin.locator("#err_protocol li")
    assert problems.count() == 2
    assert problems.nth(0).inner_text().startswith("edctest2027-v2.2.yaml:3 title: required")
    assert (
        problems.nth(1)
        .inner_text()
        .startswith(
            "edctest2027-v2.2.yaml:5 titel: 'titel' is not a field here (did you mean 'title'?)"
        )
    )
    assert (
        admin.get_by_label("or paste the protocol's YAML text").get_attribute("aria-describedby")
        == "err_protocol"
    )
    admin.screenshot(path=str(SHOTS / "admin-protocol-error.png"), full_page=True)

    # The corrected text, pasted: version 2.2 is the active one.
    admin.get_by_label("or paste the protocol's YAML text").fill(V22)
    admin.get_by_role("button", name="Check and load").click()
    assert "version 2.2 loaded" in admin.locator(".notice").inner_text()
    assert admin.locator("#active-version").inner_text() == "2.2"
    rows = admin.locator("#versions-table tbody tr")
    assert "active" in rows.nth(0).inner_text() and "inactive" in rows.nth(1).inner_text()

    admin.get_by_role("link", name="Overview").click()
    admin.wait_for_url(lambda url: url.endswith("/manage"))
    assert admin.locator("#active-version").inner_text() == "2.2"
    assert "site3" in admin.locator("#sites-table").inner_text()
    admin.screenshot(path=str(SHOTS / "web-admin.png"), full_page=True)

    # Readable on a tablet: the users page fits 820 px without sideways scrolling.
    tablet = log_in(browser, base, "admin", PASSWORD, width=820)
    tablet.goto(f"{base}/manage/staff")
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 820


def api_me_status(base: str, token: str) -> int:
    """``GET /api/me`` on the live server with the token (no ORM call in the test's thread)."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@browser_only
def test_api_tokens_in_the_browser(server: str, browser: Any, api_now: None) -> None:
    base = server
    url = f"{base}/manage/staff/coord1"
    admin = log_in(browser, base, "admin", PASSWORD, width=820)
    admin.goto(url)
    admin.get_by_role("button", name="Issue a token").click()
    assert admin.locator("#err_label").inner_text().startswith("required")
    assert admin.get_by_label("Label (what the token is for)").get_attribute("aria-invalid") == (
        "true"
    )
    admin.get_by_label("Label (what the token is for)").fill("lab import")
    admin.get_by_label("Label (what the token is for)").press("Enter")
    box = admin.locator("#new-token-box")
    assert "Copy it now: it is shown this once" in box.inner_text()
    token = admin.get_by_label("New API token", exact=True)
    raw = token.input_value()
    assert raw.startswith("ct_") and token.get_attribute("readonly") is not None
    from playwright.sync_api import expect  # retries: autofocus lands after parsing

    expect(token).to_be_focused()  # ready to copy
    assert admin.evaluate("document.documentElement.scrollWidth") <= 820
    admin.screenshot(path=str(SHOTS / "admin-api-token.png"), full_page=True)
    assert api_me_status(base, raw) == 200

    # Shown once: the page opened again does not hold it.
    admin.goto(url)
    assert raw not in admin.content() and admin.locator("#new-token").count() == 0
    row = admin.locator("#tokens-table tbody tr").first
    token_id = row.locator("td").first.inner_text()
    assert "lab import" in row.inner_text() and "active" in row.inner_text()

    # Revoke: without a reason the error is next to the field; with one the API refuses it.
    revoke = admin.get_by_role("button", name=f"Revoke token {token_id}")
    revoke.click()
    assert admin.locator(f"#err_reason_{token_id}").inner_text().startswith("give a reason")
    reason = admin.get_by_label(f"Reason for revoking token {token_id}")
    assert reason.get_attribute("aria-describedby") == f"err_reason_{token_id}"
    reason.fill("laptop stolen")
    reason.press("Enter")
    assert f"API token {token_id} (lab import) of coord1 is revoked" in (
        admin.locator(".notice").inner_text()
    )
    assert "revoked" in admin.locator(f"#token-{token_id}").inner_text()
    assert admin.get_by_label(f"Reason for revoking token {token_id}").count() == 0
    assert api_me_status(base, raw) == 401
    assert admin.evaluate("document.documentElement.scrollWidth") <= 820
