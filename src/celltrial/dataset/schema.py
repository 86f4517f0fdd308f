"""The trial dataset's tables: every domain's columns, types, requirement and controlled terms.

This module *is* the contract between whatever writes a trial dataset (the EDC's export, the
simulator) and whatever reads it (the derivations, the analysis, the report). It is data, not
code: a :class:`Domain` lists its :class:`Column` objects, and :func:`domain` returns the
definition of a domain code, including the findings domains (``LB``, ``VS``, ``FT``, …) that
share one shape with a two-letter prefix.

Names follow CDISC SDTM where a variable exists there. What SDTM does not have is said so in
the column's ``note`` (``RANDDTC`` in DM, ``EXPLDOS``/``EXDEVFL`` in EX, the screening log SL).

Column types
------------
``text``
    Free text, or one of ``terms`` when the column is controlled.
``integer`` / ``number``
    Whole numbers / real numbers (``AETOXGR`` is an integer with terms 1–5).
``datetime``
    ISO 8601: a date (``2020-05-01``) or a date and time (``2020-05-01T14:00Z``). Times are
    UTC; a time without an offset is read as UTC and one with an offset is converted to UTC.
``flag``
    ``Y`` or ``N``.

Requirement
-----------
``req``
    The column must be present and every row must have a value.
``exp``
    The column is expected (a missing column is reported as a warning and read as empty);
    values may be blank.
``perm``
    Permissible: the column may be absent or blank.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final, Literal

from celltrial.protocol import Measurement, Protocol

ColumnType = Literal["text", "integer", "number", "datetime", "flag"]
Need = Literal["req", "exp", "perm"]


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a domain.

    Parameters
    ----------
    name : str
        The CDISC variable name (upper case).
    type : {"text", "integer", "number", "datetime", "flag"}
    need : {"req", "exp", "perm"}
        Whether the column and its values are required (see the module docstring).
    label : str
        What the column holds, in words.
    terms : tuple of str, optional
        The controlled terms a value must be one of.
    terms_text : str, optional
        How a problem message names the terms (``"a CTCAE grade 1–5"``).
    note : str, optional
        Where the column departs from SDTM, or how it is used.
    """

    name: str
    type: ColumnType
    need: Need
    label: str
    terms: tuple[str, ...] | None = None
    terms_text: str | None = None
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class Domain:
    """One table of the trial dataset."""

    code: str
    label: str
    columns: tuple[Column, ...]
    sdtm: bool = True
    findings: bool = False
    note: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.code} has no column {name!r}")

    @property
    def seq(self) -> str | None:
        """The sequence column (``AESEQ``), if the domain has one."""
        name = f"{self.code}SEQ"
        return name if name in self.names else None


# --------------------------------------------------------------------------------------------
# Controlled terms
# --------------------------------------------------------------------------------------------

