"""Records as JSON-ready dicts, role-aware: a blinded role never gets an arm, a lot, a dose."""

from __future__ import annotations

from typing import Any

from celltrial.edc.models import (
    AdverseEvent,
    AuditEntry,
    Infusion,
    Lot,
    Measurement,
    Participant,
    Staff,
    VisitRecord,
)
from celltrial.edc.roles import sees_arm


def _t(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def participant(staff: Staff, p: Participant, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": p.code,
        "site": p.site.code,
        "status": p.status,
        "weight_kg": p.weight_kg,
        "enrolled_at": _t(p.enrolled_at),
    }
    r = getattr(p, "randomization", None)
    out["randomization"] = None
    if r is not None:
        out["randomization"] = {
            "stratum": r.stratum,
            "sequence": r.sequence,
            "kit_code": r.kit_code,
            "randomized_at": _t(r.randomized_at),
        }
        if sees_arm(staff):
            out["randomization"]["arm"] = r.slot.arm
    if detail:
        s = getattr(p, "screening", None)
        out["screening"] = (
            {
                "screened_at": _t(s.screened_at),
                "values": s.values,
                "eligible": s.eligible,
                "failed": s.failed,
                "missing": s.missing,
            }
            if s is not None
            else None
        )
        out["consents"] = [
            {"id": c.id, "version": c.version, "consented_on": c.consented_on.isoformat()}
            for c in p.consents.order_by("id")
        ]
        out["dispositions"] = [
            {
                "id": d.id,
                "kind": d.kind,
                "at": _t(d.at),
                "reason": d.reason,
                "by": d.by,
                "entered_in_error": d.entered_in_error,
            }
            for d in p.dispositions.order_by("id")
        ]
        out["unblindings"] = [
            {"by": u.staff.username, "at": _t(u.at), "reason": u.reason}
            for u in p.unblindings.select_related("staff__user").order_by("id")
        ]
    return out


def visit(v: VisitRecord) -> dict[str, Any]:
    return {
        "visit": v.visit,
        "label": v.label,
        "nominal": _t(v.nominal),
        "earliest": _t(v.earliest),
        "latest": _t(v.latest),
        "done_at": _t(v.done_at),
        "in_window": v.in_window,
    }


def measurement(m: Measurement) -> dict[str, Any]:
    return {
        "id": m.id,
        "participant": m.participant.code,
        "code": m.code,
        "visit": m.visit,
        "measured_at": _t(m.measured_at),
        "value": m.value,
        "unit": m.unit,
        "out_of_range": m.out_of_range,
        "confirmed": m.confirmed,
        "complete": m.complete,
        "entered_in_error": m.entered_in_error,
    }


def adverse_event(ae: AdverseEvent) -> dict[str, Any]:
    return {
        "id": ae.id,
        "participant": ae.participant.code,
        "term": ae.term,
        "decoded_term": ae.decoded_term,
        "onset": _t(ae.onset),
        "grade": ae.grade,
        "serious": ae.serious,
        "serious_criteria": ae.serious_criteria,
        "relatedness": ae.relatedness,
        "expected": ae.expected,
        "outcome": ae.outcome,
        "aware_at": _t(ae.aware_at),
        "sae_due_at": _t(ae.sae_due_at),
        "sae_reported_at": _t(ae.sae_reported_at),
        "safety_windows": ae.windows,
        "complete": ae.complete,
        "end_at": _t(ae.end_at),
        "ongoing": ae.ongoing,
        "procedure_relatedness": ae.procedure_relatedness,
        "action_taken": ae.action_taken,
        "infusion_associated": ae.infusion_associated,
        "missing": ae.missing,
        "entered_in_error": ae.entered_in_error,
    }


def infusion(staff: Staff, i: Infusion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": i.id,
        "participant": i.participant.code,
        "number": i.number,
        "started_at": _t(i.started_at),
        "stopped_at": _t(i.stopped_at),
        "in_window": i.in_window,
        "has_deviation": bool(i.deviation),
        "entered_in_error": i.entered_in_error,
    }
    if sees_arm(staff):
        out |= {
            "lot": i.lot.number,
            "arm": i.lot.arm,
            "intended": i.intended,
            "allowed": [i.low, i.high],
            "delivered": i.delivered,
            "unit": i.unit,
            "capped": i.capped,
            "deviation": i.deviation,
            # infusion details: a volume or a reaction may differ between arms, so they are
            # shown to unblinded roles only, with the dose
            "premedication": i.premedication,
            "volume_ml": i.volume_ml,
            "interrupted": i.interrupted,
            "interruption": i.interruption,
            "reaction": i.reaction,
            "missing": i.missing,
        }
    return out


def lot(x: Lot, *, chain: bool = False) -> dict[str, Any]:
    """A lot, its release results against their limits; with ``chain``, the infusions given
    from it (unblinded roles only read lots)."""
    out = {
        "number": x.number,
        "arm": x.arm,
        "product": x.product,
        "site": x.site.code if x.site else None,
        "status": x.status,
        "expires_at": _t(x.expires_at),
        "released_at": _t(x.released_at),
        "results": [
            {
                "criterion": r.criterion,
                "value": r.value,
                "passed": r.passed,
                "label": r.label,
                "unit": r.unit,
                "limit": r.limit,
            }
            for r in x.results.order_by("id")
        ],
    }
    if chain:
        out["infusions"] = [
            {
                "participant": i.participant.code,
                "number": i.number,
                "started_at": _t(i.started_at),
                "delivered": i.delivered,
                "unit": i.unit,
            }
            # an infusion entered in error was not given from this lot as recorded
            for i in x.infusions.filter(entered_in_error=False)
            .select_related("participant")
            .order_by("started_at", "id")
        ]
    return out


REDACTED = "(unblinded content: not shown to a blinded role)"


def audit_entry(staff: Staff, e: AuditEntry) -> dict[str, Any]:
    hide = not e.blinded_safe and not sees_arm(staff)
    return {
        "seq": e.seq,
        "at": _t(e.at),
        "actor": e.actor,
        "role": e.role,
        "action": e.action,
        "table": e.table,
        "record_id": e.record_id if not hide else "",
        "old": REDACTED if hide and e.old else e.old,
        "new": REDACTED if hide and e.new else e.new,
        "reason": e.reason,
        # A blinded reader gets no hash of a row whose content is hidden from them (with the
        # row's secret nonce it could not be tested against a guessed arm anyway).
        "hash": "" if hide else e.hash,
    }
