"""Export the trial dataset from the EDC database as CSV tables, so analysis never reads Django.

The tables and their columns are those of :mod:`celltrial.dataset` (SDTM-like DM, DS, EX, AE,
CE, DV, findings domains such as LB and VS, and the screening log SL); the files are written with
:func:`celltrial.dataset.write_dataset` and read back with
:func:`celltrial.dataset.read_dataset`. The export is unblinded (DM holds ARMCD): it is for
the unblinded statistician and the DSMB, not for site staff.

Follow-up forms (:mod:`celltrial.edc.actions.followup`): a completion is a DS row ``COMPLETED``;
each clinical event a CE row (CETERM the reported term or the event's label, CEDECOD the event
code, CEOCCUR ``Y``/``N``); each deviation a DV row (DVCAT ``MAJOR``/``MINOR``); a visit marked
not done gives one findings row per catalogue measurement scheduled at it, with ``--STAT``
``NOT DONE``, ``--REASND`` the reason and ``--DTC`` the visit's nominal time (the end of
follow-up if the participant left before it).

Safety CRF: an AE's end (AEENDTC, or AEENRTPT ``ONGOING``), action taken (AEACN), causality to
the infusion procedure (AERELPR), expectedness (AEEXPFL) and the infusion-associated answer
(AEINFFL); concomitant medications (CM) and medical history (MH) of everyone randomized. A field
left blank with a missing-data code is named in ``--MISS`` (``AEENDTC=UNK``); a medication or
history not taken is one row with ``--STAT`` ``NOT DONE`` and ``--REASND`` the reason. Codes are
written as CDISC terms from :mod:`celltrial.edc.labels`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from django.db.models import F

from celltrial.edc import labels
from celltrial.edc.models import (
    AdverseEvent,
    ClinicalEvent,
    ConcomitantMedication,
    Deviation,
    Disposition,
    Infusion,
    Measurement,
    MedicalHistory,
    Participant,
    Trial,
    VisitRecord,
)
from celltrial.protocol import Protocol

AEREL = {
    "not_related": "NOT RELATED",
    "unlikely": "UNLIKELY RELATED",
    "possible": "POSSIBLY RELATED",
    "probable": "PROBABLY RELATED",
    "definite": "RELATED",
}
AEOUT = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
SERIOUS = {
    "death": "AESDTH",
    "life_threatening": "AESLIFE",
    "hospitalization": "AESHOSP",
    "disability": "AESDISAB",
    "congenital_anomaly": "AESCONG",
    "important_medical_event": "AESMIE",
}
DSDECOD = {
    "completed": "COMPLETED",
    "withdrawn": "WITHDRAWN",
    "lost_to_follow_up": "LOST TO FOLLOW-UP",
    "death": "DEATH",
}


#: EDC field -> dataset column, for the ``--MISS`` column of each domain.
_MISS_COLUMNS: dict[str, dict[str, str]] = {
    "AE": {
        "end_at": "AEENDTC",
        "procedure_relatedness": "AERELPR",
        "action_taken": "AEACN",
        "expected": "AEEXPFL",
        "infusion_associated": "AEINFFL",
        "relatedness": "AEREL",
        "outcome": "AEOUT",
    },
    "CM": {
        "indication": "CMINDC",
        "dose": "CMDOSE",
        "dose_unit": "CMDOSU",
        "route": "CMROUTE",
        "frequency": "CMDOSFRQ",
        "start_date": "CMSTDTC",
        "end_date": "CMENDTC",
    },
    "MH": {"start_date": "MHSTDTC", "end_date": "MHENDTC"},
    "EX": {
        "stopped_at": "EXENDTC",
        "volume_ml": "EXVOLML",
        "premedication": "EXPREMED",
        "reaction": "EXREACT",
    },
}


#: A missing-data code of the action taken as the CDISC ACN term that says the same
#: (C66767: UNKNOWN, NOT APPLICABLE); "not done" has none and leaves AEACN null.
_ACN_OF_CODE = {
    "unknown": "UNKNOWN",
    "asked_unknown": "UNKNOWN",
    "not_applicable": "NOT APPLICABLE",
}


def _miss(domain: str, missing: dict[str, str]) -> str | None:
    """``COLUMN=CODE;…`` for the fields left blank with a missing-data code."""
    if not missing:
        return None
    cols = _MISS_COLUMNS[domain]
    return ";".join(
        f"{cols.get(f, f.upper())}={labels.cdisc('missing', c)}" for f, c in sorted(missing.items())
    )


def _yn(value: bool | None) -> str | None:
    return None if value is None else ("Y" if value else "N")


def _t(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


@dataclasses.dataclass(frozen=True)
class _Source:
    """What the domains are read from: the trial, its active protocol and its participants."""

    trial: Trial
    study: str
    protocol: Protocol
    people: list[Participant]  # everyone screened, by code
    randomized: list[Participant]
    infusions: list[Infusion]  # by participant and number
    given: dict[int, list[Infusion]]  # participant id -> infusions
    deaths: dict[int, Disposition]  # participant id -> death

    @classmethod
    def of(cls, trial: Trial) -> _Source:
        people = list(
            Participant.objects.filter(trial=trial)
            .select_related("site", "screening", "randomization__slot")
            .prefetch_related("consents")
            .order_by("code")
        )
        infusions = list(
            Infusion.objects.filter(participant__trial=trial, entered_in_error=False)
            .select_related("participant", "lot")
            .order_by("participant__code", "number")
        )
        given: dict[int, list[Infusion]] = {}
        for i in infusions:
            given.setdefault(i.participant_id, []).append(i)
        deaths = {
            d.participant_id: d
            for d in Disposition.objects.filter(
                participant__trial=trial, kind="death", entered_in_error=False
            )
        }
        return cls(
            trial=trial,
            study=trial.code,
            protocol=trial.active_protocol().protocol,
            people=people,
            randomized=[p for p in people if hasattr(p, "randomization")],
            infusions=infusions,
            given=given,
            deaths=deaths,
        )


def _consented(p: Participant) -> dt.date | None:
    """The participant's first consent."""
    return min((c.consented_on for c in p.consents.all()), default=None)


