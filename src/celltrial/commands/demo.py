"""``celltrial demo``: a protocol's virtual trial (lanzoni2021 by default, ``--protocol`` for
any seed with a scenario) run through the EDC, to the blinded and closed reports.

One command, no questions: a fresh SQLite EDC for the protocol in the output folder (three
sites, one user per role, a sealed allocation list when the trial is randomized), the virtual
trial entered event by event with the site staff's action functions
(:func:`celltrial.rehearse.run_through_edc`) up to today — a trial in progress, so that each
role's home page shows work (``--whole``: the whole trial at the scenario's dates) — the audit
chain verified, the dataset exported and checked, the blinded and the closed (DSMB) report
written (HTML; PDF too when Chromium is installed), what each role finds today, and how to open
the EDC on that database (``celltrial serve``).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from celltrial.commands import _ui as ui

PROTOCOL = "lanzoni2021"
SCENARIO = "lanzoni2021"
SITES = 3
#: The demo's seed; with it the closed report shows fewer deaths with UC-MSC (tested).
SEED = 7
DB_NAME = "edc.sqlite3"


def _clear(out: Path) -> None:
    """Remove a previous demo's database and its companions (``--force``)."""
    db = out / DB_NAME
    # The audit chain's anchor belongs to the database it anchors: a new database starts a new
    # chain, so the old anchor goes with the old file (else `audit verify` rightly calls the new
    # chain a rewrite of the old one).
    for suffix in (
        "",
        "-wal",
        "-shm",
        "-journal",
        ".key",
        ".writer-lock",
        ".state/audit-head.json",
    ):
        path = Path(f"{db}{suffix}")
        if path.exists():
            path.unlink()


def _today(text: str | None) -> datetime:
    """``--today``: a date (noon UTC), a date and time (UTC unless it says), or now."""
    now = datetime.now(UTC)
    if text is None:
        return now
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ui.fail(
            f"--today: {text!r} is not a date (2026-03-02) or a date and time (2026-03-02T09:00Z)"
        ) from None
    if len(text.strip()) == 10:
        when = when.replace(hour=12)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > now:
        raise ui.fail(
            f"--today: {when:%Y-%m-%d %H:%M} UTC is in the future; the EDC refuses times after now"
        )
    return when


def _work_today(now: datetime) -> dict[str, str]:
    """What each role finds on their home page at ``now`` (the first user of each role)."""
    from celltrial.edc import worklist
    from celltrial.edc.models import AdverseEvent, Query, Role, Staff

    def first(role: str) -> Staff:
        found = Staff.objects.filter(role=role).select_related("trial").first()
        assert found is not None  # create_edc made one of each
        return found

    visits = worklist.visits_due(first(Role.COORDINATOR), now)
    infusions = worklist.infusions_due(first(Role.PHARMACIST), now)
    clocks = AdverseEvent.objects.filter(serious=True, sae_reported_at__isnull=True)
    queries = Query.objects.filter(status=Query.Status.OPEN)
    return {
        "coordinator": f"{len(visits)} visit(s) due this week"
        + (
            f" ({', '.join(f'{v.participant.code} {v.label}' for v in visits[:3])} …)"
            if visits
            else ""
        ),
        "pharmacist": f"{len(infusions)} infusion(s) to prepare this week",
        "investigator": f"{clocks.count()} SAE report(s) due (24 h clock running)",
        "monitor": f"{queries.count()} open quer{'y' if queries.count() == 1 else 'ies'}",
    }


