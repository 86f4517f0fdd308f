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
    rng = logrank_p_range(tuple(ref["events"]), tuple(ref["n"]))
    assert rng.exact
    np.testing.assert_allclose(rng.chi2, ref["chi2"], rtol=1e-8, atol=1e-9)
    assert rng.p_range[0] == pytest.approx(ref["p_min"], rel=1e-8)
    assert rng.p_range[1] == pytest.approx(ref["p_max"], rel=1e-8)


def test_logrank_bounded_search_agrees_with_exact_minimum() -> None:
    # force the bounded method on a case the exact enumeration handles: same smallest p
    ref = R["logrank"]["3_5_1_4"]
    rng = logrank_p_range((3, 1), (5, 4), max_states=1)
    assert not rng.exact
    assert rng.p_range[0] == pytest.approx(ref["p_min"], rel=1e-8)


def test_lanzoni_survival_claim() -> None:
    # 2/12 vs 7/12 deaths, "P = .015" (KM survival, log-rank): attainable
    check = check_claim(events=(2, 7), n=(12, 12), p_value="P = .015", test="log-rank")
    assert check.verdict == "consistent", check.reason
    assert check.p_range is not None and check.p_range[0] < 0.015
    # but nothing gets below the smallest attainable p
    p_min = check.p_range[0]
    impossible = check_claim(
        events=(2, 7), n=(12, 12), p_value=f"P < {p_min / 10:.3g}", test="logrank"
    )
    assert impossible.verdict == "inconsistent"


def test_logrank_small_exact_inconsistent() -> None:
    ref = R["logrank"]["2_4_0_3"]
    check = check_claim(events=(2, 0), n=(4, 3), p_value="P < 0.01", test="logrank")
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
