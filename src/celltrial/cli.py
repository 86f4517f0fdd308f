"""The ``celltrial`` command.

``celltrial protocol list|show|validate|calendar`` and ``celltrial demo``. Every user mistake
ends with a message and exit status 1 or 2, never a traceback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from celltrial.commands import _ui as ui
from celltrial.commands.allocation import app as allocation_app
from celltrial.commands.analysis import analyze_command, report_command
from celltrial.commands.cdisc import app as cdisc_app
from celltrial.commands.demo import demo_command
from celltrial.commands.design import app as design_app
from celltrial.commands.edc import app as edc_app
from celltrial.commands.evidence import app as evidence_app
from celltrial.commands.serve import serve_command
from celltrial.protocol import (
    CalendarError,
    Protocol,
    ProtocolError,
    calendar,
    is_unknown,
    library_ids,
    load_protocol,
)
from celltrial.protocol.units import format_count, format_duration

app = typer.Typer(
    help="celltrial: run and analyse randomized clinical trials of cell therapies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
protocol_app = typer.Typer(
    help="Trial protocols: list, show, validate, calendar.", no_args_is_help=True
)
app.add_typer(protocol_app, name="protocol")
app.add_typer(allocation_app, name="allocation")
app.add_typer(evidence_app, name="evidence")
app.add_typer(edc_app, name="edc")
app.add_typer(cdisc_app, name="cdisc")
app.command("analyze")(analyze_command)
app.command("report")(report_command)
app.add_typer(design_app, name="design")
app.command("demo")(demo_command)
app.command("serve")(serve_command)


console = ui.console
errors = ui.errors


def _fail(message: str, code: int = 1) -> typer.Exit:
    return ui.fail(message, code)


def _load(source: str) -> Protocol:
    return ui.load_protocol_or_fail(source, code=1)


def _text(value: object, model: object = None, field: str | None = None) -> str:
    if value is None:
        if model is not None and field is not None and is_unknown(model, field):  # type: ignore[arg-type]
            return "[italic yellow]unknown[/]"
        return "—"
    return str(value)


@protocol_app.command("list")
def protocol_list() -> None:
    """List the protocols shipped with celltrial."""
    table = Table(title="Protocol library", title_justify="left")
    for column in ("id", "phase", "design", "blinding", "arms", "n", "title"):
        table.add_column(column, overflow="fold")
    for pid in library_ids():
        p = _load(pid)
        table.add_row(
            p.id,
            p.phase,
            p.design.assignment.replace("_", "-"),
            _text(p.design.blinding, p.design, "blinding"),
            " vs ".join(a.label for a in p.arms),
            _text(p.population.planned_n, p.population, "planned_n"),
            p.short_title or p.title,
        )
    console.print(table)


@protocol_app.command("validate")
def protocol_validate(
    sources: Annotated[list[str], typer.Argument(help="protocol files or library ids")],
) -> None:
    """Validate protocol files; print every problem with file, line and field."""
    failed = 0
    for source in sources:
        try:
            p = load_protocol(source)
        except ProtocolError as exc:
            failed += 1
            for problem in exc.problems:
                errors.print(str(problem), highlight=False, markup=False, soft_wrap=True)
            continue
        except FileNotFoundError as exc:
            failed += 1
            errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
            continue
        console.print(f"[green]ok[/] {source} ({p.id}, version {p.version})", highlight=False)
    if failed:
        raise _fail(f"{failed} of {len(sources)} protocol(s) did not validate")


@protocol_app.command("show")
def protocol_show(
    source: Annotated[str, typer.Argument(help="protocol file or library id")],
) -> None:
    """Show a protocol: design, arms and doses, schedule, safety windows and endpoints."""
    p = _load(source)
    d = p.design
    console.print(f"[bold]{p.title}[/]", highlight=False)
    ids = ", ".join(f"{r.registry} {r.id}" for r in p.registry_ids) or "—"
    console.print(f"id {p.id} · version {p.version} · phase {p.phase} · {ids}", highlight=False)
    ratio = p.ratio()
    ratio_text = (
        ":".join(str(v) for v in ratio.values()) if ratio else _text(None, d.allocation, "ratio")
    )
    strata = ", ".join(f"{s.factor} ({'/'.join(s.levels)})" for s in d.allocation.strata) or "none"
    console.print(
        f"design: {d.assignment.replace('_', '-')}, blinding {_text(d.blinding, d, 'blinding')}, "
        f"control {d.control}, allocation {_text(d.allocation.method, d.allocation, 'method')} "
        f"{ratio_text}, strata {strata}",
        highlight=False,
    )
    arms = Table(title="Arms", title_justify="left")
    for column in ("arm", "role", "product", "dose", "administrations", "n"):
        arms.add_column(column, overflow="fold")
    for arm in p.arms:
        if arm.dose is None:
            dose = _text(None, arm, "dose")
        else:
            amount = arm.dose.written or (
                format_count(arm.dose.amount) if arm.dose.amount is not None else "unknown"
            )
            dose = f"{amount} {arm.dose.unit}"
            if arm.dose.tolerance is not None:
                dose += f" ± {format_count(arm.dose.tolerance)}"
        plan = arm.administrations
        if plan is None:
            schedule = _text(None, arm, "administrations")
        elif plan.days is not None:
            schedule = "days " + ", ".join(str(x) for x in plan.days)
        else:
            schedule = f"every {format_duration(plan.every or 0)} × {plan.count}"
        arms.add_row(
            arm.label,
            arm.role,
            f"{arm.product.name} ({arm.product.kind.replace('_', ' ')})",
            dose,
            schedule,
            _text(arm.planned_n, arm, "planned_n"),
        )
    console.print(arms)
    visits = Table(title="Schedule of assessments", title_justify="left")
    for column in ("visit", "at", "window", "measurements"):
        visits.add_column(column, overflow="fold")
    for v in p.schedule.visits:
        anchor = "rand." if p.schedule.anchor_of(v) == "randomization" else "1st adm."
        visits.add_row(
            v.label,
            f"{format_duration(v.at)} from {anchor}",
            f"{format_duration(v.window[0])} / +{format_duration(v.window[1])}",
            ", ".join(v.measurements),
        )
    console.print(visits)
    if p.safety.windows:
        for w in p.safety.windows:
            console.print(
                f"safety window: {w.label} ({format_duration(w.duration)} after each administration)",
                highlight=False,
            )
    stated = "sae_report_within" in p.safety.model_fields_set
    console.print(
        f"SAE report within {format_duration(p.safety.sae_report_within)}"
        + ("" if stated else " (default, not stated)"),
        highlight=False,
    )
    endpoints = Table(title="Endpoints", title_justify="left")
    for column in ("endpoint", "primary", "type", "population", "analysis"):
        endpoints.add_column(column, overflow="fold")
    for e in p.endpoints:
        primary = "yes" if e.primary else _text(None, e, "primary") if e.primary is None else "no"
        endpoints.add_row(
            e.label, primary, e.type.replace("_", " "), e.population, ", ".join(e.analysis)
        )
    console.print(endpoints)


def _parse_when(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(
            f"--randomized: {text!r} is not an ISO 8601 time such as 2026-03-01T10:00Z", 2
        ) from None
    if when.tzinfo is None:
        raise _fail(
            "--randomized: give a time zone, e.g. 2026-03-01T10:00Z or 2026-03-01T11:00+01:00", 2
        )
    return when


@protocol_app.command("calendar")
def protocol_calendar(
    source: Annotated[str, typer.Argument(help="protocol file or library id")],
    randomized: Annotated[str, typer.Option(help="time of randomization, ISO 8601 with zone")],
    weight: Annotated[float | None, typer.Option(help="participant's weight in kg")] = None,
    arm: Annotated[list[str] | None, typer.Option(help="only these arm ids")] = None,
    tz: Annotated[
        str | None, typer.Option(help="show times in this zone, e.g. Europe/Rome")
    ] = None,
) -> None:
    """A participant's administrations and visits, to the hour."""
    p = _load(source)
    when = _parse_when(randomized)
    try:
        zone = ZoneInfo(tz) if tz else when.tzinfo
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"--tz: {tz!r} is not a known time zone (e.g. UTC, Europe/Rome)", 2) from None
    try:
        cal = calendar(p, when, weight_kg=weight, arms=arm)
    except (CalendarError, KeyError) as exc:
        raise _fail(str(exc).strip('"'), 2) from None

    def show(t: datetime) -> str:
        return t.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def around(nominal: datetime, earliest: datetime, latest: datetime) -> str:
        if earliest == latest == nominal:
            return "—"
        before = int((earliest - nominal).total_seconds() // 3600)
        after = int((latest - nominal).total_seconds() // 3600)
        return f"{format_duration(before)} / +{format_duration(after)}"

    console.print(
        f"[bold]{p.short_title or p.title}[/] — randomized {show(cal.randomized)} "
        f"({cal.randomized.astimezone(zone).tzname()}; times below in that zone)"
        + (f", weight {weight:g} kg" if weight is not None else ""),
        highlight=False,
    )
    doses = Table(title="Administrations", title_justify="left")
    for column in ("arm", "#", "day", "nominal", "window", "amount", "allowed range"):
        doses.add_column(column, overflow="fold")
    for a in cal.administrations:
        doses.add_row(
            a.arm,
            str(a.number),
            f"{a.day:g}",
            show(a.nominal),
            around(a.nominal, a.earliest, a.latest),
            a.amount_text() + (" (capped)" if a.capped else ""),
            a.range_text() or "—",
        )
    console.print(doses)
    visits = Table(title="Visits", title_justify="left")
    for column in ("visit", "nominal", "window", "earliest", "latest", "measurements"):
        visits.add_column(column, overflow="fold")
    for v in cal.visits:
        visits.add_row(
            v.label,
            show(v.nominal),
            around(v.nominal, v.earliest, v.latest),
            show(v.earliest),
            show(v.latest),
            ", ".join(v.measurements),
        )
    console.print(visits)


def main() -> None:
    """Entry point of the ``celltrial`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["app", "main"]
