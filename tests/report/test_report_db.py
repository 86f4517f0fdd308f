"""``celltrial report --db`` / ``celltrial analyze --db``: the dataset comes from an EDC database.

The empty EDC is run as a user would (subprocesses with their own SQLite file), so Django is
configured the way the command line configures it; the argument checks, which open no
database, run in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="these use their own SQLite file"
)


def _celltrial(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    code = "from celltrial.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=cwd,
    )


def test_report_needs_a_folder_or_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The arguments are checked before any database is opened: run in this process (the
    command line's own app; a subprocess is what the test below is about)."""
    from typer.testing import CliRunner

    from celltrial.cli import app

    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Any:
        r = CliRunner().invoke(app, list(args))
        assert isinstance(r.exception, SystemExit), r.exception  # an exit, not a traceback
        return r

    r = run("report", "--out", "r.html")
    assert r.exit_code == 2
    assert "give a dataset folder, or --db with an EDC database" in r.stderr
    r = run("report", str(tmp_path), "--db", "x.sqlite3")
    assert r.exit_code == 2 and "give a dataset folder or --db, not both" in r.stderr
    r = run("analyze", "--db", "missing.sqlite3")
    assert r.exit_code == 2 and "--db: missing.sqlite3 does not exist" in r.stderr
    assert "Traceback" not in r.stderr


def test_report_from_an_empty_edc_says_so(tmp_path: Path) -> None:
    init = _celltrial(
        "edc",
        "init",
        "--protocol",
        "lanzoni2021",
        "--db",
        "edc.sqlite3",
        "--block-sizes",
        "2,4",
        cwd=tmp_path,
    )
    assert init.returncode == 0, init.stderr
    r = _celltrial("report", "--db", "edc.sqlite3", "--out", "r.html", cwd=tmp_path)
    assert r.returncode == 2
    assert "the trial in edc.sqlite3 has no participants yet" in r.stderr
    assert not (tmp_path / "r.html").exists()
