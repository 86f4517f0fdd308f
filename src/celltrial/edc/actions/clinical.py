"""Visits and measurements validated against the protocol's catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    NotFound,
    action,
    aware,
    insert,
    now,
    participant_for,
)
from celltrial.edc.actions._rules import enforce
from celltrial.edc.actions._values import catalogue_entry, check_value, range_problem
from celltrial.edc.models import Measurement, Participant, Staff, VisitRecord
from celltrial.edc.roles import CLINICAL_WRITERS

CLOSED = (Participant.Status.SCREENED, Participant.Status.INELIGIBLE)


@action("record_visit", CLINICAL_WRITERS)
def record_visit(
    actor: Staff, participant: Participant | str, visit: str, *, at: dt.datetime | None = None
) -> VisitRecord:
    """Mark a scheduled visit done; ``in_window`` says whether it was inside its hour window."""
    p = participant_for(actor, participant, lock=True)
    row = VisitRecord.objects.filter(participant=p, visit=visit).first()
    if row is None:
        known = ", ".join(p.visits.order_by("nominal").values_list("visit", flat=True))
        raise NotFound(
            "visit", f"{visit!r} is not a scheduled visit of {p.code} ({known or 'none yet'})"
        )
    if row.done_at is not None:
        raise Conflict("visit", f"visit {visit} of {p.code} is recorded already")
    if row.not_done:
        raise Conflict(
            "visit",
            f"visit {visit} of {p.code} is marked not done ({row.not_done_reason})",
        )
    when = aware(at, "at", default_now=True)
    if when > now() + dt.timedelta(minutes=5):
        raise ActionError("at", "the visit time is in the future")
    enforce(p, Occurrence("visit", when, f"visit {visit}"), "at")
    old = audit.snapshot(row)
    row.done_at = when
    row.in_window = row.earliest <= when <= row.latest
    row.save(update_fields=["done_at", "in_window"])
    audit.write(actor, "record_visit", row, old=old, new=audit.snapshot(row))
    return row


def validate_measurement(staff: Staff, p: Participant, fields: dict[str, Any]) -> dict[str, Any]:
    """Check code, value, unit, visit and range; return the model fields to store."""
    protocol = staff.trial.active_protocol().protocol
    m = catalogue_entry(protocol, fields["code"])
    checked = check_value(m, fields["value"], unit=fields.get("unit"))
    confirmed = bool(fields.get("confirmed", False))
    if checked.out_of_range and not confirmed:
        raise ActionError("value", range_problem(m, checked))
    visit = fields.get("visit") or ""
    if visit and visit not in {v.id for v in protocol.schedule.visits}:
        raise ActionError("visit", f"{visit!r} is not a visit of the schedule")
    when = aware(fields.get("measured_at"), "measured_at", default_now=True)
    if when > now() + dt.timedelta(minutes=5):
        raise ActionError("measured_at", "the time is in the future")
    enforce(p, Occurrence("measurement", when, f"{m.code}"), "measured_at")
    return {
        "code": m.code,
        "visit": visit,
        "measured_at": when,
        "value": checked.text,
        "number": checked.number,
        "unit": m.unit or "",
        "domain": m.domain or "",
        "out_of_range": checked.out_of_range,
        "confirmed": confirmed and checked.out_of_range,
    }


def check_visit_taken_place(p: Participant, visit: str) -> None:
    """A Conflict when ``visit`` (if any) of ``p`` is marked not done: no results for it."""
    if visit and VisitRecord.objects.filter(participant=p, visit=visit, not_done=True).exists():
        raise Conflict("visit", f"visit {visit} of {p.code} is marked not done: no results for it")


@action("record_measurement", CLINICAL_WRITERS)
def record_measurement(
    actor: Staff,
    participant: Participant | str,
    code: str,
    value: Any,
    *,
    measured_at: dt.datetime | None = None,
    visit: str = "",
    unit: str | None = None,
    confirmed: bool = False,
    confirm_duplicate: bool = False,
) -> Measurement:
    """One value of the catalogue: unit must match, out-of-range values need ``confirmed``;
    a second value of the same measurement at the same visit is a likely duplicate and needs
    ``confirm_duplicate`` (issue 15)."""
    p = participant_for(actor, participant)
    if p.status in CLOSED:
        raise Conflict("participant", f"{p.code} is {p.status}; measurements start at consent")
    fields = validate_measurement(
        actor,
        p,
        {
            "code": code,
            "value": value,
            "measured_at": measured_at,
            "visit": visit,
            "unit": unit,
            "confirmed": confirmed,
        },
    )
    check_visit_taken_place(p, fields["visit"])
    if fields["visit"] and not confirm_duplicate:
        twin = (
            Measurement.objects.filter(
                participant=p, code=fields["code"], visit=fields["visit"], entered_in_error=False
            )
            .order_by("id")
            .first()
        )
        if twin is not None:
            raise ActionError(
                "confirm_duplicate",
                f"{twin.code} is recorded already at visit {twin.visit} ({twin.value} at "
                f"{twin.measured_at:%Y-%m-%d %H:%M} UTC, id {twin.pk}): a likely duplicate; "
                "confirm to record a second value, or correct the first one",
            )
    row = insert(Measurement(participant=p, **fields))
    audit.write(actor, "record_measurement", row, old=None, new=audit.snapshot(row))
    return row
