"""Auditing published claims against the trials' own counts.

For every record, each outcome that reports counts in two arms and a p-value, and each claim
that names such an outcome or gives percentages, is run through
:func:`celltrial.stats.check_claim` (Fisher, chi-square with and without Yates, Barnard,
Boschloo, mid-p; the range of log-rank p-values over all orderings of events for survival
claims). A claim with nothing to recompute from is listed as "not checkable" with the reason,
never left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from celltrial.evidence.records import Claim, Outcome, TrialRecord
from celltrial.stats.claims import ClaimCheck, check_claim


@dataclasses.dataclass(frozen=True)
class AuditRow:
    record: str
    claim: str
    reported: str
    counts: str
    recomputed: str
    verdict: str
    reason: str
    check: ClaimCheck | None


def _arm_pair(record: TrialRecord) -> tuple[str, str] | None:
    experimental = [a.id for a in record.arms if a.role == "experimental"]
    control = [a.id for a in record.arms if a.role == "control"]
    return (experimental[0], control[0]) if len(experimental) == 1 and len(control) == 1 else None


_ARM_N_NOTE = (
    " (one arm's n is the arm size at randomization: its n at this time point is not reported)"
)


def _counts(
    record: TrialRecord, outcome: Outcome
) -> tuple[tuple[int, int], tuple[int, int], bool] | None:
    """Events and n per arm, and whether one arm's n fell back to the arm's size while the
    other's was reported with the outcome (as after attrition: 10/56 vs "none")."""
    pair = _arm_pair(record)
    if pair is None:
        return None
    events: list[int] = []
    ns: list[int] = []
    explicit: list[bool] = []
    for arm in pair:
        count = outcome.arms.get(arm)
        n = record.denominator(outcome, arm) if count is not None else None
        if count is None or count.events is None or n is None:
            return None
        explicit.append(count.n is not None)
        events.append(count.events)
        ns.append(n)
    return (events[0], events[1]), (ns[0], ns[1]), any(explicit) and not all(explicit)


def _recomputed(check: ClaimCheck) -> str:
    if check.p_range is not None and check.kind != "two proportions":
        lo, hi = check.p_range
        return f"log-rank p over all orderings: {lo:.3g} to {hi:.3g}"
    if not check.p_values:
        return "—"
    best = sorted(check.p_values.items(), key=lambda kv: kv[0])
    return ", ".join(f"{name} {p:.3g}" for name, p in best[:6]) + (" …" if len(best) > 6 else "")


def _row(
    record: TrialRecord, claim: str, reported: str, counts: str, check: ClaimCheck, assumed: bool
) -> AuditRow:
    reason = check.reason + (_ARM_N_NOTE if assumed else "")
    return AuditRow(
        record.id, claim, reported, counts, _recomputed(check), check.verdict, reason, check
    )


def _not_checkable(record: TrialRecord, claim: str, reported: str, reason: str) -> AuditRow:
    return AuditRow(record.id, claim, reported, "—", "—", "not checkable", reason, None)


def audit_record(record: TrialRecord) -> list[AuditRow]:
    """Every checkable claim of one record, and every other claim with why it is not."""
    rows: list[AuditRow] = []
    claimed_outcomes = {c.outcome for c in record.claims if c.outcome}
    for outcome in record.outcomes:
        if outcome.p_value is None or outcome.kind != "binary" or outcome.id in claimed_outcomes:
            continue
        counts = _counts(record, outcome)
        label = f"{outcome.label} ({outcome.id})"
        if counts is None:
            rows.append(
                _not_checkable(record, label, outcome.p_value, "no count with its n in each arm")
            )
            continue
        (e1, e2), (n1, n2), assumed = counts
        check = check_claim(events=(e1, e2), n=(n1, n2), p_value=outcome.p_value, test=outcome.test)
        rows.append(_row(record, label, outcome.p_value, f"{e1}/{n1} vs {e2}/{n2}", check, assumed))
    for claim in record.claims:
        rows.append(_audit_claim(record, claim))
    return rows


def _audit_claim(record: TrialRecord, claim: Claim) -> AuditRow:
    reported = claim.p_value or "—"
    if claim.p_value is None:
        return _not_checkable(record, claim.text, reported, "no p-value reported")
    outcome = record.outcome(claim.outcome) if claim.outcome else None
    if outcome is not None:
        counts = _counts(record, outcome)
        if counts is not None:
            (e1, e2), (n1, n2), assumed = counts
            check = check_claim(events=(e1, e2), n=(n1, n2), p_value=claim.p_value, test=claim.test)
            return _row(record, claim.text, reported, f"{e1}/{n1} vs {e2}/{n2}", check, assumed)
    if claim.percentages is not None:
        pair = _arm_pair(record)
        ns = [record.arm(a).n for a in pair] if pair else []
        if pair is None or any(n is None for n in ns):
            return _not_checkable(record, claim.text, reported, "percentages without arm sizes")
        n1, n2 = int(ns[0] or 0), int(ns[1] or 0)
        shown = f"{claim.percentages[0]}% of {n1} vs {claim.percentages[1]}% of {n2}"
        try:
            check = check_claim(
                percentages=(claim.percentages[0], claim.percentages[1]),
                n=(n1, n2),
                p_value=claim.p_value,
                test=claim.test,
            )
        except ValueError as exc:
            reason = f"{exc}; as crude proportions of the arms these cannot be (Kaplan-Meier estimates could)"
            return AuditRow(
                record.id, claim.text, reported, shown, "—", "inconsistent", reason, None
            )
        return _row(record, claim.text, reported, shown, check, False)
    return _not_checkable(
        record, claim.text, reported, "no counts or percentages behind this p-value"
    )


def audit(records: Sequence[TrialRecord]) -> list[AuditRow]:
    """Audit rows for all records, in record order."""
    rows: list[AuditRow] = []
    for record in records:
        rows.extend(audit_record(record))
    return rows
