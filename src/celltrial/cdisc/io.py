"""CDISC tables on disk: SAS XPT v5, Dataset-JSON 1.1, CSV and Parquet, read and written.

A study folder holds one file per domain (``dm.xpt``, ``ae.json``, ``lb.csv``, …). Reading
names a file of the wrong kind as such (a ``define.xml``, a REDCap data dictionary, an XPT file
named ``.csv``) instead of failing on its content.

>>> tables, problems = read_tables("../shared/cdisc-pilot/sdtm")     # doctest: +SKIP
>>> sorted(tables)[:3]                                              # doctest: +SKIP
['AE', 'CM', 'DM']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from celltrial.dataset import Problem

TableFormat = Literal["xpt", "json", "csv", "parquet"]
_SUFFIXES: dict[str, TableFormat] = {
    ".xpt": "xpt",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
#: The first bytes of a SAS transport (XPT) file.
XPT_MAGIC = b"HEADER RECORD*******LIBRARY HEADER RECORD"
DATASET_JSON_VERSION = "1.1.0"


def sniff(path: Path) -> str | None:
    """What a file is when it is not the table its name says, in words; None when it fits.

    Recognizes SAS XPT, Define-XML / ODM XML, a REDCap data dictionary, PDF and Excel files.
    """
    head = path.read_bytes()[:4096] if path.is_file() else b""
    suffix = path.suffix.lower()
    if head.startswith(XPT_MAGIC):
        return None if suffix == ".xpt" else "a SAS XPT (transport) file"
    if suffix == ".xpt":
        return "not a SAS XPT file (no XPT library header)"
    if head.startswith(b"%PDF"):
        return "a PDF document (an annotated CRF?), not a table"
    if head.startswith(b"PK\x03\x04"):
        return "a zip or Excel workbook, not a table"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \r\n\t")
    if text.startswith("<"):
        if "def:" in text or "define" in path.name.lower():
            return "Define-XML metadata (a define.xml), not a table of data"
        if "<ODM" in text:
            return "a CDISC ODM file (load it with `celltrial cdisc odm-import`), not a table"
        return "an XML file, not a table"
    if suffix == ".csv":
        first = text.splitlines()[0] if text else ""
        if first.lower().startswith(('"variable / field name"', "variable / field name")):
            return "a REDCap data dictionary, not an SDTM table"
    if suffix == ".json" and '"datasetJSONVersion"' not in text and text.startswith("{"):
        return "a JSON file that is not Dataset-JSON (no datasetJSONVersion)"
    return None


def read_xpt(path: str | Path) -> tuple[pd.DataFrame, dict[str, str], str]:
    """Read a SAS XPT v5 file with pyreadstat: (table, labels by column, table label).

    Text is read as UTF-8, else as Windows-1252 (older SAS files, such as the CDISC pilot's
    TS, hold Windows quotes). Blank text is ``None``; numbers stay ``float64``.
    """
    import pyreadstat

    try:
        df, meta = pyreadstat.read_xport(str(path))
    except UnicodeDecodeError:
        df, meta = pyreadstat.read_xport(str(path), encoding="cp1252")
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].where(df[col].notna() & (df[col] != ""), None)
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    return df, {k: v or "" for k, v in labels.items()}, meta.file_label or ""


def write_xpt(
    table: pd.DataFrame,
    path: str | Path,
    *,
    name: str,
    labels: Mapping[str, str] | None = None,
    table_label: str = "",
) -> Path:
    """Write a table as SAS XPT version 5 (pyreadstat), the FDA's submission format.

    Names must be at most 8 characters, labels at most 40 and text at most 200 bytes: XPT v5
    cannot hold more, and :class:`ValueError` names the offending column or value.

    Parameters
    ----------
    table : pandas.DataFrame
        Text columns (object) and numbers (float64/int64); missing text is written blank.
    path : str or Path
    name : str
        The member name (the domain code, ``DM``).
    labels : mapping of str to str, optional
        Column labels.
    table_label : str
        The dataset label (``Demographics``).
    """
    import pyreadstat

    path = Path(path)
    labels = dict(labels or {})
    too_long = [c for c in table.columns if len(c) > 8]
    if too_long or len(name) > 8:
        raise ValueError(f"XPT v5 names are at most 8 characters: {too_long or [name]}")
    long_labels = [c for c, lab in labels.items() if len(lab) > 40]
    if long_labels or len(table_label) > 40:
        raise ValueError(f"XPT v5 labels are at most 40 characters: {long_labels or [name]}")
    out = pd.DataFrame(index=table.index)
    formats: dict[str, str] = {}
    for col in table.columns:
        s = table[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            # ADaM *DT (dates) and *DTM (date-times): SAS numeric dates with their format.
            naive = s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s
            if (naive.dropna() == naive.dropna().dt.normalize()).all() and col.endswith("DT"):
                out[col] = naive.dt.date.astype("object").where(naive.notna(), None)
                formats[col] = "DATE9"
            else:
                out[col] = naive
                formats[col] = "DATETIME20"
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.map({True: "Y", False: "N"})
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        else:
            text = s.map(lambda v: "" if v is None or v is pd.NA or v != v else str(v))
            if len(text) and text.map(lambda v: len(v.encode("utf-8"))).max() > 200:
                raise ValueError(f"XPT v5 text is at most 200 bytes; {col} has a longer value")
            out[col] = text.astype("object")
    pyreadstat.write_xport(
        out.reset_index(drop=True),
        str(path),
        file_label=table_label,
        column_labels=[labels.get(c, "") for c in out.columns],
        table_name=name,
        file_format_version=5,
        variable_format=formats or None,
    )
    return path


def _json_type(s: pd.Series) -> str:
    """The column's Dataset-JSON ``dataType``: a date-time column is ``datetime`` when named
    so (ADaM's ``*DTM``) or when a value has a time of day, else ``date`` (ADaM's ``*DT``)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        values = s.dropna()
        midnight = bool((values == values.dt.normalize()).all())
        return "datetime" if str(s.name).endswith("DTM") or not midnight else "date"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_float_dtype(s):
        return "double"
    return "string"


