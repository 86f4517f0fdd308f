"""Administration pages (``/manage``): sites, users and roles, the protocol; through Django's
test client (forms, errors next to their field, 403 for every other role), then in Debian's
Chromium (Playwright) against the server in a thread."""

from __future__ import annotations

import html as entities
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import PASSWORD, with_passwords
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from edc_helpers import PROTOCOL_FILE, make_trial
from web_helpers import SHOTS, browser_only, client_for, live_server, post, text

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
    for name in ("inv1", "coord1", "pharm", "mon1", "dm", "dsmb"):
        c = client_for(name)
        for url in PAGES:
            r = c.get(url)
            assert r.status_code == 403, (name, url)
            assert "may not open this page" in text(r.content)
        assert post(c, "/manage/sites", {"code": "x9", "name": "X"}).status_code == 403
        assert "/manage" not in c.get("/dashboard").content.decode()
    r = Client().get("/manage")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    from celltrial.edc.models import Site

    assert not Site.objects.filter(code="x9").exists()


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
    assert "coord1 Study coordinator site1 active" in page
    assert "dm Data manager every site active" in page
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
        {"username": "coord1", "role": "coordinator", "password": NEW_PASSWORD},
    )
    assert "'coord1' is already taken" in field_error(r.content.decode(), "username")
    r = post(admin, "/manage/staff", {"username": "nopw", "role": "monitor", "password": ""})
    assert field_error(r.content.decode(), "password").startswith("required")

    r = post(
        admin,
        "/manage/staff",
        {"username": "coord3", "role": "coordinator", "sites": ["site2"], "password": NEW_PASSWORD},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/manage/staff/coord3"
    page = text(admin.get("/manage/staff/coord3").content)
    assert (
        "coord3 added as Study coordinator (site2)" in page and "added coord3 (coordinator)" in page
    )
    new = client_for("coord3", NEW_PASSWORD)
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
    assert "coord1 Study coordinator site1 inactive" in text(admin.get("/manage/staff").content)
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
    admin.get_by_role("button", name="Add user").click()
    assert "coord3 added as Study coordinator (site3)" in admin.locator(".notice").inner_text()

    # The new coordinator logs in and works at that site.
    coord = log_in(browser, base, "coord3", NEW_PASSWORD, width=820)
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
