"""Binary-outcome tests and effect measures against R (tests/reference/binary/binary.R).

Barnard's and Boschloo's tests have no R reference here (R's ``Exact`` package is not
installed): they delegate to scipy and are checked against hand-verified properties only.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celltrial.stats import (
    barnard_exact,
    boschloo_exact,
    chi_square,
    fisher_exact,
    mantel_haenszel,
    odds_ratio,
    risk_difference,
    risk_ratio,
)
from reference._load import CLOSED_FORM_RTOL, ITERATIVE_RTOL, assert_close, load_json

REF = load_json("binary")
REF2 = load_json("binary", "binary_edge")
TABLES = sorted(REF["tables"])
ALT = {"two.sided": "two-sided", "less": "less", "greater": "greater"}


def _table(name: str) -> np.ndarray:
    return np.array(REF["tables"][name]["table"], dtype=float).reshape(2, 2)


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("alt", ["two.sided", "less", "greater"])
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_fisher_matches_fisher_test(name: str, alt: str, level: float) -> None:
    ref = REF["tables"][name][f"fisher_{alt}_{level}"]
    res = fisher_exact(_table(name), alternative=ALT[alt], level=level)
    # the p-value is a closed-form sum; the estimate and CI are uniroot results (R's algorithm)
    assert_close(res.p_value, ref["p_value"], CLOSED_FORM_RTOL, what="p")
    assert_close(res.estimate, ref["estimate"], ITERATIVE_RTOL, what="estimate")
    assert_close(res.ci, [ref["lower"], ref["upper"]], ITERATIVE_RTOL, what="ci")


@pytest.mark.parametrize("name", TABLES)
def test_mid_p(name: str) -> None:
    ref = REF["tables"][name]["midp"]
    for alt, key in (("two-sided", "two_sided"), ("less", "less"), ("greater", "greater")):
        res = fisher_exact(_table(name), alternative=alt)
        assert_close(res.mid_p, ref[key], CLOSED_FORM_RTOL, what=alt)


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("correct", [True, False])
def test_chi_square_matches_chisq_test(name: str, correct: bool) -> None:
    ref = REF["tables"][name][f"chisq_{str(correct).upper()}"]
    res = chi_square(_table(name), correction=correct)
    assert_close(res.statistic, ref["statistic"], CLOSED_FORM_RTOL)
    assert res.df == ref["df"]
    assert_close(res.p_value, ref["p_value"], CLOSED_FORM_RTOL)


@pytest.mark.parametrize("name", TABLES)
def test_effect_measures(name: str) -> None:
    ref = REF["tables"][name]
    tab = _table(name)
    rd_w = risk_difference(tab, method="wald")
    rd_n = risk_difference(tab, method="newcombe")
    assert_close(rd_w.estimate, ref["rd"]["estimate"], CLOSED_FORM_RTOL)
    assert_close(rd_w.ci, ref["rd"]["wald"], CLOSED_FORM_RTOL, atol=1e-15)
    assert_close(rd_n.ci, ref["rd"]["newcombe"], CLOSED_FORM_RTOL, atol=1e-15)
    rr = risk_ratio(tab)
    assert_close(rr.estimate, ref["rr"]["estimate"], CLOSED_FORM_RTOL)
    assert_close(rr.se, ref["rr"]["se_log"], CLOSED_FORM_RTOL)
    assert_close(rr.ci, ref["rr"]["katz"], CLOSED_FORM_RTOL)
    orr = odds_ratio(tab)
    assert_close(orr.estimate, ref["or"]["estimate"], CLOSED_FORM_RTOL)
    assert_close(orr.se, ref["or"]["se_log"], CLOSED_FORM_RTOL)
    assert_close(orr.ci, ref["or"]["woolf"], CLOSED_FORM_RTOL)
    exact = odds_ratio(tab, method="exact")
    f = ref["fisher_two.sided_0.95"]
    assert_close(exact.estimate, f["estimate"], ITERATIVE_RTOL)
    assert_close(exact.ci, [f["lower"], f["upper"]], ITERATIVE_RTOL)


@pytest.mark.parametrize("name", sorted(REF["mantel_haenszel"]))
def test_mantel_haenszel_matches_mantelhaen_test(name: str) -> None:
    ref = REF["mantel_haenszel"][name]
    tables = np.array(ref["strata"], dtype=float).reshape(-1, 2, 2)
    res = mantel_haenszel(tables, correction=ref["correct"])
    for key in ("statistic", "p_value", "estimate"):
        assert_close(getattr(res, key), ref[key], CLOSED_FORM_RTOL, what=key)
    assert_close(res.ci, [ref["lower"], ref["upper"]], CLOSED_FORM_RTOL)


def test_barnard_and_boschloo_seed_tables() -> None:
    # Hand-checkable facts: a p-value is in [0, 1]; Boschloo is uniformly at least as powerful
    # as Fisher (its p never exceeds Fisher's); the seed table 10/56 vs 0/30 is significant.
    for name in TABLES[:6]:
        tab = _table(name)
        fisher_p = fisher_exact(tab).p_value
        b = boschloo_exact(tab)
        assert 0 <= b.p_value <= fisher_p + 1e-12
        bar = barnard_exact(tab)
        assert 0 <= bar.p_value <= 1
    assert barnard_exact([[10, 46], [0, 30]]).p_value < 0.05


def test_bad_tables() -> None:
    with pytest.raises(ValueError, match="table: must be a 2x2 table"):
        fisher_exact([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="table: counts must be >= 0"):
        fisher_exact([[1, -2], [4, 5]])
    with pytest.raises(ValueError, match="table: counts must be whole numbers"):
        chi_square([[1.5, 2], [4, 5]])
    with pytest.raises(ValueError, match="alternative: must be one of"):
        fisher_exact([[1, 2], [4, 5]], alternative="two.sided")
    with pytest.raises(ValueError, match="each row"):
        risk_ratio([[0, 0], [4, 5]])
    with pytest.raises(ValueError, match=r"tables: must have shape \(K, 2, 2\)"):
        mantel_haenszel([[1, 2], [3, 4]])


cells = st.integers(min_value=0, max_value=15)


@settings(max_examples=60, deadline=None)
@given(cells, cells, cells, cells)
def test_property_swapping_arms_keeps_two_sided_p(a: int, b: int, c: int, d: int) -> None:
    if a + b == 0 or c + d == 0:
        return
    t1, t2 = [[a, b], [c, d]], [[c, d], [a, b]]
    assert fisher_exact(t1).p_value == pytest.approx(fisher_exact(t2).p_value, rel=1e-12)
    if (a + c) > 0 and (b + d) > 0:
        assert chi_square(t1).p_value == pytest.approx(chi_square(t2).p_value, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(cells, cells, cells, cells)
def test_property_ci_contains_estimate(a: int, b: int, c: int, d: int) -> None:
    if a + b == 0 or c + d == 0:
        return
    tab = [[a, b], [c, d]]
    for res in (risk_difference(tab), risk_difference(tab, method="wald"), fisher_exact(tab)):
        lo, hi = res.ci
        assert lo <= res.estimate + 1e-9 and res.estimate <= hi + 1e-9 * max(1.0, abs(hi))
    rr = risk_ratio(tab)
    if np.all(np.isfinite([rr.estimate, *rr.ci])) and rr.estimate > 0:
        assert rr.ci[0] <= rr.estimate <= rr.ci[1]


def _barnard_by_hand(tab: list[list[int]], alternative: str, pooled: bool) -> np.ndarray:
    """Independent evaluation: Wald statistics as Fractions, P(pi) on a fine grid."""
    from fractions import Fraction
    from math import comb

    (a, b), (c, d) = tab
    n1, n2 = a + b, c + d

    def t2(x1: int, x2: int) -> Fraction:
        p1, p2 = Fraction(x1, n1), Fraction(x2, n2)
        if p1 == p2:
            return Fraction(0)
        if pooled:
            p = Fraction(x1 + x2, n1 + n2)
            v = p * (1 - p) * (Fraction(1, n1) + Fraction(1, n2))
        else:
            v = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        sign = 1 if p1 > p2 else -1
        return sign * (p1 - p2) ** 2 / v if v else Fraction(sign * 10**30)

    obs = t2(a, c)
    by_s: dict[int, int] = {}
    for x1 in range(n1 + 1):
        for x2 in range(n2 + 1):
            t = t2(x1, x2)
            keep = {
                "two-sided": abs(t) >= abs(obs),
                "less": t <= obs,
                "greater": t >= obs,
            }[alternative]
            if keep:
                by_s[x1 + x2] = by_s.get(x1 + x2, 0) + comb(n1, x1) * comb(n2, x2)
    grid = np.linspace(0, 1, 20001)
    return sum(float(w) * grid**s_ * (1 - grid) ** (n1 + n2 - s_) for s_, w in by_s.items())


@pytest.mark.parametrize(
    "tab", [[[7, 7], [12, 3]], [[3, 5], [8, 2]], [[10, 46], [0, 30]], [[0, 10], [5, 5]]]
)
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("pooled", [True, False])
def test_barnard_counts_exactly_tied_tables(tab, alternative: str, pooled: bool) -> None:
    res = barnard_exact(tab, alternative=alternative, pooled=pooled)
    curve = _barnard_by_hand(tab, alternative, pooled)
    assert res.p_value == pytest.approx(min(1.0, float(curve.max())), rel=1e-7)
    assert res.p_value >= float(curve.max()) - 1e-12  # the maximum, not a grid point below it
    assert res.nuisance is not None and 0.0 <= res.nuisance <= 1.0
    i = int(np.argmin(np.abs(np.linspace(0, 1, 20001) - res.nuisance)))
    assert float(curve[i]) == pytest.approx(res.p_value, rel=1e-6)


def test_barnard_issue_value() -> None:
    # issue 21: 0.108947017 (the tie is exact in rational arithmetic); it was 0.108943727
    res = barnard_exact([[7, 7], [12, 3]])
    assert res.p_value == pytest.approx(0.108947017, rel=1e-8)
    assert res.nuisance == pytest.approx(0.29126, abs=1e-4)


def test_fisher_all_zero_table_gives_p_one() -> None:
    ref = REF2["fisher_zero"]
    for alt in ("two-sided", "less", "greater"):
        res = fisher_exact([[0, 0], [0, 0]], alternative=alt)
        assert res.p_value == ref[alt]["p"] == 1.0
        assert res.estimate == ref[alt]["estimate"]
