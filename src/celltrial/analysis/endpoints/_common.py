"""What every endpoint's analysis shares: a statistic that may not be estimable, and the
fields every result starts with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from celltrial.analysis.results import Missing
from celltrial.protocol import Endpoint


def attempt(notes: list[str], what: str, fn: Callable[[], Any]) -> Any:
    """Run a statistic; a ValueError (not estimable) becomes a note instead of a crash."""
    try:
        return fn()
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
        notes.append(f"{what} not estimable: {exc}")
        return None


def base_fields(ep: Endpoint, method: str, n: int, missing: list[Missing]) -> dict[str, Any]:
    return {
        "endpoint": ep.id,
        "label": ep.label,
        "type": ep.type,
        "primary": ep.primary,
        "population": ep.population,
        "method": method,
        "n": n,
        "missing": tuple(missing),
    }
