"""CDISC ODM 1.3.2 out of the EDC, and into a fresh EDC through its actions.

:func:`export_odm` writes the trial's study definition and clinical data: every table of the
dataset (:func:`celltrial.edc.export.tables`) and the screening form (``IG.SCREENING``: the
values eligibility was decided from, which the dataset does not keep) —
:func:`celltrial.cdisc.odm.odm_xml`.

:func:`import_odm` enters such a file's clinical data into a fresh EDC (``celltrial edc init
--no-list``) with the EDC's own actions, each as the role that owns the form (the first user of
that role): screening, consent, enrolment and randomization, lots and infusions, visits and
measurements, visits not done, adverse events (with the safety CRF's fields), medical history
and concomitant medications (entered with the consent), clinical events, deviations,
dispositions. So
the protocol's rules and the audit trail apply to every record, as if a site had entered it.
Randomized participants get the arm the file records: the import loads, once, an allocation
list of the recorded assignments (site × stratum, in randomization order; the audit row of
``load_allocation_list`` says so) and randomizes each participant from it.

Nothing is dropped silently: a record an action refuses, a value that cannot be read and an
item the EDC has no field for are each an :class:`ImportProblem` naming the subject, the ODM
item group (with its repeat key) and the item OID. After the import the EDC's dataset is
exported again and compared with the file's, table by table; every difference is a problem too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import pandas as pd

from celltrial.cdisc.odm import odm_xml, read_odm
from celltrial.dataset import make_dataset, schema
from celltrial.edc import actions, labels
from celltrial.edc.models import AllocationSlot, Participant, Role, ScreeningRecord, Staff, Trial

SCREENING = "SCREENING"
#: ``progress(done, total, form)`` after each record entered (or refused).
Progress = Callable[[int, int, str], None]
#: What the import writes where the file states nothing (the dataset does not keep it).
NOT_IN_FILE = "not stated in the imported ODM file"


# -- export ----------------------------------------------------------------------------------


def screening_form(trial: Trial) -> pd.DataFrame:
    """The screening form: one row per participant screened (``SCRNID``, then one column per
    value entered, as text: numbers as entered, checklist answers ``true``/``false``)."""
    rows: list[dict[str, str]] = []
    for r in (
        ScreeningRecord.objects.filter(participant__trial=trial)
        .select_related("participant")
        .order_by("participant__code")
    ):
        row = {"SCRNID": r.participant.code}
        for key, value in r.values.items():
            if value is None:
                continue
            row[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        rows.append(row)
    keys = sorted({k for row in rows for k in row} - {"SCRNID"})
    return pd.DataFrame(rows, columns=["SCRNID", *keys])


def export_odm(trial: Trial | None = None) -> bytes:
    """The trial's ODM 1.3.2: study definition, the dataset's tables and the screening form."""
    from celltrial.edc.export import tables

    the_trial = trial or Trial.objects.get()
    dataset = make_dataset(tables(the_trial))
    protocol = the_trial.active_protocol().protocol
    return odm_xml(
        protocol,
        dataset,
        study_oid=f"ST.{the_trial.code}",
        forms={SCREENING: ("Screening", screening_form(the_trial))},
    )


# -- import ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImportProblem:
    """A record not entered, a value not read, or a difference after the import."""

    subject: str
    item_group: str  # IG.<form>[<repeat key>]
    item: str  # IT.<form>.<column>, or the item group when no single item is at fault
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.item_group} {self.item}: {self.message}"


@dataclasses.dataclass
class ImportResult:
    """What :func:`import_odm` did: records entered by form, actions called, problems."""

    entered: Counter[str] = dataclasses.field(default_factory=Counter)
    actions: Counter[str] = dataclasses.field(default_factory=Counter)
    problems: list[ImportProblem] = dataclasses.field(default_factory=list)
    differences: list[ImportProblem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.differences


class OdmImportError(Exception):
    """The file or the EDC does not allow an import at all (the message says why)."""


#: Action argument -> the dataset column it is read from, by form (to name the ODM item).
_FIELDS: dict[str, dict[str, str]] = {
    "SL": {"site": "SITEID", "screened_at": "SCRNDTC"},
    "DM": {
        "consented_on": "RFICDTC",
        "at": "RANDDTC",
        "participant": "USUBJID",
        "stratum": "ARMCD",
        "list": "ARMCD",
        "weight": "ARMCD",
        "arm": "ARMCD",
    },
    "EX": {
        "lot": "EXLOT",
        "started_at": "EXSTDTC",
        "stopped_at": "EXENDTC",
        "delivered": "EXDOSE",
        "number": "EXNUM",
        "deviation": "EXDEVRS",
        "arm": "EXTRT",
        "premedication": "EXPREMED",
        "volume_ml": "EXVOLML",
        "interrupted": "EXINTFL",
        "interruption": "EXINTRS",
        "reaction": "EXREACT",
        "missing": "EXMISS",
    },
    "AE": {
        "term": "AETERM",
        "decoded_term": "AEDECOD",
        "onset": "AESTDTC",
        "grade": "AETOXGR",
        "relatedness": "AEREL",
        "outcome": "AEOUT",
        "serious_criteria": "AESER",
        "aware_at": "AESTDTC",
        "end_at": "AEENDTC",
        "ongoing": "AEENRTPT",
        "action_taken": "AEACN",
        "procedure_relatedness": "AERELPR",
        "expected": "AEEXPFL",
        "infusion_associated": "AEINFFL",
        "missing": "AEMISS",
    },
    "CM": {
        "medication": "CMTRT",
        "indication": "CMINDC",
        "dose": "CMDOSE",
        "dose_unit": "CMDOSU",
        "route": "CMROUTE",
        "frequency": "CMDOSFRQ",
        "start_date": "CMSTDTC",
        "end_date": "CMENDTC",
        "ongoing": "CMENRTPT",
        "not_done_reason": "CMREASND",
        "missing": "CMMISS",
    },
    "MH": {
        "term": "MHTERM",
        "start_date": "MHSTDTC",
        "end_date": "MHENDTC",
        "ongoing": "MHENRTPT",
        "not_done_reason": "MHREASND",
        "missing": "MHMISS",
    },
    "CE": {"event": "CEDECOD", "occurred_at": "CESTDTC", "term": "CETERM", "occurred": "CEOCCUR"},
    "DV": {"category": "DVCAT", "description": "DVTERM", "occurred_at": "DVSTDTC"},
    "DS": {"at": "DSSTDTC", "died_at": "DSSTDTC", "last_contact": "DSSTDTC"},
}
_AEREL = {
    "NOT RELATED": "not_related",
    "UNLIKELY RELATED": "unlikely",
    "POSSIBLY RELATED": "possible",
    "PROBABLY RELATED": "probable",
    "RELATED": "definite",
}
_AEOUT = {
    "RECOVERED/RESOLVED": "recovered",
    "RECOVERING/RESOLVING": "recovering",
    "NOT RECOVERED/NOT RESOLVED": "not_recovered",
    "RECOVERED/RESOLVED WITH SEQUELAE": "recovered_with_sequelae",
    "FATAL": "fatal",
    "UNKNOWN": "unknown",
}
_SERIOUS = {
    "AESDTH": "death",
    "AESLIFE": "life_threatening",
    "AESHOSP": "hospitalization",
    "AESDISAB": "disability",
    "AESCONG": "congenital_anomaly",
    "AESMIE": "important_medical_event",
}
#: The order of records entered at the same time.
_ORDER = {
    "screening": 0,
    "consent": 1,
    "history": 2,
    "randomization": 3,
    "infusion": 4,
    "measurement": 5,
    "not_done": 6,
    "adverse_event": 7,
    "clinical_event": 8,
    "deviation": 9,
    "disposition": 10,
}


class _Bad(Exception):
    """A value of the file that cannot be read (names the column)."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


