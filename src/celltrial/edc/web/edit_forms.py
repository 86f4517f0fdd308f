"""The web's correction forms of the safety CRF: an adverse event, a concomitant medication, a
condition of the medical history (``/p/<code>/edit/<table>/<id>``).

Each form shows every field its entry form has (:data:`FORMS`), filled with the stored values
(times in the site's zone, codes as their labels) and, beside each field that takes one, the
missing-data code select. What changed is sent to :func:`celltrial.edc.actions.edit_record`,
the same action the API's ``PATCH /records/{table}/{id}`` runs: the merged record is checked by
the entry form's rules, a reason is required once the form is complete, and the audit row keeps
old and new values. Errors are shown under the field they name, with what was typed kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from celltrial.edc import actions, labels
from celltrial.edc.actions import ActionError
from celltrial.edc.actions.crf import CM_MAY_BE_MISSING, MH_MAY_BE_MISSING
from celltrial.edc.actions.safety import AE_MAY_BE_MISSING, MEANINGFUL_CODES
from celltrial.edc.models import Participant, Staff


@dataclasses.dataclass(frozen=True)
class Spec:
    """One field of a correction form: its name (the model's), label and widget (``text``,
    ``textarea``, ``number``, ``date``, ``datetime-local``, ``checkbox``, ``select``,
    ``checks`` — several codes —, ``yesno`` — yes, no or blank); ``vocabulary`` names the
    label registry's list of a select or checks."""

    name: str
    label: str
    widget: str = "text"
    vocabulary: str = ""
    hint: str = ""


FORMS: dict[str, tuple[Spec, ...]] = {
    "adverse_event": (
        Spec("term", "Term (CTCAE term as reported)"),
        Spec("grade", "CTCAE grade", "select", "grade"),
        Spec("onset", "Onset", "datetime-local"),
        Spec(
            "aware_at",
            "Site became aware",
            "datetime-local",
            hint="The SAE reporting clock runs from this time.",
        ),
        Spec("end_at", "End", "datetime-local", hint="Blank if ongoing."),
        Spec("ongoing", "Ongoing (not resolved)", "checkbox"),
        Spec("serious_criteria", "Seriousness (none ticked: not serious)", "checks", "seriousness"),
        Spec("relatedness", "Relatedness to the cell product", "select", "relatedness"),
        Spec(
            "procedure_relatedness",
            "Relatedness to the infusion procedure",
            "select",
            "relatedness",
        ),
        Spec("expected", "Expectedness", "yesno", "expectedness"),
        Spec("action_taken", "Action taken with the study product", "select", "action_taken"),
        Spec("outcome", "Outcome", "select", "outcome"),
        Spec(
            "infusion_associated",
            "Is this a pre-specified infusion-associated event?",
            "yesno",
            "yes_no",
            hint="Asked only when the onset falls inside a protocol safety window after an "
            "infusion; blank otherwise.",
        ),
    ),
    "medication": (
        Spec("medication", "Medication (as reported)"),
        Spec("indication", "Indication"),
        Spec("dose", "Dose", "number"),
        Spec("dose_unit", "Dose unit"),
        Spec("route", "Route", "select", "route"),
        Spec("frequency", "Frequency", "select", "frequency"),
        Spec("start_date", "Start date", "date"),
        Spec("end_date", "End date", "date", hint="Blank if ongoing."),
        Spec("ongoing", "Ongoing (still taken)", "checkbox"),
        Spec("not_done", "Medication history not taken", "checkbox"),
        Spec("not_done_reason", "Why not taken", "textarea"),
    ),
    "medical_history": (
        Spec("term", "Condition (as reported)"),
        Spec("start_date", "Start date", "date"),
        Spec("end_date", "End date", "date", hint="Blank if ongoing."),
        Spec("ongoing", "Ongoing (still present)", "checkbox"),
        Spec("not_done", "Medical history not taken", "checkbox"),
        Spec("not_done_reason", "Why not taken", "textarea"),
    ),
}
#: The fields of each form that take a missing-data code (the actions' lists).
CODABLE: dict[str, tuple[str, ...]] = {
    "adverse_event": AE_MAY_BE_MISSING,
    "medication": CM_MAY_BE_MISSING,
    "medical_history": MH_MAY_BE_MISSING,
}
#: A yes/no select's codes by vocabulary: what the stored True, False are.
_YESNO = {"expectedness": ("expected", "unexpected"), "yes_no": ("true", "false")}


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def _shown(spec: Spec, value: Any) -> Any:
    """A stored value as the form shows it."""
    if value is None:
        return [] if spec.widget == "checks" else ""
    if spec.widget == "yesno":
        yes, no = _YESNO[spec.vocabulary]
        return yes if value else no
    if isinstance(value, dt.datetime):
        return _local(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if spec.widget == "number":
        return f"{value:g}" if isinstance(value, float) else str(value)
    if spec.widget == "select":
        return str(value)
    return value


def _posted(request: HttpRequest, spec: Spec) -> Any:
    """A field as posted, in the form's terms (what :func:`_shown` gives for a stored value)."""
    if spec.widget == "checkbox":
        return request.POST.get(spec.name) == "on"
    if spec.widget == "checks":
        return request.POST.getlist(spec.name)
    return request.POST.get(spec.name, "").strip()


def _change(spec: Spec, text: Any, errors: dict[str, str]) -> Any:
    """The posted value as ``edit_record`` takes it (times from the site's zone in UTC)."""
    if spec.widget in ("checkbox", "checks"):
        return text
    if text == "":
        return None
    if spec.widget == "yesno":
        yes, no = _YESNO[spec.vocabulary]
        return {yes: True, no: False}.get(text, text)
    if spec.widget == "datetime-local":
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            errors[spec.name] = f"a date and time ({timezone.get_current_timezone_name()})"
            return text
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.get_current_timezone())
        return value.astimezone(dt.UTC).isoformat()
    if spec.widget == "number":
        try:
            return float(text.replace(",", "."))
        except ValueError:
            errors[spec.name] = f"a number, got {text!r}"
            return text
    if spec.name == "grade":
        try:
            return int(text)
        except ValueError:
            errors[spec.name] = f"a CTCAE grade 1 to 5, got {text!r}"
            return text
    return text


