"""The HTML report of the hand-built dataset: each endpoint's numbers (computed here with
celltrial.stats on the hand-written arrays), the blinded variant free of any arm, and the
file self-contained."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hand import CHANGE, TTE, arrays

from celltrial.analysis import TrialAnalysis
from celltrial.stats import (
    cox_ph,
    fisher_exact,
    hodges_lehmann,
    kaplan_meier,
    logrank,
    wilcoxon_rank_sum,
    wilcoxon_signed_rank,
)

ARM_WORDS = ("ucmsc", "control", "UC-MSC", "Control (vehicle)")


def _p(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


@pytest.mark.parametrize("ep", sorted(TTE))
def test_closed_report_has_survival_numbers(closed_html: str, ep: str) -> None:
    t, e, g = arrays(TTE[ep])
    lr = logrank(t, e, g)
    assert f"χ² = {lr.statistic:.4f}, df = 1, p = {_p(lr.p_value)}" in closed_html
    for arm, sel in (("ucmsc", g == 1), ("control", g == 0)):
        s = float(kaplan_meier(t[sel], e[sel]).survival_at(31.0))
        assert f'<td class="num">{s:.3g} (' in closed_html, (ep, arm)
    if ep != "survival_d31":
        fit = cox_ph(g, t, e)
        lo, hi = fit.ci[0]
        assert (
            f"hazard ratio (UC-MSC vs Control (vehicle)): {fit.hazard_ratio[0]:.3g} "
            f"(95% CI {lo:.3g} to {hi:.3g})" in closed_html.replace("&#39;", "'")
        )


@pytest.mark.parametrize("ep", sorted(CHANGE))
def test_closed_report_has_change_numbers(closed_html: str, ep: str) -> None:
    x, y = np.array(CHANGE[ep]["ucmsc"], float), np.array(CHANGE[ep]["control"], float)
    # the protocol lists the within-arm signed-rank test of the change: in the endpoint's table
    for v in (x, y):
        sr, pm = wilcoxon_signed_rank(v), hodges_lehmann(v)
        cell = f"{pm.estimate:.3g} ({pm.ci[0]:.3g} to {pm.ci[1]:.3g}); p = {_p(sr.p_value)}"
        assert cell in closed_html
    # the between-arm rank-sum test and shift of the change are not listed: exploratory section
    explo = closed_html.split("Exploratory analyses (not pre-specified)</h2>", 1)[1]
    explo = explo.split("Listings</h2>", 1)[0]
    w = wilcoxon_rank_sum(x, y)
    assert f"W = {w.statistic:g}, p = {_p(w.p_value)}" in explo
    h = hodges_lehmann(x, y)
    assert f"{h.estimate:.3g} (95% CI {h.ci[0]:.3g} to {h.ci[1]:.3g})" in explo
    assert f"{np.median(x):.3g} (" in closed_html


def test_exploratory_only_in_its_section(closed_html: str, analysis: TrialAnalysis) -> None:
    """Nothing the protocol does not list appears before the exploratory section."""
    before = closed_html.split("Exploratory analyses (not pre-specified)</h2>", 1)[0]
    for e in analysis.endpoints:
        for f in e.effects:
            if not f.prespecified:
                text = f"{f.estimate:.3g} (95% CI {f.ci[0]:.3g} to {f.ci[1]:.3g})"
                assert text not in before, (e.endpoint, f.measure)
    assert "Adverse events by relatedness to the study treatment" in before


def test_closed_report_has_safety_numbers(closed_html: str) -> None:
    assert f"p = {_p(fisher_exact([[2, 7], [1, 5]]).p_value)}" in closed_html
    assert "2/9 (22%)" in closed_html and "1/6 (17%)" in closed_html


def test_closed_report_sections(closed_html: str, analysis: TrialAnalysis) -> None:
    assert "CLOSED REPORT — DSMB ONLY" in closed_html
    for section in (
        "Participant flow (CONSORT 2025)",
        "Baseline characteristics",
        "Exposure",
        "Safety",
        "Endpoints",
        "Effects of all endpoints",
        "Listings",
        "Missing data",
    ):
        assert section in closed_html
    for e in analysis.endpoints:
        assert e.label in closed_html.replace("&#39;", "'")
    assert "Assessed for eligibility (n=20)" in closed_html  # CONSORT drawn as SVG text
    assert "Number at risk" in closed_html
    assert closed_html.count("<svg") >= 1 + 3 + 2 + 1  # CONSORT, 3 KM, 2 trajectories, forest
    # every missing participant is listed, with the reason
    assert "not done at day6" in closed_html and "died before day6" in closed_html


def test_self_contained(closed_html: str) -> None:
    assert not re.search(r"""(src|href)=["'](https?:|file:|//)""", closed_html)
    assert "<link" not in closed_html and "<script" not in closed_html


def test_blinded_report_shows_no_arm(blinded_html: str) -> None:
    assert "BLINDED REPORT" in blinded_html
    for word in ARM_WORDS:
        assert not re.search(rf"\b{re.escape(word)}\b", blinded_html), word
    assert "log-rank" not in blinded_html.lower() and "hazard ratio" not in blinded_html
    assert "All participants" in blinded_html
    assert "Assessed for eligibility (n=20)" in blinded_html
    # pooled survival at day 31 (all 16 participants) is shown
    t, e, _ = arrays(TTE["survival_d31"])
    assert f"{float(kaplan_meier(t, e).survival_at(31.0)):.3g} (" in blinded_html
