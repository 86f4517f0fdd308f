"""Web pages of follow-up and of leaving the trial: withdrawal, loss to follow-up and death (one
page, three forms), study completion, a protocol's clinical event, a protocol deviation and a
visit that did not take place.

Every write is an action (:mod:`celltrial.edc.actions.disposition` and
:mod:`celltrial.edc.actions.followup`): the role, the site and the rules are checked there, and
its errors are shown next to the field they name, with what was typed kept. Leaving the trial
and completing it are final, so those forms also ask for a confirmation box, checked here before
the action is called. Nothing here shows an arm: dispositions, deaths, events, deviations and
visits hold none.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from celltrial.edc import actions
from celltrial.edc.actions import ActionError
from celltrial.edc.actions.disposition import ACTIVE, DEATH_WRITERS, WITHDRAWN_BY
from celltrial.edc.actions.followup import DEVIATION_WRITERS, FROM_ELSEWHERE
from celltrial.edc.models import Deviation, Participant, Staff
from celltrial.edc.roles import CLINICAL_WRITERS
from celltrial.edc.web.views import (
    _ctx,
    _errors,
    _participant,
    _utc,
    split_errors,
    staff_page,
)

P = Participant.Status
#: Statuses of a participant whose follow-up is over.
LEFT = (P.COMPLETED, P.WITHDRAWN, P.LOST, P.DEAD)
WITHDRAWN_BY_LABELS = {
    "participant": "The participant (consent withdrawn)",
    "investigator": "The investigator",
    "sponsor": "The sponsor",
    "guardian": "A legal guardian or representative",
}
#: The three forms of the leave page: their fields, and the action's name for the time field.
LEAVE_FORMS: dict[str, dict[str, Any]] = {
    "withdraw": {"fields": ("at", "by", "reason", "confirm"), "time": "at"},
    "lost": {"fields": ("last_contact", "reason", "confirm"), "time": "last_contact"},
    "death": {"fields": ("died_at", "cause", "confirm"), "time": "died_at"},
}
CONFIRM = "tick the box to confirm: this is final and cannot be undone here"
TIME_FORMAT = "a date and time (the site's time zone), e.g. 2026-03-01T10:00"


def _now_local() -> str:
    """Now, in the page's time zone (the site's), as a ``datetime-local`` value."""
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def _time(text: str, field: str, errors: dict[str, str], *, required: bool) -> dt.datetime | None:
    """The time typed in a ``datetime-local`` box (UTC); an error under ``field`` if it is not
    one (or is blank and ``required``)."""
    if not text.strip():
        if required:
            errors[field] = f"required: {TIME_FORMAT}"
        return None
    value = _utc(text)
    if value is None:
        errors[field] = f"{text.strip()!r} is not {TIME_FORMAT}"
    return value


def _left(p: Participant) -> list[Any]:
    """The participant's dispositions (completed, withdrew, lost, died), oldest first; the
    first ended the follow-up (a death may follow a withdrawal or a loss to follow-up)."""
    left = p.dispositions.filter(entered_in_error=False).order_by("at", "id")
    return list(left) if p.status in LEFT else []


def _done(request: HttpRequest, p: Participant, notice: str) -> HttpResponse:
    request.session["notice"] = notice
    return redirect("participant", code=p.code)


# ------------------------------------------------------------------------------------------
# Leaving the trial: withdrawal, lost to follow-up, death
# ------------------------------------------------------------------------------------------


@staff_page(CLINICAL_WRITERS)
def leave(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    p = _participant(staff, code)
    data: dict[str, dict[str, str]] = {
        "withdraw": {"at": _now_local(), "by": "participant", "reason": ""},
        "lost": {"last_contact": "", "reason": ""},
        "death": {"died_at": "", "cause": ""},
    }
    errors: dict[str, dict[str, str]] = {k: {} for k in LEAVE_FORMS}
    other: dict[str, list[str]] = {k: [] for k in LEAVE_FORMS}
    which = ""
    if request.method == "POST":
        which = request.POST.get("form", "")
        if which not in LEAVE_FORMS:
            raise ActionError("form", f"one of {', '.join(LEAVE_FORMS)}, got {which!r}")
        if which == "death" and staff.role not in DEATH_WRITERS:
            raise actions.Forbidden(
                "role", f"a {staff.get_role_display().lower()} may not record a death"
            )
        spec = LEAVE_FORMS[which]
        values = {f: request.POST.get(f, "").strip() for f in spec["fields"]}
        data[which] = values
        found: dict[str, str] = {}
        time_field = spec["time"]
        when = _time(values[time_field], time_field, found, required=which != "withdraw")
        if values["confirm"] != "on":
            found["confirm"] = CONFIRM
        if not found:
            try:
                if which == "withdraw":
                    actions.withdraw(staff, p, reason=values["reason"], by=values["by"], at=when)
                    note = f"{p.code} withdrew from the trial; the data collected so far are kept."
                elif which == "lost":
                    assert when is not None
                    actions.mark_lost_to_follow_up(
                        staff, p, last_contact=when, reason=values["reason"]
                    )
                    note = f"{p.code} is lost to follow-up (last contact {values[time_field]} UTC)."
                else:
                    assert when is not None
                    actions.record_death(staff, p, died_at=when, cause=values["cause"])
                    note = (
                        f"Death of {p.code} recorded. If it follows an adverse event, report "
                        "that event with grade 5 on the adverse-event form."
                    )
            except ActionError as exc:
                found = _errors(exc)
                if "at" in found and time_field != "at":  # the shared rule names "at"
                    found[time_field] = found.pop("at")
            else:
                return _done(request, p, note)
        errors[which], other[which] = split_errors(found, spec["fields"])
    status = p.status
    return render(
        request,
        "edc/leave.html",
        _ctx(
            staff,
            p=p,
            data=data,
            errors=errors,
            other=other,
            which=which,
            left=_left(p),
            now=_now_local(),
            may_withdraw=status in ACTIVE,
            may_die=status in (*ACTIVE, P.WITHDRAWN, P.LOST) and staff.role in DEATH_WRITERS,
            withdrawn_by=[(b, WITHDRAWN_BY_LABELS.get(b, b)) for b in WITHDRAWN_BY],
        ),
    )


# ------------------------------------------------------------------------------------------
# Study completion
# ------------------------------------------------------------------------------------------


@staff_page(CLINICAL_WRITERS)
def complete(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    p = _participant(staff, code)
    data = {"at": _now_local()}
    errors: dict[str, str] = {}
    other: list[str] = []
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in ("at", "confirm")}
        found: dict[str, str] = {}
        when = _time(data["at"], "at", found, required=False)
        if data["confirm"] != "on":
            found["confirm"] = CONFIRM
        if not found:
            try:
                actions.complete_study(staff, p, at=when)
            except ActionError as exc:
                found = _errors(exc)
            else:
                return _done(request, p, f"{p.code} completed the study.")
        errors, other = split_errors(found, ("at", "confirm"))
    last = p.visits.order_by("-nominal", "-id").first()
    return render(
        request,
        "edc/complete.html",
        _ctx(
            staff,
            p=p,
            data=data,
            errors=errors,
            other=other,
            last=last,
            left=_left(p),
            now=_now_local(),
            may_complete=p.status == P.RANDOMIZED,
        ),
    )


# ------------------------------------------------------------------------------------------
# Clinical events
# ------------------------------------------------------------------------------------------


@staff_page(CLINICAL_WRITERS)
def clinical_event(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    p = _participant(staff, code)
    protocol = staff.trial.active_protocol().protocol
    labels = {e.code: e.label or e.code for e in protocol.events}
    events = [(c, label) for c, label in labels.items() if c not in FROM_ELSEWHERE]
    data = {
        "event": events[0][0] if len(events) == 1 else "",
        "occurred_at": "",
        "term": "",
        "occurred": "yes",
        "idempotency_key": f"web-event-{uuid.uuid4().hex}",
    }
    errors: dict[str, str] = {}
    other: list[str] = []
    fields = ("event", "occurred_at", "term", "occurred")
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in data}
        found: dict[str, str] = {}
        when = _time(data["occurred_at"], "occurred_at", found, required=True)
        if data["occurred"] not in ("yes", "no"):
            found["occurred"] = "choose whether the event occurred (yes) or not (no)"
        if not found:
            try:
                row = actions.record_clinical_event(
                    staff,
                    p,
                    event=data["event"],
                    occurred_at=when,
                    term=data["term"],
                    occurred=data["occurred"] == "yes",
                    idempotency_key=data["idempotency_key"] or None,
                )
            except ActionError as exc:
                found = _errors(exc)
            else:
                what = labels.get(row.event, row.event)
                return _done(
                    request,
                    p,
                    f"Clinical event recorded: {what}"
                    f"{'' if row.occurred else ' (did not occur)'} at "
                    f"{row.occurred_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC.",
                )
        errors, other = split_errors(found, fields)
    recorded = [
        (e, labels.get(e.event, e.event)) for e in p.clinical_events.order_by("occurred_at", "id")
    ]
    return render(
        request,
        "edc/event.html",
        _ctx(
            staff,
            p=p,
            data=data,
            errors=errors,
            other=other,
            events=events,
            recorded=recorded,
            left=_left(p),
            now=_now_local(),
        ),
    )


# ------------------------------------------------------------------------------------------
# Protocol deviations
# ------------------------------------------------------------------------------------------


@staff_page(DEVIATION_WRITERS)
def deviation(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    p = _participant(staff, code)
    data = {
        "category": "",
        "description": "",
        "occurred_at": "",
        "idempotency_key": f"web-deviation-{uuid.uuid4().hex}",
    }
    errors: dict[str, str] = {}
    other: list[str] = []
    fields = ("category", "description", "occurred_at")
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in data}
        found: dict[str, str] = {}
        when = _time(data["occurred_at"], "occurred_at", found, required=False)
        if not found:
            try:
                row = actions.record_deviation(
                    staff,
                    p,
                    category=data["category"],
                    description=data["description"],
                    occurred_at=when,
                    idempotency_key=data["idempotency_key"] or None,
                )
            except ActionError as exc:
                found = _errors(exc)
            else:
                return _done(
                    request, p, f"{row.category.capitalize()} protocol deviation recorded."
                )
        errors, other = split_errors(found, fields)
    return render(
        request,
        "edc/deviation.html",
        _ctx(
            staff,
            p=p,
            data=data,
            errors=errors,
            other=other,
            categories=[
                (
                    Deviation.Category.MAJOR.value,
                    "Major",
                    "affects the participant's safety, rights or the primary data; removes the "
                    "participant from the per-protocol population",
                ),
                (Deviation.Category.MINOR.value, "Minor", "any other departure from the protocol"),
            ],
            recorded=list(p.deviations.order_by("recorded_at", "id")),
            left=_left(p),
            now=_now_local(),
        ),
    )


# ------------------------------------------------------------------------------------------
# A visit that did not take place
# ------------------------------------------------------------------------------------------


@staff_page(CLINICAL_WRITERS)
def visit_not_done(request: HttpRequest, staff: Staff, code: str, visit: str) -> HttpResponse:
    p = _participant(staff, code)
    v = p.visits.filter(visit=visit).first()
    if v is None:
        known = ", ".join(p.visits.order_by("nominal").values_list("visit", flat=True))
        raise actions.NotFound(
            "visit", f"{visit!r} is not a scheduled visit of {p.code} ({known or 'none yet'})"
        )
    data = {"reason": ""}
    errors: dict[str, str] = {}
    other: list[str] = []
    if request.method == "POST":
        data = {"reason": request.POST.get("reason", "").strip()}
        try:
            actions.record_visit_not_done(staff, p, visit, reason=data["reason"])
        except ActionError as exc:
            errors, other = split_errors(_errors(exc), ("reason",))
        else:
            return _done(request, p, f"Visit {v.label} recorded as not done.")
    now = timezone.now()
    return render(
        request,
        "edc/not_done.html",
        _ctx(
            staff,
            p=p,
            v=v,
            data=data,
            errors=errors,
            other=other,
            measured=p.measurements.filter(visit=visit).count(),
            not_yet=v.earliest > now,
            left=_left(p),
        ),
    )
