"""Changing a recorded form: re-validated, with a reason once the form is complete.

Each change is first read by its field's kind (:data:`KINDS`): a time, a date, text, yes/no,
a whole number, a list of codes, or a measurement's value. A missing or blank required value
or a value of the wrong kind is an :class:`ActionError` on ``changes.<field>`` (``required …``
or the kind expected), never a server error. The merged record is then checked by the same
rules as the action that entered it (the catalogue for a measurement, the AE form's rules,
:mod:`~celltrial.edc.actions.followup`'s for clinical events and deviations), whose problems
name the form's field as on entry (``value``, ``occurred_at`` …).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, cast

from django.db import models

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Forbidden,
    NotFound,
    Problem,
    action,
    aware,
    now,
    participant_for,
)
from celltrial.edc.actions._rules import enforce, enforce_milestones
from celltrial.edc.actions.clinical import check_visit_taken_place, validate_measurement
from celltrial.edc.actions.crf import history_values, medication_values
from celltrial.edc.actions.followup import (
    SKEW,
    deviation_description,
    deviation_time,
    event_term,
    event_time,
    event_twin,
)
from celltrial.edc.actions.monitoring import (
    check_unlocked,
    invalidate_signatures,
    record_visits,
)
from celltrial.edc.actions.safety import (
    AE_MAY_BE_MISSING,
    check_ae,
    check_missing,
    coded_outcome,
    end_problems,
    onset_problems,
    refresh_windows,
    window_flags,
)
from celltrial.edc.actions.sdv import undo_verifications
from celltrial.edc.models import (
    AdverseEvent,
    AuditEntry,
    ConcomitantMedication,
    Consent,
    Death,
    Disposition,
    Infusion,
    Measurement,
    MedicalHistory,
    Participant,
    Role,
    Staff,
    VisitRecord,
)
from celltrial.edc.models.clinical import ClinicalEvent, Deviation

#: table -> its model. The fields that may change are those of :data:`KINDS`, and ``complete``.
EDITABLE: dict[str, type[models.Model]] = {
    "measurement": Measurement,
    "adverse_event": AdverseEvent,
    "consent": Consent,
    "death": Death,
    "clinical_event": ClinicalEvent,
    "deviation": Deviation,
    "medication": ConcomitantMedication,
    "medical_history": MedicalHistory,
}

#: table -> field -> (kind, required). Kinds: ``time`` (ISO 8601 with a zone), ``date``,
#: ``text``, ``bool`` (true/false), ``bool?`` (true, false or null), ``int``, ``codes`` (a
#: list of texts), ``value`` (one value, parsed by the measurement's catalogue entry) and
#: ``choice`` (a text checked against its list by the form's rules).
KINDS: dict[str, dict[str, tuple[str, bool]]] = {
    "measurement": {
        "value": ("value", True),
        "measured_at": ("time", True),
        "visit": ("text", False),
        "unit": ("text", False),
        "confirmed": ("bool", True),
    },
    "adverse_event": {
        "term": ("text", True),
        "decoded_term": ("text", False),
        "onset": ("time", True),
        "grade": ("int", True),
        "serious_criteria": ("codes", False),
        # required by the AE form's rules unless given a missing-data code
        "relatedness": ("choice", False),
        "expected": ("bool?", False),
        "outcome": ("choice", False),
        "end_at": ("time", False),
        "ongoing": ("bool", False),
        "procedure_relatedness": ("choice", False),
        "action_taken": ("choice", False),
        "infusion_associated": ("bool?", False),
        "aware_at": ("time", True),
        "missing": ("missing", False),
    },
    "consent": {"version": ("text", True), "consented_on": ("date", True)},
    "death": {"died_at": ("time", True), "cause": ("text", True)},
    # Follow-up (actions/followup.py). The event code and the deviation category are not
    # editable: they are validated against the protocol on entry, so a wrong one is corrected
    # by recording the right one (and explaining in a note), not by an unchecked edit.
    "clinical_event": {
        "term": ("text", False),
        "occurred_at": ("time", True),
        "occurred": ("bool", True),
    },
    "deviation": {"description": ("text", True), "occurred_at": ("time", False)},
    # The safety CRF's CM and MH forms (actions/crf.py): every field of the entry form; what is
    # required (the name unless not done …) is the form's rules' to say, on the merged record.
    "medication": {
        "medication": ("text", False),
        "indication": ("text", False),
        "dose": ("number", False),
        "dose_unit": ("text", False),
        "route": ("choice", False),
        "frequency": ("choice", False),
        "start_date": ("date", False),
        "end_date": ("date", False),
        "ongoing": ("bool", False),
        "not_done": ("bool", False),
        "not_done_reason": ("text", False),
        "missing": ("missing", False),
    },
    "medical_history": {
        "term": ("text", False),
        "start_date": ("date", False),
        "end_date": ("date", False),
        "ongoing": ("bool", False),
        "not_done": ("bool", False),
        "not_done_reason": ("text", False),
        "missing": ("missing", False),
    },
}
#: What a required field of each kind expects (the "required" message says it).
EXPECTED = {
    "time": "an ISO 8601 time with a zone, e.g. 2026-03-01T10:00Z",
    "date": "a date, e.g. 2026-03-01",
    "text": "text",
    "bool": "true or false",
    "bool?": "true, false or null",
    "int": "a whole number",
    "codes": 'a list of codes, e.g. ["hospitalization"]',
    "value": "a value",
    "choice": "one of the form's options",
    "number": "a number",
    "missing": 'an object of field: missing-data code, e.g. {"end_date": "unknown"}',
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read(model: type[models.Model], key: str, kind: str, required: bool, value: Any) -> Any:
    """The change ``value`` of field ``key`` as the kind expects it, or an ActionError on
    ``changes.<key>``: ``required (…)`` when blank, the kind expected when it is another."""
    field = f"changes.{key}"
    expected = EXPECTED[kind]
    if kind == "bool?" and value is None:
        return None  # unknown
    if _blank(value):
        if required:
            raise ActionError(field, f"required ({expected})")
        # a blank optional field; else None
        return {"text": "", "codes": [], "choice": "", "missing": {}}.get(kind)
    if kind == "number":
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ActionError(field, f"{value!r} is not {expected}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ActionError(field, f"{expected}, got {value!r}")
        return value
    if kind == "missing":
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ActionError(field, f"{expected}, got {value!r}")
        return dict(value)
    if kind == "time":
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise ActionError(field, f"{value!r} is not {expected}") from None
        if not isinstance(value, dt.datetime):
            raise ActionError(field, f"{expected}, got {value!r}")
        return aware(value, field)
    if kind == "date":
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                raise ActionError(field, f"{value!r} is not {expected}") from None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ActionError(field, f"{expected}, got {value!r}")
        return value
    if kind in ("text", "choice"):
        if not isinstance(value, str):
            raise ActionError(field, f"{expected}, got {value!r}")
        if kind == "choice":
            return value
        limit = getattr(model._meta.get_field(key), "max_length", None)
        text = value.strip()
        if limit is not None and len(text) > limit:
            raise ActionError(field, f"at most {limit} characters, got {len(text)}")
        return text
    if kind in ("bool", "bool?"):
        if not isinstance(value, bool):
            raise ActionError(field, f"{expected}, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ActionError(field, f"{expected}, got {value!r}")
        return value
    if kind == "codes":
        if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) for c in value):
            raise ActionError(field, f"{expected}, got {value!r}")
        return list(value)
    # "value": one scalar; its kind, levels and range are the catalogue's to check.
    if not isinstance(value, (str, int, float)):
        raise ActionError(field, f"{expected} (a number, text or true/false), got {value!r}")
    return value


def _read_changes(
    table: str, model: type[models.Model], changes: Mapping[str, Any]
) -> dict[str, Any]:
    kinds = KINDS[table]
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, value in changes.items():
        kind, required = ("bool", True) if key == "complete" else kinds[key]
        try:
            values[key] = _read(model, key, kind, required, value)
        except ActionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ActionError(problems=problems)
    return values


def _not_future(when: dt.datetime | dt.date, field: str) -> None:
    """Times (and dates) entered are not in the future, as every entry form checks."""
    if isinstance(when, dt.datetime):
        if when > now() + SKEW:
            raise ActionError(field, f"{when:%Y-%m-%dT%H:%MZ} is in the future")
    elif when > now().date():
        raise ActionError(field, f"{when} is in the future")


def _follow_death(actor: Staff, death: Death, reason: str) -> None:
    """The death's disposition (DS) carries the same time and cause: kept in step, audited."""
    d = Disposition.objects.filter(
        participant_id=death.participant_id, kind=Disposition.Kind.DEATH
    ).first()
    if d is None or (d.at, d.reason) == (death.died_at, death.cause):
        return
    old = audit.snapshot(d, ["at", "reason"])
    d.at, d.reason = death.died_at, death.cause
    d.save(update_fields=["at", "reason"])
    audit.write(
        actor, "edit_record", d, old=old, new=audit.snapshot(d, ["at", "reason"]), reason=reason
    )


