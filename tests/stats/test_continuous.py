"""t tests, Wilcoxon tests and Hodges–Lehmann against R (tests/reference/continuous/)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celltrial.stats import hodges_lehmann, t_test, wilcoxon_rank_sum, wilcoxon_signed_rank
from reference._load import (
    CLOSED_FORM_RTOL,
    ITERATIVE_RTOL,
    REFERENCE_DIR,
    assert_close,
    load_json,
)

REF = load_json("continuous")["cases"]
SAMPLES = json.loads((REFERENCE_DIR / "continuous" / "samples.json").read_text())
NAMES = sorted(REF)
ALTS = {"two.sided": "two-sided", "less": "less", "greater": "greater"}


def _xy(name: str) -> tuple[np.ndarray, np.ndarray]:
    return np.array(SAMPLES[name]["x"], float), np.array(SAMPLES[name]["y"], float)


def _check_t(res, ref) -> None:
    for key, val in (
        ("statistic", "statistic"),
        ("df", "df"),
        ("p_value", "p_value"),
        ("se", "stderr"),
    ):
        assert_close(getattr(res, key), ref[val], CLOSED_FORM_RTOL, what=key)
    assert_close(res.ci, [ref["lower"], ref["upper"]], CLOSED_FORM_RTOL, what="ci")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("alt", list(ALTS))
def test_t_tests_match_t_test(name: str, alt: str) -> None:
    x, y = _xy(name)
    _check_t(t_test(x, y, alternative=ALTS[alt]), REF[name][f"welch_{alt}"])
    _check_t(
        t_test(x, y, equal_var=True, alternative=ALTS[alt], level=0.9), REF[name][f"student_{alt}"]
    )
    _check_t(t_test(x, mu=1, alternative=ALTS[alt]), REF[name][f"onesample_{alt}"])
    if "paired_t" in REF[name] and alt == "two.sided":
        _check_t(t_test(x, y, paired=True), REF[name]["paired_t"])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("alt", list(ALTS))
@pytest.mark.parametrize("correct", [True, False])
def test_wilcoxon_tests_match_wilcox_test(name: str, alt: str, correct: bool) -> None:
    x, y = _xy(name)
    c = str(correct).upper()
    for key, res in (
        (f"ranksum_{alt}_{c}", wilcoxon_rank_sum(x, y, alternative=ALTS[alt], correct=correct)),
        (
            f"ranksum_mu_{alt}_{c}",
            wilcoxon_rank_sum(x, y, mu=0.3, alternative=ALTS[alt], correct=correct),
        ),
        (
            f"signrank_{alt}_{c}",
            wilcoxon_signed_rank(x, mu=1, alternative=ALTS[alt], correct=correct),
        ),
    ):
        ref = REF[name][key]
        assert_close(res.statistic, ref["statistic"], CLOSED_FORM_RTOL, what=key)
        assert_close(res.p_value, ref["p_value"], CLOSED_FORM_RTOL, what=key)
        assert res.exact == ("exact" in ref["method"])


def _check_hl(res, ref) -> None:
    # exact: order statistics (closed form); asymptotic: R's uniroot (iterative)
    rtol = CLOSED_FORM_RTOL if res.exact else ITERATIVE_RTOL
    assert_close(res.estimate, ref["estimate"], rtol, what="estimate")
    assert_close(res.ci, [ref["lower"], ref["upper"]], rtol, what="ci")
    assert_close(res.level, ref["conf_level"], CLOSED_FORM_RTOL, what="level")


@pytest.mark.parametrize("name", NAMES)
def test_hodges_lehmann_matches_wilcox_conf_int(name: str) -> None:
    x, y = _xy(name)
    r = REF[name]
    _check_hl(hodges_lehmann(x, y), r["ranksum_two.sided_TRUE"])
    _check_hl(hodges_lehmann(x, y, correct=False), r["ranksum_two.sided_FALSE"])
    _check_hl(hodges_lehmann(x, y, exact=False), r["ranksum_approx_ci_TRUE"])
    _check_hl(hodges_lehmann(x, y, exact=False, correct=False), r["ranksum_approx_ci_FALSE"])
    _check_hl(hodges_lehmann(x), r["signrank_ci_0"])
    _check_hl(hodges_lehmann(x, exact=False), r["signrank_approx_ci"])
    if "paired_signrank" in r:
        res = wilcoxon_signed_rank(x, y)
        assert_close(res.statistic, r["paired_signrank"]["statistic"], CLOSED_FORM_RTOL)
        assert_close(res.p_value, r["paired_signrank"]["p_value"], CLOSED_FORM_RTOL)
        _check_hl(hodges_lehmann(x, y, paired=True), r["paired_signrank"])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="x: must be finite"):
        t_test([1, np.nan, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="y: needs at least 1"):
        wilcoxon_rank_sum([1, 2], [])
    with pytest.raises(ValueError, match="y: length 2 differs"):
        wilcoxon_signed_rank([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="essentially constant"):
        t_test([1, 1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="alternative: must be one of"):
        t_test([1, 2, 3], alternative="two.sided")


samples = st.lists(
    st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 2)), min_size=3, max_size=25
)


@settings(max_examples=50, deadline=None)
@given(samples, samples)
def test_property_swapping_samples_keeps_two_sided_p(x, y) -> None:
    if np.ptp(x + y) == 0 or np.std(x) == 0 or np.std(y) == 0:
        return
    a, b = wilcoxon_rank_sum(x, y), wilcoxon_rank_sum(y, x)
    assert a.p_value == pytest.approx(b.p_value, rel=1e-9)
    ta, tb = t_test(x, y), t_test(y, x)
    assert ta.p_value == pytest.approx(tb.p_value, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(samples, samples)
def test_property_ci_contains_estimate(x, y) -> None:
    if np.ptp(x + y) == 0 or np.std(x) == 0 or np.std(y) == 0:
        return
    t = t_test(x, y)
    assert t.ci[0] <= t.estimate <= t.ci[1]
    hl = hodges_lehmann(x, y)
    assert hl.ci[0] <= hl.estimate + 1e-3 and hl.estimate <= hl.ci[1] + 1e-3
