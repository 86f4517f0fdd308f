"""What a rehearsal did: every simulated event entered, or not entered with its reason."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime


@dataclasses.dataclass(frozen=True)
class NotEntered:
    """A simulated event that is not in the EDC, and why."""

    kind: str
    time: datetime
    who: str
    reason: str


@dataclasses.dataclass
class EdcRunSummary:
    """What :func:`celltrial.rehearse.run_through_edc` did.

    Every simulated event (``simulated``, by kind) is either entered (``entered``), in
    ``not_entered`` with its reason, or, in a trial in progress, still to come (``future``:
    after ``today``). ``fixes`` counts refusals resolved as a site would; ``actions`` counts
    the successful EDC action calls by name. In a trial in progress ``today`` is the moment
    the rehearsal stopped (``stop_why`` says why there), ``sae_clocks`` the SAE reports not
    filed yet and ``queries`` the queries the monitor opened today.
    """

    simulated: Counter[str] = dataclasses.field(default_factory=Counter)
    entered: Counter[str] = dataclasses.field(default_factory=Counter)
    not_entered: list[NotEntered] = dataclasses.field(default_factory=list)
    future: Counter[str] = dataclasses.field(default_factory=Counter)
    today: datetime | None = None
    stop_why: str = ""
    sae_clocks: int = 0
    queries: int = 0
    fixes: Counter[str] = dataclasses.field(default_factory=Counter)
    actions: Counter[str] = dataclasses.field(default_factory=Counter)
    arms: dict[str, str] = dataclasses.field(default_factory=dict)
    values_entered: int = 0

    @property
    def screened(self) -> int:
        return self.entered["screening"]

    @property
    def randomized(self) -> int:
        return len(self.arms)

    def reasons(self) -> Counter[str]:
        """Events not entered, by kind and reason."""
        return Counter(f"{n.kind}: {n.reason}" for n in self.not_entered)

    def unaccounted(self) -> dict[str, int]:
        """Kinds whose simulated count is not entered + not entered + still to come (should
        be empty)."""
        missing = Counter(n.kind for n in self.not_entered)
        return {
            k: v - self.entered[k] - missing[k] - self.future[k]
            for k, v in self.simulated.items()
            if v != self.entered[k] + missing[k] + self.future[k]
        }


def error_text(exc: Exception) -> str:
    """An EDC refusal as one line: ``field: message; …`` (or the exception's text)."""
    problems = getattr(exc, "problems", None)
    if problems:
        return "; ".join(f"{p.field}: {p.message}" for p in problems)
    return str(exc)
