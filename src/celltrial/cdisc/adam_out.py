"""ADaM out: celltrial's derivations written as ADaM IG 1.3 datasets (ADSL, ADAE, ADTTE, ADLB).

The derivations are :mod:`celltrial.dataset`'s; this module conforms them: names of at most 8
characters, labels of at most 40, numeric dates (``*DT`` as dates, ``*DTM`` as UTC date-times),
study days with no day 0 (``ADY``/``ASTDY`` = date − TRTSDT + 1 on or after the first dose),
``PARAMCD`` of at most 8 characters, ``CNSR`` with ``EVNTDESC``/``CNSDTDSC``, ``DTHFL`` Y or
blank, treatment variables ``TRT01P``/``TRT01A`` with their numbers.

>>> adam = to_adam(dataset, protocol)                     # doctest: +SKIP
>>> adam.tables["ADTTE"][["USUBJID", "PARAMCD", "AVAL", "CNSR"]]   # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from celltrial.cdisc.sdtm_out import Sdtm
from celltrial.dataset import Dataset, derive_adae, derive_adlb, derive_adsl, derive_adtte
from celltrial.dataset.times import marked
from celltrial.protocol import Protocol

ADAM_LABELS: dict[str, str] = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier",
    "AGE": "Age",
    "AGEU": "Age Units",
    "SEX": "Sex",
    "ARM": "Description of Planned Arm",
    "ACTARM": "Description of Actual Arm",
    "TRT01P": "Planned Treatment for Period 01",
    "TRT01PN": "Planned Treatment for Period 01 (N)",
    "TRT01A": "Actual Treatment for Period 01",
    "TRT01AN": "Actual Treatment for Period 01 (N)",
    "TRTP": "Planned Treatment",
    "TRTA": "Actual Treatment",
    "TRTAN": "Actual Treatment (N)",
    "RANDDT": "Date of Randomization",
    "TRTSDT": "Date of First Exposure to Treatment",
    "TRTSDTM": "Datetime of First Exposure to Treatment",
    "TRTEDT": "Date of Last Exposure to Treatment",
    "TRTEDTM": "Datetime of Last Exposure to Treatment",
    "ITTFL": "Intent-To-Treat Population Flag",
    "SAFFL": "Safety Population Flag",
    "PPROTFL": "Per-Protocol Population Flag",
    "DTHFL": "Subject Death Flag",
    "DTHDT": "Date of Death",
    "EOSSTT": "End of Study Status",
    "DCSREAS": "Reason for Discontinuation from Study",
    "EOSDT": "End of Study Date",
    "LSTALVDT": "Date Last Known Alive",
    "AESEQ": "Sequence Number",
    "AETERM": "Reported Term for the Adverse Event",
    "AEDECOD": "Dictionary-Derived Term",
    "AEBODSYS": "Body System or Organ Class",
    "AESER": "Serious Event",
    "AEREL": "Causality",
    "AETOXGR": "Standard Toxicity Grade",
    "ATOXGR": "Analysis Toxicity Grade",
    "ASTDT": "Analysis Start Date",
    "ASTDTM": "Analysis Start Datetime",
    "ASTDTF": "Analysis Start Date Imputation Flag",
    "ASTDY": "Analysis Start Relative Day",
    "AENDT": "Analysis End Date",
    "AENDY": "Analysis End Relative Day",
    "TRTEMFL": "Treatment Emergent Analysis Flag",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "PARAMN": "Parameter (N)",
    "AVAL": "Analysis Value",
    "AVALC": "Analysis Value (C)",
    "STARTDT": "Time-to-Event Origin Date for Subject",
    "ADT": "Analysis Date",
    "ADTM": "Analysis Datetime",
    "ADY": "Analysis Relative Day",
    "CNSR": "Censor",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
    "SRCDOM": "Source Data",
    "AVISIT": "Analysis Visit",
    "AVISITN": "Analysis Visit (N)",
    "ABLFL": "Baseline Record Flag",
    "BASE": "Baseline Value",
    "CHG": "Change from Baseline",
    "PCHG": "Percent Change from Baseline",
    "ANL01FL": "Analysis Flag 01",
    "EVTYPE": "Event Type (0 cens, 1 event, 2 compet)",
}


class Adam:
    """ADaM datasets (name → table) with their variable labels."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], labels: Mapping[str, dict[str, str]]):
        self.tables = dict(tables)
        self._labels = {k: dict(v) for k, v in labels.items()}

    def labels(self, code: str) -> dict[str, str]:
        own = self._labels.get(code, {})
        return {c: own.get(c, ADAM_LABELS.get(c, c))[:40] for c in self.tables[code].columns}

    def domain_label(self, code: str) -> str:
        return {
            "ADSL": "Subject-Level Analysis Dataset",
            "ADAE": "Adverse Events Analysis Dataset",
            "ADTTE": "Time-to-Event Analysis Dataset",
            "ADLB": "Laboratory Analysis Dataset",
        }.get(code, code)


