"""Randomization from the stored sealed list, under a lock; emergency unblinding."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    action,
    aware,
    participant_for,
)
from celltrial.edc.actions._rules import enforce
from celltrial.edc.models import (
    AllocationSlot,
    Participant,
    Randomization,
    Role,
    Site,
    Staff,
    Unblinding,
    VisitRecord,
)
from celltrial.protocol import Calendar, CalendarError, Protocol, calendar
from celltrial.protocol.calendar import ScheduledVisit

P = Participant.Status


def stratum_for(staff: Staff, p: Participant) -> str:
    """The participant's stratum label from their screening values (``all`` when unstratified)."""
    from celltrial.allocation import AllocationError, Factor, stratum_of

    if AllocationSlot.objects.filter(trial_id=staff.trial_id, stratum="all").exists():
        return "all"
    protocol = staff.trial.active_protocol().protocol
    factors = [Factor(s.factor, tuple(s.levels)) for s in protocol.design.allocation.strata]
    values = {k: str(v) for k, v in p.screening.values.items()}
    try:
        return stratum_of(values, factors, participant=p.code)
    except AllocationError as exc:
        raise ActionError("stratum", str(exc)) from None


@action("randomize_participant", [Role.INVESTIGATOR, Role.COORDINATOR])
def randomize_participant(
    actor: Staff, participant: Participant | str, *, at: dt.datetime | None = None
) -> Randomization:
    """Give an enrolled participant the next unused row of their site × stratum.

    The site row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the IMMEDIATE
    transaction already serialises writers), so two requests never take the same row and none
    is skipped. The participant's visits are generated from the schedule.
    """
    p = participant_for(actor, participant, lock=True)
    if Randomization.objects.filter(participant=p).exists():
        raise Conflict("participant", f"{p.code} is randomized already")
    if p.status != P.ENROLLED:
        raise Conflict("participant", f"{p.code} is {p.status}; enroll before randomizing")
    when = aware(at, "at", default_now=True)
    enforce(p, Occurrence("randomization", when, "the randomization"), "at")
    stratum = stratum_for(actor, p)
    protocol = actor.trial.active_protocol().protocol
    # Every arm's calendar is checked before the list is looked at, so a refusal (a dose per kg
    # without a weight) is the same whichever arm is next and uses no slot: it tells nothing of
    # the next allocation (issue 16, item 2).
    try:
        calendar(protocol, when, weight_kg=p.weight_kg)
    except CalendarError as exc:
        field = str(exc).split(":")[0]
        if field == "weight":
            raise ActionError(
                "weight",
                "a dose in this protocol is given per kg; record the participant's weight "
                "(kg) before randomizing",
            ) from None
        raise ActionError(field or "at", str(exc)) from None
    if connection.features.has_select_for_update:
        Site.objects.select_for_update().get(pk=p.site_id)
    slot = (
        AllocationSlot.objects.filter(
            trial_id=actor.trial_id, site_code=p.site.code, stratum=stratum, taken_by__isnull=True
        )
        .order_by("sequence")
        .first()
    )
    if slot is None:
        if not AllocationSlot.objects.filter(trial_id=actor.trial_id).exists():
            raise Conflict("list", "no allocation list is loaded for this trial")
        raise Conflict("list", f"the list is exhausted for site {p.site.code}, stratum {stratum!r}")
    cal = calendar(protocol, when, weight_kg=p.weight_kg, arms=[slot.arm])  # checked above
    r = place_on_calendar(p, slot, stratum, when, cal)
    new = {
        "stratum": stratum,
        "sequence": slot.sequence,
        "kit_code": slot.kit_code,
        "randomized_at": when,
        "participant": p.code,
    }
    audit.write(actor, "randomize_participant", r, old=None, new=audit.snapshot(r) | new)
    return r


@action("unblind", [Role.INVESTIGATOR])
def unblind(actor: Staff, participant: Participant | str, reason: str) -> Unblinding:
    """Emergency unblinding of one participant for the investigator who asks, with a reason.

    The ledger row holds no arm; the caller reads it from the returned row's
    ``participant.randomization.slot.arm`` (the API shows it to the requester only).
    """
    from celltrial.allocation import AllocationError, UnblindingKey
    from celltrial.allocation import unblind as unblind_key

    p = participant_for(actor, participant, lock=True)
    r = Randomization.objects.select_related("slot").filter(participant=p).first()
    if r is None:
        raise Conflict("participant", f"{p.code} is not randomized")
    key = UnblindingKey(actor.trial.code, {r.kit_code: r.slot.arm})
    try:
        done = unblind_key(
            key, participant=p.code, kit_code=r.kit_code, requested_by=actor.username, reason=reason
        )
    except AllocationError as exc:
        raise ActionError(str(exc).split(":")[0], str(exc)) from None
    row = Unblinding.objects.create(
        participant=p, staff=actor, reason=done.record.reason, at=done.record.at
    )
    audit.write(actor, "unblind", row, old=None, new=audit.snapshot(row))
    return row


