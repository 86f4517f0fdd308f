"""Claims beyond two proportions: r x c tables, estimates with CIs, two means, GRIMMER, medians.

Reference values: tests/reference/claims/kinds.json, written by kinds.R (R's fisher.test and
chisq.test on r x c tables; t.test on data with exactly the reported means and SDs; the p from
a CI by Altman & Bland's formula; the Wald CI of an RR), and hand calculation (GRIMMER).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from celltrial.stats.claims_kinds import (
    check_estimate,
    check_means,
    check_median_iqr,
    check_table,
    fisher_freeman_halton,
    grimmer,
)

REF: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "reference" / "claims" / "kinds.json").read_text()
)


@pytest.mark.parametrize("key", sorted(REF["tables"]))
def test_r_by_c_tables_match_r(key: str) -> None:
    ref = REF["tables"][key]
    assert fisher_freeman_halton(ref["table"]) == pytest.approx(ref["fisher"], rel=1e-9)
    check = check_table(ref["table"], p_value=f"{ref['fisher']:.3f}", test=("fisher",))
    assert check.verdict == "consistent"
    assert check.p_values["chi2"] == pytest.approx(ref["chi2"], rel=1e-10)
    assert check.p_values["fisher"] == pytest.approx(ref["fisher"], rel=1e-9)


def test_zhu_style_three_category_improvement() -> None:
    # improved / stable / worse, 12/3/1 vs 5/6/5: chi-square 0.038, Fisher-Freeman-Halton 0.044
    table = REF["tables"]["improvement_3cat"]["table"]
    assert check_table(table, p_value="P = 0.038", test=("chi2", "chi2_yates")).verdict == (
        "consistent"
    )
    wrong = check_table(table, p_value="P = 0.004", test=None)
    assert wrong.verdict == "inconsistent" and "no test gives P = 0.004" in wrong.reason


def test_p_from_ci_matches_r() -> None:
    rr = REF["p_from_ci"]["rr"]
    check = check_estimate(measure="RR", estimate="0.45", ci=("0.21", "0.95"), p_value="0.04")
    assert check.verdict == "consistent"
    assert check.p_range is not None and check.p_range[0] <= rr["p"] <= check.p_range[1]
    bad = check_estimate(measure="RR", estimate="0.45", ci=("0.21", "0.95"), p_value="P = 0.20")
    assert bad.verdict == "inconsistent" and "imply p" in bad.reason
    # significance disagreeing with the CI is inconsistent whatever the method
    sig = check_estimate(measure="HR", estimate="0.70", ci=("0.45", "1.09"), p_value="P < 0.05")
    assert sig.verdict == "inconsistent" and "includes the null" in sig.reason
    outside = check_estimate(measure="OR", estimate="2.5", ci=("0.8", "2.1"))
    assert outside.verdict == "inconsistent" and "outside its CI" in outside.reason


def test_estimate_from_counts() -> None:
    ref = REF["wald_rr"]
    lo, hi = (f"{v:.2f}" for v in ref["ci"])
    check = check_estimate(
        measure="RR", estimate=f"{ref['rr']:.2f}", ci=(lo, hi), counts=(2, 12, 7, 12)
    )
    assert check.verdict == "consistent" and "Wald CI from the counts" in check.reason
    assert "reproduces it" in check.reason
    wrong = check_estimate(
        measure="RR", estimate="0.40", ci=("0.10", "1.50"), counts=(2, 12, 7, 12)
    )
    assert wrong.verdict == "inconsistent" and "give RR 0.2857, not 0.40" in wrong.reason


def test_two_means_match_r_t_test() -> None:
    ref = REF["means"]
    check = check_means(means=("5.2", "6.8"), sds=("1.9", "2.3"), n=(15, 14), p_value="P = 0.050")
    assert check.p_values["student"] == pytest.approx(ref["student"], rel=1e-10)
    assert check.p_values["welch"] == pytest.approx(ref["welch"], rel=1e-10)
    assert check.verdict == "consistent"
    lo, hi = (f"{v:.2f}" for v in ref["student_ci"])
    with_ci = check_means(
        means=("5.2", "6.8"), sds=("1.9", "2.3"), n=(15, 14), estimate="-1.6", ci=(lo, hi)
    )
    assert with_ci.verdict == "consistent" and "student" in with_ci.reason
    # "P < 0.001" is far outside any rounding of these summaries
    bad = check_means(means=("5.2", "6.8"), sds=("1.9", "2.3"), n=(15, 14), p_value="P < 0.001")
    assert bad.verdict == "inconsistent"
    welch_only = check_means(
        means=("5.2", "6.8"), sds=("1.9", "2.3"), n=(15, 14), p_value="P = 0.01", test=("welch",)
    )
    assert welch_only.verdict == "inconsistent" and welch_only.reason.startswith("welch gives")


def test_grimmer_by_hand() -> None:
    ref = REF["grimmer"]  # 1..5: mean 3, SD sqrt(2.5) = 1.5811
    assert grimmer("3.00", f"{ref['sd']:.2f}", 5).verdict == "consistent"
    # mean 3.00 of 5 integers: total 15 (odd), so the sum of squares is odd; SD 1.60 needs
    # S = 4 * 1.6^2 + 45 = 55.24 (55.18-55.30 over the rounding): no integer -> inconsistent
    bad = grimmer("3.00", "1.60", 5)
    assert bad.verdict == "inconsistent" and "sum of squares" in bad.reason
    # GRIM fails first: 5.19 is not k/28
    assert grimmer("5.19", "1.00", 28).verdict == "inconsistent"
    assert math.isclose(ref["mean"], 3.0)


def test_median_iqr() -> None:
    assert check_median_iqr(median="7", q1="5", q3="9.5").verdict == "consistent"
    assert check_median_iqr(median="12", q1="5", q3="9.5").verdict == "inconsistent"
    odd = check_median_iqr(median="7.5", q1="5", q3="9", n=15, integer=True)
    assert odd.verdict == "inconsistent" and "whole number" in odd.reason
    assert check_median_iqr(median="7.5", q1="5", q3="9", n=16, integer=True).verdict == (
        "consistent"
    )
    rank = check_median_iqr(median="7", q1="5", q3="9", p_value="P = 0.03")
    assert rank.verdict == "not checkable" and "rank test" in rank.reason


def test_or_and_rd_from_counts_match_r() -> None:
    ref = REF["wald_or"]
    check = check_estimate(
        measure="OR",
        estimate=f"{ref['or']:.2f}",
        ci=(f"{ref['ci'][0]:.2f}", f"{ref['ci'][1]:.1f}"),
        counts=tuple(ref["counts"]),
    )
    assert check.verdict == "consistent" and "reproduces it" in check.reason
    rd = REF["wald_rd"]
    # an RD in percentage points: -41.7 (-76.6 to -6.7), p = 0.020
    check = check_estimate(
        measure="RD",
        estimate="-41.7",
        ci=("-76.6", "-6.7"),
        p_value="p = 0.020",
        counts=(2, 12, 7, 12),
        scale=100,
    )
    assert check.verdict == "consistent", check.reason
    assert "reproduces it" in check.reason
    assert check.p_range is not None and check.p_range[0] <= rd["p"] <= check.p_range[1]
