"""Assignment without randomization (a non-randomized protocol): the arm is given openly.

Meng 2020 assigned participants in parallel, not randomized and open label. The protocol's
``design.allocation.method`` says how: ``investigator`` (the investigator names the arm) or
``enrolment_order`` (arms in turn by order of enrolment, following the ratio). There is no
sealed list: each assignment makes its own allocation row (commitment ``assigned``), so the
rest of the EDC (visits, export, the dataset's ARMCD) reads the arm as for a randomized
participant. The action is audited as ``assign_participant`` and follows the role rules of
``randomize_participant`` (investigator or coordinator, at their sites).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Max

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit
from celltrial.edc.actions._base import ActionError, Conflict, action, aware, participant_for
from celltrial.edc.actions._rules import enforce
from celltrial.edc.actions.randomization import place_on_calendar
from celltrial.edc.models import (
    AllocationSlot,
    Participant,
    Randomization,
    Role,
    Staff,
)
from celltrial.protocol import CalendarError, Protocol, calendar

P = Participant.Status
#: The commitment of an allocation row made by an assignment (no sealed list).
ASSIGNED = "assigned"


def _next_in_turn(staff: Staff, protocol: Protocol) -> str:
    """The arm of the next participant by order of enrolment: the ratio's cycle, in arm order."""
    ratio = protocol.ratio() or {a.id: 1 for a in protocol.arms}
    cycle = [arm for arm, k in ratio.items() for _ in range(int(k))]
    done = AllocationSlot.objects.filter(trial_id=staff.trial_id, commitment=ASSIGNED).count()
    return cycle[done % len(cycle)]


def _arm_for(staff: Staff, protocol: Protocol, arm: str | None) -> str:
    """The arm to give: the investigator's choice, or the next by enrolment order."""
    method = protocol.design.allocation.method
    if protocol.design.assignment == "randomized" or method not in (
        "investigator",
        "enrolment_order",
    ):
        raise Conflict(
            "participant",
            f"design.allocation.method is {method!r}: this trial's arms are not assigned "
            "openly; use randomize_participant",
        )
    arms = [a.id for a in protocol.arms]
    if method == "enrolment_order":
        if arm is not None:
            raise ActionError("arm", "arms go by order of enrolment in this trial; give no arm")
        return _next_in_turn(staff, protocol)
    if arm is None:
        raise ActionError("arm", f"the investigator assigns the arm: give one of {', '.join(arms)}")
    if arm not in arms:
        raise ActionError("arm", f"{arm!r} is not an arm of the protocol ({', '.join(arms)})")
    return arm


@action("assign_participant", [Role.INVESTIGATOR, Role.COORDINATOR])
def assign_participant(
    actor: Staff,
    participant: Participant | str,
    *,
    arm: str | None = None,
    at: dt.datetime | None = None,
) -> Randomization:
    """Assign an enrolled participant of a non-randomized trial to an arm (no list).

    ``arm``: required when the protocol's method is ``investigator``; not given for
    ``enrolment_order`` (the next arm in turn). The participant's visits are generated from
    the schedule, as at randomization.
    """
    p = participant_for(actor, participant, lock=True)
    if Randomization.objects.filter(participant=p).exists():
        raise Conflict("participant", f"{p.code} has an arm already")
    if p.status != P.ENROLLED:
        raise Conflict("participant", f"{p.code} is {p.status}; enroll before assigning an arm")
    protocol = actor.trial.active_protocol().protocol
    chosen = _arm_for(actor, protocol, arm)
    when = aware(at, "at", default_now=True)
    enforce(p, Occurrence("randomization", when, "the assignment"), "at")
    try:
        cal = calendar(protocol, when, weight_kg=p.weight_kg, arms=[chosen])
    except CalendarError as exc:
        field = str(exc).split(":")[0]
        raise ActionError(field or "at", str(exc)) from None
    top = AllocationSlot.objects.filter(trial_id=actor.trial_id).aggregate(m=Max("sequence"))
    sequence = int(top["m"] or 0) + 1
    slot = AllocationSlot.objects.create(
        trial_id=actor.trial_id,
        sequence=sequence,
        site_code=p.site.code,
        stratum="all",
        kit_code=f"A{sequence:05d}",
        arm=chosen,
        commitment=ASSIGNED,
    )
    r = place_on_calendar(p, slot, "all", when, cal)
    new = {
        "arm": chosen,
        "method": protocol.design.allocation.method,
        "sequence": sequence,
        "assigned_at": when,
        "participant": p.code,
    }
    audit.write(actor, "assign_participant", r, old=None, new=audit.snapshot(r) | new)
    return r
