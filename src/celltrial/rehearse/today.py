"""A trial in progress: where a rehearsal stops, so that today's work is waiting.

A rehearsal run "until today" (``run_through_edc(..., today=...)``) plans every simulated
event first (:meth:`celltrial.rehearse.steps.Site.plan`), picks the moment of the trial that
becomes *today* (:func:`choose_stop`), moves every event by the same amount so that that
moment is today's hour (:func:`shift_event`, :func:`shift_candidate`), and enters only what
happened by then. What comes later stays on the timeline, counted as still to come.

The moment is chosen, not drawn: the latest point of the simulated trial at which every role
has work when they log in — an SAE whose 24 h report is not filed yet (its clock running),
a participant in follow-up with a visit due within the week, and one with an infusion to
prepare within the week. Every event entered is the simulator's; nothing is staged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from celltrial.simulate import Candidate, TrialEvent

#: The site learns of an adverse event this long after its onset (``aware_at``).
AWARE_AFTER = timedelta(hours=1)
#: The investigator files the SAE report this long after becoming aware (within the 24 h).
SAE_REPORT_AFTER = timedelta(hours=6)
#: How far into an SAE's reporting time today falls (awareness + 2 h: 4 h before the report).
INTO_THE_CLOCK = timedelta(hours=2)
#: "This week": how far ahead a visit or an infusion counts as due.
WEEK = timedelta(days=7)
#: Kinds that end a participant's follow-up.
ENDS = ("death", "withdrawal", "completion")


@dataclasses.dataclass(frozen=True)
class Stop:
    """Where a rehearsal stops (in the simulator's own time) and why there."""

    at: datetime
    why: str


def this_hour(today: datetime) -> datetime:
    """``today`` (time-zone aware) as UTC, to the hour below: the simulator's times are hours."""
    if today.tzinfo is None or today.utcoffset() is None:
        raise ValueError("today: give a time-zone-aware time (e.g. 2026-03-02T09:00Z)")
    return today.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _is_sae(e: TrialEvent) -> bool:
    return e.kind == "adverse_event" and e.data.get("AESER") == "Y"


def _has_work(
    at: datetime,
    randomized: Mapping[str, datetime],
    planned: Mapping[str, Sequence[TrialEvent]],
) -> bool:
    """Whether, at ``at``, a followed participant has a visit and one an infusion due within
    :data:`WEEK` (events after ``at`` that are the simulator's: a visit done, an infusion)."""
    visit = infusion = False
    for sid, events in planned.items():
        if randomized[sid] > at:
            continue
        end = min((e.time for e in events if e.kind in ENDS), default=None)
        if end is not None and end <= at:
            continue
        for e in events:
            if at < e.time <= at + WEEK:
                visit |= e.kind == "measurement" and not e.data.get("missed")
                infusion |= e.kind == "infusion"
    return visit and infusion


def choose_stop(
    candidates: Sequence[Candidate], planned: Mapping[str, Sequence[TrialEvent]]
) -> Stop:
    """The latest moment at which every role has work (see the module's text).

    ``planned`` holds the events after randomization of each randomized candidate, by
    screening id. Tried at each SAE's awareness plus :data:`INTO_THE_CLOCK`, latest first;
    when none gives work to all, the last randomization plus two hours (the pharmacist and
    the coordinator still have work; no SAE clock runs).
    """
    randomized = {c.screening_id: c.randomize_at for c in candidates if c.screening_id in planned}
    if not randomized:
        raise ValueError("candidates: nobody is randomized; there is no trial in progress")
    tries = sorted(
        (
            e.time + AWARE_AFTER + INTO_THE_CLOCK
            for events in planned.values()
            for e in events
            if _is_sae(e)
        ),
        reverse=True,
    )
    for at in tries:
        if _has_work(at, randomized, planned):
            return Stop(at, "an SAE report is due, a visit and an infusion are due this week")
    last = max(randomized.values()) + timedelta(hours=2)
    return Stop(last, "two hours after the last randomization (no SAE clock could run)")


def shift_candidate(c: Candidate, by: timedelta) -> Candidate:
    """``c`` with its consent, screening and randomization times moved by ``by``."""
    return dataclasses.replace(
        c,
        consent_at=c.consent_at + by,
        screened_at=c.screened_at + by,
        randomize_at=c.randomize_at + by,
    )


def shift_event(e: TrialEvent, by: timedelta) -> TrialEvent:
    """``e`` moved by ``by``, the SDTM dates in its data (``AESTDTC`` …) with it."""
    data = {
        k: _shift_dtc(v, by) if k.endswith("DTC") and isinstance(v, str) and v else v
        for k, v in e.data.items()
    }
    return dataclasses.replace(e, time=e.time + by, data=data)


def _shift_dtc(text: str, by: timedelta) -> str:
    moved = datetime.fromisoformat(text.replace("Z", "+00:00")) + by
    return moved.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def dtc_time(text: str) -> datetime:
    """An SDTM date-time of the simulator (``2020-05-01T09:00Z``) as a datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
