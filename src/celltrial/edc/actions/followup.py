"""Follow-up: end of study, the protocol's clinical events, protocol deviations, visits not done.

These four forms complete what the trial dataset needs after randomization:

- :func:`complete_study`: the end-of-study disposition COMPLETED (DS ``COMPLETED``), so that a
  participant followed to the end is neither a drop-out nor still "ongoing";
- :func:`record_clinical_event`: one occurrence of a protocol event (recovery, extubation …), a
  CE row, read by the time-to-event endpoints;
- :func:`record_deviation`: the protocol deviation log (DV; a major deviation removes the
  participant from the per-protocol population);
- :func:`record_visit_not_done`: a scheduled visit that did not take place; its measurements
  are exported as ``--STAT = NOT DONE`` with the reason.

Each is an action (role check, one transaction, audit row, idempotency key). Clinical writers
(investigator, coordinator) may call them all; a monitor may also record deviations, since
monitors find most of them at source data verification.
"""

from __future__ import annotations

import datetime as dt

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    NotFound,
    action,
    aware,
    now,
    participant_for,
)
from celltrial.edc.actions._rules import enforce
from celltrial.edc.actions.disposition import _leave
from celltrial.edc.actions.monitoring import check_unlocked
from celltrial.edc.models import (
    ClinicalEvent,
    Deviation,
    Disposition,
    Measurement,
    Participant,
    Randomization,
    Role,
    Staff,
    VisitRecord,
)
from celltrial.edc.roles import CLINICAL_WRITERS

P = Participant.Status
#: Who may record a protocol deviation: the site, and the monitor who finds it.
DEVIATION_WRITERS = CLINICAL_WRITERS | {Role.MONITOR}
#: Events the protocol lists that come from another form, and which form.
FROM_ELSEWHERE = {
    "death": "record a death with record_death (POST /participants/{code}/death), not as a "
    "clinical event: DM.DTHDTC and the DS row come from it",
    "sae": "a serious adverse event is reported with report_adverse_event and its seriousness "
    "criteria (POST /participants/{code}/adverse-events); the event 'sae' is read from it",
}
#: Tolerated clock difference between a client and the server for "not in the future".
SKEW = dt.timedelta(minutes=5)
LEFT: dict[str, str] = {
    Disposition.Kind.COMPLETED: "completed the study",
    Disposition.Kind.WITHDRAWN: "withdrew",
    Disposition.Kind.LOST: "was lost to follow-up (last contact)",
    Disposition.Kind.DEATH: "died",
}


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def _not_future(when: dt.datetime, field: str) -> None:
    if when > now() + SKEW:
        raise ActionError(field, f"{_iso(when)} is in the future")


def _randomized_at(p: Participant, what: str) -> dt.datetime:
    """The participant's randomization time; a Conflict naming ``what`` when not randomized."""
    r: Randomization | None = getattr(p, "randomization", None)
    if r is None:
        raise Conflict(
            "participant", f"{p.code} is {p.status}, not randomized: {what} start at randomization"
        )
    return r.randomized_at


def end_of_follow_up(p: Participant) -> Disposition | None:
    """The first disposition that ended the participant's follow-up (None while active)."""
    return p.dispositions.filter(entered_in_error=False).order_by("at", "id").first()


# The rules of the follow-up forms' fields, shared by the actions below and by
# :func:`~celltrial.edc.actions.edit_record` (an edit is checked as the entry was).


def event_term(term: str, field: str = "term") -> str:
    """A clinical event's reported term (CETERM): stripped, at most 200 characters."""
    reported = (term or "").strip()
    if len(reported) > 200:
        raise ActionError(field, f"at most 200 characters, got {len(reported)}")
    return reported


def event_time(p: Participant, occurred_at: dt.datetime, field: str = "occurred_at") -> dt.datetime:
    """When a clinical event of ``p`` happened, checked: the participant is randomized (else a
    Conflict), the time has a zone, is not in the future, not before randomization, and not
    after the end of follow-up of a participant who has left."""
    randomized_at = _randomized_at(p, "clinical events")
    when = aware(occurred_at, field)
    _not_future(when, field)
    if when < randomized_at:
        raise ActionError(
            field,
            f"{_iso(when)} is before {p.code}'s randomization ({_iso(randomized_at)}); "
            "clinical events are recorded from randomization on",
        )
    if p.status != P.RANDOMIZED:
        end = end_of_follow_up(p)
        if end is not None and when > end.at:
            raise ActionError(
                field,
                f"{p.code} {LEFT.get(end.kind, end.kind)} at {_iso(end.at)}; an event after "
                "that cannot be recorded (events up to then still can)",
            )
    enforce(p, Occurrence("clinical_event", when, "the event"), field)
    return when


