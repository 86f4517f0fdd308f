"""The report opened in headless Chromium: a PNG of its first page (reviewed by eye; kept in
tests/report/screenshots/, rewritten there by ``make images``, in a temporary folder otherwise)
and a real PDF."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from celltrial.analysis import TrialAnalysis
from celltrial.report import ChromiumNotFound, chromium, screenshot, write_report

SCREENSHOTS = Path(__file__).parent / "screenshots"

try:
    chromium()
    HAVE_CHROMIUM = True
except ChromiumNotFound:
    HAVE_CHROMIUM = False

needs_chromium = pytest.mark.skipif(not HAVE_CHROMIUM, reason="chromium not installed")


@needs_chromium
@pytest.mark.parametrize("closed", [True, False], ids=["closed", "blinded"])
def test_screenshot_and_pdf(analysis: TrialAnalysis, tmp_path: Path, closed: bool) -> None:
    name = "closed" if closed else "blinded"
    html, pdf = write_report(analysis, tmp_path / f"{name}.html", closed=closed, pdf=True)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
    # The tracked PNGs are rewritten only by `make images` (CELLTRIAL_WRITE_IMAGES=1).
    shots = SCREENSHOTS if os.environ.get("CELLTRIAL_WRITE_IMAGES") else tmp_path
    png = screenshot(html, shots / f"report-{name}.png", width=1280, height=2000)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_missing_chromium_is_a_clear_error(
    analysis: TrialAnalysis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ChromiumNotFound, match="apt-get install chromium"):
        write_report(analysis, tmp_path / "r.html", pdf=True)
    assert (tmp_path / "r.html").is_file()  # the HTML is written first
