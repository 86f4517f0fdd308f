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
from typing import Any

from django.db.models import Min, OuterRef, Subquery
from django.utils import timezone

from celltrial.dataset.rules import (
    Milestones,
    Occurrence,
    breaches,
    refusal,
)
from celltrial.edc.actions._base import ActionError, Problem
from celltrial.edc.models import (
    AdverseEvent,
    Disposition,
    Infusion,
    Measurement,
    Participant,
    Randomization,
    ScreeningRecord,
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


#: A participant id no table holds, marking where the id goes in the compiled statement.
_PID_MARK = -7_306_492_117
#: The milestones statement compiled once per database (alias): building it with the ORM (an
#: annotation of five subqueries) cost ~4 ms of CPU per write, ~2/3 of an API write's total.
_COMPILED: dict[str, tuple[str, tuple[Any, ...], int]] = {}


def _milestones_statement() -> tuple[str, tuple[Any, ...], int]:
    from django.db import connection

    found = _COMPILED.get(connection.alias)
    if found is not None:
        return found
    query = (
        Participant.objects.filter(pk=_PID_MARK)
        .annotate(
            m_consent=Min("consents__consented_on"),
            m_randomized=Subquery(
                Randomization.objects.filter(participant=OuterRef("pk")).values("randomized_at")[:1]
            ),
            m_death=Subquery(
                Disposition.objects.filter(
                    participant=OuterRef("pk"), kind=Disposition.Kind.DEATH, entered_in_error=False
                ).values("at")[:1]
            ),
            m_ended=Subquery(
                Disposition.objects.filter(
                    participant=OuterRef("pk"), kind__in=_END_KINDS, entered_in_error=False
                )
                .order_by("at", "id")
                .values("at")[:1]
            ),
            m_ended_kind=Subquery(
                Disposition.objects.filter(
                    participant=OuterRef("pk"), kind__in=_END_KINDS, entered_in_error=False
                )
                .order_by("at", "id")
                .values("kind")[:1]
            ),
        )
        .values("m_consent", "m_randomized", "m_death", "m_ended", "m_ended_kind")[:1]
        .query
    )
    sql, params = query.sql_with_params()
    if list(params).count(_PID_MARK) != 1:  # pragma: no cover - a Django change would show here
        raise RuntimeError("cannot place the participant id in the milestones statement")
    found = (sql, tuple(params), list(params).index(_PID_MARK))
    _COMPILED[connection.alias] = found
    return found


def _as_date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value if not isinstance(value, dt.datetime) else value.date()
    return dt.date.fromisoformat(str(value)[:10])  # SQLite: text of an aggregate


def _as_time(value: object) -> dt.datetime | None:
    if value is None:
        return None
    at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)  # stored in UTC


def milestones(p: Participant) -> Milestones:
    """The participant's milestones as stored (one query, its statement compiled once)."""
    from django.db import connection

    sql, params, where = _milestones_statement()
    values: list[Any] = list(params)
    values[where] = p.pk
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return Milestones()
    consent, randomized, death, ended, ended_kind = row
    return Milestones(
        consent=_as_date(consent),
        randomized=_as_time(randomized),
        death=_as_time(death),
        ended=_as_time(ended),
        ended_as=_DS_WORDS.get(ended_kind, "") if ended_kind else "",
    )


def occurrences(p: Participant) -> list[Occurrence]:
    """Every dated record of ``p`` (the kinds of :data:`celltrial.dataset.rules.KINDS`)."""
    out: list[Occurrence] = []
    r = Randomization.objects.filter(participant=p).values_list("randomized_at", flat=True).first()
    if r is not None:
        out.append(Occurrence("randomization", r, "the randomization"))
    screened = (
        ScreeningRecord.objects.filter(participant=p).values_list("screened_at", flat=True).first()
    )
    if screened is not None:  # the screening values are exported as findings (export.py)
        at = r if r is not None and r < screened else screened
        out.append(Occurrence("measurement", at, "the screening values", plural=True))
    for n, at in Infusion.objects.filter(participant=p, entered_in_error=False).values_list(
        "number", "started_at"
    ):
        out.append(Occurrence("dose", at, f"infusion #{n}"))
    for pk, term, onset, end in AdverseEvent.objects.filter(
        participant=p, entered_in_error=False
    ).values_list("pk", "term", "onset", "end_at"):
        out.append(
            Occurrence("adverse_event", onset, f"adverse event {term!r} (id {pk}), onset", end=end)
        )
    for kind, model, name in (
        ("medication", ConcomitantMedication, "medication"),
        ("history", MedicalHistory, "term"),
    ):
        for pk, what, start, stop in model.objects.filter(
            participant=p, entered_in_error=False
        ).values_list("pk", name, "start_date", "end_date"):
            if start is not None:
                out.append(Occurrence(kind, _midnight(start), f"{kind} {what!r} (id {pk}), start"))
            if stop is not None and kind == "medication":  # a condition may end after consent
                out.append(Occurrence(kind, _midnight(stop), f"{kind} {what!r} (id {pk}), end"))
    for pk, code, at in ClinicalEvent.objects.filter(
        participant=p, entered_in_error=False
    ).values_list("pk", "event", "occurred_at"):
        out.append(Occurrence("clinical_event", at, f"clinical event {code} (id {pk})"))
    for pk, code, at in Measurement.objects.filter(
        participant=p, entered_in_error=False
    ).values_list("pk", "code", "measured_at"):
        out.append(Occurrence("measurement", at, f"measurement {code} (id {pk})"))
    for visit, done in VisitRecord.objects.filter(participant=p).values_list("visit", "done_at"):
        if done is not None:
            out.append(Occurrence("visit", done, f"visit {visit}"))
    for pk, when in Deviation.objects.filter(participant=p, entered_in_error=False).values_list(
        "pk", "occurred_at"
    ):
        if when is not None:
            out.append(Occurrence("deviation", when, f"deviation (id {pk})"))
    for kind, at in Disposition.objects.filter(participant=p, entered_in_error=False).values_list(
        "kind", "at"
    ):
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


def local_time(t: dt.datetime | dt.date) -> str:
    """``t`` as a person reads it on the page: the page's time zone (the site's, activated by
    the web views; UTC on the API), to the minute, with the zone's abbreviation
    (``2026-12-05 10:12 CET``); a date as a date."""
    if not isinstance(t, dt.datetime):
        return t.isoformat()
    local = timezone.localtime(t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC))
    zone = local.strftime("%Z")
    if zone[:1] in "+-":  # zones with no abbreviation: "-03" -> "UTC-03"
        zone = f"UTC{zone}"
    return f"{local:%Y-%m-%d %H:%M} {zone}".strip()


def enforce(p: Participant, occ: Occurrence, field: str, m: Milestones | None = None) -> None:
    """Refuse ``occ`` (the record an action writes) when it breaks a rule: an ActionError on
    ``field`` naming the rule."""
    found = breaches([occ], milestones(p) if m is None else m, local_time)
    if found:
        raise ActionError(problems=[Problem(field, refusal(found))])


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
    found = breaches(occs, m, local_time)
    if found:
        n = len({fact for _, fact in found})
        lead = (
            "a record already entered conflicts with it"
            if n == 1
            else f"{n} records already entered conflict with it"
        )
        raise ActionError(problems=[Problem(field, refusal(found, lead))])
