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
import hmac
import json
import secrets
import threading
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
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
def staging(actor: Staff | None = None) -> Iterator[bool]:
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
    _staged.actor = actor
    try:
        yield True
    finally:
        _staged.rows = None
        _staged.actor = None


def write_status(actor: Staff | None, participant: models.Model, before: str | None) -> None:
    """The audit row ``participant_status`` (``{"status": …}``) of a participant created
    (``before`` None) or whose status an action changed from ``before``; nothing when it did not
    change. Every action that sets ``Participant.status`` calls it in its transaction (consent,
    eligibility, enrolment, randomization or assignment, disposition, completion), so that
    :func:`verify_data` binds the status column too."""
    status = participant.__dict__.get("status")
    if before is not None and before == status:
        return
    write(
        actor if actor is not None else getattr(_staged, "actor", None),
        "participant_status",
        participant,
        old=None if before is None else {"status": before},
        new={"status": status},
    )


def visits_digest(nonce: str, participant_id: int | str) -> str:
    """HMAC-SHA-256, keyed with the scheduling audit row's secret nonce, of a participant's
    visit schedule as stored (visit, label, nominal time, window), in visit order."""
    from celltrial.edc.models import VisitRecord

    rows = (
        VisitRecord.objects.filter(participant_id=participant_id)
        .order_by("visit")
        .values_list("visit", "label", "nominal", "earliest", "latest")
    )
    text = "".join(
        f"{v}\t{label}\t{_plain(n)}\t{_plain(e)}\t{_plain(la)}\n" for v, label, n, e, la in rows
    )
    return hmac.new(nonce.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def write_visit_schedule(actor: Staff | None, participant: models.Model) -> AuditEntry:
    """The audit row of the visits generated at randomization (they have no rows of their
    own until one is recorded): the schedule's :func:`visits_digest`, checked by
    :func:`verify_data`, so a visit deleted, added or moved in the database is named."""
    nonce = secrets.token_hex(16)
    return write(
        actor if actor is not None else getattr(_staged, "actor", None),
        "schedule_visits",
        participant,
        old=None,
        new={"visits_digest": visits_digest(nonce, participant.pk)},
        nonce=nonce,
    )


def write(
    actor: Staff | None,
    action: str,
    record: models.Model,
    *,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reason: str = "",
    blinded_safe: bool = True,
    nonce: str | None = None,
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
        nonce=nonce or secrets.token_hex(16),
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
    last = entries[-1]
    if getattr(settings, "AUDIT_ANCHOR", ""):
        transaction.on_commit(lambda: write_anchor(int(last.seq), str(last.hash)))


def _anchor_mac(seq: int, head: str) -> str:
    key = hashlib.sha256(b"celltrial-audit-anchor:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{seq}:{head}".encode(), hashlib.sha256).hexdigest()


#: The anchor file holds two slots of this many bytes (JSON padded with spaces, ending in a
#: newline); each write fills the slot that does not hold the newest anchor, in place.
ANCHOR_SLOT = 512

#: This process's open anchor file per (process id, path), with the file's device and inode
#: (to notice a file replaced or deleted under it), opened once: the write path costs a few
#: system calls. Keyed by process: a forked worker opens its own (``flock`` locks belong to
#: an open file, which a fork would share).
_ANCHOR_FILES: dict[tuple[int, str], tuple[int, int, int]] = {}
_ANCHOR_LOCK = threading.Lock()


def _anchor_fd(path: str) -> int | None:
    """The open anchor file at ``path``, or None when there is none; reopened when the file
    there is no longer the one this process holds (deleted, or replaced by another)."""
    import os

    key = (os.getpid(), path)
    held = _ANCHOR_FILES.get(key)
    if held is not None:
        fd, dev, ino = held
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) == (dev, ino):
            return fd
        os.close(fd)
        del _ANCHOR_FILES[key]
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    st = os.fstat(fd)
    _ANCHOR_FILES[key] = (fd, st.st_dev, st.st_ino)
    return fd


def _create_anchor(path: str, content: bytes) -> bool:
    """Create the anchor file whole (mode 0600, never seen empty): written under a temporary
    name and linked into place; False when another writer created it first."""
    import os

    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # unlike a rename, never replaces a file there
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


def _parse_slot(raw: bytes) -> dict[str, Any] | None:
    """One slot's anchor, or None when it holds none (blank, unreadable)."""
    text = raw.decode("utf-8", "replace").strip(" \n\x00")
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) and isinstance(found.get("seq"), int) else None


def _read_slots(raw: bytes) -> tuple[dict[str, Any] | None, int]:
    """The newest anchor in the file's bytes (the slot with the highest ``seq``) and the index
    of the slot holding it (-1: none). A file written before the slots (one JSON line) is
    read as slot 0."""
    best: dict[str, Any] | None = None
    where = -1
    for i in range(2):
        found = _parse_slot(raw[i * ANCHOR_SLOT : (i + 1) * ANCHOR_SLOT])
        if found is not None and (best is None or found["seq"] > best["seq"]):
            best, where = found, i
    if best is None and len(raw) > 2 * ANCHOR_SLOT:  # not a slot file: one JSON text
        best = _parse_slot(raw)
        where = 0 if best is not None else -1
    return best, where


