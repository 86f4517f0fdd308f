"""Define-XML 2.1: the metadata of the SDTM and ADaM datasets celltrial writes.

:func:`define_xml` describes every table of an :class:`~celltrial.cdisc.sdtm_out.Sdtm` or
:class:`~celltrial.cdisc.adam_out.Adam` — datasets (ItemGroupDef, with class, structure, keys
and file), variables (ItemDef: type, length, label, origin), and the controlled terminology
they use (CodeList, each term with its NCI code where shipped). The file validates against
the Define-XML 2.1 schema that odmlib ships (``tests/cdisc/test_formats.py``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol as TypingProtocol

import pandas as pd

from celltrial.cdisc import ct

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", ODM_NS)
ET.register_namespace("def", DEF_NS)
ET.register_namespace("xlink", XLINK_NS)

#: SDTM/ADaM class of each dataset (Define-XML 2.1 def:Class).
CLASSES: dict[str, str] = {
    "DM": "SPECIAL PURPOSE",
    "SV": "SPECIAL PURPOSE",
    "SE": "SPECIAL PURPOSE",
    "CO": "SPECIAL PURPOSE",
    "DS": "EVENTS",
    "AE": "EVENTS",
    "CE": "EVENTS",
    "DV": "EVENTS",
    "MH": "EVENTS",
    "EX": "INTERVENTIONS",
    "CM": "INTERVENTIONS",
    "TS": "TRIAL DESIGN",
    "TA": "TRIAL DESIGN",
    "TE": "TRIAL DESIGN",
    "TV": "TRIAL DESIGN",
    "TI": "TRIAL DESIGN",
    "ADSL": "SUBJECT LEVEL ANALYSIS DATASET",
    "ADAE": "OCCURRENCE DATA STRUCTURE",
    "ADTTE": "BASIC DATA STRUCTURE",
    "ADLB": "BASIC DATA STRUCTURE",
}
#: Variables whose values come from a shipped codelist.
CODELISTS: dict[str, str] = {
    "SEX": "SEX",
    "AGEU": "AGEU",
    "DTHFL": "NY",
    "AESER": "NY",
    "AESDTH": "NY",
    "AESLIFE": "NY",
    "AESHOSP": "NY",
    "AESDISAB": "NY",
    "AESCONG": "NY",
    "AESMIE": "NY",
    "CEOCCUR": "NY",
    "EXROUTE": "ROUTE",
    "EXDOSFRM": "FRM",
    "EXDOSU": "UNIT",
    "AEOUT": "OUT",
    "DSCAT": "DSCAT",
    "EPOCH": "EPOCH",
    "ARMNRS": "ARMNULRS",
    "ITTFL": "NY",
    "SAFFL": "NY",
    "PPROTFL": "NY",
    "TRTEMFL": "NY",
}


class Tables(TypingProtocol):
    """What :func:`define_xml` describes: an Sdtm or an Adam."""

    @property
    def tables(self) -> Mapping[str, pd.DataFrame]: ...

    def labels(self, code: str) -> dict[str, str]: ...

    def domain_label(self, code: str) -> str: ...


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, _q(ODM_NS, tag))
    tt = ET.SubElement(el, _q(ODM_NS, "TranslatedText"), {"xml:lang": "en"})
    tt.text = text
    return el


def _datatype(s: pd.Series, name: str) -> str:
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date" if name.endswith("DT") else "datetime"
    if pd.api.types.is_float_dtype(s) or pd.api.types.is_integer_dtype(s):
        vals = s.dropna()
        whole = len(vals) == 0 or bool((vals == vals.round()).all())
        return "integer" if whole else "float"
    if name.endswith("DTC"):
        return "datetime"
    return "text"


def _keys(code: str, columns: list[str]) -> list[str]:
    if code in ("DM", "ADSL"):
        keys = ["STUDYID", "USUBJID"]
    elif code.startswith("SUPP"):
        keys = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"]
    elif code in ("TS",):
        keys = ["STUDYID", "TSPARMCD", "TSSEQ"]
    elif code in ("TA",):
        keys = ["STUDYID", "ARMCD", "TAETORD"]
    elif code in ("TE",):
        keys = ["STUDYID", "ETCD"]
    elif code in ("TV",):
        keys = ["STUDYID", "VISITNUM"]
    elif code in ("TI",):
        keys = ["STUDYID", "IETESTCD"]
    elif code in ("ADTTE", "ADLB"):
        keys = ["STUDYID", "USUBJID", "PARAMCD", "ADT"]
    else:
        keys = ["STUDYID", "USUBJID", f"{code}SEQ", "AESEQ"]
    return [k for k in keys if k in columns]


def define_xml(
    data: Tables,
    *,
    study: str,
    standard: str = "SDTMIG",
    version: str = "3.4",
    description: str = "",
    files: str = "xpt",
) -> bytes:
    """Define-XML 2.1 of the tables of ``data`` (an Sdtm or an Adam).

    Parameters
    ----------
    data : Sdtm or Adam
    study : str
        The study's name (STUDYID).
    standard, version : str
        ``SDTMIG`` 3.4 or ``ADaMIG`` 1.3.
    description : str
        The study description (default: the study name).
    files : str
        The file suffix the datasets are written with (``xpt``), for def:leaf.

    Returns
    -------
    bytes
        The XML document (UTF-8).
    """
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    adam = standard.upper().startswith("ADAM")
    root = ET.Element(
        _q(ODM_NS, "ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"DEF.{study}.{'ADAM' if adam else 'SDTM'}",
            "CreationDateTime": now,
            "ODMVersion": "1.3.2",
            "Originator": "celltrial",
            "SourceSystem": "celltrial",
            _q(DEF_NS, "Context"): "Submission",
        },
    )
    st = ET.SubElement(root, _q(ODM_NS, "Study"), {"OID": f"STUDY.{study}"})
    gv = ET.SubElement(st, _q(ODM_NS, "GlobalVariables"))
    ET.SubElement(gv, _q(ODM_NS, "StudyName")).text = study
    ET.SubElement(gv, _q(ODM_NS, "StudyDescription")).text = description or study
    ET.SubElement(gv, _q(ODM_NS, "ProtocolName")).text = study
    mdv = ET.SubElement(
        st,
        _q(ODM_NS, "MetaDataVersion"),
        {
            "OID": f"MDV.{study}",
            "Name": f"{study} {'ADaM' if adam else 'SDTM'}",
            _q(DEF_NS, "DefineVersion"): "2.1.0",
        },
    )
    stds = ET.SubElement(mdv, _q(DEF_NS, "Standards"))
    ig_oid = "STD.IG"
    ET.SubElement(
        stds,
        _q(DEF_NS, "Standard"),
        {
            "OID": ig_oid,
            "Name": "ADaMIG" if adam else "SDTMIG",
            "Type": "IG",
            "Version": version,
            "Status": "Final",
        },
    )
    ET.SubElement(
        stds,
        _q(DEF_NS, "Standard"),
        {
            "OID": "STD.CT",
            "Name": "CDISC/NCI",
            "Type": "CT",
            "PublishingSet": "ADaM" if adam else "SDTM",
            "Version": ct.CT_VERSION,
            "Status": "Final",
        },
    )
    used_lists: set[str] = set()
    item_defs: dict[str, ET.Element] = {}
    groups = []
    for code, table in data.tables.items():
        cols = list(table.columns)
        keys = _keys(code, cols)
        labels = data.labels(code)
        attrs = {
            "OID": f"IG.{code}",
            "Name": code,
            "Repeating": "No" if code in ("DM", "ADSL") else "Yes",
            "IsReferenceData": "Yes" if CLASSES.get(code) == "TRIAL DESIGN" else "No",
            "SASDatasetName": code,
            "Purpose": "Analysis" if adam else "Tabulation",
            _q(DEF_NS, "Structure"): _structure(code),
            _q(DEF_NS, "StandardOID"): ig_oid,
            _q(DEF_NS, "ArchiveLocationID"): f"LF.{code}",
        }
        if not adam and not code.startswith("AD"):
            attrs["Domain"] = code[4:] if code.startswith("SUPP") else code
        ig = ET.Element(_q(ODM_NS, "ItemGroupDef"), attrs)
        _text(ig, "Description", data.domain_label(code))
        for i, col in enumerate(cols, start=1):
            oid = f"IT.{code}.{col}"
            ref = {"ItemOID": oid, "Mandatory": "Yes" if col in keys else "No"}
            ref["OrderNumber"] = str(i)
            if col in keys:
                ref["KeySequence"] = str(keys.index(col) + 1)
            ET.SubElement(ig, _q(ODM_NS, "ItemRef"), ref)
            item_defs[oid] = _item_def(oid, col, table[col], labels.get(col, col), used_lists, adam)
        cls = CLASSES.get(code, "FINDINGS" if not adam else "BASIC DATA STRUCTURE")
        if code.startswith("SUPP"):
            cls = "RELATIONSHIP"
        ET.SubElement(ig, _q(DEF_NS, "Class"), {"Name": cls})
        leaf = ET.SubElement(
            ig,
            _q(DEF_NS, "leaf"),
            {"ID": f"LF.{code}", _q(XLINK_NS, "href"): f"{code.lower()}.{files}"},
        )
        ET.SubElement(leaf, _q(DEF_NS, "title")).text = f"{code.lower()}.{files}"
        groups.append(ig)
    mdv.extend(groups)
    mdv.extend(item_defs.values())
    lists = ct.terminology()["codelists"]
    for name in sorted(used_lists):
        cl = lists[name]
        el = ET.SubElement(
            mdv,
            _q(ODM_NS, "CodeList"),
            {
                "OID": f"CL.{name}",
                "Name": cl["name"],
                "DataType": "text",
                _q(DEF_NS, "StandardOID"): "STD.CT",
            },
        )
        for t in cl["terms"]:
            item = ET.SubElement(el, _q(ODM_NS, "EnumeratedItem"), {"CodedValue": t["value"]})
            if t.get("code"):
                ET.SubElement(
                    item, _q(ODM_NS, "Alias"), {"Context": "nci:ExtCodeID", "Name": t["code"]}
                )
        ET.SubElement(el, _q(ODM_NS, "Alias"), {"Context": "nci:ExtCodeID", "Name": cl["code"]})
    ET.indent(root)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out


def _structure(code: str) -> str:
    return {
        "DM": "One record per subject",
        "ADSL": "One record per subject",
        "ADTTE": "One record per subject per parameter",
        "ADAE": "One record per adverse event",
        "ADLB": "One record per subject per parameter per analysis date",
        "TS": "One record per trial summary parameter value",
        "TA": "One record per planned element per arm",
        "TE": "One record per planned element",
        "TV": "One record per planned visit per arm",
        "TI": "One record per inclusion/exclusion criterion",
        "SV": "One record per subject per actual visit",
        "SE": "One record per actual element per subject",
    }.get(
        code,
        "One record per event or finding per subject"
        if not code.startswith("SUPP")
        else "One record per supplemental qualifier per record",
    )


def _item_def(
    oid: str, col: str, s: pd.Series, label: str, used: set[str], adam: bool
) -> ET.Element:
    dtype = _datatype(s, col)
    attrs = {"OID": oid, "Name": col, "DataType": dtype, "SASFieldName": col}
    if dtype in ("text", "integer", "float"):
        if dtype == "text":
            lengths = s.dropna().map(lambda v: len(str(v).encode("utf-8")))
            attrs["Length"] = str(max(1, int(lengths.max())) if len(lengths) else 1)
        else:
            attrs["Length"] = "8"
        if dtype == "float":
            attrs["SignificantDigits"] = "6"
    el = ET.Element(_q(ODM_NS, "ItemDef"), attrs)
    _text(el, "Description", label[:40])
    name = CODELISTS.get(col)
    if name is not None and dtype == "text" and name in ct.terminology()["codelists"]:
        ET.SubElement(el, _q(ODM_NS, "CodeListRef"), {"CodeListOID": f"CL.{name}"})
        used.add(name)
    origin = "Derived" if adam or col.endswith("DY") or col.endswith("SEQ") else "Collected"
    if col in ("STUDYID", "DOMAIN", "AGEU"):
        origin = "Assigned"
    ET.SubElement(el, _q(DEF_NS, "Origin"), {"Type": origin})
    return el


def write_define(data: Tables, path: str | Path, **kwargs: str) -> Path:
    """Write :func:`define_xml` to ``path`` (``define.xml``)."""
    path = Path(path)
    study = kwargs.pop("study")
    path.write_bytes(define_xml(data, study=study, **kwargs))
    return path
