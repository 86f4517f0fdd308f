"""Issue 18: every seed's virtual trial runs through a fresh EDC with ``celltrial demo
--protocol ID`` (small n) to blinded and closed HTML reports; Meng 2020 (not randomized)
included. lanzoni2021, the default, is run in ``test_through_edc.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from seed_checklist import missing_from

from celltrial.protocol import load_protocol
from celltrial.report import ChromiumNotFound, chromium

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="the demo makes its own SQLite EDC"
)


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    code = "from celltrial.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _have_chromium() -> bool:
    try:
        chromium()
    except ChromiumNotFound:
        return False
    return True


@pytest.mark.parametrize("pid", ["meng2020", "rebelatto2022", "fathikazerooni2022", "shi2021"])
def test_seed_demo_writes_both_reports(pid: str, tmp_path: Path) -> None:
    out = tmp_path / pid
    # Every seed's PDFs (Chromium prints each in about a second): each seed's report has
    # tables and figures of its own (Shi's 20 visits, Meng's non-randomized wording)
    pdf = _have_chromium()
    r = _demo("--protocol", pid, "--n", "6", "--out", str(out), *([] if pdf else ["--no-pdf"]))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    if pdf:
        for name in ("report-blinded.pdf", "report-closed.pdf"):
            assert (out / name).read_bytes()[:5] == b"%PDF-", name
    assert f"virtual {pid}" in r.stdout
    # the virtual screening values all fit the protocol's catalogue (Meng's 'sex' did not)
    assert "implausible screening value" not in r.stdout
    protocol = load_protocol(pid)
    blinded = (out / "report-blinded.html").read_text(encoding="utf-8")
    closed = (out / "report-closed.html").read_text(encoding="utf-8")
    for html in (blinded, closed):
        assert "</html>" in html
        for ep in protocol.endpoints:
            assert ep.label.split(" (")[0] in html or ep.id in html, ep.id
    for arm in protocol.arms:  # the closed report is by arm; the blinded one is not
        assert arm.label in closed
    if protocol.design.assignment != "randomized":
        assert " assigned" in r.stdout and "randomized" not in r.stdout.split("virtual")[-1]
        for html in (blinded, closed):  # no "randomized" wording for a non-randomized trial
            assert "randomized" not in re.sub(r"<[^>]+>", " ", html).lower().replace(
                "non-randomized", ""
            ), pid
    # every analysis the paper reports (docs/seeds.md) is in the closed report
    assert missing_from(closed, pid) == []


def test_demo_refuses_a_protocol_without_a_scenario(tmp_path: Path) -> None:
    r = _demo("--protocol", "nosuch2020", "--out", str(tmp_path / "x"), "--no-pdf")
    assert r.returncode != 0
    assert "--protocol: no virtual-trial scenario named 'nosuch2020'" in r.stdout + r.stderr
