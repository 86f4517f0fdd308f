"""Views of the web pages. Reads are filtered by role and site (``celltrial.edc.roles``); every
write is an action of ``celltrial.edc.actions``, whose errors are shown next to their field."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import authenticate, login, logout
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from celltrial.edc import actions, labels, worklist
from celltrial.edc.actions import ActionError
from celltrial.edc.actions.product import INFUSION_MAY_BE_MISSING, limit_text
from celltrial.edc.actions.safety import OUTCOMES, window_flags
from celltrial.edc.guard import in_utc
from celltrial.edc.models import (
    AdverseEvent,
    AllocationSlot,
    Infusion,
    Lot,
    Participant,
    Role,
    Site,
    Staff,
)
from celltrial.edc.roles import (
    AUDIT_READERS,
    CLINICAL_WRITERS,
    READERS,
    UNBLINDED_ROLES,
    sees_arm,
    site_ids,
)
from celltrial.edc.status import casebook
from celltrial.edc.throttle import LOGIN, LOGIN_FAILURES, LOGIN_SECONDS
from celltrial.edc.web import edit_forms, forms

#: Failed log-ins per username allowed within :data:`THROTTLE_SECONDS`.
THROTTLE_FAILURES = LOGIN_FAILURES
THROTTLE_SECONDS = LOGIN_SECONDS
STATIC = Path(__file__).resolve().parent.parent / "static" / "edc"
CTCAE = {int(code): text for code, text in labels.choices("grade")}

View = Callable[..., HttpResponse]
#: Where a person whose password someone else chose is sent before any other page.
PASSWORD_PAGE = "/account/password"


# ------------------------------------------------------------------------------------------
# Log-in, roles
# ------------------------------------------------------------------------------------------


def _next_url(request: HttpRequest) -> str:
    """``next`` of the request (form field or query) when it is a path of this site, else ""."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return ""


