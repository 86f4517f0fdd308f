"""The order rules of a participant's records, written once: the EDC applies them to the one
record it writes (with its participant's milestones) and :func:`check_dataset` to whole tables.

A participant's life in the trial has milestones: consent (a date), randomization, death, and
the end of follow-up (completion, withdrawal or loss to follow-up). Every dated record — a
randomization, a dose, an adverse event's onset, a clinical event, a measurement, a visit, a
deviation, a disposition — is an :class:`Occurrence` of a kind (:data:`KINDS`). Each
:class:`Rule` names the kinds it constrains and the milestone they must not precede or follow:

====================== =================================================================
rule                   what it says
====================== =================================================================
``after_consent``      nothing (but a deviation) is dated before the consent date
``dose_after_rand``    no dose before randomization
``event_after_rand``   no clinical event before randomization
``nothing_after_death`` nothing is dated after death; an AE reported late is fine when its
                       onset is before the death (the onset is what is checked)
``nothing_after_end``  no randomization, dose, AE onset, clinical event, measurement or visit
                       after the end of follow-up (completed, withdrawn, lost); a death
                       still may be
``onset_before_aware`` an AE's onset is not after the time the site became aware of it
``history_before_consent`` a condition of the medical history started on or before consent
``end_not_before_start`` an AE, a medication or a condition does not end before it starts
====================== =================================================================

Concomitant medications and medical history (``medication``, ``history``) may start before
consent (that is what they record), so ``after_consent`` leaves them out.

The same :class:`Rule` object checks one record (:meth:`Rule.record`, used by the EDC's
actions: a refusal names the form's field and the rule's id) and a whole dataset
(:meth:`Rule.table`, used by :func:`celltrial.dataset.check_dataset`: one
:class:`~celltrial.dataset.problems.Problem` per row). :func:`participant_problems` checks all of
one participant's records against new milestones (a death, a consent date, a withdrawal, or an
edit of one of them): the rule a milestone would break for a record already there.

Wording: :meth:`Rule.breach` states the fact (one clause, times written by a formatter passed
in: :func:`iso` by default); :meth:`Rule.record` adds the rule (ISO 8601 in UTC, as the
dataset checks word it for statisticians). :func:`breaches` and :func:`refusal` word a
refusal for a person: one sentence per record, the rule once at the end; the EDC passes its
own formatter (the page's time zone), so this layer never imports the EDC.

No reference implementation: these are the protocol's ordering rules (ICH E6(R3) 4.2,
CDISC SDTMIG 3.4 §4.4 on dates); R equivalent: ``subset(df, AESTDTC > DTHDTC)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Literal

import numpy as np
import pandas as pd

from celltrial.dataset import times
from celltrial.dataset.problems import Problem
from celltrial.dataset.schema import INTERVALS
from celltrial.dataset.tables import Dataset

#: The kinds of dated record a rule can constrain (the EDC's forms; the dataset's columns).
KINDS: tuple[str, ...] = (
    "randomization",
    "dose",
    "adverse_event",
    "clinical_event",
    "measurement",
    "visit",
    "deviation",
    "disposition",
    "death",
    "medication",
    "history",
)

#: Dispositions that end follow-up short of death (DSDECOD) and their EDC kinds.
END_TERMS = ("COMPLETED", "WITHDRAWN", "LOST TO FOLLOW-UP")

Milestone = Literal["consent", "randomized", "death", "ended"]


@dataclasses.dataclass(frozen=True)
class Milestones:
    """One participant's milestones (UTC; ``consent`` is a date: RFICDTC)."""

    consent: dt.date | None = None
    randomized: dt.datetime | None = None
    death: dt.datetime | None = None
    #: The end of follow-up short of death (completion, withdrawal, loss): the first one.
    ended: dt.datetime | None = None
    ended_as: str = ""


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """One dated record: its kind, when it happened, and how to name it in a message."""

    kind: str
    at: dt.datetime
    label: str = ""
    #: For an adverse event: when the site became aware of it.
    aware_at: dt.datetime | None = None
    #: When it ended (an AE, a medication, a condition of the medical history), if it has.
    end: dt.datetime | None = None
    #: The label names several things ("the screening values"): "are", not "is".
    plural: bool = False


