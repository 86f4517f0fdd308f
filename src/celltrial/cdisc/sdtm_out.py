"""SDTM out: celltrial's dataset written as SDTM (SDTMIG 3.4, as far as the trial's data go).

:func:`to_sdtm` transforms a :class:`~celltrial.dataset.Dataset` and its protocol into SDTM
domains — DM, DS, EX, AE, CE, DV, CM, MH, the findings domains (LB, VS, …), SV and SE from the visits
and doses, the trial design domains TS, TA, TE, TV and TI from the protocol, and SUPP-- for what
has no standard variable — each with a ``DOMAIN`` column, ``--SEQ``, study days (``--DY``, no
day 0), CDISC controlled terminology (:mod:`celltrial.cdisc.ct`) and names of at most 8
characters, labels of at most 40. Dates keep the precision that was collected (a date stays a
date); celltrial's times are UTC and are written without a zone designator (``T14:00``).

>>> sdtm = to_sdtm(dataset, protocol)                     # doctest: +SKIP
>>> sdtm.tables["DM"].columns[:4].tolist()                # doctest: +SKIP
['STUDYID', 'DOMAIN', 'USUBJID', 'SUBJID']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from celltrial.cdisc import ct
from celltrial.dataset import Dataset, testcd_of
from celltrial.dataset.schema import FINDINGS_DOMAINS, STRATUM_PREFIX
from celltrial.dataset.times import marked
from celltrial.protocol import Protocol

#: Labels of the SDTM variables written (≤ 40 characters), by name; ``--`` stands for the
#: domain prefix.
LABELS: dict[str, str] = {
    "STUDYID": "Study Identifier",
    "DOMAIN": "Domain Abbreviation",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "RFSTDTC": "Subject Reference Start Date/Time",
    "RFENDTC": "Subject Reference End Date/Time",
    "RFXSTDTC": "Date/Time of First Study Treatment",
    "RFXENDTC": "Date/Time of Last Study Treatment",
    "RFICDTC": "Date/Time of Informed Consent",
    "RFPENDTC": "Date/Time of End of Participation",
    "DTHDTC": "Date/Time of Death",
    "DTHFL": "Subject Death Flag",
    "SITEID": "Study Site Identifier",
    "AGE": "Age",
    "AGEU": "Age Units",
    "SEX": "Sex",
    "ARMCD": "Planned Arm Code",
    "ARM": "Description of Planned Arm",
    "ACTARMCD": "Actual Arm Code",
    "ACTARM": "Description of Actual Arm",
    "ARMNRS": "Reason Arm and/or Actual Arm is Null",
    "COUNTRY": "Country",
    "--SEQ": "Sequence Number",
    "--TERM": "Reported Term",
    "--DECOD": "Dictionary-Derived Term",
    "--CAT": "Category",
    "--STDTC": "Start Date/Time",
    "--ENDTC": "End Date/Time",
    "--STDY": "Study Day of Start",
    "--ENDY": "Study Day of End",
    "--DTC": "Date/Time of Collection",
    "--DY": "Study Day of Collection",
    "DSDECOD": "Standardized Disposition Term",
    "DSCAT": "Category for Disposition Event",
    "EPOCH": "Epoch",
    "EXTRT": "Name of Treatment",
    "EXDOSE": "Dose",
    "EXDOSU": "Dose Units",
    "EXDOSFRM": "Dose Form",
    "EXROUTE": "Route of Administration",
    "EXLOT": "Lot Number",
    "EXADJ": "Reason for Dose Adjustment",
    "AEBODSYS": "Body System or Organ Class",
    "AETOXGR": "Standard Toxicity Grade",
    "AESER": "Serious Event",
    "AEREL": "Causality",
    "AEOUT": "Outcome of Adverse Event",
    "AEACN": "Action Taken with Study Treatment",
    "AESDTH": "Results in Death",
    "AESLIFE": "Is Life Threatening",
    "AESHOSP": "Requires or Prolongs Hospitalization",
    "AESDISAB": "Persist or Signif Disability/Incapacity",
    "AESCONG": "Congenital Anomaly or Birth Defect",
    "AESMIE": "Other Medically Important Serious Event",
    "CEOCCUR": "Clinical Event Occurrence",
    "--ENRTPT": "End Relative to Reference Time Point",
    "--ENTPT": "End Reference Time Point",
    "CMTRT": "Reported Name of Drug, Med, or Therapy",
    "CMINDC": "Indication",
    "CMDOSE": "Dose per Administration",
    "CMDOSU": "Dose Units",
    "CMDOSFRQ": "Dosing Frequency per Interval",
    "CMROUTE": "Route of Administration",
    "--TESTCD": "Short Name of Test",
    "--TEST": "Name of Test",
    "--ORRES": "Result or Finding in Original Units",
    "--ORRESU": "Original Units",
    "--STRESC": "Character Result/Finding in Std Format",
    "--STRESN": "Numeric Result/Finding in Standard Units",
    "--STRESU": "Standard Units",
    "--STAT": "Completion Status",
    "--REASND": "Reason Not Done",
    "--SPEC": "Specimen Type",
    "VISITNUM": "Visit Number",
    "VISIT": "Visit Name",
    "SVSTDTC": "Start Date/Time of Visit",
    "SVENDTC": "End Date/Time of Visit",
    "ETCD": "Element Code",
    "ELEMENT": "Description of Element",
    "SESTDTC": "Start Date/Time of Element",
    "SEENDTC": "End Date/Time of Element",
    "TAETORD": "Planned Order of Element within Arm",
    "TESTRL": "Rule for Start of Element",
    "TEENRL": "Rule for End of Element",
    "TEDUR": "Planned Duration of Element",
    "TABRANCH": "Branch",
    "VISITDY": "Planned Study Day of Visit",
    "TVSTRL": "Visit Start Rule",
    "TSSEQ": "Sequence Number",
    "TSPARMCD": "Trial Summary Parameter Short Name",
    "TSPARM": "Trial Summary Parameter",
    "TSVAL": "Parameter Value",
    "IETESTCD": "Incl/Excl Criterion Short Name",
    "IETEST": "Inclusion/Exclusion Criterion",
    "IECAT": "Inclusion/Exclusion Category",
    "RDOMAIN": "Related Domain Abbreviation",
    "IDVAR": "Identifying Variable",
    "IDVARVAL": "Identifying Variable Value",
    "QNAM": "Qualifier Variable Name",
    "QLABEL": "Qualifier Variable Label",
    "QVAL": "Data Value",
    "QORIG": "Origin",
}
DOMAIN_LABELS: dict[str, str] = {
    "DM": "Demographics",
    "DS": "Disposition",
    "EX": "Exposure",
    "AE": "Adverse Events",
    "CE": "Clinical Events",
    "DV": "Protocol Deviations",
    "CM": "Concomitant/Prior Medications",
    "MH": "Medical History",
    "SV": "Subject Visits",
    "SE": "Subject Elements",
    "TS": "Trial Summary",
    "TA": "Trial Arms",
    "TE": "Trial Elements",
    "TV": "Trial Visits",
    "TI": "Trial Inclusion/Exclusion Criteria",
    "LB": "Laboratory Test Results",
    "VS": "Vital Signs",
    "QS": "Questionnaires",
    "FT": "Functional Tests",
    "PR": "Procedures",
    "MO": "Morphology",
    "RE": "Respiratory System Findings",
    "IS": "Immunogenicity Specimen Assessments",
    "SC": "Subject Characteristics",
    "XC": "Chest Imaging (custom)",
}
#: celltrial's findings code CT (chest imaging) is not an SDTM domain; it is written as the
#: custom domain XC.
DOMAIN_CODE: dict[str, str] = {"CT": "XC"}


def label(domain: str, name: str) -> str:
    """The label of a variable of ``domain`` (``AESTDTC`` → ``Start Date/Time of Adverse Event``
    is shortened to the generic ``Start Date/Time``)."""
    if name in LABELS:
        return LABELS[name]
    generic = "--" + name[2:] if name.startswith(domain) else name
    return LABELS.get(generic, name)[:40]


@dataclasses.dataclass(frozen=True)
class Sdtm:
    """SDTM domains (code → table) and the labels of their variables."""

    tables: Mapping[str, pd.DataFrame]
    study: str

    def labels(self, code: str) -> dict[str, str]:
        return {c: label(code, c) for c in self.tables[code].columns}

    def domain_label(self, code: str) -> str:
        if code.startswith("SUPP"):
            return f"Supplemental Qualifiers for {code[4:]}"
        return DOMAIN_LABELS.get(code, code)


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


def dtc(text: pd.Series) -> pd.Series:
    """celltrial ISO 8601 (UTC, ``Z``) to SDTM --DTC: the collected precision, no ``Z``."""
    s = text.astype("object").where(text.notna(), None)
    return s.map(lambda v: v[:-1] if isinstance(v, str) and v.endswith("Z") else v)


def study_day(when: pd.Series, ref: pd.Series) -> pd.Series:
    """SDTM study day: date − reference date + 1 on or after it, date − reference date before
    (no day 0). Partial dates give no study day."""
    a = pd.to_datetime(when.map(lambda v: v[:10] if isinstance(v, str) and len(v) >= 10 else None))
    b = pd.to_datetime(ref.map(lambda v: v[:10] if isinstance(v, str) and len(v) >= 10 else None))
    d = (a - b).dt.days.astype("float64")
    return d.where(d < 0, d + 1)


def _per_subject(table: pd.DataFrame, col: str, how: str) -> pd.Series:
    """The first (``min``) or last (``max``) ISO 8601 value of ``col`` per participant."""
    t = table[table[col].notna()]
    g = t.groupby("USUBJID")[col]
    return g.max() if how == "max" else g.min()


def _seq(table: pd.DataFrame, prefix: str, order: list[str]) -> pd.DataFrame:
    table = table.sort_values(["USUBJID", *order], kind="stable").reset_index(drop=True)
    table[f"{prefix}SEQ"] = (table.groupby("USUBJID").cumcount() + 1).astype("float64")
    return table


def _ordered(table: pd.DataFrame, front: list[str]) -> pd.DataFrame:
    cols = [c for c in front if c in table] + [c for c in table.columns if c not in front]
    return table[cols]


# --------------------------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------------------------


def _dm(ds: Dataset, p: Protocol, study: str, rfst: pd.Series) -> pd.DataFrame:
    dm = ds.dm
    ex = ds.table("EX")
    last_ex = _per_subject(ex, "EXENDTC", "max")
    first_ex = _per_subject(ex, "EXSTDTC", "min")
    ends = ds.table("DS")
    last_ds = _per_subject(ends, "DSSTDTC", "max")
    ids = dm["USUBJID"]
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "DM",
            "USUBJID": ids,
            "SUBJID": dm["SUBJID"],
            "RFSTDTC": dtc(rfst),
            "RFENDTC": dtc(ids.map(last_ex).where(ids.map(last_ex).notna(), dm["RFENDTC"])),
            "RFXSTDTC": dtc(ids.map(first_ex)),
            "RFXENDTC": dtc(ids.map(last_ex)),
            "RFICDTC": dtc(dm["RFICDTC"]),
            "RFPENDTC": dtc(ids.map(last_ds)),
            "DTHDTC": dtc(dm["DTHDTC"]),
            "DTHFL": marked(dm["DTHDTC"].notna() | (dm["DTHFL"] == "Y")),
            "SITEID": dm["SITEID"],
            "AGE": dm["AGE"].astype("float64"),
            "AGEU": marked(dm["AGE"].notna(), "YEARS"),
            "SEX": dm["SEX"],
            "ARMCD": dm["ARMCD"].map(lambda a: _armcd(a) or None),
            "ARM": dm["ARM"],
            "ACTARMCD": dm["ACTARMCD"].map(lambda a: _armcd(a) or None),
            "ACTARM": dm["ACTARM"],
            "COUNTRY": dm["COUNTRY"],
        }
    )
    not_treated = dm["ACTARMCD"] == "NOTTRT"
    out.loc[not_treated.to_numpy(), ["ACTARMCD", "ACTARM"]] = None
    out["ARMNRS"] = marked(not_treated, "ASSIGNED, NOT TREATED")
    return out


def _armcd(arm: object) -> str:
    """ARMCD: the protocol arm id in upper case, at most 20 characters (SDTMIG)."""
    return str(arm).upper()[:20] if isinstance(arm, str) else ""


def _supp(rdomain: str, study: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    cols = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL"]
    out = pd.DataFrame(rows, columns=[*cols[2:], "QORIG"])
    out.insert(0, "RDOMAIN", rdomain)
    out.insert(0, "STUDYID", study)
    return out[[*cols, "QORIG"]]


def _suppdm(ds: Dataset, p: Protocol, study: str) -> pd.DataFrame:
    dm = ds.dm
    rows: list[dict[str, object]] = []
    factors = [c for c in dm.columns if c.startswith(STRATUM_PREFIX)]
    for uid, rand in zip(dm["USUBJID"], dm["RANDDTC"], strict=True):
        if isinstance(rand, str):
            rows.append(_q(uid, "RANDDTC", "Date/Time of Randomization", dtc(pd.Series([rand]))[0]))
    for i, col in enumerate(factors, start=1):
        what = col.removeprefix(STRATUM_PREFIX).lower()
        for uid, v in zip(dm["USUBJID"], dm[col], strict=True):
            if v is not None and v == v:
                rows.append(_q(uid, f"STRAT{i}", f"Stratum as randomized: {what}"[:40], str(v)))
    return _supp("DM", study, rows)


def _q(uid: object, qnam: str, qlabel: str, qval: object, *, idvar: str = "", idval: str = ""):  # type: ignore[no-untyped-def]
    return {
        "USUBJID": uid,
        "IDVAR": idvar or None,
        "IDVARVAL": idval or None,
        "QNAM": qnam,
        "QLABEL": qlabel,
        "QVAL": qval,
        "QORIG": "CRF",
    }


def _ds(ds: Dataset, study: str, rfst: pd.Series) -> pd.DataFrame:
    t = ds.table("DS")
    decod = t["DSDECOD"].map(lambda d: ct.DSDECOD.get(d, d) if isinstance(d, str) else d)
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "DS",
            "USUBJID": t["USUBJID"],
            "DSTERM": t["DSTERM"].where(t["DSTERM"].notna(), decod),
            "DSDECOD": decod,
            "DSCAT": t["DSCAT"].where(
                t["DSCAT"].notna(),
                np.where(
                    decod.isin(ct.terms("PROTMLST")), "PROTOCOL MILESTONE", "DISPOSITION EVENT"
                ),
            ),
            "DSSTDTC": dtc(t["DSSTDTC"]),
        }
    )
    out["DSSTDY"] = study_day(out["DSSTDTC"], out["USUBJID"].map(rfst))
    return _seq(out, "DS", ["DSSTDTC"])


def _ex(ds: Dataset, p: Protocol, study: str, rfst: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = ds.table("EX")
    arms = {a.id: a for a in p.arms}
    product = t["EXTRT"].map(lambda a: arms[a].product.name if a in arms else a)
    route = t["EXTRT"].map(lambda a: ct.ROUTE.get(arms[a].product.route) if a in arms else None)
    form = t["EXTRT"].map(
        lambda a: (
            "PATCH"
            if a in arms and arms[a].product.route == "transdermal"
            else "SUSPENSION"
            if a in arms and arms[a].product.kind == "living_cells"
            else "SOLUTION"
            if a in arms and arms[a].product.route == "IV"
            else None
        )
    )
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "EX",
            "USUBJID": t["USUBJID"],
            "EXTRT": product,
            "EXDOSE": t["EXDOSE"].astype("float64"),
            "EXDOSU": t["EXDOSU"].map(
                lambda u: ct.DOSE_UNIT.get(u, u) if isinstance(u, str) else u
            ),
            "EXDOSFRM": form,
            "EXROUTE": route,
            "EXLOT": t["EXLOT"],
            "EXADJ": t["EXDEVRS"],
            "EXSTDTC": dtc(t["EXSTDTC"]),
            "EXENDTC": dtc(t["EXENDTC"]),
            "XPLDOS": t["EXPLDOS"],
            "XNUM": t["EXNUM"],
            "XDEV": t["EXDEVFL"],
        }
    )
    out["EXSTDY"] = study_day(out["EXSTDTC"], out["USUBJID"].map(rfst))
    out["EXENDY"] = study_day(out["EXENDTC"], out["USUBJID"].map(rfst))
    out = _seq(out, "EX", ["EXSTDTC"])
    rows: list[dict[str, object]] = []
    for r in out.itertuples(index=False):
        seq = f"{r.EXSEQ:g}"
        if r.XPLDOS == r.XPLDOS and r.XPLDOS is not None:
            rows.append(
                _q(r.USUBJID, "EXPLDOS", "Planned Dose", f"{r.XPLDOS:g}", idvar="EXSEQ", idval=seq)
            )
        if r.XNUM is not None and r.XNUM is not pd.NA:
            rows.append(
                _q(
                    r.USUBJID,
                    "EXNUM",
                    "Administration Number",
                    str(r.XNUM),
                    idvar="EXSEQ",
                    idval=seq,
                )
            )
        if r.XDEV == "Y":
            rows.append(
                _q(r.USUBJID, "EXDEVFL", "Dose or Timing Deviation", "Y", idvar="EXSEQ", idval=seq)
            )
    return out.drop(columns=["XPLDOS", "XNUM", "XDEV"]), _supp("EX", study, rows)


_AE_FLAGS = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")


def _ae(ds: Dataset, study: str, rfst: pd.Series) -> pd.DataFrame:
    t = ds.table("AE")
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "AE",
            "USUBJID": t["USUBJID"],
            "AETERM": t["AETERM"],
            "AEDECOD": t["AEDECOD"],
            "AEBODSYS": t["AEBODSYS"],
            "AESER": t["AESER"],
            "AEACN": t["AEACN"],
            "AEREL": t["AEREL"],
            "AEOUT": t["AEOUT"],
            **{f: t[f] for f in _AE_FLAGS},
            "AETOXGR": t["AETOXGR"].map(lambda g: None if g is pd.NA or g is None else str(g)),
            "AESTDTC": dtc(t["AESTDTC"]),
            "AEENDTC": dtc(t["AEENDTC"]),
        }
    )
    ongoing = t["AEENRTPT"].eq("ONGOING").fillna(False).to_numpy(dtype=bool)
    out["AEENRTPT"] = ["ONGOING" if x else None for x in ongoing]
    out["AEENTPT"] = ["END OF STUDY" if x else None for x in ongoing]
    for col in _AE_SUPP:
        out[col] = t[col].to_numpy()
    ref = out["USUBJID"].map(rfst)
    out["AESTDY"] = study_day(out["AESTDTC"], ref)
    out["AEENDY"] = study_day(out["AEENDTC"], ref)
    return _seq(out, "AE", ["AESTDTC"])


#: Safety-CRF columns of the dataset's AE that SDTM keeps in SUPPAE: QNAM -> QLABEL.
_AE_SUPP: dict[str, str] = {
    "AERELPR": "Causality to the Infusion Procedure",
    "AEEXPFL": "Expected Adverse Event",
    "AEINFFL": "Pre-specified Infusion-Associated Event",
    "AEMISS": "Missing-Data Codes (COLUMN=CODE)",
}


def _supp_rows(out: pd.DataFrame, prefix: str, qnams: Mapping[str, str]) -> list[dict[str, object]]:
    """SUPP-- rows of the columns ``qnams`` of ``out`` (one per non-blank value), by --SEQ."""
    rows: list[dict[str, object]] = []
    for _, r in out.iterrows():
        seq = f"{r[f'{prefix}SEQ']:g}"
        for qnam, qlabel in qnams.items():
            v = r.get(qnam)
            if isinstance(v, str) and v:
                rows.append(_q(r["USUBJID"], qnam, qlabel, v, idvar=f"{prefix}SEQ", idval=seq))
    return rows


def _split_supp(
    out: pd.DataFrame, prefix: str, study: str, qnams: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``out`` without the columns ``qnams``, and its SUPP-- table of them."""
    supp = _supp(prefix, study, _supp_rows(out, prefix, qnams))
    return out.drop(columns=[c for c in qnams if c in out]), supp


