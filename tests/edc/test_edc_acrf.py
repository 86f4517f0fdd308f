"""The annotated CRF of docs/dataset.md is generated from the code and cannot go stale: every
parameter of every EDC form's action is named, every dataset column exists, and the page holds
exactly what ``celltrial.edc.acrf.markdown`` generates (``to_sdtm`` run on the small Lanzoni
dataset)."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "dataset.md"


def test_the_forms_name_every_field_of_every_action() -> None:
    from celltrial.edc.acrf import form_problems

    assert form_problems() == []


def test_docs_dataset_md_holds_the_generated_table() -> None:
    from celltrial.edc.acrf import END, START, annotated_crf, markdown

    text = DOC.read_text(encoding="utf-8")
    section = START + text.split(START, 1)[1].split(END, 1)[0] + END
    assert section == markdown(), "run: python -m celltrial.edc.acrf docs/dataset.md"
    rows = {(f.split(" (")[0], field, col): sdtm for f, field, col, sdtm in annotated_crf()}
    # What to_sdtm does, found by running it: renamed, to SUPP--, or the same variable.
    assert rows["Infusion", "deviation", "EX.EXDEVRS"] == "EX.EXADJ"
    assert rows["Infusion", "number", "EX.EXNUM"] == "SUPPEX QNAM EXNUM"
    assert rows["Randomization", "at", "DM.RANDDTC"] == "SUPPDM QNAM RANDDTC"
    assert rows["Adverse event", "grade", "AE.AETOXGR"] == "AE.AETOXGR"
