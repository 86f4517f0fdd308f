"""The REST API of the trial's administration: sites and staff (list, deactivate, reactivate),
a person's API tokens (list, revoke) and protocol versions (list, load a new one).

Mounted on the main API (:mod:`celltrial.edc.api`, which imports this module by its dotted
path at its end), so the bearer token, the error shape (``{"detail": [{"field", "message"}]}``)
and the ``Idempotency-Key`` header are the same. Everything here is for the admin role.

``GET /sites`` and ``GET /staff`` share their paths with ``POST /sites`` and ``POST /staff`` of
the main API's own router: django-ninja gives each router its own URL patterns and the first
pattern of a path answers every method (a ``GET`` would be a 405), so these two reads are
registered on the main API's router (``api.get``) rather than on :data:`router`; so is
``GET /staff/{username}/tokens``, beside the main API's ``POST /staff/{username}/tokens``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from ninja import Router, Schema

# Defined before the API module is imported: that module mounts this router by its dotted path
# at its end, so either module may be imported first.
router = Router()

from celltrial.edc import actions, serialize  # noqa: E402
from celltrial.edc.actions import Forbidden, NotFound  # noqa: E402
from celltrial.edc.api import _key, _staff, api  # noqa: E402
from celltrial.edc.api_schemas import (  # noqa: E402
    ApprovedOut,
    SiteRowOut,
    StaffRowOut,
    TokenRowOut,
    VersionRowOut,
    answers,
)
from celltrial.edc.models import ApiToken, ProtocolVersion, Role, Site, Staff  # noqa: E402
from celltrial.edc.roles import ALL_SITE_ROLES  # noqa: E402

TAGS = ["admin"]


class ReasonIn(Schema):
    reason: str


class ProtocolIn(Schema):
    text: str


def _admin(request: HttpRequest, what: str) -> Staff:
    s = _staff(request)
    if s.role != Role.ADMIN:
        raise Forbidden("role", f"a {s.role} may not read {what}")
    return s


def staff_row(x: Staff) -> dict[str, Any]:
    """A person as JSON: role, sites (``None``: every site), active, unrevoked tokens."""
    from celltrial.edc.actions.accounts import is_dormant

    every = x.all_sites or x.role in ALL_SITE_ROLES
    return {
        "username": x.username,
        "full_name": x.full_name,
        "role": x.role,
        "role_label": x.get_role_display(),
        "sites": None if every else sorted(s.code for s in x.sites.all()),
        "all_sites": every,
        "active": x.user.is_active,
        "tokens": getattr(x, "n_tokens", None),
        "last_login": serialize._t(x.user.last_login),
        "dormant": is_dormant(x),
    }


def staff_query(trial_id: int) -> QuerySet[Staff]:
    """The staff of a trial with their user, sites and unrevoked token counts."""
    return (
        Staff.objects.filter(trial_id=trial_id)
        .select_related("user")
        .prefetch_related("sites")
        .annotate(n_tokens=Count("tokens", filter=Q(tokens__revoked=False)))
    )


def token_row(t: ApiToken) -> dict[str, Any]:
    """An API token as JSON: its id, label, creation time and state (never its digest)."""
    return {
        "id": t.pk,
        "label": t.label,
        "created_at": serialize._t(t.created_at),
        "revoked": t.revoked,
    }


def version_row(pv: ProtocolVersion) -> dict[str, Any]:
    return {
        "version": pv.version,
        "sha256": pv.sha256,
        "loaded_at": serialize._t(pv.loaded_at),
        "active": pv.active,
    }


# ------------------------------------------------------------------------------------ reads


def list_sites(request: HttpRequest) -> list[dict[str, Any]]:
    """The trial's sites with the number of active staff working at each."""
    s = _admin(request, "the sites")
    rows = Site.objects.filter(trial_id=s.trial_id).annotate(
        n_staff=Count("staff", filter=Q(staff__user__is_active=True))
    )
    return [{"code": x.code, "name": x.name, "staff": x.n_staff} for x in rows.order_by("code")]


def list_staff(request: HttpRequest) -> list[dict[str, Any]]:
    """Everyone of the trial, active or not, with role and sites."""
    s = _admin(request, "the staff list")
    return [staff_row(x) for x in staff_query(s.trial_id).order_by("user__username")]