def write_anchor(seq: int, head: str) -> None:
    """Write the chain's head to the anchor file (``settings.AUDIT_ANCHOR``) after a commit:
    ``{"seq", "hash", "at", "mac"}``, the MAC an HMAC-SHA-256 under a key derived from the
    installation's secret key. Only forward (a slower writer never moves it back), under an
    exclusive ``flock`` of the file (readers take a shared one).

    The file has two slots of :data:`ANCHOR_SLOT` bytes; a write fills, in place (one
    ``pwrite`` within the file's first page), the slot that does not hold the newest anchor,
    so the newest one stays whole whatever happens to the write. In place rather than a new
    file renamed over the old one: on ext4 each rename over a file waited about a
    millisecond, inside SQLite's one-writer-at-a-time section (issue 16's load goal)."""
    import fcntl
    import os

    path = str(settings.AUDIT_ANCHOR)
    blank = b" " * (ANCHOR_SLOT - 1) + b"\n"
    with _ANCHOR_LOCK:  # this process's threads one at a time (the flock is per file)
        fd = _anchor_fd(path)
        if fd is None:
            if _create_anchor(path, _anchor_slot(seq, head) + blank):
                return
            fd = _anchor_fd(path)  # another process created it first: move it forward
            if fd is None:  # pragma: no cover - created and deleted again meanwhile
                return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            raw = os.pread(fd, 4 * ANCHOR_SLOT, 0)
            current, where = _read_slots(raw)
            if current is not None and int(current["seq"]) >= seq:
                return
            slot = _anchor_slot(seq, head)
            if len(raw) != 2 * ANCHOR_SLOT:  # written before the slots, or by hand
                os.pwrite(fd, slot + blank, 0)
                os.ftruncate(fd, 2 * ANCHOR_SLOT)
            else:
                os.pwrite(fd, slot, (1 - max(where, 0)) * ANCHOR_SLOT)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _anchor_slot(seq: int, head: str) -> bytes:
    text = json.dumps(
        {"seq": seq, "hash": head, "at": _plain(timezone.now()), "mac": _anchor_mac(seq, head)}
    ).encode()
    return text.ljust(ANCHOR_SLOT - 1) + b"\n"


def read_anchor() -> dict[str, Any] | None:
    """The newest anchor in the anchor file, or None when there is none (or no anchor is
    configured); ``{"seq": -1, "mac": "unreadable"}`` when the file holds no readable one."""
    import fcntl

    path = getattr(settings, "AUDIT_ANCHOR", "")
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_SH)  # not while a writer is half-way through a slot
            raw = fh.read(1 << 20)
    except FileNotFoundError:
        return None
    found, _ = _read_slots(raw)
    return found if found is not None else {"seq": -1, "hash": "", "mac": "unreadable"}


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
    #: Data rows that differ from what the trail says (:func:`verify_data`).
    data: tuple[str, ...] = ()
    #: The anchor outside the database, as read (``None``: none configured or written yet).
    anchor: dict[str, Any] | None = None


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
    anchor = read_anchor()
    if anchor is not None:
        a_seq, a_hash = anchor.get("seq"), anchor.get("hash")
        if (
            not isinstance(a_seq, int)
            or not isinstance(a_hash, str)
            or not hmac.compare_digest(str(anchor.get("mac", "")), _anchor_mac(a_seq, a_hash))
        ):
            return AuditReport(
                False,
                n,
                None,
                f"the anchor file {settings.AUDIT_ANCHOR} is not signed by this installation",
                anchor=anchor,
            )
        at = AuditEntry.objects.filter(seq=a_seq).values_list("hash", flat=True).first()
        if a_seq > 0 and at != a_hash:
            what = "is missing" if at is None else "has another hash"
            return AuditReport(
                False,
                n,
                a_seq,
                f"row {a_seq}: the anchor outside the database says the chain reached row "
                f"{a_seq} ending in {a_hash[:12]}…, and that row {what}; rows were deleted "
                "(the table truncated) or the chain rewritten",
                anchor=anchor,
            )
    data = tuple(verify_data())
    if data:
        return AuditReport(
            False,
            n,
            None,
            f"data rows differ from the audit trail ({len(data)} shown): " + "; ".join(data),
            data=data,
            anchor=anchor,
        )
    where = "" if anchor is None else f"; anchored at row {anchor['seq']} ({anchor['hash'][:12]}…)"
    return AuditReport(True, n, None, f"audit trail intact: {n} rows{where}", anchor=anchor)


#: Tables the data check leaves out: the audit trail itself, the idempotency cache (a retry's
#: first answer, no trial data) and the sealed list's rows (checked as a whole against the
#: digest its loading row keeps, :func:`slots_digest`).
_NOT_FOLDED = {"auditentry", "audithead", "idempotencykey", "allocationslot", "attempt"}
#: Columns compared only for the records whose changes all have audit rows: a participant's
#: status has its own rows (``participant_status``) since issue 16; a participant last changed
#: before that has none, and its status is not compared.
_STATUS_ACTION = "participant_status"