#: Writes a time (or a date) in a message. The default, :func:`iso`, writes ISO 8601 in UTC
#: (for statisticians and logs); the EDC passes one that writes the site's local time.
Formatter = Callable[[dt.datetime | dt.date], str]


def iso(t: dt.datetime | dt.date) -> str:
    """``t`` as ISO 8601 in UTC to the minute (``2026-12-05T09:12Z``), a date as a date."""
    if isinstance(t, dt.datetime):
        return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
    return t.isoformat()


#: Kinds of record dated by a day, not a time (CM and MH dates): named as dates in messages.
DATE_KINDS = frozenset({"medication", "history"})


def _when(occ: Occurrence, t: dt.datetime, fmt: Formatter = iso) -> str:
    return fmt(t.astimezone(dt.UTC).date()) if occ.kind in DATE_KINDS else fmt(t)


def _what(occ: Occurrence) -> tuple[str, str]:
    """The record's name and its verb ("is" or "are")."""
    return occ.label or occ.kind.replace("_", " "), "are" if occ.plural else "is"


#: (domain, column) of the dataset and the kind of record it dates. ``--DTC`` stands for the
#: date column of every findings domain (VS, LB, …).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("DM", "RANDDTC", "randomization"),
    ("DM", "RFSTDTC", "dose"),
    ("DM", "RFENDTC", "dose"),
    ("DM", "DTHDTC", "death"),
    ("DS", "DSSTDTC", "disposition"),
    ("EX", "EXSTDTC", "dose"),
    ("AE", "AESTDTC", "adverse_event"),
    ("CE", "CESTDTC", "clinical_event"),
    ("DV", "DVSTDTC", "deviation"),
    ("FINDINGS", "--DTC", "measurement"),
    ("CM", "CMSTDTC", "medication"),
    ("MH", "MHSTDTC", "history"),
)

_MILESTONE_COLUMN = {
    "consent": "RFICDTC",
    "randomized": "RANDDTC",
    "death": "DTHDTC",
    "ended": "end of follow-up",
}
_MILESTONE_WORDS = {
    "consent": "consent",
    "randomized": "randomization",
    "death": "death",
    "ended": "the end of follow-up",
}


