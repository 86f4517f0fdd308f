"""Setting a trial up: the trial and its protocol, sites, staff, tokens, the sealed list."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction

from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    action,
    now,
)
from celltrial.edc.models import (
    AllocationSlot,
    ApiToken,
    AuditEntry,
    ProtocolVersion,
    Role,
    Site,
    Staff,
    Trial,
)
from celltrial.protocol import Protocol, ProtocolError, parse_protocol

if TYPE_CHECKING:
    from celltrial.allocation import SealedList

#: Roles that see the arms. An admin (blinded) may ask for such an account but cannot make it
#: usable: it waits, inactive and without a password the admin knows, until a DSMB member
#: approves it (:func:`approve_access`), and an admin issues no token for it (issue 16, item 5).
UNBLINDED = frozenset({Role.PHARMACIST, Role.DSMB})
SEPARATION = (
    "separation of duties: an account that sees the arms is made usable by a DSMB member's "
    "approval, not by an admin"
)

#: Django's rule for usernames (``UnicodeUsernameValidator``): a username is also a URL part.
USERNAME = re.compile(r"^[\w.@+-]{1,150}\Z")
SITE_CODE = re.compile(r"^[-a-zA-Z0-9_]{1,40}\Z")
#: The shortest initial password accepted (when one is given).
MIN_PASSWORD = 12
#: The longest full name (the column's length).
MAX_FULL_NAME = 150


def _parse(yaml_text: str, file: str = "<protocol>") -> Protocol:
    try:
        return parse_protocol(yaml_text, file=file)
    except ProtocolError as exc:
        raise ActionError(problems=[Problem("protocol", str(p)) for p in exc.problems]) from None


def create_trial(
    yaml_text: str,
    *,
    sites: Sequence[tuple[str, str]],
    admin_username: str,
    admin_password: str | None = None,
    admin_full_name: str | None = None,
    must_change: bool = True,
) -> Staff:
    """Bootstrap: a trial from a protocol's YAML text, its sites and its first admin.

    The only write without an actor (there is none yet); its audit rows name ``system``.
    """
    protocol = _parse(yaml_text)
    if not sites:
        raise ActionError("sites", "give at least one site")
    with transaction.atomic():
        if Trial.objects.filter(code=protocol.id).exists():
            raise Conflict("protocol", f"trial {protocol.id} already exists in this database")
        trial = Trial.objects.create(
            code=protocol.id,
            title=protocol.title,
            blinding=protocol.design.blinding or "",
            created_at=now(),
        )
        audit.write(None, "create_trial", trial, old=None, new=audit.snapshot(trial))
        version = ProtocolVersion.objects.create(
            trial=trial,
            version=protocol.version,
            yaml_text=yaml_text,
            sha256=hashlib.sha256(yaml_text.encode("utf-8")).hexdigest(),
            loaded_at=now(),
        )
        audit.write(
            None,
            "load_protocol",
            version,
            old=None,
            new=audit.snapshot(version, ["version", "sha256", "loaded_at", "active"]),
        )
        for code, name in sites:
            site = Site.objects.create(trial=trial, code=code, name=name)
            audit.write(None, "add_site", site, old=None, new=audit.snapshot(site))
        return _add_staff(
            None,
            trial,
            admin_username,
            Role.ADMIN,
            [],
            admin_password,
            full_name=admin_full_name or admin_username,
            must_change=must_change,
        )


def _add_staff(
    actor: Staff | None,
    trial: Trial,
    username: str,
    role: str,
    site_codes: Iterable[str],
    password: str | None,
    all_sites: bool = False,
    *,
    full_name: str | None = None,
    must_change: bool = True,
) -> Staff:
    problems = []
    name = " ".join((full_name or "").split())
    if full_name is not None and not name:
        problems.append(Problem("full_name", "required (the person's first and last name)"))
    elif len(name) > MAX_FULL_NAME:
        problems.append(Problem("full_name", f"at most {MAX_FULL_NAME} characters"))
    if role not in Role.values:
        problems.append(Problem("role", f"{role!r} is not one of {', '.join(Role.values)}"))
    if not username:
        problems.append(Problem("username", "required"))
    elif not USERNAME.match(username):
        problems.append(
            Problem("username", "letters, digits and @ . + - _ only, at most 150 characters")
        )
    if password and len(password) < MIN_PASSWORD:
        problems.append(Problem("password", f"at least {MIN_PASSWORD} characters"))
    elif password and password == username:
        problems.append(Problem("password", "must not be the username"))
    elif password:
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        try:  # Django's validators (common passwords, numeric, like the username) and ours
            validate_password(password, get_user_model()(username=username))
        except ValidationError as exc:
            problems.append(Problem("password", " ".join(exc.messages)))
    if problems:
        raise ActionError(problems=problems)
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise Conflict("username", f"{username!r} is already taken")
    codes = list(site_codes)
    sites = list(Site.objects.filter(trial=trial, code__in=codes))
    unknown = set(codes) - {s.code for s in sites}
    if unknown:
        raise NotFound("sites", f"no site(s) {sorted(unknown)} in trial {trial.code}")
    # An admin asking for an unblinded account gets it inactive and without the password they
    # chose: a DSMB member approves it and hands its first password over (approve_access).
    awaiting = actor is not None and role in UNBLINDED
    user = user_model(username=username, is_active=not awaiting)
    if password and not awaiting:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    # Someone else chose this password: the person changes it at their first log-in.
    forced = bool(password) and not awaiting and must_change
    staff = Staff.objects.create(
        user=user,
        trial=trial,
        role=role,
        all_sites=all_sites,
        full_name=name,
        must_change_password=forced,
    )
    staff.sites.set(sites)
    new: dict[str, object] = {
        "username": username,
        "full_name": name,
        "role": role,
        "sites": sorted(codes),
        "all_sites": all_sites,
        "must_change_password": forced,
    }
    if awaiting:
        new["awaiting_approval"] = True
    audit.write(actor, "add_staff", staff, old=None, new=new)
    return staff


def add_staff_as_operator(
    trial: Trial,
    username: str,
    role: str,
    sites: Iterable[str] = (),
    *,
    password: str | None = None,
    all_sites: bool = False,
    full_name: str | None = None,
    must_change: bool = True,
) -> Staff:
    """The server operator's bootstrap (the command line, not the web or API): a person of any
    role, active at once; the audit rows name ``system``. The first DSMB members come this way,
    so that later unblinded accounts have someone to approve them. ``full_name`` left out is
    the username; a ``password`` given must be changed at the first log-in unless
    ``must_change`` is false (the demo's accounts)."""
    with transaction.atomic():
        return _add_staff(
            None,
            trial,
            username,
            role,
            sites,
            password,
            all_sites,
            full_name=full_name or username,
            must_change=must_change,
        )


@action("approve_access", [Role.DSMB])
def approve_access(actor: Staff, username: str, reason: str) -> Staff:
    """A DSMB member approves an unblinded account an admin asked for (or reactivates one):
    the account becomes active with a new first password, on ``.initial_password`` once (for
    the approver to hand over; the admin never knew it). The audit row is visible to every
    role. Refused: no reason, one's own account, a blinded role's account, an active one."""
    if not (reason or "").strip():
        raise ActionError("reason", "give a reason (it is kept in the audit trail)")
    staff = _staff_named(actor, username)
    if staff.pk == actor.pk:
        raise Forbidden("username", "you cannot approve your own account")
    if staff.role not in UNBLINDED:
        raise ActionError("username", f"{username!r} is a {staff.role}: an admin manages it")
    if staff.user.is_active:
        raise Conflict("username", f"{username!r} is active already")
    first = secrets.token_urlsafe(12)
    staff.user.is_active = True
    staff.user.set_password(first)
    staff.user.save(update_fields=["is_active", "password"])
    staff.must_change_password = True  # the approver knows this one: changed at first log-in
    staff.save(update_fields=["must_change_password"])
    audit.write(
        actor,
        "approve_access",
        staff,
        old={"username": username, "role": staff.role, "is_active": False},
        new={
            "username": username,
            "role": staff.role,
            "is_active": True,
            "must_change_password": True,
        },
        reason=reason.strip(),
    )
    staff.initial_password = first
    return staff


@action("add_site", [Role.ADMIN])
def add_site(actor: Staff, code: str, name: str) -> Site:
    problems = []
    if not SITE_CODE.match(code or ""):
        problems.append(Problem("code", "1 to 40 letters, digits, - or _ (e.g. site3)"))
    if not (name or "").strip():
        problems.append(Problem("name", "required"))
    elif len(name) > 200:
        problems.append(Problem("name", "at most 200 characters"))
    if problems:
        raise ActionError(problems=problems)
    if Site.objects.filter(trial_id=actor.trial_id, code=code).exists():
        raise Conflict("code", f"site {code!r} exists already")
    site = Site.objects.create(trial_id=actor.trial_id, code=code, name=name)
    audit.write(actor, "add_site", site, old=None, new=audit.snapshot(site))
    return site


@action("add_staff", [Role.ADMIN])
def add_staff(
    actor: Staff,
    username: str,
    role: str,
    sites: Iterable[str] = (),
    *,
    password: str | None = None,
    all_sites: bool = False,
    full_name: str = "",
    must_change: bool = True,
) -> Staff:
    """A person with one role in this trial, working at ``sites``, named ``full_name``
    (required: 422 on ``full_name``). A ``password`` given is the first one: the person must
    change it at their first log-in (``must_change_password``), so the admin does not know it
    afterwards (``must_change=False`` only for the operator's demo)."""
    return _add_staff(
        actor,
        actor.trial,
        username,
        role,
        sites,
        password,
        all_sites,
        full_name=full_name,
        must_change=must_change,
    )


#: The longest label of an API token (the column's length).
MAX_TOKEN_LABEL = 100


@action("issue_token", [Role.ADMIN, *UNBLINDED])
def issue_token(actor: Staff, staff: Staff, label: str = "") -> ApiToken:
    """A new API token for ``staff``; the clear token is on ``.raw`` once, only its hash is kept.

    ``label`` (what the token is for) is stripped; at most :data:`MAX_TOKEN_LABEL` characters.
    """
    if staff.trial_id != actor.trial_id:
        raise NotFound("staff", "no such person in this trial")
    if staff.role in UNBLINDED and staff.pk != actor.pk:
        raise Forbidden(
            "staff", f"a token for a {staff.role} is issued by its holder; {SEPARATION}"
        )
    if actor.role != Role.ADMIN and staff.pk != actor.pk:
        raise Forbidden("staff", f"a {actor.role} issues tokens for themselves only")
    label = (label or "").strip()
    if len(label) > MAX_TOKEN_LABEL:
        raise ActionError("label", f"at most {MAX_TOKEN_LABEL} characters")
    return _issue(actor, staff, label)


@action("revoke_token", [Role.ADMIN])
def revoke_token(actor: Staff, token_id: int, *, reason: str) -> ApiToken:
    """Revoke the API token ``token_id`` of a person of the actor's trial, for ``reason``.

    The token row stays (its audit rows name it) with ``revoked`` true; the API refuses the
    token from then on, within its token cache time (``CELLTRIAL_AUTH_CACHE_SECONDS``, 5 s by
    default, in each server process). Refused: no reason (422 on ``reason``), a token that is
    not one of this trial's people's (404 on ``token``), one revoked already (409 on
    ``token``). Audit row ``revoke_token``: old/new ``revoked``, the label, whose token, the
    reason.
    """
    if not (reason or "").strip():
        raise ActionError("reason", "give a reason (it is kept in the audit trail)")
    try:
        pk = int(token_id)
    except (TypeError, ValueError):
        pk = 0
    token = None
    if 0 < pk < 2**63:  # a BigAutoField: anything else names no token (and no database error)
        token = (
            ApiToken.objects.select_for_update(of=("self",))
            .select_related("staff__user")
            .filter(pk=pk, staff__trial_id=actor.trial_id)
            .first()
        )
    if token is None:
        raise NotFound("token", f"no API token {token_id!s:.40} in this trial")
    who = token.staff.username
    if token.revoked:
        raise Conflict("token", f"token {pk} of {who} is revoked already")
    token.revoked = True
    token.save(update_fields=["revoked"])
    audit.write(
        actor,
        "revoke_token",
        token,
        old={"revoked": False, "label": token.label, "staff": who},
        new={"revoked": True, "label": token.label, "staff": who},
        reason=reason.strip(),
    )
    return token


def _issue(actor: Staff | None, staff: Staff, label: str) -> ApiToken:
    raw = "ct_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        staff=staff,
        digest=hashlib.sha256(raw.encode()).hexdigest(),
        label=label,
        created_at=now(),
    )
    audit.write(
        actor, "issue_token", token, old=None, new={"staff": staff.username, "label": label}
    )
    token.raw = raw
    return token