def event_twin(p: Participant, code: str, when: dt.datetime, *, exclude: int | None = None) -> None:
    """A Conflict when the same event at the same time is recorded already for ``p`` (other
    than the row ``exclude``, the one being edited)."""
    twins = ClinicalEvent.objects.filter(
        participant=p, event=code, occurred_at=when, entered_in_error=False
    )
    if exclude is not None:
        twins = twins.exclude(pk=exclude)
    twin = twins.first()
    if twin is not None:
        raise Conflict(
            "event", f"{code} at {_iso(when)} is recorded already for {p.code} (id {twin.pk})"
        )


def deviation_description(description: str, field: str = "description") -> str:
    """What deviated from the protocol (DVTERM): required."""
    text = (description or "").strip()
    if not text:
        raise ActionError(field, "say what deviated from the protocol")
    return text


def deviation_time(
    p: Participant, occurred_at: dt.datetime | None, field: str = "occurred_at"
) -> dt.datetime | None:
    """When a deviation happened, if known: with a zone, not in the future, not before the
    participant's consent or screening."""
    if occurred_at is None:
        return None
    when = aware(occurred_at, field)
    _not_future(when, field)
    first = _first_contact(p)
    if first is not None and when < first:
        raise ActionError(
            field, f"{_iso(when)} is before {p.code}'s consent or screening ({_iso(first)})"
        )
    enforce(p, Occurrence("deviation", when, "the deviation"), field)
    return when


@action("complete_study", CLINICAL_WRITERS)
def complete_study(
    actor: Staff, participant: Participant | str, *, at: dt.datetime | None = None
) -> Disposition:
    """End of study: the randomized participant completed the follow-up (DS ``COMPLETED``).

    Parameters
    ----------
    actor : Staff
        An investigator or coordinator of the participant's site.
    participant : Participant or str
        A randomized participant still in follow-up.
    at : datetime, optional
        When the participant completed (default: now). Not in the future, and not before the
        window of the last scheduled visit opens (the follow-up is over only then).

    Returns
    -------
    Disposition
        Kind ``completed``; the participant's status becomes ``completed``.
    """
    p = participant_for(actor, participant, lock=True)
    if p.status != P.RANDOMIZED:
        raise Conflict(
            "participant",
            f"{p.code} is {p.status}: only a randomized participant still in follow-up completes",
        )
    when = aware(at, "at", default_now=True)
    _not_future(when, "at")
    last = VisitRecord.objects.filter(participant=p).order_by("-nominal", "-id").first()
    if last is not None and when < last.earliest:
        raise ActionError(
            "at",
            f"{_iso(when)} is before the last scheduled visit, {last.visit} ({last.label}), "
            f"whose window opens at {_iso(last.earliest)}: the follow-up is not over",
        )
    return _leave(actor, p, Disposition.Kind.COMPLETED, P.COMPLETED, when, "", "", "complete_study")


@action("record_clinical_event", CLINICAL_WRITERS)
def record_clinical_event(
    actor: Staff,
    participant: Participant | str,
    *,
    event: str,
    occurred_at: dt.datetime,
    term: str = "",
    occurred: bool = True,
) -> ClinicalEvent:
    """One occurrence of a protocol event (a CE row: CEDECOD ``event``, CESTDTC ``occurred_at``).

    Parameters
    ----------
    actor : Staff
        An investigator or coordinator of the participant's site.
    participant : Participant or str
        A randomized participant.
    event : str
        A code of the protocol's ``events`` (``recovery``, ``extubation`` …). ``death`` is
        recorded with :func:`~celltrial.edc.actions.record_death` and ``sae`` comes from serious
        adverse events, so both are refused here.
    occurred_at : datetime
        When it happened: not before randomization, not in the future. For a participant who
        has left the study (completed, withdrew, lost, died), only events up to that time.
    term : str, optional
        The reported term (CETERM; default: the event's label in the export).
    occurred : bool, optional
        False records that the event was asked about and did not occur (CEOCCUR ``N``).

    Returns
    -------
    ClinicalEvent

    Raises
    ------
    Conflict
        The same event at the same time is recorded already, or the participant is not
        randomized.
    """
    p = participant_for(actor, participant, lock=True)
    protocol = actor.trial.active_protocol().protocol
    code = (event or "").strip()
    if code in FROM_ELSEWHERE:
        raise ActionError("event", FROM_ELSEWHERE[code].replace("{code}", p.code))
    known = {e.code: e for e in protocol.events}
    if code not in known:
        listed = ", ".join(c for c in known if c not in FROM_ELSEWHERE) or "none"
        raise ActionError(
            "event", f"{code!r} is not an event of protocol {protocol.id} (events: {listed})"
        )
    if not isinstance(occurred, bool):
        raise ActionError("occurred", f"true or false, got {occurred!r}")
    reported = event_term(term)
    when = event_time(p, occurred_at)
    event_twin(p, code, when)
    row = ClinicalEvent.objects.create(
        participant=p,
        event=code,
        term=reported,
        occurred_at=when,
        occurred=occurred,
        recorded_at=now(),
    )
    audit.write(actor, "record_clinical_event", row, old=None, new=audit.snapshot(row))
    return row