@dataclasses.dataclass(frozen=True)
class Rule:
    """One ordering rule: records of ``kinds`` are not ``before`` (or ``after``) a milestone.

    ``strict_dates``: compare on the date alone (the consent is a date). ``skip`` lists
    (domain, column) pairs the dataset check leaves to another check (``RANDDTC`` before
    consent is a load check of DM, :mod:`celltrial.dataset.validate`)."""

    id: str
    statement: str
    kinds: frozenset[str]
    milestone: Milestone
    side: Literal["before", "after"]
    skip: frozenset[tuple[str, str]] = frozenset()

    # ---- one record ----------------------------------------------------------------------

    def record(self, occ: Occurrence, m: Milestones) -> str | None:
        """Why ``occ`` breaks this rule given its participant's milestones, or None (times in
        ISO 8601, the rule named after the fact)."""
        fact = self.breach(occ, m)
        return None if fact is None else f"{fact} — rule {self.id}: {self.statement}"

    def breach(self, occ: Occurrence, m: Milestones, fmt: Formatter = iso) -> str | None:
        """What in ``occ`` breaks this rule, as one clause with times written by ``fmt``
        (``the randomization at … is after death (…)``), or None."""
        if occ.kind not in self.kinds:
            return None
        ref: dt.datetime | dt.date | None = getattr(m, self.milestone)
        if ref is None:
            return None
        if isinstance(ref, dt.datetime):
            bad = occ.at < ref if self.side == "before" else occ.at > ref
        else:
            day = occ.at.astimezone(dt.UTC).date()
            bad = day < ref if self.side == "before" else day > ref
        if not bad:
            return None
        what, verb = _what(occ)
        ended = f" ({m.ended_as})" if self.milestone == "ended" and m.ended_as else ""
        return (
            f"{what} at {_when(occ, occ.at, fmt)} {verb} {self.side} "
            f"{_MILESTONE_WORDS[self.milestone]}{ended} ({fmt(ref)})"
        )

    # ---- a whole dataset -----------------------------------------------------------------

    def table(self, dataset: Dataset) -> Iterator[Problem]:
        """One problem per row of ``dataset`` that breaks this rule."""
        ref = _milestone_series(dataset, self.milestone)
        if ref is None:
            return
        findings = tuple(dataset.findings_domains)
        for domain, column, kind in COLUMNS:
            if kind not in self.kinds:
                continue
            pairs = (
                [(code, f"{code}DTC") for code in findings]
                if domain == "FINDINGS"
                else [(domain, column)]
            )
            for code, col in pairs:
                if (code, col) in self.skip or code not in dataset.tables:
                    continue
                t = dataset.table(code)
                if col not in t or "USUBJID" not in t:
                    continue
                r = t["USUBJID"].map(ref)
                v = t[col]
                mask = times.earlier(v, r) if self.side == "before" else times.earlier(r, v)
                if code == "DS":
                    mask &= _ds_kind_filter(t, self.kinds)
                yield from _problems(code, t, mask, col, v, r, self)


def _ds_kind_filter(ds: pd.DataFrame, kinds: frozenset[str]) -> pd.Series:
    """The DS rows a rule on ``kinds`` constrains: a death only when deaths are constrained."""
    death = ds["DSDECOD"] == "DEATH"
    keep = pd.Series(True, index=ds.index)
    if "death" not in kinds:
        keep &= ~death
    if "disposition" not in kinds:
        keep &= death
    return keep


def _problems(
    code: str,
    t: pd.DataFrame,
    mask: pd.Series,
    col: str,
    v: pd.Series,
    r: pd.Series,
    rule: Rule,
) -> Iterator[Problem]:
    ids = t["USUBJID"]
    ref_col = _MILESTONE_COLUMN[rule.milestone]
    for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
        uid = ids.iloc[i]
        yield Problem(
            code,
            f"{col} {v.iloc[i]} is {rule.side} {_MILESTONE_WORDS[rule.milestone]} "
            f"({ref_col} {r.iloc[i]}) [rule {rule.id}]",
            row=int(i) + 1,
            usubjid=None if uid is None else str(uid),
            column=col,
        )


def _milestone_series(dataset: Dataset, milestone: Milestone) -> pd.Series | None:
    """USUBJID -> the milestone's ISO 8601 text (None where there is none)."""
    dm = dataset.dm.drop_duplicates("USUBJID").set_index("USUBJID")
    if milestone != "ended":
        col = _MILESTONE_COLUMN[milestone]
        return dm.get(col)
    if "DS" not in dataset.tables:
        return None
    ds = dataset.table("DS")
    ends = ds[ds["DSDECOD"].isin(END_TERMS) & ds["DSSTDTC"].notna()]
    if ends.empty:
        return pd.Series(dtype="object")
    t = times.to_utc(ends["DSSTDTC"])
    first = ends.assign(T=t).sort_values("T").groupby("USUBJID").head(1).set_index("USUBJID")
    return first["DSSTDTC"]


_ALL_BUT_DEVIATION = frozenset(KINDS) - {"deviation", "medication", "history"}

