"""``celltrial evidence``: propose trial records from sources; pool trials; audit claims."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from celltrial.commands import _ui as ui
from celltrial.evidence.audit import audit
from celltrial.evidence.extract import Proposal, extract
from celltrial.evidence.html import report_html
from celltrial.evidence.pool import pool, to_table
from celltrial.evidence.records import RecordError, TrialRecord, library_record_paths, load_records
from celltrial.protocol.units import format_count

app = typer.Typer(
    help="Evidence across trials: extract records, pool, audit claims.", no_args_is_help=True
)


console = ui.console

_SUMMARY_KINDS = (
    "arm_size",
    "total_n",
    "ratio",
    "dose",
    "schedule",
    "count",
    "comparison",
    "p_value",
    "ci",
    "estimate",
    "percent",
)


def _slug(p: Proposal) -> str:
    """``lanzoni2021`` from the first author's surname and the year; else the PMID or DOI."""
    if p.authors:
        first = p.authors[0]
        surname = first.split(",")[0] if "," in first else first.split()[-1]
        return "".join(ch for ch in surname.lower() if ch.isalpha()) + (
            str(p.year) if p.year else ""
        )
    if p.pmid:
        return f"pmid{p.pmid}"
    return "doi-" + "".join(ch if ch.isalnum() else "-" for ch in (p.doi or "unknown").lower())


@app.command("extract")
def extract_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="PubMed/PMC pages (text or HTML), catalogue or citation-index records, "
            ".nbib, .ris, plain-text abstracts (tables pasted as text are read too)"
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="write one proposed record (YAML) per trial here")
    ] = None,
) -> None:
    """Propose trial records: identifiers, arm sizes, doses, schedules and every numeric claim.

    A file that cannot be read is reported and the others are still read (exit 1 when some
    file failed, 2 when none could be read).
    """
    problems: list[str] = []
    proposals = extract(files, problems)
    if problems and not proposals:
        for line in problems[:-1]:
            ui.fail(line)
        raise ui.fail(problems[-1])
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    for p in proposals:
        ids = ", ".join(
            x
            for x in [p.pmid and f"PMID {p.pmid}", p.pmcid, p.doi and f"doi:{p.doi}", *p.registry]
            if x
        )
        console.rule(f"{_slug(p)} — {', '.join(p.sources)}")
        console.print(f"[bold]{p.title}[/]", highlight=False)
        authors = ", ".join(p.authors[:3]) + (" et al." if len(p.authors) > 3 else "")
        console.print(
            f"{authors} · {p.journal or 'journal unknown'} · {p.year or 'year unknown'}",
            highlight=False,
        )
        console.print(f"identifiers: {ids or 'none found'}", highlight=False)
        design = ", ".join(f"{k} {v}" for k, v in p.design.items()) or "no design terms found"
        console.print(f"design: {design}", highlight=False)
        table = Table(show_header=True, header_style="bold")
        table.add_column("kind")
        table.add_column("found")
        table.add_column("values", overflow="fold")
        table.add_column("sentence", overflow="fold", max_width=70)
        order = {k: i for i, k in enumerate(_SUMMARY_KINDS)}
        for item in sorted(p.items, key=lambda i: order.get(i.kind, 99)):
            values = ", ".join(
                f"{k}={format_count(v) if k in ('amount', 'high', 'tolerance') else v}"
                for k, v in item.values.items()
                if v not in (None, False, [], "")
            )
            table.add_row(item.kind, item.text, values, item.sentence)
        console.print(table)
        if out is not None:
            path = out / f"{_slug(p)}.proposed.yaml"
            path.write_text(
                yaml.safe_dump(p.to_dict(), sort_keys=False, allow_unicode=True, width=100),
                encoding="utf-8",
            )
            console.print(f"wrote {path}", highlight=False)
    console.print(
        f"{len(proposals)} proposed record(s) from {len(files) - len(problems)} file(s); confirm each value against its sentence.",
        highlight=False,
    )
    if problems:
        for line in problems:
            ui.fail(line, 1)
        raise ui.fail(f"{len(problems)} of {len(files)} file(s) could not be read", 1)


def _records(paths: list[Path]) -> list[TrialRecord]:
    if not paths:
        paths = library_record_paths()
    try:
        return load_records(paths)
    except RecordError as exc:
        for problem in exc.problems[:-1]:
            ui.fail(problem)
        raise ui.fail(exc.problems[-1]) from None


