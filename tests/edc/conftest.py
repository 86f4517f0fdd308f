"""Fixtures of the EDC tests: a trial on the test protocol, one person per role, a sealed list.

The same tests run on SQLite (a file) and, with ``DATABASE_URL=postgresql://…``, on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from edc_helpers import As, TrialSetup, make_trial


@pytest.fixture
def trial(db: Any) -> TrialSetup:
    return make_trial()


@pytest.fixture
def clients(trial: TrialSetup) -> dict[str, As]:
    """An API client per person of the trial (by name: ``clients["coord1"]``)."""
    from celltrial.edc import actions

    return {name: As(actions.token_for(s)) for name, s in trial.staff.items()}