#: The rule set, in the order a refusal names them.
RULES: tuple[Rule, ...] = (
    Rule(
        "after_consent",
        "a participant's records (deviations aside) are dated on or after the consent date",
        _ALL_BUT_DEVIATION,
        "consent",
        "before",
        skip=frozenset({("DM", "RANDDTC")}),
    ),
    Rule(
        "dose_after_rand",
        "no dose is given before randomization",
        frozenset({"dose"}),
        "randomized",
        "before",
    ),
    Rule(
        "event_after_rand",
        "clinical events are recorded from randomization on",
        frozenset({"clinical_event"}),
        "randomized",
        "before",
    ),
    Rule(
        "nothing_after_death",
        "nothing happens after death; an adverse event reported after the death is accepted "
        "when its onset is before it",
        frozenset(KINDS) - {"death"},
        "death",
        "after",
    ),
    Rule(
        "nothing_after_end",
        "no randomization, dose, adverse event onset, clinical event, measurement or visit after "
        "the end of follow-up (completion, withdrawal, loss to follow-up); a later death is "
        "still recorded",
        frozenset(
            {"randomization", "dose", "adverse_event", "clinical_event", "measurement", "visit"}
        ),
        "ended",
        "after",
    ),
    Rule(
        "history_before_consent",
        "a condition of the medical history started on or before the consent date (one that "
        "starts later is an adverse event)",
        frozenset({"history"}),
        "consent",
        "after",
    ),
)


@dataclasses.dataclass(frozen=True)
class RecordRule:
    """A rule of one record alone (no dataset column holds what it needs)."""

    id: str
    statement: str
    kinds: frozenset[str]
    check: Callable[[Occurrence, Formatter], str | None]

    def record(self, occ: Occurrence, m: Milestones) -> str | None:
        fact = self.breach(occ, m)
        return None if fact is None else f"{fact} — rule {self.id}: {self.statement}"

    def breach(self, occ: Occurrence, m: Milestones, fmt: Formatter = iso) -> str | None:
        """What in ``occ`` breaks this rule (one clause, times written by ``fmt``), or None."""
        del m
        return self.check(occ, fmt) if occ.kind in self.kinds else None

    def table(self, dataset: Dataset) -> Iterator[Problem]:
        del dataset
        return iter(())


def _onset_before_aware(occ: Occurrence, fmt: Formatter) -> str | None:
    if occ.aware_at is not None and occ.aware_at < occ.at:
        return f"the site became aware at {fmt(occ.aware_at)}, before the onset ({fmt(occ.at)})"
    return None


ONSET_BEFORE_AWARE = RecordRule(
    "onset_before_aware",
    "an adverse event's onset is not after the time the site became aware of it; awareness "
    "cannot precede the onset (EDC only: the dataset has no awareness column)",
    frozenset({"adverse_event"}),
    _onset_before_aware,
)


@dataclasses.dataclass(frozen=True)
class IntervalRule:
    """A record that has an end (an AE, a medication, a condition) does not end before it
    starts: one record (:attr:`Occurrence.end`) here; whole tables on load (the load checks of
    :mod:`celltrial.dataset.validate` read :data:`INTERVALS`)."""

    id: str
    statement: str
    kinds: frozenset[str]

    def record(self, occ: Occurrence, m: Milestones) -> str | None:
        fact = self.breach(occ, m)
        return None if fact is None else f"{fact} — rule {self.id}: {self.statement}"

    def breach(self, occ: Occurrence, m: Milestones, fmt: Formatter = iso) -> str | None:
        """What in ``occ`` breaks this rule (one clause, times written by ``fmt``), or None."""
        del m
        if occ.kind not in self.kinds or occ.end is None:
            return None
        if isinstance(occ.at, dt.datetime) and occ.end < occ.at:
            what, _ = _what(occ)
            verb = "end" if occ.plural else "ends"
            return (
                f"{what} {verb} at {_when(occ, occ.end, fmt)}, before "
                f"{'they start' if occ.plural else 'it starts'} ({_when(occ, occ.at, fmt)})"
            )
        return None

    def table(self, dataset: Dataset) -> Iterator[Problem]:
        """Nothing here: the dataset checks every pair of :data:`INTERVALS` on load
        (:func:`celltrial.dataset.validate`), so a row is reported once."""
        del dataset
        return iter(())