def list_tokens(request: HttpRequest, username: str) -> list[dict[str, Any]]:
    """A person's API tokens, the newest first, revoked or not (never the token nor its digest)."""
    s = _admin(request, "API tokens")
    x = Staff.objects.filter(trial_id=s.trial_id, user__username=username).first()
    if x is None:
        raise NotFound("username", f"no staff {username!r} in this trial")
    return [token_row(t) for t in x.tokens.order_by("-created_at", "-id")]


api.get("/sites", tags=TAGS, response=answers(list[SiteRowOut]), exclude_unset=True)(list_sites)
api.get("/staff", tags=TAGS, response=answers(list[StaffRowOut]), exclude_unset=True)(list_staff)
api.get(
    "/staff/{username}/tokens", tags=TAGS, response=answers(list[TokenRowOut]), exclude_unset=True
)(list_tokens)


@router.get(
    "/protocol-versions", tags=TAGS, response=answers(list[VersionRowOut]), exclude_unset=True
)
def protocol_versions(request: HttpRequest) -> list[dict[str, Any]]:
    """Every protocol version loaded, the newest first (``active``: the one in force)."""
    s = _admin(request, "the protocol versions")
    rows = ProtocolVersion.objects.filter(trial_id=s.trial_id).defer("yaml_text")
    return [version_row(pv) for pv in rows.order_by("-loaded_at", "-id")]


# ----------------------------------------------------------------------------------- writes


@router.post(
    "/staff/{username}/deactivate", tags=TAGS, response=answers(StaffRowOut), exclude_unset=True
)
def deactivate(request: HttpRequest, username: str, body: ReasonIn) -> dict[str, Any]:
    """The person can no longer log in nor use their tokens (the account and its history stay)."""
    s = _staff(request)
    x = actions.deactivate_staff(s, username, body.reason, idempotency_key=_key(request))
    return staff_row(staff_query(s.trial_id).get(pk=x.pk))


@router.post(
    "/staff/{username}/reactivate", tags=TAGS, response=answers(StaffRowOut), exclude_unset=True
)
def reactivate(request: HttpRequest, username: str, body: ReasonIn) -> dict[str, Any]:
    s = _staff(request)
    x = actions.reactivate_staff(s, username, body.reason, idempotency_key=_key(request))
    return staff_row(staff_query(s.trial_id).get(pk=x.pk))


@router.post(
    "/staff/{username}/approve", tags=TAGS, response=answers(ApprovedOut), exclude_unset=True
)
def approve(request: HttpRequest, username: str, body: ReasonIn) -> dict[str, Any]:
    """A DSMB member makes an unblinded account (pharmacist, DSMB) an admin asked for usable:
    it becomes active with a first password, given here once (``null`` on a retry with the
    same ``Idempotency-Key``) for the approver to hand over; the admin never knows it.
    Separation of duties (issue 16): an admin cannot create, reactivate or issue a token for an
    account that sees the arms. The audit row ``approve_access`` is visible to every role."""
    s = _staff(request)
    x = actions.approve_access(s, username, body.reason, idempotency_key=_key(request))
    return {
        "username": x.username,
        "role": x.role,
        "active": x.user.is_active,
        "initial_password": getattr(x, "initial_password", None),
    }


@router.post(
    "/tokens/{number}/revoke", tags=TAGS, response=answers(TokenRowOut), exclude_unset=True
)
def revoke(request: HttpRequest, number: int, body: ReasonIn) -> dict[str, Any]:
    """The API refuses the token ``number`` (its ``id`` in ``GET /staff/{username}/tokens``)
    from now on, within ``CELLTRIAL_AUTH_CACHE_SECONDS``.

    404 when it is not a token of this trial's people, 409 when it is revoked already. (The
    path names it ``number``, as the monitoring API names queries and locks.)"""
    s = _staff(request)
    t = actions.revoke_token(s, number, reason=body.reason, idempotency_key=_key(request))
    return {**token_row(t), "username": t.staff.username}


@router.post("/protocol-versions", tags=TAGS, response=answers(VersionRowOut), exclude_unset=True)
def load_protocol(request: HttpRequest, body: ProtocolIn) -> dict[str, Any]:
    """A new version of the trial's protocol (its YAML text); it becomes the active one.

    422 lists the loader's problems, each with its line (``field`` ``protocol``), or names
    ``id`` (another trial's protocol) or ``arms``; 409 when the same text or version is loaded
    already."""
    s = _staff(request)
    pv = actions.load_protocol_version(s, body.text, idempotency_key=_key(request))
    return version_row(pv)
