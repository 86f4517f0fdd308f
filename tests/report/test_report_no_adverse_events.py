"""Issue 15: a trial with no adverse event at all (or none inside a safety window) is analysed
and both reports render, with zero AE counts (the analysis raised ``KeyError: 'USUBJID'`` when
no AE fell in a window that names its events: an empty selection of rows became a selection of
no columns)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from celltrial.analysis import TrialAnalysis, analyze
from celltrial.analysis.core import problems_of
from celltrial.analysis.endpoints import window_events
from celltrial.analysis.results import POOLED, SafetyCountResult
from celltrial.analysis.trial import Trial
from celltrial.dataset import errors, make_dataset, read_dataset
from celltrial.protocol import load_protocol
from celltrial.report.html import render_html

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"


def _without_aes(keep: str) -> object:
    """lanzoni_small with no AE row (``keep="none"``), with no AE table at all
    (``"absent"``), or with only the AEs that started before any infusion (``"outside"``:
    rows, but none in a safety window)."""
    small = read_dataset(SMALL)
    tables = {k: v.copy() for k, v in small.tables.items()}
    if keep == "absent":
        del tables["AE"]
    elif keep == "none":
        tables["AE"] = tables["AE"].iloc[0:0]
    else:
        first = pd.to_datetime(tables["DM"].set_index("USUBJID")["RFSTDTC"], utc=True)
        onset = pd.to_datetime(tables["AE"]["AESTDTC"], utc=True)
        before = onset < tables["AE"]["USUBJID"].map(first)
        tables["AE"] = tables["AE"][before.to_numpy()]
    return make_dataset(tables)


@pytest.mark.parametrize("keep", ["none", "outside"])
def test_a_trial_without_adverse_events_analyses_with_zero_counts(
    keep: str, analysis: TrialAnalysis
) -> None:
    protocol = load_protocol("lanzoni2021")
    ds = _without_aes(keep)
    assert errors(problems_of(ds, protocol)) == []  # type: ignore[arg-type]
    result = analyze(ds, protocol)  # type: ignore[arg-type]
    s = result.safety
    for arm in (*s.arms, s.pooled):
        assert (arm.ae_events, arm.any_ae, arm.grade3, arm.any_sae) == (0, 0, 0, 0)
    assert s.terms == ()
    # Deaths stay counted: the deaths of the full analysis, not AEs, are what is left.
    assert s.pooled.deaths == analysis.safety.pooled.deaths
    windows = {w: counts for w, _, counts in s.windows}
    assert all(n == 0 for _, n, _ in windows["infusion_associated"])
    # The primary safety endpoint counts the deaths in the 24 h window only (no AE).
    ep = result.endpoint("infusion_safety")
    assert isinstance(ep, SafetyCountResult)
    deaths = [w for w in ep.windows if w.window == "cardiac_arrest_death" and w.arm == POOLED]
    full = analysis.endpoint("infusion_safety")
    assert isinstance(full, SafetyCountResult)
    assert ep.pooled.events == deaths[0].participants <= full.pooled.events
    assert [w.events for w in ep.windows if w.window == "infusion_associated"] == [0, 0, 0]
    if keep == "none":  # both reports render (once: rendering is the slow part)
        for closed in (True, False):
            page = render_html(result, closed=closed)
            assert 'id="data-problems"' not in page and "Safety" in page


def test_window_events_of_no_adverse_event_has_its_columns():
    protocol = load_protocol("lanzoni2021")
    trial = Trial.derive(_without_aes("none"), protocol)  # type: ignore[arg-type]
    ev = window_events(trial, ["infusion_associated"])
    assert list(ev.columns) == ["USUBJID", "WINDOW", "WHAT", "HOURS"] and ev.empty
