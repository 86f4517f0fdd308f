"""Auditing published claims against the trials' own numbers.

Every outcome of a record that reports a p-value or an estimate, and every claim, becomes one
row: checked by :mod:`celltrial.stats.claims` (two proportions: Fisher, chi-square with and
without Yates, Barnard, Boschloo, a mid-p only when the paper says so; log-rank over the
orderings the follow-up allows; unknown counts and denominators as ranges) or
:mod:`celltrial.stats.claims_kinds` (r x c tables, RR/OR/RD/HR/MD with a CI, two means from
summary statistics, GRIM/GRIMMER, medians with IQRs). A claim with nothing to recompute from,
or whose numbers cannot be read, is a "not checkable" row with the reason, never left out and
never a traceback.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

from celltrial.evidence.records import Censoring, Claim, Outcome, Reported, TrialRecord
from celltrial.stats.claims import ClaimCheck, check_claim, grim, normalise_test
from celltrial.stats.claims_kinds import (
    check_estimate,
    check_means,
    check_median_iqr,
    check_table,
    grimmer,
)


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


_ARM_N_NOTE = (
    " (one arm's n is the arm size at randomization: its n at this time point is not reported)"
)


class _NotCheckable(Exception):
    """A claim without the numbers a check needs; the message says which."""


def _pair(record: TrialRecord, compare: tuple[str, str] | None) -> tuple[str, str]:
    """The two arms compared: as named, else the trial's two arms (experimental first)."""
    if compare is not None:
        return compare
    if len(record.arms) == 2:
        a, b = record.arms
        return (
            (b.id, a.id) if b.role == "experimental" and a.role != "experimental" else (a.id, b.id)
        )
    ids = ", ".join(a.id for a in record.arms)
    raise _NotCheckable(
        f"the trial has {len(record.arms)} arms ({ids}): name the two compared "
        "(compare: [arm, arm])"
    )


def _events(
    record: TrialRecord, outcome: Outcome, arm: str
) -> tuple[int | tuple[int, int], int | tuple[int, int], bool]:
    count = outcome.arms.get(arm)
    if count is None:
        raise _NotCheckable(f"outcome {outcome.id} gives no count for arm {arm}")
    n = record.denominator(outcome, arm)
    if n is None:
        raise _NotCheckable(f"outcome {outcome.id}: arm {arm} has no n")
    events = count.events
    if events is None and count.percent is not None and outcome.kind == "survival":
        raise _NotCheckable(
            f"outcome {outcome.id}: survival percentages (Kaplan-Meier) without event counts; "
            "a log-rank p cannot be recomputed from them"
        )
    if events is None:
        raise _NotCheckable(f"outcome {outcome.id}: arm {arm} has no event count")
    if events == "unknown":
        events = (0, n if isinstance(n, int) else n[1])
    return events, n, count.n is not None


def _show(x: object) -> str:
    return f"[{x[0]}, {x[1]}]" if isinstance(x, tuple) else str(x)


def _recomputed(check: ClaimCheck) -> str:
    if check.kind.startswith("survival") and check.p_range is not None:
        lo, hi = check.p_range
        return f"log-rank p {lo:.3g} to {hi:.3g}"
    if check.p_range is not None and check.kind.startswith(("RR", "OR", "HR", "RD", "MD")):
        return f"p from CI {check.p_range[0]:.3g} to {check.p_range[1]:.3g}"
    if not check.p_values:
        return "—"
    best = sorted(check.p_values.items(), key=lambda kv: kv[0])
    return ", ".join(f"{name} {p:.3g}" for name, p in best[:6]) + (" …" if len(best) > 6 else "")


def _row(
    record: TrialRecord, claim: str, reported: str, counts: str, check: ClaimCheck, note: str = ""
) -> AuditRow:
    return AuditRow(
        record.id,
        claim,
        reported,
        counts,
        _recomputed(check),
        check.label,
        check.reason + note,
        check,
    )


def _not_checkable(record: TrialRecord, claim: str, reported: str, reason: str) -> AuditRow:
    return AuditRow(record.id, claim, reported, "—", "—", "not checkable", reason, None)


def _measure(text: str | None, kind: str) -> str:
    t = (text or "").strip()
    if t.upper() in ("RR", "OR", "HR", "RD", "MD"):
        return t.upper()
    low = t.lower()
    for word, code in (
        ("hazard", "HR"),
        ("odds", "OR"),
        ("risk ratio", "RR"),
        ("relative risk", "RR"),
    ):
        if word in low:
            return code
    return "RD" if kind == "binary" else "MD"


def _guard(record: TrialRecord, label: str, reported: str, fn: Callable[[], AuditRow]) -> AuditRow:
    try:
        return fn()
    except _NotCheckable as exc:
        return _not_checkable(record, label, reported, str(exc))
    except ValueError as exc:
        return _not_checkable(record, label, reported, f"cannot check: {exc}")


