"""Template tags that put monitoring on the existing pages: a participant's queries, locks and
signatures (``{% monitoring_card %}``), links and badges beside each record
(``{% record_links "measurement" m.id %}``, ``{% visit_links row.v %}``) and the dashboard's
summary (``{% queries_summary %}``). They read the ``staff`` and ``p`` of the page's context and
fetch a participant's queries, locks and signatures once per page."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count

from celltrial.edc.models import FormLock, Participant, Query, Role, Signature
from celltrial.edc.roles import AUDIT_READERS, site_ids

register = template.Library()

MONITORS = {Role.MONITOR, Role.DATA_MANAGER}
SITE_STAFF = {Role.INVESTIGATOR, Role.COORDINATOR}


def _state(context: template.Context, p: Participant) -> dict[str, Any]:
    """The participant's unclosed queries, locks in force and valid signatures, once a page."""
    render_context: Any = context.render_context  # one dict per render of the page
    memo: dict[int, dict[str, Any]] = render_context.setdefault("edc_monitor", {})
    if p.pk not in memo:
        queries = list(
            Query.objects.filter(participant=p)
            .exclude(status=Query.Status.CLOSED)
            .select_related("opened_by__user")
            .order_by("id")
        )
        by_record: dict[tuple[str, str], list[Query]] = {}
        for q in queries:
            by_record.setdefault((q.table, q.record_id), []).append(q)
        locks = list(
            FormLock.objects.filter(participant=p, unlocked_at__isnull=True)
            .select_related("locked_by__user")
            .order_by("id")
        )
        signatures = Signature.objects.filter(visit__participant=p).select_related("staff__user")
        by_visit: dict[int, dict[str, Any]] = {}
        for s in signatures.order_by("id"):
            by_visit[s.visit_id] = {"valid": s if s.invalidated_at is None else None, "last": s}
        memo[p.pk] = {
            "queries": queries,
            "by_record": by_record,
            "locks": locks,
            "whole": next((x for x in locks if not x.table), None),
            "by_visit": by_visit,
        }
    return memo[p.pk]


def _role(context: template.Context) -> str:
    staff = context.get("staff")
    return str(staff.role) if staff is not None else ""


@register.inclusion_tag("edc/_monitoring_card.html", takes_context=True)
def monitoring_card(context: template.Context) -> dict[str, Any]:
    """The participant page's card: unclosed queries, locks in force, the audit trail link."""
    p = context["p"]
    role = _role(context)
    state = _state(context, p)
    return {
        "p": p,
        "queries": state["queries"],
        "locks": state["locks"],
        "audit_reader": role in AUDIT_READERS,
        "monitor": role in MONITORS,
        "may_lock": role == Role.DATA_MANAGER,
    }


@register.inclusion_tag("edc/_record_links.html", takes_context=True)
def record_links(context: template.Context, table: str, record_id: Any) -> dict[str, Any]:
    """Beside a record: its unclosed queries and lock; the record page for monitoring."""
    p = context["p"]
    role = _role(context)
    state = _state(context, p)
    rid = str(record_id)
    lock = state["whole"] or next(
        (x for x in state["locks"] if x.table == table and x.record_id == rid), None
    )
    return {
        "p": p,
        "table": table,
        "record_id": rid,
        "queries": state["by_record"].get((table, rid), []),
        "lock": lock,
        "audit_reader": role in AUDIT_READERS,
        "monitor": role in MONITORS,
    }


@register.inclusion_tag("edc/_visit_links.html", takes_context=True)
def visit_links(context: template.Context, visit: Any) -> dict[str, Any]:
    """Beside a visit of the timeline: its signature, and the investigator's Sign link."""
    p = context["p"]
    role = _role(context)
    state = _state(context, p)
    sig = state["by_visit"].get(visit.pk, {})
    done = visit.done_at is not None or getattr(visit, "not_done", False)
    return {
        "p": p,
        "v": visit,
        "valid": sig.get("valid"),
        "last": sig.get("last"),
        "may_sign": role == Role.INVESTIGATOR and done and sig.get("valid") is None,
        "queries": state["by_record"].get(("visit", str(visit.pk)), []),
        "audit_reader": role in AUDIT_READERS,
    }


def _book(context: template.Context) -> Any:
    """The page's :class:`~celltrial.edc.status.Casebook` (the view's ``book``, or read once)."""
    book = context.get("book")
    if book is None:
        from celltrial.edc.status import casebook

        render_context: Any = context.render_context
        book = render_context.get("edc_book")
        if book is None:
            book = render_context["edc_book"] = casebook(context["p"])
    return book


@register.simple_tag(takes_context=True)
def form_state(context: template.Context, table: str, record: Any) -> Any:
    """``{% form_state "measurement" m as st %}``: the form's
    :class:`~celltrial.edc.status.FormState` (``st.status``, ``st.label``, ``st.text``)."""
    book = _book(context)
    return book.visit(record) if table == "visit" else book.record(table, record)


@register.inclusion_tag("edc/_status_icon.html")
def status_icon(state: Any) -> dict[str, Any]:
    """``{% status_icon st %}``: the status as an icon with its label (the accessible name and
    tooltip say what it rests on: who verified, signed or locked it, and when)."""
    return {"st": state}


@register.inclusion_tag("edc/_status_legend.html")
def status_legend() -> dict[str, Any]:
    """The icons' key, once a page."""
    from celltrial.edc.status import FormStatus

    return {"statuses": [{"status": str(s), "label": s.label, "text": s.label} for s in FormStatus]}


@register.filter
def as_count(value: Any) -> str:
    """A count the way the protocol writes it: ``1.4 × 10^8`` (small numbers as they are)."""
    from celltrial.protocol.units import format_count

    try:
        return format_count(float(value))
    except (TypeError, ValueError):
        return str(value)


@register.inclusion_tag("edc/_queries_summary.html", takes_context=True)
def queries_summary(context: template.Context) -> dict[str, Any]:
    """The dashboard's line on queries: how many wait for the site, how many for monitoring."""
    staff = context.get("staff")
    role = _role(context)
    if staff is None or role not in MONITORS | SITE_STAFF:
        return {"show": False}
    qs = Query.objects.filter(trial_id=staff.trial_id)
    allowed = site_ids(staff)
    if allowed is not None:
        qs = qs.filter(participant__site_id__in=allowed)
    counts = dict(qs.values_list("status").annotate(n=Count("id")).order_by())
    return {
        # Nothing waiting: no line (the navigation links to the queries).
        "show": bool(counts.get(Query.Status.OPEN) or counts.get(Query.Status.ANSWERED)),
        "monitor": role in MONITORS,
        "open": counts.get(Query.Status.OPEN, 0),
        "answered": counts.get(Query.Status.ANSWERED, 0),
    }
