"""Tables as reviewers paste them: tab-, pipe- or space-aligned text, and HTML tables.

A table is a list of rows of cell texts, the first row its header. :func:`split_tables` cuts
the table blocks out of a text (two or more consecutive lines that split into three or more
cells the same way) and returns the prose that is left, so that sentences are not read twice.
"""

from __future__ import annotations

import re

Table = list[list[str]]

_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _cells(line: str) -> tuple[str, list[str]] | None:
    """The way ``line`` splits into cells (``tab``, ``pipe`` or ``space``) and its cells."""
    if "\t" in line:
        cells = [c.strip() for c in line.strip("\n").split("\t")]
        kind = "tab"
    elif line.count("|") >= 2:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        kind = "pipe"
    elif re.search(r"\S {2,}\S", line.strip()):
        cells = [c.strip() for c in re.split(r" {2,}", line.strip())]
        kind = "space"
    else:
        return None
    cells = [c for c in cells]
    if sum(1 for c in cells if c) < 3:
        return None
    return kind, cells


def split_tables(text: str) -> tuple[str, list[Table]]:
    """(the prose of ``text``, the tables in it)."""
    lines = text.splitlines()
    prose: list[str] = []
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        first = _cells(lines[i])
        if first is None:
            prose.append(lines[i])
            i += 1
            continue
        kind, header = first
        rows = [header]
        j = i + 1
        while j < len(lines):
            if _SEPARATOR.match(lines[j]):
                j += 1
                continue
            nxt = _cells(lines[j])
            if nxt is None or nxt[0] != kind:
                break
            rows.append(nxt[1])
            j += 1
        if len(rows) >= 2:
            tables.append(rows)
            prose.append("")
        else:
            prose.append(lines[i])
        i = max(j, i + 1)
    return "\n".join(prose), tables
