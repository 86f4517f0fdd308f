"""The label registry: every code the EDC stores, with the words a person reads and the CDISC
term the export writes. One place for all three.

A vocabulary is a tuple of :class:`Term` (``code`` stored in the database and sent through the
API, ``label`` shown on every page, ``cdisc`` the submission value of the CDISC controlled
terminology the export writes). Models take their ``choices`` from here
(:func:`choices`), actions check codes against it (:func:`codes`), the templates show labels
with the ``label`` filter (``{{ ae.relatedness|label:"relatedness" }}``, in
:mod:`celltrial.edc.templatetags.edc_labels`) and :mod:`celltrial.edc.export` maps codes to
CDISC terms with :func:`cdisc`.

Units are shown as a person writes them: UCUM codes of the protocol's catalogue
(``mm[Hg]``, ``10*9/L``, ``ug/mL{FEU}``) become ``mmHg``, ``× 10^9/L``, ``µg/mL FEU`` (:func:`unit`),
and cell counts ``1.4 × 10^8 cells`` as the protocol's calendar writes them (:func:`amount`).

>>> label("relatedness", "not_related")
'Not related'
>>> label("seriousness", "life_threatening")
'Life-threatening'
>>> unit("mm[Hg]")
'mmHg'
>>> amount(1.4e8, "cells")
'1.4 × 10^8 cells'
"""

from __future__ import annotations

import dataclasses
import math
import re
import zoneinfo
from typing import Final

from celltrial.protocol.units import format_count


@dataclasses.dataclass(frozen=True)
class Term:
    code: str
    label: str
    cdisc: str = ""


_V = tuple[Term, ...]