def _check_outcome(
    record: TrialRecord,
    outcome: Outcome,
    label: str,
    *,
    p_value: str | None,
    test: str | None,
    compare: tuple[str, str] | None,
    censoring: Censoring | None,
    estimate: Reported | None,
    ci: tuple[Reported, Reported] | None,
    measure: str | None,
) -> AuditRow:
    reported = p_value or (
        f"{measure or outcome.measure} {estimate} ({ci[0]} to {ci[1]})"
        if estimate is not None and isinstance(ci, tuple)
        else "—"
    )
    named = normalise_test(test) if test else None
    if outcome.kind == "categorical":
        arms = (
            _pair(record, compare)
            if compare is not None or len(record.arms) == 2
            else tuple(outcome.arms)
        )
        rows = []
        for arm in arms:
            count = outcome.arms.get(arm)
            if count is None or count.counts is None:
                raise _NotCheckable(f"outcome {outcome.id}: arm {arm} gives no counts per category")
            rows.append(count.counts)
        if len({len(r) for r in rows}) != 1:
            raise _NotCheckable(
                f"outcome {outcome.id}: the arms give different numbers of categories"
            )
        check = check_table(rows, p_value=p_value, test=named)
        shown = " vs ".join("/".join(map(str, r)) for r in rows)
        return _row(record, label, reported, shown, check)
    if outcome.kind == "continuous":
        medians = [
            (arm, c)
            for arm, c in outcome.arms.items()
            if c.median is not None and c.q1 is not None and c.q3 is not None
        ]
        if medians and all(c.mean is None for c in outcome.arms.values()):
            checks = [
                (arm, check_median_iqr(median=c.median, q1=c.q1, q3=c.q3, p_value=p_value))  # type: ignore[arg-type]
                for arm, c in medians
            ]
            order = ["inconsistent", "not checkable", "consistent"]
            arm, check = min(checks, key=lambda ac: order.index(ac[1].verdict))
            shown = "; ".join(f"{a}: median {c.median} ({c.q1}–{c.q3})" for a, c in medians)
            return _row(record, label, reported, shown, check)
        a, b = _pair(record, compare)
        ca, cb = outcome.arms.get(a), outcome.arms.get(b)
        code = _measure(measure or outcome.measure, "continuous")
        if ca is not None and cb is not None and None not in (ca.mean, cb.mean, ca.sd, cb.sd):
            na, nb = (record.denominator(outcome, a), record.denominator(outcome, b))
            if not (isinstance(na, int) and isinstance(nb, int)):
                raise _NotCheckable(f"outcome {outcome.id}: means and SDs need each arm's n")
            check = check_means(
                means=(ca.mean, cb.mean),  # type: ignore[arg-type]
                sds=(ca.sd, cb.sd),  # type: ignore[arg-type]
                n=(na, nb),
                p_value=p_value,
                test=named,
                estimate=estimate,
                ci=ci,
            )
            shown = f"{ca.mean} ± {ca.sd} (n {na}) vs {cb.mean} ± {cb.sd} (n {nb})"
            return _row(record, label, reported, shown, check)
        if estimate is not None and isinstance(ci, tuple):
            check = check_estimate(measure=code, estimate=estimate, ci=ci, p_value=p_value)
            return _row(record, label, reported, f"{code} {estimate} ({ci[0]} to {ci[1]})", check)
        raise _NotCheckable(
            f"outcome {outcome.id}: no means with SDs and ns, and no estimate with a CI, behind "
            "this p-value"
        )
    # binary and survival: counts in the two arms compared
    a, b = _pair(record, compare)
    ea, na, xa = _events(record, outcome, a)
    eb, nb, xb = _events(record, outcome, b)
    counts = f"{_show(ea)}/{_show(na)} vs {_show(eb)}/{_show(nb)}"
    note = (
        _ARM_N_NOTE
        if (xa or xb) and not (xa and xb) and isinstance(na, int) and isinstance(nb, int)
        else ""
    )
    if note and outcome.arms[a].n is None and outcome.arms[b].n is None:
        note = ""
    if estimate is not None and isinstance(ci, tuple) and measure is not None:
        code = _measure(measure, "binary")
        if not all(isinstance(x, int) for x in (ea, na, eb, nb)):
            raise _NotCheckable("an estimate from counts needs every count and n known")
        check = check_estimate(
            measure=code,
            estimate=estimate,
            ci=ci,
            p_value=p_value,
            counts=(ea, na, eb, nb) if code != "HR" else None,  # type: ignore[arg-type]
            # an RD reported in percentage points (|RD| or a CI bound beyond 1)
            scale=100.0
            if code == "RD" and max(abs(float(v)) for v in (estimate, *ci)) > 1
            else 1.0,
        )
        return _row(record, label, reported, counts, check, note)
    if p_value is None:
        raise _NotCheckable("no p-value reported")
    # a survival outcome whose test is not named: the log-rank test, and the reason says so
    assumed_test = test is None and outcome.kind == "survival"
    check = check_claim(
        events=(ea, eb),
        n=(na, nb),
        p_value=p_value,
        test="log-rank" if assumed_test else test,
        censoring=censoring if censoring is not None else "complete",
        arm_names=(a, b),
    )
    if assumed_test:
        note += " (the test is not named; the log-rank test assumed for a survival outcome)"
    return _row(record, label, reported, counts, check, note)