@action("edit_record", [Role.INVESTIGATOR, Role.COORDINATOR, Role.DATA_MANAGER])
def edit_record(
    actor: Staff, table: str, record_id: int, changes: Mapping[str, Any], *, reason: str = ""
) -> models.Model:
    """Change fields of a form; the audit row keeps old and new values and the reason."""
    if table not in EDITABLE:
        raise ActionError("table", f"{table!r} cannot be edited; editable: {', '.join(EDITABLE)}")
    model, allowed = EDITABLE[table], frozenset(KINDS[table]) | {"complete"}
    record: Any = (
        model._default_manager.select_related("participant")
        .filter(pk=record_id, participant__trial_id=actor.trial_id)
        .first()
    )
    if record is None:
        raise NotFound("record_id", f"no {table} {record_id}")
    p = participant_for(actor, record.participant)
    if getattr(record, "entered_in_error", False) or (
        isinstance(record, Death) and not death_stands(record)
    ):
        raise ActionError("record_id", f"{table} {record_id} is marked entered in error")
    check_unlocked(table, record)  # a locked record (or participant): 409 naming the lock
    signed_visits = record_visits(record)
    if not isinstance(changes, Mapping):
        raise ActionError("changes", f"an object of field: new value, got {changes!r}")
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
    values = _read_changes(table, model, changes)
    if isinstance(record, Measurement):
        merged = {
            f: getattr(record, f)
            for f in ("code", "value", "measured_at", "visit", "unit", "confirmed")
        }
        merged.update({k: v for k, v in values.items() if k != "complete"})
        checked = validate_measurement(actor, p, merged)
        check_visit_taken_place(p, checked["visit"])
        for k, v in checked.items():
            setattr(record, k, v)
    elif isinstance(record, AdverseEvent):
        merged = {
            f: getattr(record, f)
            for f in (
                "term",
                "grade",
                "serious_criteria",
                "relatedness",
                "outcome",
                "procedure_relatedness",
                "action_taken",
                "expected",
                "infusion_associated",
                "ongoing",
                "end_at",
            )
        }
        merged.update({k: v for k, v in values.items() if k != "missing"})
        onset = values.get("onset", record.onset)
        aware_at = values.get("aware_at", record.aware_at)
        # The codes given (or the stored ones); a value given now replaces its code.
        given = values.get("missing", record.missing) or {}
        given = {
            k: c
            for k, c in given.items()
            if not (
                k in values
                and values[k] not in (None, "")
                and not (k == "outcome" and values[k] == "unknown")  # the code's own value
            )
        }
        coded_outcome(merged, given)
        codes, found = check_missing(given, AE_MAY_BE_MISSING, merged)
        if "outcome" in codes:
            merged["outcome"] = values["outcome"] = "unknown"
        problems = check_ae(merged, coded=tuple(codes))
        problems += found
        problems += onset_problems(
            onset, aware_at, blame="aware_at" if "aware_at" in values else "onset"
        )
        problems += end_problems(onset, merged["end_at"])
        if (
            merged["infusion_associated"] is not None
            and ("infusion_associated" in values or "onset" in values)
            and not window_flags(p, onset)
        ):
            problems.append(
                Problem(
                    "infusion_associated",
                    "asked only when the onset falls in a protocol safety window after an "
                    "infusion; this onset does not",
                )
            )
        if problems:
            raise ActionError(problems=problems)
        if "onset" in values:
            enforce(p, Occurrence("adverse_event", values["onset"], "the onset"), "onset")
        if merged["end_at"] is not None and ("end_at" in values or "onset" in values):
            enforce(
                p,
                Occurrence("adverse_event", onset, "the adverse event", end=merged["end_at"]),
                "end_at",
            )
        record.missing = codes
        for k, v in values.items():
            if k != "missing":
                setattr(record, k, v)
        record.serious = bool(record.serious_criteria) or record.grade == 5
        within = actor.trial.active_protocol().protocol.safety.sae_report_within
        record.sae_due_at = record.aware_at + dt.timedelta(hours=within) if record.serious else None
        record.windows = window_flags(p, record.onset, terms=(record.term, record.decoded_term))
    elif isinstance(record, (ConcomitantMedication, MedicalHistory)):
        # The rules of record_medication / record_medical_history (crf.py) on the merged
        # record; a value given now replaces its missing-data code (as on the AE).
        names = [k for k in KINDS[table] if k != "missing"]
        merged = {f: getattr(record, f) for f in names}
        merged.update({k: v for k, v in values.items() if k in names})
        codes = dict(values.get("missing", record.missing) or {})
        codes = {
            k: c for k, c in codes.items() if not (k in values and values[k] not in (None, ""))
        }
        checked = (medication_values if table == "medication" else history_values)(
            p, **merged, missing=codes
        )
        for k, v in checked.items():
            setattr(record, k, v)
    elif isinstance(record, ClinicalEvent):
        # The rules of record_clinical_event (followup.py), on the merged record.
        if "term" in values:
            values["term"] = event_term(values["term"])
        if "occurred_at" in values:
            values["occurred_at"] = event_time(p, values["occurred_at"])
            event_twin(p, record.event, values["occurred_at"], exclude=record.pk)
        for k, v in values.items():
            setattr(record, k, v)
    elif isinstance(record, Deviation):
        # The rules of record_deviation (followup.py).
        if "description" in values:
            values["description"] = deviation_description(values["description"])
        if "occurred_at" in values:
            values["occurred_at"] = deviation_time(p, values["occurred_at"])
        for k, v in values.items():
            setattr(record, k, v)
    else:  # consent, death: the entry forms' rules (required, not in the future)
        for k in ("consented_on", "died_at"):
            if k in values:
                _not_future(values[k], k)
        # The dataset's order rules against the moved milestone (celltrial.dataset.rules).
        if "died_at" in values:
            enforce(p, Occurrence("death", values["died_at"], "the death"), "died_at")
            enforce_milestones(p, "died_at", exclude="the death", death=values["died_at"])
        if "consented_on" in values:
            others = Consent.objects.filter(participant=p).exclude(pk=record.pk)
            dates = [*others.values_list("consented_on", flat=True), values["consented_on"]]
            enforce_milestones(p, "consented_on", consent=min(dates))
        for k, v in values.items():
            setattr(record, k, v)
    if "complete" in values:
        record.complete = values["complete"]
    record.save()
    audit.write(
        actor, "edit_record", record, old=old, new=audit.snapshot(record), reason=reason.strip()
    )
    if isinstance(record, Death):
        _follow_death(actor, record, reason.strip())
    # A change to a verified form undoes its SDV, and a change to a record of a signed visit
    # invalidates the signature (same transaction, each with its audit row).
    why = f"{table} {record.pk} changed by {actor.username}: {reason.strip() or '(no reason)'}"
    undo_verifications(actor, table, record, reason=why)
    invalidate_signatures(
        actor,
        signed_visits | record_visits(record),
        reason=why,
    )
    return cast(models.Model, record)