def write_dataset_json(
    table: pd.DataFrame,
    path: str | Path,
    *,
    name: str,
    labels: Mapping[str, str] | None = None,
    table_label: str = "",
    study_oid: str = "",
    metadata_ref: str | None = None,
) -> Path:
    """Write a table as CDISC Dataset-JSON 1.1 (one JSON object, rows as arrays).

    ``itemOID`` is ``IT.<NAME>.<VAR>``. SDTM's ``--DTC`` are ISO 8601 text as collected
    (``dataType`` ``string``: a partial date stays partial). A date-time column of the table
    (ADaM's ``ADT``, ``TRTSDTM``: SAS numeric dates in XPT) is written as the 1.1 specification
    says for ADaM: ``dataType`` ``date`` (or ``datetime``), ``targetDataType`` ``integer``,
    ``displayFormat`` ``E8601DA.`` (``E8601DT.``), values as ISO 8601 strings. The file
    validates against the Dataset-JSON 1.1 JSON schema (``tests/cdisc/test_formats.py``).
    """
    path = Path(path)
    labels = dict(labels or {})
    columns: list[dict[str, Any]] = []
    for col in table.columns:
        c: dict[str, Any] = {
            "itemOID": f"IT.{name}.{col}",
            "name": col,
            "label": labels.get(col, col),
            "dataType": _json_type(table[col]),
        }
        if c["dataType"] in ("date", "datetime"):
            c["targetDataType"] = "integer"
            c["displayFormat"] = "E8601DA." if c["dataType"] == "date" else "E8601DT."
        if c["dataType"] == "string":
            lengths = table[col].dropna().map(lambda v: len(str(v)))
            c["length"] = int(lengths.max()) if len(lengths) else 1
        if col == "USUBJID":
            c["keySequence"] = 2
        elif col == "STUDYID":
            c["keySequence"] = 1
        columns.append(c)
    dates = [c["dataType"] == "date" for c in columns]
    rows = []
    for rec in table.itertuples(index=False, name=None):
        rows.append([_json_value(v, d) for v, d in zip(rec, dates, strict=True)])
    doc: dict[str, Any] = {
        "datasetJSONCreationDateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "originator": "celltrial",
        "sourceSystem": {"name": "celltrial", "version": "0.1.0"},
        "studyOID": study_oid,
        "metaDataVersionOID": "MDV.1",
        "itemGroupOID": f"IG.{name}",
        "records": len(rows),
        "name": name,
        "label": table_label or name,
        "columns": columns,
        "rows": rows,
    }
    if metadata_ref:
        doc["metaDataRef"] = metadata_ref
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=None), encoding="utf-8")
    return path