def demo_command(
    out: Annotated[
        Path, typer.Option(help="Folder for the EDC database, the dataset and the reports.")
    ] = Path("demo-output"),
    protocol_id: Annotated[
        str,
        typer.Option(
            "--protocol", help="Library protocol id with a virtual-trial scenario of the same id."
        ),
    ] = PROTOCOL,
    n: Annotated[int, typer.Option(min=2, help="Participants to randomize (or assign).")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the virtual trial.")] = SEED,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the EDC database of an earlier demo.")
    ] = False,
    pdf: Annotated[
        bool, typer.Option(help="Also write PDF reports when Chromium is installed.")
    ] = True,
    today: Annotated[
        str | None,
        typer.Option(
            help="The day the trial in progress has reached: a date (noon UTC) or a date and "
            "time (2026-03-02T09:00Z); not in the future. Default: now."
        ),
    ] = None,
    whole: Annotated[
        bool,
        typer.Option(
            "--whole",
            help="Run the whole trial to its end at the scenario's own dates (the trial done, "
            "nothing due) instead of a trial in progress up to today.",
        ),
    ] = False,
) -> None:
    """Run a protocol's virtual trial through a fresh EDC, up to today, and write its dataset
    and reports."""
    console = ui.console
    start = time.perf_counter()
    db = out / DB_NAME
    if os.environ.get("DATABASE_URL"):
        raise ui.fail("DATABASE_URL is set: the demo makes its own SQLite EDC; unset it")
    if whole and today is not None:
        raise ui.fail("--today: a whole trial (--whole) runs at the scenario's dates; give one")
    now = None if whole else _today(today)
    if db.exists() and not force:
        raise ui.fail(f"--out: {db} exists already (an earlier demo); give --force to replace it")
    from celltrial.analysis import analyze
    from celltrial.commands.edc import create_edc
    from celltrial.dataset import check_dataset, errors, read_dataset
    from celltrial.protocol import load_protocol
    from celltrial.rehearse import run_through_edc
    from celltrial.report import ChromiumNotFound, chromium, write_report
    from celltrial.simulate import load_scenario, scenario_ids

    if protocol_id not in scenario_ids():
        raise ui.fail(
            f"--protocol: no virtual-trial scenario named {protocol_id!r} "
            f"(there are: {', '.join(sorted(scenario_ids()))})"
        )
    protocol = load_protocol(protocol_id)
    scenario = load_scenario(protocol_id, protocol)
    randomized = protocol.design.assignment == "randomized"
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    made = create_edc(
        protocol_id,
        db,
        sites=SITES,
        # Where the protocol says `unknown`, the scenario's (commented) assumptions fill in.
        method=scenario.allocation.method if randomized else None,
        ratio=scenario.allocation.ratio if randomized else None,
        block_sizes=(list(scenario.allocation.block_sizes or []) or None) if randomized else None,
        per_stratum=max(30, n),
        # The list's key from the seed, so that the demo is reproducible (not a secret key).
        key=np.random.default_rng([seed, 1]).bytes(32),
        # A demonstration: its printed passwords are not forced to change at the first log-in.
        must_change=False,
    )
    from celltrial.edc.actions import token_for
    from celltrial.edc.models import Staff

    admin_token = token_for(Staff.objects.get(user__username="admin"), "celltrial demo")
    console.rule(f"celltrial demo: EDC for {protocol_id} in {db}")
    logins = Table("username", "role", "password", title="EDC users (shown once)")
    for user, pw in made.passwords.items():
        logins.add_row(user, user, pw)
    console.print(logins)
    console.print(f"admin API token (shown once): {admin_token}", highlight=False)

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} events"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("virtual trial through the EDC", total=None)

        def tick(done: int, known: int, kind: str) -> None:
            bar.update(task, completed=done, total=known, description=f"EDC: {kind:<14}")

        summary = run_through_edc(
            protocol,
            scenario,
            n=n,
            sites=made.sites,
            rng=np.random.default_rng(seed),
            progress=tick,
            today=now,
        )
        bar.update(task, description="verifying the audit chain")
        from celltrial.edc.audit import verify_audit
        from celltrial.edc.export import export_dataset

        audit = verify_audit()
        if not audit.ok:
            raise ui.fail(f"audit trail broken: {audit.message}", 1)
        bar.update(task, description="exporting the dataset")
        folder = out / "dataset"
        export_dataset(folder)
        dataset = read_dataset(folder)
        problems = errors([*dataset.problems, *check_dataset(dataset, protocol)])
        if problems:
            for p in problems[:20]:
                ui.errors.print(str(p), markup=False, highlight=False)
            raise ui.fail(f"the exported dataset has {len(problems)} error(s)", 1)
        bar.update(task, description="analysing and writing the reports")
        analysis = analyze(dataset, protocol)
        want_pdf = pdf
        if want_pdf:
            try:
                chromium()
            except ChromiumNotFound:
                want_pdf = False
        blinded = write_report(analysis, out / "report-blinded.html", pdf=want_pdf)
        closed = write_report(analysis, out / "report-closed.html", closed=True, pdf=want_pdf)

    console.rule(
        f"virtual {protocol_id}: {summary.screened} screened, {summary.randomized} "
        f"{'randomized' if randomized else 'assigned'} "
        f"at {', '.join(made.sites)}"
    )
    table = Table("through the EDC", "simulated", "entered", "not entered", "after today")
    missing = {k: 0 for k in summary.simulated}
    for ne in summary.not_entered:
        missing[ne.kind] += 1
    for kind, count in sorted(summary.simulated.items(), key=lambda kv: -kv[1]):
        table.add_row(
            kind,
            str(count),
            str(summary.entered[kind]),
            str(missing[kind]),
            str(summary.future[kind]),
        )
    console.print(table)
    for reason, count in sorted(summary.reasons().items()):
        console.print(f"  not entered ({count}): {escape(reason)}", highlight=False)
    for fix, count in sorted(summary.fixes.items()):
        console.print(f"  handled as a site would ({count}): {escape(fix)}", highlight=False)
    console.print(
        f"{sum(summary.actions.values())} EDC actions, {summary.values_entered} values; "
        f"{audit.message}",
        highlight=False,
    )
    dm = dataset.dm
    for arm in protocol.arms:
        mine = dm[dm["ARMCD"] == arm.id]
        deaths = int((mine["DTHFL"] == "Y").sum())
        console.print(
            f"  {arm.label:30s} {len(mine)} {'randomized' if randomized else 'assigned'}, "
            f"{deaths} died",
            highlight=False,
        )
    if summary.today is not None:
        console.rule(f"today, {summary.today:%A %Y-%m-%d %H:%M} UTC: the trial in progress")
        for who, what in _work_today(summary.today).items():
            console.print(f"  {who:13s} {what}", highlight=False)
    console.rule("where everything is")
    where = {
        "EDC database": db,
        "list key": made.key_file,
        "dataset (CSV)": folder,
        **{f"blinded report ({p.suffix[1:]})": p for p in blinded},
        **{f"closed report, DSMB ({p.suffix[1:]})": p for p in closed},
    }
    for what, path in where.items():
        console.print(f"{what:28s} {path}", highlight=False)
    if pdf and not want_pdf:
        console.print("(no PDF: Chromium is not installed; `make demo` installs it)")
    console.print(
        f"Open the EDC on this database: celltrial serve --db {db}  "
        "(then http://127.0.0.1:8000/ with a user and password above, one per role; the API "
        "at /api/docs with the admin API token above as Bearer)",
        highlight=False,
    )
    console.print(f"done in {time.perf_counter() - start:.1f} s", highlight=False)