#: Records that can be marked "entered in error" (table -> model).
IN_ERROR: dict[str, type[models.Model]] = {
    "measurement": Measurement,
    "adverse_event": AdverseEvent,
    "clinical_event": ClinicalEvent,
    "deviation": Deviation,
    "infusion": Infusion,
    "visit": VisitRecord,
    "disposition": Disposition,
    "medication": ConcomitantMedication,
    "medical_history": MedicalHistory,
}
#: Who may mark a table's records entered in error: an infusion holds the dose and the lot
#: (the arm), so only the unblinded role that records it (the pharmacist); the others, the
#: roles that correct clinical data.
IN_ERROR_ROLES: dict[str, frozenset[str]] = {
    "infusion": frozenset({Role.PHARMACIST}),
}
CLINICAL_CORRECTORS = frozenset({Role.INVESTIGATOR, Role.COORDINATOR, Role.DATA_MANAGER})
#: The status a participant had under each disposition (its kind).
_STATUS_OF: dict[str, str] = {
    Disposition.Kind.COMPLETED: Participant.Status.COMPLETED,
    Disposition.Kind.WITHDRAWN: Participant.Status.WITHDRAWN,
    Disposition.Kind.LOST: Participant.Status.LOST,
    Disposition.Kind.DEATH: Participant.Status.DEAD,
}
_LEAVING_ACTIONS = ("withdraw", "mark_lost_to_follow_up", "complete_study", "record_death")