def demographics(src: _Source) -> list[dict[str, Any]]:
    """DM: one row per randomized participant (arm, actual arm, reference dates, strata)."""
    from celltrial.dataset import schema

    labels = {a.id: a.label for a in src.protocol.arms}
    factors = [s.factor for s in src.protocol.design.allocation.strata]
    dm: list[dict[str, Any]] = []
    for p in src.randomized:
        r = p.randomization
        given = src.given.get(p.id, [])
        values = p.screening.values
        act = given[0].lot.arm if given else schema.NOT_TREATED
        row: dict[str, Any] = {
            "STUDYID": src.study,
            "USUBJID": p.code,
            "SUBJID": p.code,
            "SITEID": p.site.code,
            "AGE": values.get("age"),
            "SEX": values.get("sex"),
            "ARMCD": r.slot.arm,
            "ARM": labels.get(r.slot.arm),
            "ACTARMCD": act,
            "ACTARM": labels.get(act, "Not treated"),
            "RFICDTC": _t(_consented(p)),
            "RANDDTC": _t(r.randomized_at),
            "RFSTDTC": _t(given[0].started_at) if given else None,
            "RFENDTC": _t(given[-1].stopped_at or given[-1].started_at) if given else None,
            "DTHDTC": _t(src.deaths[p.id].at) if p.id in src.deaths else None,
            "DTHFL": "Y" if p.id in src.deaths else "N",
        }
        strata = dict(part.split("=", 1) for part in r.stratum.split(";") if "=" in part)
        for f in factors:
            row[schema.stratum_column(f)] = strata.get(f, values.get(f))
        dm.append(row)
    return dm


def disposition(src: _Source) -> list[dict[str, Any]]:
    """DS: consent and randomization milestones, then the disposition events, in time order."""
    ds: list[dict[str, Any]] = []
    for p in src.randomized:
        events = [
            ("INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", _t(_consented(p))),
            ("RANDOMIZED", "PROTOCOL MILESTONE", _t(p.randomization.randomized_at)),
        ]
        for d in p.dispositions.filter(entered_in_error=False).order_by("at"):
            events.append((DSDECOD[d.kind], "DISPOSITION EVENT", _t(d.at)))
        for n, (term, cat, when) in enumerate(events, start=1):
            ds.append(
                {
                    "STUDYID": src.study,
                    "USUBJID": p.code,
                    "DSSEQ": n,
                    "DSTERM": term,
                    "DSDECOD": term,
                    "DSCAT": cat,
                    "DSSTDTC": when,
                }
            )
    return ds


