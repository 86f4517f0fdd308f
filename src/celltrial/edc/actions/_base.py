"""What every action shares: errors naming field and rule, role checks, the transaction,
idempotency keys."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn, TypeVar, cast

try:
    import fcntl
except ImportError:  # not POSIX: one server process, the thread lock suffices
    fcntl = None  # type: ignore[assignment]

from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from celltrial.edc import audit
from celltrial.edc.models import FormLock, IdempotencyKey, Participant, Site, Staff
from celltrial.edc.roles import may_access

T = TypeVar("T", bound=models.Model)


@dataclasses.dataclass(frozen=True)
class Problem:
    field: str
    message: str


class ActionError(Exception):
    """A user's mistake: each problem names the field and the rule. HTTP 422.

    ``after_rollback``, when set by the action before raising, is run by :func:`action` once
    the action's transaction is rolled back, in a transaction of its own: what must be kept of
    a refused attempt (the audit row of a failed signature) survives the refusal."""

    status = 422
    after_rollback: Callable[[], None] | None = None

    def __init__(self, field: str = "", message: str = "", *, problems: Iterable[Problem] = ()):
        self.problems = list(problems) or [Problem(field, message)]
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))


class Forbidden(ActionError):
    """The actor's role or site does not allow it. HTTP 403."""

    status = 403


class NotFound(ActionError):
    status = 404


class Conflict(ActionError):
    """The record's state does not allow it (e.g. randomizing twice). HTTP 409."""

    status = 409


class TooManyAttempts(ActionError):
    """Paused after repeated failures (e.g. wrong passwords when signing). HTTP 429."""

    status = 429


#: The action running in this thread (or task), set by :func:`action`.
_RUNNING: contextvars.ContextVar[str | None] = contextvars.ContextVar("edc_action", default=None)

#: Actions that still run while all of a participant's records are locked (a participant-level
#: :class:`~celltrial.edc.models.FormLock`, table blank: the casebook is frozen). Every other
#: action that finds its participant with :func:`participant_for` is refused (409 on ``lock``):
#: new measurements, AEs, visits, infusions, clinical events, deviations, consent, screening
#: changes, dispositions. Exempt: safety (emergency unblinding, recording that an SAE report
#: was sent), the investigator's signature (it attests, changes no data), the locks themselves,
#: and ``edit_record``, which checks record and participant locks itself (naming the record).
FROZEN_EXEMPT = frozenset(
    {"unblind", "report_sae", "sign_visit", "lock_record", "unlock_record", "edit_record"}
)


def now() -> dt.datetime:
    return timezone.now()


def aware(value: dt.datetime | None, field: str, *, default_now: bool = False) -> dt.datetime:
    """A timezone-aware time in UTC, or an error naming the field."""
    if value is None:
        if default_now:
            return now()
        raise ActionError(field, "required (an ISO 8601 time with a zone)")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ActionError(field, "give a time zone, e.g. 2026-03-01T10:00Z")
    from celltrial.edc.guard import in_utc

    utc = in_utc(value)
    if utc is None:
        raise ActionError(field, f"{value.isoformat()} is outside the years 1-9999 in UTC")
    return utc


def require_site(actor: Staff, site: Site) -> None:
    if not may_access(actor, site):
        raise Forbidden("site", f"{actor.username} has no access to site {site.code}")


def _participant_sql(lock: bool) -> tuple[str, list[str], list[str]]:
    # Built once per process and database vendor: the ORM's query compiler would otherwise
    # run on every write (it was a third of a measurement's server time).
    key = (connection.vendor, lock)
    if key not in _PARTICIPANT_SQL:
        q = connection.ops.quote_name
        pm, sm = Participant._meta, Site._meta
        p_fields, s_fields = pm.concrete_fields, sm.concrete_fields
        cols = ", ".join(
            [f"p.{q(f.column)}" for f in p_fields] + [f"s.{q(f.column)}" for f in s_fields]
        )
        # The participant-level lock in force, if any, in the same statement (no extra round
        # trip on the write path): the lock table is small and indexed by participant.
        fl = FormLock._meta
        frozen = (
            f"(SELECT l.{q('id')} FROM {q(fl.db_table)} l WHERE l.{q('participant_id')} = "
            f"p.{q('id')} AND l.{q('table')} = '' AND l.{q('unlocked_at')} IS NULL "
            f"ORDER BY l.{q('id')} LIMIT 1)"
        )
        sql = (
            f"SELECT {cols}, {frozen} FROM {q(pm.db_table)} p JOIN {q(sm.db_table)} s "
            f"ON s.{q('id')} = p.{q('site_id')} WHERE p.{q('trial_id')} = %s AND p.{q('code')} = %s"
        )
        if lock and connection.features.has_select_for_update:
            sql += " FOR UPDATE OF p"
        _PARTICIPANT_SQL[key] = (sql, [f.attname for f in p_fields], [f.attname for f in s_fields])
    return _PARTICIPANT_SQL[key]