def death_stands(death: Death) -> bool:
    """Whether ``death`` is the participant's death: its disposition (DS) is not entered in
    error. A death marked entered in error keeps its row (one per participant) and its audit
    rows; a death recorded again later writes its new time and cause into that row."""
    return Disposition.objects.filter(
        participant_id=death.participant_id,
        kind=Disposition.Kind.DEATH,
        entered_in_error=False,
    ).exists()


def _status_before_leaving(d: Disposition) -> str:
    """The status ``d``'s participant returns to once ``d`` is entered in error: that of a
    disposition still standing (a death first), else the status before the participant's first
    disposition, as its audit row recorded it (randomized when none says)."""
    standing = list(
        Disposition.objects.filter(participant_id=d.participant_id, entered_in_error=False)
        .exclude(pk=d.pk)
        .order_by("at", "id")
    )
    if standing:
        kinds = [x.kind for x in standing]
        return _STATUS_OF[Disposition.Kind.DEATH if "death" in kinds else kinds[0]]
    first = Disposition.objects.filter(participant_id=d.participant_id).order_by("pk").first()
    row = (
        AuditEntry.objects.filter(
            table="disposition",
            record_id=str(first.pk if first is not None else d.pk),
            action__in=_LEAVING_ACTIONS,
        )
        .order_by("seq")
        .first()
    )
    if row is not None and row.old:
        before = json.loads(row.old).get("status")
        if isinstance(before, str) and before in Participant.Status.values:
            return before
    return Participant.Status.RANDOMIZED