def place_on_calendar(
    p: Participant, slot: AllocationSlot, stratum: str, when: dt.datetime, cal: Calendar
) -> Randomization:
    """Give ``p`` the arm of ``slot`` at ``when``: the allocation row, the randomized status
    and the visits of its calendar ``cal``. Shared by randomization and by assignment without
    randomization (the caller writes the audit row, in the same transaction)."""
    r = Randomization.objects.create(
        participant=p,
        slot=slot,
        stratum=stratum,
        sequence=slot.sequence,
        kit_code=slot.kit_code,
        randomized_at=when,
    )
    before = p.status
    p.status = P.RANDOMIZED
    p.save(update_fields=["status"])
    audit.write_status(None, p, before)  # the action's actor (the caller's transaction)
    protocol = p.trial.active_protocol().protocol
    VisitRecord.objects.bulk_create(
        VisitRecord(
            participant=p, visit=v.visit, label=v.label, **_window(protocol, cal, v, given=False)
        )
        for v in cal.visits
    )
    audit.write_visit_schedule(None, p)  # the generated visits, bound for ``audit verify``
    return r


def _window(
    protocol: Protocol, cal: Calendar, v: ScheduledVisit, *, given: bool
) -> dict[str, dt.datetime]:
    """A visit's nominal time and window. A visit the schedule anchors on the first
    administration, while that is not given yet (``given`` False), stays open until the first
    administration's window has closed: it is placed from the planned first administration,
    and its window is widened by the hours the first administration may still take (issue 15:
    Day 0 is not overdue the moment a participant is randomized)."""
    out = {"nominal": v.nominal, "earliest": v.earliest, "latest": v.latest}
    spec = next(x for x in protocol.schedule.visits if x.id == v.visit)
    if given or protocol.schedule.anchor_of(spec) == "randomization" or not cal.administrations:
        return out
    slack = max(a.latest for a in cal.administrations if a.number == 1) - cal.first_administration
    if slack > dt.timedelta(0):
        out["latest"] = v.latest + slack
    return out


def reanchor_visits(actor: Staff, p: Participant, first_given: dt.datetime | None) -> None:
    """Place ``p``'s visits that the schedule anchors on the first administration from
    ``first_given`` (the first infusion's start; None when there is none, e.g. it was marked
    entered in error): their nominal time and window move, and a visit already done is
    re-judged in or out of its window (an audit row each). Called when the first infusion is recorded or corrected.
    """
    r = Randomization.objects.select_related("slot").filter(participant=p).first()
    if r is None:
        return
    protocol = p.trial.active_protocol().protocol
    try:
        cal = calendar(
            protocol,
            r.randomized_at,
            weight_kg=p.weight_kg,
            arms=[r.slot.arm],
            first_given=first_given,
        )
    except CalendarError:
        cal = calendar(protocol, r.randomized_at, arms=[r.slot.arm], first_given=first_given)
    planned = {v.visit: v for v in cal.visits}
    moved = False
    for row in VisitRecord.objects.filter(participant=p):
        v = planned.get(row.visit)
        if v is None:
            continue
        w = _window(protocol, cal, v, given=first_given is not None)
        if (row.nominal, row.earliest, row.latest) == (w["nominal"], w["earliest"], w["latest"]):
            continue
        old = audit.snapshot(row)
        row.nominal, row.earliest, row.latest = w["nominal"], w["earliest"], w["latest"]
        if row.done_at is not None:
            row.in_window = row.earliest <= row.done_at <= row.latest
        row.save(update_fields=["nominal", "earliest", "latest", "in_window"])
        audit.write(actor, "reanchor_visit", row, old=old, new=audit.snapshot(row))
        moved = True
    if moved:
        audit.write_visit_schedule(actor, p)  # the moved schedule, bound for `audit verify`
