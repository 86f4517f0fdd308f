"""The REST API of accounts (21 CFR Part 11 / EU Annex 11), emergency unblinding notices and a
new site's allocation list.

| method and path | who |
|---|---|
| ``POST /me/password`` ``{"old_password", "new_password"}`` | everyone, for themselves |
| ``GET /access-list`` (CSV) | admin |
| ``GET /unblindings`` | DSMB (every site), unblinded pharmacist (their sites) |
| ``GET /allocation-lists``, ``POST /allocation-lists`` ``{"site", "per_stratum", "block_sizes"}`` | admin |

Mounted on the main API (:mod:`celltrial.edc.api`) by its dotted path, so the bearer token, the
error shape and the ``Idempotency-Key`` header are the same.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field

router = Router()

from celltrial.edc import actions, serialize  # noqa: E402
from celltrial.edc.actions import Forbidden  # noqa: E402
from celltrial.edc.api import _key, _staff  # noqa: E402
from celltrial.edc.api_schemas import Out, answers  # noqa: E402
from celltrial.edc.download import download_access_list, download_dataset  # noqa: E402
from celltrial.edc.models import Role, Staff, Unblinding  # noqa: E402
from celltrial.edc.roles import site_ids  # noqa: E402


class PasswordIn(Schema):
    old_password: str
    new_password: str


class PasswordOut(Out):
    username: str
    must_change_password: bool


class UnblindingNoticeOut(Out):
    """An emergency unblinding as the DSMB and the pharmacist are told of it (no arm)."""

    participant: str
    site: str
    by: str
    by_name: str
    at: str | None
    reason: str


class ListGenerateIn(Schema):
    site: str
    per_stratum: int = 60
    block_sizes: list[int] = Field(default_factory=list)


class ListRowOut(Out):
    at: str | None
    actor: str
    how: str
    sites: list[str]
    rows: int | None
    commitment: str
    method: str


class GeneratedOut(Out):
    site: str
    rows: int
    commitment: str
    method: str
    block_sizes: str


@router.post("/me/password", tags=["accounts"], response=answers(PasswordOut), exclude_unset=True)
def change_password(request: HttpRequest, body: PasswordIn) -> dict[str, Any]:
    """Change one's own password: the current one (422 on ``old_password`` when wrong, counted
    toward the log-in lockout: 429 once locked), a new one passing the password rules (422 on
    ``new_password``). Nobody else learns it; ``must_change_password`` is cleared."""
    s = _staff(request)
    x = actions.change_password(
        s, body.old_password, body.new_password, idempotency_key=_key(request)
    )
    return {"username": x.username, "must_change_password": x.must_change_password}


@router.get("/access-list", tags=["accounts"], response=answers(str))
def access_list(request: HttpRequest) -> HttpResponse:
    """The user-access list as CSV (``text/csv``): one row per period in which a person held
    their role at a site (``*``: every site): username, full name, role, site, from, granted
    by, to (blank while in force), ended by, why. Admin only (403 otherwise). Audited
    (``download_access_list``)."""
    s = _staff(request)
    name, body = download_access_list(s, via="api")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def unblinding_notices(s: Staff) -> list[Unblinding]:
    """The emergency unblindings the DSMB (every site) or an unblinded pharmacist (their sites)
    is told of, the newest first; 403 for every other role (the notice itself tells a blinded
    person nothing of the arm, but it is not theirs to watch)."""
    if s.role not in (Role.DSMB, Role.PHARMACIST):
        raise Forbidden("role", f"a {s.role} is not notified of emergency unblindings")
    rows = Unblinding.objects.filter(participant__trial_id=s.trial_id).select_related(
        "participant__site", "staff__user"
    )
    allowed = site_ids(s)
    if allowed is not None:
        rows = rows.filter(participant__site_id__in=allowed)
    return list(rows.order_by("-at", "-id"))


@router.get("/dataset", tags=["exports"], response=answers(str))
def dataset(request: HttpRequest, format: str = "csv") -> HttpResponse:
    """The trial's dataset as one zip file (``application/zip``), as the web's **Dataset** page
    gives it: ``format`` ``csv`` (the tables of ``celltrial edc export``; **blinded** for a
    blinded role), ``sdtm-xpt`` or ``sdtm-json`` (SDTM and ADaM, roles that see arms only).
    Data manager and DSMB only (403 naming ``role``); a CDISC format for a blinded role is a
    403 naming ``format``, an unknown one a 422. Audited (``download_dataset``: file, format,
    blinded, size, SHA-256) in the same transaction."""
    s = _staff(request)
    name, body = download_dataset(s, format, via="api")
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    return response


@router.get(
    "/unblindings",
    tags=["randomization"],
    response=answers(list[UnblindingNoticeOut]),
    exclude_unset=True,
)
def unblindings(request: HttpRequest) -> list[dict[str, Any]]:
    """Emergency unblindings (who, when, why, which participant; no arm)."""
    s = _staff(request)
    return [
        {
            "participant": u.participant.code,
            "site": u.participant.site.code,
            "by": u.staff.username,
            "by_name": u.staff.full_name or u.staff.username,
            "at": serialize._t(u.at),
            "reason": u.reason,
        }
        for u in unblinding_notices(s)
    ]


def _admin(request: HttpRequest, what: str) -> Staff:
    s = _staff(request)
    if s.role != Role.ADMIN:
        raise Forbidden("role", f"a {s.role} may not {what}")
    return s


@router.get(
    "/allocation-lists", tags=["admin"], response=answers(list[ListRowOut]), exclude_unset=True
)
def allocation_lists(request: HttpRequest) -> list[dict[str, Any]]:
    """The sealed lists loaded (the first, then one per new site): when, by whom, generated
    or uploaded, their sites, rows and commitment (never an arm)."""
    s = _admin(request, "read the allocation lists")
    return [
        {k: (serialize._t(v) if k == "at" else v) for k, v in x.items() if k != "seq"}
        for x in actions.allocation_lists(s)
    ]


@router.post(
    "/allocation-lists", tags=["admin"], response=answers(GeneratedOut), exclude_unset=True
)
def generate_list(request: HttpRequest, body: ListGenerateIn) -> dict[str, Any]:
    """Generate a new site's sealed list on the server (a fresh key, used once, not kept; no
    arm shown to anyone): the answer gives its rows and commitment, recorded in the audit
    trail. 404 for an unknown site, 409 when the site has a list, 422 naming ``per_stratum``
    or ``block_sizes``. A repeat (no idempotency key: the first answer is not a record) is the
    409 of a site that has its list."""
    s = _staff(request)
    g = actions.generate_allocation_list(
        s, body.site, per_stratum=body.per_stratum, block_sizes=body.block_sizes or None
    )
    return {
        "site": g.site,
        "rows": g.rows,
        "commitment": g.commitment,
        "method": g.method,
        "block_sizes": g.block_sizes,
    }
