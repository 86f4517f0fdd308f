"""Failed attempts per person within a time window (the web log-in, the e-signature).

The times of failures are kept in Django's cache (files shared by the server's worker
processes, ``settings.CACHES``); after :attr:`Throttle.limit` of them within
:attr:`Throttle.seconds`, further attempts are refused until the oldest is that old.
"""

from __future__ import annotations

import dataclasses
import math
import time

from django.core.cache import cache


def clock() -> float:
    """Now, in epoch seconds (replaced in tests)."""
    return time.time()


@dataclasses.dataclass(frozen=True)
class Throttle:
    """Failures of one kind (``name``), counted per person (``who``: any stable text)."""

    name: str
    limit: int = 5
    seconds: int = 15 * 60

    def _key(self, who: str) -> str:
        return f"edc-{self.name}-failures:{who}"

    def recent(self, who: str) -> list[float]:
        """Times of ``who``'s failures within the window, oldest first."""
        cutoff = clock() - self.seconds
        return [t for t in cache.get(self._key(who), []) if t > cutoff]

    def paused(self, failures: list[float]) -> bool:
        return len(failures) >= self.limit

    def wait_minutes(self, failures: list[float]) -> int:
        """Whole minutes until the oldest of ``failures`` leaves the window (at least 1)."""
        return max(1, math.ceil((min(failures) + self.seconds - clock()) / 60))

    def fail(self, who: str, failures: list[float]) -> int:
        """Count one more failure (``failures``: :meth:`recent`); return the attempts left."""
        failures.append(clock())
        cache.set(self._key(who), failures, self.seconds)
        return self.limit - len(failures)

    def clear(self, who: str) -> None:
        """A success: the count starts again."""
        cache.delete(self._key(who))
