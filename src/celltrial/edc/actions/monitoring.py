"""Monitoring: data queries, form locks and the investigator's e-signature of a visit.

Rules chosen here (``docs/edc.md``, "Monitoring: queries, locks and signatures"):

- A **query** is raised by a monitor or data manager on one record (and optionally one field)
  of a participant at their sites; site staff (investigator, coordinator) of that site answer
  it; a monitor or data manager closes it. An answered query is closed (with an optional
  note); an unanswered one may be closed only with a note saying why (e.g. raised in error).
  A closed query is final: there is no re-opening. When an answer does not settle the
  question, the monitor closes it saying so and opens a new query, so that every question and
  its answer stay as they were written (the audit trail keeps both anyway).
- A **lock** (data manager) covers one record, or every record of a participant when its
  table is blank. :func:`~celltrial.edc.actions.edit_record` refuses to change a locked
  record (409, naming the lock). A participant lock freezes the casebook: new data for the
  participant (measurements, AEs, visits, infusions, clinical events, deviations, consent,
  screening, dispositions) are refused too, by :func:`~celltrial.edc.actions._base.participant_for`
  (see ``FROZEN_EXEMPT`` there for what still runs). A record (or a participant) is locked only
  when no query on it is still open or answered-but-not-closed ("clean, then lock").
  Unlocking needs a reason.
- A **signature** (investigator only) applies to one visit that is done (or recorded not
  done): the password is re-entered and checked with Django's password hashers. A visit with
  an *open* (unanswered) query on one of its records cannot be signed; answered queries do not
  block (the investigator has done their part; a change that follows invalidates the
  signature anyway). Editing a record of a signed visit (the visit itself, or a measurement
  taken at that visit) invalidates the signature in the same transaction, with its own audit
  row; the investigator signs again. A failed attempt (wrong or empty password) is written to
  the audit trail (``sign_visit_failed``, on the visit) in a transaction of its own after the
  refusal's rollback; after :data:`SIGN_FAILURES` failures within :data:`SIGN_PAUSE_SECONDS`
  the user's signing is paused (429), as the web log-in is.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.apps import apps
from django.db import connection, models
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    Forbidden,
    NotFound,
    TooManyAttempts,
    action,
    now,
    participant_for,
)
from celltrial.edc.actions.accounts import count_wrong_password, lockout_error
from celltrial.edc.models import (
    AuditEntry,
    ClinicalEvent,
    ConcomitantMedication,
    Deviation,
    Disposition,
    FormLock,
    Infusion,
    Measurement,
    MedicalHistory,
    Participant,
    Query,
    Role,
    ScreeningRecord,
    Signature,
    SourceVerification,
    Staff,
    VisitRecord,
)
from celltrial.edc.roles import may_access, sees_arm, site_ids
from celltrial.edc.throttle import LOGIN, Throttle, login_key

QUERY_OPENERS = frozenset({Role.MONITOR, Role.DATA_MANAGER})
QUERY_ANSWERERS = frozenset({Role.INVESTIGATOR, Role.COORDINATOR})
LOCKERS = frozenset({Role.DATA_MANAGER})
SIGNERS = frozenset({Role.INVESTIGATOR})

#: What the investigator's signature means (21 CFR 11.50: the meaning is part of the record).
DEFAULT_MEANING = (
    "I have reviewed the data recorded for this visit and confirm that they are accurate "
    "and complete."
)
MAX_TEXT = 4000
#: Failed signing attempts per user allowed within :data:`SIGN_PAUSE_SECONDS` (as the web
#: log-in: five in 15 minutes, then signing is paused until the oldest is 15 minutes old).
SIGN_FAILURES = 5
SIGN_PAUSE_SECONDS = 15 * 60
SIGNING = Throttle("sign", SIGN_FAILURES, SIGN_PAUSE_SECONDS)

#: Tables a query or a lock may name besides those of ``edit.EDITABLE``.
EXTRA_TABLES: dict[str, type[models.Model]] = {
    "participant": Participant,
    "screening": ScreeningRecord,
    "visit": VisitRecord,
    "infusion": Infusion,
    "disposition": Disposition,
    "clinical_event": ClinicalEvent,
    "deviation": Deviation,
    "medication": ConcomitantMedication,
    "medical_history": MedicalHistory,
}
#: Fields a blinded role may see (and query) of tables that hold arm-revealing values.
BLINDED_FIELDS: dict[str, tuple[str, ...]] = {
    "infusion": ("number", "started_at", "stopped_at", "in_window"),
}
HIDDEN_FIELDS = frozenset({"id", "participant", "trial"})


def record_tables() -> dict[str, type[models.Model]]:
    """Table name -> model, for the tables a query, a lock or a record's audit trail names:
    the editable forms (``edit.EDITABLE``) and :data:`EXTRA_TABLES`."""
    from celltrial.edc.actions.edit import EDITABLE  # edit imports this module

    return {**EXTRA_TABLES, **EDITABLE}


def table_key(table: str) -> str:
    """The table's name as the EDC writes it (``adverse_event``), also given the model's name
    as the audit trail stores it (``adverseevent``); an unknown table is an ActionError."""
    tables = record_tables()
    if table in tables:
        return table
    for key, model in tables.items():
        if model._meta.model_name == table:
            return key
    raise ActionError("table", f"{table!r} is not a record table; one of {', '.join(tables)}")


def visible_fields(staff: Staff, table: str) -> list[str]:
    """The fields of a table ``staff`` may see (a blinded role: no dose, lot or product)."""
    key = table_key(table)
    if key in BLINDED_FIELDS and not sees_arm(staff):
        return list(BLINDED_FIELDS[key])
    model = record_tables()[key]
    return [f.name for f in model._meta.concrete_fields if f.name not in HIDDEN_FIELDS]


@dataclasses.dataclass(frozen=True)
class RecordRef:
    """A record found in the actor's trial and sites, with its participant."""

    table: str
    record: models.Model
    participant: Participant

    @property
    def record_id(self) -> str:
        return str(self.record.pk)

    @property
    def model_name(self) -> str:
        return str(self.record._meta.model_name)


