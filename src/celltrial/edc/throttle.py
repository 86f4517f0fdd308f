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


@dataclasses.dataclass(frozen=True)
class CountedThrottle(Throttle):
    """A :class:`Throttle` whose attempts are counted in the database *before* they are
    checked (issue 16: 60 parallel log-ins each read "no failures yet" from the cache, checked
    59 wrong passwords and let the right one in).

    :meth:`begin` inserts the attempt (committed at once) and then counts the person's attempts
    within the window; an attempt whose count exceeds :attr:`limit` is refused without checking
    the password. Whatever the interleaving, an attempt's count includes every attempt
    committed before its own, so at most :attr:`limit` attempts per window are checked."""

    def begin(self, who: str) -> list[float]:
        """Count one attempt of ``who``; return the times of their attempts in the window
        (this one included), oldest first. Refuse it when :meth:`paused` says so."""
        from django.db import transaction

        from celltrial.edc.models import Attempt

        t = clock()
        with transaction.atomic():
            Attempt.objects.create(kind=self.name, who=who, at=t)
        cutoff = t - self.seconds
        mine = Attempt.objects.filter(kind=self.name, who=who)
        mine.filter(at__lte=cutoff).delete()
        return sorted(mine.filter(at__gt=cutoff).values_list("at", flat=True))

    def paused(self, failures: list[float]) -> bool:
        return len(failures) > self.limit

    def left(self, failures: list[float]) -> int:
        """Attempts left after this failed one."""
        return self.limit - len(failures)

    def clear(self, who: str) -> None:
        from celltrial.edc.models import Attempt

        Attempt.objects.filter(kind=self.name, who=who).delete()

    def counted(self, who: str) -> list[float]:
        """The times of ``who``'s attempts within the window, none added (oldest first)."""
        from celltrial.edc.models import Attempt

        cutoff = clock() - self.seconds
        mine = Attempt.objects.filter(kind=self.name, who=who, at__gt=cutoff)
        return sorted(mine.values_list("at", flat=True))

    def record(self, who: str) -> None:
        """Count one failed attempt of ``who`` made elsewhere than the log-in form (a wrong
        password when signing or changing the password): it counts toward the lockout."""
        from celltrial.edc.models import Attempt

        Attempt.objects.create(kind=self.name, who=who, at=clock())

    def locked(self, who: str) -> list[float] | None:
        """``who``'s attempts when the lockout is in force (as many as :attr:`limit` within
        the window: the next log-in would be refused), else None."""
        found = self.counted(who)
        return found if len(found) >= self.limit else None


#: Failed log-ins per username allowed within :data:`LOGIN_SECONDS` (the web log-in form; a
#: wrong password given to sign or to change one's password counts too).
LOGIN_FAILURES = 5
LOGIN_SECONDS = 15 * 60
LOGIN = CountedThrottle("login", LOGIN_FAILURES, LOGIN_SECONDS)


def login_key(username: str) -> str:
    """The name a person's log-in attempts are counted under."""
    return username.lower()
