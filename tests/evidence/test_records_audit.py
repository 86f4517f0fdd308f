"""Trial records: validation messages, and the audit of the seed trials' claims."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from celltrial.cli import app
from celltrial.evidence.audit import audit
from celltrial.evidence.records import (
    RecordError,
    library_record_paths,
    load_records,
    parse_record,
    possible_counts,
)


def _record(**outcome_arms: dict[str, object]) -> dict[str, object]:
    return {
        "id": "x2024",
        "title": "t",
        "arms": [
            {"id": "a", "label": "A", "role": "experimental", "n": 10},
            {"id": "b", "label": "B", "role": "control"},
        ],
        "outcomes": [{"id": "death", "label": "Deaths", "arms": outcome_arms, "source": "s"}],
    }


def test_library_records_load() -> None:
    assert [r.id for r in load_records(library_record_paths())] == [
        "fathikazerooni2022",
        "lanzoni2021",
        "meng2020",
        "rebelatto2022",
        "shi2021",
    ]


def test_count_larger_than_n() -> None:
    with pytest.raises(
        RecordError, match=r"record x: outcomes.death.arms.a.events: 12 exceeds the arm's n 10"
    ):
        parse_record(_record(a={"events": 12}, b={"events": 1, "n": 10}), name="x")


def test_impossible_percentage() -> None:
    # 33% of 10 is not k/10 for any whole k (30% or 40%)
    with pytest.raises(
        RecordError, match=r"outcomes.death.arms.a.percent: 33% is not k/10 for any whole number k"
    ):
        parse_record(_record(a={"percent": "33"}, b={"events": 1, "n": 10}), name="x")


def test_missing_denominator() -> None:
    with pytest.raises(RecordError, match=r"outcomes.death.arms.b: a count needs its denominator"):
        parse_record(_record(a={"events": 1}, b={"events": 1}), name="x")


def test_unknown_arm_and_field() -> None:
    with pytest.raises(RecordError) as info:
        parse_record({**_record(c={"events": 1, "n": 3}), "colour": "red"}, name="x")
    text = str(info.value)
    assert "record x: colour: Extra inputs are not permitted" in text


def test_possible_counts() -> None:
    assert possible_counts("50", 14) == [7]
    assert possible_counts("28", 15) == []  # 4/15 = 26.7 %, 5/15 = 33.3 %
    assert possible_counts("17.9", 56) == [10]
    assert possible_counts("45.45", 11) == [5]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="no such record file"):
        load_records([tmp_path / "nope.yaml"])


def test_audit_of_the_seed_trials() -> None:
    rows = {
        (r.record, r.claim.split(" (")[0].split(",")[0]): r
        for r in audit(load_records(library_record_paths()))
    }
    # Meng Table 3: every Fisher p reproduces (two-sided Fisher exact, as the paper says)
    meng = [r for (rec, _), r in rows.items() if rec == "meng2020"]
    assert len(meng) == 7 and all(r.verdict == "consistent" for r in meng)
    assert all(r.check is not None and "fisher" in r.check.matching for r in meng)
    mv = rows[("meng2020", "Mechanical ventilation")]
    assert mv.check is not None and mv.check.p_values["fisher"] == pytest.approx(
        0.2941176, abs=1e-6
    )
    # Lanzoni: deaths 2/12 vs 7/12 under complete follow-up give log-rank p 0.018-0.070 only
    lanzoni = rows[("lanzoni2021", "survival 91% vs 42%")]
    assert lanzoni.verdict == "inconsistent"
    assert "complete follow-up" in lanzoni.reason and "1/12 vs 7/12" in lanzoni.reason
    assert rows[("lanzoni2021", "SAE-free survival P = .008; SAEs 2 vs 8")].verdict == "consistent"
    assert rows[("lanzoni2021", "time to recovery P = .031")].verdict == "not checkable"
    km = rows[("lanzoni2021", "Survival at day 31")]
    assert km.verdict == "not checkable" and "Kaplan-Meier" in km.reason
    # Fathi-Kazerooni: 28 % cannot be k/15
    fathi = rows[("fathikazerooni2022", "survival 57% vs 28%")]
    assert fathi.verdict == "inconsistent" and "28% is not k/15" in fathi.reason
    # Shi: the placebo n at month 12 is unknown (<= 35): p = 0.013 holds for N = 29-31 only
    shi = rows[("shi2021", "normal CT at month 12: 10/56 vs none")]
    assert shi.verdict == "consistent if N(placebo) ∈ [29, 31]"
    assert shi.counts == "10/56 vs 0/[1, 35]"
    # Shi's lesion volume (a continuous estimate with a CI) gets a row, not silence
    lesion = rows[("shi2021", "Whole-lung lesion volume")]
    assert lesion.verdict == "not checkable" and "not symmetric" in lesion.reason
    assert len(rows) == 14


def test_cli_pool_and_audit(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "evidence",
            "pool",
            "--outcome",
            "mortality",
            "--measure",
            "RR",
            "--html",
            str(tmp_path / "p.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "pooled RR 0.7925 (95% CI 0.1477 to 4.251)" in result.output
    page = (tmp_path / "p.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    result = runner.invoke(app, ["evidence", "audit", "--html", str(tmp_path / "a.html")])
    assert result.exit_code == 0, result.output
    assert "8 consistent, 1 consistent if, 2 inconsistent, 3 not checkable" in result.output
    bad = runner.invoke(app, ["evidence", "pool", "--measure", "HR"])
    assert bad.exit_code == 2 and "--measure: 'HR' is not one of RR, OR, RD" in bad.output
