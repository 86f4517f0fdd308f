"""Leaving the trial: withdrawal, loss to follow-up, death."""

from __future__ import annotations

import datetime as dt

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit
from celltrial.edc.actions._base import ActionError, Conflict, action, aware, now, participant_for
from celltrial.edc.actions._rules import enforce, enforce_milestones
from celltrial.edc.models import Death, Disposition, Participant, Role, Staff
from celltrial.edc.roles import CLINICAL_WRITERS

P = Participant.Status
ACTIVE = (P.SCREENED, P.CONSENTED, P.ENROLLED, P.RANDOMIZED)
WITHDRAWN_BY = ("participant", "investigator", "sponsor", "guardian")
#: Who records a death.
DEATH_WRITERS = frozenset({Role.INVESTIGATOR, Role.COORDINATOR})
#: A disposition in words (the rules' messages).
WORDS: dict[str, str] = {
    Disposition.Kind.COMPLETED: "completion",
    Disposition.Kind.WITHDRAWN: "withdrawal",
    Disposition.Kind.LOST: "loss to follow-up (last contact)",
    Disposition.Kind.DEATH: "death",
}


def _leave(
    actor: Staff,
    p: Participant,
    kind: str,
    status: str,
    at: dt.datetime,
    reason: str,
    by: str,
    name: str,
    field: str = "at",
) -> Disposition:
    if p.status not in ACTIVE and not (
        kind == Disposition.Kind.DEATH and p.status in (P.WITHDRAWN, P.LOST)
    ):
        raise Conflict("participant", f"{p.code} is {p.status}")
    if at > now() + dt.timedelta(minutes=5):
        raise ActionError(field, "the time is in the future")
    # The rules of the dataset (celltrial.dataset.rules): the disposition itself, then every
    # record already entered against the new milestone.
    if kind == Disposition.Kind.DEATH:
        enforce(p, Occurrence("death", at, "the death"), field)
        enforce_milestones(p, field, death=at)
    else:
        enforce(p, Occurrence("disposition", at, f"the {WORDS[kind]}"), field)
        enforce_milestones(p, field, ended=at, ended_as=WORDS[kind])
    d = Disposition.objects.create(participant=p, kind=kind, at=at, reason=reason, by=by)
    old = audit.snapshot(p, ["status"])
    before = p.status
    p.status = status
    p.save(update_fields=["status"])
    audit.write(actor, name, d, old=old, new=audit.snapshot(d) | {"status": status})
    audit.write_status(actor, p, before)
    return d


@action("withdraw", CLINICAL_WRITERS)
def withdraw(
    actor: Staff,
    participant: Participant | str,
    *,
    reason: str,
    by: str = "participant",
    at: dt.datetime | None = None,
) -> Disposition:
    """Withdrawal of consent or by the investigator; data collected so far are kept."""
    p = participant_for(actor, participant, lock=True)
    if not reason or not reason.strip():
        raise ActionError("reason", "say why the participant withdraws")
    if by not in WITHDRAWN_BY:
        raise ActionError("by", f"one of {', '.join(WITHDRAWN_BY)}")
    return _leave(
        actor,
        p,
        Disposition.Kind.WITHDRAWN,
        P.WITHDRAWN,
        aware(at, "at", default_now=True),
        reason.strip(),
        by,
        "withdraw",
    )


@action("mark_lost_to_follow_up", CLINICAL_WRITERS)
def mark_lost_to_follow_up(
    actor: Staff, participant: Participant | str, *, last_contact: dt.datetime, reason: str = ""
) -> Disposition:
    """Lost to follow-up, with the time of last contact."""
    p = participant_for(actor, participant, lock=True)
    return _leave(
        actor,
        p,
        Disposition.Kind.LOST,
        P.LOST,
        aware(last_contact, "last_contact"),
        reason.strip(),
        "",
        "mark_lost_to_follow_up",
        "last_contact",
    )


@action("record_death", DEATH_WRITERS)
def record_death(
    actor: Staff, participant: Participant | str, *, died_at: dt.datetime, cause: str
) -> Death:
    """Death: time and cause (an AE of grade 5 is reported separately)."""
    p = participant_for(actor, participant, lock=True)
    if not cause or not cause.strip():
        raise ActionError("cause", "the cause of death is required (write 'unknown' if it is)")
    when = aware(died_at, "died_at")
    _leave(
        actor, p, Disposition.Kind.DEATH, P.DEAD, when, cause.strip(), "", "record_death", "died_at"
    )
    # A death entered in error earlier keeps its row (one per participant, with its audit
    # rows): the death recorded now is written into it, the former values in the audit row.
    death = Death.objects.filter(participant=p).first()
    if death is None:
        death = Death.objects.create(participant=p, died_at=when, cause=cause.strip())
        audit.write(actor, "record_death", death, old=None, new=audit.snapshot(death))
        return death
    old = audit.snapshot(death)
    death.died_at, death.cause, death.complete = when, cause.strip(), True
    death.save(update_fields=["died_at", "cause", "complete"])
    audit.write(actor, "record_death", death, old=old, new=audit.snapshot(death))
    return death
