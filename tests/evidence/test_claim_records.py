"""Issue 20: every kind of claim in the record format, and bad records reported by line.

Each case is a record a reviewer could write; the expected verdicts and reasons are those of
tests/stats/test_claims*.py (R and hand-checked values), reached through the loader and audit.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from celltrial.evidence.audit import AuditRow, audit
from celltrial.evidence.records import RecordError, load_records

HEAD = """\
id: trial2024
title: A trial
arms:
  - {id: msc, label: MSC, role: experimental, n: 14}
  - {id: control, label: Control, role: control, n: 15}
"""


def _write(tmp_path: Path, body: str, head: str = HEAD) -> Path:
    path = tmp_path / "trial.yaml"
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return path


def _rows(tmp_path: Path, body: str, head: str = HEAD) -> dict[str, AuditRow]:
    return {r.claim.split(" (")[0]: r for r in audit(load_records([_write(tmp_path, body, head)]))}


def _problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(RecordError) as info:
        load_records([_write(tmp_path, body)])
    return info.value.problems


def test_misspelt_outcome_id_is_an_error_with_its_line(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """\
        outcomes:
          - {id: death, label: Deaths, arms: {msc: {events: 6}, control: {events: 11}}, source: s}
        claims:
          - {id: c1, text: "deaths", outcome: deaths, p_value: "P = 0.1", source: s}
        """,
    )
    assert problems == [
        "trial.yaml:9: record trial.yaml:trial2024: claims[0] (c1).outcome: 'deaths' is not an "
        "outcome of this record (outcomes: death)"
    ]


def test_footnoted_p_value_and_unknown_test_are_line_numbered(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """\
        outcomes:
          - id: death
            label: Deaths
            arms: {msc: {events: 6}, control: {events: 11}}
            p_value: "0.141*"
            test: Chi-squared of some sort
            source: s
        """,
    )
    assert len(problems) == 2
    assert problems[0].startswith(
        "trial.yaml:10: record trial.yaml:trial2024: outcomes[0] (death).p_value: cannot read "
        "'0.141*'"
    )
    assert "footnote mark" in problems[0]
    assert problems[1].startswith("trial.yaml:11: ") and "unknown test" in problems[1]


def test_chi_squared_wording_is_read(tmp_path: Path) -> None:
    # "Chi-squared" (no traceback): Pearson with or without Yates; 7/14 vs 12/15 gives
    # Pearson 0.0894, Yates 0.191
    rows = _rows(
        tmp_path,
        """\
        outcomes:
          - {id: intubation, label: Intubated, arms: {msc: {events: 7}, control: {events: 12}},
             p_value: "0.191", test: Chi-squared, source: s}
        """,
    )
    row = rows["Intubated"]
    assert row.verdict == "consistent" and "chi2_yates" in row.reason


def test_log_rank_claims_name_their_assumption(tmp_path: Path) -> None:
    rows = _rows(
        tmp_path,
        """\
        outcomes:
          - {id: death, label: Deaths, kind: survival, arms: {msc: {events: 6}, control: {events: 11}},
             source: s}
        claims:
          - {id: s1, text: "survival P < 0.0001", outcome: death, p_value: "P < 0.0001",
             test: log-rank, source: s}
          - {id: s2, text: "survival P < 0.0001 any censoring", outcome: death,
             p_value: "P < 0.0001", test: log-rank, censoring: any, source: s}
        """,
    )
    assert rows["survival P < 0.0001"].verdict == "inconsistent"
    assert "complete follow-up to a fixed horizon" in rows["survival P < 0.0001"].reason
    assert rows["survival P < 0.0001 any censoring"].verdict == "consistent"
    assert "any censoring" in rows["survival P < 0.0001 any censoring"].reason


def test_unknown_denominator_as_a_range(tmp_path: Path) -> None:
    head = HEAD.replace("n: 14}", "n: 65}").replace("n: 15}", "n: 35}")
    rows = _rows(
        tmp_path,
        """\
        outcomes:
          - {id: ct, label: Normal CT, arms: {msc: {events: 10, n: 56}, control: {events: 0, n: unknown}},
             p_value: "p = 0.013", source: s}
          - {id: ct2, label: Normal CT range, arms: {msc: {events: 10, n: 56}, control: {events: 0, n: [30, 35]}},
             p_value: "p = 0.013", source: s}
        """,
        head,
    )
    assert rows["Normal CT"].verdict == "consistent if N(control) ∈ [29, 31]"
    assert rows["Normal CT range"].verdict == "consistent if N(control) ∈ [30, 31]"


def test_zarrabi_pairwise_comparison_in_a_three_arm_trial(tmp_path: Path) -> None:
    # three arms (MSC, MSC + EV, control): a claim names the two arms it compares
    head = """\
id: zarrabi2023
title: A three-arm trial
arms:
  - {id: msc, label: MSC, role: experimental, n: 5}
  - {id: msc_ev, label: MSC + EV, role: experimental, n: 5}
  - {id: control, label: Control, role: control, n: 5}
