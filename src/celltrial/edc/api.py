"""The REST API (django-ninja): every action and read, bearer tokens, role checks.

OpenAPI at ``/api/openapi.json``, docs at ``/api/docs``. Errors are
``{"detail": [{"field": ..., "message": ...}]}`` with 401, 403, 404, 409 or 422.
A write accepts an ``Idempotency-Key`` header: repeated, it returns the first result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from celltrial.edc import actions, serialize
from celltrial.edc.actions import ActionError, Forbidden, NotFound
from celltrial.edc.actions.monitoring import audit_visible_to
from celltrial.edc.api_schemas import (
    AdverseEventOut,
    AllocationRowOut,
    AuditEntryOut,
    AuditVerifyOut,
    ConsentOut,
    EditedOut,
    InfusionOut,
    ListLoadedOut,
    LotOut,
    MeasurementOut,
    MeOut,
    NewStaffOut,
    NewTokenOut,
    ParticipantOut,
    RoleOut,
    SafetySummaryOut,
    ScreeningLogOut,
    SiteOut,
    TrialOut,
    UnblindOut,
    VisitOut,
    answers,
)
from celltrial.edc.audit import verify_audit
from celltrial.edc.models import (
    AdverseEvent,
    AllocationSlot,
    ApiToken,
    AuditEntry,
    Infusion,
    Lot,
    Measurement,
    Participant,
    Role,
    Staff,
)
from celltrial.edc.roles import AUDIT_READERS, READERS, UNBLINDED_ROLES, sees_arm, site_ids

#: Seconds a server process remembers who a token is (the person, role, trial and sites):
#: a revoked token, a deactivated user or changed sites take effect within this time.
#: ``CELLTRIAL_AUTH_CACHE_SECONDS=0`` asks the database on every request.
AUTH_CACHE_SECONDS = float(os.environ.get("CELLTRIAL_AUTH_CACHE_SECONDS", "5"))
_AUTH_CACHE: dict[str, tuple[float, Staff]] = {}
_AUTH_CACHE_MAX = 10_000


#: What a token of a person who must change their password may still call: who am I, and the
#: change itself (method, path below ``/api``).
PASSWORD_CHANGE_CALLS = frozenset({("GET", "/me"), ("POST", "/me/password")})
MUST_CHANGE_PASSWORD = (
    "your password was set by someone else (an administrator or the set-up command): change "
    'it first, with POST /api/me/password {"old_password", "new_password"} or on the web at '
    "/account/password; until then this token may only call GET /api/me and POST "
    "/api/me/password"
)


def _password_gate(request: HttpRequest, staff: Staff) -> Staff:
    """``staff``, or a 403 naming what to do when their password must be changed first (as the
    web pages send them to the password page): the API holds a token to the same rule."""
    if staff.must_change_password:
        tail = "/" + request.path.split("/api/", 1)[-1].strip("/")
        if (request.method or "GET", tail) not in PASSWORD_CHANGE_CALLS:
            raise Forbidden("password", MUST_CHANGE_PASSWORD)
    return staff


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Staff | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        clock = time.monotonic()
        hit = _AUTH_CACHE.get(digest)
        # A person who had to change their password is asked again (they may just have).
        if (
            hit is not None
            and clock - hit[0] < AUTH_CACHE_SECONDS
            and not hit[1].must_change_password
        ):
            return hit[1]
        found = (
            ApiToken.objects.select_related("staff__user", "staff__trial")
            .filter(digest=digest, revoked=False)
            .first()
        )
        if found is None or not found.staff.user.is_active:
            _AUTH_CACHE.pop(digest, None)
            return None
        staff = found.staff
        if AUTH_CACHE_SECONDS > 0:
            # Shared, read-only, by this process's requests for the next few seconds.
            staff.__dict__["_site_ids"] = frozenset(staff.sites.values_list("id", flat=True))
            if len(_AUTH_CACHE) >= _AUTH_CACHE_MAX:
                _AUTH_CACHE.clear()
            _AUTH_CACHE[digest] = (clock, staff)
        return _password_gate(request, staff)


class StrictJSON(Parser):
    """JSON as the standard says: ``NaN`` and ``Infinity`` (which Python's parser accepts)
    become ``{"not a JSON number": "NaN"}``, which no number field accepts: a 422 naming the
    field, before any action sees a non-finite number (issue 16, item 9)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        found = json.loads(request.body, parse_constant=lambda c: {"not a JSON number": c})
        return found  # type: ignore[no-any-return]


api = NinjaAPI(
    title="celltrial EDC",
    parser=StrictJSON(),
    version="1",
    description="Every write is one action; blinded roles never receive an arm.",
    auth=BearerToken(),
    docs_url="/docs",
    urls_namespace="edc-api",
)


@api.exception_handler(ActionError)
def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": [{"field": p.field, "message": p.message} for p in exc.problems]},
        status=exc.status,
    )


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    out = []
    for e in exc.errors:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "payload", "query", "path")]
        out.append({"field": ".".join(loc) or "body", "message": str(e.get("msg", "invalid"))})
    return api.create_response(request, {"detail": out}, status=422)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": [{"field": "authorization", "message": "give a valid 'Bearer <token>'"}]},
        status=401,
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(
        request, {"detail": [{"field": "", "message": str(exc)}]}, status=exc.status_code
    )