def token_for(staff: Staff, label: str = "") -> str:
    """Issue a token for ``staff`` outside the API (command line, tests); returns the clear text."""
    with transaction.atomic():
        return str(_issue(None, staff, label).raw)


@action("load_allocation_list", [Role.ADMIN, Role.PHARMACIST])
def load_allocation_list(
    actor: Staff, data: bytes, *, commitment: str | None = None
) -> ProtocolVersion:
    """Store a sealed list's rows (sequence, site, stratum, arm, kit code).

    Checked: the list parses, it matches ``commitment`` when given, it is for this trial's
    protocol, its sites exist, and none of them has list rows yet: a trial's first list, or a
    list for sites added later (a new site's list: its rows are numbered after the stored ones,
    its kit codes must be new).
    """
    from celltrial.allocation import AllocationError, parse_list, verify

    try:
        sealed = parse_list(data)
        if commitment is not None:
            check = verify(data, commitment)
            if not check.ok:
                raise ActionError("commitment", check.message)
    except AllocationError as exc:
        raise ActionError("list", str(exc)) from None
    if sealed.header["protocol"] != actor.trial.code:
        raise ActionError(
            "list",
            f"the list is for protocol {sealed.header['protocol']!r}, not {actor.trial.code!r}",
        )
    return _store_list(actor, sealed, how="uploaded")