SERIOUSNESS: Final[_V] = (
    Term("death", "Results in death", "AESDTH"),
    Term("life_threatening", "Life-threatening", "AESLIFE"),
    Term("hospitalization", "Hospitalisation (initial or prolonged)", "AESHOSP"),
    Term("disability", "Persistent or significant disability", "AESDISAB"),
    Term("congenital_anomaly", "Congenital anomaly or birth defect", "AESCONG"),
    Term("important_medical_event", "Other important medical event", "AESMIE"),
)
RELATEDNESS: Final[_V] = (
    Term("not_related", "Not related", "NOT RELATED"),
    Term("unlikely", "Unlikely related", "UNLIKELY RELATED"),
    Term("possible", "Possibly related", "POSSIBLY RELATED"),
    Term("probable", "Probably related", "PROBABLY RELATED"),
    Term("definite", "Definitely related", "RELATED"),
)
OUTCOME: Final[_V] = (
    Term("recovered", "Recovered / resolved", "RECOVERED/RESOLVED"),
    Term("recovering", "Recovering / resolving", "RECOVERING/RESOLVING"),
    Term("not_recovered", "Not recovered / not resolved", "NOT RECOVERED/NOT RESOLVED"),
    Term(
        "recovered_with_sequelae",
        "Recovered / resolved with sequelae",
        "RECOVERED/RESOLVED WITH SEQUELAE",
    ),
    Term("fatal", "Fatal", "FATAL"),
    Term("unknown", "Unknown", "UNKNOWN"),
)
#: Action taken with the study product (CDISC codelist ACN), worded for a cell infusion.
ACTION_TAKEN: Final[_V] = (
    Term("dose_not_changed", "Infusions not changed", "DOSE NOT CHANGED"),
    Term("dose_reduced", "Dose reduced", "DOSE REDUCED"),
    Term("drug_interrupted", "Infusion interrupted or delayed", "DRUG INTERRUPTED"),
    Term("drug_withdrawn", "Product withdrawn (no further infusions)", "DRUG WITHDRAWN"),
    Term("not_applicable", "Not applicable (no infusion given or due)", "NOT APPLICABLE"),
    Term("unknown", "Unknown", "UNKNOWN"),
)
EXPECTEDNESS: Final[_V] = (
    Term("expected", "Expected (in the reference safety information)", "Y"),
    Term("unexpected", "Unexpected", "N"),
)
GRADE: Final[_V] = (
    Term("1", "1 — mild", "1"),
    Term("2", "2 — moderate", "2"),
    Term("3", "3 — severe", "3"),
    Term("4", "4 — life-threatening", "4"),
    Term("5", "5 — death", "5"),
)
#: Missing-data codes a person may give instead of a value (HL7 null flavors, as CDISC ODM
#: uses them). A record not done at all is exported with ``--STAT = NOT DONE``.
MISSING: Final[_V] = (
    Term("not_done", "Not done", "NOT DONE"),
    Term("not_applicable", "Not applicable", "NA"),
    Term("unknown", "Unknown", "UNK"),
    Term("asked_unknown", "Asked but unknown", "ASKU"),
)
#: Routes of a concomitant medication (CDISC codelist ROUTE).
ROUTE: Final[_V] = (
    Term("oral", "Oral", "ORAL"),
    Term("intravenous", "Intravenous", "INTRAVENOUS"),
    Term("subcutaneous", "Subcutaneous", "SUBCUTANEOUS"),
    Term("intramuscular", "Intramuscular", "INTRAMUSCULAR"),
    Term("inhalation", "Inhaled", "RESPIRATORY (INHALATION)"),
    Term("topical", "Topical", "TOPICAL"),
    Term("other", "Other", "OTHER"),
)
#: Dosing frequency of a concomitant medication (CDISC codelist FREQ).
FREQUENCY: Final[_V] = (
    Term("once", "Once", "ONCE"),
    Term("qd", "Once a day", "QD"),
    Term("bid", "Twice a day", "BID"),
    Term("tid", "Three times a day", "TID"),
    Term("qid", "Four times a day", "QID"),
    Term("prn", "As needed", "PRN"),
    Term("continuous", "Continuous", "CONTINUOUS"),
    Term("other", "Other", "OTHER"),
)
YES_NO: Final[_V] = (Term("true", "Yes", "Y"), Term("false", "No", "N"))
#: A data query's state (``Query.status``).
QUERY_STATUS: Final[_V] = (
    Term("open", "Open"),
    Term("answered", "Answered"),
    Term("closed", "Closed"),
)
#: A product lot's state (``Lot.status``).
LOT_STATUS: Final[_V] = (
    Term("quarantine", "In quarantine (not released)"),
    Term("released", "Released"),
    Term("rejected", "Rejected"),
)
#: A participant's state (``Participant.status``).
PARTICIPANT_STATUS: Final[_V] = (
    Term("screened", "Screened"),
    Term("ineligible", "Not eligible"),
    Term("consented", "Consented"),
    Term("enrolled", "Enrolled"),
    Term("randomized", "Randomized"),
    Term("completed", "Completed"),
    Term("withdrawn", "Withdrawn"),
    Term("lost_to_follow_up", "Lost to follow-up"),
    Term("dead", "Dead"),
)
#: How a participant left the trial (``Disposition.kind``; CDISC DSDECOD).
DISPOSITION: Final[_V] = (
    Term("completed", "Completed the study", "COMPLETED"),
    Term("withdrawn", "Withdrawn", "WITHDRAWAL BY SUBJECT"),
    Term("lost_to_follow_up", "Lost to follow-up", "LOST TO FOLLOW-UP"),
    Term("death", "Death", "DEATH"),
)
#: A protocol deviation's category (``Deviation.category``).
DEVIATION_CATEGORY: Final[_V] = (
    Term("major", "Major", "MAJOR"),
    Term("minor", "Minor", "MINOR"),
)
#: A person's role in the trial (``Staff.role``).
ROLE: Final[_V] = (
    Term("investigator", "Investigator"),
    Term("coordinator", "Study coordinator"),
    Term("pharmacist", "Unblinded pharmacist"),
    Term("monitor", "Monitor"),
    Term("data_manager", "Data manager"),
    Term("dsmb", "DSMB statistician"),
    Term("admin", "Administrator"),
    Term("system", "System"),
)
#: The kinds of record (a table name of queries, locks, the audit trail, the edit pages).
RECORD: Final[_V] = (
    Term("participant", "Participant"),
    Term("screening", "Screening form"),
    Term("consent", "Consent"),
    Term("measurement", "Measurement"),
    Term("adverse_event", "Adverse event"),
    Term("medication", "Concomitant medication"),
    Term("medical_history", "Medical history"),
    Term("infusion", "Infusion"),
    Term("visit", "Visit"),
    Term("death", "Death"),
    Term("disposition", "Disposition"),
    Term("clinical_event", "Clinical event"),
    Term("deviation", "Deviation"),
    Term("lot", "Product lot"),
    Term("staff", "Person"),
    Term("site", "Site"),
    Term("query", "Query"),
    Term("randomization", "Randomization"),
    # the audit trail names a record by its model
    Term("trial", "Trial"),
    Term("protocolversion", "Protocol version"),
    Term("apitoken", "API token"),
    Term("screeningrecord", "Screening form"),
    Term("allocationslot", "Allocation list row"),
    Term("unblinding", "Emergency unblinding"),
    Term("visitrecord", "Visit"),
    Term("adverseevent", "Adverse event"),
    Term("concomitantmedication", "Concomitant medication"),
    Term("medicalhistory", "Medical history"),
    Term("clinicalevent", "Clinical event"),
    Term("formlock", "Lock"),
    Term("signature", "Signature"),
    Term("sourceverification", "Source-data verification"),
    Term("releaseresult", "Release result"),
    Term("download", "Download"),
)

VOCABULARIES: Final[dict[str, _V]] = {
    "seriousness": SERIOUSNESS,
    "relatedness": RELATEDNESS,
    "outcome": OUTCOME,
    "action_taken": ACTION_TAKEN,
    "expectedness": EXPECTEDNESS,
    "grade": GRADE,
    "missing": MISSING,
    "route": ROUTE,
    "frequency": FREQUENCY,
    "yes_no": YES_NO,
    "query_status": QUERY_STATUS,
    "lot_status": LOT_STATUS,
    "participant_status": PARTICIPANT_STATUS,
    "disposition": DISPOSITION,
    "deviation_category": DEVIATION_CATEGORY,
    "role": ROLE,
    "record": RECORD,
}