YN: Final = ("Y", "N")
SEX_TERMS: Final = ("F", "M", "U", "UNDIFFERENTIATED")
#: ACTARMCD values for a randomized participant who did not receive any treatment (SDTM).
NOT_TREATED: Final = "NOTTRT"
#: ARMCD values of SDTM for a participant who was never assigned to an arm (CDISC CT C66767
#: "Arm Null Reason" codes as SDTMIG uses them): not in any analysis population.
NOT_ASSIGNED: Final = ("SCRNFAIL", "NOTASSGN", "NOTTRT", "UNPLAN")
DS_TERMS: Final = (
    "INFORMED CONSENT OBTAINED",
    "RANDOMIZED",
    "COMPLETED",
    "WITHDRAWN",
    "LOST TO FOLLOW-UP",
    "DEATH",
    "SCREEN FAILURE",
    "ADVERSE EVENT",
    "PHYSICIAN DECISION",
    "PROTOCOL DEVIATION",
    "STUDY TERMINATED BY SPONSOR",
    "OTHER",
)
#: Disposition terms that end a participant's follow-up.
DS_END_TERMS: Final = (
    "COMPLETED",
    "WITHDRAWN",
    "LOST TO FOLLOW-UP",
    "DEATH",
    "ADVERSE EVENT",
    "PHYSICIAN DECISION",
    "PROTOCOL DEVIATION",
    "STUDY TERMINATED BY SPONSOR",
    "OTHER",
)
DS_CATEGORIES: Final = ("DISPOSITION EVENT", "PROTOCOL MILESTONE")
AE_GRADES: Final = ("1", "2", "3", "4", "5")
AE_RELATIONSHIP: Final = (
    "NOT RELATED",
    "UNLIKELY RELATED",
    "POSSIBLY RELATED",
    "PROBABLY RELATED",
    "RELATED",
)
AE_OUTCOMES: Final = (
    "RECOVERED/RESOLVED",
    "RECOVERING/RESOLVING",
    "NOT RECOVERED/NOT RESOLVED",
    "RECOVERED/RESOLVED WITH SEQUELAE",
    "FATAL",
    "UNKNOWN",
)
#: The seriousness criteria of an AE (ICH E2A); AESER = Y needs at least one of them = Y.
AE_SERIOUSNESS: Final = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")
DV_CATEGORIES: Final = ("MAJOR", "MINOR")
#: Action taken with study treatment (CDISC codelist ACN).
AE_ACTIONS: Final = (
    "DOSE NOT CHANGED",
    "DOSE REDUCED",
    "DRUG INTERRUPTED",
    "DRUG WITHDRAWN",
    "NOT APPLICABLE",
    "UNKNOWN",
)
#: Missing-data codes of a field left blank on purpose (HL7 null flavors).
MISSING_CODES: Final = ("NOT DONE", "NA", "UNK", "ASKU")
MISSING_NOTE: Final = (
    "not SDTM (SUPP--): the fields left blank with a missing-data code, as "
    "'COLUMN=CODE' separated by ';', codes NOT DONE, NA (not applicable), UNK (unknown), "
    "ASKU (asked but unknown)"
)
NOT_DONE: Final = "NOT DONE"
NOT_RANDOMIZED_REASONS: Final = ("NOT ELIGIBLE", "DECLINED", "OTHER")
#: Units EXDOSU may take: what a protocol's dose is counted in (per-kg doses are given as the
#: absolute amount for the participant).
DOSE_UNITS: Final = ("cells", "mL", "mg")
#: The sub-domain codes a protocol measurement may name, each stored as a findings table.
FINDINGS_DOMAINS: Final = ("VS", "LB", "QS", "FT", "PR", "MO", "RE", "IS", "SC", "CT")
#: Where a measurement without ``domain`` goes (subject characteristics).
DEFAULT_FINDINGS_DOMAIN: Final = "SC"
STRATUM_PREFIX: Final = "STRAT_"


def _c(
    name: str,
    type: ColumnType,
    need: Need,
    label: str,
    terms: tuple[str, ...] | None = None,
    terms_text: str | None = None,
    note: str | None = None,
) -> Column:
    return Column(name, type, need, label, terms, terms_text, note)


def _ids(code: str) -> tuple[Column, ...]:
    cols = [
        _c("STUDYID", "text", "req", "Study identifier (the protocol id)"),
        _c("USUBJID", "text", "req", "Unique subject identifier"),
    ]
    if code not in ("DM",):
        cols.append(_c(f"{code}SEQ", "integer", "exp", "Sequence number within the participant"))
    return tuple(cols)


DM: Final = Domain(
    "DM",
    "Demographics",
    (
        *_ids("DM"),
        _c("SUBJID", "text", "req", "Subject identifier within the study"),
        _c("SITEID", "text", "req", "Site identifier"),
        _c("AGE", "number", "exp", "Age at consent", note="in years (AGEU = YEARS)"),
        _c("SEX", "text", "exp", "Sex", SEX_TERMS),
        _c("ARMCD", "text", "req", "Arm code as randomized", note="a protocol arm id"),
        _c("ARM", "text", "exp", "Arm as randomized (label)"),
        _c(
            "ACTARMCD",
            "text",
            "exp",
            "Arm code as treated",
            note=f"a protocol arm id, or {NOT_TREATED} when no dose was given",
        ),
        _c("ACTARM", "text", "exp", "Arm as treated (label)"),
        _c("RFICDTC", "datetime", "req", "Date/time of informed consent"),
        _c(
            "RANDDTC",
            "datetime",
            "req",
            "Date/time of randomization",
            note="not an SDTM DM variable (SDTM keeps it in DS); kept here as the time origin",
        ),
        _c("RFSTDTC", "datetime", "exp", "Date/time of first exposure to study treatment"),
        _c("RFENDTC", "datetime", "perm", "Date/time of last exposure to study treatment"),
        _c("DTHDTC", "datetime", "exp", "Date/time of death"),
        _c("DTHFL", "flag", "exp", "Subject died", YN),
        _c("COUNTRY", "text", "perm", "Country"),
    ),
    note=(
        "One row per randomized participant. Stratum columns STRAT_<FACTOR> (the protocol's "
        "stratification factor in upper case) hold the stratum as randomized. Screen failures "
        "are in SL, not DM."
    ),
)