END_NOT_BEFORE_START = IntervalRule(
    "end_not_before_start",
    "an adverse event, a medication or a condition of the medical history does not end "
    "before it starts (the dataset checks it on load)",
    frozenset(kind for *_, kind in INTERVALS),
)

#: Every rule: the order rules and the rules of one record.
ALL_RULES: tuple[Rule | RecordRule | IntervalRule, ...] = (
    *RULES,
    ONSET_BEFORE_AWARE,
    END_NOT_BEFORE_START,
)


def rule(rule_id: str) -> Rule | RecordRule | IntervalRule:
    """The rule with id ``rule_id``."""
    for r in ALL_RULES:
        if r.id == rule_id:
            return r
    raise KeyError(f"no rule {rule_id!r} (rules: {', '.join(r.id for r in ALL_RULES)})")


def record_problems(occ: Occurrence, m: Milestones) -> list[tuple[str, str]]:
    """(rule id, message) for each rule that ``occ`` breaks given its participant's ``m``."""
    out: list[tuple[str, str]] = []
    for r in ALL_RULES:
        msg = r.record(occ, m)
        if msg is not None:
            out.append((r.id, msg))
    return out


def participant_problems(occs: Iterable[Occurrence], m: Milestones) -> list[tuple[str, str]]:
    """(rule id, message) for each of a participant's records that breaks a rule under ``m``
    (new milestones: a death, a consent date, a withdrawal …)."""
    out: list[tuple[str, str]] = []
    for occ in occs:
        out += record_problems(occ, m)
    return out


def breaches(
    occs: Iterable[Occurrence], m: Milestones, fmt: Formatter = iso
) -> list[tuple[str, str]]:
    """(rule id, clause) for each rule each of ``occs`` breaks under ``m``, times written by
    ``fmt``: the facts a refusal states (:func:`refusal` words them)."""
    return [
        (r.id, fact)
        for occ in occs
        for r in ALL_RULES
        if (fact := r.breach(occ, m, fmt)) is not None
    ]


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def refusal(found: Iterable[tuple[str, str]], lead: str = "") -> str:
    """A refusal a person reads: ``lead``, then one sentence per broken record, each rule's
    sentences followed once by ``This breaks rule <id>: <what it says>.`` (rules in :data:`ALL_RULES`'s
    order)."""
    by_rule: dict[str, list[str]] = {}
    for rule_id, fact in found:
        facts = by_rule.setdefault(rule_id, [])
        if fact not in facts:
            facts.append(fact)
    parts = [_sentence(lead)] if lead else []
    for r in ALL_RULES:
        if r.id in by_rule:
            facts = by_rule[r.id]
            parts += [_sentence(f) for f in facts]
            this = "These break" if len(facts) > 1 else "This breaks"
            parts.append(f"{this} rule {r.id}: {r.statement}.")
    return " ".join(parts)


def check_rules(dataset: Dataset) -> list[Problem]:
    """Every row of ``dataset`` that breaks a rule of :data:`RULES` (one problem per row and
    rule)."""
    out: list[Problem] = []
    for r in ALL_RULES:
        out += r.table(dataset)
    return out


def rules_table() -> str:
    """The rule set as a Markdown table (id, kinds of record, what it says), for docs/edc.md."""
    lines = ["| rule | records it constrains | what it says |", "|---|---|---|"]
    for r in ALL_RULES:
        kinds = ", ".join(k.replace("_", " ") for k in KINDS if k in r.kinds)
        lines.append(f"| `{r.id}` | {kinds} | {r.statement} |")
    return "\n".join(lines) + "\n"
