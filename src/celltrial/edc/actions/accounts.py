"""Accounts under 21 CFR Part 11 / EU Annex 11: one's own password, the lockout shared by every
password check, accounts not used for a while, and who had which access when.

Rules (``docs/edc.md``, "Accounts, passwords and e-signatures"):

- A password someone else chose (the admin's first password, a DSMB approver's, the operator's
  command line) is marked ``must_change_password``: the web sends the person to
  ``/account/password`` before any other page, and the e-signature refuses it. The person
  changes it with :func:`change_password` (web or ``POST /api/me/password``): the current
  password, then a new one that passes the validators (``AUTH_PASSWORD_VALIDATORS`` and
  celltrial's 5 different characters). Nobody else ever learns the new one.
- Every place that asks for a password (log-in, e-signature, password change) counts a wrong
  one in the same database counter (:data:`celltrial.edc.throttle.LOGIN`): five within 15
  minutes lock the account's log-in, signing and password change until the oldest is 15
  minutes old.
- An active account whose last log-in (or, never logged in, its creation) is older than
  ``CELLTRIAL_DORMANT_DAYS`` days (90 by default) is *dormant*: flagged on the admin's pages
  and in ``GET /api/staff``.
- :func:`access_list` is the user-access list: one row per period in which a person held their
  role at a site, folded from the audit trail (``add_staff``, ``approve_access``,
  ``deactivate_staff``, ``reactivate_staff``); role and sites are fixed when the account is
  made, so the audit rows are the complete history.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import os
from typing import Any

from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Forbidden,
    TooManyAttempts,
    action,
    now,
)
from celltrial.edc.models import AuditEntry, Role, Staff
from celltrial.edc.throttle import LOGIN, LOGIN_SECONDS, login_key

#: Days without a log-in after which an active account is flagged (``CELLTRIAL_DORMANT_DAYS``).
DEFAULT_DORMANT_DAYS = 90


def dormant_days() -> int:
    """``CELLTRIAL_DORMANT_DAYS`` (a whole number of days, at least 1), else 90."""
    text = os.environ.get("CELLTRIAL_DORMANT_DAYS", "")
    try:
        days = int(text)
    except ValueError:
        return DEFAULT_DORMANT_DAYS
    return days if days >= 1 else DEFAULT_DORMANT_DAYS


def last_seen(staff: Staff) -> dt.datetime:
    """The last log-in, or the account's creation when it never logged in."""
    user = staff.user
    return user.last_login or user.date_joined


def is_dormant(staff: Staff, *, at: dt.datetime | None = None) -> bool:
    """An active account not logged in for :func:`dormant_days` days."""
    if not staff.user.is_active:
        return False
    return ((at or now()) - last_seen(staff)) > dt.timedelta(days=dormant_days())


def lockout_error(staff: Staff, what: str) -> TooManyAttempts | None:
    """The refusal when ``staff``'s account is locked (too many wrong passwords), else None."""
    found = LOGIN.locked(login_key(staff.username))
    if found is None:
        return None
    wait = LOGIN.wait_minutes(found)
    return TooManyAttempts(
        "password",
        f"too many wrong passwords for {staff.username} ({len(found)} within "
        f"{LOGIN_SECONDS // 60} minutes): log-in and {what} are locked; try again in {wait} "
        f"minute{'s' if wait != 1 else ''}",
    )


def count_wrong_password(staff: Staff) -> None:
    """One wrong password of ``staff`` toward the lockout (its own committed row)."""
    LOGIN.record(login_key(staff.username))


def _validate(password: str, staff: Staff) -> list[str]:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, staff.user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


@action("change_password", list(Role.values))
def change_password(actor: Staff, old_password: str, new_password: str) -> Staff:
    """The actor changes their own password (every role).

    Refused: the account locked by wrong passwords (429 on ``password``), a wrong current
    password (422 on ``old_password``; counted toward the lockout, in a row that outlives the
    refusal), a new password that fails the validators or equals the current one (422 on
    ``new_password``). On success ``must_change_password`` is cleared, the log-in failures are
    cleared, and the audit row ``change_password`` (table ``staff``) says so, without any
    password."""
    locked = lockout_error(actor, "password changes")
    if locked is not None:
        raise locked
    old = old_password if isinstance(old_password, str) else ""
    new = new_password if isinstance(new_password, str) else ""
    user = actor.user
    if not user.check_password(old):  # always runs the hasher (an empty one too)
        exc = ActionError(
            "old_password",
            "your current password is not correct" if old else "give your current password",
        )
        exc.after_rollback = lambda: count_wrong_password(actor)
        raise exc
    problems = _validate(new, actor) if new else ["required"]
    if not problems and new == old:
        problems = ["the new password must differ from the current one"]
    if problems:
        raise ActionError("new_password", " ".join(problems))
    user.set_password(new)
    user.save(update_fields=["password"])
    was = actor.must_change_password
    actor.must_change_password = False
    actor.save(update_fields=["must_change_password"])
    LOGIN.clear(login_key(actor.username))
    audit.write(
        actor,
        "change_password",
        actor,
        old={"username": actor.username, "must_change_password": was},
        new={"username": actor.username, "must_change_password": False},
        reason="changed by the account's holder",
    )
    return actor