def _first_contact(p: Participant) -> dt.datetime | None:
    """The earliest of the participant's consent date (midnight UTC) and screening time."""
    times: list[dt.datetime] = [
        dt.datetime.combine(c.consented_on, dt.time(), tzinfo=dt.UTC) for c in p.consents.all()
    ]
    screening = getattr(p, "screening", None)
    if screening is not None:
        times.append(screening.screened_at)
    return min(times, default=None)


@action("record_deviation", DEVIATION_WRITERS)
def record_deviation(
    actor: Staff,
    participant: Participant | str,
    *,
    category: str,
    description: str,
    occurred_at: dt.datetime | None = None,
) -> Deviation:
    """A protocol deviation in the deviation log (a DV row).

    Parameters
    ----------
    actor : Staff
        An investigator or coordinator of the site, or a monitor of it.
    participant : Participant or str
        Any participant of the actor's sites (deviations are often found after the fact, so
        one who has left the study is accepted).
    category : {"major", "minor"}
        A major deviation removes the participant from the per-protocol population.
    description : str
        What deviated from the protocol (DVTERM).
    occurred_at : datetime, optional
        When it happened, if known: not in the future, not before the participant's consent
        or screening.

    Returns
    -------
    Deviation
    """
    p = participant_for(actor, participant, lock=True)
    cat = (category or "").strip().lower()
    if cat not in Deviation.Category.values:
        raise ActionError(
            "category", f"one of {', '.join(Deviation.Category.values)}, got {category!r}"
        )
    text = deviation_description(description)
    when = deviation_time(p, occurred_at)
    row = Deviation.objects.create(
        participant=p, category=cat, description=text, occurred_at=when, recorded_at=now()
    )
    audit.write(actor, "record_deviation", row, old=None, new=audit.snapshot(row))
    return row


@action("record_visit_not_done", CLINICAL_WRITERS)
def record_visit_not_done(
    actor: Staff, participant: Participant | str, visit: str, *, reason: str
) -> VisitRecord:
    """Mark a scheduled visit as not done, with the reason (its findings: ``NOT DONE``).

    Parameters
    ----------
    actor : Staff
        An investigator or coordinator of the participant's site.
    participant : Participant or str
        A randomized participant.
    visit : str
        A visit of the participant's schedule that is neither done nor has measurements.
    reason : str
        Why it did not take place (``--REASND`` in the export).

    Returns
    -------
    VisitRecord
        With ``not_done`` set and ``not_done_reason``.
    """
    p = participant_for(actor, participant, lock=True)
    why = (reason or "").strip()
    if not why:
        raise ActionError("reason", "say why the visit did not take place")
    row = VisitRecord.objects.filter(participant=p, visit=visit).first()
    if row is None:
        known = ", ".join(p.visits.order_by("nominal").values_list("visit", flat=True))
        raise NotFound(
            "visit", f"{visit!r} is not a scheduled visit of {p.code} ({known or 'none yet'})"
        )
    if row.done_at is not None:
        raise Conflict("visit", f"visit {visit} of {p.code} was done at {_iso(row.done_at)}")
    if row.not_done:
        raise Conflict("visit", f"visit {visit} of {p.code} is marked not done already")
    n = Measurement.objects.filter(participant=p, visit=visit, entered_in_error=False).count()
    if n:
        raise Conflict(
            "visit",
            f"{n} measurement(s) of {p.code} are recorded at visit {visit}: it took place",
        )
    if p.status != P.RANDOMIZED:
        end = end_of_follow_up(p)
        if end is not None and row.earliest > end.at:
            raise Conflict(
                "visit",
                f"the window of visit {visit} opens at {_iso(row.earliest)}, after {p.code} "
                f"{LEFT.get(end.kind, end.kind)} at {_iso(end.at)}: it is not a missed visit",
            )
    if row.earliest > now() + SKEW:
        raise Conflict(
            "visit",
            f"the window of visit {visit} opens at {_iso(row.earliest)}: a visit is missed only "
            "once it is due",
        )
    check_unlocked("visit", row)  # a data manager's lock on the visit or the participant: 409
    old = audit.snapshot(row)
    row.not_done = True
    row.not_done_reason = why
    row.save(update_fields=["not_done", "not_done_reason"])
    audit.write(actor, "record_visit_not_done", row, old=old, new=audit.snapshot(row), reason=why)
    return row