"""
    rows = _rows(
        tmp_path,
        """\
        outcomes:
          - {id: death, label: Deaths, arms: {msc: {events: 1}, msc_ev: {events: 0}, control: {events: 4}},
             source: s}
        claims:
          - {id: d1, text: "MSC vs control deaths", outcome: death, compare: [msc, control],
             p_value: "P = 0.206", test: Fisher, source: s}
          - {id: d2, text: "deaths, arms not named", outcome: death, p_value: "P = 0.05", source: s}
        """,
        head,
    )
    assert rows["MSC vs control deaths"].verdict == "consistent"
    assert rows["MSC vs control deaths"].counts == "1/5 vs 4/5"
    unnamed = rows["deaths, arms not named"]
    assert unnamed.verdict == "not checkable"
    assert "3 arms (msc, msc_ev, control): name the two compared" in unnamed.reason


def test_every_claim_kind_in_the_record_format(tmp_path: Path) -> None:
    rows = _rows(
        tmp_path,
        """\
        outcomes:
          - {id: improvement, label: Improvement, kind: categorical, categories: [improved, stable, worse],
             arms: {msc: {counts: [12, 3, 1]}, control: {counts: [5, 6, 5]}},
             p_value: "P = 0.044", test: Fisher-Freeman-Halton, source: s}
          - {id: score, label: Score, kind: continuous,
             arms: {msc: {mean: "5.2", sd: "1.9"}, control: {mean: "6.8", sd: "2.3", n: 14}},
             p_value: "P = 0.050", test: t-test, source: s}
          - {id: lesion, label: Lesion volume, kind: continuous, estimate: -10.8, ci: [-20.7, -0.9],
             measure: MD, p_value: "p = 0.20", source: s}
          - {id: death, label: Deaths, arms: {msc: {events: 2, n: 12}, control: {events: 7, n: 12}}, source: s}
          - {id: los, label: Length of stay, kind: continuous, arms: {msc: {median: "7", q1: "5", q3: "9"}},
             p_value: "P = 0.03", test: Mann-Whitney, source: s}
        claims:
          - {id: rr, text: "RR 0.29 (0.07 to 1.10)", outcome: death, measure: RR, estimate: "0.29",
             ci: ["0.07", "1.10"], source: s}
          - {id: hr, text: "HR 0.70 (0.45 to 1.09), P < 0.05", measure: HR, estimate: "0.70",
             ci: ["0.45", "1.09"], p_value: "P < 0.05", source: s}
          - {id: grim, text: "mean 5.19 of 28", mean: "5.19", n: 28, source: s}
          - {id: grimmer, text: "mean 3.00 SD 1.60 of 5", mean: "3.00", sd: "1.60", n: 5, source: s}
        """,
    )
    assert rows["Improvement"].verdict == "consistent" and "fisher" in rows["Improvement"].reason
    assert rows["Score"].verdict == "consistent"
    assert rows["Lesion volume"].verdict == "inconsistent"
    assert rows["Length of stay"].verdict == "not checkable"
    assert "rank test" in rows["Length of stay"].reason
    assert rows["RR 0.29"].verdict == "consistent"
    assert (
        rows["HR 0.70"].verdict == "inconsistent" and "includes the null" in rows["HR 0.70"].reason
    )
    assert rows["mean 5.19 of 28"].verdict == "inconsistent"
    assert rows["mean 3.00 SD 1.60 of 5"].verdict == "inconsistent"


def test_a_claim_that_cannot_be_read_is_a_row(tmp_path: Path) -> None:
    rows = _rows(
        tmp_path,
        """\
        outcomes:
          - {id: score, label: Score, kind: continuous, arms: {msc: {mean: "5.2"}}, p_value: "P = 0.05",
             source: s}
          - {id: death, label: Deaths, arms: {msc: {events: 2}, control: {events: 7}}, p_value: "P = 0.1",
             test: t-test, source: s}
        """,
    )
    assert rows["Score"].verdict == "not checkable" and "no means with SDs" in rows["Score"].reason
    assert rows["Deaths"].verdict == "not checkable"
    assert "not a test of two proportions" in rows["Deaths"].reason


def test_a_bad_unknown_is_one_message(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """\
        outcomes:
          - {id: death, label: Deaths, arms: {msc: {events: 6, n: lots}, control: {events: 11}},
             source: s}
        """,
    )
    assert problems == [
        "trial.yaml:7: record trial.yaml:trial2024: outcomes.0.arms.msc.n: expected a whole "
        "number, 'unknown' or a range [low, high], got 'lots'"
    ]


def test_survival_outcome_without_a_named_test_is_log_rank(tmp_path: Path) -> None:
    rows = _rows(
        tmp_path,
        """\
        outcomes:
          - {id: death, label: Deaths, kind: survival, arms: {msc: {events: 6}, control: {events: 11}},
             p_value: "P < 0.0001", source: s}
        """,
    )
    row = rows["Deaths"]
    assert row.verdict == "inconsistent"
    assert "log-rank test assumed for a survival outcome" in row.reason