def _cm(ds: Dataset, study: str, rfst: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CM: prior and concomitant medications; a history not taken is CMSTAT = NOT DONE."""
    t = ds.table("CM")
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "CM",
            "USUBJID": t["USUBJID"],
            "CMTRT": t["CMTRT"],
            "CMINDC": t["CMINDC"],
            "CMDOSE": t["CMDOSE"].astype("float64"),
            "CMDOSU": t["CMDOSU"],
            "CMDOSFRQ": t["CMDOSFRQ"],
            "CMROUTE": t["CMROUTE"],
            "CMSTAT": t["CMSTAT"],
            "CMREASND": t["CMREASND"],
            "CMSTDTC": dtc(t["CMSTDTC"]),
            "CMENDTC": dtc(t["CMENDTC"]),
            "CMENRTPT": t["CMENRTPT"],
            "CMMISS": t["CMMISS"],
        }
    )
    ongoing = out["CMENRTPT"].eq("ONGOING").fillna(False).to_numpy(dtype=bool)
    out["CMENTPT"] = ["END OF STUDY" if x else None for x in ongoing]
    ref = out["USUBJID"].map(rfst)
    out["CMSTDY"] = study_day(out["CMSTDTC"], ref)
    out["CMENDY"] = study_day(out["CMENDTC"], ref)
    out = _seq(out, "CM", ["CMSTDTC"])
    return _split_supp(out, "CM", study, {"CMMISS": "Missing-Data Codes (COLUMN=CODE)"})


def _mh(ds: Dataset, study: str, rfst: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MH: medical history; a history not taken is MHSTAT = NOT DONE."""
    t = ds.table("MH")
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "MH",
            "USUBJID": t["USUBJID"],
            "MHTERM": t["MHTERM"],
            "MHSTAT": t["MHSTAT"],
            "MHREASND": t["MHREASND"],
            "MHSTDTC": dtc(t["MHSTDTC"]),
            "MHENDTC": dtc(t["MHENDTC"]),
            "MHENRTPT": t["MHENRTPT"],
            "MHMISS": t["MHMISS"],
        }
    )
    ongoing = out["MHENRTPT"].eq("ONGOING").fillna(False).to_numpy(dtype=bool)
    out["MHENTPT"] = ["END OF STUDY" if x else None for x in ongoing]
    ref = out["USUBJID"].map(rfst)
    out["MHSTDY"] = study_day(out["MHSTDTC"], ref)
    out["MHENDY"] = study_day(out["MHENDTC"], ref)
    out = _seq(out, "MH", ["MHSTDTC"])
    return _split_supp(out, "MH", study, {"MHMISS": "Missing-Data Codes (COLUMN=CODE)"})


