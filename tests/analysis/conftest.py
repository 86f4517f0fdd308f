"""Fixtures: the Lanzoni protocol, the hand-built dataset and its analysis."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from celltrial.analysis import TrialAnalysis, analyze
from celltrial.dataset import Dataset, read_dataset
from celltrial.protocol import Protocol, load_protocol

SMALL = Path(__file__).parents[1] / "dataset" / "data" / "lanzoni_small"

# the reference-value loader (tests/reference/_load.py) is imported as ``reference``
_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


@pytest.fixture(scope="session")
def lanzoni() -> Protocol:
    return load_protocol("lanzoni2021")


@pytest.fixture(scope="session")
def small() -> Dataset:
    return read_dataset(SMALL)


@pytest.fixture(scope="session")
def result(small: Dataset, lanzoni: Protocol) -> TrialAnalysis:
    return analyze(small, lanzoni)
