"""PDF (and PNG screenshots) of the HTML report with headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


class ChromiumNotFound(RuntimeError):
    """No Chromium executable on PATH."""


def chromium() -> str:
    """The Chromium executable, or :class:`ChromiumNotFound` with how to install it."""
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumNotFound(
        "headless Chromium is needed to make the PDF but was not found on PATH; install it "
        "with `apt-get install chromium` (or `make system-deps`)"
    )


def _run(html: Path, flag: str, *, extra: tuple[str, ...] = (), timeout: float = 120) -> None:
    exe = chromium()
    with tempfile.TemporaryDirectory(prefix="celltrial-chromium-") as profile:
        cmd = [exe, *_FLAGS, f"--user-data-dir={profile}", *extra, flag, html.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"chromium failed ({proc.returncode}): {' '.join(tail)}")


def html_to_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 120) -> Path:
    """Print ``html`` (a file) to ``pdf`` with headless Chromium (A4, the report's @page)."""
    html, pdf = Path(html), Path(pdf)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    _run(
        html, f"--print-to-pdf={pdf.resolve()}", extra=("--no-pdf-header-footer",), timeout=timeout
    )
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no PDF to {pdf}")
    return pdf


def screenshot(
    html: str | Path,
    png: str | Path,
    *,
    width: int = 1280,
    height: int = 2000,
    timeout: float = 120,
) -> Path:
    """A PNG of the first ``height`` pixels of ``html`` rendered at ``width``."""
    html, png = Path(html), Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(
        html,
        f"--screenshot={png.resolve()}",
        extra=(f"--window-size={width},{height}",),
        timeout=timeout,
    )
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {png}")
    return png
