"""The recall/precision table of docs/evidence.md is the one the corpus gives today, and the
development corpus meets the goal (recall ≥ 90 %, precision ≥ 95 % per field type)."""

from __future__ import annotations

from pathlib import Path

import pytest

from celltrial.evidence.extract_score import FIELDS, Scores, gold_keys, markdown_table, score

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("corpus")
BEGIN, END = "<!-- extraction-scores -->", "<!-- /extraction-scores -->"


@pytest.fixture(scope="module")
def scored() -> dict[str, Scores]:
    return {"dev": score(CORPUS / "dev"), "heldout": score(CORPUS / "heldout")}


def test_docs_table_is_current(scored: dict[str, Scores]) -> None:
    text = (ROOT / "docs" / "evidence.md").read_text(encoding="utf-8")
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown_table(scored).strip(), (
        "docs/evidence.md is stale: python scripts/extraction_scores.py --write docs/evidence.md"
    )


def test_corpus_is_large_and_read_without_problems(scored: dict[str, Scores]) -> None:
    dev, heldout = scored["dev"], scored["heldout"]
    assert dev.documents + heldout.documents >= 40
    assert dev.problems == [] and heldout.problems == []


def test_development_corpus_meets_the_goal(scored: dict[str, Scores]) -> None:
    for field, tally in scored["dev"].tallies.items():
        assert tally.recall >= 0.90 and tally.precision >= 0.95, field


def test_gold_files_parse() -> None:
    for gold in sorted(CORPUS.glob("*/*.gold.yaml")):
        keys = gold_keys(gold)
        assert set(keys) == set(FIELDS), gold
