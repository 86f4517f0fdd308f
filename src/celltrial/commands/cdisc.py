"""``celltrial cdisc``: SDTM in (any SDTM study with a mapping), SDTM/ADaM out (XPT v5,
Dataset-JSON, CSV, Parquet, Define-XML 2.1) and ODM 1.3.2 out and in.

Every user mistake ends with a red ``error:`` line and exit status 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from celltrial.cdisc import read_sdtm_study
from celltrial.cdisc.adam_out import to_adam
from celltrial.cdisc.export import write_tables
from celltrial.cdisc.io import TableFormat
from celltrial.cdisc.odm import read_odm, write_odm
from celltrial.cdisc.sdtm_out import to_sdtm
from celltrial.commands import _ui as ui
from celltrial.dataset import (
    DatasetError,
    check_dataset,
    derive_adae,
    derive_adsl,
    derive_adtte,
    errors,
    make_dataset,
    read_dataset,
    summarize,
    write_dataset,
)

app = typer.Typer(
    help="CDISC: SDTM in and out, ADaM, XPT v5, Dataset-JSON, Define-XML 2.1, ODM 1.3.2.",
    no_args_is_help=True,
)
ProtocolOpt = Annotated[
    str, typer.Option("--protocol", "-p", help="Library protocol id or a protocol YAML file")
]


def _formats(text: str) -> tuple[TableFormat, ...]:
    allowed: dict[str, TableFormat] = {
        "xpt": "xpt",
        "json": "json",
        "csv": "csv",
        "parquet": "parquet",
    }
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part not in allowed:
            raise ui.fail(f"--format {part!r}: use xpt, json, csv or parquet (comma-separated)")
        out.append(allowed[part])
    return tuple(out)


@app.command("load")
def load_command(
    folder: Annotated[Path, typer.Argument(help="SDTM folder: dm.xpt, ae.xpt, … (or .json, .csv)")],
    mapping: Annotated[
        str, typer.Option("--mapping", "-m", help="Mapping YAML, or a shipped one (cdiscpilot01)")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the mapped dataset and its ADaM here")
    ] = None,
) -> None:
    """Read an SDTM study with a mapping, summarize what was found, derive its ADaM."""
    try:
        study = read_sdtm_study(folder, mapping)
    except (FileNotFoundError, ValueError) as exc:
        raise ui.fail(str(exc).splitlines()[0]) from None
    ui.console.print(study.summary() if study.problems else "no problems")
    if not study.dataset.ok:
        raise ui.fail("the study has errors (above); nothing derived")
    adsl = derive_adsl(study.dataset, study.protocol)
    adae = derive_adae(study.dataset, study.protocol, adsl=adsl)
    adtte = derive_adtte(study.dataset, study.protocol, adsl=adsl)
    table = Table("arm", "ITT", "safety", "AEs", "TEAEs")
    for arm in study.protocol.arms:
        s = adsl[adsl["ARMCD"] == arm.id]
        a = adae[adae["ARMCD"] == arm.id]
        table.add_row(
            arm.label,
            str(int((s["ITTFL"] == "Y").sum())),
            str(int((s["SAFFL"] == "Y").sum())),
            str(len(a)),
            str(int((a["TRTEMFL"] == "Y").sum())),
        )
    ui.console.print(table)
    fit = check_dataset(study.dataset, study.protocol)
    if fit:
        ui.console.print(
            "fit to the protocol (`celltrial analyze` refuses a dataset with errors here; "
            "`celltrial report` sets their records aside and lists them):"
            if errors(fit)
            else "fit to the protocol (warnings: listed in the report; "
            f"`celltrial report {folder} --mapping {mapping}`):"
        )
        ui.console.print(summarize(fit), highlight=False, markup=False)
    events = adtte.groupby("PARAMCD")["CNSR"].apply(lambda c: int((c == 0).sum()))
    for code, n in events.items():
        ui.console.print(f"{code}: {n} events in {int((adtte['PARAMCD'] == code).sum())} rows")
    if out is not None:
        write_dataset(study.dataset, out / "dataset")
        adam = to_adam(study.dataset, study.protocol)
        write_tables(
            adam,
            out / "adam",
            study=str(study.dataset.study).upper(),
            standard="ADaMIG",
            version="1.3",
        )
        ui.console.print(f"wrote {out / 'dataset'} and {out / 'adam'}")


@app.command("write")
def write_command(
    dataset: Annotated[Path, typer.Argument(help="celltrial dataset folder (dm.csv, …)")],
    protocol: ProtocolOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder; sdtm/ and adam/ are made in it")],
    fmt: Annotated[str, typer.Option("--format", help="xpt,json,csv,parquet")] = "xpt",
) -> None:
    """Write a dataset as SDTM and ADaM (with define.xml) in the formats asked for."""
    p = ui.load_protocol_or_fail(protocol, option="--protocol")
    ds = read_dataset(dataset)
    if not ds.ok:
        ui.errors.print(summarize(ds.problems))
        raise ui.fail("the dataset has errors (above); nothing written")
    formats = _formats(fmt)
    try:
        sdtm = to_sdtm(ds, p)
        adam = to_adam(ds, p, sdtm=sdtm)
        n = len(write_tables(sdtm, out / "sdtm", study=sdtm.study, formats=formats))
        n += len(
            write_tables(
                adam,
                out / "adam",
                study=sdtm.study,
                formats=formats,
                standard="ADaMIG",
                version="1.3",
            )
        )
    except (ValueError, DatasetError) as exc:
        raise ui.fail(str(exc).splitlines()[0]) from None
    ui.console.print(f"wrote {n} files to {out}/sdtm and {out}/adam")


@app.command("odm-export")
def odm_export_command(
    dataset: Annotated[Path, typer.Argument(help="celltrial dataset folder (dm.csv, …)")],
    protocol: ProtocolOpt,
    out: Annotated[Path, typer.Option("--out", help="The ODM 1.3.2 file to write")],
    metadata_only: Annotated[
        bool, typer.Option("--metadata-only", help="Study definition only")
    ] = False,
) -> None:
    """Export the study definition and clinical data as CDISC ODM 1.3.2."""
    p = ui.load_protocol_or_fail(protocol, option="--protocol")
    ds = None if metadata_only else read_dataset(dataset)
    if ds is not None and not ds.ok:
        ui.errors.print(summarize(ds.problems))
        raise ui.fail("the dataset has errors (above); nothing written")
    write_odm(p, out, ds)
    ui.console.print(f"wrote {out}")


@app.command("odm-import")
def odm_import_command(
    odm: Annotated[Path, typer.Argument(help="A CDISC ODM 1.3.2 file")],
    protocol_out: Annotated[
        Path, typer.Option("--protocol-out", help="Write the protocol draft (YAML) here")
    ],
    dataset_out: Annotated[
        Path | None, typer.Option("--dataset-out", help="Write its clinical data as a dataset")
    ] = None,
) -> None:
    """Import an ODM study definition as a protocol draft (and its clinical data as a dataset)."""
    try:
        draft, tables = read_odm(odm)
    except (OSError, ValueError) as exc:
        raise ui.fail(f"{odm}: {str(exc).splitlines()[0]}") from None
    protocol_out.write_text(yaml.safe_dump(draft, sort_keys=False, allow_unicode=True), "utf-8")
    ui.console.print(f"wrote the protocol draft {protocol_out} (complete every 'unknown')")
    if dataset_out is not None:
        ds = make_dataset(tables)
        if ds.problems:
            ui.console.print(summarize(ds.problems))
        write_dataset(ds, dataset_out)
        ui.console.print(f"wrote {len(ds.tables)} tables to {dataset_out}")