def short_code(text: str, taken: set[str], width: int = 8) -> str:
    """An upper-case code of at most ``width`` characters, unique among ``taken``
    (``time_to_recovery`` → ``TIMETORE``; a clash gets a digit: ``TIMETOR2``)."""
    base = re.sub(r"[^A-Z0-9]", "", text.upper())[:width] or "P"
    code, i = base, 1
    while code in taken:
        i += 1
        code = base[: width - len(str(i))] + str(i)
    taken.add(code)
    return code


def _date(ts: pd.Series) -> pd.Series:
    """UTC timestamps → dates (``datetime64[ns]`` at midnight), for ``*DT`` variables."""
    t = pd.to_datetime(ts, utc=True)
    return t.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()


def _dtm(ts: pd.Series) -> pd.Series:
    t = pd.to_datetime(ts, utc=True)
    return t.dt.tz_convert("UTC").dt.tz_localize(None)


def relative_day(when: pd.Series, ref: pd.Series) -> pd.Series:
    """ADaM relative day on dates, no day 0: ``date − ref + 1`` on or after ``ref``."""
    d = (_date(when) - _date(ref)).dt.days.astype("float64")
    return d.where(d < 0, d + 1)


def _flag(s: pd.Series) -> pd.Series:
    return s.where(s == "Y", None)


