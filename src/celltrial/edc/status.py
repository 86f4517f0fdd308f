"""The status of each form of a casebook, computed in one place.

A form is one record of a participant (a measurement, an adverse event, a visit, a clinical
event, a deviation, a consent, the screening, an infusion, a death). Its status is the first
of these that holds (``docs/edc.md``, "Form status and source-data verification"):

=============  ==============================================================================
locked         a lock is in force on the record, or on all of the participant's records
queried        a query on the record is open or answered and not closed
signed         the investigator's signature of its visit is in force (a visit, or a
               measurement taken at it)
verified       a monitor's source-data verification (SDV) of the record is in force
complete       entered and marked complete (a visit: done, or recorded as not done)
in progress    entered, not complete (a visit: measurements taken, the visit not recorded)
empty          nothing entered yet (a scheduled visit not done)
=============  ==============================================================================

The participant page draws one icon per form from :attr:`FormState.status`, the record page
and the API say the same (:func:`casebook`). The SDV action refuses a form that is not
``complete`` (nothing or not all to verify), queried or locked, using this module.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from django.db import models

from celltrial.edc.models import (
    FormLock,
    Measurement,
    Participant,
    Query,
    Signature,
    SourceVerification,
    VisitRecord,
)


class FormStatus(enum.StrEnum):
    EMPTY = "empty"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    QUERIED = "queried"
    VERIFIED = "verified"
    LOCKED = "locked"
    SIGNED = "signed"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    FormStatus.EMPTY: "Empty",
    FormStatus.IN_PROGRESS: "In progress",
    FormStatus.COMPLETE: "Complete",
    FormStatus.QUERIED: "Queried",
    FormStatus.VERIFIED: "Source-verified",
    FormStatus.LOCKED: "Locked",
    FormStatus.SIGNED: "Signed",
}


@dataclasses.dataclass(frozen=True)
class FormState:
    """A form's status, what it rests on (said in words), and its SDV in force if any."""

    table: str
    record_id: str
    status: FormStatus
    detail: str
    sdv: SourceVerification | None

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def text(self) -> str:
        """The label and the detail: the icon's accessible name and tooltip."""
        return f"{self.label}: {self.detail}" if self.detail else self.label

    def as_dict(self) -> dict[str, Any]:
        sdv = self.sdv
        return {
            "table": self.table,
            "record_id": self.record_id,
            "status": str(self.status),
            "label": self.label,
            "detail": self.detail,
            "sdv": sdv is not None,
            "sdv_by": sdv.verified_by.username if sdv is not None else None,
            "sdv_at": (
                sdv.verified_at.isoformat().replace("+00:00", "Z") if sdv is not None else None
            ),
        }


def _when(at: Any) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


class Casebook:
    """The queries, locks, signatures and verifications of one participant, read once, and
    the status of any of their forms (:meth:`record`, :meth:`visit`)."""

    def __init__(self, participant: Participant):
        self.participant = participant
        pid = participant.pk
        self.queries: dict[tuple[str, str], list[Query]] = {}
        for q in (
            Query.objects.filter(participant_id=pid)
            .exclude(status=Query.Status.CLOSED)
            .order_by("id")
        ):
            self.queries.setdefault((q.table, q.record_id), []).append(q)
        locks = list(
            FormLock.objects.filter(participant_id=pid, unlocked_at__isnull=True)
            .select_related("locked_by__user")
            .order_by("id")
        )
        self.whole: FormLock | None = next((x for x in locks if not x.table), None)
        self.locks = {(x.table, x.record_id): x for x in locks if x.table}
        self.sdv = {
            (v.table, v.record_id): v
            for v in SourceVerification.objects.filter(participant_id=pid, undone_at__isnull=True)
            .select_related("verified_by__user")
            .order_by("id")
        }
        self.signed: dict[int, Signature] = {
            s.visit_id: s
            for s in Signature.objects.filter(
                visit__participant_id=pid, invalidated_at__isnull=True
            )
            .select_related("staff__user")
            .order_by("id")
        }
        self._visits: dict[str, VisitRecord] | None = None

    @property
    def locked(self) -> bool:
        """All of the participant's records are locked (the casebook is frozen)."""
        return self.whole is not None

    def _visit_of(self, code: str) -> VisitRecord | None:
        if self._visits is None:
            self._visits = {
                v.visit: v for v in VisitRecord.objects.filter(participant_id=self.participant.pk)
            }
        return self._visits.get(code)

    def _state(
        self, table: str, record_id: str, entered: FormStatus, signature: Signature | None
    ) -> FormState:
        key = (table, record_id)
        sdv = self.sdv.get(key)
        lock = self.whole or self.locks.get(key)
        queries = self.queries.get(key, [])
        if lock is not None:
            by = f"by {lock.locked_by.username} {_when(lock.locked_at)}"
            scope = "all records locked" if not lock.table else "locked"
            return FormState(table, record_id, FormStatus.LOCKED, f"{scope} {by}", sdv)
        if queries:
            numbers = ", ".join(f"#{q.pk} {q.status}" for q in queries)
            return FormState(table, record_id, FormStatus.QUERIED, f"query {numbers}", sdv)
        if signature is not None:
            by = f"signed by {signature.staff.username} {_when(signature.signed_at)}"
            return FormState(table, record_id, FormStatus.SIGNED, by, sdv)
        if sdv is not None:
            by = f"SDV by {sdv.verified_by.username} {_when(sdv.verified_at)}"
            return FormState(table, record_id, FormStatus.VERIFIED, by, sdv)
        detail = {
            FormStatus.COMPLETE: "SDV not done",
            FormStatus.IN_PROGRESS: "not complete",
            FormStatus.EMPTY: "nothing entered",
        }[entered]
        return FormState(table, record_id, entered, detail, None)

    def record(self, table: str, record: models.Model) -> FormState:
        """The status of a record of table ``table`` (a visit: see :meth:`visit`)."""
        if isinstance(record, VisitRecord):
            return self.visit(record)
        complete = bool(getattr(record, "complete", True))
        entered = FormStatus.COMPLETE if complete else FormStatus.IN_PROGRESS
        signature = None
        code = getattr(record, "visit", "")
        if isinstance(code, str) and code:
            v = self._visit_of(code)
            signature = self.signed.get(v.pk) if v is not None else None
        return self._state(table, str(record.pk), entered, signature)

    def visit(self, visit: VisitRecord, measurements: list[Measurement] | None = None) -> FormState:
        """A visit: empty until something is taken at it, in progress until it is recorded
        (done or not done) and all its measurements are complete."""
        if measurements is None:
            measurements = list(
                Measurement.objects.filter(participant_id=visit.participant_id, visit=visit.visit)
            )
        recorded = visit.done_at is not None or visit.not_done
        if recorded and all(m.complete for m in measurements):
            entered = FormStatus.COMPLETE
        elif recorded or measurements:
            entered = FormStatus.IN_PROGRESS
        else:
            entered = FormStatus.EMPTY
        return self._state("visit", str(visit.pk), entered, self.signed.get(visit.pk))


def casebook(participant: Participant) -> Casebook:
    """The participant's :class:`Casebook` (their forms' statuses)."""
    return Casebook(participant)


__all__ = ["LABELS", "Casebook", "FormState", "FormStatus", "casebook"]