_PARTICIPANT_SQL: dict[tuple[str, bool], tuple[str, list[str], list[str]]] = {}


def participant_for(
    actor: Staff, participant: Participant | str, *, lock: bool = False
) -> Participant:
    """The participant (by object or code) in the actor's trial and sites; locked if asked.

    One statement reads the participant with its site (``FOR UPDATE`` of the participant's
    row when ``lock``) and the participant-level lock in force: inside an action not in
    :data:`FROZEN_EXEMPT`, a locked participant is a :class:`Conflict` on ``lock`` naming the
    lock (who locked it, when, why)."""
    code = participant.code if isinstance(participant, Participant) else participant
    sql, p_names, s_names = _participant_sql(lock)
    with connection.cursor() as cursor:
        cursor.execute(sql, [actor.trial_id, code])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("participant", f"no participant {code!r} in this trial")
    n, m = len(p_names), len(p_names) + len(s_names)
    found = Participant.from_db(connection.alias, p_names, row[:n])
    found.site = Site.from_db(connection.alias, s_names, row[n:m])
    found.trial = actor.trial  # the same trial (filtered on it): no second query for it
    if not may_access(actor, found.site):  # as if it did not exist: no id or site confirmed
        raise NotFound("participant", f"no participant {code!r} in this trial")
    if row[m] is not None:
        running = _RUNNING.get()
        if running is not None and running not in FROZEN_EXEMPT:
            _refuse_frozen(found, row[m], running)
    return found


def _refuse_frozen(p: Participant, lock_id: int, running: str) -> NoReturn:
    from celltrial.edc.actions.monitoring import describe_lock  # monitoring imports this module

    lock = FormLock.objects.select_related("locked_by__user").get(pk=lock_id)
    raise Conflict(
        "lock",
        f"{p.code}'s records are locked ({describe_lock(lock)}): no new data "
        f"({running.replace('_', ' ')}) until a data manager unlocks them",
    )


def site_for(actor: Staff, site: Site | str) -> Site:
    code = site.code if isinstance(site, Site) else site
    found = Site.objects.filter(trial_id=actor.trial_id, code=code).first()
    if found is None:
        raise NotFound("site", f"no site {code!r} in this trial")
    require_site(actor, found)
    return found


