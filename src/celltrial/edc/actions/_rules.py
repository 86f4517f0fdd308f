"""The dataset's order rules (:mod:`celltrial.dataset.rules`) applied to what an action writes.

:func:`enforce` checks the one record an action writes against its participant's milestones
(consent, randomization, death, end of follow-up); :func:`enforce_milestones` checks all of a
participant's records against the milestones an action sets or moves (a death, a withdrawal,
a completion, a consent date, an edit of one of them). A broken rule is an
:class:`~celltrial.edc.actions._base.ActionError` (422) on the form's field, naming the rule.
The EDC therefore cannot store what :func:`celltrial.dataset.check_dataset` would refuse.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db.models import Min, OuterRef, Subquery

from celltrial.dataset.rules import (
    Milestones,
    Occurrence,
    participant_problems,
    record_problems,
)
from celltrial.edc.actions._base import ActionError, Problem
from celltrial.edc.models import (
    AdverseEvent,
    Disposition,
    Infusion,
    Measurement,
    Participant,
    Randomization,
    VisitRecord,
)
from celltrial.edc.models.clinical import (
    ClinicalEvent,
    ConcomitantMedication,
    Deviation,
    MedicalHistory,
)

_END_KINDS = (
    Disposition.Kind.COMPLETED,
    Disposition.Kind.WITHDRAWN,
    Disposition.Kind.LOST,
)
_DS_WORDS: dict[str, str] = {
    Disposition.Kind.COMPLETED: "completion",
    Disposition.Kind.WITHDRAWN: "withdrawal",
    Disposition.Kind.LOST: "loss to follow-up (last contact)",
    Disposition.Kind.DEATH: "death",
}


def milestones(p: Participant) -> Milestones:
    """The participant's milestones as stored (one query)."""
    pid = p.pk
    row = (
        Participant.objects.filter(pk=pid)
        .annotate(
            m_consent=Min("consents__consented_on"),
            m_randomized=Subquery(
                Randomization.objects.filter(participant=OuterRef("pk")).values("randomized_at")[:1]
            ),
            m_death=Subquery(
                Disposition.objects.filter(
                    participant=OuterRef("pk"), kind=Disposition.Kind.DEATH
                ).values("at")[:1]
            ),
            m_ended=Subquery(
                Disposition.objects.filter(participant=OuterRef("pk"), kind__in=_END_KINDS)
                .order_by("at", "id")
                .values("at")[:1]
            ),
            m_ended_kind=Subquery(
                Disposition.objects.filter(participant=OuterRef("pk"), kind__in=_END_KINDS)
                .order_by("at", "id")
                .values("kind")[:1]
            ),
        )
        .values("m_consent", "m_randomized", "m_death", "m_ended", "m_ended_kind")
        .first()
    )
    if row is None:
        return Milestones()
    return Milestones(
        consent=row["m_consent"],
        randomized=row["m_randomized"],
        death=row["m_death"],
        ended=row["m_ended"],
        ended_as=_DS_WORDS.get(row["m_ended_kind"], "") if row["m_ended_kind"] else "",
    )


def occurrences(p: Participant) -> list[Occurrence]:
    """Every dated record of ``p`` (the kinds of :data:`celltrial.dataset.rules.KINDS`)."""
    out: list[Occurrence] = []
    r = Randomization.objects.filter(participant=p).values_list("randomized_at", flat=True).first()
    if r is not None:
        out.append(Occurrence("randomization", r, "the randomization"))
    for n, at in Infusion.objects.filter(participant=p).values_list("number", "started_at"):
        out.append(Occurrence("dose", at, f"infusion #{n}"))
    for pk, term, onset, end in AdverseEvent.objects.filter(participant=p).values_list(
        "pk", "term", "onset", "end_at"
    ):
        out.append(
            Occurrence("adverse_event", onset, f"adverse event {term!r} (id {pk}), onset", end=end)
        )
    for kind, model, name in (
        ("medication", ConcomitantMedication, "medication"),
        ("history", MedicalHistory, "term"),
    ):
        for pk, what, start, stop in model.objects.filter(participant=p).values_list(
            "pk", name, "start_date", "end_date"
        ):
            if start is not None:
                out.append(Occurrence(kind, _midnight(start), f"{kind} {what!r} (id {pk}), start"))
            if stop is not None and kind == "medication":  # a condition may end after consent
                out.append(Occurrence(kind, _midnight(stop), f"{kind} {what!r} (id {pk}), end"))
    for pk, code, at in ClinicalEvent.objects.filter(participant=p).values_list(
        "pk", "event", "occurred_at"
    ):
        out.append(Occurrence("clinical_event", at, f"clinical event {code} (id {pk})"))
    for pk, code, at in Measurement.objects.filter(participant=p).values_list(
        "pk", "code", "measured_at"
    ):
        out.append(Occurrence("measurement", at, f"measurement {code} (id {pk})"))
    for visit, done in VisitRecord.objects.filter(participant=p).values_list("visit", "done_at"):
        if done is not None:
            out.append(Occurrence("visit", done, f"visit {visit}"))
    for pk, when in Deviation.objects.filter(participant=p).values_list("pk", "occurred_at"):
        if when is not None:
            out.append(Occurrence("deviation", when, f"deviation (id {pk})"))
    for kind, at in Disposition.objects.filter(participant=p).values_list("kind", "at"):
        out.append(
            Occurrence(
                "death" if kind == Disposition.Kind.DEATH else "disposition",
                at,
                f"the {_DS_WORDS.get(kind, kind)}",
            )
        )
    return out


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def enforce(p: Participant, occ: Occurrence, field: str, m: Milestones | None = None) -> None:
    """Refuse ``occ`` (the record an action writes) when it breaks a rule: an ActionError on
    ``field`` naming the rule."""
    found = record_problems(occ, milestones(p) if m is None else m)
    if found:
        raise ActionError(problems=[Problem(field, msg) for _, msg in found])


def enforce_milestones(
    p: Participant,
    field: str,
    *,
    exclude: str = "",
    **changes: dt.datetime | dt.date | str | None,
) -> None:
    """Refuse new milestones (``changes`` to :class:`Milestones`, e.g. ``death=…``) that a
    record of ``p`` already there would break: an ActionError on ``field`` naming the record
    and the rule. ``exclude`` drops the occurrences with that label (the milestone's own
    record, when it is being moved)."""
    m = dataclasses.replace(milestones(p), **changes)  # type: ignore[arg-type]
    occs = [o for o in occurrences(p) if not exclude or o.label != exclude]
    found = participant_problems(occs, m)
    if found:
        raise ActionError(
            problems=[Problem(field, f"{msg} (a record already entered)") for _, msg in found]
        )