def exposure(src: _Source) -> list[dict[str, Any]]:
    """EX: one row per infusion (EXDEVFL flags one given with a deviation)."""
    return [
        {
            "STUDYID": src.study,
            "USUBJID": i.participant.code,
            "EXSEQ": i.number,
            "EXTRT": i.lot.arm,
            "EXDOSE": i.delivered,
            "EXDOSU": i.unit,
            "EXPLDOS": i.intended,
            "EXSTDTC": _t(i.started_at),
            "EXENDTC": _t(i.stopped_at),
            "EXLOT": i.lot.number,
            "EXNUM": i.number,
            "EXDEVFL": "Y" if i.deviation else "N",
            "EXDEVRS": i.deviation or None,
            "EXVOLML": i.volume_ml,
            "EXPREMED": i.premedication or None,
            "EXINTFL": "Y" if i.interrupted else "N",
            "EXINTRS": i.interruption or None,
            "EXREACT": i.reaction or None,
            "EXMISS": _miss("EX", i.missing),
        }
        for i in src.infusions
    ]


def adverse_events(src: _Source) -> list[dict[str, Any]]:
    """AE: the randomized participants' adverse events, by onset (seriousness flags as Y/N)."""
    ae: list[dict[str, Any]] = []
    seq: dict[str, int] = {}
    for a in (
        AdverseEvent.objects.filter(
            participant__trial=src.trial,
            participant__randomization__isnull=False,
            entered_in_error=False,
        )
        .select_related("participant")
        .order_by("participant__code", "onset", "id")
    ):
        code = a.participant.code
        seq[code] = seq.get(code, 0) + 1
        row: dict[str, Any] = {
            "STUDYID": src.study,
            "USUBJID": code,
            "AESEQ": seq[code],
            "AETERM": a.term,
            "AEDECOD": a.decoded_term or None,
            "AESTDTC": _t(a.onset),
            "AETOXGR": a.grade,
            "AESER": "Y" if a.serious else "N",
            # No CDISC codelist for AEREL: a causality not assessed or unknown is left null
            # (its code in AEMISS, SUPPAE); the OUT and ACN codelists have UNKNOWN.
            "AEREL": AEREL.get(a.relatedness),
            "AEOUT": AEOUT[a.outcome],
            "AEENDTC": _t(a.end_at),
            "AEENRTPT": "ONGOING" if a.ongoing else None,
            "AEACN": labels.cdisc("action_taken", a.action_taken)
            or _ACN_OF_CODE.get(a.missing.get("action_taken", "")),
            "AERELPR": labels.cdisc("relatedness", a.procedure_relatedness),
            "AEEXPFL": _yn(a.expected),
            "AEINFFL": _yn(a.infusion_associated),
            "AEMISS": _miss("AE", a.missing),
        }
        for crit, col in SERIOUS.items():
            row[col] = "Y" if crit in a.serious_criteria else "N"
        if a.serious and not a.serious_criteria:  # grade 5 without criteria
            row["AESDTH"] = "Y"
        ae.append(row)
    return ae


def medications(src: _Source) -> list[dict[str, Any]]:
    """CM: the randomized participants' prior and concomitant medications, by start date."""
    rows: list[dict[str, Any]] = []
    seq: dict[str, int] = {}
    for m in (
        ConcomitantMedication.objects.filter(
            participant__trial=src.trial,
            participant__randomization__isnull=False,
            entered_in_error=False,
        )
        .select_related("participant")
        .order_by("participant__code", "start_date", "id")
    ):
        code = m.participant.code
        seq[code] = seq.get(code, 0) + 1
        rows.append(
            {
                "STUDYID": src.study,
                "USUBJID": code,
                "CMSEQ": seq[code],
                "CMTRT": m.medication or None,
                "CMINDC": m.indication or None,
                "CMDOSE": m.dose,
                "CMDOSU": m.dose_unit or None,
                "CMROUTE": labels.cdisc("route", m.route),
                "CMDOSFRQ": labels.cdisc("frequency", m.frequency),
                "CMSTDTC": _t(m.start_date),
                "CMENDTC": _t(m.end_date),
                "CMENRTPT": "ONGOING" if m.ongoing else None,
                "CMSTAT": "NOT DONE" if m.not_done else None,
                "CMREASND": m.not_done_reason or None,
                "CMMISS": _miss("CM", m.missing),
            }
        )
    return rows


