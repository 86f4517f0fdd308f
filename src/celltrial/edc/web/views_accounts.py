"""Pages of accounts (21 CFR Part 11 / EU Annex 11), emergency unblinding and a new site's
allocation list. Every write is an action of :mod:`celltrial.edc.actions`.

| page | who |
|---|---|
| ``/account/password`` | everyone (the only page of a person whose password someone else chose) |
| ``/p/<code>/unblind`` | investigator: reason, then the arm, on the answer to the form only |
| ``/manage/access.csv`` | admin: the user-access list |
| ``/manage/allocation`` | admin: the lists loaded with their commitments; generate a new site's list |
"""

from __future__ import annotations

import secrets
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from celltrial.edc import actions
from celltrial.edc.actions import ActionError
from celltrial.edc.download import download_access_list
from celltrial.edc.models import AllocationSlot, Role, Site, Staff
from celltrial.edc.web.views import _ctx, _errors, _participant, staff_page

ADMIN = frozenset({Role.ADMIN})
INVESTIGATOR = frozenset({Role.INVESTIGATOR})


@staff_page()
def password(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Change one's own password: the current one, the new one twice."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        old = request.POST.get("old_password", "")
        new = request.POST.get("new_password", "")
        again = request.POST.get("new_password2", "")
        if new != again:
            errors["new_password2"] = "the two new passwords differ"
        else:
            try:
                actions.change_password(staff, old, new)
            except ActionError as exc:
                errors = _errors(exc)
                if "password" in errors:  # the lockout: said above the form
                    errors["form"] = errors.pop("password")
            else:
                from django.contrib.auth import update_session_auth_hash

                update_session_auth_hash(request, staff.user)  # stay logged in
                request.session["notice"] = "Your password is changed."
                return redirect("home")
    return render(
        request,
        "edc/account_password.html",
        _ctx(staff, errors=errors, forced=staff.must_change_password),
        status=200 if not errors else 429 if "form" in errors else 422,
    )


@staff_page(INVESTIGATOR)
def unblind(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    """Emergency unblinding: a reason and a confirmation; the arm is on the answer to this
    form only (not stored in the session, not on any other page; ``Cache-Control: no-store``
    as every page)."""
    p = _participant(staff, code)
    errors: dict[str, str] = {}
    reason = ""
    shown: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()
        if request.POST.get("confirm") != "on":
            errors["confirm"] = "tick the box: the unblinding is final and logged"
        if not reason:
            errors["reason"] = "give the medical reason (it is kept in the audit trail)"
        if errors:
            status = 422
        else:
            try:
                u = actions.unblind(
                    staff, p, reason, idempotency_key=request.POST.get("once") or None
                )
            except ActionError as exc:
                errors, status = _errors(exc), exc.status
            else:
                arm_id = u.participant.randomization.slot.arm
                protocol = staff.trial.active_protocol().protocol
                labels = {a.id: a.label or a.id for a in protocol.arms}
                shown = {"arm": arm_id, "label": labels.get(arm_id, arm_id), "u": u}
    return render(
        request,
        "edc/unblind.html",
        _ctx(
            staff,
            p=p,
            errors=errors,
            reason=reason,
            shown=shown,
            once=secrets.token_urlsafe(16),
            history=list(p.unblindings.select_related("staff__user").order_by("at")),
        ),
        status=status,
    )


@staff_page(ADMIN)
def access_csv(request: HttpRequest, staff: Staff) -> HttpResponse:
    name, body = download_access_list(staff, via="web")  # audited
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_page(ADMIN)
def allocation(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The lists loaded, each with its commitment; the sites without a list, and the form that
    generates one (rows per stratum, block sizes)."""
    errors: dict[str, str] = {}
    data = {"site": request.GET.get("site", ""), "per_stratum": "60", "block_sizes": ""}
    made = None
    status = 200
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in data}
        sizes: list[int] | None = None
        if data["block_sizes"]:
            try:
                sizes = [int(x) for x in data["block_sizes"].replace(" ", "").split(",") if x]
            except ValueError:
                errors["block_sizes"] = "whole numbers separated by commas, e.g. 4,6"
        if not data["site"]:
            errors["site"] = "choose the site"
        try:
            per = int(data["per_stratum"])
        except ValueError:
            errors["per_stratum"] = "a whole number, e.g. 60"
        if not errors:
            try:
                made = actions.generate_allocation_list(
                    staff, data["site"], per_stratum=per, block_sizes=sizes
                )
            except ActionError as exc:
                errors, status = _errors(exc), exc.status
        elif errors:
            status = 422
    with_list = set(
        AllocationSlot.objects.filter(trial_id=staff.trial_id).values_list("site_code", flat=True)
    )
    sites = list(Site.objects.filter(trial_id=staff.trial_id).order_by("code"))
    protocol = staff.trial.active_protocol().protocol
    sizes_known = protocol.design.allocation.block_sizes
    return render(
        request,
        "edc/manage_allocation.html",
        _ctx(
            staff,
            lists=actions.allocation_lists(staff),
            without=[s for s in sites if s.code not in with_list],
            errors=errors,
            data=data,
            made=made,
            protocol_sizes=",".join(str(b) for b in sizes_known) if sizes_known else "",
        ),
        status=status,
    )