def _json_value(v: object, date: bool = False) -> object:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat() if date else v.isoformat()
    if isinstance(v, float | np.floating):
        return None if v != v else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def read_dataset_json(path: str | Path) -> tuple[pd.DataFrame, dict[str, str], str]:
    """Read a Dataset-JSON 1.1 file: (table, labels by column, table label)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if "datasetJSONVersion" not in doc or "columns" not in doc:
        raise ValueError(f"{Path(path).name} is not Dataset-JSON (no datasetJSONVersion)")
    names = [c["name"] for c in doc["columns"]]
    df = pd.DataFrame(doc.get("rows", []), columns=names)
    for c in doc["columns"]:
        if c.get("dataType") in ("integer",):
            df[c["name"]] = pd.to_numeric(df[c["name"]]).astype("Int64")
        elif c.get("dataType") in ("double", "float", "decimal"):
            df[c["name"]] = pd.to_numeric(df[c["name"]]).astype("float64")
        elif c.get("dataType") in ("date", "datetime") and c.get("targetDataType") == "integer":
            df[c["name"]] = pd.to_datetime(df[c["name"]])  # an ADaM numeric date
        else:
            df[c["name"]] = df[c["name"]].astype("object").where(df[c["name"]].notna(), None)
    labels = {c["name"]: c.get("label", "") for c in doc["columns"]}
    return df, labels, str(doc.get("label", ""))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one table file by its suffix (``.xpt``, ``.json``, ``.csv``, ``.parquet``)."""
    path = Path(path)
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind == "xpt":
        return read_xpt(path)[0]
    if kind == "json":
        return read_dataset_json(path)[0]
    if kind == "csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        return df.where(df != "", None)
    if kind == "parquet":
        return pd.read_parquet(path, engine="pyarrow")
    raise ValueError(f"{path.name}: not a table file (.xpt, .json, .csv or .parquet)")


def read_tables(folder: str | Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read every table of a study folder, by domain code (the file's stem in upper case).

    Where a domain has files of several formats the first of XPT, Dataset-JSON, Parquet, CSV
    is read. A file of the wrong kind is one warning naming what it is; an unreadable file is
    one error.

    Returns
    -------
    (dict of str to pandas.DataFrame, list of Problem)
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = sniff(folder) if folder.is_file() else None
        msg = f"{folder} is not a folder" + (f": it is {what}" if what else "")
        return {}, [Problem("STUDY", msg)]
    problems: list[Problem] = []
    found: dict[str, Path] = {}
    rank = {"xpt": 0, "json": 1, "parquet": 2, "csv": 3}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        what = sniff(path)
        kind = _SUFFIXES.get(path.suffix.lower())
        if what is not None:
            problems.append(Problem("STUDY", f"{path.name} is {what}; skipped", level="warning"))
            continue
        if kind is None:
            continue
        code = path.stem.upper()
        old = found.get(code)
        if old is None or rank[kind] < rank[_SUFFIXES[old.suffix.lower()]]:
            found[code] = path
    tables: dict[str, pd.DataFrame] = {}
    for code, path in sorted(found.items()):
        try:
            tables[code] = read_table(path)
        except (ValueError, OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(Problem(code, f"cannot read {path.name}: {first}"))
    if "DM" not in tables:
        names = ", ".join(sorted(p.name for p in folder.iterdir())[:8]) or "nothing"
        problems.append(
            Problem(
                "STUDY",
                f"no DM table in {folder} (looked for dm.xpt, dm.json, dm.parquet, dm.csv; "
                f"found {names})",
            )
        )
    return tables, problems