#: The vocabulary of each coded field of a record (any table), for pages that show stored
#: values field by field (a record's page, its audit trail).
FIELD_VOCABULARIES: Final[dict[str, str]] = {
    "relatedness": "relatedness",
    "procedure_relatedness": "relatedness",
    "outcome": "outcome",
    "action_taken": "action_taken",
    "serious_criteria": "seriousness",
    "route": "route",
    "frequency": "frequency",
    "role": "role",
    "category": "deviation_category",
    "kind": "disposition",
    "table": "record",
}
#: The vocabulary of ``status`` by record: the word is shared by participants, queries and lots.
STATUS_VOCABULARIES: Final[dict[str, str]] = {
    "participant": "participant_status",
    "query": "query_status",
    "lot": "lot_status",
}


def field_label(table: str, field: str, value: object) -> str | None:
    """The label of a stored ``value`` of ``table``'s coded ``field`` (a list of codes joined
    with commas, a missing-data dict as ``field: label``); None when the field is not coded.

    >>> field_label("adverse_event", "relatedness", "possible")
    'Possibly related'
    >>> field_label("participant", "status", "lost_to_follow_up")
    'Lost to follow-up'
    >>> field_label("adverse_event", "missing", {"end_at": "unknown"})
    'end_at: Unknown'
    """
    if field == "missing" and isinstance(value, dict):
        return "; ".join(f"{k}: {label('missing', v)}" for k, v in sorted(value.items()))
    name = STATUS_VOCABULARIES.get(table) if field == "status" else FIELD_VOCABULARIES.get(field)
    if name is None:
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(label(name, v) for v in value)
    return label(name, value)


def vocabulary(name: str) -> _V:
    try:
        return VOCABULARIES[name]
    except KeyError:
        raise KeyError(f"no vocabulary {name!r} ({', '.join(VOCABULARIES)})") from None


def codes(name: str) -> tuple[str, ...]:
    """The codes of vocabulary ``name``, in the order the forms list them."""
    return tuple(t.code for t in vocabulary(name))


def choices(name: str) -> list[tuple[str, str]]:
    """(code, label) pairs of vocabulary ``name``: a model field's or a form's choices."""
    return [(t.code, t.label) for t in vocabulary(name)]


def label(name: str, code: object) -> str:
    """The label of ``code`` in vocabulary ``name``; an unknown or empty code as it is."""
    if code is None or code == "":
        return ""
    key = str(code).lower() if isinstance(code, bool) else str(code)
    for t in vocabulary(name):
        if t.code == key:
            return t.label
    return key


def cdisc(name: str, code: object) -> str | None:
    """The CDISC submission value of ``code`` in vocabulary ``name`` (None when empty)."""
    if code is None or code == "":
        return None
    key = str(code).lower() if isinstance(code, bool) else str(code)
    for t in vocabulary(name):
        if t.code == key:
            return t.cdisc
    raise KeyError(f"{code!r} is not a code of {name} ({', '.join(codes(name))})")


_UNITS: Final[dict[str, str]] = {
    "mm[Hg]": "mmHg",
    "10*9/L": "× 10^9/L",
    "10*6/L": "× 10^6/L",
    "10*3/uL": "× 10^3/µL",
    "ug/mL{FEU}": "µg/mL FEU",
    "ug/mL": "µg/mL",
    "uL": "µL",
    "cells/uL": "cells/µL",
    "/min": "per min",
    "a": "years",
    "Cel": "°C",
    "[degF]": "°F",
}
_ANNOTATION = re.compile(r"\{([^}]*)\}")
_MICRO = re.compile(r"(?<![A-Za-z])u(?=(?:g|L|mol|m|IU)\b)")


def unit(code: str | None) -> str:
    """A UCUM unit as a person writes it (``mm[Hg]`` → ``mmHg``, ``{score}`` → ``score``)."""
    if not code:
        return ""
    if code in _UNITS:
        return _UNITS[code]
    text = _ANNOTATION.sub(lambda m: f" {m.group(1)}" if m.start() else m.group(1), code)
    text = _MICRO.sub("µ", text.replace("10*", "× 10^"))
    return text.strip()


def amount(value: float | None, unit_code: str = "") -> str:
    """An amount with its unit: cells as the calendar writes them (``1.4 × 10^8 cells``)."""
    if value is None:
        return ""
    if unit_code in ("cells", "cells/kg"):
        return f"{format_count(value)} {unit_code}"  # as the protocol's calendar writes them
    text = str(int(value)) if math.isfinite(value) and value == int(value) else f"{value:.4g}"
    return f"{text} {unit(unit_code)}".strip()


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone (``Europe/Paris``, ``America/Sao_Paulo``, ``UTC``),
    else ValueError saying so."""
    text = (name or "").strip()
    if not text or text.startswith(("/", ".")) or ".." in text:
        raise ValueError(f"{name!r} is not an IANA time zone name, e.g. Europe/Paris")
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone name, e.g. Europe/Paris or America/Sao_Paulo"
        ) from None
    return text
