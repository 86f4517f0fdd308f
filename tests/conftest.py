"""Settings shared by the whole suite.

Hypothesis: the property tests draw the same examples on every run, so a test that passes
once passes again (``derandomize``: examples seeded from the test's own source; no example
database, so nothing of a previous run changes the next). This is the ``ci`` profile, the
default. ``HYPOTHESIS_PROFILE=explore`` draws new examples each run, to look for new
failures while developing; a failure found that way is then pinned with ``@example``.

``demo_today``: ``celltrial demo`` run once for the whole session (see below).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ------------------------------------------------------------------------------------------
# `celltrial demo`, run once for the whole session (the slowest fixture of the suite). Under
# `make test`'s `--dist loadfile` each worker has its own session: keep the tests that use it
# in one file (tests/web/test_web_demo.py), so that it runs once.
# ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DemoRun:
    """A finished ``celltrial demo --today <this hour>``: its output folder, what it
    printed, the hour it took as today and the passwords it printed (by username)."""

    out: Path
    stdout: str
    today: datetime
    passwords: dict[str, str]
    pdf: bool = False  # whether it printed the PDFs (Chromium installed)

    @property
    def db(self) -> Path:
        return self.out / "edc.sqlite3"

    @staticmethod
    def env() -> dict[str, str]:
        """For a subprocess on the demo's database: this environment less the test database's
        settings."""
        return python_env()


def python_env() -> dict[str, str]:
    """This environment without the test database's settings (a subprocess makes its own)."""
    drop = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    return {k: v for k, v in os.environ.items() if k not in drop}


def passwords_in(stdout: str) -> dict[str, str]:
    """The demo's "EDC users (shown once)" table: username -> password."""
    out = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)]
        cells = [c for c in cells if c]
        if len(cells) == 3 and cells[0] == cells[1] and cells[0] != "username":
            out[cells[0]] = cells[2]
    return out


@pytest.fixture(scope="session")
def demo_today(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``celltrial demo`` (lanzoni2021, seed 7, n 24) up to this hour, in a subprocess with its
    own SQLite EDC; once per session."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("the demo makes its own SQLite EDC")
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    cmd = [sys.executable, "-c", "from celltrial.cli import app; app()", "demo"]
    cmd += ["--out", str(out), "--today", today.isoformat()]
    # The PDFs too where Chromium is installed (make test installs it): about 2 s, and the
    # default demo's printed reports are then checked by tests/web/test_web_demo.py.
    from celltrial.report import ChromiumNotFound, chromium

    try:
        chromium()
        pdf = True
    except ChromiumNotFound:
        pdf = False
        cmd.append("--no-pdf")
    r = subprocess.run(cmd, capture_output=True, text=True, env=python_env(), timeout=600)
    assert r.returncode == 0, r.stderr + r.stdout
    return DemoRun(out, r.stdout, today, passwords_in(r.stdout), pdf)
