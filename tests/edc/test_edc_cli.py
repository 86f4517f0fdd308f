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
