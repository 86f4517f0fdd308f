"""Web pages of the trial's administrator: an overview (``/manage``, the admin's home), the
sites, the users and their roles (add, deactivate, reactivate; issue and revoke API tokens)
and the protocol (upload a new version).

Admin only: every other role gets 403. Every write is an action of
:mod:`celltrial.edc.actions.setup`; its errors are shown next to the field they name. Nothing
here shows an arm of a participant (the admin is a blinded role): the pages hold sites,
accounts and protocol versions; the protocol's own text (its arms as designed, no
allocation) is on the protocol page.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import PurePath
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers

from celltrial.edc import actions, api, labels
from celltrial.edc.actions import ActionError
from celltrial.edc.actions.accounts import dormant_days
from celltrial.edc.api_admin import staff_query, staff_row
from celltrial.edc.models import ApiToken, AuditEntry, ProtocolVersion, Role, Site, Staff
from celltrial.edc.roles import ALL_SITE_ROLES
from celltrial.edc.web.views import _ctx, _errors, split_errors, staff_page

ADMIN = frozenset({Role.ADMIN})
#: Suggestions of the sites' time-zone box (any IANA name is accepted).
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Shanghai",
    "Asia/Tehran",
    "Asia/Tokyo",
    "Australia/Sydney",
)
#: The largest protocol file accepted (the seed protocols are 10–30 kB).
MAX_PROTOCOL_BYTES = 1_000_000
#: Audit actions of the administration (the overview's recent changes; none holds an arm).
ADMIN_ACTIONS = (
    "create_trial",
    "add_site",
    "add_staff",
    "deactivate_staff",
    "reactivate_staff",
    "issue_token",
    "revoke_token",
    "load_protocol",
    "load_protocol_version",
    "load_allocation_list",
    "change_password",
    "approve_access",
    "download_dataset",
    "download_access_list",
)
PASTED = "<pasted text>"


def describe(e: AuditEntry) -> str:
    """An administrative audit row in words (its values hold no arm)."""
    try:
        new = json.loads(e.new) if e.new else {}
    except ValueError:
        new = {}
    if not isinstance(new, dict):
        new = {}
    who, version = new.get("username", ""), new.get("version", "")
    label = f" ({new['label']})" if new.get("label") else ""
    words = {
        "create_trial": "created the trial",
        "add_site": f"added site {new.get('code', '')}",
        "add_staff": f"added {who} ({labels.label('role', new.get('role', ''))})",
        "deactivate_staff": f"deactivated {who}",
        "reactivate_staff": f"reactivated {who}",
        "issue_token": f"issued an API token to {new.get('staff', '')}{label}",
        "revoke_token": f"revoked an API token of {new.get('staff', '')}{label}",
        "load_protocol": f"loaded protocol version {version}",
        "load_allocation_list": (
            f"loaded the allocation list of {', '.join(new.get('sites') or ['every site'])} "
            f"({new.get('rows', '?')} rows, commitment {new.get('commitment', '')[:16]}…)"
        ),
        "change_password": f"{who} changed their password",
        "approve_access": f"approved {who} ({labels.label('role', new.get('role', ''))})",
        "load_protocol_version": (
            f"loaded protocol version {version}"
            if new.get("active", True)
            else f"made protocol version {version} inactive"
        ),
        "download_dataset": (
            f"downloaded the dataset ({new.get('format', '')}, "
            f"{'blinded' if new.get('blinded') else 'unblinded'}, {new.get('via', '')}): "
            f"{new.get('file', '')}"
        ),
        "download_access_list": (
            f"downloaded the user-access list ({new.get('via', '')}): {new.get('file', '')}"
        ),
    }
    return words.get(e.action, e.action.replace("_", " "))


def _notice(request: HttpRequest) -> str:
    return str(request.session.pop("notice", ""))


def _split(exc: ActionError, fields: tuple[str, ...]) -> dict[str, str]:
    """Problems by field; those naming no field of the form go to ``form``."""
    out, other = split_errors(_errors(exc), fields)
    if other:
        out["form"] = "; ".join(other)
    return out


def _sites_with_counts(staff: Staff) -> list[Site]:
    rows = Site.objects.filter(trial_id=staff.trial_id).annotate(
        n_staff=Count("staff", filter=Q(staff__user__is_active=True))
    )
    return list(rows.order_by("code"))


def _people(staff: Staff) -> list[dict[str, Any]]:
    rows = []
    for x in staff_query(staff.trial_id).order_by("user__username"):
        seen = x.user.last_login
        rows.append(staff_row(x) | {"seen": f"{seen:%Y-%m-%d %H:%M}" if seen else "never"})
    return rows


# ------------------------------------------------------------------------------------------
# The admin's home
# ------------------------------------------------------------------------------------------


@staff_page(ADMIN)
def manage(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The trial at a glance: its protocol in force, sites, people by role, recent changes."""
    people = _people(staff)
    by_role = []
    for value, label in Role.choices:
        mine = [p for p in people if p["role"] == value]
        if mine:
            active = sum(p["active"] for p in mine)
            by_role.append({"label": label, "active": active, "inactive": len(mine) - active})
    recent = [
        {"e": e, "what": describe(e)}
        for e in AuditEntry.objects.filter(action__in=ADMIN_ACTIONS).order_by("-seq")[:12]
    ]
    return render(
        request,
        "edc/manage.html",
        _ctx(
            staff,
            pv=staff.trial.active_protocol(),
            n_versions=ProtocolVersion.objects.filter(trial_id=staff.trial_id).count(),
            sites=_sites_with_counts(staff),
            by_role=by_role,
            n_people=len(people),
            n_inactive=sum(not p["active"] for p in people),
            recent=recent,
            notice=_notice(request),
        ),
    )