def in_error_refusal(actor: Staff, table: str) -> None:
    """A 403 when ``actor``'s role may not mark ``table``'s records; decided before any record
    is read, so the answer is the same whatever the record (and its arm)."""
    allowed = IN_ERROR_ROLES.get(table, CLINICAL_CORRECTORS)
    if actor.role not in allowed:
        if table == "infusion":
            raise Forbidden(
                "role",
                "an infusion is marked entered in error by the pharmacist (it holds the dose "
                "and the lot, which blinded roles do not see)",
            )
        raise Forbidden(
            "role",
            f"a {actor.role} may not mark a {table.replace('_', ' ')} entered in error "
            f"(allowed: {', '.join(sorted(allowed))})",
        )


@action(
    "mark_entered_in_error",
    [Role.INVESTIGATOR, Role.COORDINATOR, Role.DATA_MANAGER, Role.PHARMACIST],
)
def mark_entered_in_error(
    actor: Staff, table: str, record_id: int, *, reason: str = ""
) -> models.Model:
    """Mark a record "entered in error" (a duplicate, the wrong participant): it stays in the
    database and the audit trail (old and new values, the reason) and leaves the dataset, the
    rules' checks and the counts. Nothing is deleted; the mark is final (a record entered in
    error is entered again, correctly).

    An infusion (pharmacist only): its number may be recorded again; when it was the first,
    the visits anchored on the first administration move back to the plan; the adverse
    events' safety-window flags are recomputed. A visit: what was recorded of it (done at, or
    not done with its reason) is cleared, and the visit may be recorded again. A disposition
    (completion, withdrawal, loss to follow-up, death): the participant's status returns to
    what it was (a ``participant_status`` audit row). A death's disposition marked so also
    voids the death (time and cause: :func:`death_stands` is false, it can no longer be
    edited); a death recorded again afterwards writes into the same row, audited. A death's
    time or cause that is merely wrong is corrected with :func:`edit_record`.
    """
    if table not in IN_ERROR:
        raise ActionError(
            "table",
            f"{table!r} cannot be marked entered in error; these can: {', '.join(IN_ERROR)}",
        )
    in_error_refusal(actor, table)
    record: Any = (
        IN_ERROR[table]
        ._default_manager.select_related("participant")
        .filter(pk=record_id, participant__trial_id=actor.trial_id)
        .first()
    )
    if record is None:
        raise NotFound("record_id", f"no {table} {record_id}")
    participant_for(actor, record.participant, lock=True)
    check_unlocked(table, record)
    if not reason.strip():
        raise ActionError("reason", "say why the record was entered in error")
    if isinstance(record, VisitRecord):
        if record.done_at is None and not record.not_done:
            raise ActionError(
                "record_id", f"visit {record.visit} has nothing recorded to mark entered in error"
            )
    elif record.entered_in_error:
        raise ActionError("record_id", f"{table} {record_id} is marked entered in error already")
    signed_visits = record_visits(record)
    old = audit.snapshot(record)
    if isinstance(record, VisitRecord):
        record.done_at, record.in_window = None, None
        record.not_done, record.not_done_reason = False, ""
        record.save(update_fields=["done_at", "in_window", "not_done", "not_done_reason"])
    else:
        record.entered_in_error = True
        record.save(update_fields=["entered_in_error"])
    audit.write(
        actor,
        "mark_entered_in_error",
        record,
        old=old,
        new=audit.snapshot(record),
        reason=reason.strip(),
        blinded_safe=not isinstance(record, Infusion),
    )
    why = f"{table} {record.pk} marked entered in error by {actor.username}: {reason.strip()}"
    p = record.participant
    if isinstance(record, Infusion):
        from celltrial.edc.actions.randomization import reanchor_visits

        if record.number == 1:
            first = p.infusions.filter(number=1, entered_in_error=False).first()
            reanchor_visits(actor, p, first.started_at if first is not None else None)
        refresh_windows(actor, p, reason=f"infusion #{record.number} entered in error")
    elif isinstance(record, Disposition):
        before = p.status
        p.status = _status_before_leaving(record)
        p.save(update_fields=["status"])
        audit.write_status(actor, p, before)
    invalidate_signatures(actor, signed_visits, reason=why)
    return cast(models.Model, record)
