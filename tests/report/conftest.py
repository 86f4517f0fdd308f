"""Fixtures: the analysis of the hand-built Lanzoni-like dataset, and its two reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from celltrial.analysis import TrialAnalysis, analyze
from celltrial.dataset import read_dataset
from celltrial.protocol import load_protocol
from celltrial.report import render_html

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"
SCREENSHOTS = Path(__file__).parent / "screenshots"

# hand.py (the hand-written arrays) lives in tests/analysis
_ANALYSIS = str(Path(__file__).resolve().parents[1] / "analysis")
if _ANALYSIS not in sys.path:
    sys.path.insert(0, _ANALYSIS)


@pytest.fixture(scope="session")
def analysis() -> TrialAnalysis:
    return analyze(read_dataset(SMALL), load_protocol("lanzoni2021"))


@pytest.fixture(scope="session")
def closed_html(analysis: TrialAnalysis) -> str:
    return render_html(analysis, closed=True)


@pytest.fixture(scope="session")
def blinded_html(analysis: TrialAnalysis) -> str:
    return render_html(analysis, closed=False)
