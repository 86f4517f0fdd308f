"""Every endpoint number of the analysis of the hand-built Lanzoni-like dataset, checked
against celltrial.stats called directly on arrays written out by hand (hand.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hand import CHANGE, INFUSION_SAFETY, MISSING, SAFETY_N, TTE, VALUE_D6, arrays

from celltrial.analysis import (
    POOLED,
    ContinuousResult,
    SafetyCountResult,
    TimeToEventResult,
    TrialAnalysis,
)
from celltrial.stats import (
    NotEstimableWarning,
    cox_ph,
    fisher_exact,
    hodges_lehmann,
    kaplan_meier,
    logrank,
    wilcoxon_rank_sum,
    wilcoxon_signed_rank,
)

EXACT = 1e-12


def _tte(result: TrialAnalysis, ep: str) -> TimeToEventResult:
    r = result.endpoint(ep)
    assert isinstance(r, TimeToEventResult)
    return r


@pytest.mark.parametrize("ep", sorted(TTE))
def test_kaplan_meier_per_arm(result: TrialAnalysis, ep: str) -> None:
    r = _tte(result, ep)
    assert r.n == 16 and r.missing == () and r.population == "itt"
    assert r.horizon == 31
    for arm in r.arms:
        t, e = TTE[ep][arm.arm]
        km = kaplan_meier(np.array(t, dtype=float), np.array(e, dtype=float))
        assert arm.n == 8 and arm.events == sum(e)
        np.testing.assert_allclose(arm.km.estimate, km.estimate, rtol=EXACT)
        assert arm.survival == pytest.approx(float(km.survival_at(31.0)), rel=EXACT)
        assert arm.median == pytest.approx(km.median.estimate, rel=EXACT, nan_ok=True)
        np.testing.assert_allclose(arm.median_ci, km.median.ci, rtol=EXACT)
    assert [a.arm for a in r.arms] == ["ucmsc", "control"]


@pytest.mark.parametrize("ep", sorted(TTE))
def test_logrank_and_cox(result: TrialAnalysis, ep: str) -> None:
    r = _tte(result, ep)
    t, e, g = arrays(TTE[ep])
    lr = logrank(t, e, g)
    assert r.logrank is not None
    assert r.logrank.statistic == pytest.approx(lr.statistic, rel=EXACT)
    assert r.p_value == pytest.approx(lr.p_value, rel=EXACT)
    (hr,) = r.effects
    assert hr.measure == "hazard ratio" and (hr.treatment, hr.reference) == ("ucmsc", "control")
    if ep == "survival_d31":  # no death in the UC-MSC arm: the HR is not estimable
        assert math.isnan(hr.estimate) and hr.note
        assert "not estimable (no events in arm UC-MSC)" in hr.note
        with pytest.warns(NotEstimableWarning):
            fit = cox_ph(g, t, e, ties="efron")
        assert fit.infinite[0]
        assert hr.p_value == pytest.approx(fit.lr_test.p_value, rel=1e-10)
        assert f"p = {fit.lr_test.p_value:.3g}" in hr.note and "score (log-rank) test" in hr.note
        return
    fit = cox_ph(g, t, e, ties="efron")
    assert hr.estimate == pytest.approx(float(fit.hazard_ratio[0]), rel=1e-10)
    np.testing.assert_allclose(hr.ci, fit.ci[0], rtol=1e-10)
    assert hr.p_value == pytest.approx(float(fit.p_value[0]), rel=1e-10)


def test_method_named_as_a_statistician_would(result: TrialAnalysis) -> None:
    m = _tte(result, "survival_d31").method
    assert "Kaplan–Meier" in m and "log-rank test" in m
    assert "Cox proportional hazards, Efron ties" in m
    c = result.endpoint("tnfa_change_d6").method
    assert "Change from baseline" in c
    assert "within each arm: Wilcoxon signed-rank test of the change (paired)" in c
    # the between-arm rank-sum test and shift are not listed for the change: not in its method
    assert "rank-sum" not in c and "Hodges–Lehmann" not in c
    v = result.endpoint("tnfa_d6").method
    assert "Value at Day 6" in v and "Wilcoxon rank-sum test" in v
    assert "Fisher's exact test" in result.endpoint("infusion_safety").method


@pytest.mark.parametrize("ep", sorted(CHANGE))
def test_change_from_baseline(result: TrialAnalysis, ep: str) -> None:
    r = result.endpoint(ep)
    assert isinstance(r, ContinuousResult) and r.change
    x = np.array(CHANGE[ep]["ucmsc"], dtype=float)
    y = np.array(CHANGE[ep]["control"], dtype=float)
    assert r.n == x.size + y.size
    assert {m.usubjid for m in r.missing} == MISSING[ep]
    assert r.n + r.n_missing == 16
    for arm, v in zip(r.arms, (x, y), strict=True):
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        assert (arm.n, arm.median, arm.q1, arm.q3) == (v.size, med, q1, q3)
    # The protocol lists the within-arm signed-rank test of the change (Lanzoni Fig. 3): per
    # arm and pooled, as wilcox.test(change, conf.int = TRUE).
    for arm, v in (("ucmsc", x), ("control", y), (POOLED, np.concatenate([x, y]))):
        (within,) = [w for w in r.within if w.arm == arm]
        sr, pm = wilcoxon_signed_rank(v), hodges_lehmann(v)
        assert (within.test, within.n, within.statistic) == (
            "wilcoxon_signed_rank",
            v.size,
            sr.statistic,
        )
        assert within.p_value == pytest.approx(sr.p_value, rel=EXACT)
        assert within.estimate == pytest.approx(pm.estimate, rel=EXACT)
        np.testing.assert_allclose(within.ci, pm.ci, rtol=EXACT)
    # The rank-sum test and the shift are computed but not pre-specified: exploratory.
    assert r.exploratory == ("wilcoxon_rank_sum", "hodges_lehmann")
    assert math.isnan(r.p_value)
    w = wilcoxon_rank_sum(x, y)
    assert r.wilcoxon is not None
    assert r.wilcoxon.statistic == w.statistic
    assert r.wilcoxon.p_value == pytest.approx(w.p_value, rel=EXACT)
    h = hodges_lehmann(x, y)
    (shift,) = r.effects
    assert not shift.prespecified
    assert shift.estimate == pytest.approx(h.estimate, rel=EXACT)
    np.testing.assert_allclose(shift.ci, h.ci, rtol=EXACT)


@pytest.mark.parametrize("ep", sorted(VALUE_D6))
def test_value_at_day6_between_groups(result: TrialAnalysis, ep: str) -> None:
    """The groups compared at day 6 (Lanzoni Fig. 3): the listed rank-sum test is the
    endpoint's pre-specified test, on the day-6 values read by hand from lb.csv."""
    r = result.endpoint(ep)
    assert isinstance(r, ContinuousResult) and not r.change
    x = np.array(VALUE_D6[ep]["ucmsc"], dtype=float)
    y = np.array(VALUE_D6[ep]["control"], dtype=float)
    assert [a.n for a in r.arms] == [x.size, y.size]
    w = wilcoxon_rank_sum(x, y)
    assert r.exploratory == () and r.wilcoxon is not None
    assert r.wilcoxon.statistic == w.statistic
    assert r.p_value == pytest.approx(w.p_value, rel=EXACT)
    assert r.within == ()
    (shift,) = r.effects
    assert shift.prespecified


