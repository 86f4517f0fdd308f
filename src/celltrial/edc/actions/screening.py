"""Screening (eligibility from the protocol's rules), consent, enrollment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import Max

from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    Problem,
    action,
    aware,
    now,
    participant_for,
    site_for,
)
from celltrial.edc.actions._rules import enforce_milestones
from celltrial.edc.actions._values import catalogue_entry, check_value
from celltrial.edc.models import Consent, Participant, Role, ScreeningRecord, Site, Staff
from celltrial.edc.roles import CLINICAL_WRITERS

P = Participant.Status


def evaluate(staff: Staff, values: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """Check screening values against the catalogue and the eligibility rules.

    Keys are measurement codes or checklist criterion ids; returns the parsed values and the
    protocol's :class:`~celltrial.protocol.Eligibility`.
    """
    protocol = staff.trial.active_protocol().protocol
    criteria = {c.id: c for c in protocol.population.eligibility or []}
    parsed: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, raw in values.items():
        if raw is None:
            continue
        field = f"values.{key}"
        try:
            if key in criteria and criteria[key].variable is None:
                m = None
                if not isinstance(raw, bool) and str(raw).lower() not in ("true", "false"):
                    raise ActionError(field, f"checklist item {key!r} is answered true or false")
                parsed[key] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
                continue
            m = catalogue_entry(protocol, key, field)
            checked = check_value(m, raw, field=field)
            if checked.out_of_range:
                raise ActionError(
                    field,
                    f"{key}: {checked.text} is outside the plausible range "
                    f"{m.range[0]:g}–{m.range[1]:g} {m.unit or ''}".rstrip(),  # type: ignore[index]
                )
            parsed[key] = checked.value
        except ActionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ActionError(problems=problems)
    return parsed, protocol.eligibility(parsed)


def _next_code(site: Site) -> str:
    n = Participant.objects.filter(site=site).count() + 1
    code = f"{site.code}-{n:04d}"
    while Participant.objects.filter(trial_id=site.trial_id, code=code).exists():
        n += 1
        code = f"{site.code}-{n:04d}"
    return code


@action("screen_participant", CLINICAL_WRITERS)
def screen_participant(
    actor: Staff,
    site: Site | str,
    values: Mapping[str, Any],
    *,
    screened_at: dt.datetime | None = None,
) -> Participant:
    """A new participant screened at ``site``; eligibility from the protocol's rules.

    Eligible (or not yet decided) -> ``screened``; failing a rule -> ``ineligible`` with the
    criteria failed (the screening log feeds CONSORT).
    """
    site_obj = site_for(actor, site)
    when = aware(screened_at, "screened_at", default_now=True)
    parsed, result = evaluate(actor, values)
    weight = parsed.get("weight")
    participant = Participant.objects.create(
        trial_id=actor.trial_id,
        site=site_obj,
        code=_next_code(site_obj),
        status=P.INELIGIBLE if result.eligible is False else P.SCREENED,
        weight_kg=float(weight) if isinstance(weight, (int, float)) else None,
    )
    record = ScreeningRecord.objects.create(
        participant=participant,
        screened_at=when,
        values=parsed,
        eligible=result.eligible,
        failed=list(result.failed),
        missing=list(result.missing),
    )
    audit.write(actor, "screen_participant", record, old=None, new=audit.snapshot(record))
    audit.write_status(actor, participant, None)
    return participant


@action("update_screening", CLINICAL_WRITERS)
def update_screening(
    actor: Staff, participant: Participant | str, values: Mapping[str, Any], *, reason: str = ""
) -> Participant:
    """Add or change screening values before randomization; re-evaluates eligibility."""
    p = participant_for(actor, participant, lock=True)
    if p.status not in (P.SCREENED, P.INELIGIBLE, P.CONSENTED):
        raise Conflict("participant", f"{p.code} is {p.status}; screening can no longer change")
    record = p.screening
    if record.complete and not reason.strip():
        raise ActionError("reason", "the screening form is complete: give a reason for the change")
    old = audit.snapshot(record)
    merged = {**record.values, **values}
    parsed, result = evaluate(actor, merged)
    record.values, record.eligible = parsed, result.eligible
    record.failed, record.missing = list(result.failed), list(result.missing)
    record.save()
    before = p.status
    if result.eligible is False:
        p.status = P.INELIGIBLE
    elif p.status == P.INELIGIBLE:
        p.status = P.CONSENTED if p.consents.exists() else P.SCREENED
    weight = parsed.get("weight")
    p.weight_kg = float(weight) if isinstance(weight, (int, float)) else p.weight_kg
    p.save()
    audit.write(
        actor, "update_screening", record, old=old, new=audit.snapshot(record), reason=reason
    )
    audit.write_status(actor, p, before)
    return p


@action("record_consent", CLINICAL_WRITERS)
def record_consent(
    actor: Staff, participant: Participant | str, version: str, consented_on: dt.date
) -> Consent:
    """Informed consent (form version, date)."""
    p = participant_for(actor, participant, lock=True)
    if not version or not version.strip():
        raise ActionError("version", "the consent form's version is required")
    if not isinstance(consented_on, dt.date):
        raise ActionError("consented_on", "a date, e.g. 2026-03-01")
    if consented_on > now().date():
        raise ActionError("consented_on", f"{consented_on} is in the future")
    if p.status not in (P.SCREENED, P.CONSENTED, P.INELIGIBLE):
        raise Conflict("participant", f"{p.code} is {p.status}")
    first = min((c.consented_on for c in p.consents.all()), default=consented_on)
    enforce_milestones(p, "consented_on", consent=min(first, consented_on))
    consent = Consent.objects.create(
        participant=p, version=version.strip(), consented_on=consented_on
    )
    if p.status == P.SCREENED:
        p.status = P.CONSENTED
        p.save(update_fields=["status"])
        audit.write_status(actor, p, P.SCREENED)
    audit.write(actor, "record_consent", consent, old=None, new=audit.snapshot(consent))
    return consent


@action("enroll", [Role.INVESTIGATOR, Role.COORDINATOR])
def enroll(
    actor: Staff, participant: Participant | str, *, at: dt.datetime | None = None
) -> Participant:
    """Enroll an eligible, consented participant."""
    p = participant_for(actor, participant, lock=True)
    if p.status == P.INELIGIBLE:
        failed = ", ".join(p.screening.failed)
        raise Conflict("participant", f"{p.code} is ineligible (failed: {failed})")
    if p.status == P.SCREENED:
        raise Conflict("participant", f"{p.code} has not consented")
    if p.status != P.CONSENTED:
        raise Conflict("participant", f"{p.code} is {p.status}, not consented")
    if p.screening.eligible is not True:
        missing = ", ".join(p.screening.missing)
        raise Conflict("participant", f"eligibility of {p.code} is undecided: {missing} unanswered")
    old = audit.snapshot(p, ["status", "enrolled_at"])
    p.status = P.ENROLLED
    p.enrolled_at = aware(at, "at", default_now=True)
    p.save(update_fields=["status", "enrolled_at"])
    audit.write(actor, "enroll", p, old=old, new=audit.snapshot(p, ["status", "enrolled_at"]))
    audit.write_status(actor, p, P.CONSENTED)
    return p


def screening_log(staff: Staff) -> dict[str, Any]:
    """CONSORT counts: screened, ineligible (by criterion), consented, enrolled, randomized."""
    from celltrial.edc.roles import site_ids

    qs = Participant.objects.filter(trial_id=staff.trial_id)
    allowed = site_ids(staff)
    if allowed is not None:
        qs = qs.filter(site_id__in=allowed)
    reasons: dict[str, int] = {}
    for failed in ScreeningRecord.objects.filter(participant__in=qs, eligible=False).values_list(
        "failed", flat=True
    ):
        for cid in failed:
            reasons[cid] = reasons.get(cid, 0) + 1
    return {
        "screened": qs.count(),
        "ineligible": qs.filter(screening__eligible=False).count(),
        "ineligible_reasons": dict(sorted(reasons.items())),
        "consented": qs.filter(consents__isnull=False).distinct().count(),
        "enrolled": qs.filter(enrolled_at__isnull=False).count(),
        "randomized": qs.filter(randomization__isnull=False).count(),
        "last_code": qs.aggregate(m=Max("code"))["m"],
    }
