"""The rehearsal's one timeline: simulated events of all participants, in time order."""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from datetime import datetime

from celltrial.simulate import TrialEvent
from celltrial.simulate.virtual import EVENT_ORDER


class Timeline:
    """Events waiting to be entered, earliest first.

    Ties in time are broken by the simulator's order of kinds (consent before screening …),
    then by the order they were added. ``simulated`` counts every event added, by kind.
    """

    def __init__(self, simulated: Counter[str]) -> None:
        self.simulated = simulated
        self._queue: list[tuple[datetime, int, int, TrialEvent]] = []
        self._added = itertools.count()

    def add(self, event: TrialEvent) -> None:
        self.simulated[event.kind] += 1
        heapq.heappush(self._queue, (event.time, EVENT_ORDER[event.kind], next(self._added), event))

    def next(self) -> TrialEvent:
        """The earliest event, taken off the timeline."""
        return heapq.heappop(self._queue)[3]

    def __len__(self) -> int:
        return len(self._queue)