def test_missing_reasons_are_reported(result: TrialAnalysis) -> None:
    why = {m.usubjid: m.reason for m in result.endpoint("tnfa_change_d6").missing}
    assert why["L-005"] == "not done at day6"
    assert why["L-008"] == "no baseline value"
    assert why["L-009"] == "measured outside the day6 visit window"
    assert why["L-012"] == "died before day6"
    assert ("tnfa_change_d6", result.endpoint("tnfa_change_d6").missing[0]) in result.missing


def test_infusion_safety(result: TrialAnalysis) -> None:
    r = result.endpoint("infusion_safety")
    assert isinstance(r, SafetyCountResult) and r.population == "safety"
    got = {a.arm: (a.events, a.n) for a in r.arms}
    assert got == {a: (INFUSION_SAFETY[a], SAFETY_N[a]) for a in SAFETY_N}
    table = [[1, 9 - 1], [1, 6 - 1]]
    assert r.fisher is not None
    assert r.p_value == pytest.approx(fisher_exact(table).p_value, rel=EXACT)
    windows = {(w.window, w.arm): (w.participants, w.events) for w in r.windows}
    assert windows[("infusion_associated", "ucmsc")] == (1, 1)  # hypotension; chills not counted
    assert windows[("infusion_associated", "control")] == (0, 0)
    assert windows[("cardiac_arrest_death", "ucmsc")] == (0, 0)
    assert windows[("cardiac_arrest_death", "control")] == (1, 2)  # cardiac arrest + death


def test_pooled_summaries(result: TrialAnalysis) -> None:
    r = _tte(result, "survival_d31")
    t, e, _ = arrays(TTE["survival_d31"])
    km = kaplan_meier(t, e)
    assert r.pooled.n == 16 and r.pooled.events == 5
    assert r.pooled.survival == pytest.approx(float(km.survival_at(31.0)), rel=EXACT)
    c = result.endpoint("il6_change_d6")
    assert isinstance(c, ContinuousResult)
    both = np.array(CHANGE["il6_change_d6"]["ucmsc"] + CHANGE["il6_change_d6"]["control"])
    assert c.pooled.median == np.median(both)


def test_trajectory_medians(result: TrialAnalysis) -> None:
    c = result.endpoint("il6_change_d6")
    assert isinstance(c, ContinuousResult)
    pts = {(p.arm, p.visit): p for p in c.trajectory}
    day0 = pts[("ucmsc", "day0")]
    v = np.array([80, 120, 50, 200, 40, 90, 55, 100], dtype=float)  # lb.csv, day 0, UC-MSC
    assert (day0.n, day0.median, day0.day) == (8, np.median(v), 0.0)
    assert pts[("control", "day6")].n == 6


def test_results_are_frozen_and_serialisable(result: TrialAnalysis) -> None:
    r = result.endpoint("survival_d31")
    with pytest.raises(AttributeError):
        r.n = 3  # type: ignore[misc]
    d = r.to_dict()
    assert d["endpoint"] == "survival_d31" and d["logrank"]["df"] == 1
