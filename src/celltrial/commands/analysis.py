"""``celltrial analyze`` and ``celltrial report``: a dataset folder -> results table / report.

Both are top-level commands; ``cli.py`` registers them with
``app.command("analyze")(analyze_command)`` and ``app.command("report")(report_command)``.
Every user mistake ends with a red ``error:`` line and exit status 2, never a traceback.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from celltrial.analysis import (
    TimeToEventResult,
    TrialAnalysis,
    analyze,
    analyze_despite_problems,
)
from celltrial.commands import _ui as ui
from celltrial.dataset import Dataset, DatasetError, read_dataset
from celltrial.protocol import Protocol

app = typer.Typer(help="Analyse a trial dataset and write its report.", no_args_is_help=True)

DatasetDir = Annotated[
    Path | None,
    typer.Argument(help="Dataset folder (dm.csv, ae.csv, … or .parquet); or give --db"),
]
ProtocolOpt = Annotated[
    str | None,
    typer.Option(
        "--protocol",
        "-p",
        help="Library protocol id or a protocol YAML file (default with --db: the trial's)",
    ),
]
DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="An EDC SQLite database: its dataset is exported and analysed"),
]
MappingOpt = Annotated[
    str | None,
    typer.Option(
        "--mapping",
        "-m",
        help="The folder is an SDTM study (dm.xpt, …): read it with this mapping (a YAML file "
        "or a shipped one, e.g. cdiscpilot01), whose protocol is used",
    ),
]


def _protocol(source: str) -> Protocol:
    return ui.load_protocol_or_fail(source)


def _from_edc(db: Path, folder: Path) -> str:
    """Export the EDC database's dataset to ``folder``; return its active protocol as YAML."""
    import os

    if not os.environ.get("DATABASE_URL") and not db.is_file():
        raise ui.fail(f"--db: {db} does not exist")
    from celltrial.edc import setup

    setup(str(db))
    from celltrial.edc.export import export_dataset
    from celltrial.edc.models import Participant, ProtocolVersion, Trial

    trials = list(Trial.objects.all())
    if len(trials) != 1:
        raise ui.fail(f"--db: {db} holds {len(trials)} trials; one is expected")
    if not Participant.objects.filter(trial=trials[0]).exists():
        raise ui.fail(
            f"--db: the trial in {db} has no participants yet; there is nothing to analyse"
        )
    export_dataset(folder)
    version = ProtocolVersion.objects.filter(trial=trials[0], active=True).latest("loaded_at")
    return str(version.yaml_text)


def _analysis(
    folder: Path | None,
    source: str | None,
    db: Path | None = None,
    *,
    despite: bool = False,
    mapping: str | None = None,
) -> TrialAnalysis:
    if mapping is not None:
        if db is not None or source is not None:
            raise ui.fail("--mapping: the mapping names the protocol; give no --db or --protocol")
        if folder is None:
            raise ui.fail("--mapping: give the SDTM study's folder")
        return _analyse_sdtm(folder, mapping, despite=despite)
    if db is not None:
        if folder is not None:
            raise ui.fail("give a dataset folder or --db, not both")
        import tempfile

        with tempfile.TemporaryDirectory(prefix="celltrial-export-") as tmp:
            yaml_text = _from_edc(db, Path(tmp))
            if source is None:
                protocol_file = Path(tmp) / "protocol.yaml"
                protocol_file.write_text(yaml_text, encoding="utf-8")
                source = str(protocol_file)
            return _analyse_folder(Path(tmp), source, despite=despite)
    if folder is None:
        raise ui.fail("give a dataset folder, or --db with an EDC database")
    if source is None:
        raise ui.fail("--protocol: give the protocol (a library id or a YAML file)")
    return _analyse_folder(folder, source, despite=despite)


def _analyse_sdtm(folder: Path, mapping: str, *, despite: bool) -> TrialAnalysis:
    """An SDTM study read with its mapping (``celltrial.cdisc``): the mapping's protocol, and
    the inconsistencies of the source it accepts reported as warnings."""
    from celltrial.cdisc import read_sdtm_study

    if not folder.is_dir():
        raise ui.fail(f"{folder} is not an SDTM study folder")
    try:
        study = read_sdtm_study(folder, mapping)
    except (FileNotFoundError, ValueError) as exc:
        raise ui.fail(str(exc).splitlines()[0]) from None
    return _analyse(study.dataset, study.protocol, str(folder), despite=despite)


def _analyse_folder(folder: Path, source: str, *, despite: bool = False) -> TrialAnalysis:
    protocol = _protocol(source)
    if not folder.is_dir():
        raise ui.fail(f"{folder} is not a dataset folder")
    return _analyse(None, protocol, str(folder), despite=despite)