def login_view(request: HttpRequest) -> HttpResponse:
    error = ""
    username = ""
    next_url = _next_url(request)
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        who = username.lower()
        failures = LOGIN.begin(who)  # counted before the password is checked
        if LOGIN.paused(failures):
            wait = LOGIN.wait_minutes(failures)
            error = (
                f"Too many failed log-ins for {username!r}: "
                f"try again in {wait} minute{'s' if wait != 1 else ''}."
            )
        else:
            user = authenticate(request, username=username, password=password)
            if user is not None and hasattr(user, "staff"):
                LOGIN.clear(who)
                login(request, user)
                return HttpResponseRedirect(next_url) if next_url else redirect("home")
            left = LOGIN.left(failures)
            error = "Wrong username or password." + (
                f" {left} attempt{'s' if left != 1 else ''} left before a 15-minute pause."
                if left > 0
                else " Log-in paused for 15 minutes."
            )
    status = 200 if not error else 401 if "Wrong" in error else 429
    return render(
        request,
        "edc/login.html",
        {"error": error, "username": username, "next": next_url},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


def stylesheet(request: HttpRequest) -> FileResponse:
    return FileResponse((STATIC / "style.css").open("rb"), content_type="text/css")


def staff_page(roles: frozenset[str] | set[str] | None = None) -> Callable[[View], View]:
    """A page for logged-in staff (of ``roles``); the view gets the Staff after the request."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect(f"/login?{urlencode({'next': request.get_full_path()})}")
            staff = (
                Staff.objects.select_related("trial", "user")
                .filter(user_id=request.user.pk)
                .first()
            )
            if staff is None:
                return _problem(request, None, 403, "This account has no role in a trial.")
            if staff.must_change_password and request.path != PASSWORD_PAGE:
                # Someone else chose this password: nothing else until the person changes it.
                return redirect(PASSWORD_PAGE)
            if roles is not None and staff.role not in roles:
                return _problem(
                    request, staff, 403, f"A {staff.get_role_display()} may not open this page."
                )
            timezone.activate(_zone(staff, kwargs.get("code")))
            try:
                return view(request, staff, *args, **kwargs)
            except ActionError as exc:
                text = "; ".join(p.message for p in exc.problems)
                return _problem(request, staff, exc.status, text)
            finally:
                timezone.deactivate()

        return run

    return decorate


def _zone(staff: Staff, code: str | None) -> zoneinfo.ZoneInfo:
    """The time zone a page reads and shows times in: the participant's site's on a
    participant's pages, else the zone of the person's sites when they share one, else UTC."""
    names: list[str] = []
    if code:
        names = list(
            Participant.objects.filter(trial_id=staff.trial_id, code=code).values_list(
                "site__time_zone", flat=True
            )
        )
    if not names:
        allowed = site_ids(staff)
        qs = Site.objects.filter(trial_id=staff.trial_id)
        if allowed is not None:
            qs = qs.filter(id__in=allowed)
        names = sorted(set(qs.values_list("time_zone", flat=True)))
    try:
        return zoneinfo.ZoneInfo(names[0] if len(names) == 1 and names[0] else "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def time_zone(request: HttpRequest) -> dict[str, str]:
    """Context processor: ``tz``, the name of the time zone the page shows times in."""
    del request
    return {"tz": timezone.get_current_timezone_name()}


def _problem(request: HttpRequest, staff: Staff | None, status: int, text: str) -> HttpResponse:
    return render(
        request,
        "edc/problem.html",
        {"staff": staff, "message": text, "status": status},
        status=status,
    )


def _ctx(staff: Staff, **more: Any) -> dict[str, Any]:
    return {
        "staff": staff,
        "sees_arm": sees_arm(staff),
        "clinical": staff.role in CLINICAL_WRITERS,
        "unblinded_role": staff.role in UNBLINDED_ROLES,
        "trial": staff.trial,
        **more,
    }


def _errors(exc: ActionError, prefix: str = "") -> dict[str, str]:
    """Problems by field (``values.age`` -> ``age`` when ``prefix='values.'``)."""
    out: dict[str, str] = {}
    for p in exc.problems:
        key = p.field[len(prefix) :] if prefix and p.field.startswith(prefix) else p.field
        out[key] = f"{out[key]}; {p.message}" if key in out else p.message
    return out


def split_errors(errors: dict[str, str], fields: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Errors of a form's own fields (shown next to them), and the others (said above the form:
    the participant's state, a lock, the role), each prefixed with the field it names."""
    names = set(fields)
    mine = {k: v for k, v in errors.items() if k in names}
    other = [
        v if k in ("", "participant") else f"{k}: {v}" for k, v in errors.items() if k not in names
    ]
    return mine, other


def _participants(staff: Staff) -> Any:
    qs = Participant.objects.filter(trial_id=staff.trial_id).select_related(
        "site", "randomization__slot", "screening"
    )
    allowed = site_ids(staff)
    return qs if allowed is None else qs.filter(site_id__in=allowed)


def _sites(staff: Staff) -> list[Site]:
    qs = Site.objects.filter(trial_id=staff.trial_id).order_by("code")
    allowed = site_ids(staff)
    return list(qs if allowed is None else qs.filter(id__in=allowed))


def _screening_visits(staff: Staff) -> set[str]:
    """Ids of the schedule's screening visits (done by the screening form)."""
    protocol = staff.trial.active_protocol().protocol
    return {v.id for v in protocol.schedule.visits if v.kind == "screening"}


def _participant(staff: Staff, code: str) -> Participant:
    p: Participant | None = _participants(staff).filter(code=code).first()
    if p is None:
        raise actions.NotFound("participant", f"no participant {code!r} at your sites")
    return p


# ------------------------------------------------------------------------------------------
# Home and the site dashboard
# ------------------------------------------------------------------------------------------


@staff_page()
def home(request: HttpRequest, staff: Staff) -> HttpResponse:
    if staff.role == Role.PHARMACIST:
        return redirect("pharmacy")
    if staff.role == Role.DSMB:
        return redirect("dsmb")
    if staff.role == Role.ADMIN and request.path == "/":
        return redirect("manage")  # their home: the administration (/dashboard stays)
    if staff.role in (Role.MONITOR, Role.DATA_MANAGER) and request.path == "/":
        from celltrial.edc.web.views_monitor import queries  # their home: monitoring

        return queries(request)  # (the site dashboard stays at /dashboard)
    now = timezone.now()
    people = list(_participants(staff).order_by("code"))
    screening_visits = _screening_visits(staff)
    rows = []
    overdue = []
    for p in people:
        visits = list(p.visits.order_by("nominal"))
        open_visits = [
            v
            for v in visits
            if v.done_at is None and not v.not_done and v.visit not in screening_visits
        ]
        if p.status != Participant.Status.RANDOMIZED:  # left follow-up, or not randomized
            open_visits = []
        late = [v for v in open_visits if v.latest < now]
        upcoming = [v for v in open_visits if v.latest >= now]
        overdue += [(p, v) for v in late]
        r = getattr(p, "randomization", None)
        rows.append(
            {
                "p": p,
                "kit": r.kit_code if r is not None else "",
                "arm": r.slot.arm if r is not None and sees_arm(staff) else "",
                "next": upcoming[0] if upcoming else None,
                "late": len(late),
            }
        )
    clocks = []
    if staff.role in READERS:
        for ae in (
            AdverseEvent.objects.filter(
                participant__in=_participants(staff),
                serious=True,
                sae_reported_at__isnull=True,
                entered_in_error=False,
            )
            .select_related("participant")
            .order_by("sae_due_at")
        ):
            left = (ae.sae_due_at - now).total_seconds() if ae.sae_due_at else 0.0
            clocks.append({"ae": ae, "hours_left": left / 3600, "overdue": left < 0})
    log = actions.screening_log(staff)
    return render(
        request,
        "edc/dashboard.html",
        _ctx(
            staff,
            rows=rows,
            due_week=worklist.visits_due(staff, now),
            overdue=overdue,
            clocks=clocks,
            log=log,
            sites=_sites(staff),
            now=now,
            reader=staff.role in READERS,
        ),
    )


# ------------------------------------------------------------------------------------------
# Screening, consent, enrollment, randomization
# ------------------------------------------------------------------------------------------


@staff_page(CLINICAL_WRITERS)
def screen(request: HttpRequest, staff: Staff) -> HttpResponse:
    protocol = staff.trial.active_protocol().protocol
    fields = forms.screening_fields(protocol)
    sites = _sites(staff)
    errors: dict[str, str] = {}
    data: dict[str, str] = {}
    if request.method == "POST":
        data = {f.name: request.POST.get(f.name, "").strip() for f in fields}
        site = request.POST.get("site", "")
        values = {k: v for k, v in data.items() if v != ""}
        try:
            p = actions.screen_participant(staff, site, values)
        except ActionError as exc:
            errors = _errors(exc, "values.")
        else:
            return redirect("participant", code=p.code)
    for f in fields:
        f.value = data.get(f.name, "")
        f.error = errors.get(f.name, "")
    return render(
        request,
        "edc/screen.html",
        _ctx(staff, fields=fields, sites=sites, errors=errors, criteria=forms.criteria(protocol)),
    )


def _timeline(staff: Staff, p: Participant) -> dict[str, Any]:
    """Scheduled administrations (times and windows only) and visits, what was done."""
    from celltrial.protocol import CalendarError, calendar

    now = timezone.now()
    r = getattr(p, "randomization", None)
    out: dict[str, Any] = {"administrations": [], "visits": []}
    if r is None:
        return out
    protocol = staff.trial.active_protocol().protocol
    done = {i.number: i for i in p.infusions.filter(entered_in_error=False)}
    following = p.status == Participant.Status.RANDOMIZED
    try:
        cal = calendar(protocol, r.randomized_at, weight_kg=p.weight_kg, arms=[r.slot.arm])
    except CalendarError:
        cal = calendar(protocol, r.randomized_at, arms=[r.slot.arm])
    for a in cal.administrations:
        i = done.get(a.number)
        out["administrations"].append(
            {
                "number": a.number,
                "nominal": a.nominal,
                "earliest": a.earliest,
                "latest": a.latest,
                "hours": a.hours_from_first,
                "done": i,
                "missing": i is None and a.latest < now and following,
                # Before its window opens an administration is upcoming, not due.
                "upcoming": i is None and following and a.earliest > now,
                "due": i is None and following and a.earliest <= now,
            }
        )
    screening_visits = _screening_visits(staff)
    screened = getattr(p, "screening", None)
    for v in p.visits.order_by("nominal"):
        if v.visit in screening_visits and v.done_at is None:
            # Screening happened before randomization: the screening form is that visit.
            at = screened.screened_at if screened is not None else None
            out["visits"].append(
                {"v": v, "missing": False, "due": False, "upcoming": False, "screened_at": at}
            )
            continue
        # A visit marked not done, or any visit once the participant has left follow-up
        # (withdrawn, lost, dead, completed), is neither due nor missing. Before its window
        # opens it is upcoming: no visit time box, no "Visit done" (entered when it happens).
        pending = v.done_at is None and not v.not_done and following
        upcoming = pending and v.earliest > now
        due = pending and not upcoming
        out["visits"].append(
            {"v": v, "missing": due and v.latest < now, "due": due, "upcoming": upcoming}
        )
    return out


@staff_page(READERS)
def participant(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    p = _participant(staff, code)
    protocol = staff.trial.active_protocol().protocol
    criteria = {c["id"]: c for c in forms.criteria(protocol)}
    s = getattr(p, "screening", None)
    failed = [criteria.get(c, {"id": c, "text": c}) for c in (s.failed if s else [])]
    missing = [criteria.get(c, {"id": c, "text": c}) for c in (s.missing if s else [])]
    r = getattr(p, "randomization", None)
    measurements = list(p.measurements.order_by("measured_at", "id"))
    labels = {m.code: m for m in protocol.measurements}
    aes = list(p.adverse_events.order_by("onset"))
    windows = {w.id: w.label for w in protocol.safety.windows}
    event_labels = {e.code: e.label or e.code for e in protocol.events}
    book = casebook(p)  # every form's status, and whether the casebook is locked
    frozen = book.locked
    clinical = staff.role in CLINICAL_WRITERS
    return render(
        request,
        "edc/participant.html",
        _ctx(
            staff,
            p=p,
            book=book,
            frozen=frozen,
            frozen_state=book.record("participant", p) if frozen else None,
            # A locked casebook shows no entry or edit buttons (the server refuses them too).
            may_enter=clinical and not frozen,
            editor=(clinical or staff.role == Role.DATA_MANAGER) and not frozen,
            # an infusion is marked entered in error by the pharmacist only (issue 15)
            pharmacy_editor=staff.role == Role.PHARMACIST and not frozen,
            audit_reader=staff.role in AUDIT_READERS,
            screening=s,
            failed=failed,
            missing=missing,
            randomization=r,
            arm=r.slot.arm if r is not None and sees_arm(staff) else "",
            consents=list(p.consents.order_by("id")),
            timeline=_timeline(staff, p),
            measurements=[(m, labels.get(m.code)) for m in measurements],
            aes=[(ae, [windows.get(w, w) for w in ae.windows]) for ae in aes],
            clinical_events=[
                (e, event_labels.get(e.event, e.event))
                for e in p.clinical_events.order_by("occurred_at", "id")
            ],
            kit=request.session.pop("kit_shown", None),
            n_medications=p.medications.count(),
            n_history=p.medical_history.count(),
            today=timezone.localdate().isoformat(),
            consent_version=protocol.version,
            notice=request.session.pop("notice", ""),
            errors=request.session.pop("errors", {}),
        ),
    )


def _back(request: HttpRequest, code: str, exc: ActionError | None = None) -> HttpResponse:
    if exc is not None:
        request.session["errors"] = _errors(exc)
    return redirect("participant", code=code)


@staff_page(CLINICAL_WRITERS)
@require_POST
def consent(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    try:
        day = dt.date.fromisoformat(request.POST.get("consented_on", ""))
    except ValueError:
        request.session["errors"] = {"consented_on": "a date, e.g. 2026-03-01"}
        return _back(request, code)
    try:
        actions.record_consent(staff, code, request.POST.get("version", ""), day)
    except ActionError as exc:
        return _back(request, code, exc)
    request.session["notice"] = "Consent recorded."
    return _back(request, code)


@staff_page(CLINICAL_WRITERS)
@require_POST
def enroll(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    try:
        actions.enroll(staff, code)
    except ActionError as exc:
        return _back(request, code, exc)
    request.session["notice"] = "Enrolled."
    return _back(request, code)


@staff_page(CLINICAL_WRITERS)
@require_POST
def randomize(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    try:
        r = actions.randomize_participant(
            staff, code, idempotency_key=request.POST.get("idempotency_key") or None
        )
    except ActionError as exc:
        return _back(request, code, exc)
    request.session["kit_shown"] = r.kit_code
    return _back(request, code)


@staff_page(CLINICAL_WRITERS)
@require_POST
def visit_done(request: HttpRequest, staff: Staff, code: str, visit: str) -> HttpResponse:
    """Mark a visit done at the time typed (the site's zone; blank: now): a time in the
    future or one that breaks an entry rule is refused, named on the participant page."""
    typed = request.POST.get("at", "").strip()
    at = _utc(typed)
    label = f"{visit} done at"  # the page names the field, not the parameter ("at")
    if typed and at is None:
        tz = timezone.get_current_timezone_name()
        request.session["errors"] = {label: f"a date and time ({tz})"}
        return _back(request, code)
    try:
        actions.record_visit(staff, code, visit, at=at)
    except ActionError as exc:
        errors = _errors(exc)
        if "at" in errors:
            errors[label] = errors.pop("at")
        request.session["errors"] = errors
        return _back(request, code)
    request.session["notice"] = f"Visit {visit} recorded."
    return _back(request, code)


# ------------------------------------------------------------------------------------------
# Measurements, adverse events, edits
# ------------------------------------------------------------------------------------------


@staff_page(CLINICAL_WRITERS)
def measure(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    p = _participant(staff, code)
    protocol = staff.trial.active_protocol().protocol
    visit = request.GET.get("visit") or request.POST.get("visit", "")
    fields = forms.measurement_fields(protocol, visit)
    saved: list[str] = []
    measured_text = request.POST.get("measured_at", "").strip()
    measured_at = _utc(measured_text)
    when_error = ""
    if request.method == "POST" and measured_text and measured_at is None:
        when_error = "when the sample was drawn: a date and time (UTC)"
    elif request.method == "POST":
        for f in fields:
            f.value = request.POST.get(f.name, "").strip()
            f.confirmed = request.POST.get(f"{f.name}__confirmed") == "on"
            f.duplicate_ok = request.POST.get(f"{f.name}__duplicate") == "on"
            if f.value == "":
                continue
            try:
                actions.record_measurement(
                    staff,
                    p,
                    f.name,
                    f.value,
                    visit=visit,
                    confirmed=f.confirmed,
                    confirm_duplicate=f.duplicate_ok,
                    measured_at=measured_at,
                )
            except ActionError as exc:
                if any(x.field == "measured_at" for x in exc.problems):
                    when_error = "; ".join(
                        x.message for x in exc.problems if x.field == "measured_at"
                    )
                    break
                f.error = "; ".join(x.message for x in exc.problems)
                f.needs_confirm = "plausible range" in f.error
                f.maybe_duplicate = any(x.field == "confirm_duplicate" for x in exc.problems)
            else:
                saved.append(f.label)
                f.value = ""
        if saved and not when_error and not any(f.error for f in fields):
            request.session["notice"] = f"Saved: {', '.join(saved)}."
            return redirect("participant", code=p.code)
    return render(
        request,
        "edc/measure.html",
        _ctx(
            staff,
            p=p,
            fields=fields,
            visit=visit,
            saved=saved,
            visits=protocol.schedule.visits,
            measured_at=measured_text,
            when_error=when_error,
        ),
    )


def _utc(text: str) -> dt.datetime | None:
    """A ``datetime-local`` value, read in the page's time zone (the site's: see
    :func:`_zone`) and returned in UTC, or None."""
    if not text.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.get_current_timezone())
    return in_utc(value)  # None (refused, naming the box) when UTC cannot hold it


def local_input(value: dt.datetime | None) -> str:
    """``value`` as a ``datetime-local`` input's text in the page's time zone."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


#: AE fields that take a missing-data code on the web form (the action's list).
AE_CODABLE = (
    "end_at",
    "procedure_relatedness",
    "action_taken",
    "expected",
    "relatedness",
    "outcome",
)
_YES_NO = {"yes": True, "no": False}


def _meaningful(field: str) -> list[tuple[str, str]]:
    """The missing-data codes that mean something for a required AE field."""
    from celltrial.edc.actions.safety import MEANINGFUL_CODES

    return [(c, labels.label("missing", c)) for c in MEANINGFUL_CODES[field]]


def _missing_codes(request: HttpRequest, names: Iterable[str]) -> dict[str, str]:
    """The ``missing.<field>`` selects of a form: field -> missing-data code (given ones)."""
    out: dict[str, str] = {}
    for n in names:
        code = request.POST.get(f"missing.{n}", "").strip()
        if code:
            out[n] = code
    return out


@staff_page(CLINICAL_WRITERS)
def adverse_event(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    p = _participant(staff, code)
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"serious_criteria": [], "missing": {}}
    if request.method == "POST":
        data = {
            k: request.POST.get(k, "")
            for k in (
                "term",
                "onset",
                "aware_at",
                "end_at",
                "grade",
                "relatedness",
                "procedure_relatedness",
                "expected",
                "action_taken",
                "outcome",
                "infusion_associated",
            )
        }
        data["ongoing"] = request.POST.get("ongoing") == "on"
        data["serious_criteria"] = request.POST.getlist("serious_criteria")
        data["missing"] = _missing_codes(request, AE_CODABLE)
        onset = _utc(data["onset"])
        try:
            grade = int(data["grade"])
        except ValueError:
            grade = 0
        aware_at = _utc(data["aware_at"])
        end_at = _utc(data["end_at"])
        tz = timezone.get_current_timezone_name()
        if onset is None:
            errors["onset"] = f"the onset: a date and time ({tz})"
        if data["aware_at"].strip() and aware_at is None:
            errors["aware_at"] = f"when the site became aware: a date and time ({tz})"
        if data["end_at"].strip() and end_at is None:
            errors["end_at"] = f"the end: a date and time ({tz})"
        if onset is not None and not errors:
            in_window = bool(window_flags(p, onset))
            if in_window and data["infusion_associated"] not in _YES_NO:
                errors["infusion_associated"] = (
                    "the onset is inside a protocol safety window: is this a pre-specified "
                    "infusion-associated event? Answer yes or no"
                )
        if not errors:
            assert onset is not None
            try:
                ae = actions.report_adverse_event(
                    staff,
                    p,
                    term=data["term"],
                    onset=onset,
                    grade=grade,
                    relatedness=data["relatedness"],
                    outcome=data["outcome"],
                    serious_criteria=data["serious_criteria"],
                    aware_at=aware_at,
                    end_at=end_at,
                    ongoing=data["ongoing"],
                    procedure_relatedness=data["procedure_relatedness"],
                    action_taken=data["action_taken"],
                    expected=_YES_NO.get(data["expected"]),
                    infusion_associated=_YES_NO.get(data["infusion_associated"]),
                    missing=data["missing"],
                )
            except ActionError as exc:
                errors = _errors(exc)
                for k in list(errors):
                    if k.startswith("missing."):
                        errors[k.removeprefix("missing.")] = errors.pop(k)
            else:
                note = f"Adverse event {ae.term!r} recorded."
                if ae.windows:
                    protocol = staff.trial.active_protocol().protocol
                    names = {w.id: w.label for w in protocol.safety.windows}
                    inside = ", ".join(names.get(w, w) for w in ae.windows)
                    note += f" Inside safety window(s): {inside}."
                if ae.sae_due_at:
                    due = timezone.localtime(ae.sae_due_at).strftime("%Y-%m-%d %H:%M")
                    note += f" Serious: the SAE report is due by {due} ({tz})."
                request.session["notice"] = note
                return redirect("participant", code=p.code)
    infusions = list(
        p.infusions.filter(entered_in_error=False)
        .order_by("number")
        .values_list("started_at", flat=True)
    )
    protocol = staff.trial.active_protocol().protocol
    return render(
        request,
        "edc/ae.html",
        _ctx(
            staff,
            p=p,
            data=data,
            errors=errors,
            grades=CTCAE.items(),
            relatedness=labels.choices("relatedness"),
            outcomes=labels.choices("outcome"),
            seriousness=labels.choices("seriousness"),
            actions_taken=labels.choices("action_taken"),
            expectedness=[("yes", "Expected"), ("no", "Unexpected")],
            missing_codes=labels.choices("missing"),
            relatedness_codes=_meaningful("relatedness"),
            outcome_codes=_meaningful("outcome"),
            # infusion starts as local wall-clock text: the page's script compares them with
            # the typed onset (also local wall-clock) without knowing the zone
            infusions=[local_input(t) for t in infusions],
            # refusals not about one field (a lock, consent missing): said above the form
            other_errors=split_errors(errors, AE_FIELDS)[1],
            # each window's named terms (SafetyWindow.named_terms; None: every AE counts), so
            # the page's flag says which windows would count the typed term (issue 15)
            windows=[
                (w.id, w.label, w.duration, w.named_terms() is None, w.named_terms() or [])
                for w in protocol.safety.windows
            ],
        ),
    )


@staff_page(CLINICAL_WRITERS)
@require_POST
def sae_report(request: HttpRequest, staff: Staff, code: str, ae_id: int) -> HttpResponse:
    _participant(staff, code)
    try:
        actions.report_sae(staff, ae_id)
    except ActionError as exc:
        return _back(request, code, exc)
    request.session["notice"] = "SAE reported: its clock is stopped."
    return _back(request, code)


AE_FIELDS = {
    "term",
    "onset",
    "aware_at",
    "end_at",
    "ongoing",
    "grade",
    "relatedness",
    "procedure_relatedness",
    "expected",
    "action_taken",
    "outcome",
    "serious_criteria",
    "infusion_associated",
}
EDIT_FIELDS = {
    "measurement": ["value", "confirmed"],
    "clinical_event": ["term", "occurred_at", "occurred"],
    "deviation": ["description", "occurred_at"],
    "death": ["died_at", "cause"],
    "consent": ["version", "consented_on"],
}
#: Records listed on a page of their own (the safety CRF's CM and MH), by table.
LIST_PAGES = {"medication": "medications", "medical_history": "history"}
#: How the generic edit form shows a field (the kinds of :data:`actions.edit.KINDS`).
WIDGETS = {"time": "datetime-local", "date": "date", "bool": "checkbox"}


def _record(p: Participant, table: str, record_id: int) -> Any:
    """The participant's record of ``table`` (404 when there is none)."""
    from celltrial.edc.actions.edit import EDITABLE

    model = EDITABLE.get(table)
    record = (
        model._default_manager.filter(pk=record_id, participant=p).first()
        if model is not None and (table in EDIT_FIELDS or table in edit_forms.FORMS)
        else None
    )
    if record is None:
        raise actions.NotFound("record", f"no {table} {record_id} of {p.code}")
    return record


def _shown(value: Any) -> Any:
    """A stored value as the form shows it (times in the page's time zone, to the minute)."""
    if isinstance(value, dt.datetime):
        return local_input(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@staff_page({Role.INVESTIGATOR, Role.COORDINATOR, Role.DATA_MANAGER})
def edit(request: HttpRequest, staff: Staff, code: str, table: str, record_id: int) -> HttpResponse:
    """Correct a record (every record type the EDC lets change): the same rules as on entry,
    a reason once the form is complete, an audit row (:func:`actions.edit_record`)."""
    from celltrial.edc.actions.edit import KINDS

    p = _participant(staff, code)
    record = _record(p, table, record_id)
    if getattr(record, "entered_in_error", False):
        raise actions.NotFound("record", f"{table} {record_id} is marked entered in error")
    if table in edit_forms.FORMS:  # the safety CRF's forms: every field of the entry form
        return edit_forms.edit_page(request, staff, p, table, record, _ctx)
    errors: dict[str, str] = {}
    names = EDIT_FIELDS[table]
    kinds = {n: KINDS[table][n][0] for n in names}
    values = {n: _shown(getattr(record, n)) for n in names}
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        changes: dict[str, Any] = {}
        for n in names:
            raw = request.POST.get(n, "")
            if n == "confirmed" or kinds[n] == "bool":
                new: Any = raw == "on"
            elif n == "grade":
                try:
                    new = int(raw)
                except ValueError:
                    new = raw
            elif kinds[n] == "time":
                new = _utc(raw) or raw.strip()
            else:
                new = raw.strip()
            if _shown(new) != _shown(getattr(record, n)):
                changes[n] = new.isoformat() if isinstance(new, dt.datetime) else new
            values[n] = _shown(new)
        if not changes:
            errors["form"] = "Nothing changed."
        else:
            try:
                actions.edit_record(staff, table, record.id, changes, reason=reason)
            except ActionError as exc:
                errors = _errors(exc, "changes.")
            else:
                request.session["notice"] = f"{table.replace('_', ' ').capitalize()} changed."
                return redirect("participant", code=p.code)
    fields = [
        {
            "name": n,
            "label": n.replace("_", " ").capitalize(),
            "widget": WIDGETS.get(kinds[n], "text"),
            "zone": timezone.get_current_timezone_name(),
            "value": values[n],
            "error": errors.get(n, ""),
        }
        for n in names
    ]
    return render(
        request,
        "edc/edit.html",
        _ctx(
            staff,
            p=p,
            table=table,
            record=record,
            values=values,
            fields=fields,
            errors=errors,
            reason=reason,
            grades=CTCAE.items(),
            outcomes=OUTCOMES,
        ),
    )


@staff_page({Role.INVESTIGATOR, Role.COORDINATOR, Role.DATA_MANAGER, Role.PHARMACIST})
def entered_in_error(
    request: HttpRequest, staff: Staff, code: str, table: str, record_id: int
) -> HttpResponse:
    """Mark a record "entered in error", with a reason (:func:`actions.mark_entered_in_error`):
    it stays in the audit trail and leaves the dataset. An infusion: the pharmacist only (the
    refusal is decided by role, before the record is read: the same for every arm)."""
    from celltrial.edc.actions.edit import IN_ERROR, in_error_refusal

    if table not in IN_ERROR:
        raise actions.NotFound("record", f"a {table} cannot be marked entered in error")
    in_error_refusal(staff, table)
    p = _participant(staff, code)
    record = IN_ERROR[table]._default_manager.filter(pk=record_id, participant=p).first()
    if record is None:
        raise actions.NotFound("record", f"no {table} {record_id} of {p.code}")
    errors: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            actions.mark_entered_in_error(staff, table, record_id, reason=reason)
        except ActionError as exc:
            errors = _errors(exc)
        else:
            request.session["notice"] = (
                f"{table.replace('_', ' ').capitalize()} {record_id} marked entered in error."
            )
            if table in LIST_PAGES:  # CM, MH: back to their list
                return redirect(f"/p/{p.code}/{LIST_PAGES[table]}")
            return redirect("participant", code=p.code)
    return render(
        request,
        "edc/in_error.html",
        _ctx(staff, p=p, table=table, record=record, errors=errors, reason=reason),
    )


# ------------------------------------------------------------------------------------------
# Pharmacy (unblinded)
# ------------------------------------------------------------------------------------------


@staff_page({Role.PHARMACIST})
def pharmacy(request: HttpRequest, staff: Staff) -> HttpResponse:
    protocol = staff.trial.active_protocol().protocol
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}  # the results typed, shown again with their errors
    failed_lot = ""
    if request.method == "POST":
        try:
            if request.POST.get("do") == "register":
                lot = actions.register_lot(
                    staff, request.POST.get("number", "").strip(), request.POST.get("arm", "")
                )
                request.session["notice"] = f"Lot {lot.number} registered (quarantine)."
            elif request.POST.get("do") == "release":
                number = request.POST.get("lot", "")
                lot_obj = Lot.objects.filter(trial_id=staff.trial_id, number=number).first()
                arm = protocol.arm(lot_obj.arm) if lot_obj is not None else None
                crit = arm.product.release or [] if arm is not None else []
                typed = {c.id: request.POST.get(f"{number}__{c.id}", "").strip() for c in crit}
                failed_lot = number
                results = {k: v for k, v in typed.items() if v}
                lot = actions.release_lot(staff, number, results)
                request.session["notice"] = (
                    f"Lot {lot.number}: {labels.label('lot_status', lot.status).lower()}."
                )
        except ActionError as exc:
            errors = _errors(exc)
        else:
            return redirect("pharmacy")
    lots = []
    given: dict[int, list[Any]] = {}  # lot id -> its infusions: the chain lot -> participant
    for i in (
        Infusion.objects.filter(lot__trial_id=staff.trial_id, entered_in_error=False)
        .select_related("participant")
        .order_by("started_at", "id")
    ):
        given.setdefault(i.lot_id, []).append(i)
    for lot in Lot.objects.filter(trial_id=staff.trial_id).order_by("number"):
        arm = protocol.arm(lot.arm)
        mine = lot.number == failed_lot
        lots.append(
            {
                "lot": lot,
                "arm_label": arm.label,
                "results": list(lot.results.order_by("id")),
                "criteria": [
                    {
                        "c": c,
                        "limit": limit_text(c),
                        "value": typed.get(c.id, "") if mine else "",
                        "error": errors.get(f"results.{c.id}", "") if mine else "",
                    }
                    for c in arm.product.release or []
                ],
                "infusions": given.get(lot.pk, []),
                # A refused release of this lot: each criterion's error (by its id), and the
                # others (the lot's state, the role).
                "errors": [
                    (k.removeprefix("results."), v)
                    for k, v in errors.items()
                    if mine and k.startswith("results.")
                ],
                "other": [v for k, v in errors.items() if mine and not k.startswith("results.")],
            }
        )
    if failed_lot:  # said beside the lot's results or fields, not above the page
        errors = {}
    people = [p for p in _participants(staff).order_by("code") if hasattr(p, "randomization")]
    slots = AllocationSlot.objects.filter(trial_id=staff.trial_id).select_related(
        "taken_by__participant"
    )
    return render(
        request,
        "edc/pharmacy.html",
        _ctx(
            staff,
            lots=lots,
            arms=protocol.arms,
            people=people,
            to_prepare=worklist.infusions_due(staff, timezone.now()),
            slots=slots.order_by("sequence"),
            taken=slots.filter(taken_by__isnull=False).count(),
            errors=errors,
            notice=request.session.pop("notice", ""),
        ),
    )


@staff_page({Role.PHARMACIST})
def dose(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    from celltrial.protocol import CalendarError, calendar

    p = _participant(staff, code)
    r = getattr(p, "randomization", None)
    if r is None:
        raise actions.Conflict("participant", f"{p.code} is not randomized")
    protocol = staff.trial.active_protocol().protocol
    arm = protocol.arm(r.slot.arm)
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        k: ""
        for k in (
            "lot",
            "started_at",
            "delivered",
            "deviation",
            "stopped_at",
            "volume_ml",
            "premedication",
            "interruption",
            "reaction",
        )
    }
    data["missing"] = {}
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in data if k != "missing"}
        data["interrupted"] = request.POST.get("interrupted") == "on"
        data["missing"] = _missing_codes(request, INFUSION_MAY_BE_MISSING)
        tz = timezone.get_current_timezone_name()
        started = _utc(data["started_at"])
        stopped = _utc(data["stopped_at"])
        volume: float | None = None
        try:
            delivered = float(data["delivered"])
        except ValueError:
            errors["delivered"] = "the amount delivered: a number, e.g. 1.4e8"
        if data["volume_ml"]:
            try:
                volume = float(data["volume_ml"].replace(",", "."))
            except ValueError:
                errors["volume_ml"] = "the volume infused: a number of mL"
        if started is None:
            errors["started_at"] = f"the start: a date and time ({tz})"
        if data["stopped_at"] and stopped is None:
            errors["stopped_at"] = f"the stop: a date and time ({tz})"
        if not errors:
            assert started is not None
            try:
                i = actions.record_infusion(
                    staff,
                    p,
                    lot=data["lot"],
                    started_at=started,
                    delivered=delivered,
                    deviation=data["deviation"],
                    stopped_at=stopped,
                    volume_ml=volume,
                    premedication=data["premedication"],
                    interrupted=data["interrupted"],
                    interruption=data["interruption"],
                    reaction=data["reaction"],
                    missing=data["missing"],
                )
            except ActionError as exc:
                errors = _errors(exc)
                for k in list(errors):
                    if k.startswith("missing."):
                        errors[k.removeprefix("missing.")] = errors.pop(k)
            else:
                request.session["notice"] = f"Administration #{i.number} of {p.code} recorded."
                return redirect("dose", code=p.code)
    try:
        cal = calendar(protocol, r.randomized_at, weight_kg=p.weight_kg, arms=[arm.id])
        cal_error = ""
    except CalendarError as exc:
        cal, cal_error = calendar(protocol, r.randomized_at, arms=[arm.id]), str(exc)
    done = {i.number: i for i in p.infusions.filter(entered_in_error=False).select_related("lot")}
    plans = [{"a": a, "done": done.get(a.number)} for a in cal.administrations]
    lots = Lot.objects.filter(trial_id=staff.trial_id, arm=arm.id, status=Lot.Status.RELEASED)
    return render(
        request,
        "edc/dose.html",
        _ctx(
            staff,
            p=p,
            r=r,
            arm=arm,
            plans=plans,
            cal_error=cal_error,
            lots=lots.order_by("number"),
            data=data,
            errors=errors,
            missing_codes=labels.choices("missing"),
            notice=request.session.pop("notice", ""),
        ),
    )


# ------------------------------------------------------------------------------------------
# DSMB
# ------------------------------------------------------------------------------------------


def _dsmb_page(
    request: HttpRequest, staff: Staff, *, report_problem: str = "", status: int = 200
) -> HttpResponse:
    """The DSMB page: safety by arm, the screening log, the closed report's link and state
    (``report_problem``: why there is no closed report, from ``/dsmb/report``)."""
    from celltrial.edc import api
    from celltrial.edc.web.views_dsmb import report_state

    request.auth = staff  # type: ignore[attr-defined]  # as django-ninja's auth sets it
    summary = api.safety_summary(request)
    protocol = staff.trial.active_protocol().protocol
    labels = {a.id: a.label for a in protocol.arms}
    rows = [
        {"arm": arm, "label": labels.get(arm, arm), **counts}
        for arm, counts in sorted(summary["by_arm"].items())
    ]
    return render(
        request,
        "edc/dsmb.html",
        _ctx(
            staff,
            rows=rows,
            log=actions.screening_log(staff),
            report=report_state(staff.trial),
            report_problem=report_problem,
        ),
        status=status,
    )


@staff_page({Role.DSMB})
def dsmb(request: HttpRequest, staff: Staff) -> HttpResponse:
    return _dsmb_page(request, staff)
