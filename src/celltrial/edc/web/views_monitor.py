"""Web pages of monitoring: the monitor's and data manager's home (queries across their sites),
a query (the site answers, the monitor closes), a record with its queries, locks and audit
trail, and the investigator's signature of a visit (password re-entered).

Every write is an action of :mod:`celltrial.edc.actions.monitoring`; its errors are shown next
to the field they name. Nothing here shows an arm: queries, locks and signatures hold none,
an infusion shows a blinded role its times only, and audit rows that reveal an arm are
redacted by :func:`celltrial.edc.serialize.audit_entry`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from celltrial.edc import actions, labels, serialize
from celltrial.edc.actions import ActionError
from celltrial.edc.actions import monitoring as mon
from celltrial.edc.actions.sdv import VERIFIERS
from celltrial.edc.download import EXPORTERS, FORMATS, download_dataset
from celltrial.edc.models import (
    FormLock,
    Measurement,
    Query,
    Role,
    Signature,
    SourceVerification,
    Staff,
    VisitRecord,
)
from celltrial.edc.roles import AUDIT_READERS, sees_arm
from celltrial.edc.status import casebook
from celltrial.edc.web.views import _ctx, _errors, _participant, _participants, _sites, staff_page

#: Who opens the monitoring pages: site staff (answer, sign) and monitoring (open, close, lock).
MONITORING_ROLES = frozenset({Role.INVESTIGATOR, Role.COORDINATOR, Role.MONITOR, Role.DATA_MANAGER})
MONITORS = frozenset({Role.MONITOR, Role.DATA_MANAGER})
STATUS_FILTERS = {
    "unclosed": "open or answered",
    "open": "open (awaiting the site)",
    "answered": "answered (awaiting the monitor)",
    "closed": "closed",
    "all": "all",
}
TABLE_LABELS = {t.code: t.label for t in labels.RECORD}


def describe(table: str, record: Any) -> str:
    """A short, blinded-safe description of a record (what a query or a lock is about)."""
    if record is None:
        return f"{TABLE_LABELS.get(table, table)} (not found)"
    if table == "measurement":
        at = f" at {record.visit}" if record.visit else ""
        return f"{record.code} = {record.value} {labels.unit(record.unit)}".rstrip() + at
    if table == "adverse_event":
        return f"{record.term}, grade {record.grade}"
    if table == "visit":
        return str(record.label)
    if table == "infusion":
        return f"administration #{record.number}"
    if table == "consent":
        return f"version {record.version} on {record.consented_on:%Y-%m-%d}"
    if table == "participant":
        return f"{record.code} ({labels.label('participant_status', record.status)})"
    if table == "clinical_event":
        return str(record.event)
    if table == "deviation":
        return f"{labels.label('deviation_category', record.category)}: {record.description[:60]}"
    return TABLE_LABELS.get(table, table).lower()


def _records(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Records by (table, id), one query per table."""
    wanted: dict[str, set[int]] = {}
    for table, rid in pairs:
        if rid.isdigit():
            wanted.setdefault(table, set()).add(int(rid))
    tables = mon.record_tables()
    out: dict[tuple[str, str], Any] = {}
    for table, ids in wanted.items():
        model = tables.get(table)
        if model is not None:
            for r in model._default_manager.filter(pk__in=ids):
                out[(table, str(r.pk))] = r
    return out


def _query_rows(queries: list[Query]) -> list[dict[str, Any]]:
    found = _records((q.table, q.record_id) for q in queries)
    return [
        {
            "q": q,
            "what": TABLE_LABELS.get(q.table, q.table),
            "about": describe(q.table, found.get((q.table, q.record_id))),
        }
        for q in queries
    ]


_PEOPLE = ("opened_by__user", "answered_by__user", "closed_by__user", "participant__site")


# ------------------------------------------------------------------------------------------
# The monitoring home: queries across the sites
# ------------------------------------------------------------------------------------------


