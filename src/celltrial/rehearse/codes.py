"""The simulator's SDTM wording of an event, translated to the EDC's form choices."""

from __future__ import annotations

#: AEREL (SDTM) -> the EDC's relatedness choice.
RELATEDNESS = {
    "NOT RELATED": "not_related",
    "UNLIKELY RELATED": "unlikely",
    "POSSIBLY RELATED": "possible",
    "PROBABLY RELATED": "probable",
    "RELATED": "definite",
}
#: AEOUT (SDTM) -> the EDC's outcome choice.
OUTCOME = {
    "RECOVERED/RESOLVED": "recovered",
    "RECOVERING/RESOLVING": "recovering",
    "NOT RECOVERED/NOT RESOLVED": "not_recovered",
    "RECOVERED/RESOLVED WITH SEQUELAE": "recovered_with_sequelae",
    "FATAL": "fatal",
}
#: The SDTM seriousness flag -> the EDC's serious criterion.
SERIOUSNESS = {
    "AESDTH": "death",
    "AESLIFE": "life_threatening",
    "AESHOSP": "hospitalization",
    "AESDISAB": "disability",
    "AESCONG": "congenital_anomaly",
    "AESMIE": "important_medical_event",
}
#: How the simulator words an infusion given outside its window ("Administration 2 outside its
#: window"): the site logs it at once; the monitor logs the other deviations.
INFUSION_DEVIATION = "outside its window"
