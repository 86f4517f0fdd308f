#!/usr/bin/env python
"""Recall and precision of evidence extraction per field type, on gold-labelled corpora.

    python scripts/extraction_scores.py                       # dev and held-out corpora: table
    python scripts/extraction_scores.py --details dev         # and what was missed / spurious
    python scripts/extraction_scores.py --check docs/evidence.md   # rc 1 if the docs are stale
    python scripts/extraction_scores.py path/to/other/corpus  # any folder of <id>.* + <id>.gold.yaml

The table is written between the markers ``<!-- extraction-scores -->`` and
``<!-- /extraction-scores -->`` of docs/evidence.md by ``--write docs/evidence.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from celltrial.evidence.extract_score import markdown_table, score

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "evidence" / "corpus"
BEGIN, END = "<!-- extraction-scores -->", "<!-- /extraction-scores -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", help="corpus folders (default: dev and heldout)")
    parser.add_argument("--details", action="store_true", help="list missed and spurious items")
    parser.add_argument("--check", type=Path, help="fail if this file's table is not current")
    parser.add_argument("--write", type=Path, help="write the table into this file")
    args = parser.parse_args(argv)
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
        if BEGIN not in text or END not in text:
            print(f"{target}: no {BEGIN} … {END} markers", file=sys.stderr)
            return 1
        head, rest = text.split(BEGIN, 1)
        current, tail = rest.split(END, 1)
        if target is args.check and current.strip() != table.strip():
            print(f"{target}: the extraction table is stale; run with --write", file=sys.stderr)
            return 1
        if target is args.write:
            target.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
