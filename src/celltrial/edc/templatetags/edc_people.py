"""``{% person username %}``: a person named by their full name and username wherever the
audit trail names them by username (21 CFR 11.10(e), 11.50: who did it, by name)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def person(context: Any, username: str) -> str:
    """``Full Name (username)`` for a person of the page's trial (``system`` and unknown
    names as they are). One query per page: the names are read once into the render
    context."""
    names: dict[str, str] | None = context.render_context.get("edc_people")
    if names is None:
        from celltrial.edc.models import Staff

        trial = context.get("trial")
        rows = Staff.objects.filter(trial=trial) if trial is not None else Staff.objects.none()
        names = {s.username: s.full_name for s in rows.select_related("user") if s.full_name}
        context.render_context["edc_people"] = names
    name = names.get(username)
    return f"{name} ({username})" if name and name != username else username


@register.inclusion_tag("edc/_unblind_notices.html", takes_context=True)
def unblind_notices(context: Any) -> dict[str, Any]:
    """The emergency unblindings the page's reader is told of: the DSMB (every site) and the
    unblinded pharmacist (their sites) on their home pages; nothing for other roles."""
    from celltrial.edc.api_accounts import unblinding_notices
    from celltrial.edc.models import Role

    staff = context.get("staff")
    if staff is None or staff.role not in (Role.DSMB, Role.PHARMACIST):
        return {"notices": None}
    return {"notices": unblinding_notices(staff), "tz": context.get("tz") or "UTC"}
