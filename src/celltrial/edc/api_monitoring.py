"""The REST API of monitoring: queries, form locks, visit signatures, a record's audit trail.

Mounted on the main API (:mod:`celltrial.edc.api`, which imports this module by its dotted
path at its end), so the bearer token, the error shape (``{"detail": [{"field", "message"}]}``)
and the ``Idempotency-Key`` header are the same. Nothing here names an arm: queries, locks and
signatures hold none, and a record's audit trail goes through
:func:`celltrial.edc.serialize.audit_entry`, which redacts arm-revealing rows for blinded roles.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

# Defined before the API module is imported: that module mounts this router by its dotted path
# at its end, so either module may be imported first.
router = Router()

from celltrial.edc import actions, serialize  # noqa: E402
from celltrial.edc.actions import monitoring  # noqa: E402
from celltrial.edc.api import _key, _participant, _participants, _require, _staff  # noqa: E402
from celltrial.edc.api_schemas import (  # noqa: E402
    CasebookOut,
    LockOut,
    QueryOut,
    RecordAuditOut,
    SignatureOut,
    VerificationOut,
    answers,
)
from celltrial.edc.models import (  # noqa: E402
    FormLock,
    Query,
    Role,
    Signature,
    SourceVerification,
    Staff,
)
from celltrial.edc.roles import AUDIT_READERS  # noqa: E402

#: Who may read queries, locks and signatures: site staff who answer and sign, and monitoring.
MONITORING_READERS = frozenset(
    {Role.INVESTIGATOR, Role.COORDINATOR, Role.MONITOR, Role.DATA_MANAGER}
)
TAGS = ["monitoring"]


class QueryIn(Schema):
    table: str
    record_id: str
    text: str
    field: str = ""


class AnswerIn(Schema):
    answer: str


class CloseIn(Schema):
    note: str = ""


class LockIn(Schema):
    participant: str
    table: str = ""
    record_id: str = ""
    reason: str = ""


class UnlockIn(Schema):
    reason: str


class VerifyIn(Schema):
    table: str
    record_id: str


class UnverifyIn(Schema):
    table: str
    record_id: str
    reason: str


class SignIn(Schema):
    participant: str
    visit: str
    password: str
    meaning: str | None = None


def _who(staff: Staff | None) -> str | None:
    return staff.username if staff is not None else None


def query_json(q: Query) -> dict[str, Any]:
    """A query as JSON (no arm: none is stored with it)."""
    return {
        "id": q.pk,
        "participant": monitoring.query_participant(q).code,
        "site": monitoring.query_participant(q).site.code,
        "table": q.table,
        "record_id": q.record_id,
        "field": q.field,
        "text": q.text,
        "status": q.status,
        "opened_by": _who(q.opened_by),
        "opened_at": serialize._t(q.opened_at),
        "answer": q.answer,
        "answered_by": _who(q.answered_by),
        "answered_at": serialize._t(q.answered_at),
        "closed_by": _who(q.closed_by),
        "closed_at": serialize._t(q.closed_at),
        "close_note": q.close_note,
    }


def lock_json(x: FormLock) -> dict[str, Any]:
    return {
        "id": x.pk,
        "participant": x.participant.code,
        "table": x.table,
        "record_id": x.record_id,
        "scope": "record" if x.table else "participant",
        "reason": x.reason,
        "locked_by": _who(x.locked_by),
        "locked_at": serialize._t(x.locked_at),
        "unlocked_by": _who(x.unlocked_by),
        "unlocked_at": serialize._t(x.unlocked_at),
        "active": x.unlocked_at is None,
    }


def signature_json(s: Signature) -> dict[str, Any]:
    return {
        "id": s.pk,
        "participant": s.visit.participant.code,
        "visit": s.visit.visit,
        "signed_by": _who(s.staff),
        "signed_at": serialize._t(s.signed_at),
        "meaning": s.meaning,
        "invalidated_at": serialize._t(s.invalidated_at),
        "invalidated_reason": s.invalidated_reason,
        "valid": s.invalidated_at is None,
    }


_PEOPLE = ("opened_by__user", "answered_by__user", "closed_by__user", "participant__site")


def _queries(staff: Staff) -> Any:
    return Query.objects.filter(participant__in=_participants(staff)).select_related(*_PEOPLE)


# ----------------------------------------------------------------------------------- reads


@router.get("/queries", tags=TAGS, response=answers(list[QueryOut]), exclude_unset=True)
def queries(
    request: HttpRequest,
    status: str | None = None,
    participant: str | None = None,
    table: str | None = None,
    record_id: str | None = None,
) -> list[dict[str, Any]]:
    """Queries at the caller's sites, oldest first; filter by status (open, answered, closed),
    participant or record."""
    s = _staff(request)
    _require(s, MONITORING_READERS, "queries")
    qs = _queries(s)
    if status:
        if status not in Query.Status.values:
            raise actions.ActionError(
                "status", f"one of {', '.join(Query.Status.values)}, got {status!r}"
            )
        qs = qs.filter(status=status)
    if participant:
        qs = qs.filter(participant=_participant(s, participant))
    if table:
        qs = qs.filter(table=monitoring.table_key(table))
    if record_id:
        qs = qs.filter(record_id=record_id)
    return [query_json(q) for q in qs.order_by("id")]


@router.get("/queries/{number}", tags=TAGS, response=answers(QueryOut), exclude_unset=True)
def query(request: HttpRequest, number: int) -> dict[str, Any]:
    s = _staff(request)
    _require(s, MONITORING_READERS, "queries")
    return query_json(monitoring.query_for(s, number))


@router.get("/locks", tags=TAGS, response=answers(list[LockOut]), exclude_unset=True)
def locks(
    request: HttpRequest, participant: str | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    """Form locks at the caller's sites (``active=true``: those in force)."""
    s = _staff(request)
    _require(s, MONITORING_READERS, "form locks")
    qs = FormLock.objects.filter(participant__in=_participants(s)).select_related(
        "participant", "locked_by__user", "unlocked_by__user"
    )
    if participant:
        qs = qs.filter(participant=_participant(s, participant))
    if active is not None:
        qs = qs.filter(unlocked_at__isnull=active)
    return [lock_json(x) for x in qs.order_by("id")]