def find_record(staff: Staff, table: str, record_id: int | str) -> RecordRef:
    """The record ``table``/``record_id`` of the staff's trial at one of their sites."""
    key = table_key(table)
    model = record_tables()[key]
    try:
        pk = int(str(record_id).strip())
    except ValueError:
        raise ActionError("record_id", f"a record number, got {record_id!r}") from None
    record: Any
    if model is Participant:
        record = (
            Participant.objects.select_related("site")
            .filter(pk=pk, trial_id=staff.trial_id)
            .first()
        )
        participant = record
    else:
        record = (
            model._default_manager.select_related("participant__site")
            .filter(pk=pk, participant__trial_id=staff.trial_id)
            .first()
        )
        participant = record.participant if record is not None else None
    if record is None or participant is None or not may_access(staff, participant.site):
        raise NotFound("record_id", f"no {key} {pk} in this trial")  # another site's: the same
    return RecordRef(key, record, participant)


def _lock_participant_row(p: Participant) -> None:
    """On PostgreSQL, lock the participant's row: locks, signatures and edits of one
    participant then follow one another (SQLite has one writer at a time anyway)."""
    if connection.features.has_select_for_update:
        list(Participant.objects.select_for_update().filter(pk=p.pk).values_list("pk"))


def _text(value: str, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ActionError(field, f"required: {what}")
    if len(text) > MAX_TEXT:
        raise ActionError(field, f"at most {MAX_TEXT} characters")
    return text


def _unclosed(ref: RecordRef, *, whole_participant: bool = False) -> list[Query]:
    qs = Query.objects.filter(participant_id=ref.participant.pk).exclude(status=Query.Status.CLOSED)
    if not whole_participant:
        qs = qs.filter(table=ref.table, record_id=ref.record_id)
    return list(qs.order_by("id"))


def _numbers(queries: list[Query]) -> str:
    return ", ".join(f"#{q.pk}" for q in queries)


# ------------------------------------------------------------------------------- queries


@action("open_query", QUERY_OPENERS)
def open_query(
    actor: Staff, table: str, record_id: int | str, text: str, *, field: str = ""
) -> Query:
    """Raise a query on one record (and optionally one of its fields) for the site to answer.

    Parameters
    ----------
    table, record_id
        The record: a table of :func:`record_tables` (``measurement``, ``adverse_event``,
        ``visit``, ``infusion``, ``screening``, ``participant`` …) and its id, of a participant
        at one of the actor's sites.
    text
        The question.
    field
        The field questioned (one the actor may see; ``values.<code>`` for a screening value).
    """
    ref = find_record(actor, table, record_id)
    question = _text(text, "text", "the question to the site")
    field = (field or "").strip()
    if field:
        allowed = visible_fields(actor, ref.table)
        if field.split(".", 1)[0] not in allowed:
            raise ActionError(
                "field", f"{ref.table} has no field {field!r}; fields: {', '.join(allowed)}"
            )
    q = Query.objects.create(
        trial_id=actor.trial_id,
        participant=ref.participant,
        table=ref.table,
        record_id=ref.record_id,
        field=field,
        text=question,
        status=Query.Status.OPEN,
        opened_by=actor,
        opened_at=now(),
    )
    audit.write(actor, "open_query", q, old=None, new=audit.snapshot(q))
    return q


def query_for(staff: Staff, query_id: int | str, *, lock: bool = False) -> Query:
    """The query of the staff's trial, at one of their sites (row-locked if asked)."""
    try:
        pk = int(str(query_id))
    except ValueError:
        raise NotFound("query", f"no query {query_id!r}") from None
    qs = Query.objects.select_related("participant__site", "opened_by__user")
    if lock and connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    q = qs.filter(pk=pk, trial_id=staff.trial_id).first()
    if q is None or not may_access(staff, query_participant(q).site):
        raise NotFound("query", f"no query #{pk} in this trial")  # another site's: the same
    return q


def query_participant(q: Query) -> Participant:
    """The participant a query is about (:func:`open_query` always sets one; the column is
    nullable in the schema only)."""
    if q.participant is None:
        raise NotFound("query", f"query #{q.pk} is about no participant")
    return q.participant


@action("answer_query", QUERY_ANSWERERS)
def answer_query(actor: Staff, query_id: int | str, answer: str) -> Query:
    """The site's answer to an open query (investigator or coordinator of that site)."""
    q = query_for(actor, query_id, lock=True)
    text = _text(answer, "answer", "the answer to the query")
    if q.status != Query.Status.OPEN:
        raise Conflict(
            "query",
            f"query #{q.pk} is {q.status}; only an open query is answered "
            "(the monitor opens a new query for a further question)",
        )
    old = audit.snapshot(q)
    q.answer, q.answered_by, q.answered_at = text, actor, now()
    q.status = Query.Status.ANSWERED
    q.save(update_fields=["answer", "answered_by", "answered_at", "status"])
    audit.write(actor, "answer_query", q, old=old, new=audit.snapshot(q))
    return q


@action("close_query", QUERY_OPENERS)
def close_query(actor: Staff, query_id: int | str, *, note: str = "") -> Query:
    """Close a query (monitor or data manager). An answered query closes with an optional
    note; an unanswered one needs a note saying why. Closed is final (no re-opening)."""
    q = query_for(actor, query_id, lock=True)
    if q.status == Query.Status.CLOSED:
        raise Conflict("query", f"query #{q.pk} is closed already")
    note = (note or "").strip()
    if q.status == Query.Status.OPEN and not note:
        raise ActionError(
            "note", "the query has no answer: say why it is closed (e.g. raised in error)"
        )
    if len(note) > MAX_TEXT:
        raise ActionError("note", f"at most {MAX_TEXT} characters")
    old = audit.snapshot(q)
    q.close_note, q.closed_by, q.closed_at = note, actor, now()
    q.status = Query.Status.CLOSED
    q.save(update_fields=["close_note", "closed_by", "closed_at", "status"])
    audit.write(actor, "close_query", q, old=old, new=audit.snapshot(q), reason=note)
    return q


# --------------------------------------------------------------------------------- locks


def active_lock(participant_id: int, table: str = "", record_id: str = "") -> FormLock | None:
    """The lock in force on a record (or on the whole participant), if any."""
    qs = FormLock.objects.filter(participant_id=participant_id, unlocked_at__isnull=True)
    scope = Q(table="")
    if table:
        scope |= Q(table=table, record_id=str(record_id))
    return qs.filter(scope).select_related("locked_by__user").order_by("id").first()


def describe_lock(lock: FormLock) -> str:
    what = f"{lock.table} {lock.record_id}" if lock.table else "all records of the participant"
    why = f": {lock.reason}" if lock.reason else ""
    return (
        f"lock #{lock.pk} on {what} by {lock.locked_by.username} "
        f"at {lock.locked_at:%Y-%m-%d %H:%M} UTC{why}"
    )


@action("lock_record", LOCKERS)
def lock_record(
    actor: Staff,
    participant: Participant | str,
    *,
    table: str = "",
    record_id: int | str = "",
    reason: str = "",
) -> FormLock:
    """Lock one record of a participant, or all of them when ``table`` is blank (data manager).

    Refused while a query on the record (or any record of the participant) is not closed, and
    when a lock in force already covers it.
    """
    p = participant_for(actor, participant, lock=True)
    table = (table or "").strip()
    rid = str(record_id or "").strip()
    if table and table_key(table) == "participant":
        if rid and rid != str(p.pk):
            raise ActionError("record_id", f"participant {rid} is not {p.code}")
        table, rid = "", ""
    if not table and rid:
        raise ActionError("table", "name the table of the record to lock (blank: all records)")
    if table:
        if not rid:
            raise ActionError("record_id", "required with a table (blank table: all records)")
        ref = find_record(actor, table, rid)
        if ref.participant.pk != p.pk:
            raise ActionError(
                "record_id", f"{ref.table} {ref.record_id} is not a record of {p.code}"
            )
        table, rid = ref.table, ref.record_id
    else:
        ref = RecordRef("participant", p, p)
    found = active_lock(p.pk, table, rid)
    if found is not None:
        raise Conflict("lock", f"already locked: {describe_lock(found)}")
    unclosed = _unclosed(ref, whole_participant=not table)
    if unclosed:
        raise Conflict(
            "queries",
            f"close the queries first ({_numbers(unclosed)}): a record is locked once clean",
        )
    why = (reason or "").strip()
    if len(why) > MAX_TEXT:
        raise ActionError("reason", f"at most {MAX_TEXT} characters")
    lock = FormLock.objects.create(
        participant=p,
        table=table,
        record_id=rid,
        reason=why,
        locked_by=actor,
        locked_at=now(),
    )
    audit.write(actor, "lock_record", lock, old=None, new=audit.snapshot(lock), reason=why)
    return lock


@action("unlock_record", LOCKERS)
def unlock_record(actor: Staff, lock_id: int | str, *, reason: str) -> FormLock:
    """Lift a lock (data manager), with the reason (kept in the audit trail)."""
    try:
        pk = int(str(lock_id))
    except ValueError:
        raise NotFound("lock", f"no lock {lock_id!r}") from None
    qs = FormLock.objects.select_related("participant__site", "locked_by__user")
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    lock = qs.filter(pk=pk, participant__trial_id=actor.trial_id).first()
    if lock is None:
        raise NotFound("lock", f"no lock #{pk} in this trial")
    participant_for(actor, lock.participant, lock=True)
    why = _text(reason, "reason", "say why the lock is lifted")
    if lock.unlocked_at is not None:
        raise Conflict("lock", f"lock #{lock.pk} was lifted already")
    old = audit.snapshot(lock)
    lock.unlocked_by, lock.unlocked_at = actor, now()
    lock.save(update_fields=["unlocked_by", "unlocked_at"])
    audit.write(actor, "unlock_record", lock, old=old, new=audit.snapshot(lock), reason=why)
    return lock


def check_unlocked(table: str, record: models.Model) -> None:
    """Raise :class:`Conflict` naming the lock when ``record`` (or its participant) is locked.

    Called by ``edit_record`` inside its transaction (the participant's row is locked first, so
    a lock being taken at the same time is seen)."""
    # Every record table but the participant's own has a participant.
    p: Any = record if isinstance(record, Participant) else record.participant  # type: ignore[attr-defined]
    _lock_participant_row(p)
    key = table_key(table)
    lock = active_lock(p.pk, "" if key == "participant" else key, str(record.pk))
    if lock is not None:
        raise Conflict(
            "lock",
            f"{key} {record.pk} is locked ({describe_lock(lock)}); a data manager unlocks it",
        )


# ---------------------------------------------------------------------------- signatures


def record_visits(record: models.Model) -> set[int]:
    """Ids of the visits a record belongs to: the visit itself, or the visit a measurement
    (or any record with a ``visit`` code) was taken at."""
    if isinstance(record, VisitRecord):
        return {record.pk}
    code = getattr(record, "visit", "")
    if not isinstance(code, str) or not code:
        return set()
    participant_id = record.participant_id  # type: ignore[attr-defined]  # a participant's record
    rows = VisitRecord.objects.filter(participant_id=participant_id, visit=code)
    return set(rows.values_list("pk", flat=True))


def invalidate_signatures(actor: Staff, visit_ids: set[int], *, reason: str) -> list[Signature]:
    """Invalidate the signatures in force on these visits (after a change to their data),
    each with its audit row, in the caller's transaction."""
    if not visit_ids:
        return []
    qs = Signature.objects.filter(visit_id__in=visit_ids, invalidated_at__isnull=True)
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    out = []
    for sig in qs.order_by("id"):
        old = audit.snapshot(sig)
        sig.invalidated_at, sig.invalidated_reason = now(), reason
        sig.save(update_fields=["invalidated_at", "invalidated_reason"])
        audit.write(
            actor, "invalidate_signature", sig, old=old, new=audit.snapshot(sig), reason=reason
        )
        out.append(sig)
    return out


def visit_queries(visit: VisitRecord, *, status: str = Query.Status.OPEN) -> list[Query]:
    """Queries of ``status`` on the visit or on a measurement taken at it."""
    ids = [
        str(i)
        for i in Measurement.objects.filter(
            participant_id=visit.participant_id, visit=visit.visit
        ).values_list("pk", flat=True)
    ]
    scope = Q(table="visit", record_id=str(visit.pk)) | Q(table="measurement", record_id__in=ids)
    qs = Query.objects.filter(participant_id=visit.participant_id, status=status).filter(scope)
    return list(qs.order_by("id"))


def active_signature(visit: VisitRecord) -> Signature | None:
    return (
        Signature.objects.filter(visit=visit, invalidated_at__isnull=True)
        .select_related("staff__user")
        .order_by("-id")
        .first()
    )


def _signer(staff: Staff) -> str:
    # The account: its id and creation time (a database made afresh, as a test database is,
    # does not inherit the counts of an earlier one sharing the cache folder).
    user = staff.user
    return f"{user.pk}:{user.date_joined.timestamp():.6f}"


def sign_failures(staff: Staff) -> list[float]:
    """Times (epoch seconds) of the user's failed signing attempts within the pause window
    (Django's cache, as the web log-in's failures: :mod:`celltrial.edc.throttle`)."""
    return SIGNING.recent(_signer(staff))


def _signing_failed(
    actor: Staff, p: Participant, visit: VisitRecord, exc: ActionError, why: str, failures: int
) -> ActionError:
    """``exc``, set to write the failed attempt's audit row once the action's transaction is
    rolled back (in a transaction of its own, so that the refusal does not erase it)."""

    def write() -> None:
        if why in ("wrong password", "no password"):
            count_wrong_password(actor)  # toward the account's lockout (log-in included)
        audit.write(
            actor,
            "sign_visit_failed",
            visit,
            old=None,
            new={"participant": p.code, "visit": visit.visit, "failures": failures},
            reason=why,
        )

    exc.after_rollback = write
    return exc


@action("sign_visit", SIGNERS)
def sign_visit(
    actor: Staff,
    participant: Participant | str,
    visit: str,
    *,
    password: str,
    meaning: str = DEFAULT_MEANING,
) -> Signature:
    """The investigator's electronic signature of a visit, the password re-entered.

    Refused when the visit is neither done nor recorded as not done, is signed already, or has
    an open query on one of its records; a wrong password is an :class:`ActionError` on
    ``password``. The password is checked by Django's hasher every time it is asked (also when
    empty), so a wrong and an empty password take the same time. Each failed attempt is kept
    in the audit trail (``sign_visit_failed`` on the visit, written after the rollback); after
    :data:`SIGN_FAILURES` of them within :data:`SIGN_PAUSE_SECONDS` the user's attempts are
    refused (:class:`TooManyAttempts`, 429, also recorded) until the oldest is that old.
    """
    p = participant_for(actor, participant, lock=True)
    v = VisitRecord.objects.filter(participant=p, visit=visit).first()
    if v is None:
        known = ", ".join(p.visits.order_by("nominal").values_list("visit", flat=True))
        raise NotFound(
            "visit", f"{visit!r} is not a scheduled visit of {p.code} ({known or 'none yet'})"
        )
    if v.done_at is None and not v.not_done:
        raise Conflict("visit", f"visit {visit} of {p.code} is not recorded yet: nothing to sign")
    signed = active_signature(v)
    if signed is not None:
        raise Conflict(
            "visit",
            f"visit {visit} of {p.code} is signed already by {signed.staff.username} "
            f"at {signed.signed_at:%Y-%m-%d %H:%M} UTC",
        )
    open_ = visit_queries(v)
    if open_:
        raise Conflict(
            "queries", f"answer the open queries of this visit first ({_numbers(open_)})"
        )
    meaning_text = _text(meaning, "meaning", "what the signature means")
    if actor.must_change_password:
        raise Forbidden(
            "password",
            "your password was set by someone else: change it (Account → Change password) "
            "before signing",
        )
    failures = sign_failures(actor)
    if SIGNING.paused(failures):
        wait = SIGNING.wait_minutes(failures)
        raise _signing_failed(
            actor,
            p,
            v,
            TooManyAttempts(
                "password",
                f"too many failed signing attempts for {actor.username} "
                f"({len(failures)} within {SIGN_PAUSE_SECONDS // 60} minutes): signing is "
                f"paused; try again in {wait} minute{'s' if wait != 1 else ''}",
            ),
            "refused: signing paused after repeated wrong passwords",
            len(failures),
        )
    locked = lockout_error(actor, "signing")  # wrong passwords at log-in count too
    if locked is not None:
        raise _signing_failed(
            actor, p, v, locked, "refused: account locked after wrong passwords", len(failures)
        )
    given = password if isinstance(password, str) else ""
    ok = actor.user.check_password(given)  # always runs the hasher
    if not ok or not actor.user.is_active:
        left = SIGNING.fail(_signer(actor), failures)
        pause = f"signing pauses for {SIGN_PAUSE_SECONDS // 60} minutes"
        if left <= 0:
            pause = f"; {pause}"
        elif left <= 2:  # warn before the last attempts
            pause = f" ({left} attempt{'s' if left != 1 else ''} left before {pause})"
        else:
            pause = ""
        raise _signing_failed(
            actor,
            p,
            v,
            ActionError(
                "password",
                ("re-enter your password to sign" if not given else "the password is not correct")
                + pause,
            ),
            "no password" if not given else "wrong password",
            len(failures),
        )
    SIGNING.clear(_signer(actor))
    LOGIN.clear(login_key(actor.username))
    sig = Signature.objects.create(visit=v, staff=actor, signed_at=now(), meaning=meaning_text)
    audit.write(
        actor,
        "sign_visit",
        sig,
        old=None,
        new=audit.snapshot(sig) | {"participant": p.code, "visit": v.visit},
    )
    return sig


# ------------------------------------------------------------------ a record's audit trail


def record_audit(staff: Staff, table: str, record_id: int | str) -> tuple[RecordRef, list[Any]]:
    """A record and its audit trail: the record's own rows, and those of the queries, locks
    and source-data verifications about it (and of its signatures, for a visit), in the order
    they were written.

    The caller checks that ``staff`` may read the audit trail; rows are returned as stored
    (redact with :func:`celltrial.edc.serialize.audit_entry`)."""
    ref = find_record(staff, table, record_id)
    pid = ref.participant.pk
    queries = Query.objects.filter(participant_id=pid, table=ref.table, record_id=ref.record_id)
    locks = FormLock.objects.filter(participant_id=pid)
    if ref.table == "participant":
        locks = locks.filter(table="")
    else:
        locks = locks.filter(table=ref.table, record_id=ref.record_id)
    scope = Q(table=ref.model_name, record_id=ref.record_id)
    scope |= Q(table="query", record_id__in=[str(i) for i in queries.values_list("pk", flat=True)])
    scope |= Q(table="formlock", record_id__in=[str(i) for i in locks.values_list("pk", flat=True)])
    sdv = SourceVerification.objects.filter(
        participant_id=pid, table=ref.table, record_id=ref.record_id
    ).values_list("pk", flat=True)
    scope |= Q(table="sourceverification", record_id__in=[str(i) for i in sdv])
    if ref.table == "visit":
        sigs = Signature.objects.filter(visit_id=ref.record.pk).values_list("pk", flat=True)
        scope |= Q(table="signature", record_id__in=[str(i) for i in sigs])
    return ref, list(AuditEntry.objects.filter(scope).order_by("seq"))


# ------------------------------------------------------- the audit trail a reader may see

#: How the rows of a model reach their participant, where not by a ``participant`` field.
_PARTICIPANT_PATHS: dict[type[models.Model], str] = {
    Participant: "",
    Signature: "visit__participant",
}


def _participant_path(model: type[models.Model]) -> str | None:
    if model in _PARTICIPANT_PATHS:
        return _PARTICIPANT_PATHS[model]
    names = {f.name for f in model._meta.concrete_fields}
    return "participant" if "participant" in names else None


def audit_visible_to(staff: Staff, rows: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
    """The audit rows of ``rows`` that ``staff`` may read, by site.

    Roles that see every site (data manager, admin, DSMB) and staff with all sites: all of
    them. Others (a monitor restricted to some sites): only rows about a participant of their
    sites in their trial, or about a record of such a participant (its forms, visits,
    infusions, queries, locks, signatures …). Rows about the trial's set-up (sites, staff,
    lots, the allocation list) are not about a participant and are left out.

    The audit trail stores the model's name and the record's id (text); each model with a
    participant contributes one ``IN (SELECT id …)`` of its rows at those sites."""
    allowed = site_ids(staff)
    if allowed is None:
        return rows
    participants = Participant.objects.filter(trial_id=staff.trial_id, site_id__in=allowed)
    scope = Q(pk__in=[])
    for model in apps.get_app_config("edc").get_models():
        path = _participant_path(model)
        if path is None:
            continue
        mine = (
            participants
            if not path
            else model._default_manager.filter(**{f"{path}__in": participants})
        )
        ids = mine.annotate(_audit_id=Cast("pk", output_field=CharField())).values("_audit_id")
        scope |= Q(table=model._meta.model_name, record_id__in=ids)
    return rows.filter(scope)


__all__ = [
    "DEFAULT_MEANING",
    "RecordRef",
    "active_lock",
    "active_signature",
    "answer_query",
    "audit_visible_to",
    "check_unlocked",
    "close_query",
    "find_record",
    "invalidate_signatures",
    "lock_record",
    "open_query",
    "record_audit",
    "record_tables",
    "record_visits",
    "sign_failures",
    "sign_visit",
    "table_key",
    "unlock_record",
    "visible_fields",
    "visit_queries",
]
