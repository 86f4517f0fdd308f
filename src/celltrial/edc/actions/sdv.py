"""Source-data verification (SDV): the monitor records that a form's values match the source.

Rules (``docs/edc.md``, "Form status and source-data verification"):

- Only a **monitor** of the participant's site verifies (:func:`verify_record`) or withdraws a
  verification (:func:`unverify_record`, a reason required). Each is an audit row.
- A form is verified when it is **complete** (:mod:`celltrial.edc.status`): an empty or
  unfinished form, a form with a query not closed, a locked form or one verified already is
  refused (409, naming why).
- A **change** to a verified form's data after the verification undoes it, in the change's
  transaction with its own audit row (:func:`undo_verifications`, called by ``edit_record``
  and ``report_sae``); the form shows "SDV not done" again until the monitor verifies the
  changed values.
"""

from __future__ import annotations

from django.db import connection, models

from celltrial.edc import audit
from celltrial.edc.actions._base import ActionError, Conflict, NotFound, action, now
from celltrial.edc.actions.monitoring import MAX_TEXT, find_record
from celltrial.edc.models import Role, SourceVerification, Staff
from celltrial.edc.status import FormStatus, casebook

VERIFIERS = frozenset({Role.MONITOR})


@action("verify_record", VERIFIERS)
def verify_record(actor: Staff, table: str, record_id: int | str) -> SourceVerification:
    """Record the monitor's source-data verification of one form.

    Parameters
    ----------
    table, record_id
        The form: a table of ``record_tables`` (``measurement``, ``adverse_event``, ``visit``,
        ``infusion``, ``screening`` …) and its id, of a participant at the monitor's sites.
    """
    ref = find_record(actor, table, record_id)
    if connection.features.has_select_for_update:  # one verification at a time per participant
        from celltrial.edc.models import Participant

        list(Participant.objects.select_for_update().filter(pk=ref.participant.pk).values("pk"))
    state = casebook(ref.participant).record(ref.table, ref.record)
    what = f"{ref.table} {ref.record_id}"
    if state.sdv is not None:
        raise Conflict("record_id", f"{what} is source-verified already ({state.detail})")
    if state.status in (FormStatus.LOCKED, FormStatus.QUERIED):
        raise Conflict(
            "record_id", f"{what} is {state.label.lower()} ({state.detail}): not verified"
        )
    if state.status in (FormStatus.EMPTY, FormStatus.IN_PROGRESS):
        raise Conflict(
            "record_id",
            f"{what} is {state.label.lower()} ({state.detail}): verify a complete form",
        )
    sdv = SourceVerification.objects.create(
        participant=ref.participant,
        table=ref.table,
        record_id=ref.record_id,
        verified_by=actor,
        verified_at=now(),
    )
    audit.write(
        actor,
        "verify_record",
        sdv,
        old=None,
        new=audit.snapshot(sdv) | {"participant": ref.participant.code},
    )
    return sdv


@action("unverify_record", VERIFIERS)
def unverify_record(
    actor: Staff, table: str, record_id: int | str, *, reason: str
) -> SourceVerification:
    """Withdraw the verification in force on a form (the monitor), saying why."""
    ref = find_record(actor, table, record_id)
    why = (reason or "").strip()
    if not why:
        raise ActionError("reason", "required: say why the verification is withdrawn")
    if len(why) > MAX_TEXT:
        raise ActionError("reason", f"at most {MAX_TEXT} characters")
    qs = SourceVerification.objects.filter(
        participant_id=ref.participant.pk,
        table=ref.table,
        record_id=ref.record_id,
        undone_at__isnull=True,
    )
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    sdv = qs.order_by("id").first()
    if sdv is None:
        raise NotFound("record_id", f"{ref.table} {ref.record_id} is not source-verified")
    return _undo(actor, sdv, why, "unverify_record")


def _undo(actor: Staff, sdv: SourceVerification, reason: str, name: str) -> SourceVerification:
    old = audit.snapshot(sdv)
    sdv.undone_by, sdv.undone_at, sdv.undone_reason = actor, now(), reason
    sdv.save(update_fields=["undone_by", "undone_at", "undone_reason"])
    audit.write(actor, name, sdv, old=old, new=audit.snapshot(sdv), reason=reason)
    return sdv


def undo_verifications(
    actor: Staff, table: str, record: models.Model, *, reason: str
) -> list[SourceVerification]:
    """Undo the verification in force on a form whose data just changed, with its audit row
    (``undo_verification``), in the caller's transaction. ``table`` is the EDC's name of the
    form's table (``measurement``, ``adverse_event`` …)."""
    participant_id = record.pk if table == "participant" else record.participant_id  # type: ignore[attr-defined]
    qs = SourceVerification.objects.filter(
        participant_id=participant_id,
        table=table,
        record_id=str(record.pk),
        undone_at__isnull=True,
    )
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    return [_undo(actor, sdv, reason, "undo_verification") for sdv in qs.order_by("id")]


__all__ = ["VERIFIERS", "undo_verifications", "unverify_record", "verify_record"]