def medical_history(src: _Source) -> list[dict[str, Any]]:
    """MH: the randomized participants' medical history, by start date."""
    rows: list[dict[str, Any]] = []
    seq: dict[str, int] = {}
    for h in (
        MedicalHistory.objects.filter(
            participant__trial=src.trial,
            participant__randomization__isnull=False,
            entered_in_error=False,
        )
        .select_related("participant")
        .order_by("participant__code", "start_date", "id")
    ):
        code = h.participant.code
        seq[code] = seq.get(code, 0) + 1
        rows.append(
            {
                "STUDYID": src.study,
                "USUBJID": code,
                "MHSEQ": seq[code],
                "MHTERM": h.term or None,
                "MHSTDTC": _t(h.start_date),
                "MHENDTC": _t(h.end_date),
                "MHENRTPT": "ONGOING" if h.ongoing else None,
                "MHSTAT": "NOT DONE" if h.not_done else None,
                "MHREASND": h.not_done_reason or None,
                "MHMISS": _miss("MH", h.missing),
            }
        )
    return rows


def clinical_events(src: _Source) -> list[dict[str, Any]]:
    """CE: the protocol's clinical events (CETERM the reported term or the event's label)."""
    event_label = {e.code: e.label for e in src.protocol.events}
    ce: list[dict[str, Any]] = []
    seq: dict[str, int] = {}
    for e in (
        ClinicalEvent.objects.filter(
            participant__trial=src.trial,
            participant__randomization__isnull=False,
            entered_in_error=False,
        )
        .select_related("participant")
        .order_by("participant__code", "occurred_at", "id")
    ):
        code = e.participant.code
        seq[code] = seq.get(code, 0) + 1
        ce.append(
            {
                "STUDYID": src.study,
                "USUBJID": code,
                "CESEQ": seq[code],
                "CETERM": e.term or event_label.get(e.event, e.event),
                "CEDECOD": e.event,
                "CESTDTC": _t(e.occurred_at),
                "CEOCCUR": "Y" if e.occurred else "N",
            }
        )
    return ce


def deviations(src: _Source) -> list[dict[str, Any]]:
    """DV: the deviation log (DVCAT ``MAJOR``/``MINOR``; undated ones last)."""
    dv: list[dict[str, Any]] = []
    seq: dict[str, int] = {}
    for d in (
        Deviation.objects.filter(
            participant__trial=src.trial,
            participant__randomization__isnull=False,
            entered_in_error=False,
        )
        .select_related("participant")
        .order_by("participant__code", F("occurred_at").asc(nulls_last=True), "id")
    ):
        code = d.participant.code
        seq[code] = seq.get(code, 0) + 1
        dv.append(
            {
                "STUDYID": src.study,
                "USUBJID": code,
                "DVSEQ": seq[code],
                "DVTERM": d.description,
                "DVCAT": d.category.upper(),
                "DVSTDTC": _t(d.occurred_at),
            }
        )
    return dv


#: A findings row waiting for its sequence number: (sort key, domain, row). The sort key is
#: (participant, time, 0 for a measurement or 1 for a NOT DONE row, tie-break).
_Finding = tuple[tuple[str, dt.datetime, int, int], str, dict[str, Any]]


def findings(src: _Source) -> dict[str, list[dict[str, Any]]]:
    """The findings domains (LB, VS, …): measurements and visits not done, by participant and
    time, each domain numbered on its own (--SEQ)."""
    from celltrial.dataset import schema

    catalogue = {m.code: (d, code) for (d, code), m in schema.catalogue(src.protocol).items()}
    rows = _measured(src, catalogue) + _screened(src, catalogue) + _not_done(src, catalogue)
    out: dict[str, list[dict[str, Any]]] = {}
    fseq: dict[tuple[str, str], int] = {}
    for (code, *_), dom, row in sorted(rows, key=lambda r: r[0]):
        key = (dom, code)
        fseq[key] = fseq.get(key, 0) + 1
        out.setdefault(dom, []).append({**row, f"{dom}SEQ": fseq[key]})
    return out