def to_adam(
    dataset: Dataset, protocol: Protocol, *, sdtm: Sdtm | None = None, study: str | None = None
) -> Adam:
    """ADSL, ADAE, ADTTE and (when there are findings) ADLB, conforming to ADaM IG 1.3.

    Parameters
    ----------
    dataset, protocol
        The trial; the derivations are :func:`~celltrial.dataset.derive_adsl` and its siblings.
    sdtm : Sdtm, optional
        The SDTM written from the same dataset (its STUDYID and ARMCD are used).
    study : str, optional
        STUDYID (default: the protocol id in upper case).
    """
    study = study or (sdtm.study if sdtm is not None else protocol.id.upper())
    adsl = derive_adsl(dataset, protocol)
    arm_n = {a.id: float(i) for i, a in enumerate(protocol.arms, start=1)}
    labels: dict[str, dict[str, str]] = {}

    s = pd.DataFrame(
        {
            "STUDYID": study,
            "USUBJID": adsl["USUBJID"],
            "SUBJID": adsl["SUBJID"],
            "SITEID": adsl["SITEID"],
            "AGE": adsl["AGE"].astype("float64"),
            "AGEU": marked(adsl["AGE"].notna(), "YEARS"),
            "SEX": adsl["SEX"],
            "ARM": adsl["ARM"],
            "TRT01P": adsl["TRT01P"],
            "TRT01PN": adsl["ARMCD"].map(arm_n),
            "TRT01A": adsl["TRT01A"],
            "TRT01AN": adsl["ACTARMCD"].map(arm_n),
            "RANDDT": _date(adsl["RANDDTM"]),
            "TRTSDT": _date(adsl["TRTSDTM"]),
            "TRTSDTM": _dtm(adsl["TRTSDTM"]),
            "TRTEDT": _date(adsl["TRTEDTM"]),
            "TRTEDTM": _dtm(adsl["TRTEDTM"]),
            "ITTFL": adsl["ITTFL"],
            "SAFFL": adsl["SAFFL"],
            "PPROTFL": adsl["PPROTFL"],
            "DTHFL": _flag(adsl["DTHFL"]),
            "DTHDT": _date(adsl["DTHDTM"]),
            "EOSSTT": adsl["EOSSTT"],
            "DCSREAS": adsl["DCSREAS"],
            "EOSDT": _date(adsl["EOSDTM"]),
            "LSTALVDT": _date(adsl["LSTCNDTM"]),
        }
    )
    taken: set[str] = set(s.columns)
    strata = [c for c in adsl.columns if c.startswith("STRAT_")]
    labels["ADSL"] = {}
    for i, col in enumerate(strata, start=1):
        name = f"STRAT{i}R"
        s[name] = adsl[col].to_numpy()
        labels["ADSL"][name] = f"Stratum {col.removeprefix('STRAT_').lower()} as randomized"[:40]
    for col in [c for c in adsl.columns if c.startswith("BL_")]:
        name = short_code(col.removeprefix("BL_")[:6] + "BL", taken)
        s[name] = adsl[col].to_numpy()
        labels["ADSL"][name] = f"Baseline {col.removeprefix('BL_')}"[:40]
    trtsdt = adsl.set_index("USUBJID")["TRTSDTM"]
    tables: dict[str, pd.DataFrame] = {"ADSL": s}

    ae = derive_adae(dataset, protocol, adsl=adsl)
    a = pd.DataFrame(
        {
            "STUDYID": study,
            "USUBJID": ae["USUBJID"],
            "AESEQ": ae["AESEQ"].astype("float64"),
            "TRTA": ae["TRT01A"],
            "TRTAN": ae["USUBJID"].map(adsl.set_index("USUBJID")["ACTARMCD"]).map(arm_n),
            "AETERM": ae["AETERM"],
            "AEDECOD": ae["AEDECOD"],
            "AEBODSYS": ae["AEBODSYS"],
            "AESER": ae["AESER"],
            "AEREL": ae["AEREL"],
            "AETOXGR": ae["AETOXGR"].map(lambda g: None if g is pd.NA or g is None else str(g)),
            "ATOXGR": ae["ATOXGR"].astype("float64"),
            "ASTDT": _date(ae["ASTDTM"]),
            "ASTDTM": _dtm(ae["ASTDTM"]),
            "ASTDTF": ae["ASTDTMF"].where(ae["ASTDTMF"].isin(["D", "M", "Y"]), None),
            "ASTDY": relative_day(ae["ASTDTM"], ae["USUBJID"].map(trtsdt)),
            "AENDT": _date(ae["AENDTM"]),
            "AENDY": relative_day(ae["AENDTM"], ae["USUBJID"].map(trtsdt)),
            "TRTEMFL": _flag(ae["TRTEMFL"]),
            "SAFFL": ae["SAFFL"],
        }
    )
    labels["ADAE"] = {}
    for i, w in enumerate(protocol.safety.windows, start=1):
        name = f"WIN{i:02d}FL"
        a[name] = _flag(ae[f"WIN_{w.id.upper()}"])
        labels["ADAE"][name] = w.label[:40]
    tables["ADAE"] = a

    tte = derive_adtte(dataset, protocol, adsl=adsl)
    taken_p: set[str] = set()
    codes = {e.id: short_code(e.id, taken_p) for e in protocol.endpoints}
    t = pd.DataFrame(
        {
            "STUDYID": study,
            "USUBJID": tte["USUBJID"],
            "TRTP": tte["TRT01P"],
            "TRTA": tte["TRT01A"],
            "PARAMCD": tte["PARAMCD"].map(codes),
            "PARAM": tte["PARAM"].map(lambda v: f"{v} (days)"[:200]),
            "PARAMN": tte["PARAMN"].astype("float64"),
            "AVAL": tte["AVAL"].astype("float64"),
            "STARTDT": _date(tte["STARTDTM"]),
            "ADT": _date(tte["ADTM"]),
            "ADTM": _dtm(tte["ADTM"]),
            "CNSR": tte["CNSR"].astype("float64"),
            "EVNTDESC": tte["EVNTDESC"],
            "CNSDTDSC": tte["CNSDTDSC"],
            "EVTYPE": tte["EVTYPE"].astype("float64"),
            "ITTFL": tte["ITTFL"],
            "SAFFL": tte["SAFFL"],
            "PPROTFL": tte["PPROTFL"],
        }
    )
    tables["ADTTE"] = t

    domains = tuple(dataset.findings_domains)
    if "LB" in domains:
        lb = derive_adlb(dataset, protocol, domains=("LB",), adsl=adsl)
        tables["ADLB"] = pd.DataFrame(
            {
                "STUDYID": study,
                "USUBJID": lb["USUBJID"],
                "TRTP": lb["USUBJID"].map(adsl.set_index("USUBJID")["TRT01P"]),
                "PARAMCD": lb["PARAMCD"].map(lambda c: {"PAO2FIO2": "PO2FIO2"}.get(c, c)),
                "PARAM": lb["PARAM"],
                "AVAL": lb["AVAL"].astype("float64"),
                "AVALC": lb["AVALC"],
                "ADT": _date(lb["ADTM"]),
                "ADTM": _dtm(lb["ADTM"]),
                "ADY": relative_day(lb["ADTM"], lb["USUBJID"].map(trtsdt)),
                "AVISIT": lb["AVISIT"],
                "AVISITN": lb["AVISITN"].astype("float64"),
                "ABLFL": lb["ABLFL"],
                "BASE": lb["BASE"].astype("float64"),
                "CHG": lb["CHG"].astype("float64"),
                "PCHG": lb["PCHG"].astype("float64"),
                "ANL01FL": lb["ANL01FL"],
                "ITTFL": lb["USUBJID"].map(adsl.set_index("USUBJID")["ITTFL"]),
            }
        )
    for code, tab in tables.items():
        tab = tab.reset_index(drop=True)
        for col in tab.columns:
            if tab[col].dtype == object:
                tab[col] = tab[col].where(tab[col].notna(), None)
        tables[code] = tab
    return Adam(tables, labels)
