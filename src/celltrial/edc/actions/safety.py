"""Adverse events: CTCAE grade, seriousness, relatedness; safety-window flags and SAE clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

from celltrial.dataset.rules import Occurrence
from celltrial.edc import audit, labels
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
from celltrial.edc.actions._rules import _as_time, enforce
from celltrial.edc.actions.sdv import undo_verifications
from celltrial.edc.guard import bad_text
from celltrial.edc.models import AdverseEvent, Infusion, Participant, Staff
from celltrial.edc.roles import CLINICAL_WRITERS
from celltrial.protocol import Protocol

SERIOUSNESS = labels.codes("seriousness")
RELATEDNESS = labels.codes("relatedness")
OUTCOMES = labels.codes("outcome")
ACTIONS_TAKEN = labels.codes("action_taken")
MISSING_CODES = labels.codes("missing")
#: The AE fields a missing-data code may stand for (left blank on purpose). Relatedness and
#: outcome are required, but "unknown" is a real answer for them (docs/edc.md, "Missing-data
#: codes on required fields"); the term, the grade and the onset take no code.
AE_MAY_BE_MISSING = (
    "end_at",
    "procedure_relatedness",
    "action_taken",
    "expected",
    "infusion_associated",
    "relatedness",
    "outcome",
)
#: The codes that mean something for a required field (a field not listed takes all four):
#: causality not assessed, unknown or asked but unknown; an outcome unknown (CDISC OUT
#: "UNKNOWN") — an outcome is never "not applicable" nor "not done".
MEANINGFUL_CODES: dict[str, tuple[str, ...]] = {
    "relatedness": ("not_done", "unknown", "asked_unknown"),
    "outcome": ("unknown", "asked_unknown"),
}
#: Outcomes of an event that has ended (it cannot be ongoing).
ENDED_OUTCOMES = ("recovered", "recovered_with_sequelae", "fatal")


def check_missing(
    missing: Mapping[str, Any] | None, allowed: Sequence[str], values: Mapping[str, Any]
) -> tuple[dict[str, str], list[Problem]]:
    """Missing-data codes (field -> code of :data:`celltrial.edc.labels.MISSING`): each for a
    field of ``allowed`` that is left blank in ``values``. Problems name ``missing.<field>``."""
    out: dict[str, str] = {}
    problems: list[Problem] = []
    if missing is None:
        return out, problems
    if not isinstance(missing, Mapping):
        return out, [Problem("missing", "an object of field: missing-data code")]
    for name, code in missing.items():
        if code in (None, ""):
            continue
        key = f"missing.{name}"
        if name not in allowed:
            problems.append(
                Problem(
                    key,
                    f"{name!r} takes no missing-data code (those that do: {', '.join(allowed)})",
                )
            )
        elif code not in MISSING_CODES:
            problems.append(Problem(key, f"{code!r} is not one of {', '.join(MISSING_CODES)}"))
        elif name in MEANINGFUL_CODES and code not in MEANINGFUL_CODES[name]:
            problems.append(
                Problem(
                    key,
                    f"{labels.label('missing', code)!r} does not apply to {name}; one of "
                    f"{', '.join(MEANINGFUL_CODES[name])}",
                )
            )
        elif values.get(name) not in (None, "", False) or (
            name in ("expected", "infusion_associated") and values.get(name) is not None
        ):
            problems.append(Problem(name, "a value and a missing-data code: give one or the other"))
        else:
            out[str(name)] = str(code)
    return out, problems


def coded_outcome(fields: dict[str, Any], missing: Mapping[str, Any] | None) -> None:
    """An outcome given as a missing-data code is stored as the outcome ``unknown`` (CDISC OUT
    "UNKNOWN", C66768), the code kept beside it (unknown, or asked but unknown)."""
    coded = isinstance(missing, Mapping) and bool(missing.get("outcome"))
    if coded and fields.get("outcome") in (None, "", "unknown"):
        fields["outcome"] = None  # blank for check_missing; ``unknown`` after it


def check_ae(fields: dict[str, Any], coded: Sequence[str] = ()) -> list[Problem]:
    """The AE form's rules, each problem naming its field; ``coded`` the fields given a
    missing-data code instead of a value (a coded relatedness may be blank)."""
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
    if fields.get("relatedness") not in RELATEDNESS and not (
        "relatedness" in coded and fields.get("relatedness") in (None, "")
    ):
        problems.append(
            Problem(
                "relatedness",
                f"one of {', '.join(RELATEDNESS)} (or a missing-data code: not done, unknown, "
                "asked but unknown)",
            )
        )
    if fields.get("outcome") not in OUTCOMES:
        problems.append(Problem("outcome", f"one of {', '.join(OUTCOMES)}"))
    if grade == 5 and fields.get("outcome") not in ("fatal", None):
        problems.append(Problem("outcome", "a grade 5 event is fatal"))
    if fields.get("outcome") == "fatal" and "death" not in criteria:
        problems.append(Problem("serious_criteria", "a fatal event is serious: include 'death'"))
    if fields.get("procedure_relatedness") not in (None, "", *RELATEDNESS):
        problems.append(Problem("procedure_relatedness", f"one of {', '.join(RELATEDNESS)}"))
    if fields.get("action_taken") not in (None, "", *ACTIONS_TAKEN):
        problems.append(Problem("action_taken", f"one of {', '.join(ACTIONS_TAKEN)}"))
    for name in ("expected", "infusion_associated", "ongoing"):
        if fields.get(name) is not None and not isinstance(fields.get(name), bool):
            problems.append(Problem(name, f"true, false or null, got {fields.get(name)!r}"))
    if fields.get("ongoing") is True:
        if fields.get("end_at") is not None:
            problems.append(Problem("end_at", "an ongoing event has no end: leave it blank"))
        if fields.get("outcome") in ENDED_OUTCOMES:
            label = labels.label("outcome", fields.get("outcome"))
            problems.append(Problem("ongoing", f"the outcome {label!r} says it has ended"))
    return problems


def end_problems(onset: dt.datetime, end: dt.datetime | None) -> list[Problem]:
    """An AE's end: not in the future (its order against the onset is the rule
    ``end_not_before_start`` of :mod:`celltrial.dataset.rules`)."""
    if end is not None and end > now() + dt.timedelta(minutes=5):
        return [Problem("end_at", "the end is in the future: leave it blank and tick ongoing")]
    return []


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


def infusion_starts(p: Participant) -> list[dt.datetime]:
    """When ``p``'s infusions (not entered in error) started, in UTC: one plain statement
    (asked on every AE written; the ORM's statement building cost more than the query)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('started_at')} FROM {q(Infusion._meta.db_table)} "
            f"WHERE {q('participant_id')} = %s AND NOT {q('entered_in_error')}",
            [p.pk],
        )
        found = [_as_time(row[0]) for row in cursor.fetchall()]
    return [t for t in found if t is not None]