def fingerprint(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """SHA-256 of what an action acts on — its first argument (the participant, record or
    name; a record by its table and id): the key reused for another participant is told apart
    from a retry (a retry may differ in its values, and gets the first result, as before)."""
    import hashlib
    import json

    def plain(x: Any) -> Any:
        if isinstance(x, models.Model):
            return f"{x._meta.model_name}:{x.pk}"
        return repr(x)

    del kwargs  # the values: a retry may resend them changed
    target = args[0] if args else None
    if isinstance(target, models.Model) and hasattr(target, "code"):
        target = target.code  # a participant by object or by code: the same target
    text = json.dumps([target], sort_keys=True, default=plain, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(actor: Staff, key: str, name: str, request: str = "") -> models.Model | None:
    # Plain SQL: asked before every write that carries a key (almost always none is found).
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "action", "table", "record_id", "request" FROM {table} '
            'WHERE "staff_id" = %s AND "key" = %s',
            [actor.pk, key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    done, model, record_id, first = row
    if done != name:
        raise Conflict("idempotency_key", f"{key!r} was already used for {done}, not {name}")
    if first and request and first != request:
        raise ActionError(
            "idempotency_key",
            f"{key!r} was already used for another {name.replace('_', ' ')} (other arguments); "
            "use a new key for a new request",
        )
    found: models.Model = apps.get_model("edc", model)._default_manager.get(pk=record_id)
    return found


_INSERT_SQL: dict[tuple[str, type[models.Model]], tuple[str, list[models.Field[Any, Any]]]] = {}


def insert(obj: T) -> T:
    """Insert a new row for ``obj`` (as ``obj.save(force_insert=True)`` would) and set its
    primary key, with a statement built once per model and database vendor.

    For the writes a site enters all day (measurements, adverse events): the ORM's insert
    compiler took more server time than the rest of the write. The values are those the ORM
    would send (each field's ``get_db_prep_save``)."""
    model = type(obj)
    from celltrial.edc.guard import check_values

    check_values(model, obj)  # as the ORM's pre_save would: length, NUL, surrogates, NaN
    key = (connection.vendor, model)
    if key not in _INSERT_SQL:
        q = connection.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        sql = (
            f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        if connection.features.can_return_columns_from_insert:
            sql += f" RETURNING {q(model._meta.pk.column)}"
        _INSERT_SQL[key] = (sql, fields)
    sql, fields = _INSERT_SQL[key]
    values = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if connection.features.can_return_columns_from_insert:
            obj.pk = cursor.fetchone()[0]
        else:
            obj.pk = cursor.lastrowid
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def _remember(actor: Staff, key: str, name: str, result: models.Model, request: str) -> None:
    # Plain SQL (an IdempotencyKey row): the ORM's insert compiler costs more than the write.
    q = connection.ops.quote_name
    cols = ("staff_id", "key", "action", "table", "record_id", "created_at", "request")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(IdempotencyKey._meta.db_table)} ({', '.join(q(c) for c in cols)}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                actor.pk,
                key,
                name,
                result._meta.model_name,
                result.pk,
                connection.ops.adapt_datetimefield_value(now()),
                request,
            ],
        )


_SQLITE_WRITER = threading.Lock()
_LOCK_FILES: dict[tuple[int, str], int] = {}


@contextlib.contextmanager
def _sqlite_writer(path: str) -> Iterator[None]:
    """One writer at a time: threads of a process queue on a lock, processes (a server with
    several workers) on an ``flock`` of ``<database>.writer-lock``. Both wake the next writer
    as soon as the lock is free, unlike SQLite's busy handler whose sleeps make long latency
    tails."""
    with _SQLITE_WRITER:
        if fcntl is None or not path or path == ":memory:" or path.startswith("file:"):
            yield
            return
        key = (os.getpid(), path)  # a forked process opens its own file (its own lock)
        fd = _LOCK_FILES.get(key)
        if fd is None:
            fd = _LOCK_FILES[key] = os.open(f"{path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _writer_lock() -> contextlib.AbstractContextManager[Any]:
    """On SQLite, one writer at a time (see :func:`_sqlite_writer`); PostgreSQL locks rows."""
    if connection.vendor != "sqlite":
        return contextlib.nullcontext()
    return _sqlite_writer(str(connection.settings_dict["NAME"]))


def _after_rollback(exc: ActionError) -> None:
    """Run ``exc.after_rollback`` (once) in its own transaction, sealing its audit rows."""
    write, exc.after_rollback = exc.after_rollback, None
    if write is None:
        return
    with _writer_lock(), audit.staging() as outermost, transaction.atomic():
        write()
        if outermost:
            audit.seal()


def action(name: str, roles: Iterable[str]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Make ``fn(actor, ...)`` an action: role check, one transaction, idempotency key.

    The wrapped function takes an extra keyword ``idempotency_key``: called again with the same
    key by the same person, the action returns the first result and writes nothing.
    """
    allowed = frozenset(roles)

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def run(actor: Staff, *args: Any, idempotency_key: str | None = None, **kwargs: Any) -> T:
            if actor.role not in allowed:
                who = ", ".join(sorted(allowed))
                raise Forbidden(
                    "role", f"a {actor.role} may not {name.replace('_', ' ')} (allowed: {who})"
                )
            request = ""
            if idempotency_key is not None:
                if not idempotency_key.strip() or len(idempotency_key) > 100:
                    raise ActionError("idempotency_key", "1 to 100 characters")
                request = fingerprint(args, kwargs)
                found = _replay(actor, idempotency_key, name, request)
                if found is not None:
                    return cast(T, found)
            token = _RUNNING.set(name)
            try:
                with _writer_lock(), audit.staging(actor) as outermost, transaction.atomic():
                    result = fn(actor, *args, **kwargs)
                    if idempotency_key is not None:
                        _remember(actor, idempotency_key, name, result, request)
                    if outermost:
                        # Last: the chain's head is locked from here to the commit.
                        audit.seal()
            except ActionError as exc:
                if exc.after_rollback is not None:
                    _after_rollback(exc)
                if idempotency_key is not None and exc.status == 409:
                    # A concurrent retry with the same key committed first (its write makes
                    # this one a conflict, e.g. "randomized already"): answer its result.
                    found = _replay(actor, idempotency_key, name, request)
                    if found is not None:
                        return cast(T, found)
                raise
            except IntegrityError:
                if idempotency_key is not None:
                    found = _replay(actor, idempotency_key, name, request)
                    if found is not None:
                        return cast(T, found)
                raise
            finally:
                _RUNNING.reset(token)
            return result

        marked: Any = run  # the action's name and roles, read by the API and the audit views
        marked.action_name = name
        marked.roles = allowed
        return run

    return decorate