# ------------------------------------------------------------------------------------------
# Sites
# ------------------------------------------------------------------------------------------


@staff_page(ADMIN)
def sites(request: HttpRequest, staff: Staff) -> HttpResponse:
    errors: dict[str, str] = {}
    data = {"code": "", "name": ""}
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in data}
        try:
            site = actions.add_site(staff, data["code"], data["name"])
        except ActionError as exc:
            errors = _split(exc, ("code", "name"))
        else:
            request.session["notice"] = f"Site {site.code} ({site.name}) added."
            return redirect("manage_sites")
    return render(
        request,
        "edc/manage_sites.html",
        _ctx(
            staff,
            sites=_sites_with_counts(staff),
            errors={**errors, **request.session.pop("site_errors", {})},
            data=data,
            notice=_notice(request),
            zones=COMMON_ZONES,
        ),
    )


# ------------------------------------------------------------------------------------------
# Users and roles
# ------------------------------------------------------------------------------------------

STAFF_FIELDS = ("username", "full_name", "role", "sites", "password")


@staff_page(ADMIN)
def staff_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Everyone with role, sites and status; the form that adds a person."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "username": "",
        "full_name": "",
        "role": "",
        "sites": [],
        "all_sites": False,
    }
    if request.method == "POST":
        data = {
            "username": request.POST.get("username", "").strip(),
            "full_name": request.POST.get("full_name", "").strip(),
            "role": request.POST.get("role", ""),
            "sites": request.POST.getlist("sites"),
            "all_sites": request.POST.get("all_sites") == "on",
        }
        password = request.POST.get("password", "")
        if not password:
            errors["password"] = "required: the person logs in with it the first time"
        if not data["role"]:
            errors["role"] = "choose a role"
        if not errors:
            try:
                x = actions.add_staff(
                    staff,
                    data["username"],
                    data["role"],
                    data["sites"],
                    password=password,
                    all_sites=data["all_sites"],
                    full_name=data["full_name"],
                )
            except ActionError as exc:
                errors = _split(exc, STAFF_FIELDS)
            else:
                where = ", ".join(sorted(data["sites"])) or "no site"
                if data["all_sites"] or x.role in ALL_SITE_ROLES:
                    where = "every site"
                request.session["notice"] = (
                    f"{x.display_name} added as {x.get_role_display()} ({where}). "
                    "Give them their initial password in person: they choose their own at "
                    "their first log-in."
                )
                return redirect("manage_person", username=x.username)
    return render(
        request,
        "edc/manage_staff.html",
        _ctx(
            staff,
            people=_people(staff),
            roles=Role.choices,
            all_site_roles=sorted(ALL_SITE_ROLES),
            dormant_days=dormant_days(),
            site_choices=list(Site.objects.filter(trial_id=staff.trial_id).order_by("code")),
            errors=errors,
            data=data,
            notice=_notice(request),
        ),
    )