def _ce(ds: Dataset, p: Protocol, study: str, rfst: pd.Series) -> pd.DataFrame:
    t = ds.table("CE")
    labels = {e.code: e.label for e in p.events}
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "CE",
            "USUBJID": t["USUBJID"],
            "CETERM": t["CETERM"].where(t["CETERM"].notna(), t["CEDECOD"].map(labels)),
            "CEDECOD": t["CEDECOD"].map(lambda c: str(c).upper() if isinstance(c, str) else c),
            "CEOCCUR": t["CEOCCUR"],
            "CESTDTC": dtc(t["CESTDTC"]),
        }
    )
    out["CESTDY"] = study_day(out["CESTDTC"], out["USUBJID"].map(rfst))
    return _seq(out, "CE", ["CESTDTC"])


def _dv(ds: Dataset, study: str, rfst: pd.Series) -> pd.DataFrame:
    t = ds.table("DV")
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "DV",
            "USUBJID": t["USUBJID"],
            "DVTERM": t["DVTERM"],
            "DVCAT": t["DVCAT"],
            "DVSTDTC": dtc(t["DVSTDTC"]),
        }
    )
    out["DVSTDY"] = study_day(out["DVSTDTC"], out["USUBJID"].map(rfst))
    return _seq(out, "DV", ["DVSTDTC"])


