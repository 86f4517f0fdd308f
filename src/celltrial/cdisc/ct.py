"""CDISC controlled terminology, shipped as data (``ct/sdtm_ct.json``), and the translations
from celltrial's own codes (UCUM units, protocol routes, dataset terms) to CDISC's.

Only the codelists and terms celltrial writes are shipped, with their CT version
(:data:`CT_VERSION`). ``ct/README.md`` says where they come from.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any, Final

#: UCUM code (as a protocol writes it) -> CDISC UNIT submission value. CDISC keeps one
#: submission value per quantity: pg/mL is ``ng/L``, ng/mL ``ug/L``, cells/uL ``10^6/L``.
UCUM_TO_CDISC: Final[dict[str, str]] = {
    "%": "%",
    "a": "YEARS",
    "d": "DAYS",
    "h": "HOURS",
    "kg": "kg",
    "g/L": "g/L",
    "g/dL": "g/dL",
    "cm": "cm",
    "m": "m",
    "kg/m2": "kg/m2",
    "mm[Hg]": "mmHg",
    "Cel": "C",
    "L": "L",
    "mL": "mL",
    "L/min": "L/min",
    "mL/min": "mL/min",
    "mL/kg": "mL/kg",
    "mg/L": "mg/L",
    "mg/dL": "mg/dL",
    "ug/L": "ug/L",
    "ug/mL": "mg/L",
    "ng/mL": "ug/L",
    "pg/mL": "ng/L",
    "ug/mL{FEU}": "mg/L",
    "mmol/L": "mmol/L",
    "umol/L": "umol/L",
    "U/L": "U/L",
    "[IU]/L": "IU/L",
    "[IU]/mL": "IU/mL",
    "10*9/L": "10^9/L",
    "10*6/L": "10^6/L",
    "cells/uL": "10^6/L",
    "/uL": "10^6/L",
    "{copies}/mL": "copies/mL",
}
#: ``/min`` is a rate whose CDISC unit depends on what is counted.
PER_MINUTE: Final[dict[str, str]] = {"RESP": "breaths/min", "HR": "beats/min", "PULSE": "beats/min"}
#: celltrial's findings test codes that CDISC names otherwise.
TESTCD: Final[dict[str, str]] = {"PAO2FIO2": "PO2FIO2"}
#: Protocol route -> CDISC ROUTE.
ROUTE: Final[dict[str, str]] = {
    "IV": "INTRAVENOUS",
    "IM": "INTRAMUSCULAR",
    "intratracheal": "ENDOTRACHEAL",
    "inhaled": "RESPIRATORY (INHALATION)",
    "oral": "ORAL",
    "transdermal": "TRANSDERMAL",
    "subcutaneous": "SUBCUTANEOUS",
    "topical": "TOPICAL",
    "intrathecal": "INTRATHECAL",
}
#: Dose unit (celltrial) -> CDISC UNIT; cells/kg and mL/kg have none (EX keeps the absolute
#: dose, the per-kg dose goes to SUPPEX).
DOSE_UNIT: Final[dict[str, str]] = {
    "cells": "Therapeutic Cells",
    "mL": "mL",
    "mg": "mg",
    "mg/kg": "mg/kg",
    "mL/kg": "mL/kg",
}
#: celltrial DSDECOD -> CDISC NCOMPLT / PROTMLST.
DSDECOD: Final[dict[str, str]] = {"WITHDRAWN": "WITHDRAWAL BY SUBJECT"}


@functools.cache
def terminology() -> dict[str, Any]:
    """The shipped codelists: ``{"version", "source", "codelists": {name: {...}}}``."""
    text = (resources.files("celltrial.cdisc") / "ct" / "sdtm_ct.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


CT_VERSION: Final = "2025-09-26"


def terms(codelist: str) -> tuple[str, ...]:
    """The submission values shipped for a codelist (``NY`` → ``("N", "Y")``)."""
    return tuple(t["value"] for t in terminology()["codelists"][codelist]["terms"])


def unit(ucum: str | None, testcd: str | None = None) -> str | None:
    """The CDISC UNIT of a UCUM code; the code itself when CDISC has none (``{score}``)."""
    if ucum is None:
        return None
    if ucum == "/min":
        return PER_MINUTE.get(testcd or "", "/min")
    return UCUM_TO_CDISC.get(ucum, ucum)