# ------------------------------------------------------------------------ user-access list

#: Audit actions on a staff row that start or end a period of access.
_STARTS = {"add_staff", "approve_access", "reactivate_staff"}
_ENDS = {"deactivate_staff"}


@dataclasses.dataclass
class AccessPeriod:
    """One person holding one role at one site (or every site) from ``start`` to ``end``."""

    username: str
    full_name: str
    role: str
    site: str  # a site code, or "*" for every site
    start: dt.datetime
    granted_by: str
    end: dt.datetime | None = None
    ended_by: str = ""
    end_reason: str = ""


ACCESS_COLUMNS = (
    "username",
    "full_name",
    "role",
    "role_label",
    "site",
    "from_utc",
    "granted_by",
    "to_utc",
    "ended_by",
    "end_reason",
)


def access_list(actor: Staff) -> list[AccessPeriod]:
    """Who had which role at which site, from when to when (admin only; 403 otherwise).

    Folded from the audit trail of the trial's staff rows, in chain order: ``add_staff``
    starts a period (unless the account waits for a DSMB approval), ``approve_access`` and
    ``reactivate_staff`` start one, ``deactivate_staff`` ends the open ones. One row per site
    (``*`` for a person of every site); an open period has no end."""
    if actor.role != Role.ADMIN:
        raise Forbidden("role", f"a {actor.role} may not export the user-access list (admin only)")
    people = {
        str(s.pk): s
        for s in Staff.objects.filter(trial_id=actor.trial_id)
        .select_related("user")
        .prefetch_related("sites")
    }
    rows = AuditEntry.objects.filter(table="staff", record_id__in=list(people)).order_by("seq")
    out: list[AccessPeriod] = []
    open_: dict[str, list[AccessPeriod]] = {}
    for e in rows.only("seq", "at", "actor", "action", "record_id", "new", "reason"):
        s = people[e.record_id]
        new: dict[str, Any] = json.loads(e.new) if e.new else {}
        if not isinstance(new, dict):
            new = {}
        if e.action in _STARTS and not open_.get(e.record_id):
            if e.action == "add_staff" and new.get("awaiting_approval"):
                continue
            all_sites = s.all_sites or s.role in (Role.DATA_MANAGER, Role.DSMB, Role.ADMIN)
            codes = ["*"] if all_sites else sorted(x.code for x in s.sites.all()) or ["-"]
            periods = [
                AccessPeriod(s.username, s.full_name, s.role, code, e.at, e.actor) for code in codes
            ]
            open_[e.record_id] = periods
            out += periods
        elif e.action in _ENDS:
            for period in open_.pop(e.record_id, []):
                period.end, period.ended_by, period.end_reason = e.at, e.actor, e.reason
    out.sort(key=lambda x: (x.username, x.start, x.site))
    return out


def _cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula (a name may start with ``=``)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def access_list_csv(actor: Staff) -> str:
    """:func:`access_list` as CSV (UTF-8 text, ISO 8601 UTC times, an open period's end blank)."""
    labels = dict(Role.choices)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ACCESS_COLUMNS)
    for p in access_list(actor):
        w.writerow(
            [
                p.username,
                _cell(p.full_name),
                p.role,
                labels.get(p.role, p.role),
                p.site,
                audit._plain(p.start),
                p.granted_by,
                audit._plain(p.end) if p.end else "",
                p.ended_by,
                _cell(p.end_reason),
            ]
        )
    return buf.getvalue()


__all__ = [
    "ACCESS_COLUMNS",
    "AccessPeriod",
    "access_list",
    "access_list_csv",
    "change_password",
    "count_wrong_password",
    "dormant_days",
    "is_dormant",
    "last_seen",
    "lockout_error",
]
