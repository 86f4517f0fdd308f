"""``celltrial evidence``: propose trial records from sources; pool trials; audit claims."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from celltrial.evidence.extract import Proposal, extract
from celltrial.protocol.units import format_count

app = typer.Typer(
    help="Evidence across trials: extract records, pool, audit claims.", no_args_is_help=True
)


def _console(stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=140)


console = _console()
errors = _console(stderr=True)

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
        typer.Argument(help="PubMed pages, catalogue or citation-index records, .nbib, .ris"),
    ],
    out: Annotated[
        Path | None, typer.Option(help="write one proposed record (YAML) per trial here")
    ] = None,
) -> None:
    """Propose trial records: identifiers, arm sizes, doses, schedules and every numeric claim."""
    try:
        proposals = extract(files)
    except ValueError as exc:
        for line in str(exc).splitlines():
            errors.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
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
                f"{k}={format_count(v) if k in ('amount', 'tolerance') else v}"
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
        f"{len(proposals)} proposed record(s) from {len(files)} file(s); confirm each value against its sentence.",
        highlight=False,
    )