def _store_list(actor: Staff, sealed: SealedList, *, how: str) -> ProtocolVersion:
    """Store ``sealed``'s rows after the trial's stored ones, with the audit row that records
    its commitment (the list's own SHA-256) and the HMAC of its rows."""
    version = actor.trial.active_protocol()
    trial = Trial.objects.select_for_update().get(pk=actor.trial_id)  # one list at a time
    codes = set(Site.objects.filter(trial=trial).values_list("code", flat=True))
    sites = sorted({r.site for r in sealed.rows})
    missing = [c for c in sites if c not in codes]
    if missing:
        raise ActionError("list", f"the list names site(s) {missing} that this trial does not have")
    stored = AllocationSlot.objects.filter(trial=trial)
    taken = sorted(set(stored.filter(site_code__in=sites).values_list("site_code", flat=True)))
    if taken:
        raise Conflict(
            "list",
            f"site(s) {taken} have a list loaded already; a list is loaded for sites without "
            "one (a new site)",
        )
    kits = {r.kit_code for r in sealed.rows}
    if stored.filter(kit_code__in=kits).exists():
        raise Conflict("list", "a kit code of this list is used by the stored list already")
    digest = sealed.commitment()
    if stored.filter(commitment=digest).exists():  # pragma: no cover - same rows, caught above
        raise Conflict("list", "this list is loaded already")
    offset = max(stored.values_list("sequence", flat=True), default=0)
    AllocationSlot.objects.bulk_create(
        AllocationSlot(
            trial_id=actor.trial_id,
            sequence=offset + r.sequence,
            site_code=r.site,
            stratum=r.stratum,
            kit_code=r.kit_code,
            arm=r.arm,
            commitment=digest,
        )
        for r in sealed.rows
    )
    nonce = secrets.token_hex(16)  # keys the rows' digest; secret like every row's nonce
    audit.write(
        actor,
        "load_allocation_list",
        version,
        old=None,
        new={
            "rows": len(sealed.rows),
            "commitment": digest,
            "method": sealed.header["method"],
            "sites": sites,
            "first_sequence": offset + 1,
            "how": how,
            "slots_digest": audit.slots_digest(nonce, actor.trial_id, digest),
        },
        nonce=nonce,
    )
    return version