def _analyse(
    dataset: Dataset | None, protocol: Protocol, folder: str, *, despite: bool
) -> TrialAnalysis:
    try:
        if dataset is None:
            dataset = read_dataset(folder)
        if despite:  # a report: records in error are set aside and listed in it
            result = analyze_despite_problems(dataset, protocol)
            shown = result.data_problems[:20]  # the report lists every one
            for d in shown:
                ui.errors.print(
                    f"set aside: {d.record} ({d.usubjid or '-'}): {d.what}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
            if len(result.data_problems) > len(shown):
                ui.errors.print(
                    f"… and {len(result.data_problems) - len(shown)} more set aside "
                    "(listed in the report's Data problems section)"
                )
            return result
        return analyze(dataset, protocol)
    except DatasetError as exc:
        # A summary a person can read (counts by table and rule, the first rows of each),
        # never 250,000 lines: every line only when there are few.
        ui.errors.print(str(exc), highlight=False, markup=False, soft_wrap=True)
        raise ui.fail(
            f"{len(exc.problems)} problem(s): the dataset in {folder} does not fit "
            f"protocol {protocol.id}"
        ) from None


def _f(x: float, digits: int = 3) -> str:
    return "NA" if math.isnan(x) else f"{x:.{digits}g}"


def results_table(result: TrialAnalysis) -> Table:
    """One row per endpoint: arms' summaries, the test's p-value, the effect with its CI."""
    t = Table(title=f"{result.protocol_id}: pre-specified analyses", show_lines=True)
    for col in ("Endpoint", "Population / n", "By arm", "p", "Effect (95% CI)", "Method"):
        t.add_column(col, overflow="fold")
    for e in result.endpoints:
        arms = []
        for a in getattr(e, "arms", ()):
            if isinstance(e, TimeToEventResult):
                arms.append(
                    f"{a.label}: {a.events}/{a.n} events, S({e.horizon:g}d) = {_f(a.survival)}"
                )
            elif hasattr(a, "median"):
                arms.append(
                    f"{a.label}: median {_f(a.median)} (IQR {_f(a.q1)} to {_f(a.q3)}), n={a.n}"
                )
            else:
                arms.append(f"{a.label}: {a.events}/{a.n}")
        effects = []
        for f in e.effects:
            effects.append(
                f"{f.measure} {_f(f.estimate)} ({_f(f.ci[0])} to {_f(f.ci[1])})"
                if f.estimable
                else f"{f.measure}: {f.note}"
            )
        pop = f"{e.population} / {e.n}" + (f" ({e.n_missing} missing)" if e.n_missing else "")
        p = "—" if math.isnan(e.p_value) else f"{e.p_value:.4g}"
        star = " (primary)" if e.primary else ""
        t.add_row(e.label + star, pop, "\n".join(arms), p, "\n".join(effects), e.method)
    return t


def analyze_command(
    dataset_dir: DatasetDir = None,
    protocol: ProtocolOpt = None,
    db: DbOpt = None,
    mapping: MappingOpt = None,
) -> None:
    """Run every pre-specified analysis of the protocol on a dataset and print the results."""
    result = _analysis(dataset_dir, protocol, db, mapping=mapping)
    if result.problems:
        ui.console.print(
            f"{len(result.problems)} data warning(s) (listed in the report's Data warnings)"
        )
    ui.console.print(results_table(result))
    if result.missing:
        ui.console.print(
            f"{len(result.missing)} missing value(s) across endpoints (see the report)."
        )


def report_command(
    dataset_dir: DatasetDir = None,
    protocol: ProtocolOpt = None,
    db: DbOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write")] = Path(
        "report.html"
    ),
    closed: Annotated[
        bool, typer.Option("--closed", help="The closed DSMB report, by arm (default: blinded)")
    ] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print a PDF with headless Chromium")
    ] = False,
    mapping: MappingOpt = None,
) -> None:
    """Write the trial report (blinded by default; --closed for the DSMB) as HTML, and PDF."""
    from celltrial.report import ChromiumNotFound, write_report

    result = _analysis(dataset_dir, protocol, db, despite=True, mapping=mapping)
    try:
        written = write_report(result, out, closed=closed, pdf=pdf)
    except ChromiumNotFound as exc:
        raise ui.fail(str(exc)) from None
    except (OSError, RuntimeError) as exc:
        raise ui.fail(f"cannot write the report: {exc}") from None
    kind = "closed (DSMB)" if closed else "blinded"
    for path in written:
        ui.console.print(f"wrote {kind} report {path}")


app.command("analyze")(analyze_command)
app.command("report")(report_command)