def window_flags(
    p: Participant,
    onset: dt.datetime,
    protocol: Protocol | None = None,
    *,
    terms: tuple[str | None, ...] = (),
    starts: Sequence[dt.datetime] | None = None,
) -> list[str]:
    """Ids of the protocol's safety windows (after an administration) that contain ``onset``
    and whose named events include the adverse event's ``terms`` (reported, decoded;
    :meth:`celltrial.protocol.models.SafetyWindow.counts`): a grade-1 chills six hours after an
    infusion is not "cardiac arrest or death within 24 h" (issue 15). Without ``terms`` the
    time alone decides. ``starts``: the participant's :func:`infusion_starts`, when known."""
    if protocol is None:
        protocol = p.trial.active_protocol().protocol
    flags: list[str] = []
    if starts is None:
        starts = infusion_starts(p)
    since = [(onset - s).total_seconds() / 3600 for s in starts]
    for w in protocol.safety.windows:
        if terms and not w.counts(*terms):
            continue
        if w.contains(since):  # the rule ADAE's WIN_ flags use (SafetyWindow.contains)
            flags.append(w.id)
    return flags


def refresh_windows(actor: Staff, p: Participant, *, reason: str) -> list[AdverseEvent]:
    """Recompute the safety-window flags of ``p``'s adverse events after its infusions
    changed (one recorded, or one entered in error): an AE entered before the infusion is
    flagged as if it had been entered after it. Called explicitly by the infusion actions, in
    their transaction; each AE whose flags change gets an ``derive_windows`` audit row (old
    and new flags, ``reason``). Returns the AEs changed."""
    protocol = p.trial.active_protocol().protocol
    changed: list[AdverseEvent] = []
    for ae in AdverseEvent.objects.filter(participant=p, entered_in_error=False).order_by("pk"):
        flags = window_flags(p, ae.onset, protocol, terms=(ae.term, ae.decoded_term))
        if flags == ae.windows:
            continue
        old = audit.snapshot(ae, ["windows"])
        ae.windows = flags
        ae.save(update_fields=["windows"])
        audit.write(
            actor, "derive_windows", ae, old=old, new=audit.snapshot(ae, ["windows"]), reason=reason
        )
        changed.append(ae)
    return changed