@dataclasses.dataclass(frozen=True)
class GeneratedList:
    """What :func:`generate_allocation_list` made: no arm, no key (neither is kept)."""

    site: str
    rows: int
    commitment: str
    method: str
    block_sizes: str


#: Rows per stratum of a generated list: at least 1, at most this.
MAX_PER_STRATUM = 1000
#: Block sizes of a generated list: at most this many, each at most :data:`MAX_BLOCK`.
MAX_BLOCK_SIZES = 10
MAX_BLOCK = 100


def generate_allocation_list(
    actor: Staff, site: str, *, per_stratum: int = 60, block_sizes: Sequence[int] | None = None
) -> GeneratedList:
    """See :func:`_generate_allocation_list` (the action; this returns what it made)."""
    pv = _generate_allocation_list(actor, site, per_stratum=per_stratum, block_sizes=block_sizes)
    made: GeneratedList = pv.__dict__["generated"]
    return made


@action("generate_allocation_list", [Role.ADMIN])
def _generate_allocation_list(
    actor: Staff, site: str, *, per_stratum: int = 60, block_sizes: Sequence[int] | None = None
) -> ProtocolVersion:
    """A sealed list for a site that has none yet (a new site), generated on the server.

    The scheme is the protocol's (method of the trial's first list, so that the strata are
    the same; ratio and block sizes from the protocol, or ``block_sizes`` when given or when
    the protocol leaves them unknown), the key a fresh 256-bit secret that is used once and
    not kept: nobody, the admin included, sees an arm. The rows are stored as
    :func:`load_allocation_list` stores an uploaded list and the audit row records the
    commitment (SHA-256 of the list's canonical text). Errors: ``site`` unknown (404) or
    with a list already (409), ``per_stratum`` outside 1…1000, bad ``block_sizes`` (422)."""
    from celltrial.allocation import AllocationError, generate_list, scheme_from_protocol

    site_row = Site.objects.filter(trial_id=actor.trial_id, code=site).first()
    if site_row is None:
        raise NotFound("site", f"no site {site!r} in this trial")
    try:
        n = int(per_stratum)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= MAX_PER_STRATUM:
        raise ActionError("per_stratum", f"a whole number from 1 to {MAX_PER_STRATUM}")
    sizes = list(block_sizes or [])
    if len(sizes) > MAX_BLOCK_SIZES or any(
        isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= MAX_BLOCK for b in sizes
    ):
        raise ActionError(
            "block_sizes",
            f"at most {MAX_BLOCK_SIZES} sizes, each a whole number from 1 to {MAX_BLOCK}",
        )
    first = (
        AuditEntry.objects.filter(action="load_allocation_list", table="protocolversion")
        .filter(record_id__in=[str(pk) for pk in actor.trial.protocol_versions.values("pk")])
        .order_by("seq")
        .first()
    )
    method = None
    if first is not None:
        method = json.loads(first.new).get("method") or None
    pv = actor.trial.active_protocol()
    protocol = pv.protocol
    try:
        scheme = scheme_from_protocol(protocol, method=method, block_sizes=sizes or None)
        sealed = generate_list(
            scheme,
            key=secrets.token_bytes(32),
            protocol=actor.trial.code,
            protocol_version=str(protocol.version),
            sites=[site],
            per_stratum=n,
        )
    except AllocationError as exc:
        text = str(exc)
        field = "block_sizes" if "block" in text else "ratio" if "ratio" in text else "list"
        raise ActionError(field, text) from None
    stored = _store_list(actor, sealed, how="generated")
    stored.__dict__["generated"] = GeneratedList(
        site=site,
        rows=len(sealed.rows),
        commitment=sealed.commitment(),
        method=scheme.method,
        block_sizes=sealed.header["block_sizes"],
    )
    return stored


