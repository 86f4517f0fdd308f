"""Adverse events: CTCAE grade, seriousness, relatedness; safety-window flags and SAE clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit
from celltrial.edc.actions._base import (
    ActionError,
    Conflict,
    NotFound,
    Problem,
    action,
    aware,
    insert,
    now,
    participant_for,
)
from celltrial.edc.actions._rules import enforce
from celltrial.edc.models import AdverseEvent, Infusion, Participant, Staff
from celltrial.edc.roles import CLINICAL_WRITERS
from celltrial.protocol import Protocol

SERIOUSNESS = (
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
)
RELATEDNESS = ("not_related", "unlikely", "possible", "probable", "definite")
OUTCOMES = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)


def check_ae(fields: dict[str, Any]) -> list[Problem]:
    """The AE form's rules, each problem naming its field."""
    problems: list[Problem] = []
    term = str(fields.get("term") or "").strip()
    if not term:
        problems.append(Problem("term", "the adverse event's term is required"))
    grade = fields.get("grade")
    if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 5:
        problems.append(Problem("grade", f"a CTCAE grade 1 to 5, got {grade!r}"))
    criteria = list(fields.get("serious_criteria") or [])
    bad = [c for c in criteria if c not in SERIOUSNESS]
    if bad:
        problems.append(Problem("serious_criteria", f"{bad} not among {', '.join(SERIOUSNESS)}"))
    if fields.get("relatedness") not in RELATEDNESS:
        problems.append(Problem("relatedness", f"one of {', '.join(RELATEDNESS)}"))
    if fields.get("outcome") not in OUTCOMES:
        problems.append(Problem("outcome", f"one of {', '.join(OUTCOMES)}"))
    if grade == 5 and fields.get("outcome") not in ("fatal", None):
        problems.append(Problem("outcome", "a grade 5 event is fatal"))
    if fields.get("outcome") == "fatal" and "death" not in criteria:
        problems.append(Problem("serious_criteria", "a fatal event is serious: include 'death'"))
    return problems


def onset_problems(
    onset: dt.datetime, aware_at: dt.datetime, *, blame: str = "aware_at"
) -> list[Problem]:
    """The rules of an AE's onset: not in the future, not after the site became aware of it.

    ``blame`` names the field reported when the two disagree: ``aware_at`` on entry, ``onset``
    when an edit moves the onset (the awareness time is not editable)."""
    if onset > now() + dt.timedelta(minutes=5):
        return [Problem("onset", "the onset is in the future")]
    if aware_at < onset:
        if blame == "onset":
            return [
                Problem(
                    "onset",
                    f"after the time the site became aware of it ({aware_at:%Y-%m-%d %H:%M} "
                    "UTC): awareness cannot precede the onset",
                )
            ]
        return [Problem(blame, "awareness cannot precede the onset")]
    return []


def window_flags(p: Participant, onset: dt.datetime, protocol: Protocol | None = None) -> list[str]:
    """Ids of the protocol's safety windows (after an administration) that contain ``onset``."""
    if protocol is None:
        protocol = p.trial.active_protocol().protocol
    flags: list[str] = []
    starts = list(Infusion.objects.filter(participant=p).values_list("started_at", flat=True))
    for w in protocol.safety.windows:
        if any(s <= onset <= s + dt.timedelta(hours=w.duration) for s in starts):
            flags.append(w.id)
    return flags


@action("report_adverse_event", CLINICAL_WRITERS)
def report_adverse_event(
    actor: Staff,
    participant: Participant | str,
    *,
    term: str,
    onset: dt.datetime,
    grade: int,
    relatedness: str,
    outcome: str,
    serious_criteria: Sequence[str] = (),
    expected: bool | None = None,
    aware_at: dt.datetime | None = None,
    decoded_term: str = "",
) -> AdverseEvent:
    """An adverse event. Flags: inside which safety windows; an SAE gets a report-due time."""
    p = participant_for(actor, participant)
    if p.status in (Participant.Status.SCREENED, Participant.Status.INELIGIBLE):
        raise Conflict(
            "participant", f"{p.code} has not consented; AEs are collected after consent"
        )
    fields = {
        "term": term,
        "grade": grade,
        "serious_criteria": list(serious_criteria),
        "relatedness": relatedness,
        "outcome": outcome,
    }
    problems = check_ae(fields)
    start = aware(onset, "onset")
    aware_time = aware(aware_at, "aware_at", default_now=True)
    problems += onset_problems(start, aware_time)
    if problems:
        raise ActionError(problems=problems)
    enforce(p, Occurrence("adverse_event", start, f"the onset of {term.strip()!r}"), "onset")
    serious = bool(serious_criteria) or grade == 5
    protocol = p.trial.active_protocol().protocol
    within = protocol.safety.sae_report_within
    ae = insert(
        AdverseEvent(
            participant=p,
            term=term.strip(),
            decoded_term=decoded_term.strip(),
            onset=start,
            grade=grade,
            serious_criteria=sorted(set(serious_criteria)),
            serious=serious,
            relatedness=relatedness,
            expected=expected,
            outcome=outcome,
            aware_at=aware_time,
            sae_due_at=aware_time + dt.timedelta(hours=within) if serious else None,
            windows=window_flags(p, start, protocol),
        )
    )
    audit.write(actor, "report_adverse_event", ae, old=None, new=audit.snapshot(ae))
    return ae


@action("report_sae", CLINICAL_WRITERS)
def report_sae(actor: Staff, adverse_event: int, *, at: dt.datetime | None = None) -> AdverseEvent:
    """Record that an SAE was reported to the sponsor (stops its clock)."""
    ae = (
        AdverseEvent.objects.select_related("participant")
        .filter(pk=adverse_event, participant__trial_id=actor.trial_id)
        .first()
    )
    if ae is None:
        raise NotFound("adverse_event", f"no adverse event {adverse_event}")
    participant_for(actor, ae.participant)
    if not ae.serious:
        raise Conflict("adverse_event", "not serious: there is no SAE report to record")
    if ae.sae_reported_at is not None:
        raise Conflict("adverse_event", "the SAE report is recorded already")
    old = audit.snapshot(ae)
    ae.sae_reported_at = aware(at, "at", default_now=True)
    ae.save(update_fields=["sae_reported_at"])
    audit.write(actor, "report_sae", ae, old=old, new=audit.snapshot(ae))
    return ae
