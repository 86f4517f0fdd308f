"""The REST API of the safety CRF's other forms: concomitant medications, medical history, and
the site's time zone (admin).

Mounted on the main API (:mod:`celltrial.edc.api` imports this module by its dotted path at its
end), so the bearer token, the error shape (``{"detail": [{"field", "message"}]}``) and the
``Idempotency-Key`` header are the same. Nothing here names an arm.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

router = Router()

from celltrial.edc import actions, serialize  # noqa: E402
from celltrial.edc.api import _key, _participant, _staff  # noqa: E402
from celltrial.edc.api_schemas import (  # noqa: E402
    MedicalHistoryOut,
    MedicationOut,
    SiteZoneOut,
    answers,
)
from celltrial.edc.models import ConcomitantMedication, MedicalHistory  # noqa: E402

TAGS = ["safety"]


class MedicationIn(Schema):
    medication: str = ""
    indication: str = ""
    dose: float | None = None
    dose_unit: str = ""
    route: str = ""
    frequency: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    ongoing: bool = False
    not_done: bool = False
    not_done_reason: str = ""
    missing: dict[str, str] = Field(default_factory=dict)


class MedicalHistoryIn(Schema):
    term: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    ongoing: bool = False
    not_done: bool = False
    not_done_reason: str = ""
    missing: dict[str, str] = Field(default_factory=dict)


class TimeZoneIn(Schema):
    time_zone: str


def _d(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def medication(m: ConcomitantMedication) -> dict[str, Any]:
    """A CM row as JSON."""
    return {
        "id": m.pk,
        "participant": m.participant.code,
        "medication": m.medication,
        "indication": m.indication,
        "dose": m.dose,
        "dose_unit": m.dose_unit,
        "route": m.route,
        "frequency": m.frequency,
        "start_date": _d(m.start_date),
        "end_date": _d(m.end_date),
        "ongoing": m.ongoing,
        "not_done": m.not_done,
        "not_done_reason": m.not_done_reason,
        "missing": m.missing,
        "recorded_at": serialize._t(m.recorded_at),
        "complete": m.complete,
        "entered_in_error": m.entered_in_error,
    }


def history(h: MedicalHistory) -> dict[str, Any]:
    """An MH row as JSON."""
    return {
        "id": h.pk,
        "participant": h.participant.code,
        "term": h.term,
        "start_date": _d(h.start_date),
        "end_date": _d(h.end_date),
        "ongoing": h.ongoing,
        "not_done": h.not_done,
        "not_done_reason": h.not_done_reason,
        "missing": h.missing,
        "recorded_at": serialize._t(h.recorded_at),
        "complete": h.complete,
        "entered_in_error": h.entered_in_error,
    }


@router.post(
    "/participants/{code}/medications",
    tags=TAGS,
    response=answers(MedicationOut),
    exclude_unset=True,
)
def add_medication(request: HttpRequest, code: str, body: MedicationIn) -> dict[str, Any]:
    """A prior or concomitant medication, or that none was asked (``record_medication``)."""
    s = _staff(request)
    m = actions.record_medication(s, code, **body.dict(), idempotency_key=_key(request))
    return medication(m)


@router.get(
    "/participants/{code}/medications",
    tags=TAGS,
    response=answers(list[MedicationOut]),
    exclude_unset=True,
)
def medications(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    s = _staff(request)
    p = _participant(s, code)
    rows = ConcomitantMedication.objects.filter(participant=p).select_related("participant")
    return [medication(m) for m in rows.order_by("start_date", "id")]


@router.post(
    "/participants/{code}/medical-history",
    tags=TAGS,
    response=answers(MedicalHistoryOut),
    exclude_unset=True,
)
def add_history(request: HttpRequest, code: str, body: MedicalHistoryIn) -> dict[str, Any]:
    """A condition of the medical history (``record_medical_history``)."""
    s = _staff(request)
    h = actions.record_medical_history(s, code, **body.dict(), idempotency_key=_key(request))
    return history(h)


@router.get(
    "/participants/{code}/medical-history",
    tags=TAGS,
    response=answers(list[MedicalHistoryOut]),
    exclude_unset=True,
)
def medical_history(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    s = _staff(request)
    p = _participant(s, code)
    rows = MedicalHistory.objects.filter(participant=p).select_related("participant")
    return [history(h) for h in rows.order_by("start_date", "id")]


@router.post(
    "/sites/{code}/time-zone",
    tags=["admin"],
    response=answers(SiteZoneOut),
    exclude_unset=True,
)
def site_time_zone(request: HttpRequest, code: str, body: TimeZoneIn) -> dict[str, Any]:
    """The IANA time zone of site ``code`` (``set_site_time_zone``; admin)."""
    s = _staff(request)
    x = actions.set_site_time_zone(s, code, body.time_zone, idempotency_key=_key(request))
    return {"code": x.code, "name": x.name, "time_zone": x.time_zone}


__all__ = ["router"]