#: A refused revocation form: the token's ``id``, the ``reason`` typed, its ``error``.
Revoking = dict[str, str]


def _tokens(x: Staff, revoking: Revoking) -> list[dict[str, Any]]:
    """The person's API tokens, the newest first, each with its revocation (audit row) if any
    and the state of its revocation form (a refused attempt's reason and error)."""
    tokens = list(x.tokens.order_by("-created_at", "-id"))
    revoked = {
        e.record_id: e
        for e in AuditEntry.objects.filter(
            table="apitoken", action="revoke_token", record_id__in=[str(t.pk) for t in tokens]
        )
    }
    mine = revoking.get("id", "")
    return [
        {
            "t": t,
            "revoked": revoked.get(str(t.pk)),
            "reason": revoking.get("reason", "") if str(t.pk) == mine else "",
            "error": revoking.get("error", "") if str(t.pk) == mine else "",
        }
        for t in tokens
    ]


def _token_of(x: Staff, value: str) -> int:
    """The id of one of ``x``'s tokens (a forged or stale form: 404)."""
    value = value.strip()
    if value.isdigit() and len(value) < 19 and x.tokens.filter(pk=int(value)).exists():
        return int(value)
    raise actions.NotFound("token", f"{x.username} has no API token {value[:40]!r}")


@staff_page(ADMIN)
def person(request: HttpRequest, staff: Staff, username: str) -> HttpResponse:
    """One person: role, sites, status and history; deactivate or reactivate with a reason;
    their API tokens: issue one (its clear text is shown once, in the answer to the form, and
    kept nowhere), revoke one with a reason."""
    x = staff_query(staff.trial_id).filter(user__username=username).first()
    if x is None:
        raise actions.NotFound("username", f"no staff {username!r} in this trial")
    errors: dict[str, str] = {}
    reason = label = notice = ""
    revoking: Revoking = {}
    issued: ApiToken | None = None
    if request.method == "POST":
        do = request.POST.get("do", "")
        try:
            if do == "deactivate":
                reason = request.POST.get("reason", "").strip()
                actions.deactivate_staff(staff, username, reason)
                request.session["notice"] = (
                    f"{username} is deactivated: they can no longer log in or use API tokens."
                )
            elif do == "reactivate":
                reason = request.POST.get("reason", "").strip()
                actions.reactivate_staff(staff, username, reason)
                request.session["notice"] = f"{username} is active again."
            elif do == "issue_token":
                label = request.POST.get("label", "").strip()
                if not label:
                    errors["label"] = "required: say what the token is for (e.g. lab import)"
                else:
                    # The form's one-time key: sent again (a reload, a double click), it
                    # returns the token issued the first time, without its clear text.
                    once = request.POST.get("once", "") or None
                    t = actions.issue_token(staff, x, label, idempotency_key=once)
                    if getattr(t, "raw", None):
                        issued, label = t, ""
                    else:
                        notice = (
                            f"This form was sent already: API token {t.pk} ({t.label}) was "
                            "issued then and its clear text shown once. If it was not copied, "
                            "revoke it and issue a new one."
                        )
            elif do == "revoke_token":
                token_id = _token_of(x, request.POST.get("token", ""))
                revoking = {"id": str(token_id), "reason": request.POST.get("reason", "").strip()}
                t = actions.revoke_token(staff, token_id, reason=revoking["reason"])
                cache = api.AUTH_CACHE_SECONDS
                when = f"within {cache:g} s (its token cache)" if cache > 0 else "from now on"
                request.session["notice"] = (
                    f"API token {t.pk} ({t.label or 'no label'}) of {username} is revoked: "
                    f"the API refuses it {when}."
                )
            else:
                errors["form"] = "Choose to deactivate or to reactivate."
        except actions.NotFound:
            raise  # a forged or stale form (no such person or token): the 404 page
        except ActionError as exc:
            if do == "revoke_token":
                found = _split(exc, ("reason",))
                revoking["error"] = found.pop("reason", "")
                errors = found
            else:
                errors = _split(exc, ("label",) if do == "issue_token" else ("reason",))
        if not errors and not revoking.get("error") and issued is None and not notice:
            return redirect("manage_person", username=username)
    full = staff_query(staff.trial_id).get(pk=x.pk)
    tokens = _tokens(full, revoking)
    history = [
        {"e": e, "what": describe(e)}
        for e in AuditEntry.objects.filter(
            Q(table="staff", record_id=str(x.pk))
            | Q(table="apitoken", record_id__in=[str(r["t"].pk) for r in tokens])
        ).order_by("seq")
    ]
    response = render(
        request,
        "edc/manage_person.html",
        _ctx(
            staff,
            x=full,
            row=staff_row(full),
            itself=x.pk == staff.pk,
            history=history,
            errors=errors,
            reason=reason,
            label=label,
            tokens=tokens,
            issued=issued,
            once=secrets.token_urlsafe(16),
            notice=notice or _notice(request),
        ),
    )
    if issued is not None:
        add_never_cache_headers(response)  # the clear token: no copy in any cache
    return response