DS: Final = Domain(
    "DS",
    "Disposition",
    (
        *_ids("DS"),
        _c("DSTERM", "text", "exp", "Reported term"),
        _c("DSDECOD", "text", "req", "Standardized disposition term", DS_TERMS),
        _c("DSCAT", "text", "perm", "Category", DS_CATEGORIES),
        _c(
            "DSSTDTC",
            "datetime",
            "req",
            "Date/time of the disposition event",
            note="for WITHDRAWN and LOST TO FOLLOW-UP, the date of last contact",
        ),
    ),
)

EX: Final = Domain(
    "EX",
    "Exposure",
    (
        *_ids("EX"),
        _c("EXTRT", "text", "req", "Name of treatment given", note="the protocol arm id given"),
        _c("EXDOSE", "number", "req", "Dose given (cells, mL or mg)"),
        _c("EXDOSU", "text", "req", "Dose units", DOSE_UNITS),
        _c(
            "EXPLDOS",
            "number",
            "perm",
            "Planned dose (cells or mL)",
            note="not SDTM; the calendar's amount for this participant",
        ),
        _c("EXSTDTC", "datetime", "req", "Start of the administration"),
        _c("EXENDTC", "datetime", "exp", "End of the administration"),
        _c("EXLOT", "text", "exp", "Lot number"),
        _c("EXNUM", "integer", "perm", "Administration number (1, 2, …)", note="not SDTM"),
        _c(
            "EXDEVFL",
            "flag",
            "exp",
            "Dose or timing deviation",
            YN,
            note="not SDTM; Y when dose, product or time was outside the protocol",
        ),
        _c("EXDEVRS", "text", "perm", "Reason for the deviation", note="not SDTM"),
        _c("EXVOLML", "number", "perm", "Volume infused (mL)", note="not SDTM"),
        _c("EXPREMED", "text", "perm", "Pre-medication given", note="not SDTM"),
        _c("EXINTFL", "flag", "perm", "Infusion interrupted", YN, note="not SDTM"),
        _c("EXINTRS", "text", "perm", "The interruption (when, how long, why)", note="not SDTM"),
        _c("EXREACT", "text", "perm", "Infusion reactions", note="not SDTM"),
        _c("EXMISS", "text", "perm", "Missing-data codes", note=MISSING_NOTE),
    ),
    note="One row per administration that was started; a planned dose not given has no row.",
)

AE: Final = Domain(
    "AE",
    "Adverse events",
    (
        *_ids("AE"),
        _c("AETERM", "text", "req", "Reported term"),
        _c("AEDECOD", "text", "exp", "Dictionary-derived term (MedDRA preferred term)"),
        _c("AEBODSYS", "text", "perm", "Body system or organ class"),
        _c("AESTDTC", "datetime", "req", "Start (onset) date/time"),
        _c("AEENDTC", "datetime", "exp", "End date/time"),
        _c("AETOXGR", "integer", "req", "CTCAE grade", AE_GRADES, "a CTCAE grade 1–5"),
        _c("AESER", "flag", "req", "Serious event", YN),
        _c("AEREL", "text", "exp", "Causality (to study treatment)", AE_RELATIONSHIP),
        _c("AEOUT", "text", "exp", "Outcome", AE_OUTCOMES),
        _c("AEACN", "text", "perm", "Action taken with study treatment", AE_ACTIONS),
        _c(
            "AEENRTPT",
            "text",
            "perm",
            "End relative to reference time point",
            ("ONGOING",),
            note="ONGOING when the event had not ended at the last entry (AEENDTC blank)",
        ),
        _c(
            "AERELPR",
            "text",
            "perm",
            "Causality to the infusion procedure",
            AE_RELATIONSHIP,
            note="not SDTM (SUPPAE); AEREL is the causality to the cell product",
        ),
        _c("AEEXPFL", "flag", "perm", "Expected event", YN, note="not SDTM (SUPPAE)"),
        _c(
            "AEINFFL",
            "flag",
            "perm",
            "Pre-specified infusion-associated event",
            YN,
            note="not SDTM (SUPPAE); asked when the onset falls in a protocol safety window",
        ),
        _c(
            "AEMISS",
            "text",
            "perm",
            "Missing-data codes",
            note=MISSING_NOTE,
        ),
        *(
            _c(name, "flag", "exp", label, YN)
            for name, label in zip(
                AE_SERIOUSNESS,
                (
                    "Results in death",
                    "Is life threatening",
                    "Requires or prolongs hospitalization",
                    "Persistent or significant disability",
                    "Congenital anomaly or birth defect",
                    "Other medically important event",
                ),
                strict=True,
            )
        ),
    ),
)