def _staff(request: HttpRequest) -> Staff:
    staff: Staff = request.auth  # type: ignore[attr-defined]  # set by django-ninja's auth
    return staff


def _key(request: HttpRequest) -> str | None:
    return request.headers.get("Idempotency-Key")


def _require(staff: Staff, roles: frozenset[str] | set[str], what: str) -> None:
    if staff.role not in roles:
        raise Forbidden("role", f"a {staff.role} may not read {what}")


def _participants(staff: Staff) -> Any:
    qs = Participant.objects.filter(trial_id=staff.trial_id).select_related(
        "site", "randomization__slot"
    )
    allowed = site_ids(staff)
    return qs if allowed is None else qs.filter(site_id__in=allowed)


def _participant(staff: Staff, code: str) -> Participant:
    _require(staff, READERS, "participants")
    p: Participant | None = _participants(staff).filter(code=code).first()
    if p is None:
        raise NotFound("participant", f"no participant {code!r} you may see")
    return p


# ---------------------------------------------------------------------------------- reads


@api.get("/me", tags=["reads"], response=answers(MeOut), exclude_unset=True)
def me(request: HttpRequest) -> dict[str, Any]:
    s = _staff(request)
    allowed = site_ids(s)
    return {
        "username": s.username,
        "full_name": s.full_name,
        "must_change_password": s.must_change_password,
        "role": s.role,
        "trial": s.trial.code,
        "sites": None if allowed is None else sorted(s.sites.values_list("code", flat=True)),
        "sees_arms": sees_arm(s),
    }


@api.get("/trial", tags=["reads"], response=answers(TrialOut), exclude_unset=True)
def trial(request: HttpRequest) -> dict[str, Any]:
    s = _staff(request)
    pv = s.trial.active_protocol()
    return {
        "code": s.trial.code,
        "title": s.trial.title,
        "blinding": s.trial.blinding,
        "protocol": {
            "version": pv.version,
            "sha256": pv.sha256,
            "loaded_at": serialize._t(pv.loaded_at),
        },
        "sites": [{"code": x.code, "name": x.name} for x in s.trial.sites.order_by("code")],
    }


@api.get("/screening-log", tags=["reads"], response=answers(ScreeningLogOut), exclude_unset=True)
def screening_log(request: HttpRequest) -> dict[str, Any]:
    s = _staff(request)
    _require(s, READERS | {Role.ADMIN}, "the screening log")
    return actions.screening_log(s)


