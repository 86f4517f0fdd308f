"""Setting a trial up: the trial and its protocol, sites, staff, tokens, the sealed list."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence

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
    ProtocolVersion,
    Role,
    Site,
    Staff,
    Trial,
)
from celltrial.protocol import Protocol, ProtocolError, parse_protocol

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
        return _add_staff(None, trial, admin_username, Role.ADMIN, [], admin_password)


def _add_staff(
    actor: Staff | None,
    trial: Trial,
    username: str,
    role: str,
    site_codes: Iterable[str],
    password: str | None,
    all_sites: bool = False,
) -> Staff:
    problems = []
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
    staff = Staff.objects.create(user=user, trial=trial, role=role, all_sites=all_sites)
    staff.sites.set(sites)
    new: dict[str, object] = {
        "username": username,
        "role": role,
        "sites": sorted(codes),
        "all_sites": all_sites,
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
) -> Staff:
    """The server operator's bootstrap (the command line, not the web or API): a person of any
    role, active at once; the audit rows name ``system``. The first DSMB members come this way,
    so that later unblinded accounts have someone to approve them."""
    with transaction.atomic():
        return _add_staff(None, trial, username, role, sites, password, all_sites)


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
    audit.write(
        actor,
        "approve_access",
        staff,
        old={"username": username, "role": staff.role, "is_active": False},
        new={"username": username, "role": staff.role, "is_active": True},
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
) -> Staff:
    """A person with one role in this trial, working at ``sites``."""
    return _add_staff(actor, actor.trial, username, role, sites, password, all_sites)


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
    protocol, its sites exist, and no list was loaded before.
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
    version = actor.trial.active_protocol()
    if sealed.header["protocol"] != actor.trial.code:
        raise ActionError(
            "list",
            f"the list is for protocol {sealed.header['protocol']!r}, not {actor.trial.code!r}",
        )
    if AllocationSlot.objects.filter(trial_id=actor.trial_id).exists():
        raise Conflict("list", "a list is loaded already; extensions are not supported yet")
    codes = set(Site.objects.filter(trial_id=actor.trial_id).values_list("code", flat=True))
    missing = sorted({r.site for r in sealed.rows} - codes)
    if missing:
        raise ActionError("list", f"the list names site(s) {missing} that this trial does not have")
    digest = sealed.commitment()
    AllocationSlot.objects.bulk_create(
        AllocationSlot(
            trial_id=actor.trial_id,
            sequence=r.sequence,
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
            "slots_digest": audit.slots_digest(nonce, actor.trial_id),
        },
        nonce=nonce,
    )
    return version


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
