"""Checks of published claims.

Reference values: tests/reference/claims/claims.json, written by claims.R (R's fisher.test,
chisq.test and a brute-force survival::survdiff over every ordering), and the p-values printed in
Meng et al. 2020, Table 3 (tables.csv in the same folder).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from celltrial.stats._claims_tests import two_by_two_p_values
from celltrial.stats.claims import (
    check_claim,
    counts_from_percentage,
    grim,
    logrank_p_range,
    parse_p_value,
)

REF = Path(__file__).parents[1] / "reference" / "claims"
R: dict[str, Any] = json.loads((REF / "claims.json").read_text())
#: followup.R: survdiff over every ordering under complete follow-up / stated censoring
FOLLOWUP: dict[str, Any] = json.loads((REF / "followup.json").read_text())
with (REF / "tables.csv").open() as fh:
    TABLES = list(csv.DictReader(fh))

#: closed forms (Fisher, chi-square)
CLOSED = 1e-10


@pytest.mark.parametrize("row", TABLES, ids=[r["label"] for r in TABLES])
def test_two_by_two_p_values_match_r(row: dict[str, str]) -> None:
    ps = two_by_two_p_values(int(row["e1"]), int(row["n1"]), int(row["e2"]), int(row["n2"]))
    ref = R["tables"][row["label"]]
    for name in ("fisher", "chi2", "chi2_yates"):
        assert ps[name] == pytest.approx(ref[name], rel=CLOSED)


MENG = [r for r in TABLES if r["label"].startswith("meng_")]


@pytest.mark.parametrize("row", MENG, ids=[r["label"] for r in MENG])
def test_meng_2020_table3_fisher_p_values_reproduce(row: dict[str, str]) -> None:
    check = check_claim(
        events=(int(row["e1"]), int(row["e2"])),
        n=(int(row["n1"]), int(row["n2"])),
        p_value=row["reported_p"],
        test="Fisher",
    )
    assert check.verdict == "consistent", check.reason
    assert "fisher" in check.matching


def test_shi_normal_ct_is_fisher_not_yates() -> None:
    # 10/56 vs 0/30, "p = 0.013": Fisher gives 0.0128, chi-square with Yates 0.035
    check = check_claim(events=(10, 0), n=(56, 30), p_value="p = 0.013")
    assert check.verdict == "consistent"
    assert "fisher" in check.matching and "chi2_yates" not in check.matching
    named = check_claim(
        events=(10, 0), n=(56, 30), p_value="p = 0.013", test="chi-square with yates"
    )
    assert named.verdict == "inconsistent"
    assert "fisher" in named.reason


def test_invented_inconsistent_threshold() -> None:
    # 8/14 vs 4/15 cannot give P < 0.0001 with any 2x2 test (Fisher p = 0.14)
    check = check_claim(events=(8, 4), n=(14, 15), p_value="P < 0.0001")
    assert check.verdict == "inconsistent"
    assert check.matching == ()
    assert min(check.p_values.values()) > 0.05


def test_percentages_to_counts() -> None:
    assert counts_from_percentage("45.45", 11) == (5,)
    assert counts_from_percentage("16.67", 6) == (1,)
    assert counts_from_percentage("50", 14) == (7,)
    with pytest.raises(ValueError, match="not k/11"):
        counts_from_percentage("45.0", 11)
    check = check_claim(percentages=("45.45", "16.67"), n=(11, 6), p_value=0.3338720)
    assert check.verdict == "inconsistent"  # a reported 7-digit p pins Fisher's 0.33338720 only
    check = check_claim(percentages=("45.45", "16.67"), n=(11, 6), p_value="0.333")
    assert check.verdict == "consistent" and "fisher" in check.matching


def test_parse_p_value() -> None:
    r = parse_p_value("P = .015")
    assert (r.relation, r.value, r.half_unit) == ("=", 0.015, pytest.approx(0.0005))
    assert parse_p_value("p<0.0001").relation == "<"
    assert parse_p_value("P ≤ 0.05").relation == "<="
    assert parse_p_value(0.294).half_unit == pytest.approx(0.0005)
    assert parse_p_value("P < 0.0001").admits(0.00009)
    assert not parse_p_value("P < 0.0001").admits(0.0001)
    with pytest.raises(ValueError, match="p_value"):
        parse_p_value("significant")
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_p_value("1.5")


@pytest.mark.parametrize("key", sorted(R["logrank"]))
def test_logrank_range_matches_brute_force_survdiff(key: str) -> None:
    ref = R["logrank"][key]
    rng = logrank_p_range(tuple(ref["events"]), tuple(ref["n"]), censoring="any")
    assert rng.exact
    np.testing.assert_allclose(rng.chi2, ref["chi2"], rtol=1e-8, atol=1e-9)
    assert rng.p_range[0] == pytest.approx(ref["p_min"], rel=1e-8)
    assert rng.p_range[1] == pytest.approx(ref["p_max"], rel=1e-8)


def test_logrank_bounded_search_agrees_with_exact_minimum() -> None:
    # force the bounded method on a case the exact enumeration handles: same smallest p
    ref = R["logrank"]["3_5_1_4"]
    rng = logrank_p_range((3, 1), (5, 4), censoring="any", max_states=1)
    assert not rng.exact
    assert rng.p_range[0] == pytest.approx(ref["p_min"], rel=1e-8)


def test_lanzoni_survival_claim_any_censoring() -> None:
    # 2/12 vs 7/12 deaths, "P = .015": attainable only if censoring may fall anywhere
    check = check_claim(
        events=(2, 7), n=(12, 12), p_value="P = .015", test="log-rank", censoring="any"
    )
    assert check.verdict == "consistent", check.reason
    assert "any censoring" in check.reason and check.assumption is not None
    assert check.p_range is not None and check.p_range[0] < 0.015
    # but nothing gets below the smallest attainable p
    p_min = check.p_range[0]
    impossible = check_claim(
        events=(2, 7),
        n=(12, 12),
        p_value=f"P < {p_min / 10:.3g}",
        test="logrank",
        censoring="any",
    )
    assert impossible.verdict == "inconsistent"


@pytest.mark.parametrize("key", sorted(FOLLOWUP["logrank"]))
def test_logrank_followup_matches_survdiff(key: str) -> None:
    # every ordering of deaths (and stated early censorings), survivors censored at the horizon
    ref = FOLLOWUP["logrank"][key]
    k = tuple(ref["early_censored"])
    rng = logrank_p_range(
        tuple(ref["events"]), tuple(ref["n"]), censoring="complete" if k == (0, 0) else k
    )
    assert rng.exact
    np.testing.assert_allclose(np.round(rng.chi2, 9), ref["chi2"], rtol=1e-8, atol=1e-8)
    assert rng.p_range[0] == pytest.approx(ref["p_min"], rel=1e-8)
    assert rng.p_range[1] == pytest.approx(ref["p_max"], rel=1e-8)


def test_issue20_fathi_p_below_0001_impossible_under_complete_follow_up() -> None:
    # 6/14 vs 11/15 deaths: under a fixed horizon the smallest attainable p is 0.0102
    check = check_claim(events=(6, 11), n=(14, 15), p_value="P < 0.0001", test="logrank")
    assert check.verdict == "inconsistent"
    assert check.p_range is not None
    assert check.p_range[0] == pytest.approx(0.0102219259492576, rel=1e-10)
    assert "complete follow-up to a fixed horizon" in check.reason
    assert "attainable p 0.01 to 0.42" in check.reason
    # censoring anywhere (0 would be attainable then) only as an explicit, labelled option
    anyc = check_claim(
        events=(6, 11), n=(14, 15), p_value="P < 0.0001", test="logrank", censoring="any"
    )
    assert anyc.verdict == "consistent" and anyc.reason.startswith("assuming any censoring")


def test_issue20_lanzoni_needs_one_treated_death() -> None:
    # 2/12 vs 7/12: attainable p 0.018-0.070, so P = .015 is inconsistent; 1/12 vs 7/12 gives it
    check = check_claim(events=(2, 7), n=(12, 12), p_value="P = .015", test="log-rank")
    assert check.verdict == "inconsistent"
    assert check.p_range == pytest.approx((0.0181945103806553, 0.0695245249708751), rel=1e-10)
    assert "it would hold with 1/12 vs 7/12" in check.reason
    one = check_claim(events=(1, 7), n=(12, 12), p_value="P = .015", test="log-rank")
    assert one.verdict == "consistent"
    assert one.assumption is not None and one.assumption.startswith("complete follow-up")


def test_issue20_stated_censoring() -> None:
    ref = FOLLOWUP["logrank"]["stated_2_6_4_6_k2_0"]
    check = check_claim(
        events=(2, 4), n=(6, 6), p_value="P < 0.1", test="logrank", censoring=(2, 0)
    )
    assert check.verdict == "inconsistent" and check.p_range is not None
    assert check.p_range[0] == pytest.approx(ref["p_min"], rel=1e-8)
    assert "censoring only as stated (2 and 0" in check.reason
    with pytest.raises(ValueError, match="censoring: arm 1 has 4 survivors"):
        check_claim(events=(2, 4), n=(6, 6), p_value="0.1", test="logrank", censoring=(5, 0))


def test_issue20_mid_p_alone_is_not_consistent() -> None:
    # 9/14 vs 0/15, "P < 0.0001": only the mid-p (0.0000999) is below; Fisher is 0.0002
    check = check_claim(events=(9, 0), n=(14, 15), p_value="P < 0.0001")
    assert check.verdict == "inconsistent"
    assert check.matching == ()
    assert "only mid_p would" in check.reason and "does not say it reports a mid-p" in check.reason
    said = check_claim(events=(9, 0), n=(14, 15), p_value="P < 0.0001", test="mid-p")
    assert said.verdict == "consistent" and said.matching == ("mid_p",)


def test_issue20_shi_unknown_denominator() -> None:
    # 10/56 vs 0/N, "p = 0.013", N at month 12 unknown (<= 35 randomized): N = 29-31 only
    # (N = 29 Boschloo 0.01297; N = 30 Fisher 0.01284; N = 31 Barnard 0.01324; N = 32 none)
    check = check_claim(
        events=(10, 0), n=(56, (1, 35)), p_value="p = 0.013", arm_names=("MSC", "placebo")
    )
    assert check.verdict == "consistent if"
    assert check.condition == "N(placebo) ∈ [29, 31]"
    assert check.label == "consistent if N(placebo) ∈ [29, 31]"
    ps = {n: two_by_two_p_values(10, 56, 0, n) for n in (29, 30, 31, 32, 35)}
    for n in (29, 30, 31, 32, 35):
        ref = FOLLOWUP["shi_normal_ct"][str(n)]
        for name in ("fisher", "chi2", "chi2_yates"):
            assert ps[n][name] == pytest.approx(ref[name], rel=CLOSED)
    assert ps[35]["mid_p"] == pytest.approx(0.00341, abs=5e-6)  # docs said 0.00554
    # the boundary rests on Barnard (N = 31) and Boschloo (N = 29): unconditional.R, written
    # out in R (grid + optimize over the nuisance probability)
    uncond = json.loads((REF / "unconditional.json").read_text())
    for n in (28, 29, 30, 31, 32):
        got = two_by_two_p_values(10, 56, 0, n)
        for name in ("barnard", "boschloo"):
            assert got[name] == pytest.approx(uncond[str(n)][name], rel=1e-7)
    fixed = check_claim(events=(10, 0), n=(56, 35), p_value="p = 0.013")
    assert fixed.verdict == "inconsistent"


def test_test_wordings() -> None:
    from celltrial.stats.claims import normalise_test

    assert normalise_test("Chi-squared") == ("chi2", "chi2_yates")
    assert normalise_test("Fisher’s exact test") == ("fisher",)
    assert normalise_test("Pearson") == ("chi2",)
    assert normalise_test("Log-rank test") == ("logrank",)
    with pytest.raises(ValueError, match="test: unknown test 'magic'"):
        normalise_test("magic")


def test_logrank_small_exact_inconsistent() -> None:
    ref = R["logrank"]["2_4_0_3"]
    check = check_claim(
        events=(2, 0), n=(4, 3), p_value="P < 0.01", test="logrank", censoring="any"
    )
    assert check.verdict == "inconsistent"
    assert check.p_range is not None
    assert check.p_range[0] == pytest.approx(ref["p_min"], rel=1e-8)


def test_grim() -> None:
    assert grim("5.19", 28).verdict == "inconsistent"  # 145/28 = 5.179, 146/28 = 5.214
    assert grim("5.18", 28).verdict == "consistent"
    assert grim("3.47", 15, items=3).verdict == "consistent"  # 156/45 = 3.4667
    assert grim("3.48", 15, items=3).verdict == "inconsistent"
    assert grim("2.5", 200).verdict == "not checkable"
    assert check_claim(mean="5.19", n=28).verdict == "inconsistent"


def test_not_checkable_without_p() -> None:
    assert check_claim(events=(7, 12), n=(14, 15)).verdict == "not checkable"


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="events"):
        check_claim(events=(10, 2), n=(9, 9), p_value="0.1")
    with pytest.raises(ValueError, match="test"):
        check_claim(events=(1, 2), n=(9, 9), p_value="0.1", test="magic")
    with pytest.raises(ValueError, match="n"):
        check_claim(events=(1, 2), n=9, p_value="0.1")
    with pytest.raises(ValueError, match="events or percentages"):
        check_claim(n=(9, 9), p_value="0.1")
