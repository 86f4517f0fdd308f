"""Fixtures of the web tests: the EDC test trial (tests/edc) with a password per person."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "edc"))

from edc_helpers import TrialSetup, make_trial

PASSWORD = "correct horse battery staple"


def with_passwords(t: TrialSetup) -> TrialSetup:
    for s in t.staff.values():
        s.user.set_password(PASSWORD)
        s.user.save()
    return t


@pytest.fixture(autouse=True)
def _clear_cache() -> Any:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web_trial(db: Any) -> TrialSetup:
    return with_passwords(make_trial())
