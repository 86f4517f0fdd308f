"""Web pages of the safety CRF's other forms: concomitant medications and medical history.

Each page lists what is recorded (labels, not codes) and has the form to add one, or to record
that the history was not taken (``--STAT`` NOT DONE with the reason). Every write is an action
(:mod:`celltrial.edc.actions.crf`): its errors are shown next to the field they name, with what
was typed kept. Nothing here shows an arm.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from celltrial.edc import actions, labels
from celltrial.edc.actions import ActionError
from celltrial.edc.actions.crf import CM_MAY_BE_MISSING, MH_MAY_BE_MISSING
from celltrial.edc.models import Role, Staff
from celltrial.edc.roles import CLINICAL_WRITERS, READERS
from celltrial.edc.status import casebook
from celltrial.edc.web.views import (
    _ctx,
    _errors,
    _missing_codes,
    _participant,
    split_errors,
    staff_page,
)

CM_FIELDS = (
    "medication",
    "indication",
    "dose",
    "dose_unit",
    "route",
    "frequency",
    "start_date",
    "end_date",
    "ongoing",
    "not_done",
    "not_done_reason",
)
#: Who corrects a CM or MH row, or marks it entered in error (``edit_record``'s roles).
EDITORS = frozenset({Role.INVESTIGATOR, Role.COORDINATOR, Role.DATA_MANAGER})
MH_FIELDS = ("term", "start_date", "end_date", "ongoing", "not_done", "not_done_reason")


def _form_errors(exc: ActionError) -> dict[str, str]:
    """Errors by field; a missing-data code's error shown at its field."""
    errors = _errors(exc)
    for k in list(errors):
        if k.startswith("missing."):
            errors[k.removeprefix("missing.")] = errors.pop(k)
    return errors


def _read(request: HttpRequest, names: tuple[str, ...], codable: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {n: request.POST.get(n, "").strip() for n in names}
    data["ongoing"] = request.POST.get("ongoing") == "on"
    data["not_done"] = request.POST.get("not_done") == "on"
    data["missing"] = _missing_codes(request, codable)
    return data


def _page(
    request: HttpRequest,
    staff: Staff,
    code: str,
    *,
    kind: str,
) -> HttpResponse:
    p = _participant(staff, code)
    medication = kind == "medication"
    names = CM_FIELDS if medication else MH_FIELDS
    codable = CM_MAY_BE_MISSING if medication else MH_MAY_BE_MISSING
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"missing": {}}
    if request.method == "POST":
        if staff.role not in CLINICAL_WRITERS:
            errors["participant"] = f"a {staff.get_role_display()} may not record this"
        data = _read(request, names, codable)
        fields = {k: v for k, v in data.items() if k in names}
        if medication and fields.get("dose"):
            try:
                fields["dose"] = float(str(fields["dose"]).replace(",", "."))
            except ValueError:
                errors["dose"] = f"a number, got {fields['dose']!r}"
        elif medication:
            fields["dose"] = None
        if not errors:
            try:
                if medication:
                    row: Any = actions.record_medication(
                        staff, p, **fields, missing=data["missing"]
                    )
                    what = row.medication or "medication history not taken"
                else:
                    row = actions.record_medical_history(
                        staff, p, **fields, missing=data["missing"]
                    )
                    what = row.term or "medical history not taken"
            except ActionError as exc:
                errors = _form_errors(exc)
            else:
                request.session["notice"] = f"Recorded: {what}."
                return redirect(f"/p/{p.code}/{'medications' if medication else 'history'}")
    rows = (
        list(p.medications.order_by("start_date", "id"))
        if medication
        else list(p.medical_history.order_by("start_date", "id"))
    )
    own = set(names) | set(codable)
    book = casebook(p)  # a locked casebook shows no edit links (the server refuses them too)
    return render(
        request,
        "edc/medications.html" if medication else "edc/history.html",
        _ctx(
            staff,
            p=p,
            data=data,
            rows=rows,
            book=book,
            editor=staff.role in EDITORS and not book.locked,
            errors=errors,
            other_errors=split_errors(errors, own)[1],
            routes=labels.choices("route"),
            frequencies=labels.choices("frequency"),
            missing_codes=labels.choices("missing"),
            today=timezone.localdate().isoformat(),
            notice=request.session.pop("notice", ""),
        ),
    )


@staff_page(READERS)
def medications(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    """Concomitant and prior medications: the list and the form (``record_medication``)."""
    return _page(request, staff, code, kind="medication")


@staff_page(READERS)
def history(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    """Medical history: the list and the form (``record_medical_history``)."""
    return _page(request, staff, code, kind="history")


@staff_page({Role.ADMIN})
@require_POST
def site_time_zone(request: HttpRequest, staff: Staff, site: str) -> HttpResponse:
    """The admin sets a site's time zone (``set_site_time_zone``) from the sites page."""
    zone = request.POST.get("time_zone", "").strip()
    try:
        s = actions.set_site_time_zone(staff, site, zone)
    except ActionError as exc:
        request.session["site_errors"] = {**_errors(exc), "site": site}
    else:
        request.session["notice"] = f"Site {s.code}: times in {s.time_zone}."
    return redirect("manage_sites")
