"""Helpers of the web tests (imported by conftest and the tests): logging in through the form
with Django's test client, the page checks, and the EDC's server in a thread for the browser
tests (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from edc_helpers import ARM_STRINGS, TrialSetup

if TYPE_CHECKING:
    from django.test import Client

PASSWORD = "correct horse battery staple"


def with_passwords(t: TrialSetup) -> TrialSetup:
    """The EDC test trial with :data:`PASSWORD` for every person (the web pages need one)."""
    for s in t.staff.values():
        s.user.set_password(PASSWORD)
        s.user.save()
    return t


CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Where the browser tests write their screenshots (not tracked: tests/web/.gitignore).
SHOTS = Path(__file__).parent / "screenshots"
#: The tracked images (docs/img, tests/report/screenshots) are rewritten only when this is set
#: (``make images``), so that a test run leaves ``git status`` clean.
WRITE_IMAGES = bool(os.environ.get("CELLTRIAL_WRITE_IMAGES"))

browser_only = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


def client_for(name: str, password: str = PASSWORD) -> Client:
    """A test client logged in as ``name`` through the log-in form (CSRF checks on)."""
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    token = c.get("/login").cookies["csrftoken"].value
    r = c.post("/login", {"username": name, "password": password, "csrfmiddlewaretoken": token})
    assert r.status_code == 302, r.content
    return c


def post(c: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    """Post a form as the browser would, with the client's CSRF token."""
    return c.post(url, {**(data or {}), "csrfmiddlewaretoken": c.cookies["csrftoken"].value})


def text(html: bytes) -> str:
    """The page's text, tags removed and spaces collapsed (entities kept)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def arm_in(text: str) -> list[str]:
    """The arm labels found in ``text`` (whole words, any case)."""
    return [a for a in ARM_STRINGS if re.search(rf"\b{re.escape(a)}\b", text, re.IGNORECASE)]


def no_arm(html: str) -> None:
    found = arm_in(html)
    assert not found, found


@contextlib.contextmanager
def live_server(*, close_connections: bool = True) -> Iterator[str]:
    """The EDC's server (the settings' WSGI application, so their URL conf) in a background
    thread on a free port of 127.0.0.1; yields its base URL and stops it on leaving.

    Prepare the database before: Django refuses ORM calls while Playwright's event loop runs
    in the test's thread. With ``close_connections`` the server's threads close their database
    connection after each request (no connection left open when the test ends, e.g. on
    PostgreSQL); the settings dict is shared by the threads and restored on leaving."""
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    from celltrial.edc.server import _server

    settings_dict = connection.settings_dict
    max_age = settings_dict.get("CONN_MAX_AGE", 0)
    if close_connections:
        settings_dict["CONN_MAX_AGE"] = 0
    try:
        srv = _server("127.0.0.1", 0, get_wsgi_application(), 8, True, None)
        thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1})
        thread.start()
        try:
            yield f"http://127.0.0.1:{srv.server_address[1]}"
        finally:
            srv.shutdown()
            srv.server_close()
            thread.join()
    finally:
        if close_connections:
            settings_dict["CONN_MAX_AGE"] = max_age


def log_in(
    browser: Any,
    base: str,
    name: str,
    *,
    path: str = "/login",
    width: int = 1280,
    height: int = 900,
) -> tuple[Any, list[tuple[str, str]]]:
    """A new page of ``browser`` logged in as ``name`` through the log-in form found at
    ``path``; with the address and body of every response the page receives from then on
    (HTML, CSS, any API call; a redirect has no body and is left out)."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    bodies: list[tuple[str, str]] = []

    def record(response: Any) -> None:
        with contextlib.suppress(Exception):  # a redirect has no body
            bodies.append((response.url, response.text()))

    page.on("response", record)
    page.goto(f"{base}{path}")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page, bodies
