"""The trial report: analysis results -> one self-contained HTML file, and a PDF.

>>> from celltrial.report import write_report
>>> write_report(analysis, "report.html", closed=True, pdf=True)   # doctest: +SKIP

Two variants: blinded (pooled over arms, for the trial team; the default) and closed (by
arm, for the DSMB). See ``docs/analysis.md``.
"""

from celltrial.report.html import render_html, write_html
from celltrial.report.pdf import ChromiumNotFound, chromium, html_to_pdf, screenshot
from celltrial.report.write import write_report

__all__ = [
    "ChromiumNotFound",
    "chromium",
    "html_to_pdf",
    "render_html",
    "screenshot",
    "write_html",
    "write_report",
]