@router.get("/signatures", tags=TAGS, response=answers(list[SignatureOut]), exclude_unset=True)
def signatures(
    request: HttpRequest, participant: str | None = None, valid: bool | None = None
) -> list[dict[str, Any]]:
    """Visit signatures at the caller's sites (``valid=true``: those not invalidated)."""
    s = _staff(request)
    _require(s, MONITORING_READERS, "signatures")
    qs = Signature.objects.filter(visit__participant__in=_participants(s)).select_related(
        "visit__participant", "staff__user"
    )
    if participant:
        qs = qs.filter(visit__participant=_participant(s, participant))
    if valid is not None:
        qs = qs.filter(invalidated_at__isnull=valid)
    return [signature_json(x) for x in qs.order_by("id")]


@router.get(
    "/audit/record/{table}/{record_id}",
    tags=["audit"],
    response=answers(RecordAuditOut),
    exclude_unset=True,
)
def record_audit(request: HttpRequest, table: str, record_id: str) -> dict[str, Any]:
    """The audit trail of one record (``measurement``, ``adverse_event``, ``visit``, …, or the
    audit trail's own table names): its rows and those of the queries, locks and signatures
    about it. Rows that reveal an arm are redacted for blinded roles."""
    s = _staff(request)
    _require(s, AUDIT_READERS, "the audit trail")
    ref, rows = monitoring.record_audit(s, table, record_id)
    return {
        "table": ref.table,
        "record_id": ref.record_id,
        "participant": ref.participant.code,
        "entries": [serialize.audit_entry(s, e) for e in rows],
    }


def verification_json(v: SourceVerification) -> dict[str, Any]:
    return {
        "id": v.pk,
        "participant": v.participant.code,
        "table": v.table,
        "record_id": v.record_id,
        "verified_by": _who(v.verified_by),
        "verified_at": serialize._t(v.verified_at),
        "undone_by": _who(v.undone_by),
        "undone_at": serialize._t(v.undone_at),
        "undone_reason": v.undone_reason,
        "active": v.undone_at is None,
    }


@router.get(
    "/participants/{code}/forms", tags=TAGS, response=answers(CasebookOut), exclude_unset=True
)
def forms(request: HttpRequest, code: str) -> dict[str, Any]:
    """The status of each form of a participant's casebook (empty, in progress, complete,
    queried, verified, locked, signed) and its source-data verification, computed by
    :mod:`celltrial.edc.status`. Infusions are listed for every reader (their status holds no
    arm); the forms of a blinded reader hold no dose or lot."""
    s = _staff(request)
    _require(s, MONITORING_READERS, "form statuses")
    p = _participant(s, code)
    return casebook_json(p)