def allocation_lists(actor: Staff) -> list[dict[str, Any]]:
    """The lists loaded (first first): when, by whom, how, sites, rows, commitment — no arm
    (every role may read the commitment: it is published)."""
    pvs = [str(pk) for pk in actor.trial.protocol_versions.values_list("pk", flat=True)]
    rows = AuditEntry.objects.filter(
        action="load_allocation_list", table="protocolversion", record_id__in=pvs
    ).order_by("seq")
    out = []
    for e in rows:
        new = json.loads(e.new)
        sites = new.get("sites")
        if sites is None:  # written before lists per site: the sites of its rows
            sites = sorted(
                set(
                    AllocationSlot.objects.filter(
                        trial_id=actor.trial_id, commitment=new.get("commitment", "")
                    ).values_list("site_code", flat=True)
                )
            )
        out.append(
            {
                "at": e.at,
                "actor": e.actor,
                "how": new.get("how", "uploaded"),
                "sites": sites,
                "rows": new.get("rows"),
                "commitment": new.get("commitment", ""),
                "method": new.get("method", ""),
                "seq": e.seq,
            }
        )
    return out


# ------------------------------------------------------------------------------------------
# People leave and come back; the protocol is amended
# ------------------------------------------------------------------------------------------


def _staff_named(actor: Staff, username: str) -> Staff:
    """The person ``username`` of the actor's trial, their user row locked."""
    staff = (
        Staff.objects.select_related("user")
        .filter(trial_id=actor.trial_id, user__username=username)
        .first()
    )
    if staff is None:
        raise NotFound("username", f"no staff {username!r} in this trial")
    # Locked until the commit: two admins changing one account queue (PostgreSQL).
    staff.user = get_user_model().objects.select_for_update().get(pk=staff.user_id)
    return staff