def _measured(src: _Source, catalogue: dict[str, tuple[str, str]]) -> list[_Finding]:
    """A findings row per measurement of the catalogue."""
    label = {m.code: m for m in src.protocol.measurements}
    order = {v.id: n for n, v in enumerate(src.protocol.schedule.visits, start=1)}
    rows: list[_Finding] = []
    for m in (
        Measurement.objects.filter(
            participant__trial=src.trial,
            participant__randomization__isnull=False,
            entered_in_error=False,
        )
        .select_related("participant")
        .order_by("participant__code", "measured_at", "id")
    ):
        if m.code not in catalogue:
            continue
        dom, testcd = catalogue[m.code]
        rows.append(
            (
                (m.participant.code, m.measured_at, 0, m.id),
                dom,
                {
                    "STUDYID": src.study,
                    "USUBJID": m.participant.code,
                    f"{dom}TESTCD": testcd,
                    f"{dom}TEST": label[m.code].label,
                    f"{dom}ORRES": m.value,
                    f"{dom}ORRESU": m.unit or None,
                    f"{dom}DTC": _t(m.measured_at),
                    "VISIT": m.visit or "UNSCHEDULED",
                    "VISITNUM": order.get(m.visit),
                },
            )
        )
    return rows


def screening_visit(protocol: Protocol) -> str | None:
    """The schedule's screening visit (the first of kind ``screening``), if it has one."""
    return next((v.id for v in protocol.schedule.visits if v.kind == "screening"), None)


def screening_time(p: Participant) -> dt.datetime | None:
    """When the screening values were taken: the screening time, or the randomization when
    the screening form was entered after a back-dated randomization (the values were taken
    before it). None for a participant never screened."""
    s = getattr(p, "screening", None)
    if s is None:
        return None
    r = getattr(p, "randomization", None)
    if r is not None and r.randomized_at < s.screened_at:
        return r.randomized_at  # type: ignore[no-any-return]
    return s.screened_at  # type: ignore[no-any-return]


def _screened(src: _Source, catalogue: dict[str, tuple[str, str]]) -> list[_Finding]:
    """The screening form's values as findings (issue 15: screening values are data): one row
    per catalogue measurement on the form, at the screening visit, dated
    :func:`screening_time`. A value the site also recorded as a measurement of the screening
    visit is exported once, as that measurement."""
    from celltrial.edc.actions._base import ActionError
    from celltrial.edc.actions._values import check_value

    label = {m.code: m for m in src.protocol.measurements}
    # A schedule without a screening visit takes its pre-treatment values at the baseline
    # visit: the screening form's values are exported there (not at a visit the schedule
    # does not have, which the dataset would refuse).
    visit = screening_visit(src.protocol) or next(
        (v.id for v in src.protocol.schedule.visits if v.kind == "baseline"), None
    )
    order = {v.id: n for n, v in enumerate(src.protocol.schedule.visits, start=1)}
    recorded = (
        set(
            Measurement.objects.filter(
                participant__trial=src.trial, visit=visit, entered_in_error=False
            ).values_list("participant_id", "code")
        )
        if visit
        else set()
    )
    rows: list[_Finding] = []
    for p in src.randomized:
        when = screening_time(p)
        if when is None:
            continue
        for k, (code, raw) in enumerate(sorted(p.screening.values.items())):
            if code not in catalogue or raw is None or (p.id, code) in recorded:
                continue
            m = label[code]
            try:
                text = check_value(m, raw).text
            except ActionError:  # a value the catalogue (a later version) no longer reads
                text = str(raw)
            dom, testcd = catalogue[code]
            rows.append(
                (
                    (p.code, when, 0, -1 - k),
                    dom,
                    {
                        "STUDYID": src.study,
                        "USUBJID": p.code,
                        f"{dom}TESTCD": testcd,
                        f"{dom}TEST": m.label,
                        f"{dom}ORRES": text,
                        f"{dom}ORRESU": m.unit or None,
                        f"{dom}DTC": _t(when),
                        "VISIT": visit or "UNSCHEDULED",
                        "VISITNUM": order.get(visit or ""),
                    },
                )
            )
    return rows


