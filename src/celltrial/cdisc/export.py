"""Write SDTM or ADaM tables to a folder: XPT v5, Dataset-JSON 1.1, CSV, Parquet and define.xml."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from celltrial.cdisc.define import Tables, define_xml
from celltrial.cdisc.io import TableFormat, write_dataset_json, write_xpt


def write_tables(
    data: Tables,
    folder: str | Path,
    *,
    study: str,
    formats: Iterable[TableFormat] = ("xpt",),
    standard: str = "SDTMIG",
    version: str = "3.4",
) -> list[Path]:
    """Write every table of ``data`` in each of ``formats`` and a Define-XML 2.1 ``define.xml``.

    Files are named by the dataset in lower case (``dm.xpt``, ``adsl.json``, …). Returns the
    paths written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    formats = tuple(formats)
    for code, table in data.tables.items():
        labels = data.labels(code)
        title = data.domain_label(code)
        for fmt in formats:
            path = folder / f"{code.lower()}.{fmt}"
            if fmt == "xpt":
                write_xpt(table, path, name=code, labels=labels, table_label=title)
            elif fmt == "json":
                write_dataset_json(
                    table,
                    path,
                    name=code,
                    labels=labels,
                    table_label=title,
                    study_oid=study,
                    metadata_ref="define.xml",
                )
            elif fmt == "csv":
                _iso_dates(table).to_csv(path, index=False, encoding="utf-8")
            elif fmt == "parquet":
                table.to_parquet(path, index=False, engine="pyarrow")
            else:
                raise ValueError(f"unknown format {fmt!r}; use xpt, json, csv or parquet")
            written.append(path)
    suffix = formats[0] if formats else "xpt"
    define = folder / "define.xml"
    define.write_bytes(
        define_xml(data, study=study, standard=standard, version=version, files=suffix)
    )
    written.append(define)
    return written


def _iso_dates(table: pd.DataFrame) -> pd.DataFrame:
    """Numeric dates as ISO 8601 text (CSV carries dates as text)."""
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            fmt = "%Y-%m-%d" if col.endswith("DT") else "%Y-%m-%dT%H:%M:%S"
            out[col] = out[col].dt.strftime(fmt).where(out[col].notna(), None)
    return out