@staff_page(MONITORING_ROLES)
def queries(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Queries at the staff's sites (open and answered first); for a monitor or data manager
    also the participants with their open queries, locks and signed visits."""
    status = request.GET.get("status", "unclosed")
    if status not in STATUS_FILTERS:
        status = "unclosed"
    site = request.GET.get("site", "")
    people = _participants(staff)
    if site:
        people = people.filter(site__code=site)
    qs = Query.objects.filter(participant__in=people).select_related(*_PEOPLE)
    counts = {s: n for s, n in qs.values_list("status").annotate(n=Count("id")).order_by()}
    if status == "unclosed":
        qs = qs.exclude(status=Query.Status.CLOSED)
    elif status != "all":
        qs = qs.filter(status=status)
    # Oldest first while waiting; the latest first once closed.
    order = ("-closed_at", "-id") if status == "closed" else ("status", "opened_at", "id")
    rows = _query_rows(list(qs.order_by(*order)[:300]))
    monitor = staff.role in MONITORS
    overview = []
    if monitor:
        annotated = people.annotate(
            n_open=Count("queries", filter=Q(queries__status="open"), distinct=True),
            n_answered=Count("queries", filter=Q(queries__status="answered"), distinct=True),
            n_locks=Count("locks", filter=Q(locks__unlocked_at__isnull=True), distinct=True),
            n_whole=Count(
                "locks", filter=Q(locks__unlocked_at__isnull=True, locks__table=""), distinct=True
            ),
            n_done=Count("visits", filter=Q(visits__done_at__isnull=False), distinct=True),
            n_signed=Count(
                "visits__signatures",
                filter=Q(visits__signatures__invalidated_at__isnull=True),
                distinct=True,
            ),
        )
        overview = list(annotated.exclude(status__in=("screened", "ineligible")).order_by("code"))
    locks = (
        FormLock.objects.filter(participant__in=people, unlocked_at__isnull=True)
        .select_related("participant", "locked_by__user")
        .order_by("-locked_at")
    )
    return render(
        request,
        "edc/queries.html",
        _ctx(
            staff,
            rows=rows,
            counts={s: counts.get(s, 0) for s in Query.Status.values},
            status=status,
            statuses=STATUS_FILTERS.items(),
            site=site,
            sites=_sites(staff),
            monitor=monitor,
            overview=overview,
            locks=list(locks[:100]),
            audit_reader=staff.role in AUDIT_READERS,
            notice=request.session.pop("notice", ""),
        ),
    )


# ------------------------------------------------------------------------------------------
# One query: answer (site staff), close (monitor, data manager)
# ------------------------------------------------------------------------------------------


@staff_page(MONITORING_ROLES)
def query(request: HttpRequest, staff: Staff, query_id: int) -> HttpResponse:
    q = mon.query_for(staff, query_id)
    errors: dict[str, str] = {}
    data = {"answer": "", "note": ""}
    if request.method == "POST":
        do = request.POST.get("do", "")
        data = {k: request.POST.get(k, "") for k in data}
        try:
            if do == "answer":
                actions.answer_query(staff, q.pk, data["answer"])
                request.session["notice"] = f"Query #{q.pk} answered."
            elif do == "close":
                actions.close_query(staff, q.pk, note=data["note"])
                request.session["notice"] = f"Query #{q.pk} closed."
            else:
                errors["form"] = "Choose to answer or to close the query."
        except ActionError as exc:
            found = _errors(exc)
            errors = {k: v for k, v in found.items() if k in ("answer", "note")}
            other = [v for k, v in found.items() if k not in ("answer", "note")]
            if other:
                errors["form"] = "; ".join(other)
        if not errors:
            return redirect("query", query_id=q.pk)
        q = mon.query_for(staff, q.pk)
    (row,) = _query_rows([q])
    editable = q.table in ("measurement", "adverse_event")
    return render(
        request,
        "edc/query.html",
        _ctx(
            staff,
            row=row,
            q=q,
            p=q.participant,
            errors=errors,
            data=data,
            may_answer=staff.role in mon.QUERY_ANSWERERS and q.status == Query.Status.OPEN,
            may_close=staff.role in mon.QUERY_OPENERS and q.status != Query.Status.CLOSED,
            audit_reader=staff.role in AUDIT_READERS,
            edit_url=(
                f"/p/{mon.query_participant(q).code}/edit/{q.table}/{q.record_id}"
                if editable
                and staff.role in {Role.INVESTIGATOR, Role.COORDINATOR, Role.DATA_MANAGER}
                else ""
            ),
            notice=request.session.pop("notice", ""),
        ),
    )


# ------------------------------------------------------------------------------------------
# A record: its values, queries, locks and audit trail
# ------------------------------------------------------------------------------------------


ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(?:Z|\+00:00)$")
#: Keys of an audit row not worth a line: the row's own id and ids the page already names.
QUIET_KEYS = frozenset({"id", "participant_id", "trial_id"})


def _show(value: Any, names: dict[int, str] | None = None, table: str = "", field: str = "") -> str:
    """A stored value as the page shows it: times in UTC without fractions, yes/no, the label
    of a coded field (:func:`celltrial.edc.labels.field_label`)."""
    if value is None or value == "" or value == {} or value == []:
        return "—"
    if field and (text := labels.field_label(table, field, value)) is not None:
        return text
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat") and hasattr(value, "hour"):
        return str(value.strftime("%Y-%m-%d %H:%M UTC"))
    if isinstance(value, str) and (m := ISO_TIME.match(value)):
        return f"{m[1]} {m[2]} UTC"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if names is not None and isinstance(value, int) and value in names:
        return names[value]
    return str(value)


def _values(staff: Staff, ref: mon.RecordRef) -> list[tuple[str, str]]:
    out = []
    record: Any = ref.record
    for name in mon.visible_fields(staff, ref.table):
        field = record._meta.get_field(name)
        value = getattr(record, field.attname)
        if name == "site":
            value = ref.participant.site.code
        out.append((name, _show(value, None, ref.table, name)))
    return out


def _is_staff_key(key: str) -> bool:
    return key.endswith("_by_id") or key == "staff_id"


def _staff_names(entries: list[dict[str, Any]]) -> dict[int, str]:
    """Usernames of the staff ids in audit rows (``opened_by_id`` …), one query."""
    ids: set[int] = set()
    for e in entries:
        for text in (e["old"], e["new"]):
            if text and text != serialize.REDACTED:
                ids |= {
                    v
                    for k, v in json.loads(text).items()
                    if _is_staff_key(k) and isinstance(v, int)
                }
    rows = Staff.objects.filter(pk__in=ids).select_related("user")
    return {s.pk: s.username for s in rows}


def _changes(entry: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    """An audit row for the page: who, when, what, and old -> new for each changed value (a
    new record: its values that are set)."""
    redacted = serialize.REDACTED in (entry["old"], entry["new"])
    changes: list[tuple[str, str, str]] = []
    if not redacted:
        old = json.loads(entry["old"]) if entry["old"] else {}
        new = json.loads(entry["new"]) if entry["new"] else {}
        for key in sorted(set(old) | set(new)):
            if key in QUIET_KEYS:
                continue
            before, after = old.get(key), new.get(key)
            if not old and after in (None, "", [], {}):
                continue  # a new record: only what it holds
            if before != after or not old:
                lookup = names if _is_staff_key(key) else None
                label = key.removesuffix("_id") if lookup else key
                changes.append(
                    (
                        label,
                        _show(before, lookup, entry["table"], key) if old else "",
                        _show(after, lookup, entry["table"], key) if key in new else "—",
                    )
                )
    return {
        **entry,
        "when": (entry["at"] or "")[:16].replace("T", " "),
        "what": entry["action"].replace("_", " "),
        "changes": changes,
        "redacted": redacted,
        "created": not entry["old"],
    }


def _record_page(
    request: HttpRequest,
    staff: Staff,
    ref: mon.RecordRef,
    errors: dict[str, str],
    data: dict[str, str],
) -> HttpResponse:
    _, rows = mon.record_audit(staff, ref.table, ref.record_id)
    entries = [serialize.audit_entry(staff, e) for e in rows]
    names = _staff_names(entries)
    queries = (
        Query.objects.filter(
            participant_id=ref.participant.pk, table=ref.table, record_id=ref.record_id
        )
        .select_related(*_PEOPLE)
        .order_by("id")
    )
    locks = FormLock.objects.filter(participant_id=ref.participant.pk).select_related(
        "locked_by__user", "unlocked_by__user"
    )
    if ref.table == "participant":
        locks = locks.filter(table="")
    else:
        locks = locks.filter(Q(table="") | Q(table=ref.table, record_id=ref.record_id))
    in_force = mon.active_lock(
        ref.participant.pk, "" if ref.table == "participant" else ref.table, ref.record_id
    )
    state = casebook(ref.participant).record(ref.table, ref.record)
    verifications = (
        SourceVerification.objects.filter(
            participant_id=ref.participant.pk, table=ref.table, record_id=ref.record_id
        )
        .select_related("verified_by__user", "undone_by__user")
        .order_by("-id")
    )
    return render(
        request,
        "edc/audit_record.html",
        _ctx(
            staff,
            p=ref.participant,
            ref=ref,
            label=TABLE_LABELS.get(ref.table, ref.table),
            about=describe(ref.table, ref.record),
            values=_values(staff, ref),
            fields=mon.visible_fields(staff, ref.table),
            queries=list(queries),
            locks=list(locks.order_by("-id")),
            in_force=in_force,
            entries=[_changes(e, names) for e in entries],
            may_query=staff.role in mon.QUERY_OPENERS,
            may_lock=staff.role in mon.LOCKERS,
            state=state,
            verifications=list(verifications),
            may_verify=staff.role in VERIFIERS and ref.table != "participant",
            errors=errors,
            data=data,
            notice=request.session.pop("notice", ""),
        ),
    )


#: The inputs of each form of the record page (an error on another field is shown at the top
#: of that form).
FORM_INPUTS = {
    "query": ("text", "field"),
    "lock": ("reason",),
    "unlock": ("reason",),
    "verify": (),
    "unverify": ("reason",),
}


def _form_errors(do: str, exc: ActionError) -> dict[str, str]:
    """Errors keyed ``<form>_<input>`` (next to the input) or ``<form>_other`` (atop the form)."""
    out: dict[str, str] = {}
    for name, message in _errors(exc).items():
        key = f"{do}_{name}" if name in FORM_INPUTS.get(do, ()) else f"{do}_other"
        out[key] = f"{out[key]}; {message}" if key in out else message
    return out


@staff_page(AUDIT_READERS)
def record(
    request: HttpRequest, staff: Staff, code: str, table: str, record_id: int
) -> HttpResponse:
    p = _participant(staff, code)
    ref = mon.find_record(staff, table, record_id)
    if ref.participant.pk != p.pk:
        raise actions.NotFound("record_id", f"{ref.table} {record_id} is not a record of {p.code}")
    errors: dict[str, str] = {}
    data = {
        "field": "",
        "text": "",
        "lock_reason": "",
        "unlock_reason": "",
        "lock_id": "",
        "unverify_reason": "",
    }
    if request.method == "POST":
        do = request.POST.get("do", "")
        data = {k: request.POST.get(k, "") for k in data}
        whole = ref.table == "participant"
        try:
            if do == "query":
                q = actions.open_query(
                    staff, ref.table, ref.record_id, data["text"], field=data["field"]
                )
                request.session["notice"] = f"Query #{q.pk} opened: the site will answer it."
            elif do == "lock":
                lock = actions.lock_record(
                    staff,
                    p,
                    table="" if whole else ref.table,
                    record_id="" if whole else ref.record_id,
                    reason=data["lock_reason"],
                )
                request.session["notice"] = f"Locked (lock #{lock.pk})."
            elif do == "unlock":
                actions.unlock_record(staff, data["lock_id"], reason=data["unlock_reason"])
                request.session["notice"] = f"Lock #{data['lock_id']} lifted."
            elif do == "verify":
                actions.verify_record(staff, ref.table, ref.record_id)
                request.session["notice"] = "Source data verified."
            elif do == "unverify":
                actions.unverify_record(
                    staff, ref.table, ref.record_id, reason=data["unverify_reason"]
                )
                request.session["notice"] = "Source-data verification withdrawn."
            else:
                errors["form"] = "Unknown request."
        except ActionError as exc:
            errors = _form_errors(do, exc)
            if exc.status == 403:  # the role or site: no form of this page can do it
                errors = {"form": "; ".join(p.message for p in exc.problems)}
        if not errors:
            return redirect("record", code=p.code, table=ref.table, record_id=ref.record.pk)
    return _record_page(request, staff, ref, errors, data)


# ------------------------------------------------------------------------------------------
# The investigator's signature of a visit
# ------------------------------------------------------------------------------------------


@staff_page({Role.INVESTIGATOR})
def sign(request: HttpRequest, staff: Staff, code: str, visit: str) -> HttpResponse:
    p = _participant(staff, code)
    v = VisitRecord.objects.filter(participant=p, visit=visit).first()
    if v is None:
        raise actions.NotFound("visit", f"{visit!r} is not a scheduled visit of {p.code}")
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            actions.sign_visit(staff, p, visit, password=request.POST.get("password", ""))
        except ActionError as exc:
            errors = _errors(exc)
        else:
            request.session["notice"] = f"{v.label} of {p.code} signed."
            return redirect("participant", code=p.code)
    measurements = Measurement.objects.filter(participant=p, visit=v.visit).order_by("code", "id")
    labels = {m.code: m.label for m in staff.trial.active_protocol().protocol.measurements}
    open_queries = mon.visit_queries(v)
    return render(
        request,
        "edc/sign.html",
        _ctx(
            staff,
            p=p,
            v=v,
            measurements=[(m, labels.get(m.code, m.code)) for m in measurements],
            open_queries=open_queries,
            signed=mon.active_signature(v),
            history=list(
                Signature.objects.filter(visit=v).select_related("staff__user").order_by("id")
            ),
            meaning=mon.DEFAULT_MEANING,
            errors=errors,
            signable=(v.done_at is not None or v.not_done) and not open_queries,
        ),
    )


# ------------------------------------------------------------------------------------------
# Downloading the dataset (data manager, DSMB): the blinded CSV for a blinded role
# ------------------------------------------------------------------------------------------


@staff_page(EXPORTERS)
def export_page(request: HttpRequest, staff: Staff) -> HttpResponse:
    full = sees_arm(staff)
    formats = [(k, v) for k, v in FORMATS.items() if full or k == "csv"]
    return render(request, "edc/export.html", _ctx(staff, full=full, formats=formats))


@staff_page(EXPORTERS)
def export_download(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The zip (:func:`celltrial.edc.download.download_dataset`, audited); the role and the
    format are checked there, on the server, whatever the page offered."""
    name, data = download_dataset(staff, request.GET.get("format", "csv"), via="web")
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


__all__ = ["describe", "export_download", "export_page", "queries", "query", "record", "sign"]