class _AllBad(Exception):
    """Every value of one record that cannot be read."""

    def __init__(self, bad: list[_Bad]) -> None:
        super().__init__("; ".join(str(b) for b in bad))
        self.bad = bad


def _read_all(fields: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Each field's value; every one that cannot be read is reported (not only the first)."""
    out: dict[str, Any] = {}
    bad: list[_Bad] = []
    for name, read in fields.items():
        try:
            out[name] = read()
        except _Bad as exc:
            bad.append(exc)
    if bad:
        raise _AllBad(bad)
    return out


@dataclasses.dataclass
class _Record:
    """One record to enter: when, what, whose, from which ItemGroupData, and how."""

    time: dt.datetime
    kind: str
    subject: str
    form: str
    key: str  # the ItemGroupRepeatKey(s)
    enter: Callable[[], Any]


def _time(value: Any, column: str) -> dt.datetime:
    text = _str(value)
    if not text:
        raise _Bad(column, "a date and time is required")
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(column, f"{text!r} is not an ISO 8601 date and time") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _date(value: Any, column: str) -> dt.date:
    text = _str(value)
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise _Bad(column, f"{text!r} is not an ISO 8601 date") from None


def _str(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _number(value: Any, column: str) -> float:
    try:
        return float(_str(value))
    except ValueError:
        raise _Bad(column, f"{_str(value)!r} is not a number") from None


def _code(vocabulary: str, value: Any, column: str) -> str:
    """The EDC's code of a CDISC submission value of one of its vocabularies ("" if blank)."""
    text = _str(value)
    if not text:
        return ""
    for term in labels.vocabulary(vocabulary):
        if term.cdisc == text:
            return term.code
    known = ", ".join(str(t.cdisc) for t in labels.vocabulary(vocabulary))
    raise _Bad(column, f"{text!r} is not one of {known}")


def _yn(value: Any, column: str) -> bool | None:
    text = _str(value)
    if not text:
        return None
    if text not in ("Y", "N"):
        raise _Bad(column, f"{text!r} is not Y or N")
    return text == "Y"


def _missing(form: str, value: Any, column: str) -> dict[str, str] | None:
    """``AEENDTC=UNK;…`` (column = missing-data code) as the action's ``{field: code}``."""
    from celltrial.edc.export import _MISS_COLUMNS

    text = _str(value)
    if not text:
        return None
    fields = {col: f for f, col in _MISS_COLUMNS[form].items()}
    out: dict[str, str] = {}
    for part in text.split(";"):
        col, _, code = part.partition("=")
        if col not in fields:
            raise _Bad(column, f"{col!r} is not a field of {form} that may be missing")
        out[fields[col]] = _code("missing", code, column)
    return out


def _term(value: Any, column: str, terms: Mapping[str, str]) -> str:
    text = _str(value).upper()
    if text not in terms:
        raise _Bad(column, f"{_str(value)!r} is not one of {', '.join(terms)}")
    return terms[text]


class _Importer:
    def __init__(self, trial: Trial, tables: dict[str, pd.DataFrame], result: ImportResult) -> None:
        self.trial = trial
        self.protocol = trial.active_protocol().protocol
        self.tables = tables
        self.result = result
        self.staff = {role: self._first(role) for role in Role.values}
        self.records: list[_Record] = []
        self.lots: dict[str, str] = {}  # lot number -> arm
        self.keys: dict[tuple[str, int], str] = {}  # (form, row index) -> repeat key

    def _first(self, role: str) -> Staff | None:
        return (
            Staff.objects.select_related("trial", "user")
            .filter(trial=self.trial, role=role, user__is_active=True)
            .order_by("id")
            .first()
        )

    def actor(self, role: str) -> Staff:
        s = self.staff.get(role)
        if s is None:
            raise OdmImportError(f"the EDC has no active {role}: create one (celltrial edc init)")
        return s

    def call(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        self.result.actions[name] += 1
        return out

    # -- problems --------------------------------------------------------------------------

    def problem(self, subject: str, form: str, key: str, column: str | None, msg: str) -> None:
        item = f"IT.{form}.{column}" if column else f"IG.{form}"
        self.result.problems.append(ImportProblem(subject, f"IG.{form}[{key}]", item, msg))

    def rows(self, form: str) -> list[tuple[str, dict[str, Any]]]:
        t = self.tables.get(form)
        if t is None:
            return []
        return [(str(i + 1), rec) for i, rec in enumerate(t.to_dict("records"))]

    # -- reading the file into records -----------------------------------------------------

    def read(self) -> None:
        screening = {_str(rec.get("SCRNID")): (key, rec) for key, rec in self.rows(SCREENING)}
        dm = {_str(rec.get("USUBJID")): (key, rec) for key, rec in self.rows("DM")}
        for key, rec in self.rows("SL"):
            self._guard("SL", key, rec, self._screen, key, rec, screening, dm)
        for key, rec in self.rows("EX"):
            self._guard("EX", key, rec, self._infusion, key, rec)
        findings = [c for c in self.tables if c in schema.ALL_DOMAINS and schema.domain(c).findings]
        catalogue = schema.catalogue(self.protocol)
        for form in findings:
            not_done: dict[tuple[str, str], list[str]] = {}
            for key, rec in self.rows(form):
                if _str(rec.get(f"{form}STAT")) == schema.NOT_DONE:
                    group = (_str(rec.get("USUBJID")), _str(rec.get("VISIT")))
                    if group not in not_done:
                        self._guard(form, key, rec, self._not_done, form, key, rec)
                    not_done.setdefault(group, []).append(key)
                    continue
                self._guard(form, key, rec, self._measure, form, key, rec, catalogue)
        for key, rec in self.rows("AE"):
            self._guard("AE", key, rec, self._adverse_event, key, rec)
        for key, rec in self.rows("CM"):
            self._guard("CM", key, rec, self._history, "CM", key, rec)
        for key, rec in self.rows("MH"):
            self._guard("MH", key, rec, self._history, "MH", key, rec)
        for key, rec in self.rows("CE"):
            self._guard("CE", key, rec, self._clinical_event, key, rec)
        for key, rec in self.rows("DV"):
            self._guard("DV", key, rec, self._deviation, key, rec)
        for key, rec in self.rows("DS"):
            self._guard("DS", key, rec, self._disposition, key, rec)
        unknown = set(self.tables) - {SCREENING} - set(schema.ALL_DOMAINS)
        for form in sorted(unknown):
            self.problem("-", form, "*", None, "the EDC has no form for this item group")

    def _guard(
        self,
        form: str,
        key: str,
        rec: dict[str, Any],
        read: Callable[..., None],
        *args: Any,
    ) -> None:
        """``read(*args)``; a value it cannot read is a problem naming the record's item."""
        subject = _str(rec.get("USUBJID")) or _str(rec.get("SCRNID")) or "-"
        try:
            read(*args)
        except _Bad as exc:
            self.problem(subject, form, key, exc.column, str(exc))
        except _AllBad as exc:
            for b in exc.bad:
                self.problem(subject, form, key, b.column, str(b))

    def add(
        self,
        time: dt.datetime,
        kind: str,
        subject: str,
        form: str,
        key: str,
        enter: Callable[[], Any],
    ) -> None:
        self.records.append(_Record(time, kind, subject, form, key, enter))

    def _screen(
        self,
        key: str,
        rec: dict[str, Any],
        screening: dict[str, tuple[str, dict[str, Any]]],
        dm: dict[str, tuple[str, dict[str, Any]]],
    ) -> None:
        code = _str(rec.get("SCRNID"))
        site = _str(rec.get("SITEID"))
        when = _time(rec.get("SCRNDTC"), "SCRNDTC")
        values: dict[str, Any]
        if code in screening:
            values = {k: v for k, v in screening[code][1].items() if k != "SCRNID" and _str(v)}
        else:  # a file without the screening form: what DM states
            d = dm.get(code, ("", {}))[1]
            values = {"age": d.get("AGE"), "sex": d.get("SEX")}
            for s in self.protocol.design.allocation.strata:
                values[s.factor] = d.get(schema.stratum_column(s.factor))
            values = {k: v for k, v in values.items() if _str(v)}
        coordinator = self.actor(Role.COORDINATOR)

        def screen() -> None:
            p = self.call(
                "screen_participant",
                actions.screen_participant,
                coordinator,
                site,
                values,
                screened_at=when,
            )
            if p.code != code:
                raise actions.ActionError(
                    "participant", f"the EDC numbered this participant {p.code}, the file {code}"
                )

        self.add(when, "screening", code, "SL", key, screen)
        if code not in dm:
            return
        dkey, d = dm[code]
        consented = _date(d.get("RFICDTC"), "RFICDTC") if _str(d.get("RFICDTC")) else None
        if consented is not None:
            self.consented[code] = when
            version = str(self.protocol.version)
            self.add(
                when,
                "consent",
                code,
                "DM",
                dkey,
                lambda: self.call(
                    "record_consent", actions.record_consent, coordinator, code, version, consented
                ),
            )
        at = _time(d.get("RANDDTC"), "RANDDTC")
        arm = _str(d.get("ARMCD"))
        if arm not in {a.id for a in self.protocol.arms}:
            raise _Bad("ARMCD", f"{arm!r} is not an arm of {self.protocol.id}")
        self.assignments.append((at, code, site, arm))

        def randomize() -> None:
            self.call("enroll", actions.enroll, coordinator, code, at=at)
            if self.protocol.design.assignment == "randomized":
                r = self.call(
                    "randomize_participant", actions.randomize_participant, coordinator, code, at=at
                )
            else:
                investigator = self.actor(Role.INVESTIGATOR)
                given = arm if self.protocol.design.allocation.method == "investigator" else None
                r = self.call(
                    "assign_participant",
                    actions.assign_participant,
                    investigator,
                    code,
                    arm=given,
                    at=at,
                )
            if r.slot.arm != arm:
                raise actions.ActionError("arm", f"the EDC gave arm {r.slot.arm}, the file {arm}")

        self.add(at, "randomization", code, "DM", dkey, randomize)

    assignments: list[tuple[dt.datetime, str, str, str]]

    def _infusion(self, key: str, rec: dict[str, Any]) -> None:
        code = _str(rec.get("USUBJID"))
        lot = _str(rec.get("EXLOT"))
        arm = _str(rec.get("EXTRT"))
        if not lot:
            raise _Bad("EXLOT", "the lot number is required")
        if self.lots.setdefault(lot, arm) != arm:
            raise _Bad("EXTRT", f"lot {lot} is of arm {self.lots[lot]}, here {arm!r}")
        start = _time(rec.get("EXSTDTC"), "EXSTDTC")
        stop = _time(rec.get("EXENDTC"), "EXENDTC") if _str(rec.get("EXENDTC")) else None
        delivered = _number(rec.get("EXDOSE"), "EXDOSE")
        number = int(_number(rec.get("EXNUM") or rec.get("EXSEQ"), "EXNUM"))
        deviation = _str(rec.get("EXDEVRS"))
        volume = _str(rec.get("EXVOLML"))
        details = _read_all(  # the safety CRF's infusion details (issue 17)
            {
                "premedication": lambda: _str(rec.get("EXPREMED")),
                "volume_ml": lambda: _number(volume, "EXVOLML") if volume else None,
                "interrupted": lambda: _yn(rec.get("EXINTFL"), "EXINTFL") or False,
                "interruption": lambda: _str(rec.get("EXINTRS")),
                "reaction": lambda: _str(rec.get("EXREACT")),
                "missing": lambda: _missing("EX", rec.get("EXMISS"), "EXMISS"),
            }
        )
        pharmacist = self.actor(Role.PHARMACIST)

        def infuse() -> None:
            self._release(lot, arm, pharmacist)
            self.call(
                "record_infusion",
                actions.record_infusion,
                pharmacist,
                code,
                lot=lot,
                started_at=start,
                stopped_at=stop,
                delivered=delivered,
                number=number,
                deviation=deviation,
                **details,
            )

        self.add(start, "infusion", code, "EX", key, infuse)

    def _release(self, lot: str, arm: str, pharmacist: Staff) -> None:
        from celltrial.edc.models import Lot

        if Lot.objects.filter(trial=self.trial, number=lot).exists():
            return
        self.call("register_lot", actions.register_lot, pharmacist, lot, arm)
        if self.protocol.arm(arm).product.release:
            raise actions.ActionError(
                "lot",
                f"lot {lot}: the protocol's release criteria need results that the ODM file "
                "does not carry; release the lot in the EDC, then import again",
            )
        self.call("release_lot", actions.release_lot, pharmacist, lot, {})

    def _measure(
        self, form: str, key: str, rec: dict[str, Any], catalogue: Mapping[Any, Any]
    ) -> None:
        code = _str(rec.get("USUBJID"))
        testcd = _str(rec.get(f"{form}TESTCD"))
        m = catalogue.get((form, testcd))
        if m is None:
            raise _Bad(f"{form}TESTCD", f"{testcd!r} is not a measurement of the protocol")
        value = _str(rec.get(f"{form}ORRES"))
        unit = _str(rec.get(f"{form}ORRESU")) or None
        when = _time(rec.get(f"{form}DTC"), f"{form}DTC")
        visit = _str(rec.get("VISIT"))
        visit = "" if visit == "UNSCHEDULED" else visit
        coordinator = self.actor(Role.COORDINATOR)

        def measure() -> None:
            if visit and (code, visit) not in self.visits:
                self.visits.add((code, visit))
                # A visit before randomization (not on the calendar), or recorded already.
                with contextlib.suppress(actions.NotFound, actions.Conflict):
                    self.call(
                        "record_visit", actions.record_visit, coordinator, code, visit, at=when
                    )
            try:
                self.call(
                    "record_measurement",
                    actions.record_measurement,
                    coordinator,
                    code,
                    m.code,
                    value,
                    measured_at=when,
                    visit=visit,
                    unit=unit,
                )
            except actions.ActionError as exc:
                if {p.field for p in exc.problems} != {"value"}:
                    raise
                # As entered at the site: an out-of-range value confirmed there.
                self.call(
                    "record_measurement",
                    actions.record_measurement,
                    coordinator,
                    code,
                    m.code,
                    value,
                    measured_at=when,
                    visit=visit,
                    unit=unit,
                    confirmed=True,
                )

        self.add(when, "measurement", code, form, key, measure)

    visits: set[tuple[str, str]]

    def _not_done(self, form: str, key: str, rec: dict[str, Any]) -> None:
        code = _str(rec.get("USUBJID"))
        visit = _str(rec.get("VISIT"))
        reason = _str(rec.get(f"{form}REASND")) or NOT_IN_FILE
        when = _time(rec.get(f"{form}DTC"), f"{form}DTC")
        coordinator = self.actor(Role.COORDINATOR)
        self.add(
            when,
            "not_done",
            code,
            form,
            key,
            lambda: self.call(
                "record_visit_not_done",
                actions.record_visit_not_done,
                coordinator,
                code,
                visit,
                reason=reason,
            ),
        )

    def _adverse_event(self, key: str, rec: dict[str, Any]) -> None:
        code = _str(rec.get("USUBJID"))
        criteria = [c for col, c in _SERIOUS.items() if _str(rec.get(col)) == "Y"]
        end = _str(rec.get("AEENDTC"))
        kwargs = _read_all(
            {
                "term": lambda: _str(rec.get("AETERM")),
                "decoded_term": lambda: _str(rec.get("AEDECOD")),
                "onset": lambda: _time(rec.get("AESTDTC"), "AESTDTC"),
                "grade": lambda: int(_number(rec.get("AETOXGR"), "AETOXGR")),
                # a causality given a missing-data code is null (its code in AEMISS)
                "relatedness": lambda: (
                    _term(rec.get("AEREL"), "AEREL", _AEREL) if _str(rec.get("AEREL")) else ""
                ),
                "outcome": lambda: _term(rec.get("AEOUT"), "AEOUT", _AEOUT),
                "serious_criteria": lambda: criteria,
                "end_at": lambda: _time(end, "AEENDTC") if end else None,
                "ongoing": lambda: True if _str(rec.get("AEENRTPT")) == "ONGOING" else None,
                "action_taken": lambda: _code("action_taken", rec.get("AEACN"), "AEACN"),
                "procedure_relatedness": lambda: _code(
                    "relatedness", rec.get("AERELPR"), "AERELPR"
                ),
                "expected": lambda: _yn(rec.get("AEEXPFL"), "AEEXPFL"),
                "infusion_associated": lambda: _yn(rec.get("AEINFFL"), "AEINFFL"),
                "missing": lambda: _missing("AE", rec.get("AEMISS"), "AEMISS"),
            }
        )
        onset: dt.datetime = kwargs["onset"]
        grade: int = kwargs["grade"]
        kwargs["aware_at"] = onset  # the file does not say when the site learnt of it
        if (kwargs.get("missing") or {}).get("action_taken"):
            # AEACN UNKNOWN / NOT APPLICABLE written for the code: the code is the answer
            kwargs["action_taken"] = ""
        if _str(rec.get("AESER")) == "Y" and not criteria and grade != 5:
            raise _Bad("AESER", "serious, but no seriousness criterion (AESDTH … AESMIE) is Y")
        if int(grade) == 5:
            self.fatal.setdefault(code, _str(rec.get("AETERM")))
        investigator = self.actor(Role.INVESTIGATOR)
        self.add(
            onset,
            "adverse_event",
            code,
            "AE",
            key,
            lambda: self.call(
                "report_adverse_event", actions.report_adverse_event, investigator, code, **kwargs
            ),
        )

    fatal: dict[str, str]
    consented: dict[str, dt.datetime]

    def _history(self, form: str, key: str, rec: dict[str, Any]) -> None:
        """A concomitant medication (CM) or a condition of the medical history (MH)."""
        code = _str(rec.get("USUBJID"))
        start = (
            _date(rec.get(f"{form}STDTC"), f"{form}STDTC")
            if _str(rec.get(f"{form}STDTC"))
            else None
        )
        end = (
            _date(rec.get(f"{form}ENDTC"), f"{form}ENDTC")
            if _str(rec.get(f"{form}ENDTC"))
            else None
        )
        kwargs: dict[str, Any] = {
            "start_date": start,
            "end_date": end,
            "ongoing": _str(rec.get(f"{form}ENRTPT")) == "ONGOING",
            "not_done": _str(rec.get(f"{form}STAT")) == schema.NOT_DONE,
            "not_done_reason": _str(rec.get(f"{form}REASND")),
            "missing": _missing(form, rec.get(f"{form}MISS"), f"{form}MISS"),
        }
        if form == "CM":
            dose = _str(rec.get("CMDOSE"))
            kwargs |= {
                "medication": _str(rec.get("CMTRT")),
                "indication": _str(rec.get("CMINDC")),
                "dose": _number(dose, "CMDOSE") if dose else None,
                "dose_unit": _str(rec.get("CMDOSU")),
                "route": _code("route", rec.get("CMROUTE"), "CMROUTE"),
                "frequency": _code("frequency", rec.get("CMDOSFRQ"), "CMDOSFRQ"),
            }
            name, fn = "record_medication", cast(Callable[..., Any], actions.record_medication)
        else:
            kwargs["term"] = _str(rec.get("MHTERM"))
            name, fn = "record_medical_history", actions.record_medical_history
        coordinator = self.actor(Role.COORDINATOR)
        # Entered with the participant's consent (a history is taken then); after it in time.
        when = self.consented.get(code, dt.datetime.min.replace(tzinfo=dt.UTC))
        self.add(
            when,
            "history",
            code,
            form,
            key,
            lambda: self.call(name, fn, coordinator, code, **kwargs),
        )

    def _clinical_event(self, key: str, rec: dict[str, Any]) -> None:
        code = _str(rec.get("USUBJID"))
        when = _time(rec.get("CESTDTC"), "CESTDTC")
        occurred = _str(rec.get("CEOCCUR")) != "N"
        event = _str(rec.get("CEDECOD"))
        term = _str(rec.get("CETERM"))
        labels = {e.code: e.label for e in self.protocol.events}
        if term == labels.get(event):
            term = ""  # the export writes the event's label when no term was reported
        coordinator = self.actor(Role.COORDINATOR)
        self.add(
            when,
            "clinical_event",
            code,
            "CE",
            key,
            lambda: self.call(
                "record_clinical_event",
                actions.record_clinical_event,
                coordinator,
                code,
                event=event,
                occurred_at=when,
                term=term,
                occurred=occurred,
            ),
        )

    def _deviation(self, key: str, rec: dict[str, Any]) -> None:
        code = _str(rec.get("USUBJID"))
        when = _time(rec.get("DVSTDTC"), "DVSTDTC") if _str(rec.get("DVSTDTC")) else None
        category = _str(rec.get("DVCAT")).lower()
        description = _str(rec.get("DVTERM"))
        coordinator = self.actor(Role.COORDINATOR)
        # An undated deviation is entered after everything else of the participant.
        order = when or dt.datetime.max.replace(tzinfo=dt.UTC)
        self.add(
            order,
            "deviation",
            code,
            "DV",
            key,
            lambda: self.call(
                "record_deviation",
                actions.record_deviation,
                coordinator,
                code,
                category=category,
                description=description,
                occurred_at=when,
            ),
        )

    def _disposition(self, key: str, rec: dict[str, Any]) -> None:
        if _str(rec.get("DSCAT")) != "DISPOSITION EVENT":
            return  # consent and randomization milestones: entered with DM
        code = _str(rec.get("USUBJID"))
        decod = _str(rec.get("DSDECOD"))
        when = _time(rec.get("DSSTDTC"), "DSSTDTC")
        coordinator = self.actor(Role.COORDINATOR)
        investigator = self.actor(Role.INVESTIGATOR)
        enter: Callable[[], Any]
        if decod == "COMPLETED":
            enter = lambda: self.call(  # noqa: E731
                "complete_study", actions.complete_study, coordinator, code, at=when
            )
        elif decod == "WITHDRAWN":
            enter = lambda: self.call(  # noqa: E731
                "withdraw", actions.withdraw, coordinator, code, reason=NOT_IN_FILE, at=when
            )
        elif decod == "LOST TO FOLLOW-UP":
            enter = lambda: self.call(  # noqa: E731
                "mark_lost_to_follow_up",
                actions.mark_lost_to_follow_up,
                coordinator,
                code,
                last_contact=when,
            )
        elif decod == "DEATH":
            enter = lambda: self.call(  # noqa: E731
                "record_death",
                actions.record_death,
                investigator,
                code,
                died_at=when,
                cause=self.fatal.get(code, "unknown"),
            )
        else:
            raise _Bad("DSDECOD", f"{decod!r} is not a disposition the EDC records")
        self.add(when, "disposition", code, "DS", key, enter)

    # -- the allocation list of the recorded assignments -----------------------------------

    def load_list(self) -> None:
        """Load the recorded assignments as the trial's allocation list (randomized designs)."""
        if self.protocol.design.assignment != "randomized" or not self.assignments:
            return
        from celltrial.allocation import AllocationError, Factor, stratum_of
        from celltrial.allocation.blinding import make_kit_codes
        from celltrial.allocation.sealed import FORMAT, ListRow, SealedList

        factors = [
            Factor(s.factor, tuple(s.levels)) for s in self.protocol.design.allocation.strata
        ]
        screening = {_str(r.get("SCRNID")): r for _, r in self.rows(SCREENING)}
        dm = {_str(r.get("USUBJID")): r for _, r in self.rows("DM")}
        cells: dict[tuple[str, str], list[str]] = {}
        for _, code, site, arm in sorted(self.assignments):
            values = {k: _str(v) for k, v in screening.get(code, {}).items()}
            for f in factors:
                values.setdefault(f.name, _str(dm.get(code, {}).get(schema.stratum_column(f.name))))
            try:
                stratum = stratum_of(values, factors, participant=code) if factors else "all"
            except AllocationError as exc:
                raise OdmImportError(f"{code}: {exc}") from None
            cells.setdefault((site, stratum), []).append(arm)
        import numpy as np

        n = sum(len(v) for v in cells.values())
        kits = make_kit_codes(n, rng=np.random.default_rng())
        rows: list[ListRow] = []
        for (site, stratum), arms in sorted(cells.items()):
            for arm in arms:
                rows.append(ListRow(len(rows) + 1, site, stratum, arm, kits[len(rows)]))
        arms_order = [a.id for a in self.protocol.arms]
        header = {
            "format": FORMAT,
            "protocol": self.trial.code,
            "protocol_version": str(self.protocol.version),
            "method": "recorded_assignments",
            "arms": ":".join(arms_order),
            "ratio": "-",
            "block_sizes": "-",
            "sites": str(len({s for s, _ in cells})),
            "per_stratum": "-",
            "generator": "odm-import",
            "key_id": "-",
            "salt": "-",
        }
        sealed = SealedList(header, tuple(rows))
        admin = self.actor(Role.ADMIN)
        try:
            self.call(
                "load_allocation_list",
                actions.load_allocation_list,
                admin,
                sealed.canonical(),
                commitment=sealed.commitment(),
            )
        except actions.ActionError as exc:
            raise OdmImportError(f"the recorded assignments could not be loaded: {exc}") from None

    # -- entering ------------------------------------------------------------------------------

    def enter(self, progress: Progress | None) -> None:
        self.records.sort(key=lambda r: (r.time, _ORDER[r.kind]))
        failed: set[str] = set()
        for done, rec in enumerate(self.records, start=1):
            if rec.subject in failed and rec.kind in ("consent", "randomization"):
                self.problem(rec.subject, rec.form, rec.key, None, "not entered: see above")
            else:
                try:
                    rec.enter()
                    self.result.entered[rec.form] += 1
                except actions.ActionError as exc:
                    if rec.kind in ("screening", "consent", "randomization"):
                        failed.add(rec.subject)
                    cols = _FIELDS.get(rec.form, {})
                    for p in exc.problems:
                        field = p.field.split(".", 1)
                        form, col = rec.form, cols.get(p.field)
                        if field[0] == "values" and len(field) == 2:
                            form, col = SCREENING, field[1]
                        item = f"IT.{form}.{col}" if col else f"IG.{rec.form}"
                        self.result.problems.append(
                            ImportProblem(
                                rec.subject,
                                f"IG.{rec.form}[{rec.key}]",
                                item,
                                f"{p.message} ({type(exc).__name__}, field {p.field or '-'})",
                            )
                        )
            if progress is not None:
                progress(done, len(self.records), rec.form)


def _frames_differ(code: str, want: pd.DataFrame, got: pd.DataFrame) -> list[ImportProblem]:
    """Cell-level differences between a table of the file and the EDC's export."""
    out: list[ImportProblem] = []
    key = "SCRNID" if code == "SL" else "USUBJID"
    missing = [c for c in want.columns if c not in got.columns]
    for c in missing:
        out.append(ImportProblem("-", f"IG.{code}", f"IT.{code}.{c}", "no EDC field gives it"))
    if len(want) != len(got):
        out.append(
            ImportProblem(
                "-",
                f"IG.{code}",
                f"IG.{code}",
                f"{len(want)} rows in the file, {len(got)} in the EDC",
            )
        )
        return out
    for c in [c for c in want.columns if c in got.columns]:
        a = want[c].reset_index(drop=True)
        b = got[c].reset_index(drop=True)
        for i in range(len(a)):
            x, y = a.iloc[i], b.iloc[i]
            if pd.isna(x) and pd.isna(y):
                continue
            if pd.isna(x) or pd.isna(y) or str(x) != str(y):
                subject = str(want[key].iloc[i]) if key in want.columns else "-"
                out.append(
                    ImportProblem(
                        subject,
                        f"IG.{code}[{i + 1}]",
                        f"IT.{code}.{c}",
                        f"the file has {None if pd.isna(x) else str(x)!r}, "
                        f"the EDC {None if pd.isna(y) else str(y)!r}",
                    )
                )
    return out


def compare(file_tables: Mapping[str, pd.DataFrame], trial: Trial) -> list[ImportProblem]:
    """The file's dataset against the EDC's, table by table (each checked by make_dataset)."""
    from celltrial.edc.export import tables

    want = make_dataset({c: t for c, t in file_tables.items() if c in schema.ALL_DOMAINS})
    got = make_dataset(tables(trial))
    out: list[ImportProblem] = []
    for code in sorted(set(want.tables) | set(got.tables)):
        a, b = want.tables.get(code), got.tables.get(code)
        if a is None or b is None:
            if (a is not None and len(a)) or (b is not None and len(b)):
                where = "the EDC" if a is None else "the file"
                out.append(ImportProblem("-", f"IG.{code}", f"IG.{code}", f"not in {where}"))
            continue
        out.extend(_frames_differ(code, a, b))
    return out


def import_odm(
    source: str | Path | bytes,
    *,
    trial: Trial | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Enter an ODM file's clinical data into a fresh EDC through its actions.

    Parameters
    ----------
    source : path or bytes
        An ODM 1.3.2 file with clinical data (:func:`export_odm` writes one).
    trial : Trial, optional
        The EDC's trial (default: the only one). It must have no participants yet and, for a
        randomized design, no allocation list (``celltrial edc init --no-list``): the import
        loads the recorded assignments as its list.
    progress : callable, optional
        ``progress(done, total, form)`` after each record.

    Returns
    -------
    ImportResult
        Records entered by form, actions called, the problems (records refused, values not
        read: each names the subject, the ODM item group and repeat key, and the item OID) and
        the differences between the file's dataset and the EDC's export after the import.

    Raises
    ------
    OdmImportError
        Not an ODM file, no clinical data, another study, an EDC that is not fresh.
    """
    try:
        _, file_tables = read_odm(source)
    except (ValueError, OSError) as exc:
        raise OdmImportError(str(exc).splitlines()[0]) from None
    except Exception as exc:  # xml.etree.ElementTree.ParseError
        raise OdmImportError(f"not an XML file: {exc}") from None
    the_trial = trial or Trial.objects.get()
    if not file_tables:
        raise OdmImportError("the file has no clinical data (a study definition only)")
    studies = {
        _str(v) for t in file_tables.values() if "STUDYID" in t for v in t["STUDYID"].dropna()
    }
    if studies and studies != {the_trial.code}:
        raise OdmImportError(
            f"the file's STUDYID is {', '.join(sorted(studies))}, this EDC's trial is "
            f"{the_trial.code}"
        )
    if Participant.objects.filter(trial=the_trial).exists():
        raise OdmImportError(
            "this EDC has participants already: import into a fresh EDC (celltrial edc init)"
        )
    protocol = the_trial.active_protocol().protocol
    if (  # checked after the participants: after an import, "not fresh" is the reason
        protocol.design.assignment == "randomized"
        and AllocationSlot.objects.filter(trial=the_trial).exists()
    ):
        raise OdmImportError(
            "this EDC has an allocation list loaded: the file's participants were randomized "
            "already, and the import loads their recorded assignments as the list; create the "
            "EDC with `celltrial edc init --no-list`"
        )
    result = ImportResult()
    imp = _Importer(the_trial, file_tables, result)
    imp.assignments, imp.visits, imp.fatal, imp.consented = [], set(), {}, {}
    imp.read()
    imp.load_list()
    imp.enter(progress)
    result.differences = compare(file_tables, the_trial)
    return result


def result_json(result: ImportResult) -> str:
    """The result as JSON (for scripts and tests)."""
    return json.dumps(
        {
            "entered": dict(result.entered),
            "actions": dict(result.actions),
            "problems": [str(p) for p in result.problems],
            "differences": [str(p) for p in result.differences],
        },
        indent=1,
    )
