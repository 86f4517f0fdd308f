"""Setting a trial up: the trial and its protocol, sites, staff, tokens, the sealed list."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence

from django.contrib.auth import get_user_model
from django.db import transaction

from celltrial.edc import audit
from celltrial.edc.actions._base import ActionError, Conflict, NotFound, Problem, action, now
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


def _parse(yaml_text: str) -> Protocol:
    try:
        return parse_protocol(yaml_text)
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
    if role not in Role.values:
        raise ActionError("role", f"{role!r} is not one of {', '.join(Role.values)}")
    user_model = get_user_model()
    if not username or user_model.objects.filter(username=username).exists():
        raise Conflict("username", f"{username!r} is empty or already taken")
    user = user_model(username=username)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    staff = Staff.objects.create(user=user, trial=trial, role=role, all_sites=all_sites)
    codes = list(site_codes)
    sites = list(Site.objects.filter(trial=trial, code__in=codes))
    unknown = set(codes) - {s.code for s in sites}
    if unknown:
        raise NotFound("sites", f"no site(s) {sorted(unknown)} in trial {trial.code}")
    staff.sites.set(sites)
    audit.write(
        actor,
        "add_staff",
        staff,
        old=None,
        new={"username": username, "role": role, "sites": sorted(codes), "all_sites": all_sites},
    )
    return staff


@action("add_site", [Role.ADMIN])
def add_site(actor: Staff, code: str, name: str) -> Site:
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


@action("issue_token", [Role.ADMIN])
def issue_token(actor: Staff, staff: Staff, label: str = "") -> ApiToken:
    """A new API token for ``staff``; the clear token is on ``.raw`` once, only its hash is kept."""
    if staff.trial_id != actor.trial_id:
        raise NotFound("staff", "no such person in this trial")
    return _issue(actor, staff, label)


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
    audit.write(
        actor,
        "load_allocation_list",
        version,
        old=None,
        new={"rows": len(sealed.rows), "commitment": digest, "method": sealed.header["method"]},
    )
    return version
