"""``celltrial evidence extract`` on the five seed records: identifiers, arm sizes, doses,
schedules and numeric claims. Expected values are read off the seed files by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from celltrial.cli import app
from celltrial.evidence.extract import Proposal, extract, items_in, sentences, word_number
from celltrial.evidence.sources import detect_format, read_source, registry_ids

# Copies of shared/seeds/0*.txt (public bibliographic records), so the tests stand alone.
SEEDS = Path(__file__).with_name("seeds")


@pytest.fixture(scope="module")
def proposals() -> dict[str, Proposal]:
    found = extract(sorted(SEEDS.glob("0*.txt")))
    return {p.sources[0][:3]: p for p in found}


def _values(p: Proposal, kind: str) -> list[dict[str, object]]:
    return [i.values for i in p.items if i.kind == kind]


def test_one_proposal_per_seed(proposals: dict[str, Proposal]) -> None:
    assert sorted(proposals) == ["000", "001", "002", "003", "004"]


def test_formats_are_recognised() -> None:
    formats = {f.name[:3]: read_source(f)[0].format for f in sorted(SEEDS.glob("0*.txt"))}
    assert formats == {
        "000": "pubmed-page",
        "001": "pubmed-page",
        "002": "library-catalogue",
        "003": "library-catalogue",
        "004": "citation-index",
    }


def test_identifiers(proposals: dict[str, Proposal]) -> None:
    p = proposals["000"]
    assert (p.pmid, p.pmcid, p.doi) == ("35313959", "PMC8935270", "10.1186/s13287-022-02796-1")
    assert set(p.registry) == {"U1111-1254-9819", "RBR-3fz9yr"}
    assert proposals["001"].doi == "10.1002/sctm.20-0472"
    p = proposals["002"]
    assert (p.pmid, p.pmcid, p.doi) == ("35255966", "PMC8899458", "10.1186/s13287-022-02771-w")
    assert p.registry == ["NCT05019287", "IRCT20180619040147N6"]
    p = proposals["003"]
    assert (p.pmid, p.pmcid, p.doi, p.registry) == (
        "34963099",
        "PMC8709782",
        "10.1016/j.ebiom.2021.103789",
        ["NCT04288102"],
    )
    assert proposals["004"].doi == "10.1038/s41392-020-00286-5"


def test_bibliographic_fields(proposals: dict[str, Proposal]) -> None:
    assert proposals["001"].authors == ["Giacomo Lanzoni"] and proposals["001"].year == 2021
    assert (
        proposals["002"].authors[0] == "Fathi-Kazerooni, Mina"
        and len(proposals["002"].authors) == 8
    )
    assert (
        proposals["003"].authors[:2] == ["Shi, Lei", "Yuan, Xin"]
        and len(proposals["003"].authors) == 22
    )
    assert proposals["004"].authors[0] == "Meng, Fanping" and len(proposals["004"].authors) == 24
    assert proposals["000"].year == 2022  # "© 2022. The Author(s)."
    assert proposals["004"].title.startswith(
        "Human umbilical cord-derived mesenchymal stem cell therapy"
    )  # type: ignore[union-attr]


def test_arm_sizes(proposals: dict[str, Proposal]) -> None:
    # "(n = 11) or placebo (n = 6)"; "UC-MSC treatment (n = 12) or the control group (n = 12)"
    assert [v["n"] for v in _values(proposals["000"], "arm_size")] == [11, 6]
    assert [v["n"] for v in _values(proposals["001"], "arm_size")] == [12, 12]
    # "(n = 9 for each group)"
    (meng,) = _values(proposals["004"], "arm_size")
    assert meng["n"] == 9 and meng["each_group"] is True
    # "7 patients (50%) ... 12 patients (80%)": only n = 14 and n = 15 give those percentages
    counts = _values(proposals["002"], "count")
    assert [(c["events"], c["n_candidates"]) for c in counts] == [(7, [14]), (12, [15])]
    # totals: "Seventeen patients", "Twenty-four subjects", "100 patients", "18 hospitalized patients"
    assert [v["n"] for v in _values(proposals["000"], "total_n")] == [17]
    assert [v["n"] for v in _values(proposals["001"], "total_n")] == [24]
    assert [v["n"] for v in _values(proposals["003"], "total_n")] == [100]
    assert [v["n"] for v in _values(proposals["004"], "total_n")] == [18]


def test_doses_with_lost_superscripts(proposals: dict[str, Proposal]) -> None:
    # "5 × 105 cells/kg" is 5 × 10^5; "100 ± 20 × 106 UC-MSCs"; "3 x 10(7)cells"; "5 mL secretome"
    assert _values(proposals["000"], "dose") == [{"amount": 5e5, "unit": "cells/kg"}]
    assert _values(proposals["001"], "dose") == [{"amount": 1e8, "unit": "cells", "tolerance": 2e7}]
    assert _values(proposals["004"], "dose") == [{"amount": 3e7, "unit": "cells"}]
    assert _values(proposals["002"], "dose") == [{"amount": 5.0, "unit": "mL", "of": "secretome"}]
    assert _values(proposals["003"], "dose") == []  # the 1-year abstract gives no dose


def test_schedules(proposals: dict[str, Proposal]) -> None:
    assert {"every_hours": 48} in _values(proposals["000"], "schedule")
    assert {"count": 3} in _values(proposals["000"], "schedule")
    assert {"days": [0, 3]} in _values(proposals["001"], "schedule")
    assert {"count": 5} in _values(proposals["002"], "schedule")
    assert {"for": 5, "unit": "days"} in _values(proposals["002"], "schedule")
    # "monitored for safety and efficacy for 28 days after treatment" is follow-up, not dosing
    assert {"for": 28, "unit": "days"} not in _values(proposals["002"], "schedule")
    assert {"days": [0, 3, 6]} in _values(proposals["004"], "schedule")


def test_numeric_claims(proposals: dict[str, Proposal]) -> None:
    lanzoni = [v["reported"] for v in _values(proposals["001"], "p_value")]
    assert {"P = .015", "P = .008", "P = .03", "P = .031"} <= set(lanzoni)
    assert {"percent": ["91", "42"]} in _values(proposals["001"], "comparison")
    assert {"counts": [2, 8]} in _values(proposals["001"], "comparison")  # "two vs eight patients"
    fathi = [v["reported"] for v in _values(proposals["002"], "p_value")]
    assert fathi.count("P < 0.0001") == 3 and "P = 0.06" in fathi
    assert {"percent": ["57", "28"]} in _values(proposals["002"], "comparison")
    shi = proposals["003"]
    assert {"events": 10, "n": 56, "percent": "17.9"} in _values(shi, "count")
    assert {"level": 95, "low": -20.7, "high": -1.5, "unit": "%"} in _values(shi, "ci")
    # "a difference of −10.8% (95% CI: −20.7%, −1.5%, p = 0.030)"
    assert {
        "measure": "difference",
        "value": -10.8,
        "low": -20.7,
        "high": -1.5,
        "level": 95,
        "unit": "%",
    } in _values(shi, "estimate")
    assert [v["reported"] for v in _values(shi, "p_value")] == ["p = 0.030", "p = 0.013"]
    assert {"counts": [1, 4]} in _values(proposals["004"], "comparison")


def test_every_item_keeps_its_sentence(proposals: dict[str, Proposal]) -> None:
    for p in proposals.values():
        for item in p.items:
            assert item.text.replace(" ", "") in item.sentence.replace(" ", "")


def test_design_terms(proposals: dict[str, Proposal]) -> None:
    assert proposals["001"].design == {
        "phase": "1/2a",
        "randomized": True,
        "blinding": "double",
        "ratio": "1:1",
    }
    # Meng: "non-randomized"; "double-blinded trials ... are needed" is about future trials
    assert proposals["004"].design == {"phase": "1", "randomized": False}


def test_duplicates_are_merged(tmp_path: Path) -> None:
    nbib = tmp_path / "shi.nbib"
    nbib.write_text(
        "PMID- 34963099\nTI  - Human mesenchymal stem cells treatment for severe COVID-19: 1-year\n"
        "      follow-up results\nAB  - More interestingly, 17.9% (10/56) of patients in the MSC group had\n"
        "      normal CT images at month 12, but none in the placebo group (p = 0.013).\n"
        "FAU - Shi, Lei\nDP  - 2022 Jan\nLID - 10.1016/j.ebiom.2021.103789 [doi]\nSI  - ClinicalTrials.gov/NCT04288102\n",
        encoding="utf-8",
    )
    ris = tmp_path / "shi.ris"
    ris.write_text(
        "TY  - JOUR\nTI  - Human mesenchymal stem cells treatment\nAU  - Shi, Lei\nPY  - 2022\n"
        "DO  - 10.1016/J.EBIOM.2021.103789\nAB  - The trial NCT04288102 randomized 2:1.\nER  - \n",
        encoding="utf-8",
    )
    merged = extract([nbib, ris, SEEDS / "003_23a006c5234a0a35.txt"])
    assert len(merged) == 1
    (p,) = merged
    assert p.formats == ["medline", "ris", "library-catalogue"]
    assert p.pmid == "34963099" and p.registry == ["NCT04288102"]
    assert p.title is not None and p.title.endswith("1-year follow-up results")
    # the same sentence from two sources counts once; the RIS abstract adds the ratio
    assert sum(1 for i in p.items if i.kind == "count" and i.values.get("n") == 56) == 1
    assert p.design["ratio"] == "2:1"


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes", encoding="utf-8")
    with pytest.raises(ValueError, match=r"notes.txt: not a bibliographic record or an abstract"):
        extract([bad])


def test_helpers() -> None:
    assert (
        word_number("Twenty-four") == 24
        and word_number("seventeen") == 17
        and word_number("lots") is None
    )
    assert registry_ids("see NCT04288102 and IRCT20180619040147N6, RBR-3fz9yr") == [
        "NCT04288102",
        "IRCT20180619040147N6",
        "RBR-3fz9yr",
    ]
    assert sentences(
        "Survival was 91% vs 42% (P = .015). SAEs affected two vs. eight patients."
    ) == [
        "Survival was 91% vs 42% (P = .015).",
        "SAEs affected two vs. eight patients.",
    ]
    assert [i.kind for i in items_in("phase 1/2a trial in COVID-19 patients")] == []
    with pytest.raises(ValueError):
        detect_format("hello")


def test_cli_writes_proposals(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["evidence", "extract", *map(str, sorted(SEEDS.glob("0*.txt"))), "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fathikazerooni2022.proposed.yaml",
        "lanzoni2021.proposed.yaml",
        "meng.proposed.yaml",
        "pmid35313959.proposed.yaml",
        "shi2021.proposed.yaml",
    ]
    assert "5 proposed record(s) from 5 file(s)" in result.output