def _set_active(actor: Staff, name: str, username: str, reason: str, active: bool) -> Staff:
    if not (reason or "").strip():
        raise ActionError("reason", "give a reason (it is kept in the audit trail)")
    staff = _staff_named(actor, username)
    if active and staff.role in UNBLINDED:
        raise Forbidden("username", f"{username!r} is a {staff.role}: {SEPARATION}")
    if not active and staff.pk == actor.pk:
        raise ActionError("username", "you cannot deactivate yourself: another admin must do it")
    if staff.user.is_active == active:
        state = "active" if active else "inactive"
        raise Conflict("username", f"{username!r} is {state} already")
    staff.user.is_active = active
    staff.user.save(update_fields=["is_active"])
    if not active:
        _end_sessions(staff.user.pk)
    audit.write(
        actor,
        name,
        staff,
        old={"username": username, "is_active": not active},
        new={"username": username, "is_active": active},
        reason=reason.strip(),
    )
    return staff


def _end_sessions(user_id: int) -> None:
    """Delete the user's web sessions: a deactivated person's old session must not work again
    once they are reactivated (they log in anew). Sessions are not indexed by user, so the
    unexpired ones are decoded (a trial has few)."""
    from django.contrib.sessions.models import Session

    mine = str(user_id)
    for session in Session.objects.filter(expire_date__gt=now()).iterator():
        if session.get_decoded().get("_auth_user_id") == mine:
            session.delete()