def casebook_json(p: Any) -> dict[str, Any]:
    from celltrial.edc.status import casebook

    book = casebook(p)
    states = [book.visit(v) for v in p.visits.order_by("nominal", "id")]
    for table, rows in (
        ("screening", [p.screening] if hasattr(p, "screening") else []),
        ("consent", p.consents.order_by("id")),
        ("measurement", p.measurements.order_by("measured_at", "id")),
        ("adverse_event", p.adverse_events.order_by("onset", "id")),
        ("infusion", p.infusions.order_by("number")),
        ("clinical_event", p.clinical_events.order_by("occurred_at", "id")),
        ("deviation", p.deviations.order_by("recorded_at", "id")),
    ):
        states += [book.record(table, r) for r in rows]
    return {"participant": p.code, "locked": book.locked, "forms": [x.as_dict() for x in states]}


@router.get(
    "/verifications", tags=TAGS, response=answers(list[VerificationOut]), exclude_unset=True
)
def verifications(
    request: HttpRequest, participant: str | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    """Source-data verifications at the caller's sites (``active=true``: those in force)."""
    s = _staff(request)
    _require(s, MONITORING_READERS, "source-data verifications")
    qs = SourceVerification.objects.filter(participant__in=_participants(s)).select_related(
        "participant", "verified_by__user", "undone_by__user"
    )
    if participant:
        qs = qs.filter(participant=_participant(s, participant))
    if active is not None:
        qs = qs.filter(undone_at__isnull=active)
    return [verification_json(v) for v in qs.order_by("id")]


# ---------------------------------------------------------------------------------- writes


@router.post("/verifications", tags=TAGS, response=answers(VerificationOut), exclude_unset=True)
def verify(request: HttpRequest, body: VerifyIn) -> dict[str, Any]:
    """The monitor records the source-data verification of one form."""
    s = _staff(request)
    v = actions.verify_record(s, body.table, body.record_id, idempotency_key=_key(request))
    return verification_json(v)


@router.post(
    "/verifications/withdraw", tags=TAGS, response=answers(VerificationOut), exclude_unset=True
)
def unverify(request: HttpRequest, body: UnverifyIn) -> dict[str, Any]:
    """The monitor withdraws the verification in force on a form, saying why."""
    s = _staff(request)
    v = actions.unverify_record(
        s, body.table, body.record_id, reason=body.reason, idempotency_key=_key(request)
    )
    return verification_json(v)


@router.post("/queries", tags=TAGS, response=answers(QueryOut), exclude_unset=True)
def open_query(request: HttpRequest, body: QueryIn) -> dict[str, Any]:
    s = _staff(request)
    q = actions.open_query(
        s, body.table, body.record_id, body.text, field=body.field, idempotency_key=_key(request)
    )
    return query_json(monitoring.query_for(s, q.pk))


@router.post("/queries/{number}/answer", tags=TAGS, response=answers(QueryOut), exclude_unset=True)
def answer_query(request: HttpRequest, number: int, body: AnswerIn) -> dict[str, Any]:
    s = _staff(request)
    q = actions.answer_query(s, number, body.answer, idempotency_key=_key(request))
    return query_json(monitoring.query_for(s, q.pk))


@router.post("/queries/{number}/close", tags=TAGS, response=answers(QueryOut), exclude_unset=True)
def close_query(request: HttpRequest, number: int, body: CloseIn) -> dict[str, Any]:
    s = _staff(request)
    q = actions.close_query(s, number, note=body.note, idempotency_key=_key(request))
    return query_json(monitoring.query_for(s, q.pk))


@router.post("/locks", tags=TAGS, response=answers(LockOut), exclude_unset=True)
def lock(request: HttpRequest, body: LockIn) -> dict[str, Any]:
    """Lock one record (``table`` and ``record_id``) or all of a participant's (table blank)."""
    s = _staff(request)
    x = actions.lock_record(
        s,
        body.participant,
        table=body.table,
        record_id=body.record_id,
        reason=body.reason,
        idempotency_key=_key(request),
    )
    return lock_json(x)


@router.post("/locks/{number}/unlock", tags=TAGS, response=answers(LockOut), exclude_unset=True)
def unlock(request: HttpRequest, number: int, body: UnlockIn) -> dict[str, Any]:
    s = _staff(request)
    x = actions.unlock_record(s, number, reason=body.reason, idempotency_key=_key(request))
    return lock_json(x)


@router.post("/signatures", tags=TAGS, response=answers(SignatureOut), exclude_unset=True)
def sign(request: HttpRequest, body: SignIn) -> dict[str, Any]:
    """The investigator signs a visit, re-entering the password."""
    s = _staff(request)
    meaning = {"meaning": body.meaning} if body.meaning is not None else {}
    x = actions.sign_visit(
        s,
        body.participant,
        body.visit,
        password=body.password,
        idempotency_key=_key(request),
        **meaning,
    )
    return signature_json(x)


__all__ = [
    "casebook_json",
    "lock_json",
    "query_json",
    "router",
    "signature_json",
    "verification_json",
]
