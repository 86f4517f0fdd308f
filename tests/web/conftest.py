"""Fixtures of the web tests: the EDC test trial (tests/edc) with a password per person, and
Debian's Chromium (Playwright) for the browser tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edc"))

from edc_helpers import TrialSetup, make_trial
from web_helpers import ARGS, CHROMIUM, SHOTS, with_passwords


@pytest.fixture(autouse=True)
def _clear_cache() -> Any:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web_trial(db: Any) -> TrialSetup:
    return with_passwords(make_trial())


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, launched by Playwright (screenshots go to ``SHOTS``)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
