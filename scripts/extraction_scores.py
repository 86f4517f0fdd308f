#!/usr/bin/env python
"""Recall and precision of evidence extraction per field type, on gold-labelled corpora.

    python scripts/extraction_scores.py                       # dev and held-out corpora: table
    python scripts/extraction_scores.py --details dev         # and what was missed / spurious
    python scripts/extraction_scores.py --check docs/evidence.md   # rc 1 if the docs are stale
    python scripts/extraction_scores.py path/to/other/corpus  # any folder of <id>.* + <id>.gold.yaml
    python scripts/extraction_scores.py --first-look "set 21"  # record a new held-out set's
                                                              # first look (once; refused after)

The table is written between the markers ``<!-- extraction-scores -->`` and
``<!-- /extraction-scores -->`` of docs/evidence.md by ``--write docs/evidence.md``; the first
looks recorded in tests/evidence/corpus/first_looks.yaml, pooled, between
``<!-- first-looks -->`` and ``<!-- /first-looks -->``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from celltrial.evidence.extract_score import (
    first_look_table,
    markdown_table,
    score,
    tallies_record,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "evidence" / "corpus"
FIRST_LOOKS = CORPUS / "first_looks.yaml"
BEGIN, END = "<!-- extraction-scores -->", "<!-- /extraction-scores -->"
LOOKS_BEGIN, LOOKS_END = "<!-- first-looks -->", "<!-- /first-looks -->"


def _replace(text: str, begin: str, end: str, table: str) -> str | None:
    if begin not in text or end not in text:
        return None
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{table}\n{end}{tail}"


def _record_first_look(name: str) -> int:
    """Score the held-out corpus and append its tallies to first_looks.yaml under ``name``;
    refused when ``name`` was recorded before (a first look is taken once)."""
    entries = yaml.safe_load(FIRST_LOOKS.read_text(encoding="utf-8")) or []
    if any(e["name"] == name for e in entries):
        print(
            f"{FIRST_LOOKS}: {name!r} was recorded before; a first look is taken once",
            file=sys.stderr,
        )
        return 1
    held = score(CORPUS / "heldout")
    entry = {"name": name, "documents": held.documents, "tallies": tallies_record(held)}
    with FIRST_LOOKS.open("a", encoding="utf-8") as f:
        f.write(yaml.safe_dump([entry], sort_keys=False, default_flow_style=None, width=100))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", help="corpus folders (default: dev and heldout)")
    parser.add_argument("--details", action="store_true", help="list missed and spurious items")
    parser.add_argument("--check", type=Path, help="fail if this file's table is not current")
    parser.add_argument("--write", type=Path, help="write the table into this file")
    parser.add_argument("--first-look", metavar="NAME", help="record the held-out first look")
    args = parser.parse_args(argv)
    if args.first_look and _record_first_look(args.first_look):
        return 1
    looks = first_look_table(yaml.safe_load(FIRST_LOOKS.read_text(encoding="utf-8")) or [])
    folders = [Path(c) for c in args.corpora] or [CORPUS / "dev", CORPUS / "heldout"]
    scored = {(f.name if f.parent == CORPUS else str(f)): score(f) for f in folders}
    table = markdown_table(scored)
    print(table)
    for name, s in scored.items():
        for problem in s.problems:
            print(f"{name}: {problem}", file=sys.stderr)
        if args.details:
            for doc, field, key in s.missed:
                print(f"{name}: missed   {doc}: {field} {key}")
            for doc, field, key in s.spurious:
                print(f"{name}: spurious {doc}: {field} {key}")
    for target in (args.check, args.write):
        if target is None:
            continue
        text = target.read_text(encoding="utf-8")
        new = _replace(text, BEGIN, END, table)
        new = _replace(new, LOOKS_BEGIN, LOOKS_END, looks) if new is not None else None
        if new is None:
            print(
                f"{target}: no {BEGIN} … {END} or {LOOKS_BEGIN} … {LOOKS_END} markers",
                file=sys.stderr,
            )
            return 1
        if target is args.check and new != text:
            print(f"{target}: the extraction tables are stale; run with --write", file=sys.stderr)
            return 1
        if target is args.write:
            target.write_text(new, encoding="utf-8")
    if args.first_look or args.details:
        print()
        print(looks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
