"""CDISC ODM 1.3.2: a trial's study definition and clinical data out, and back in.

The EDC's forms are the dataset's tables (one form per domain: DM, DS, EX, AE, CE, DV, SL and
the findings domains), so the study definition (``MetaDataVersion``) is written from the
dataset schema and the protocol: a StudyEventDef per protocol visit (plus ``COMMON`` for the
log forms), a FormDef and ItemGroupDef per table, an ItemDef per column (its SDTM name,
``SDSVarName``) and a CodeList per controlled column and per protocol arm list. Clinical data
(``ClinicalData``) hold every row of the dataset, one ItemGroupData per row.

:func:`read_odm` reads such a file back: the clinical data into raw tables that
:func:`~celltrial.dataset.make_dataset` checks (an export read back gives the same dataset),
and the study definition into a protocol *draft* (:func:`protocol_draft`): what ODM states
(study name, arms, visits in order, measurements), with every value ODM cannot state left
``unknown`` for a person to fill in.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from celltrial.dataset import Dataset
from celltrial.dataset.schema import ALL_DOMAINS, domain
from celltrial.protocol import Protocol

NS = "http://www.cdisc.org/ns/odm/v1.3"
ET.register_namespace("", NS)
_TYPES = {
    "text": "text",
    "integer": "integer",
    "number": "float",
    "datetime": "partialDatetime",
    "flag": "text",
}
COMMON = "COMMON"


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, attrs: dict[str, str] | None = None) -> ET.Element:
    return ET.SubElement(parent, _q(tag), attrs or {})


def _desc(parent: ET.Element, text: str, tag: str = "Description") -> None:
    el = _sub(parent, tag)
    tt = _sub(el, "TranslatedText", {"xml:lang": "en"})
    tt.text = text


def _columns(code: str, table: pd.DataFrame | None) -> list[str]:
    names = list(domain(code).names)
    if table is not None:
        names += [c for c in table.columns if c not in names]
    return names


def odm_xml(
    protocol: Protocol,
    dataset: Dataset | None = None,
    *,
    study_oid: str | None = None,
    forms: Mapping[str, tuple[str, pd.DataFrame]] | None = None,
) -> bytes:
    """ODM 1.3.2 of a trial: its study definition and, with ``dataset``, its clinical data.

    Parameters
    ----------
    protocol : Protocol
    dataset : Dataset, optional
        The trial's data (the EDC's export); without it only the study definition is written.
    study_oid : str, optional
        Default ``ST.<protocol id>``.
    forms : mapping, optional
        EDC forms that are not tables of the dataset, ``{code: (name, table)}``: a FormDef,
        ItemGroupDef ``IG.<code>`` and a text ItemDef per column, and one ItemGroupData per
        row under the subject of its first column (the EDC's screening form, keyed by
        ``SCRNID``: what eligibility was decided from). Read back by :func:`read_odm` as tables
        of those codes.
    """
    oid = study_oid or f"ST.{protocol.id}"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    root = ET.Element(
        _q("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"ODM.{protocol.id}",
            "CreationDateTime": now,
            "ODMVersion": "1.3.2",
            "Granularity": "All" if dataset is not None else "Metadata",
            "Originator": "celltrial",
            "SourceSystem": "celltrial",
        },
    )
    study = _sub(root, "Study", {"OID": oid})
    gv = _sub(study, "GlobalVariables")
    _sub(gv, "StudyName").text = protocol.id
    _sub(gv, "StudyDescription").text = protocol.title
    _sub(gv, "ProtocolName").text = f"{protocol.id} {protocol.version}"
    units = sorted({m.unit for m in protocol.measurements if m.unit})
    if units:
        bd = _sub(study, "BasicDefinitions")
        for u in units:
            mu = _sub(bd, "MeasurementUnit", {"OID": _unit_oid(u), "Name": u})
            _desc(mu, u, "Symbol")
    mdv = _sub(
        study, "MetaDataVersion", {"OID": "MDV.1", "Name": f"{protocol.id} {protocol.version}"}
    )
    codes = [c for c in ALL_DOMAINS if dataset is None or c in dataset.tables or c in ("DM",)]
    if dataset is not None:
        codes = [c for c in ALL_DOMAINS if c in dataset.tables]
    extra = {c: v for c, v in (forms or {}).items() if c not in codes}
    tables: dict[str, pd.DataFrame] = dict(dataset.tables) if dataset is not None else {}
    tables.update({c: table for c, (_, table) in extra.items()})
    labels = {c: domain(c).label for c in codes} | {c: name for c, (name, _) in extra.items()}
    codes = codes + list(extra)
    prot = _sub(mdv, "Protocol")
    _desc(prot, protocol.title)
    events = [(COMMON, "Common forms (logs)")] + [(v.id, v.label) for v in protocol.schedule.visits]
    for i, (eid, _) in enumerate(events, start=1):
        _sub(
            prot,
            "StudyEventRef",
            {"StudyEventOID": f"SE.{eid}", "OrderNumber": str(i), "Mandatory": "No"},
        )
    for eid, name in events:
        se = _sub(
            mdv,
            "StudyEventDef",
            {
                "OID": f"SE.{eid}",
                "Name": name,
                "Repeating": "No",
                "Type": "Common" if eid == COMMON else "Scheduled",
            },
        )
        refs = (
            codes if eid == COMMON else [c for c in codes if c not in extra and domain(c).findings]
        )
        for j, c in enumerate(refs, start=1):
            _sub(se, "FormRef", {"FormOID": f"F.{c}", "OrderNumber": str(j), "Mandatory": "No"})
    for c in codes:
        f = _sub(mdv, "FormDef", {"OID": f"F.{c}", "Name": labels[c], "Repeating": "No"})
        _sub(f, "ItemGroupRef", {"ItemGroupOID": f"IG.{c}", "Mandatory": "Yes"})
    item_defs: list[ET.Element] = []
    lists: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    arms = [(a.id, a.label) for a in protocol.arms]
    for c in codes:
        table = tables.get(c)
        attrs = {"OID": f"IG.{c}", "Name": labels[c], "Repeating": "No" if c == "DM" else "Yes"}
        if c not in extra:
            attrs |= {"Domain": c, "SASDatasetName": c}
        ig = _sub(mdv, "ItemGroupDef", attrs)
        names = [str(n) for n in table.columns] if c in extra and table is not None else None
        for k, name in enumerate(names or _columns(c, table), start=1):
            col = _column(c, name) if c not in extra else ("text", "perm", name, None)
            ioid = f"IT.{c}.{name}"
            _sub(
                ig,
                "ItemRef",
                {
                    "ItemOID": ioid,
                    "OrderNumber": str(k),
                    "Mandatory": "Yes" if col[1] == "req" else "No",
                },
            )
            it = ET.Element(
                _q("ItemDef"),
                {"OID": ioid, "Name": name, "DataType": _TYPES[col[0]]},
            )
            if len(name) <= 8 and c not in extra:  # SDTM names; a stratum goes to SUPPDM
                it.set("SDSVarName", name)
            if col[0] == "text":
                it.set("Length", "200")
            _desc(it, col[2])
            terms = col[3]
            if name in ("ARMCD", "ACTARMCD"):
                lists["CL.ARM"] = ("Arms of the protocol", arms)
                _sub(it, "CodeListRef", {"CodeListOID": "CL.ARM"})
            elif terms:
                key = f"CL.{c}.{name}"
                lists[key] = (f"{name} terms", [(t, t) for t in terms])
                _sub(it, "CodeListRef", {"CodeListOID": key})
            item_defs.append(it)
    mdv.extend(item_defs)
    for key, (name, items) in lists.items():
        cl = _sub(mdv, "CodeList", {"OID": key, "Name": name, "DataType": "text"})
        for value, label in items:
            cli = _sub(cl, "CodeListItem", {"CodedValue": value})
            _desc(cli, label, "Decode")
    if dataset is not None:
        _clinical(root, oid, tables, codes)
    ET.indent(root)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out


def _unit_oid(unit: str) -> str:
    return "MU." + "".join(ch if ch.isalnum() else "_" for ch in unit)


def _column(code: str, name: str) -> tuple[str, str, str, tuple[str, ...] | None]:
    try:
        c = domain(code).column(name)
    except KeyError:
        return ("text", "perm", name, None)
    return (c.type, c.need, c.label, c.terms)


def _text(value: object) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value)


def _clinical(
    root: ET.Element, oid: str, tables: Mapping[str, pd.DataFrame], codes: list[str]
) -> None:
    cd = _sub(root, "ClinicalData", {"StudyOID": oid, "MetaDataVersionOID": "MDV.1"})
    rows: dict[str, list[tuple[str, int, dict[str, str]]]] = {}
    for c in codes:
        t = tables[c]
        key = "SCRNID" if c == "SL" or "USUBJID" not in t.columns else "USUBJID"
        cols = list(t.columns)
        for i, rec in enumerate(t.itertuples(index=False, name=None), start=1):
            values = {
                n: v for n, v in zip(cols, (_text(x) for x in rec), strict=True) if v is not None
            }
            subject = values.get(key) or f"ROW{i}"
            rows.setdefault(str(subject), []).append((c, i, values))
    for subject, items in rows.items():
        sd = _sub(cd, "SubjectData", {"SubjectKey": subject})
        se = _sub(sd, "StudyEventData", {"StudyEventOID": f"SE.{COMMON}"})
        forms: dict[str, ET.Element] = {}
        for c, i, values in items:
            if c not in forms:
                forms[c] = _sub(se, "FormData", {"FormOID": f"F.{c}"})
            ig = _sub(
                forms[c], "ItemGroupData", {"ItemGroupOID": f"IG.{c}", "ItemGroupRepeatKey": str(i)}
            )
            for name, value in values.items():
                _sub(ig, "ItemData", {"ItemOID": f"IT.{c}.{name}", "Value": value})


def write_odm(protocol: Protocol, path: str | Path, dataset: Dataset | None = None) -> Path:
    """Write :func:`odm_xml` to ``path``."""
    path = Path(path)
    path.write_bytes(odm_xml(protocol, dataset))
    return path


def read_odm(source: str | Path | bytes) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Read an ODM 1.3.2 file: (protocol draft, raw tables of its clinical data).

    The tables hold text as written (``make_dataset`` types and checks them), rows in the
    order of their ``ItemGroupRepeatKey``.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    root = ET.fromstring(data)
    if root.tag != _q("ODM"):
        raise ValueError("not a CDISC ODM 1.3 file (the root element is not ODM)")
    draft = protocol_draft(root)
    item_types: dict[str, str] = {
        el.get("OID", ""): el.get("DataType", "text") for el in root.iter(_q("ItemDef"))
    }
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for ig in root.iter(_q("ItemGroupData")):
        code = ig.get("ItemGroupOID", "").removeprefix("IG.")
        rec: dict[str, Any] = {}
        for item in ig.iter(_q("ItemData")):
            ioid = item.get("ItemOID", "")
            rec[ioid.removeprefix(f"IT.{code}.")] = item.get("Value")
            _ = item_types.get(ioid)
        found.setdefault(code, []).append((int(ig.get("ItemGroupRepeatKey", "0")), rec))
    tables: dict[str, pd.DataFrame] = {}
    order = {
        ig.get("OID", "").removeprefix("IG."): [
            r.get("ItemOID", "").split(".", 2)[-1] for r in ig.iter(_q("ItemRef"))
        ]
        for ig in root.iter(_q("ItemGroupDef"))
    }
    for code, recs in found.items():
        recs.sort(key=lambda r: r[0])
        cols = order.get(code) or sorted({k for _, r in recs for k in r})
        tables[code] = pd.DataFrame([r for _, r in recs], columns=cols)
    return draft, tables


def protocol_draft(root: ET.Element) -> dict[str, Any]:
    """A protocol draft from an ODM study definition: what ODM states, the rest ``unknown``.

    Arms come from the ``CL.ARM`` codelist (or any codelist of an ARMCD item), visits from the
    scheduled StudyEventDefs in protocol order, measurements from the ItemDefs of findings
    item groups' test codes. The draft is a mapping in the protocol's YAML shape; it needs a
    person to complete it (doses, times of visits, endpoints) before it validates.
    """
    study = root.find(_q("Study"))
    name = (
        study.findtext(f"{_q('GlobalVariables')}/{_q('StudyName')}") if study is not None else None
    )
    title = (
        study.findtext(f"{_q('GlobalVariables')}/{_q('StudyDescription')}")
        if study is not None
        else None
    )
    slug = (
        "".join(ch if ch.isalnum() else "_" for ch in (name or "study").lower()).strip("_")
        or "study"
    )
    arms: list[dict[str, Any]] = []
    for cl in root.iter(_q("CodeList")):
        if cl.get("OID") == "CL.ARM":
            for item in cl.iter(_q("CodeListItem")):
                label = item.findtext(f"{_q('Decode')}/{_q('TranslatedText')}") or item.get(
                    "CodedValue"
                )
                arms.append(
                    {
                        "id": item.get("CodedValue"),
                        "label": label,
                        "role": "unknown",
                        "product": {"kind": "unknown", "name": label},
                        "dose": "unknown",
                        "administrations": "unknown",
                    }
                )
    events = {e.get("OID"): e for e in root.iter(_q("StudyEventDef"))}
    visits = []
    for ref in root.iter(_q("StudyEventRef")):
        e = events.get(ref.get("StudyEventOID"))
        if e is None or e.get("Type") == "Common":
            continue
        visits.append(
            {
                "id": (e.get("OID") or "").removeprefix("SE."),
                "label": e.get("Name"),
                "at": "unknown",
            }
        )
    return {
        "schema_version": 1,
        "id": slug[:40],
        "title": title or name or slug,
        "version": "unknown",
        "phase": "unknown",
        "design": {"assignment": "unknown", "blinding": "unknown", "control": "unknown"},
        "population": {"description": "unknown"},
        "arms": arms,
        "schedule": {"visits": visits},
        "endpoints": [],
        "notes": ["Drafted from a CDISC ODM 1.3.2 study definition; complete every 'unknown'."],
    }
