"""The REST API of follow-up: completion, clinical events, deviations, visits not done.

Mounted on the main API (:mod:`celltrial.edc.api`, which imports this module by its dotted
path at its end), so the bearer token, the error shape (``{"detail": [{"field", "message"}]}``)
and the ``Idempotency-Key`` header are the same. Nothing here names an arm: the participant is
returned through :func:`celltrial.edc.serialize.participant`, which shows the arm only to roles
allowed to see it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

# Defined before the API module is imported: that module mounts this router by its dotted path
# at its end, so either module may be imported first.
router = Router()

from celltrial.edc import actions, serialize  # noqa: E402
from celltrial.edc.api import _key, _participant, _staff  # noqa: E402
from celltrial.edc.api_schemas import (  # noqa: E402
    ClinicalEventOut,
    DeviationOut,
    ParticipantOut,
    VisitOut,
    answers,
)
from celltrial.edc.models import ClinicalEvent, Deviation, Staff, VisitRecord  # noqa: E402

TAGS = ["follow-up"]


class CompletionIn(Schema):
    at: dt.datetime | None = None


class ClinicalEventIn(Schema):
    event: str
    occurred_at: dt.datetime
    term: str = ""
    occurred: bool = True


class DeviationIn(Schema):
    category: str
    description: str
    occurred_at: dt.datetime | None = None


class NotDoneIn(Schema):
    reason: str


def clinical_event(staff: Staff, e: ClinicalEvent) -> dict[str, Any]:
    """A clinical event as JSON (no arm: none is stored with it)."""
    labels = {x.code: x.label for x in staff.trial.active_protocol().protocol.events}
    return {
        "id": e.pk,
        "participant": e.participant.code,
        "event": e.event,
        "label": labels.get(e.event, e.event),
        "term": e.term,
        "occurred_at": serialize._t(e.occurred_at),
        "occurred": e.occurred,
        "recorded_at": serialize._t(e.recorded_at),
        "complete": e.complete,
        "entered_in_error": e.entered_in_error,
    }


def deviation(d: Deviation) -> dict[str, Any]:
    """A deviation as JSON."""
    return {
        "id": d.pk,
        "participant": d.participant.code,
        "category": d.category,
        "description": d.description,
        "occurred_at": serialize._t(d.occurred_at),
        "recorded_at": serialize._t(d.recorded_at),
        "complete": d.complete,
        "entered_in_error": d.entered_in_error,
    }


def visit_json(v: VisitRecord) -> dict[str, Any]:
    """A visit as :func:`celltrial.edc.serialize.visit` gives it, with its not-done mark."""
    return serialize.visit(v) | {"not_done": v.not_done, "not_done_reason": v.not_done_reason}


@router.post(
    "/participants/{code}/completion",
    tags=TAGS,
    response=answers(ParticipantOut),
    exclude_unset=True,
)
def completion(request: HttpRequest, code: str, body: CompletionIn) -> dict[str, Any]:
    """End of study: the participant completed the follow-up (``complete_study``)."""
    s = _staff(request)
    actions.complete_study(s, code, at=body.at, idempotency_key=_key(request))
    return serialize.participant(s, _participant(s, code), detail=True)


@router.post(
    "/participants/{code}/clinical-events",
    tags=TAGS,
    response=answers(ClinicalEventOut),
    exclude_unset=True,
)
def add_clinical_event(request: HttpRequest, code: str, body: ClinicalEventIn) -> dict[str, Any]:
    """One occurrence of a protocol event (``record_clinical_event``)."""
    s = _staff(request)
    e = actions.record_clinical_event(
        s,
        code,
        event=body.event,
        occurred_at=body.occurred_at,
        term=body.term,
        occurred=body.occurred,
        idempotency_key=_key(request),
    )
    return clinical_event(s, e)


@router.get(
    "/participants/{code}/clinical-events",
    tags=TAGS,
    response=answers(list[ClinicalEventOut]),
    exclude_unset=True,
)
def clinical_events(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    s = _staff(request)
    p = _participant(s, code)
    rows = ClinicalEvent.objects.filter(participant=p).select_related("participant")
    return [clinical_event(s, e) for e in rows.order_by("occurred_at", "id")]


@router.post(
    "/participants/{code}/deviations", tags=TAGS, response=answers(DeviationOut), exclude_unset=True
)
def add_deviation(request: HttpRequest, code: str, body: DeviationIn) -> dict[str, Any]:
    """A protocol deviation (``record_deviation``; a monitor may record one too)."""
    s = _staff(request)
    d = actions.record_deviation(
        s,
        code,
        category=body.category,
        description=body.description,
        occurred_at=body.occurred_at,
        idempotency_key=_key(request),
    )
    return deviation(d)


@router.get(
    "/participants/{code}/deviations",
    tags=TAGS,
    response=answers(list[DeviationOut]),
    exclude_unset=True,
)
def deviations(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    s = _staff(request)
    p = _participant(s, code)
    rows = Deviation.objects.filter(participant=p).select_related("participant")
    return [deviation(d) for d in rows.order_by("id")]


@router.post(
    "/participants/{code}/visits/{visit}/not-done",
    tags=TAGS,
    response=answers(VisitOut),
    exclude_unset=True,
)
def visit_not_done(request: HttpRequest, code: str, visit: str, body: NotDoneIn) -> dict[str, Any]:
    """A scheduled visit that did not take place (``record_visit_not_done``)."""
    s = _staff(request)
    v = actions.record_visit_not_done(
        s, code, visit, reason=body.reason, idempotency_key=_key(request)
    )
    return visit_json(v)


__all__ = ["router"]