def likely_duplicate(p: Participant, term: str, onset: dt.datetime) -> tuple[int, str] | None:
    """The id and term of ``p``'s first AE (not entered in error) with the same onset and the
    same term, case aside (Unicode case folding, the same on SQLite and PostgreSQL); None
    when there is none. One plain statement: it runs on every AE written."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('id')}, {q('term')} FROM {q(AdverseEvent._meta.db_table)} "
            f"WHERE {q('participant_id')} = %s AND {q('onset')} = %s "
            f"AND NOT {q('entered_in_error')} ORDER BY {q('id')}",
            [p.pk, connection.ops.adapt_datetimefield_value(onset)],
        )
        rows = cursor.fetchall()
    wanted = term.strip().casefold()
    for pk, found in rows:
        if str(found).casefold() == wanted:
            return int(pk), str(found)
    return None


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
    end_at: dt.datetime | None = None,
    ongoing: bool | None = None,
    procedure_relatedness: str = "",
    action_taken: str = "",
    infusion_associated: bool | None = None,
    missing: Mapping[str, str] | None = None,
    confirm_duplicate: bool = False,
) -> AdverseEvent:
    """An adverse event. Flags: inside which safety windows; an SAE gets a report-due time.

    ``relatedness`` is to the cell product, ``procedure_relatedness`` to the infusion
    procedure (codes of :data:`celltrial.edc.labels.RELATEDNESS`); ``end_at`` or ``ongoing``
    says whether it has ended; ``infusion_associated`` answers "is this a pre-specified
    infusion-associated event?", asked only when the onset falls in a protocol safety window;
    ``missing`` gives a missing-data code for a field of :data:`AE_MAY_BE_MISSING` left blank.
    """
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
        "procedure_relatedness": procedure_relatedness,
        "action_taken": action_taken,
        "expected": expected,
        "infusion_associated": infusion_associated,
        "ongoing": ongoing,
        "end_at": end_at,
    }
    coded_outcome(fields, missing)
    codes, found = check_missing(missing, AE_MAY_BE_MISSING, fields)
    if "outcome" in codes:
        fields["outcome"] = outcome = "unknown"
    problems = check_ae(fields, coded=tuple(codes))
    problems += found
    start = aware(onset, "onset")
    aware_time = aware(aware_at, "aware_at", default_now=True)
    end = aware(end_at, "end_at") if end_at is not None else None
    problems += onset_problems(start, aware_time)
    problems += end_problems(start, end)
    protocol = p.trial.active_protocol().protocol
    starts = infusion_starts(p)
    in_window = window_flags(p, start, protocol, starts=starts)  # where the question is asked
    # Stored: the windows whose named events this AE is (issue 15).
    flags = window_flags(p, start, protocol, terms=(term, decoded_term), starts=starts)
    if infusion_associated is not None and not in_window:
        problems.append(
            Problem(
                "infusion_associated",
                "asked only when the onset falls in a protocol safety window after an "
                "infusion; this onset does not",
            )
        )
    if problems:
        raise ActionError(problems=problems)
    enforce(p, Occurrence("adverse_event", start, f"the onset of {term.strip()!r}"), "onset")
    if end is not None:
        enforce(
            p,
            Occurrence("adverse_event", start, f"adverse event {term.strip()!r}", end=end),
            "end_at",
        )
    # Bad text (NUL, lone surrogate) is not looked up: refused on insert, naming the field.
    if not confirm_duplicate and bad_text(term) is None:
        twin = likely_duplicate(p, term, start)
        if twin is not None:
            twin_id, twin_term = twin
            raise ActionError(
                "confirm_duplicate",
                f"{twin_term!r} with onset {start:%Y-%m-%d %H:%M} UTC is recorded already "
                f"(id {twin_id}): a likely duplicate; confirm to record it again, or correct "
                "the first one",
            )
    serious = bool(serious_criteria) or grade == 5
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
            windows=flags,
            end_at=end,
            ongoing=bool(ongoing),
            procedure_relatedness=procedure_relatedness or "",
            action_taken=action_taken or "",
            infusion_associated=infusion_associated,
            missing=codes,
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
    undo_verifications(
        actor, "adverse_event", ae, reason=f"SAE report recorded by {actor.username}"
    )
    return ae