CE: Final = Domain(
    "CE",
    "Clinical events",
    (
        *_ids("CE"),
        _c("CETERM", "text", "exp", "Reported term"),
        _c("CEDECOD", "text", "req", "Event code", note="a code of the protocol's events"),
        _c("CESTDTC", "datetime", "req", "Date/time of the event"),
        _c("CEOCCUR", "flag", "perm", "Occurred (N: asked and did not occur)", YN),
    ),
    note=(
        "One row per occurrence of a protocol event (recovery, intubation, …). Death is also "
        "read from DM.DTHDTC and the event 'sae' from serious AEs, so they need no CE row."
    ),
)

CM: Final = Domain(
    "CM",
    "Concomitant medications",
    (
        *_ids("CM"),
        _c("CMTRT", "text", "exp", "Reported name of the medication", note="blank when CMSTAT"),
        _c("CMINDC", "text", "perm", "Indication"),
        _c("CMDOSE", "number", "perm", "Dose per administration"),
        _c("CMDOSU", "text", "perm", "Dose units"),
        _c("CMROUTE", "text", "perm", "Route of administration"),
        _c("CMDOSFRQ", "text", "perm", "Dosing frequency"),
        _c("CMSTDTC", "datetime", "exp", "Start date"),
        _c("CMENDTC", "datetime", "perm", "End date"),
        _c("CMENRTPT", "text", "perm", "End relative to reference time point", ("ONGOING",)),
        _c("CMSTAT", "text", "perm", "Completion status", (NOT_DONE,)),
        _c("CMREASND", "text", "perm", "Reason not done"),
        _c("CMMISS", "text", "perm", "Missing-data codes", note=MISSING_NOTE),
    ),
    note=(
        "One row per medication, prior or concomitant. A medication history not taken is one "
        "row with CMSTAT = NOT DONE and CMREASND."
    ),
)

MH: Final = Domain(
    "MH",
    "Medical history",
    (
        *_ids("MH"),
        _c("MHTERM", "text", "exp", "Reported term", note="blank when MHSTAT"),
        _c("MHSTDTC", "datetime", "perm", "Start date", note="on or before consent"),
        _c("MHENDTC", "datetime", "perm", "End date"),
        _c("MHENRTPT", "text", "perm", "End relative to reference time point", ("ONGOING",)),
        _c("MHSTAT", "text", "perm", "Completion status", (NOT_DONE,)),
        _c("MHREASND", "text", "perm", "Reason not done"),
        _c("MHMISS", "text", "perm", "Missing-data codes", note=MISSING_NOTE),
    ),
    note=(
        "One row per condition. A medical history not taken is one row with MHSTAT = NOT DONE "
        "and MHREASND."
    ),
)

DV: Final = Domain(
    "DV",
    "Protocol deviations",
    (
        *_ids("DV"),
        _c("DVTERM", "text", "req", "Deviation"),
        _c("DVCAT", "text", "req", "Category", DV_CATEGORIES),
        _c("DVSTDTC", "datetime", "exp", "Date/time of the deviation"),
    ),
    note="A MAJOR deviation removes the participant from the per-protocol population.",
)

SL: Final = Domain(
    "SL",
    "Screening log",
    (
        _c("STUDYID", "text", "req", "Study identifier"),
        _c("SCRNID", "text", "req", "Screening number"),
        _c("SITEID", "text", "exp", "Site identifier"),
        _c("SCRNDTC", "datetime", "req", "Date/time of screening"),
        _c("ELIGFL", "flag", "req", "Eligible", YN),
        _c("FAILCRIT", "text", "perm", "Failed criteria (protocol ids, ';'-separated)"),
        _c("RANDFL", "flag", "req", "Randomized", YN),
        _c("NRANDRS", "text", "perm", "Reason not randomized", NOT_RANDOMIZED_REASONS),
        _c("USUBJID", "text", "perm", "USUBJID when randomized"),
    ),
    sdtm=False,
    note="Not SDTM: one row per person screened; feeds the CONSORT flow diagram.",
)