@app.command("pool")
def pool_command(
    records: Annotated[
        list[Path] | None, typer.Argument(help="record files (default: the five seed trials)")
    ] = None,
    outcome: Annotated[str, typer.Option(help="outcome id, e.g. mortality")] = "mortality",
    measure: Annotated[str, typer.Option(help="RR, OR or RD")] = "RR",
    method: Annotated[str, typer.Option(help="FE, DL, REML, ML, PM, SJ, HE, EB, HS")] = "REML",
    knha: Annotated[bool, typer.Option("--knha", help="Hartung-Knapp-Sidik-Jonkman test")] = False,
    subgroup: Annotated[str | None, typer.Option(help="a subgroups key, e.g. cell_source")] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="write an HTML report here")
    ] = None,
) -> None:
    """Pool one outcome across trial records: forest plot, leave-one-out, subgroups."""
    recs = _records(list(records or []))
    if measure not in ("RR", "OR", "RD"):
        raise ui.fail(f"--measure: {measure!r} is not one of RR, OR, RD")
    methods = ("FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB", "HS")
    if method not in methods:
        raise ui.fail(f"--method: {method!r} is not one of {', '.join(methods)}")
    try:
        result = pool(
            recs,
            outcome=outcome,
            measure=measure,  # type: ignore[arg-type]  # checked above
            method=method,  # type: ignore[arg-type]  # checked above
            test="knha" if knha else "z",
            subgroup=subgroup,
        )
    except ValueError as exc:
        raise ui.fail(str(exc)) from None
    table = Table(title=f"{outcome}: {measure} per study", title_justify="left")
    for column in ("study", "experimental", "control", measure, "95% CI", "weight"):
        table.add_column(column)
    for row in to_table(result):
        table.add_row(
            row["study"],
            row["experimental"],
            row["control"],
            f"{row['effect']:.3g}",
            f"{row['ci'][0]:.3g} to {row['ci'][1]:.3g}",
            f"{row['weight']:.1f}%" + (" *" if row["corrected"] else ""),
        )
    console.print(table)
    console.print(result.summary(), highlight=False)
    if result.leave_one_out is not None:
        loo = Table(title="Leave one out", title_justify="left")
        for column in ("without", measure, "95% CI", "p", "tau2", "I2"):
            loo.add_column(column)
        lo_ = result.leave_one_out
        for i, study in enumerate(result.studies):
            loo.add_row(
                study.label,
                f"{result.back(float(lo_.estimate[i])):.4g}",
                f"{result.back(float(lo_.ci[i, 0])):.4g} to {result.back(float(lo_.ci[i, 1])):.4g}",
                f"{float(lo_.p_value[i]):.4g}",
                f"{float(lo_.tau2[i]):.4g}",
                f"{float(lo_.i2[i]):.1f}%",
            )
        console.print(loo)
    if html_out is not None:
        html_out.write_text(report_html(title=f"Pooled {outcome}", pooled=result), encoding="utf-8")
        console.print(f"wrote {html_out}", highlight=False)


@app.command("audit")
def audit_command(
    records: Annotated[
        list[Path] | None, typer.Argument(help="record files (default: the five seed trials)")
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="write an HTML report here")
    ] = None,
) -> None:
    """Check every published claim against the trial's own counts."""
    recs = _records(list(records or []))
    rows = audit(recs)
    table = Table(title="Audit of published claims", title_justify="left")
    for column in ("record", "claim", "reported", "counts", "recomputed", "verdict", "reason"):
        table.add_column(column, overflow="fold")
    colour = {
        "consistent": "green",
        "consistent if": "yellow",
        "inconsistent": "bold red",
        "not checkable": "dim",
    }

    def family(verdict: str) -> str:
        return "consistent if" if verdict.startswith("consistent if") else verdict

    for r in rows:
        table.add_row(
            r.record,
            r.claim,
            r.reported,
            r.counts,
            r.recomputed,
            f"[{colour[family(r.verdict)]}]{escape(r.verdict)}[/]",
            escape(r.reason),
        )
    console.print(table)
    counts = {v: sum(1 for r in rows if family(r.verdict) == v) for v in colour}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items() if n), highlight=False)
    if html_out is not None:
        html_out.write_text(
            report_html(title="Audit of published claims", audit=rows), encoding="utf-8"
        )
        console.print(f"wrote {html_out}", highlight=False)
