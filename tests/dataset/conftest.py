"""Fixtures: the Lanzoni protocol and the hand-built dataset in data/lanzoni_small/."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from celltrial.dataset import Dataset, read_dataset
from celltrial.protocol import Protocol, load_protocol

SMALL = Path(__file__).parent / "data" / "lanzoni_small"


@pytest.fixture(scope="session")
def lanzoni() -> Protocol:
    return load_protocol("lanzoni2021")


@pytest.fixture(scope="session")
def small() -> Dataset:
    return read_dataset(SMALL)


@pytest.fixture
def raw() -> dict[str, pd.DataFrame]:
    """The hand-built tables as text, to be spoiled by a test and checked again."""
    return {
        p.stem.upper(): pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in sorted(SMALL.glob("*.csv"))
    }
