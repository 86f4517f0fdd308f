"""Changing a recorded form: re-validated, with a reason once the form is complete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import models

from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    NotFound,
    Problem,
    action,
    aware,
    participant_for,
)
from celltrial.edc.actions.clinical import validate_measurement
from celltrial.edc.actions.monitoring import (
    check_unlocked,
    invalidate_signatures,
    record_visits,
)
from celltrial.edc.actions.safety import check_ae, window_flags
from celltrial.edc.models import AdverseEvent, Consent, Death, Measurement, Role, Staff
from celltrial.edc.models.clinical import ClinicalEvent, Deviation

#: table -> (model, fields that may change)
EDITABLE: dict[str, tuple[type[models.Model], frozenset[str]]] = {
    "measurement": (
        Measurement,
        frozenset({"value", "measured_at", "visit", "unit", "confirmed", "complete"}),
    ),
    "adverse_event": (
        AdverseEvent,
        frozenset(
            {
                "term",
                "decoded_term",
                "onset",
                "grade",
                "serious_criteria",
                "relatedness",
                "expected",
                "outcome",
                "complete",
            }
        ),
    ),
    "consent": (Consent, frozenset({"version", "consented_on", "complete"})),
    "death": (Death, frozenset({"died_at", "cause", "complete"})),
    # Follow-up (actions/followup.py). The event code and the deviation category are not
    # editable: they are validated against the protocol on entry, so a wrong one is corrected
    # by recording the right one (and explaining in a note), not by an unchecked edit.
    "clinical_event": (ClinicalEvent, frozenset({"term", "occurred_at", "occurred", "complete"})),
    "deviation": (Deviation, frozenset({"description", "occurred_at", "complete"})),
}
TIMES = {"measured_at", "onset", "died_at"}
TIMES.add("occurred_at")  # clinical events and deviations


def _time(value: Any, field: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ActionError(field, f"{value!r} is not an ISO 8601 time") from None
    if not isinstance(value, dt.datetime):
        raise ActionError(field, "an ISO 8601 time with a zone")
    return aware(value, field)


@action("edit_record", [Role.INVESTIGATOR, Role.COORDINATOR, Role.DATA_MANAGER])
def edit_record(
    actor: Staff, table: str, record_id: int, changes: Mapping[str, Any], *, reason: str = ""
) -> models.Model:
    """Change fields of a form; the audit row keeps old and new values and the reason."""
    if table not in EDITABLE:
        raise ActionError("table", f"{table!r} cannot be edited; editable: {', '.join(EDITABLE)}")
    model, allowed = EDITABLE[table]
    record: Any = (
        model.objects.select_related("participant")
        .filter(pk=record_id, participant__trial_id=actor.trial_id)
        .first()
    )
    if record is None:
        raise NotFound("record_id", f"no {table} {record_id}")
    participant_for(actor, record.participant)
    check_unlocked(table, record)  # a locked record (or participant): 409 naming the lock
    signed_visits = record_visits(record)
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ActionError(
            problems=[
                Problem(f"changes.{k}", f"cannot be edited; editable: {', '.join(sorted(allowed))}")
                for k in unknown
            ]
        )
    if not changes:
        raise ActionError("changes", "nothing to change")
    if record.complete and not reason.strip():
        raise ActionError("reason", "the form is complete: give a reason for the change")
    old = audit.snapshot(record)
    values = {k: (_time(v, k) if k in TIMES and v is not None else v) for k, v in changes.items()}
    if isinstance(record, Measurement):
        merged = {
            f: getattr(record, f)
            for f in ("code", "value", "measured_at", "visit", "unit", "confirmed")
        }
        merged.update({k: v for k, v in values.items() if k != "complete"})
        for k, v in validate_measurement(actor, record.participant, merged).items():
            setattr(record, k, v)
    elif isinstance(record, AdverseEvent):
        merged = {
            f: getattr(record, f)
            for f in ("term", "grade", "serious_criteria", "relatedness", "outcome")
        }
        merged.update(values)
        problems = check_ae(merged)
        if problems:
            raise ActionError(problems=problems)
        for k, v in values.items():
            setattr(record, k, v)
        record.serious = bool(record.serious_criteria) or record.grade == 5
        within = actor.trial.active_protocol().protocol.safety.sae_report_within
        record.sae_due_at = record.aware_at + dt.timedelta(hours=within) if record.serious else None
        record.windows = window_flags(record.participant, record.onset)
    else:
        if "consented_on" in values and isinstance(values["consented_on"], str):
            try:
                values["consented_on"] = dt.date.fromisoformat(values["consented_on"])
            except ValueError:
                raise ActionError("changes.consented_on", "a date, e.g. 2026-03-01") from None
        for k, v in values.items():
            if k in ("version", "cause") and not str(v or "").strip():
                raise ActionError(f"changes.{k}", "required")
            setattr(record, k, v)
    if "complete" in values:
        record.complete = bool(values["complete"])
    record.save()
    audit.write(
        actor, "edit_record", record, old=old, new=audit.snapshot(record), reason=reason.strip()
    )
    # A change to a record of a signed visit invalidates the signature (same transaction).
    invalidate_signatures(
        actor,
        signed_visits | record_visits(record),
        reason=f"{table} {record.pk} changed by {actor.username}: {reason.strip() or '(no reason)'}",
    )
    return record