# ------------------------------------------------------------------------------------------
# The protocol
# ------------------------------------------------------------------------------------------

#: After the file name in a loader's message: ``:line`` then `` field.path`` (when one) and ``:``.
_WHERE = re.compile(r"^:(\d+)(?: ([^:]+))?:")


def _problems(exc: ActionError, text: str, file: str) -> list[dict[str, str]]:
    """Each problem as the loader wrote it (``file:line field: rule``), with the text of that
    line when it holds the field (a missing field is reported at its mapping's first line,
    which would mislead); problems of the upload's other checks name their field (``id``,
    ``version``, ``arms``)."""
    lines = text.splitlines()
    out = []
    for p in exc.problems:
        message = p.message if p.field in ("protocol", "") else f"{p.field}: {p.message}"
        source = ""
        if p.field == "protocol" and p.message.startswith(file):
            m = _WHERE.match(p.message[len(file) :])
            if m and 0 < int(m[1]) <= len(lines):
                line = lines[int(m[1]) - 1].rstrip()
                key = re.sub(r"\[\d+\]$", "", (m[2] or "").split(".")[-1])
                if not key or re.search(rf"(^|[\s{{,-]){re.escape(key)}\s*:", line):
                    source = line
        out.append({"message": message, "line": source})
    return out


def _versions(staff: Staff) -> list[dict[str, Any]]:
    rows = list(
        ProtocolVersion.objects.filter(trial_id=staff.trial_id)
        .defer("yaml_text")
        .order_by("-loaded_at", "-id")
    )
    loaded_by: dict[str, str] = {}
    for record_id, actor in (
        AuditEntry.objects.filter(
            table="protocolversion", action__in=("load_protocol", "load_protocol_version")
        )
        .order_by("seq")
        .values_list("record_id", "actor")
    ):
        loaded_by.setdefault(record_id, actor)  # the first row of a version: its loading
    return [{"pv": pv, "by": loaded_by.get(str(pv.pk), "")} for pv in rows]


@staff_page(ADMIN)
def protocol(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The versions loaded; a new version from a YAML file or pasted text."""
    problems: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    text = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        file = PASTED
        if upload is not None:
            file = PurePath(upload.name or "upload").name[:100] or "upload"
            if upload.size is not None and upload.size > MAX_PROTOCOL_BYTES:
                errors["file"] = f"larger than {MAX_PROTOCOL_BYTES // 1_000_000} MB"
            else:
                try:
                    text = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    errors["file"] = "not UTF-8 text: save the protocol as UTF-8 YAML"
        else:
            text = request.POST.get("text", "")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not errors and not text.strip():
            errors["text"] = "choose a YAML file or paste the protocol's text"
        if not errors:
            try:
                pv = actions.load_protocol_version(staff, text, file=file)
            except ActionError as exc:
                problems = _problems(exc, text, file)
            else:
                request.session["notice"] = (
                    f"Protocol version {pv.version} loaded: it is the active version now."
                )
                return redirect("manage_protocol")
    active = (
        ProtocolVersion.objects.filter(trial_id=staff.trial_id, active=True)
        .order_by("-loaded_at")
        .first()
    )
    return render(
        request,
        "edc/manage_protocol.html",
        _ctx(
            staff,
            active=active,
            versions=_versions(staff),
            problems=problems,
            errors=errors,
            text=text,
            max_mb=MAX_PROTOCOL_BYTES // 1_000_000,
            notice=_notice(request),
        ),
    )