def _edc_models() -> dict[str, type[models.Model]]:
    from django.apps import apps

    return {
        m._meta.model_name or "": m
        for m in apps.get_app_config("edc").get_models()
        if m._meta.model_name not in _NOT_FOLDED
    }


def slots_digest(nonce: str, trial_id: int, commitment: str | None = None) -> str:
    """HMAC-SHA-256, keyed with the loading row's secret nonce, of the trial's sealed-list rows
    (sequence, site, stratum, kit code, arm) as stored — those of the list with ``commitment``
    when given (a trial may load one list per new site): kept in that audit row, so a changed
    arm is found, and the key keeps a blinded reader from testing guessed lists against it."""
    from celltrial.edc.models import AllocationSlot

    rows = AllocationSlot.objects.filter(trial_id=trial_id).order_by("sequence")
    if commitment is not None:
        rows = rows.filter(commitment=commitment)
    text = "".join(
        f"{s}\t{site}\t{stratum}\t{kit}\t{arm}\n"
        for s, site, stratum, kit, arm in rows.values_list(
            "sequence", "site_code", "stratum", "kit_code", "arm"
        )
    )
    return hmac.new(nonce.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_data(limit: int = 20) -> list[str]:
    """Compare every data row with what the audit trail says it holds (at most ``limit``
    problems, each naming the table, the record and the field).

    For each record the audit rows' ``new`` values are folded in sequence order (only the
    record's own columns: a foreign key by its ``_id``); the record's current stored values
    must equal them, a record the trail created must still exist (unless the trail deleted
    it), and the sealed list must match the digest of its loading row. So a direct edit of the
    database (an arm swapped, a death deleted, a role changed) is named by ``audit verify``.
    A participant's status is compared from its ``participant_status`` rows, and the visits
    generated at randomization against their ``schedule_visits`` row's digest."""
    from celltrial.edc.models import Trial

    tables = _edc_models()
    columns = {
        name: {f.attname for f in m._meta.concrete_fields if not f.primary_key}
        for name, m in tables.items()
    }
    state: dict[tuple[str, str], dict[str, Any]] = {}
    problems: list[str] = []
    lists: list[AuditEntry] = []
    schedules: list[AuditEntry] = []
    status_bound: set[str] = set()
    rows = AuditEntry.objects.order_by("seq").only(
        "seq", "action", "table", "record_id", "new", "nonce"
    )
    for e in rows.iterator(chunk_size=2000):
        if e.action == "load_allocation_list":
            lists.append(e)
        elif e.action == "schedule_visits":
            schedules.append(e)
        elif e.action == _STATUS_ACTION:
            status_bound.add(e.record_id)
        if e.table not in tables or not e.new:
            continue
        new = json.loads(e.new)
        if not isinstance(new, dict):
            continue
        mine = {k: v for k, v in new.items() if k in columns[e.table]}
        state.setdefault((e.table, e.record_id), {}).update(mine)
    for name, model in tables.items():
        wanted = {rid: v for (t, rid), v in state.items() if t == name}
        if not wanted:
            continue
        found: set[str] = set()
        for obj in model._default_manager.filter(pk__in=list(wanted)).iterator(chunk_size=2000):
            rid = str(obj.pk)
            found.add(rid)
            expect = wanted[rid]
            now_ = snapshot(obj, None)
            for column, value in sorted(expect.items()):
                if name == "participant" and column == "status" and rid not in status_bound:
                    continue
                if now_.get(column) != value:
                    # No values: a blinded reader of the verification learns no arm.
                    problems.append(
                        f"{name} {rid}: {column} differs from the audit trail "
                        "(changed outside the EDC)"
                    )
        for rid in sorted(set(wanted) - found):
            problems.append(f"{name} {rid}: in the audit trail but not in the table (deleted)")
        if len(problems) >= limit:
            return problems[:limit]
    for e in lists:
        loaded = json.loads(e.new)
        kept = loaded.get("slots_digest")
        trial = Trial.objects.filter(protocol_versions__pk=e.record_id).values_list("pk", flat=True)
        # Each list is checked against its own rows (a trial loads one list per new site);
        # before that a trial had one list, so its rows were exactly those of its commitment.
        which = loaded.get("commitment")
        if kept and trial and slots_digest(e.nonce, trial[0], which) != kept:
            problems.append(
                f"allocationslot: the sealed list's rows (arms, kit codes) differ from those "
                f"loaded (audit row {e.seq}): changed outside the EDC"
            )
    # The latest schedule row of each participant binds its visits (the visits move once, to
    # the first infusion actually given, with a new row: actions.randomization.reanchor_visits).
    latest = {e.record_id: e for e in schedules}
    for e in latest.values():
        kept = json.loads(e.new).get("visits_digest")
        if kept and visits_digest(e.nonce, e.record_id) != kept:
            problems.append(
                f"visitrecord: participant {e.record_id}'s visits (schedule, windows) differ "
                f"from those generated (audit row {e.seq}): changed outside the EDC"
            )
    return problems[:limit]
