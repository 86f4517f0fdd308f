"""``celltrial edc init`` and ``celltrial edc audit verify``, run as a user would (a subprocess)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from edc_helpers import PROTOCOL_FILE

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="the CLI test uses its own SQLite file"
)


def _edc(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    code = "from celltrial.commands.edc import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_init_then_verify_then_tamper(tmp_path):
    db = tmp_path / "edc.sqlite3"
    r = _edc(
        "init",
        "--protocol",
        str(PROTOCOL_FILE),
        "--db",
        str(db),
        "--sites",
        "2",
        "--per-stratum",
        "6",
    )
    assert r.returncode == 0, r.stderr
    assert "commitment" in r.stdout and "pharmacist" in r.stdout
    assert oct((tmp_path / "edc.sqlite3.key").stat().st_mode & 0o777) == "0o600"
    r = _edc("audit", "verify", "--db", str(db))
    assert r.returncode == 0 and "intact" in r.stdout
    with sqlite3.connect(db) as con:
        con.execute("UPDATE edc_auditentry SET actor = 'mallory' WHERE seq = 3")
    r = _edc("audit", "verify", "--db", str(db))
    assert r.returncode == 1 and "row 3" in r.stderr
    r = _edc("init", "--protocol", str(PROTOCOL_FILE), "--db", str(db))
    assert r.returncode == 2 and "--db" in r.stderr
    r = _edc("init", "--protocol", "lanzoni2021", "--db", str(tmp_path / "x.sqlite3"))
    assert r.returncode == 2 and "--block-sizes" in r.stderr
    # A protocol that leaves the ratio unknown: the message names --ratio, which then works.
    reb = str(tmp_path / "reb.sqlite3")
    r = _edc("init", "--protocol", "rebelatto2022", "--db", reb, "--method", "permuted_blocks")
    assert r.returncode == 2 and "--ratio" in r.stderr
    r = _edc(
        "init",
        *("--protocol", "rebelatto2022", "--db", reb, "--method", "permuted_blocks"),
        *("--ratio", "2:1", "--block-sizes", "3,6", "--per-stratum", "6"),
    )
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(reb) as con:
        arms = dict(con.execute("SELECT arm, COUNT(*) FROM edc_allocationslot GROUP BY arm"))
    # whole blocks of 3 or 6 (at least 6 rows): exactly 2:1
    assert set(arms) == {"ucmsc", "placebo"} and arms["ucmsc"] == 2 * arms["placebo"] >= 4


def test_serve_creates_the_default_database_and_its_admin_can_log_in(tmp_path):
    """`celltrial serve` on a missing SQLite file creates it and prints the admin's log-in on
    one line; that password then opens the web application."""
    import http.cookiejar
    import re
    import socket
    import time
    import urllib.parse
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    code = "from celltrial.cli import app; app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--sites", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("EDC on"):
                break
        out = "".join(lines)
        hint = next(x for x in lines if x.startswith("created"))
        assert "celltrial-edc.sqlite3" in hint and "lanzoni2021" in hint
        password = re.search(r"as admin, password (\S+) \(shown once\)", hint)
        assert password, out
        assert (tmp_path / "celltrial-edc.sqlite3").exists()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                page = opener.open(f"{base}/login", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token
        form = {
            "username": "admin",
            "password": password.group(1),
            "csrfmiddlewaretoken": token.group(1),
        }
        r = opener.open(f"{base}/login", urllib.parse.urlencode(form).encode(), timeout=5)
        # The printed password is the operator's: the admin chooses their own first (Part 11).
        page = r.read().decode()
        assert r.url.endswith("/account/password") and "chosen by someone else" in page
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token
        own = "ochre tapir 1987 lamp"
        form = {
            "old_password": password.group(1),
            "new_password": own,
            "new_password2": own,
            "csrfmiddlewaretoken": token.group(1),
        }
        r = opener.open(
            f"{base}/account/password", urllib.parse.urlencode(form).encode(), timeout=30
        )
        assert r.url.endswith("/manage") and "lanzoni2021" in r.read().decode()
    finally:
        proc.terminate()
        proc.communicate(timeout=60)  # drains and closes the pipe (gunicorn stops gracefully)


def test_init_a_non_randomized_protocol(tmp_path):
    """Issue 18: `edc init --protocol meng2020` stopped with "nothing to allocate"."""
    db = tmp_path / "edc.sqlite3"
    r = _edc("init", "--protocol", "meng2020", "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert "not randomized: no allocation list" in r.stdout
    r = _edc("audit", "verify", "--db", str(db))
    assert r.returncode == 0 and "intact" in r.stdout
