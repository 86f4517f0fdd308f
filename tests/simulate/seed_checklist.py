"""The per-seed checklist of docs/seeds.md: what each seed paper reports, and the endpoint or
section of the closed report that holds it (issue 18)."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

from celltrial.protocol import load_protocol

SEEDS_MD = Path(__file__).resolve().parents[2] / "docs" / "seeds.md"
#: ``endpoint:ID`` (the endpoint's label), ``section:TITLE`` (a section's title) or
#: ``text:WORDS`` (a row or test line the analysis writes only when it ran, e.g. the days to
#: discharge of a time-to-event endpoint that lists the rank-sum test).
_TOKEN = re.compile(r"`(endpoint|section|text):([^`]+)`")


def checklist(pid: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Rows of the seed's table: (row number, [(kind, value), ...]); rows marked "not in the
    report" have no tokens."""
    text = SEEDS_MD.read_text(encoding="utf-8")
    part = text.split(f"\n## {pid}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in part.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            rows.append((cells[0], _TOKEN.findall(cells[2])))
    return rows


def missing_from(closed_html: str, pid: str) -> list[str]:
    """Each listed endpoint label or section title not found in the closed report's text."""
    text = re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", closed_html)))
    protocol = load_protocol(pid)
    out = []
    for number, tokens in checklist(pid):
        for kind, value in tokens:
            want = protocol.endpoint(value).label if kind == "endpoint" else value
            if want not in text:
                out.append(f"{pid} row {number}: {kind} {value!r} ({want!r}) not in the report")
    return out
