"""The hash-chained, append-only audit trail.

Each row stores ``hash = SHA-256(prev_hash + canonical JSON of its content)`` where the content
is who (actor, role), when (UTC), the action, the table and record id, the old and new values
(canonical JSON), the reason and a secret random nonce (128 bits, never served: a blinded
reader who guesses a hidden row's content, say its arm, cannot check the guess against any
hash). :func:`verify_audit` recomputes the chain and names the first
row that does not fit: an edited row breaks its own hash, a deleted or inserted row breaks the
sequence numbers or the next row's ``prev_hash``, and rows cut from the end no longer match the
chain's head.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from typing import Any

from django.db import connection, models
from django.utils import timezone

from celltrial.edc.models import AuditEntry, AuditHead, Staff

GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in audit content")
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"cannot put {type(value).__name__} in the audit trail")


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text, ISO 8601 UTC times."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The stored values of a record (foreign keys as ids), ready for :func:`canonical`."""
    out: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        out[field.attname] = field.value_from_object(instance)
    stored: dict[str, Any] = json.loads(canonical(out))
    return stored


def _content(e: AuditEntry) -> dict[str, Any]:
    content: dict[str, Any] = {
        "seq": e.seq,
        "at": _plain(e.at),
        "actor": e.actor,
        "role": e.role,
        "action": e.action,
        "table": e.table,
        "record_id": e.record_id,
        "old": e.old,
        "new": e.new,
        "reason": e.reason,
        "blinded_safe": e.blinded_safe,
    }
    if e.nonce:  # rows written before the nonce existed hash without it
        content["nonce"] = e.nonce
    return content


def row_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + canonical(_content(entry))).encode("utf-8")).hexdigest()


_staged = threading.local()


@contextlib.contextmanager
def staging() -> Iterator[bool]:
    """Within an action: :func:`write` only prepares its rows; :func:`seal` appends them.

    The action wrapper seals them as the last statements of its transaction, so the chain's
    head is locked for as short a time as possible (from the lock to the commit). Nested
    actions share the outermost staging; it yields whether this is the outermost one (the one
    to seal).
    """
    if getattr(_staged, "rows", None) is not None:
        yield False
        return
    _staged.rows = []
    try:
        yield True
    finally:
        _staged.rows = None


def write(
    actor: Staff | None,
    action: str,
    record: models.Model,
    *,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reason: str = "",
    blinded_safe: bool = True,
) -> AuditEntry:
    """Append one row; call inside the action's transaction.

    Inside :func:`staging` (every action) the row is prepared now (its canonical JSON computed)
    and chained by :func:`seal` at the end of the transaction; otherwise it is chained at once.
    """
    entry = AuditEntry(
        actor=actor.username if actor is not None else "system",
        role=actor.role if actor is not None else "system",
        action=action,
        table=record._meta.model_name or "",
        record_id=str(record.pk),
        old=canonical(old) if old is not None else "",
        new=canonical(new) if new is not None else "",
        reason=reason,
        blinded_safe=blinded_safe,
        nonce=secrets.token_hex(16),
    )
    rows = getattr(_staged, "rows", None)
    if rows is not None:
        rows.append(entry)
    else:
        _chain([entry])
    return entry


def seal() -> None:
    """Chain and insert the rows staged so far (inside the transaction that wrote them)."""
    rows = getattr(_staged, "rows", None)
    if rows:
        _chain(rows)
        rows.clear()


_ENTRY_COLUMNS = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "table",
    "record_id",
    "old",
    "new",
    "reason",
    "blinded_safe",
    "nonce",
    "prev_hash",
    "hash",
)


def _chain(entries: list[AuditEntry]) -> None:
    """Lock the chain's head, hash the rows onto it, insert them, move the head; the caller's
    transaction commits right after (the head stays locked until then).

    Plain SQL, built here, for the statements run with the head locked, as few as possible:
    on PostgreSQL one statement per row moves the head and inserts the row, the hash computed
    by the database (:func:`_chain_postgresql`); on SQLite (one writer at a time anyway) the
    head is read, the rows hashed here and inserted, and the head moved."""
    at = timezone.now()
    for entry in entries:
        entry.at = at
    if connection.vendor == "postgresql":
        _chain_postgresql(entries)
    else:
        _chain_here(entries)
    for entry in entries:
        entry._state.adding = False  # written: AuditEntry.save() refuses to write it again
        entry._state.db = connection.alias


def _insert_sql(rows: int) -> str:
    q = connection.ops.quote_name
    cols = ", ".join(q(c) for c in _ENTRY_COLUMNS)
    one = "(" + ", ".join(["%s"] * len(_ENTRY_COLUMNS)) + ")"
    return f"INSERT INTO {q(AuditEntry._meta.db_table)} ({cols}) VALUES {', '.join([one] * rows)}"


