"""Regenerate the table of entry rules in docs/edc.md from the rule set itself.

    PYTHONPATH=src python scripts/edc_rules_table.py          # rewrite docs/edc.md
    PYTHONPATH=src python scripts/edc_rules_table.py --check  # exit 1 if it is stale

The table sits between the ``<!-- rules:begin -->`` and ``<!-- rules:end -->`` markers and is
:func:`celltrial.dataset.rules.rules_table`; ``tests/edc/test_edc_rules.py`` checks it is
current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from celltrial.dataset.rules import rules_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "edc.md"
BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"


def render(text: str) -> str:
    """``text`` with the table between the markers replaced by the current rule set."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{rules_table()}{END}{tail}"


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print(f"{DOC} is stale: run python scripts/edc_rules_table.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