@action("deactivate_staff", [Role.ADMIN])
def deactivate_staff(actor: Staff, username: str, reason: str) -> Staff:
    """Stop ``username`` from logging in and from using their API tokens.

    The account stays (its audit rows, signatures and queries name it); Django refuses to log
    in an inactive user and ends their sessions at the next request, and the API refuses their
    tokens (within the API's token cache time, ``CELLTRIAL_AUTH_CACHE_SECONDS``). An admin
    cannot deactivate themselves, so a trial always keeps an active admin.
    """
    return _set_active(actor, "deactivate_staff", username, reason, False)


@action("reactivate_staff", [Role.ADMIN])
def reactivate_staff(actor: Staff, username: str, reason: str) -> Staff:
    """Let a deactivated ``username`` log in and use their (unrevoked) tokens again."""
    return _set_active(actor, "reactivate_staff", username, reason, True)


@action("load_protocol_version", [Role.ADMIN])
def load_protocol_version(
    actor: Staff, yaml_text: str, *, file: str = "<protocol>"
) -> ProtocolVersion:
    """A new version of this trial's protocol from its YAML text; it becomes the active one.

    Checked, before anything is written: the text is a valid protocol (every problem of the
    loader, with its line, is one problem on ``protocol``; ``file`` names the text in them),
    its ``id`` is this trial's code, the same text was not loaded before (409), its
    ``version`` is new (409), and it still defines the arms of a loaded allocation list. The
    versions active until now become inactive (one audit row each) and the new one is written
    with its version and SHA-256 (audit row ``load_protocol_version``). Line endings are
    made ``\\n`` first, so the same text pasted in a browser (``\\r\\n``) is the same text.
    """
    yaml_text = yaml_text.replace("\r\n", "\n").replace("\r", "\n")
    protocol = _parse(yaml_text, file=file)
    trial = Trial.objects.select_for_update().get(pk=actor.trial_id)  # one loader at a time
    if protocol.id != trial.code:
        raise ActionError(
            "id",
            f"the protocol's id is {protocol.id!r} but this trial is {trial.code!r}: "
            "a protocol of another trial cannot be loaded here",
        )
    digest = hashlib.sha256(yaml_text.encode("utf-8")).hexdigest()
    versions = list(trial.protocol_versions.defer("yaml_text").order_by("loaded_at", "id"))
    for pv in versions:
        if pv.sha256 == digest:
            state = "the active version" if pv.active else "an inactive version"
            raise Conflict(
                "protocol",
                f"this exact text is loaded already: version {pv.version} ({state}, "
                f"loaded {pv.loaded_at:%Y-%m-%d %H:%M} UTC)",
            )
        if pv.version == protocol.version:
            raise Conflict(
                "version",
                f"version {protocol.version!r} is loaded already with a different text: "
                "give the new text a new version",
            )
    used = set(AllocationSlot.objects.filter(trial=trial).values_list("arm", flat=True))
    missing = sorted(used - {a.id for a in protocol.arms})
    if missing:
        raise ActionError(
            "arms", f"the allocation list uses arm(s) {missing} that this version does not define"
        )
    previous = [pv for pv in versions if pv.active]
    for pv in previous:
        pv.active = False
        pv.save(update_fields=["active"])
        audit.write(
            actor,
            "load_protocol_version",
            pv,
            old={"version": pv.version, "active": True},
            new={"version": pv.version, "active": False},
            reason=f"replaced by version {protocol.version}",
        )
    version = ProtocolVersion.objects.create(
        trial=trial,
        version=protocol.version,
        yaml_text=yaml_text,
        sha256=digest,
        loaded_at=now(),
        active=True,
    )
    audit.write(
        actor,
        "load_protocol_version",
        version,
        old=(
            {"version": previous[-1].version, "sha256": previous[-1].sha256} if previous else None
        ),
        new=audit.snapshot(version, ["version", "sha256", "loaded_at", "active"]),
    )
    # This actor's trial remembers its active version for a few seconds (see
    # Trial.active_protocol): forget it, so the caller sees the new one at once. Other
    # processes' remembered trials see it within ACTIVE_PROTOCOL_SECONDS.
    actor.trial.__dict__.pop("_active_protocol", None)
    return version
