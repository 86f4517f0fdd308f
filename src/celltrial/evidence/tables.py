"""Tables as reviewers paste them: tab-, pipe- or space-aligned text, and HTML tables.

A table is a list of rows of cell texts, the first row its header (a second header line of arm
sizes only, "(n = 25)" under each arm, is joined to it). :func:`split_tables` cuts the table
blocks out of a text (two or more consecutive lines that split into three or more cells the
same way) and returns the prose that is left, so that sentences are not read twice.
"""

from __future__ import annotations

import re

Table = list[list[str]]

_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


_N_CELL = re.compile(r"\(?\s*[nN]\s*=\s*\d+\s*\)?")


def _header_sizes(line: str, kind: str, width: int) -> list[str] | None:
    """A second header line of arm sizes only ("\t(n = 25)\t(n = 25)\t"), split like the
    header; None when ``line`` is not one."""
    if kind == "tab" and "\t" in line:
        cells = [c.strip() for c in line.strip("\n").split("\t")]
    elif kind == "pipe" and line.count("|") >= 2:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
    else:
        return None
    filled = [c for c in cells if c]
    if len(filled) < 2 or len(cells) > width or not all(_N_CELL.fullmatch(c) for c in filled):
        return None
    return cells + [""] * (width - len(cells))


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


def _space_starts(line: str) -> list[tuple[int, str]]:
    """(start, text) of each cell of a space-aligned line."""
    return [(m.start(), m.group(0)) for m in re.finditer(r"\S+(?: \S+)*", line)]


def _align_to_header(header_line: str, line: str, width: int) -> list[str]:
    """A space-aligned row with empty cells ("17 (18.9)   11 (25.0)   <no CI>   0.42"): each
    cell under the header cell that starts nearest to it, so a P column stays the P column."""
    starts = [start for start, _ in _space_starts(header_line)][:width]
    cells = [""] * width
    for start, cell in _space_starts(line):
        k = min(range(len(starts)), key=lambda i: abs(starts[i] - start))
        cells[k] = f"{cells[k]} {cell}".strip()
    return cells


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
        j = i + 1
        sizes = _header_sizes(lines[j], kind, len(header)) if j < len(lines) else None
        if sizes is not None:  # "MSC | Placebo" over "(n = 25) | (n = 25)": one header
            header = [f"{h} {n}".strip() for h, n in zip(header, sizes, strict=True)]
            j += 1
        rows = [header]
        while j < len(lines):
            if _SEPARATOR.match(lines[j]):
                j += 1
                continue
            nxt = _cells(lines[j])
            if nxt is None or nxt[0] != kind:
                break
            row = nxt[1]
            if kind == "space" and len(row) < len(header):
                row = _align_to_header(lines[i], lines[j], len(header))
            rows.append(row)
            j += 1
        if len(rows) >= 2:
            tables.append(rows)
            prose.append("")
        else:
            prose.append(lines[i])
        i = max(j, i + 1)
    return "\n".join(prose), tables