def _findings(ds: Dataset, p: Protocol, code: str, study: str, rfst: pd.Series) -> pd.DataFrame:
    t = ds.table(code)
    dom = DOMAIN_CODE.get(code, code)
    q = code
    visits = {v.id: v.label.upper() for v in p.schedule.visits}
    testcd = t[f"{q}TESTCD"].map(lambda c: ct.TESTCD.get(c, c) if isinstance(c, str) else c)
    orresu = pd.Series(
        [ct.unit(u, c) for u, c in zip(t[f"{q}ORRESU"], testcd, strict=True)], index=t.index
    )
    stresu = t[f"{q}STRESU"].where(t[f"{q}STRESU"].notna(), t[f"{q}ORRESU"])
    stresu = pd.Series([ct.unit(u, c) for u, c in zip(stresu, testcd, strict=True)], index=t.index)
    stresc = t[f"{q}STRESC"].where(t[f"{q}STRESC"].notna(), t[f"{q}ORRES"])
    stresn = pd.to_numeric(t[f"{q}STRESN"], errors="coerce")
    stresn = stresn.where(stresn.notna(), pd.to_numeric(stresc, errors="coerce"))
    d = dom
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": dom,
            "USUBJID": t["USUBJID"],
            f"{d}TESTCD": testcd,
            f"{d}TEST": t[f"{q}TEST"],
            f"{d}ORRES": t[f"{q}ORRES"],
            f"{d}ORRESU": orresu.where(t[f"{q}ORRES"].notna(), None),
            f"{d}STRESC": stresc,
            f"{d}STRESN": stresn.astype("float64"),
            f"{d}STRESU": stresu.where(stresn.notna(), None),
            f"{d}STAT": t[f"{q}STAT"],
            f"{d}REASND": t[f"{q}REASND"],
            f"{d}SPEC": t[f"{q}SPEC"],
            "VISITNUM": pd.to_numeric(t["VISITNUM"], errors="coerce").astype("float64"),
            "VISIT": t["VISIT"].map(
                lambda v: visits.get(v, str(v).upper()) if isinstance(v, str) else v
            ),
            f"{d}DTC": dtc(t[f"{q}DTC"]),
        }
    )
    out[f"{d}DY"] = study_day(out[f"{d}DTC"], out["USUBJID"].map(rfst))
    for c in (f"{d}REASND", f"{d}SPEC", f"{d}STAT"):
        if out[c].isna().all():
            out = out.drop(columns=c)
    return _seq(out, d, ["VISITNUM", f"{d}DTC", f"{d}TESTCD"])