@api.get(
    "/participants", tags=["reads"], response=answers(list[ParticipantOut]), exclude_unset=True
)
def participants(
    request: HttpRequest, site: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    s = _staff(request)
    _require(s, READERS, "participants")
    qs = _participants(s)
    if site:
        qs = qs.filter(site__code=site)
    if status:
        qs = qs.filter(status=status)
    return [serialize.participant(s, p) for p in qs.order_by("code")]


@api.get(
    "/participants/{code}", tags=["reads"], response=answers(ParticipantOut), exclude_unset=True
)
def participant(request: HttpRequest, code: str) -> dict[str, Any]:
    s = _staff(request)
    return serialize.participant(s, _participant(s, code), detail=True)


@api.get(
    "/participants/{code}/visits",
    tags=["reads"],
    response=answers(list[VisitOut]),
    exclude_unset=True,
)
def visits(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    s = _staff(request)
    return [serialize.visit(v) for v in _participant(s, code).visits.order_by("nominal")]


@api.get(
    "/participants/{code}/measurements",
    tags=["reads"],
    response=answers(list[MeasurementOut]),
    exclude_unset=True,
)
def measurements(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    s = _staff(request)
    p = _participant(s, code)
    rows = Measurement.objects.filter(participant=p).select_related("participant")
    return [serialize.measurement(m) for m in rows.order_by("id")]


@api.get(
    "/participants/{code}/adverse-events",
    tags=["reads"],
    response=answers(list[AdverseEventOut]),
    exclude_unset=True,
)
def adverse_events(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    s = _staff(request)
    p = _participant(s, code)
    rows = AdverseEvent.objects.filter(participant=p).select_related("participant")
    return [serialize.adverse_event(a) for a in rows.order_by("id")]


@api.get(
    "/participants/{code}/infusions",
    tags=["reads"],
    response=answers(list[InfusionOut]),
    exclude_unset=True,
)
def infusions(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    s = _staff(request)
    p = _participant(s, code)
    rows = Infusion.objects.filter(participant=p).select_related("participant", "lot")
    return [serialize.infusion(s, i) for i in rows.order_by("number")]


@api.get("/sae-clocks", tags=["reads"], response=answers(list[AdverseEventOut]), exclude_unset=True)
def sae_clocks(request: HttpRequest) -> list[dict[str, Any]]:
    """Serious AEs not yet reported, soonest due first."""
    s = _staff(request)
    _require(s, READERS, "SAE clocks")
    rows = AdverseEvent.objects.filter(
        participant__in=_participants(s),
        serious=True,
        sae_reported_at__isnull=True,
        entered_in_error=False,
    ).select_related("participant")
    return [serialize.adverse_event(a) for a in rows.order_by("sae_due_at")]


@api.get("/lots", tags=["pharmacy"], response=answers(list[LotOut]), exclude_unset=True)
def lots(request: HttpRequest) -> list[dict[str, Any]]:
    s = _staff(request)
    _require(s, UNBLINDED_ROLES, "lots (they name the arm's product)")
    rows = Lot.objects.filter(trial_id=s.trial_id).select_related("site")
    return [serialize.lot(x) for x in rows.order_by("number")]


@api.get("/lots/{number}", tags=["pharmacy"], response=answers(LotOut), exclude_unset=True)
def lot_chain(request: HttpRequest, number: str) -> dict[str, Any]:
    """One lot, its release results against their limits and the infusions given from it (the
    pharmacist only: the chain from lot to participant names the participants' arm)."""
    s = _staff(request)
    _require(s, frozenset({Role.PHARMACIST}), "a lot's chain to its infusions")
    x = Lot.objects.filter(trial_id=s.trial_id, number=number).select_related("site").first()
    if x is None:
        raise actions.NotFound("lot", f"no lot {number!r} in this trial")
    return serialize.lot(x, chain=True)


@api.get(
    "/allocation", tags=["pharmacy"], response=answers(list[AllocationRowOut]), exclude_unset=True
)
def allocation(request: HttpRequest) -> list[dict[str, Any]]:
    """The kit-to-arm mapping with what was taken: unblinded roles only."""
    s = _staff(request)
    _require(s, UNBLINDED_ROLES, "the kit-to-arm mapping")
    rows = AllocationSlot.objects.filter(trial_id=s.trial_id).select_related(
        "taken_by__participant"
    )
    out = []
    for r in rows.order_by("sequence"):
        taken = getattr(r, "taken_by", None)
        out.append(
            {
                "sequence": r.sequence,
                "site": r.site_code,
                "stratum": r.stratum,
                "kit_code": r.kit_code,
                "arm": r.arm,
                "participant": taken.participant.code if taken else None,
            }
        )
    return out


@api.get("/safety-summary", tags=["dsmb"], response=answers(SafetySummaryOut), exclude_unset=True)
def safety_summary(request: HttpRequest) -> dict[str, Any]:
    """Unblinded by-arm counts of participants, AEs, SAEs and deaths (DSMB only)."""
    s = _staff(request)
    _require(s, {Role.DSMB}, "the unblinded safety summary")
    arms: dict[str, dict[str, Any]] = {}
    qs = Participant.objects.filter(trial_id=s.trial_id, randomization__isnull=False)
    for row in qs.values("randomization__slot__arm").annotate(
        n=Count("id", distinct=True),
        deaths=Count("id", filter=Q(status=Participant.Status.DEAD), distinct=True),
    ):
        arms[row["randomization__slot__arm"]] = {"randomized": row["n"], "deaths": row["deaths"]}
    aes = AdverseEvent.objects.filter(participant__trial_id=s.trial_id, entered_in_error=False)
    for row in aes.values("participant__randomization__slot__arm").annotate(
        events=Count("id"),
        serious=Count("id", filter=Q(serious=True)),
        grade3plus=Count("id", filter=Q(grade__gte=3)),
        participants=Count("participant", distinct=True),
    ):
        arm = row.pop("participant__randomization__slot__arm") or "not randomized"
        arms.setdefault(arm, {}).update(row)
    return {"trial": s.trial.code, "by_arm": arms}


@api.get("/audit", tags=["audit"], response=answers(list[AuditEntryOut]), exclude_unset=True)
def audit_trail(
    request: HttpRequest,
    table: str | None = None,
    record_id: str | None = None,
    after: int = 0,
    limit: int = 200,
) -> list[dict[str, Any]]:
    s = _staff(request)
    _require(s, AUDIT_READERS, "the audit trail")
    qs = audit_visible_to(s, AuditEntry.objects.filter(seq__gt=after))
    if table:
        qs = qs.filter(table=table)
    if record_id:
        qs = qs.filter(record_id=record_id)
    limit = max(1, min(limit, 1000))
    return [serialize.audit_entry(s, e) for e in qs.order_by("seq")[:limit]]


@api.get("/audit/verify", tags=["audit"], response=answers(AuditVerifyOut), exclude_unset=True)
def audit_verify(request: HttpRequest) -> dict[str, Any]:
    s = _staff(request)
    _require(s, AUDIT_READERS, "the audit verification")
    r = verify_audit()
    return {"ok": r.ok, "rows": r.rows, "first_bad": r.first_bad, "message": r.message}


# --------------------------------------------------------------------------------- writes


class ScreenIn(Schema):
    site: str
    values: dict[str, Any] = Field(default_factory=dict)
    screened_at: dt.datetime | None = None


class ScreeningChangeIn(Schema):
    values: dict[str, Any]
    reason: str = ""


class ConsentIn(Schema):
    version: str
    consented_on: dt.date


class UnblindIn(Schema):
    reason: str


class MeasurementIn(Schema):
    code: str
    value: Any
    measured_at: dt.datetime | None = None
    visit: str = ""
    unit: str | None = None
    confirmed: bool = False
    confirm_duplicate: bool = False


class AdverseEventIn(Schema):
    term: str
    onset: dt.datetime
    grade: int
    #: Required by the AE form's rules, unless ``missing`` gives it a code.
    relatedness: str = ""
    outcome: str = ""
    serious_criteria: list[str] = Field(default_factory=list)
    expected: bool | None = None
    aware_at: dt.datetime | None = None
    decoded_term: str = ""
    end_at: dt.datetime | None = None
    ongoing: bool | None = None
    procedure_relatedness: str = ""
    action_taken: str = ""
    infusion_associated: bool | None = None
    missing: dict[str, str] = Field(default_factory=dict)
    confirm_duplicate: bool = False


class InfusionIn(Schema):
    lot: str
    started_at: dt.datetime
    delivered: float
    number: int | None = None
    stopped_at: dt.datetime | None = None
    deviation: str = ""
    premedication: str = ""
    volume_ml: float | None = None
    interrupted: bool = False
    interruption: str = ""
    reaction: str = ""
    missing: dict[str, str] = Field(default_factory=dict)


class WithdrawIn(Schema):
    reason: str
    by: str = "participant"
    at: dt.datetime | None = None


class LostIn(Schema):
    last_contact: dt.datetime
    reason: str = ""


class DeathIn(Schema):
    died_at: dt.datetime
    cause: str


class EditIn(Schema):
    changes: dict[str, Any]
    reason: str = ""


class LotIn(Schema):
    number: str
    arm: str
    site: str | None = None
    expires_at: dt.datetime | None = None


class ReleaseIn(Schema):
    results: dict[str, Any] = Field(default_factory=dict)


class SiteIn(Schema):
    code: str
    name: str


class StaffIn(Schema):
    username: str
    role: str
    full_name: str = ""  # required: a blank one is a 422 on full_name (the action's rule)
    sites: list[str] = Field(default_factory=list)
    all_sites: bool = False


class TokenIn(Schema):
    label: str = ""


class ListIn(Schema):
    text: str
    commitment: str | None = None


def _detail(s: Staff, p: Participant) -> dict[str, Any]:
    return serialize.participant(s, _participant(s, p.code), detail=True)


@api.post("/screenings", tags=["screening"], response=answers(ParticipantOut), exclude_unset=True)
def screen(request: HttpRequest, body: ScreenIn) -> dict[str, Any]:
    s = _staff(request)
    p = actions.screen_participant(
        s, body.site, body.values, screened_at=body.screened_at, idempotency_key=_key(request)
    )
    return _detail(s, p)


@api.patch(
    "/participants/{code}/screening",
    tags=["screening"],
    response=answers(ParticipantOut),
    exclude_unset=True,
)
def change_screening(request: HttpRequest, code: str, body: ScreeningChangeIn) -> dict[str, Any]:
    s = _staff(request)
    p = actions.update_screening(
        s, code, body.values, reason=body.reason, idempotency_key=_key(request)
    )
    return _detail(s, p)


@api.post(
    "/participants/{code}/consents",
    tags=["screening"],
    response=answers(ConsentOut),
    exclude_unset=True,
)
def consent(request: HttpRequest, code: str, body: ConsentIn) -> dict[str, Any]:
    s = _staff(request)
    c = actions.record_consent(
        s, code, body.version, body.consented_on, idempotency_key=_key(request)
    )
    return {
        "id": c.id,
        "participant": code,
        "version": c.version,
        "consented_on": c.consented_on.isoformat(),
    }


@api.post(
    "/participants/{code}/enroll",
    tags=["screening"],
    response=answers(ParticipantOut),
    exclude_unset=True,
)
def enroll(request: HttpRequest, code: str, at: dt.datetime | None = None) -> dict[str, Any]:
    s = _staff(request)
    p = actions.enroll(s, code, at=at, idempotency_key=_key(request))
    return _detail(s, p)


@api.post(
    "/participants/{code}/randomize",
    tags=["randomization"],
    response=answers(ParticipantOut),
    exclude_unset=True,
)
def randomize(request: HttpRequest, code: str, at: dt.datetime | None = None) -> dict[str, Any]:
    s = _staff(request)
    r = actions.randomize_participant(s, code, at=at, idempotency_key=_key(request))
    return serialize.participant(s, _participant(s, r.participant.code))


@api.post(
    "/participants/{code}/unblind",
    tags=["randomization"],
    response=answers(UnblindOut),
    exclude_unset=True,
)
def unblind(request: HttpRequest, code: str, body: UnblindIn) -> dict[str, Any]:
    """Emergency unblinding: the arm goes to the requesting investigator only, and is logged."""
    s = _staff(request)
    u = actions.unblind(s, code, body.reason, idempotency_key=_key(request))
    return {
        "participant": code,
        "arm": u.participant.randomization.slot.arm,
        "at": serialize._t(u.at),
        "reason": u.reason,
    }


@api.post(
    "/participants/{code}/visits/{visit}",
    tags=["clinical"],
    response=answers(VisitOut),
    exclude_unset=True,
)
def visit_done(
    request: HttpRequest, code: str, visit: str, at: dt.datetime | None = None
) -> dict[str, Any]:
    s = _staff(request)
    v = actions.record_visit(s, code, visit, at=at, idempotency_key=_key(request))
    return serialize.visit(v)


@api.post(
    "/participants/{code}/measurements",
    tags=["clinical"],
    response=answers(MeasurementOut),
    exclude_unset=True,
)
def measurement(request: HttpRequest, code: str, body: MeasurementIn) -> dict[str, Any]:
    s = _staff(request)
    m = actions.record_measurement(
        s,
        code,
        body.code,
        body.value,
        measured_at=body.measured_at,
        visit=body.visit,
        unit=body.unit,
        confirmed=body.confirmed,
        confirm_duplicate=body.confirm_duplicate,
        idempotency_key=_key(request),
    )
    return serialize.measurement(m)


@api.post(
    "/participants/{code}/adverse-events",
    tags=["safety"],
    response=answers(AdverseEventOut),
    exclude_unset=True,
)
def adverse_event(request: HttpRequest, code: str, body: AdverseEventIn) -> dict[str, Any]:
    s = _staff(request)
    ae = actions.report_adverse_event(s, code, **body.dict(), idempotency_key=_key(request))
    return serialize.adverse_event(ae)


@api.post(
    "/adverse-events/{ae_id}/sae-report",
    tags=["safety"],
    response=answers(AdverseEventOut),
    exclude_unset=True,
)
def sae_report(request: HttpRequest, ae_id: int, at: dt.datetime | None = None) -> dict[str, Any]:
    s = _staff(request)
    ae = actions.report_sae(s, ae_id, at=at, idempotency_key=_key(request))
    return serialize.adverse_event(ae)


@api.post(
    "/participants/{code}/infusions",
    tags=["pharmacy"],
    response=answers(InfusionOut),
    exclude_unset=True,
)
def infusion(request: HttpRequest, code: str, body: InfusionIn) -> dict[str, Any]:
    s = _staff(request)
    i = actions.record_infusion(s, code, **body.dict(), idempotency_key=_key(request))
    return serialize.infusion(s, i)


@api.post(
    "/participants/{code}/withdraw",
    tags=["disposition"],
    response=answers(ParticipantOut),
    exclude_unset=True,
)
def withdraw(request: HttpRequest, code: str, body: WithdrawIn) -> dict[str, Any]:
    s = _staff(request)
    actions.withdraw(
        s, code, reason=body.reason, by=body.by, at=body.at, idempotency_key=_key(request)
    )
    return serialize.participant(s, _participant(s, code), detail=True)


@api.post(
    "/participants/{code}/lost-to-follow-up",
    tags=["disposition"],
    response=answers(ParticipantOut),
    exclude_unset=True,
)
def lost(request: HttpRequest, code: str, body: LostIn) -> dict[str, Any]:
    s = _staff(request)
    actions.mark_lost_to_follow_up(
        s, code, last_contact=body.last_contact, reason=body.reason, idempotency_key=_key(request)
    )
    return serialize.participant(s, _participant(s, code), detail=True)


@api.post(
    "/participants/{code}/death",
    tags=["disposition"],
    response=answers(ParticipantOut),
    exclude_unset=True,
)
def death(request: HttpRequest, code: str, body: DeathIn) -> dict[str, Any]:
    s = _staff(request)
    actions.record_death(
        s, code, died_at=body.died_at, cause=body.cause, idempotency_key=_key(request)
    )
    return serialize.participant(s, _participant(s, code), detail=True)


@api.patch(
    "/records/{table}/{record_id}",
    tags=["edit"],
    response=answers(MeasurementOut | AdverseEventOut | EditedOut),
    exclude_unset=True,
)
def edit(request: HttpRequest, table: str, record_id: int, body: EditIn) -> dict[str, Any]:
    s = _staff(request)
    r = actions.edit_record(
        s, table, record_id, body.changes, reason=body.reason, idempotency_key=_key(request)
    )
    if isinstance(r, Measurement):
        return serialize.measurement(r)
    if isinstance(r, AdverseEvent):
        return serialize.adverse_event(r)
    return {"table": table, "id": r.pk, "complete": getattr(r, "complete", None)}


class InErrorIn(Schema):
    reason: str = ""


@api.post(
    "/records/{table}/{record_id}/entered-in-error",
    tags=["edit"],
    response=answers(MeasurementOut | AdverseEventOut | EditedOut),
    exclude_unset=True,
)
def entered_in_error(
    request: HttpRequest, table: str, record_id: int, body: InErrorIn
) -> dict[str, Any]:
    """Mark a record entered in error (kept and audited, left out of the dataset)."""
    s = _staff(request)
    r = actions.mark_entered_in_error(
        s, table, record_id, reason=body.reason, idempotency_key=_key(request)
    )
    if isinstance(r, Measurement):
        return serialize.measurement(r)
    if isinstance(r, AdverseEvent):
        return serialize.adverse_event(r)
    return {"table": table, "id": r.pk, "complete": getattr(r, "complete", None)}


@api.post("/lots", tags=["pharmacy"], response=answers(LotOut), exclude_unset=True)
def lot(request: HttpRequest, body: LotIn) -> dict[str, Any]:
    s = _staff(request)
    x = actions.register_lot(
        s,
        body.number,
        body.arm,
        site=body.site,
        expires_at=body.expires_at,
        idempotency_key=_key(request),
    )
    return serialize.lot(x)


@api.post("/lots/{number}/release", tags=["pharmacy"], response=answers(LotOut), exclude_unset=True)
def release(request: HttpRequest, number: str, body: ReleaseIn) -> dict[str, Any]:
    s = _staff(request)
    x = actions.release_lot(s, number, body.results, idempotency_key=_key(request))
    return serialize.lot(x)


@api.post("/sites", tags=["admin"], response=answers(SiteOut), exclude_unset=True)
def site(request: HttpRequest, body: SiteIn) -> dict[str, Any]:
    s = _staff(request)
    x = actions.add_site(s, body.code, body.name, idempotency_key=_key(request))
    return {"code": x.code, "name": x.name}


@api.post("/staff", tags=["admin"], response=answers(NewStaffOut), exclude_unset=True)
def staff(request: HttpRequest, body: StaffIn) -> dict[str, Any]:
    s = _staff(request)
    x = actions.add_staff(
        s,
        body.username,
        body.role,
        body.sites,
        all_sites=body.all_sites,
        full_name=body.full_name,
        idempotency_key=_key(request),
    )
    return {
        "username": x.username,
        "full_name": x.full_name,
        "role": x.role,
        "sites": sorted(x.sites.values_list("code", flat=True)),
    }


@api.post(
    "/staff/{username}/tokens", tags=["admin"], response=answers(NewTokenOut), exclude_unset=True
)
def token(request: HttpRequest, username: str, body: TokenIn) -> dict[str, Any]:
    s = _staff(request)
    target = Staff.objects.filter(trial_id=s.trial_id, user__username=username).first()
    if target is None:
        raise NotFound("username", f"no staff {username!r} in this trial")
    # Repeated with the same Idempotency-Key: no second token; "token" is then null (the clear
    # text exists once, in the first reply; only its SHA-256 is kept).
    t = actions.issue_token(s, target, body.label, idempotency_key=_key(request))
    return {"username": username, "token": getattr(t, "raw", None), "label": t.label}


@api.post("/allocation-list", tags=["admin"], response=answers(ListLoadedOut), exclude_unset=True)
def allocation_list(request: HttpRequest, body: ListIn) -> dict[str, Any]:
    s = _staff(request)
    actions.load_allocation_list(
        s, body.text.encode("utf-8"), commitment=body.commitment, idempotency_key=_key(request)
    )
    return {"rows": AllocationSlot.objects.filter(trial_id=s.trial_id).count()}


@api.get("/roles", tags=["reads"], auth=None, response=answers(list[RoleOut]), exclude_unset=True)
def roles(request: HttpRequest) -> list[dict[str, str]]:
    return [{"role": value, "label": str(label)} for value, label in Role.choices]


# More endpoints, by area: completion, clinical events, deviations, visits not done; queries,
# locks, signatures and the audit trail of one record.
api.add_router("", "celltrial.edc.api_followup.router")
api.add_router("", "celltrial.edc.api_crf.router")
api.add_router("", "celltrial.edc.api_monitoring.router")
api.add_router("", "celltrial.edc.api_admin.router")
api.add_router("", "celltrial.edc.api_accounts.router")

__all__ = ["api"]