def findings_domain(code: str) -> Domain:
    """The findings table ``code`` (``LB``, ``VS``, ``FT``, …): one row per result.

    Parameters
    ----------
    code : str
        A two-letter domain code from :data:`FINDINGS_DOMAINS`.
    """
    if code not in FINDINGS_DOMAINS:
        raise KeyError(f"{code!r} is not a findings domain; they are {', '.join(FINDINGS_DOMAINS)}")
    p = code
    return Domain(
        code,
        f"Findings ({code})",
        (
            *_ids(code),
            _c(f"{p}TESTCD", "text", "req", "Test code", note="the measurement's testcd"),
            _c(f"{p}TEST", "text", "exp", "Test name"),
            _c(f"{p}ORRES", "text", "exp", "Result as collected", note=f"blank when {p}STAT"),
            _c(f"{p}ORRESU", "text", "exp", "Unit as collected (UCUM)"),
            _c(f"{p}STRESC", "text", "perm", "Standardized result (character)"),
            _c(
                f"{p}STRESN",
                "number",
                "perm",
                "Standardized result (numeric)",
                note=f"filled from {p}ORRES when blank and {p}ORRES is a number",
            ),
            _c(f"{p}STRESU", "text", "perm", "Standardized unit"),
            _c(f"{p}STAT", "text", "perm", "Completion status", (NOT_DONE,)),
            _c(f"{p}REASND", "text", "perm", "Reason not done"),
            _c(f"{p}SPEC", "text", "perm", "Specimen"),
            _c(f"{p}DTC", "datetime", "req", "Date/time of the measurement or collection"),
            _c("VISIT", "text", "exp", "Visit (protocol visit id, or UNSCHEDULED)"),
            _c("VISITNUM", "number", "perm", "Visit number (order in the schedule, from 1)"),
        ),
        findings=True,
        note="" if code != "CT" else "Not an SDTM domain code: chest imaging measures.",
    )


#: (domain, start column, end column, kind of record) of the records that have an end: the
#: rule ``end_not_before_start`` of :mod:`celltrial.dataset.rules`.
INTERVALS: Final = (
    ("AE", "AESTDTC", "AEENDTC", "adverse_event"),
    ("CM", "CMSTDTC", "CMENDTC", "medication"),
    ("MH", "MHSTDTC", "MHENDTC", "history"),
)

#: The fixed (non-findings) domains.
DOMAINS: Final[dict[str, Domain]] = {d.code: d for d in (DM, DS, EX, AE, CE, DV, CM, MH, SL)}
#: Every domain code the dataset may hold, in the order tables are listed.
ALL_DOMAINS: Final = (*DOMAINS, *FINDINGS_DOMAINS)


def domain(code: str) -> Domain:
    """The definition of domain ``code`` (``DM``, ``AE``, ``LB``, …)."""
    if code in DOMAINS:
        return DOMAINS[code]
    return findings_domain(code)


# --------------------------------------------------------------------------------------------
# Where protocol items go
# --------------------------------------------------------------------------------------------

_TESTCD = re.compile(r"[^A-Z0-9]")


def testcd_of(measurement: Measurement) -> str:
    """The test code of a measurement: its ``testcd``, else its code upper-cased without
    underscores, cut to 8 characters (``pao2_fio2`` → ``PAO2FIO2``)."""
    if measurement.testcd:
        return measurement.testcd
    return _TESTCD.sub("", measurement.code.upper())[:8]


def domain_of(measurement: Measurement) -> str:
    """The findings domain a measurement's results go to (``DM`` for age and sex)."""
    return measurement.domain or DEFAULT_FINDINGS_DOMAIN


def stratum_column(factor: str) -> str:
    """The DM column of a stratification factor: ``ards_severity`` → ``STRAT_ARDS_SEVERITY``."""
    return STRATUM_PREFIX + factor.upper()


def catalogue(protocol: Protocol) -> dict[tuple[str, str], Measurement]:
    """The protocol's measurements by (findings domain, test code).

    Stratification factors and measurements with ``domain: DM`` are DM columns, not findings,
    and are left out.
    """
    factors = {s.factor for s in protocol.design.allocation.strata}
    out: dict[tuple[str, str], Measurement] = {}
    for m in protocol.measurements:
        if m.domain == "DM" or (m.domain is None and m.code in factors):
            continue
        out[(domain_of(m), testcd_of(m))] = m
    return out


#: Events read from other tables as well as from CE (see :func:`celltrial.dataset.events`).
DEATH_EVENT: Final = "death"
SAE_EVENT: Final = "sae"