def _chain_here(entries: list[AuditEntry]) -> None:
    q = connection.ops.quote_name
    head = q(AuditHead._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "seq", "hash" FROM {head} WHERE "id" = 1{lock}')
        found = cursor.fetchone()
        if found is None:
            AuditHead.objects.create(pk=1, seq=0, hash=GENESIS)
            found = (0, GENESIS)
        seq, prev = int(found[0]), str(found[1])
        old_prev = prev
        values: list[Any] = []
        for entry in entries:
            seq += 1
            old_prev = prev
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = row_hash(prev, entry)
            values.extend(
                connection.ops.adapt_datetimefield_value(entry.at)
                if c == "at"
                else getattr(entry, c)
                for c in _ENTRY_COLUMNS
            )
        cursor.execute(_insert_sql(len(entries)), values)
        cursor.execute(
            f'UPDATE {head} SET "seq" = %s, "hash" = %s, "prev_hash" = %s WHERE "id" = 1',
            [seq, prev, old_prev],
        )


#: Where the sequence number sits in a row's canonical content (keys are sorted, and a quote
#: inside a value is escaped, so this text occurs once).
_SEQ_MARK = '"seq":null,"table":'


def _content_around_seq(entry: AuditEntry) -> tuple[str, str]:
    """The row's canonical content split around its sequence number: before + seq + after."""
    entry.seq = None  # type: ignore[assignment]  # a placeholder, for the canonical text only
    text = canonical(_content(entry))
    before, after = text.split(_SEQ_MARK)
    return before + '"seq":', ',"table":' + after


def _chain_postgresql(entries: list[AuditEntry]) -> None:
    """One statement per row: move the head (``seq + 1``, ``prev_hash = hash``, ``hash =
    SHA-256(hash ‖ content)``, the content's text with the new sequence number spliced in) and
    insert the row from what the move returned. The first statement takes the head's row lock,
    held until the commit. The database computes the same hash as :func:`row_hash` (which
    :func:`verify_audit` recomputes): sha256 over the UTF-8 bytes of the same text."""
    q = connection.ops.quote_name
    head = q(AuditHead._meta.db_table)
    cols = [c for c in _ENTRY_COLUMNS if c not in ("seq", "prev_hash", "hash")]
    sql = (
        f"WITH moved AS (UPDATE {head} SET {q('prev_hash')} = {q('hash')}, "
        f"{q('seq')} = {q('seq')} + 1, {q('hash')} = encode(sha256(convert_to("
        f"{q('hash')} || %s || ({q('seq')} + 1)::text || %s, 'UTF8')), 'hex') "
        f"WHERE {q('id')} = 1 RETURNING {q('seq')}, {q('prev_hash')}, {q('hash')}) "
        f"INSERT INTO {q(AuditEntry._meta.db_table)} "
        f"({', '.join(q(c) for c in ('seq', *cols, 'prev_hash', 'hash'))}) "
        f"SELECT moved.{q('seq')}, {', '.join(['%s'] * len(cols))}, "
        f"moved.{q('prev_hash')}, moved.{q('hash')} FROM moved "
        f"RETURNING {q('seq')}, {q('prev_hash')}, {q('hash')}"
    )
    with connection.cursor() as cursor:
        for entry in entries:
            before, after = _content_around_seq(entry)
            params = [before, after, *(getattr(entry, c) for c in cols)]
            cursor.execute(sql, params)
            found = cursor.fetchone()
            if found is None:  # no head yet (a new or emptied database): start the chain
                cursor.execute(
                    f"INSERT INTO {head} ({q('id')}, {q('seq')}, {q('hash')}, {q('prev_hash')}) "
                    f"VALUES (1, 0, %s, '') ON CONFLICT ({q('id')}) DO NOTHING",
                    [GENESIS],
                )
                cursor.execute(sql, params)
                found = cursor.fetchone()
            entry.seq, entry.prev_hash, entry.hash = int(found[0]), found[1], found[2]


@dataclasses.dataclass(frozen=True)
class AuditReport:
    """Outcome of :func:`verify_audit`: ``first_bad`` is the sequence number of the first bad row."""

    ok: bool
    rows: int
    first_bad: int | None
    message: str


def verify_audit() -> AuditReport:
    """Recompute the whole chain; name the first row that was edited, deleted or inserted."""
    prev = GENESIS
    expected = 1
    n = 0
    for e in AuditEntry.objects.order_by("seq", "id").iterator(chunk_size=2000):
        n += 1
        if e.seq != expected:
            what = "deleted" if e.seq > expected else "inserted"
            return AuditReport(
                False,
                n,
                e.seq,
                f"row {e.seq}: expected sequence number {expected}; a row was {what} before it",
            )
        if e.prev_hash != prev:
            return AuditReport(
                False,
                n,
                e.seq,
                f"row {e.seq}: prev_hash does not match the hash of row {e.seq - 1}; "
                f"a row before it was changed, inserted or deleted",
            )
        if row_hash(prev, e) != e.hash:
            return AuditReport(
                False, n, e.seq, f"row {e.seq}: its content does not match its hash (edited)"
            )
        prev = e.hash
        expected += 1
    head = AuditHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected - 1 or head_hash != prev:
        bad = min(head_seq, expected - 1) + 1
        return AuditReport(
            False,
            n,
            bad,
            f"row {bad}: the chain's head says {head_seq} rows ending in {head_hash[:12]}…, "
            f"the table has {expected - 1}; rows were deleted from or added to the end",
        )
    return AuditReport(True, n, None, f"audit trail intact: {n} rows")