def _not_done(src: _Source, catalogue: dict[str, tuple[str, str]]) -> list[_Finding]:
    """A visit not done: one NOT DONE row per catalogue measurement scheduled at it, dated at
    the visit's nominal time (or the end of follow-up, when the participant left before it)."""
    from celltrial.dataset import schema

    label = {m.code: m for m in src.protocol.measurements}
    order = {v.id: n for n, v in enumerate(src.protocol.schedule.visits, start=1)}
    scheduled = {v.id: v.measurements for v in src.protocol.schedule.visits}
    ended: dict[int, dt.datetime] = {}  # the first disposition: the end of follow-up
    for d in Disposition.objects.filter(
        participant__trial=src.trial, entered_in_error=False
    ).order_by("at", "id"):
        ended.setdefault(d.participant_id, d.at)
    rows: list[_Finding] = []
    for v in (
        VisitRecord.objects.filter(
            participant__trial=src.trial,
            participant__randomization__isnull=False,
            not_done=True,
        )
        .select_related("participant")
        .order_by("participant__code", "nominal", "id")
    ):
        due = v.nominal
        end = ended.get(v.participant_id)
        if end is not None and end < due:
            due = end
        for k, mcode in enumerate(scheduled.get(v.visit, ())):
            if mcode not in catalogue:
                continue
            dom, testcd = catalogue[mcode]
            rows.append(
                (
                    (v.participant.code, due, 1, k),
                    dom,
                    {
                        "STUDYID": src.study,
                        "USUBJID": v.participant.code,
                        f"{dom}TESTCD": testcd,
                        f"{dom}TEST": label[mcode].label,
                        f"{dom}ORRES": None,
                        f"{dom}ORRESU": None,
                        f"{dom}STAT": schema.NOT_DONE,
                        f"{dom}REASND": v.not_done_reason or None,
                        f"{dom}DTC": _t(due),
                        "VISIT": v.visit,
                        "VISITNUM": order.get(v.visit),
                    },
                )
            )
    return rows


def screening_log(src: _Source) -> list[dict[str, Any]]:
    """SL: everyone screened, eligible or not, randomized or not (and why not)."""
    sl = []
    for p in src.people:
        s = getattr(p, "screening", None)
        is_rand = hasattr(p, "randomization")
        sl.append(
            {
                "STUDYID": src.study,
                "SCRNID": p.code,
                "SITEID": p.site.code,
                "SCRNDTC": _t(s.screened_at) if s else None,
                "ELIGFL": "Y" if s is not None and s.eligible else "N",
                "FAILCRIT": ";".join(s.failed) if s and s.failed else None,
                "RANDFL": "Y" if is_rand else "N",
                "NRANDRS": None
                if is_rand
                else ("NOT ELIGIBLE" if s is not None and s.eligible is False else "OTHER"),
                "USUBJID": p.code if is_rand else None,
            }
        )
    return sl


def tables(trial: Trial) -> dict[str, pd.DataFrame]:
    """The dataset's tables (domain code -> data frame) from the database: one function per
    domain (:func:`demographics` DM, :func:`disposition` DS, :func:`exposure` EX,
    :func:`adverse_events` AE, :func:`clinical_events` CE, :func:`deviations` DV,
    :func:`medications` CM, :func:`medical_history` MH,
    :func:`screening_log` SL, :func:`findings` LB, VS, …), framed with the schema's columns."""
    src = _Source.of(trial)
    out = {
        "DM": demographics(src),
        "DS": disposition(src),
        "EX": exposure(src),
        "AE": adverse_events(src),
        "CE": clinical_events(src),
        "DV": deviations(src),
        "SL": screening_log(src),
        **findings(src),
    }
    # CM and MH only when the trial collects them (older trials' datasets stay as they were).
    for code, rows in (("CM", medications(src)), ("MH", medical_history(src))):
        if rows:
            out[code] = rows
    return {code: _frame(code, rows) for code, rows in out.items()}


def _frame(code: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A domain's rows as a data frame with the schema's columns (then any others)."""
    from celltrial.dataset import schema

    columns = schema.domain(code).names
    frame = (
        pd.DataFrame(rows, columns=list(columns)) if rows else pd.DataFrame(columns=list(columns))
    )
    extra = [c for c in (rows[0] if rows else {}) if c not in columns]
    for c in extra:
        frame[c] = [r.get(c) for r in rows]
    return frame


def export_dataset(
    folder: str | Path, *, trial: Trial | None = None
) -> tuple[list[Path], list[Any]]:
    """Write the dataset to ``folder`` (one CSV per table); return the files and the problems
    :func:`celltrial.dataset.make_dataset` found in the tables."""
    from celltrial.dataset import make_dataset, write_dataset

    the_trial = trial or Trial.objects.get()
    dataset = make_dataset(tables(the_trial))
    return write_dataset(dataset, folder, format="csv"), list(dataset.problems)
