"""``write_report``: the HTML report, and its PDF when asked."""

from __future__ import annotations

from pathlib import Path

from celltrial.analysis import TrialAnalysis
from celltrial.report.html import write_html
from celltrial.report.pdf import html_to_pdf


def write_report(
    analysis: TrialAnalysis, out: str | Path, *, closed: bool = False, pdf: bool = False
) -> list[Path]:
    """Write the HTML report to ``out`` (and ``out`` with suffix ``.pdf`` when ``pdf``).

    Returns the files written. Raises :class:`~celltrial.report.ChromiumNotFound` when a PDF
    is asked for and Chromium is not installed (the HTML is written first).
    """
    html = write_html(analysis, out, closed=closed)
    written = [html]
    if pdf:
        written.append(html_to_pdf(html, html.with_suffix(".pdf")))
    return written
