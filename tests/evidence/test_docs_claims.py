"""The claim examples of docs/evidence.md ("Claims in the record format") are run here: each
YAML record is loaded and audited, and the verdicts listed under it must be those produced."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from celltrial.evidence.audit import audit
from celltrial.evidence.records import load_records

DOC = Path(__file__).parents[2] / "docs" / "evidence.md"


def _examples() -> list[tuple[str, dict[str, str]]]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Claims in the record format") :]
    blocks = re.findall(r"```(yaml|text)\n(.*?)```", section, flags=re.S)
    out = []
    for (kind, body), nxt in itertools.pairwise(blocks):
        if kind == "yaml" and nxt[0] == "text":
            expected = dict(line.rsplit(": ", 1) for line in nxt[1].strip().splitlines())
            out.append((body, expected))
    return out


EXAMPLES = _examples()


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) == 4


@pytest.mark.parametrize("body,expected", EXAMPLES, ids=[str(i) for i in range(len(EXAMPLES))])
def test_docs_claim_example(tmp_path: Path, body: str, expected: dict[str, str]) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(body, encoding="utf-8")
    rows = {}
    for r in audit(load_records([path])):
        rows[r.claim] = rows[re.sub(r" \([a-z0-9_]+\)$", "", r.claim)] = r
    got = {claim: rows[claim].verdict for claim in expected if claim in rows}
    assert got == expected, {c: rows[c].reason for c in got}
