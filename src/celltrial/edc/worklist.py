"""What a role has to do in the coming days: visits due (the coordinator) and infusions to
prepare (the pharmacist).

Read by the home pages (the dashboard's "Due this week", the pharmacy's "Infusions to
prepare") and by ``celltrial demo``, which prints what each role finds when logging in. Both
lists are of participants in follow-up (status randomized) at the user's sites: a participant
who died, withdrew, was lost or completed has nothing due.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from celltrial.edc.models import Participant, Staff, VisitRecord
from celltrial.edc.roles import site_ids
from celltrial.protocol import CalendarError, ScheduledAdministration, calendar

#: "This week": the days ahead a home page looks.
WEEK = dt.timedelta(days=7)


def followed(staff: Staff) -> Any:
    """Participants in follow-up at ``staff``'s sites (a queryset, by code)."""
    qs = Participant.objects.filter(
        trial_id=staff.trial_id, status=Participant.Status.RANDOMIZED
    ).select_related("site", "randomization__slot")
    allowed = site_ids(staff)
    return (qs if allowed is None else qs.filter(site_id__in=allowed)).order_by("code")


def _screening_visits(staff: Staff) -> set[str]:
    protocol = staff.trial.active_protocol().protocol
    return {v.id for v in protocol.schedule.visits if v.kind == "screening"}


def visits_due(staff: Staff, now: dt.datetime, *, ahead: dt.timedelta = WEEK) -> list[VisitRecord]:
    """Visits neither done nor marked not done whose window is open at ``now`` or opens
    within ``ahead`` (a week), of participants in follow-up, earliest window first.

    A visit whose window closed before ``now`` is overdue, not due (the dashboard lists those
    apart).
    """
    screening = _screening_visits(staff)
    rows = (
        VisitRecord.objects.filter(
            participant__in=followed(staff),
            done_at__isnull=True,
            not_done=False,
            latest__gte=now,
            earliest__lte=now + ahead,
        )
        .exclude(visit__in=screening)
        .select_related("participant__site")
        .order_by("earliest", "participant__code")
    )
    return list(rows)


@dataclasses.dataclass(frozen=True)
class DueInfusion:
    """The next administration of a participant in follow-up, not yet given."""

    participant: Participant
    plan: ScheduledAdministration
    now: dt.datetime

    @property
    def open_now(self) -> bool:
        """Whether its window is open at ``now`` (prepare it now)."""
        return self.plan.earliest <= self.now <= self.plan.latest

    @property
    def late(self) -> bool:
        """Whether its window closed before ``now`` with no record."""
        return self.plan.latest < self.now


def infusions_due(
    staff: Staff, now: dt.datetime, *, ahead: dt.timedelta = WEEK
) -> list[DueInfusion]:
    """Each followed participant's next administration not yet recorded, when its window is
    open at ``now`` or opens within ``ahead``; earliest first.

    The plan is the one :func:`celltrial.edc.actions.record_infusion` checks against (the
    protocol's calendar from the randomization time and the weight). An administration whose
    window closed without a record is still listed (given late, it needs a deviation).
    """
    protocol = staff.trial.active_protocol().protocol
    out: list[DueInfusion] = []
    for p in followed(staff).prefetch_related("infusions"):
        r = getattr(p, "randomization", None)
        if r is None:
            continue
        try:
            cal = calendar(protocol, r.randomized_at, weight_kg=p.weight_kg, arms=[r.slot.arm])
        except CalendarError:
            continue  # no weight for a dose per kg: the dose page says so
        given = {i.number for i in p.infusions.all() if not i.entered_in_error}
        nxt = next((a for a in cal.administrations if a.number not in given), None)
        if nxt is not None and nxt.earliest <= now + ahead:
            out.append(DueInfusion(p, nxt, now))
    return sorted(out, key=lambda d: (d.plan.earliest, d.participant.code))