def _errors(exc: ActionError) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in exc.problems:
        key = p.field.removeprefix("changes.").removeprefix("missing.")
        out[key] = f"{out[key]}; {p.message}" if key in out else p.message
    return out


def edit_page(
    request: HttpRequest, staff: Staff, p: Participant, table: str, record: Any, ctx: Any
) -> HttpResponse:
    """The correction form of ``record`` (an AE, a CM or an MH row); ``ctx`` the pages' context
    maker (:func:`celltrial.edc.web.views._ctx`)."""
    specs = FORMS[table]
    codable = CODABLE[table]
    stored_missing: dict[str, str] = dict(record.missing or {})
    values = {s.name: _shown(s, getattr(record, s.name)) for s in specs}
    missing = dict(stored_missing)
    errors: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        changes: dict[str, Any] = {}
        for s in specs:
            posted = _posted(request, s)
            new = _change(s, posted, errors)
            shown = _shown(s, getattr(record, s.name))
            if (set(posted) != set(shown)) if s.widget == "checks" else (posted != shown):
                changes[s.name] = new
            values[s.name] = posted
        missing = {
            n: code for n in codable if (code := request.POST.get(f"missing.{n}", "").strip())
        }
        if missing != stored_missing:
            changes["missing"] = missing
        if errors:
            pass
        elif not changes:
            errors["form"] = "Nothing changed."
        else:
            try:
                actions.edit_record(staff, table, record.id, changes, reason=reason)
            except ActionError as exc:
                errors = _errors(exc)
            else:
                what = labels.label("record", table)
                request.session["notice"] = f"{what} changed."
                back = {"medication": "/medications", "medical_history": "/history"}
                return redirect(f"/p/{p.code}{back.get(table, '')}")
    zone = timezone.get_current_timezone_name()
    fields = [
        {
            "name": s.name,
            "label": f"{s.label} ({zone})" if s.widget == "datetime-local" else s.label,
            "widget": s.widget,
            "choices": (
                list(zip(_YESNO[s.vocabulary], ("Yes", "No"), strict=True))
                if s.vocabulary == "yes_no"
                else labels.choices(s.vocabulary)
            )
            if s.vocabulary
            else [],
            "value": values[s.name],
            "codes": (
                [(c, labels.label("missing", c)) for c in MEANINGFUL_CODES[s.name]]
                if s.name in MEANINGFUL_CODES
                else labels.choices("missing")
            )
            if s.name in codable
            else [],
            "coded": missing.get(s.name, ""),
            "error": errors.get(s.name, ""),
            "hint": s.hint,
        }
        for s in specs
    ]
    known = {s.name for s in specs} | {"reason", "form", "lock"}
    other = [m for k, m in errors.items() if k not in known]
    return render(
        request,
        "edc/edit.html",
        ctx(
            staff,
            p=p,
            table=table,
            record=record,
            rich=True,
            fields=fields,
            errors=errors,
            other_errors=other,
            reason=reason,
        ),
    )


__all__ = ["CODABLE", "FORMS", "Spec", "edit_page"]