def audit_record(record: TrialRecord) -> list[AuditRow]:
    """Every claim of one record: checked, or with why it is not checkable."""
    rows: list[AuditRow] = []
    claimed_outcomes = {c.outcome for c in record.claims if c.outcome}
    for outcome in record.outcomes:
        if outcome.id in claimed_outcomes:
            continue
        if outcome.p_value is None and outcome.estimate is None:
            continue
        label = f"{outcome.label} ({outcome.id})"
        reported = outcome.p_value or f"{outcome.estimate}"
        rows.append(
            _guard(
                record,
                label,
                reported,
                functools.partial(
                    _check_outcome,
                    record,
                    outcome,
                    label,
                    p_value=outcome.p_value,
                    test=outcome.test,
                    compare=outcome.compare,
                    censoring=outcome.censoring,
                    estimate=outcome.estimate,
                    ci=outcome.ci,
                    measure=outcome.measure if outcome.estimate is not None else None,
                ),
            )
        )
    for claim in record.claims:
        rows.append(
            _guard(
                record,
                claim.text,
                claim.p_value or "—",
                functools.partial(_audit_claim, record, claim),
            )
        )
    return rows


def _audit_claim(record: TrialRecord, claim: Claim) -> AuditRow:
    reported = claim.p_value or "—"
    if claim.mean is not None:
        if claim.n is None:
            raise _NotCheckable("a mean of integers needs n")
        check = (
            grimmer(claim.mean, claim.sd, claim.n, items=claim.items)
            if claim.sd is not None
            else grim(claim.mean, claim.n, items=claim.items)
        )
        shown = (
            f"mean {claim.mean}"
            + (f", SD {claim.sd}" if claim.sd is not None else "")
            + f", n {claim.n}"
        )
        return _row(
            record,
            claim.text,
            claim.mean if isinstance(claim.mean, str) else repr(claim.mean),
            shown,
            check,
        )
    outcome = record.outcome(claim.outcome) if claim.outcome else None
    if outcome is not None:
        return _check_outcome(
            record,
            outcome,
            claim.text,
            p_value=claim.p_value or outcome.p_value,
            test=claim.test or outcome.test,
            compare=claim.compare or outcome.compare,
            censoring=claim.censoring if claim.censoring is not None else outcome.censoring,
            estimate=claim.estimate,
            ci=claim.ci,
            measure=claim.measure,
        )
    if claim.estimate is not None and claim.ci is not None:
        code = _measure(claim.measure, "continuous")
        check = check_estimate(
            measure=code, estimate=claim.estimate, ci=claim.ci, p_value=claim.p_value
        )
        return _row(
            record,
            claim.text,
            reported,
            f"{code} {claim.estimate} ({claim.ci[0]} to {claim.ci[1]})",
            check,
        )
    if claim.p_value is None:
        raise _NotCheckable("no p-value reported")
    if claim.percentages is not None:
        a, b = _pair(record, claim.compare)
        n1, n2 = record.arm(a).n, record.arm(b).n
        if n1 is None or n2 is None:
            raise _NotCheckable("percentages without arm sizes")
        shown = f"{claim.percentages[0]}% of {n1} vs {claim.percentages[1]}% of {n2}"
        try:
            check = check_claim(
                percentages=(claim.percentages[0], claim.percentages[1]),
                n=(n1, n2),
                p_value=claim.p_value,
                test=claim.test,
            )
        except ValueError as exc:
            if "is not k/" not in str(exc):
                raise
            reason = (
                f"{exc}; as crude proportions of the arms these cannot be "
                "(Kaplan-Meier estimates could)"
            )
            return AuditRow(
                record.id, claim.text, reported, shown, "—", "inconsistent", reason, None
            )
        return _row(record, claim.text, reported, shown, check)
    raise _NotCheckable("no counts, percentages or estimates behind this p-value")


def audit(records: Sequence[TrialRecord]) -> list[AuditRow]:
    """Audit rows for all records, in record order."""
    rows: list[AuditRow] = []
    for record in records:
        rows.extend(audit_record(record))
    return rows