def _sv(tables: dict[str, pd.DataFrame], study: str, rfst: pd.Series) -> pd.DataFrame:
    parts = []
    for code, t in tables.items():
        if "VISITNUM" in t and f"{code}DTC" in t:
            parts.append(
                t[["USUBJID", "VISITNUM", "VISIT", f"{code}DTC"]].set_axis(
                    ["USUBJID", "VISITNUM", "VISIT", "DTC"], axis=1
                )
            )
    cols = ["STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "VISIT", "SVSTDTC", "SVENDTC", "SVSTDY"]
    if not parts:
        return pd.DataFrame(columns=cols)
    f = pd.concat(parts, ignore_index=True).dropna(subset=["VISITNUM", "DTC"])
    f = f[f["VISIT"] != "UNSCHEDULED"]
    g = f.groupby(["USUBJID", "VISITNUM", "VISIT"], as_index=False)["DTC"].agg(["min", "max"])
    out = pd.DataFrame(
        {
            "STUDYID": study,
            "DOMAIN": "SV",
            "USUBJID": g["USUBJID"],
            "VISITNUM": g["VISITNUM"].astype("float64"),
            "VISIT": g["VISIT"],
            "SVSTDTC": g["min"],
            "SVENDTC": g["max"],
        }
    )
    out["SVSTDY"] = study_day(out["SVSTDTC"], out["USUBJID"].map(rfst))
    return out.sort_values(["USUBJID", "VISITNUM"]).reset_index(drop=True)[cols]


def _elements(p: Protocol) -> list[tuple[str, str, str, str]]:
    """(ETCD, ELEMENT, start rule, end rule) of the trial's elements."""
    out = [("SCRN", "Screening", "Informed consent", "Randomization")]
    for a in p.arms:
        out.append(
            (
                _armcd(a.id)[:8],
                f"{a.product.name}"[:40],
                "First administration of " + a.product.name,
                "Last administration",
            )
        )
    out.append(("FU", "Follow-up", "After the last administration", "End of study"))
    return out


def _se(ds: Dataset, p: Protocol, study: str, dm: pd.DataFrame) -> pd.DataFrame:
    rows = []
    src = ds.dm.set_index("USUBJID")
    ex = ds.table("EX")
    first = _per_subject(ex, "EXSTDTC", "min")
    last = _per_subject(ex, "EXENDTC", "max")
    end = dm.set_index("USUBJID")["RFPENDTC"]
    for uid in src.index:
        consent, rand, arm = src.at[uid, "RFICDTC"], src.at[uid, "RANDDTC"], src.at[uid, "ACTARMCD"]
        rows.append((uid, "SCRN", "Screening", consent, rand, "SCREENING"))
        s, e = first.get(uid), last.get(uid)
        if isinstance(s, str) and arm in {a.id for a in p.arms}:
            name = next(a.product.name for a in p.arms if a.id == arm)
            rows.append((uid, _armcd(arm)[:8], name[:40], s, e, "TREATMENT"))
            if isinstance(end.get(uid), str):
                rows.append((uid, "FU", "Follow-up", e, None, "FOLLOW-UP"))
    out = pd.DataFrame(rows, columns=["USUBJID", "ETCD", "ELEMENT", "SESTDTC", "SEENDTC", "EPOCH"])
    out["SESTDTC"] = dtc(out["SESTDTC"])
    out["SEENDTC"] = dtc(out["SEENDTC"])
    fu = out["ETCD"] == "FU"
    out.loc[fu, "SEENDTC"] = out.loc[fu, "USUBJID"].map(end).to_numpy()
    out.insert(0, "DOMAIN", "SE")
    out.insert(0, "STUDYID", study)
    out["TAETORD"] = out["EPOCH"].map({"SCREENING": 1.0, "TREATMENT": 2.0, "FOLLOW-UP": 3.0})
    out = _seq(out, "SE", ["TAETORD"])
    return out


def _trial_design(p: Protocol, study: str) -> dict[str, pd.DataFrame]:
    el = _elements(p)
    te = pd.DataFrame(
        [(study, "TE", c, n, s, e) for c, n, s, e in el],
        columns=["STUDYID", "DOMAIN", "ETCD", "ELEMENT", "TESTRL", "TEENRL"],
    )
    ta_rows: list[tuple[object, ...]] = []
    for a in p.arms:
        code = _armcd(a.id)
        ta_rows.append(
            (
                study,
                "TA",
                code,
                a.label,
                1.0,
                "SCRN",
                "Screening",
                f"Randomized to {a.label}"[:40],
                "SCREENING",
            )
        )
        ta_rows.append(
            (study, "TA", code, a.label, 2.0, code[:8], a.product.name[:40], None, "TREATMENT")
        )
        ta_rows.append((study, "TA", code, a.label, 3.0, "FU", "Follow-up", None, "FOLLOW-UP"))
    ta = pd.DataFrame(
        ta_rows,
        columns=[
            "STUDYID",
            "DOMAIN",
            "ARMCD",
            "ARM",
            "TAETORD",
            "ETCD",
            "ELEMENT",
            "TABRANCH",
            "EPOCH",
        ],
    )
    tv = pd.DataFrame(
        [
            (
                study,
                "TV",
                float(i),
                v.label.upper()[:40],
                float(v.at // 24 + (1 if v.at >= 0 else 0)),
                f"{v.at // 24} days after {p.schedule.anchor_of(v).replace('_', ' ')}"[:200],
            )
            for i, v in enumerate(p.schedule.visits, start=1)
        ],
        columns=["STUDYID", "DOMAIN", "VISITNUM", "VISIT", "VISITDY", "TVSTRL"],
    )
    ti_rows = []
    for c in p.population.eligibility or []:
        cat = "EXCLUSION" if getattr(c, "kind", "inclusion") == "exclusion" else "INCLUSION"
        ti_rows.append(
            (study, "TI", c.id.upper().replace("_", "")[:8], (c.text or c.id)[:200], cat)
        )
    ti = pd.DataFrame(ti_rows, columns=["STUDYID", "DOMAIN", "IETESTCD", "IETEST", "IECAT"])
    ts_rows: list[tuple[str, str, str]] = [
        ("TITLE", "Trial Title", p.title),
        ("TPHASE", "Trial Phase Classification", f"PHASE {p.phase}" if p.phase else ""),
        ("RANDOM", "Trial is Randomized", "Y" if p.design.assignment == "randomized" else "N"),
        ("TBLIND", "Trial Blinding Schema", f"{(p.design.blinding or 'unknown').upper()}"),
        ("TCNTRL", "Control Type", p.design.control.upper().replace("_", " ")),
        ("NARMS", "Planned Number of Arms", str(len(p.arms))),
    ]
    if p.population.planned_n is not None:
        ts_rows.append(("PLANSUB", "Planned Number of Subjects", str(p.population.planned_n)))
    for a in p.arms:
        if a.product.kind not in ("standard_care", "placebo", "vehicle"):
            ts_rows.append(("TRT", "Investigational Therapy or Treatment", a.product.name))
        route = ct.ROUTE.get(a.product.route)
        if route:
            ts_rows.append(("ROUTE", "Route of Administration", route))
    for r in p.registry_ids:
        if r.registry == "NCT":
            ts_rows.append(("REGID", "Registry Identifier", r.id))
    ts_rows.append(("SDTIGVER", "SDTM IG Version", "3.4"))
    ts_rows.append(("CTVER", "Controlled Terminology Version", f"SDTM CT {ct.CT_VERSION}"))
    seen: dict[str, int] = {}
    ts_out = []
    for code, name, val in ts_rows:
        seen[code] = seen.get(code, 0) + 1
        ts_out.append((study, "TS", float(seen[code]), code, name, val[:200]))
    ts = pd.DataFrame(ts_out, columns=["STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM", "TSVAL"])
    return {"TS": ts, "TA": ta, "TE": te, "TV": tv, "TI": ti}


def to_sdtm(dataset: Dataset, protocol: Protocol, *, study: str | None = None) -> Sdtm:
    """Transform celltrial's dataset into SDTM domains (SDTMIG 3.4 as far as the data go).

    Parameters
    ----------
    dataset : Dataset
        A checked dataset (from the EDC's export, the simulator or :func:`read_dataset`).
    protocol : Protocol
        Its protocol: arm products and routes, visits, events, eligibility (trial design).
    study : str, optional
        STUDYID (default: the protocol id in upper case).

    Returns
    -------
    Sdtm
        ``tables``: DM, DS, EX, AE, CE, DV, CM and MH when the dataset has them, the findings
        domains present, SV, SE, TS, TA, TE, TV, TI and SUPPDM/SUPPEX/SUPPAE/SUPPCM/SUPPMH when
        they have rows.
    """
    study = study or protocol.id.upper()
    dm_src = dataset.dm
    first_ex = dataset.table("EX").groupby("USUBJID")["EXSTDTC"].min()
    rfst = dm_src["USUBJID"].map(first_ex)
    rfst = rfst.where(rfst.notna(), dm_src["RFSTDTC"])
    rfst_by_id = pd.Series(dtc(rfst).to_numpy(), index=dm_src["USUBJID"].to_numpy())
    out: dict[str, pd.DataFrame] = {}
    dm = _dm(dataset, protocol, study, rfst)
    out["DM"] = dm
    out["DS"] = _ds(dataset, study, rfst_by_id)
    ex, suppex = _ex(dataset, protocol, study, rfst_by_id)
    out["EX"] = ex
    ae, suppae = _split_supp(_ae(dataset, study, rfst_by_id), "AE", study, _AE_SUPP)
    out["AE"] = ae
    out["CE"] = _ce(dataset, protocol, study, rfst_by_id)
    out["DV"] = _dv(dataset, study, rfst_by_id)
    supp_more: dict[str, pd.DataFrame] = {"SUPPAE": suppae}
    for code, make in (("CM", _cm), ("MH", _mh)):
        if code in dataset.tables:
            table, supp = make(dataset, study, rfst_by_id)
            out[code] = table
            supp_more[f"SUPP{code}"] = supp
    for code in FINDINGS_DOMAINS:
        if code in dataset.tables:
            f = _findings(dataset, protocol, code, study, rfst_by_id)
            out[DOMAIN_CODE.get(code, code)] = f
    findings = {c: t for c, t in out.items() if c in (*FINDINGS_DOMAINS, "XC")}
    out["SV"] = _sv(findings, study, rfst_by_id)
    out["SE"] = _se(dataset, protocol, study, dm)
    out.update(_trial_design(protocol, study))
    suppdm = _suppdm(dataset, protocol, study)
    if len(suppdm):
        out["SUPPDM"] = suppdm
    if len(suppex):
        out["SUPPEX"] = suppex
    out.update({code: t for code, t in supp_more.items() if len(t)})
    for code, t in out.items():
        t = t.reset_index(drop=True)
        for col in t.columns:
            if t[col].dtype == object:
                t[col] = t[col].where(t[col].notna(), None)
        out[code] = t
    return Sdtm(tables=out, study=study)


__all__ = ["LABELS", "Sdtm", "dtc", "label", "study_day", "testcd_of", "to_sdtm"]
