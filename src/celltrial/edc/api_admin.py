"""The REST API of the trial's administration: sites and staff (list, deactivate, reactivate)
and protocol versions (list, load a new one).

Mounted on the main API (:mod:`celltrial.edc.api`, which imports this module by its dotted
path at its end), so the bearer token, the error shape (``{"detail": [{"field", "message"}]}``)
and the ``Idempotency-Key`` header are the same. Everything here is for the admin role.

``GET /sites`` and ``GET /staff`` share their paths with ``POST /sites`` and ``POST /staff`` of
the main API's own router: django-ninja gives each router its own URL patterns and the first
pattern of a path answers every method (a ``GET`` would be a 405), so these two reads are
registered on the main API's router (``api.get``) rather than on :data:`router`.
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
from celltrial.edc.actions import Forbidden  # noqa: E402
from celltrial.edc.api import _key, _staff, api  # noqa: E402
from celltrial.edc.models import ProtocolVersion, Role, Site, Staff  # noqa: E402
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
    every = x.all_sites or x.role in ALL_SITE_ROLES
    return {
        "username": x.username,
        "role": x.role,
        "role_label": x.get_role_display(),
        "sites": None if every else sorted(s.code for s in x.sites.all()),
        "all_sites": every,
        "active": x.user.is_active,
        "tokens": getattr(x, "n_tokens", None),
    }


def staff_query(trial_id: int) -> QuerySet[Staff]:
    """The staff of a trial with their user, sites and unrevoked token counts."""
    return (
        Staff.objects.filter(trial_id=trial_id)
        .select_related("user")
        .prefetch_related("sites")
        .annotate(n_tokens=Count("tokens", filter=Q(tokens__revoked=False)))
    )


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


api.get("/sites", tags=TAGS)(list_sites)
api.get("/staff", tags=TAGS)(list_staff)


@router.get("/protocol-versions", tags=TAGS)
def protocol_versions(request: HttpRequest) -> list[dict[str, Any]]:
    """Every protocol version loaded, the newest first (``active``: the one in force)."""
    s = _admin(request, "the protocol versions")
    rows = ProtocolVersion.objects.filter(trial_id=s.trial_id).defer("yaml_text")
    return [version_row(pv) for pv in rows.order_by("-loaded_at", "-id")]


# ----------------------------------------------------------------------------------- writes


@router.post("/staff/{username}/deactivate", tags=TAGS)
def deactivate(request: HttpRequest, username: str, body: ReasonIn) -> dict[str, Any]:
    """The person can no longer log in nor use their tokens (the account and its history stay)."""
    s = _staff(request)
    x = actions.deactivate_staff(s, username, body.reason, idempotency_key=_key(request))
    return staff_row(staff_query(s.trial_id).get(pk=x.pk))


@router.post("/staff/{username}/reactivate", tags=TAGS)
def reactivate(request: HttpRequest, username: str, body: ReasonIn) -> dict[str, Any]:
    s = _staff(request)
    x = actions.reactivate_staff(s, username, body.reason, idempotency_key=_key(request))
    return staff_row(staff_query(s.trial_id).get(pk=x.pk))


@router.post("/protocol-versions", tags=TAGS)
def load_protocol(request: HttpRequest, body: ProtocolIn) -> dict[str, Any]:
    """A new version of the trial's protocol (its YAML text); it becomes the active one.

    422 lists the loader's problems, each with its line (``field`` ``protocol``), or names
    ``id`` (another trial's protocol) or ``arms``; 409 when the same text or version is loaded
    already."""
    s = _staff(request)
    pv = actions.load_protocol_version(s, body.text, idempotency_key=_key(request))
    return version_row(pv)
