"""``celltrial edc``: create an EDC database, verify its audit trail, export its dataset.

Every user mistake ends with a red ``error:`` line naming the option and the rule, and exit
status 2; an audit trail that fails verification exits with status 1.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="The EDC: create a database, verify the audit trail, export.", no_args_is_help=True
)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False)

ROLES = ("investigator", "coordinator", "pharmacist", "monitor", "data_manager", "dsmb")
#: The full names of the accounts ``edc init`` makes (one per role).
ROLE_NAMES = {
    "investigator": "Investigator",
    "coordinator": "Study coordinator",
    "pharmacist": "Unblinded pharmacist",
    "monitor": "Monitor",
    "data_manager": "Data manager",
    "dsmb": "DSMB statistician",
}
DB_HELP = "SQLite file of the EDC (ignored when DATABASE_URL is set)"


def _fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


@app.command("init")
def init(
    protocol: Annotated[str, typer.Option(help="protocol file or library id")],
    db: Annotated[Path, typer.Option(help="SQLite file to create")] = Path("celltrial-edc.sqlite3"),
    sites: Annotated[int, typer.Option(help="number of sites (site1 … siteN)")] = 1,
    method: Annotated[
        str | None, typer.Option(help="allocation method when the protocol's is unknown")
    ] = None,
    ratio: Annotated[
        str | None, typer.Option(help="e.g. 2:1 (arms in the protocol's order) when unknown")
    ] = None,
    block_sizes: Annotated[
        str | None, typer.Option(help="e.g. 4,6 when the protocol's are unknown")
    ] = None,
    per_stratum: Annotated[int, typer.Option(help="list rows per site × stratum")] = 60,
    no_list: Annotated[
        bool,
        typer.Option(
            "--no-list",
            help="load no allocation list: for `celltrial edc import-odm`, which loads the "
            "file's recorded assignments as the list",
        ),
    ] = False,
) -> None:
    """Create a fresh EDC: migrate, load the protocol and a sealed list, one user per role."""
    from celltrial.protocol import ProtocolError

    if not os.environ.get("DATABASE_URL") and db.exists():
        raise _fail(f"--db: {db} exists already; choose a new file")
    try:
        sizes = [int(x) for x in block_sizes.split(",")] if block_sizes else None
    except ValueError:
        raise _fail(
            f"--block-sizes: {block_sizes!r} is not a list of whole numbers such as 4,6"
        ) from None
    try:
        made = create_edc(
            protocol,
            db,
            sites=sites,
            method=method,
            ratio=ratio,
            block_sizes=sizes,
            per_stratum=per_stratum,
            with_list=not no_list,
        )
    except ProtocolError as exc:
        for problem in exc.problems:
            errors.print(str(problem), markup=False, soft_wrap=True)
        raise _fail(f"--protocol: {len(exc.problems)} problem(s) in {protocol}") from None
    except FileNotFoundError as exc:
        raise _fail(f"--protocol: {exc}") from None
    except EdcSetupError as exc:
        raise _fail(str(exc)) from None
    where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else str(db)
    console.print(
        f"EDC for [bold]{made.protocol_id}[/] (protocol {made.version}) created in {where}"
    )
    if made.rows:
        console.print(f"sealed list: {made.rows} rows, commitment {made.commitment}")
    elif no_list:
        console.print("no allocation list (--no-list): import the trial's ODM file next")
    else:
        console.print("not randomized: no allocation list; arms are assigned in the EDC")
    console.print(f"list key (keep it secret, offline): {made.key_file}")
    console.print("users (username  role  password):")
    for user, pw in made.passwords.items():
        console.print(f"  {user:<14}{user:<14}{pw}")


class EdcSetupError(Exception):
    """The allocation scheme or the trial could not be set up (the message says why)."""


@dataclasses.dataclass(frozen=True)
class CreatedEdc:
    """What :func:`create_edc` made: the trial, its sites, the users' passwords, the list."""

    protocol_id: str
    version: str
    sites: tuple[str, ...]
    passwords: dict[str, str]
    rows: int
    commitment: str
    key_file: Path


def create_edc(
    protocol: str,
    db: Path,
    *,
    sites: int = 1,
    method: str | None = None,
    block_sizes: list[int] | None = None,
    per_stratum: int = 60,
    key: bytes | None = None,
    ratio: str | None = None,
    with_list: bool = True,
    must_change: bool = True,
) -> CreatedEdc:
    """Configure Django on ``db`` (or ``DATABASE_URL``), migrate, create the trial with sites
    site1 … siteN, an ``admin`` and one user per role (username = role, random passwords), and
    load a freshly generated sealed allocation list; its key goes to ``<db>.key`` (mode 600).

    ``key`` (32 bytes) makes the list reproducible (a demo); by default a fresh secret key.
    ``with_list=False`` loads no list (an EDC an ODM file is imported into: the import loads
    the file's recorded assignments as the list).
    Each user is named after their role (full name "<Role label> (site1 …)"); with
    ``must_change`` (the default) everyone changes the printed password at their first log-in
    (the demo turns it off).

    Raises ProtocolError / FileNotFoundError for the protocol, :class:`EdcSetupError` for the
    scheme or the trial.
    """
    from celltrial.allocation import (
        AllocationError,
        generate_list,
        scheme_from_protocol,
        site_names,
    )
    from celltrial.protocol import library_ids, library_path, load_protocol

    p = load_protocol(protocol)
    text = (library_path(protocol) if protocol in library_ids() else Path(protocol)).read_text(
        encoding="utf-8"
    )
    names = site_names(sites)
    key = key if key is not None else secrets.token_bytes(32)
    sealed = None
    if not with_list:
        pass
    elif p.design.assignment == "randomized" or method is not None:
        try:
            scheme = scheme_from_protocol(p, method=method, ratio=ratio, block_sizes=block_sizes)
            sealed = generate_list(
                scheme,
                key=key,
                protocol=p.id,
                protocol_version=p.version,
                sites=names,
                per_stratum=per_stratum,
            )
        except AllocationError as exc:
            raise EdcSetupError(str(exc)) from None
    elif p.design.allocation.method not in ("investigator", "enrolment_order"):
        raise EdcSetupError(
            f"design.allocation.method is {p.design.allocation.method!r}: {p.id} is not "
            "randomized and does not say how arms are assigned; write 'investigator' or "
            "'enrolment_order'"
        )

    from celltrial.edc import setup

    setup(str(db))
    from django.core.management import call_command

    from celltrial.edc import actions

    call_command("migrate", verbosity=0)
    admin_password = secrets.token_urlsafe(12)
    try:
        admin = actions.create_trial(
            text,
            sites=[(n, f"Site {n.removeprefix('site')}") for n in names],
            admin_username="admin",
            admin_password=admin_password,
            admin_full_name="Trial administrator",
            must_change=must_change,
        )
        passwords = {"admin": admin_password}
        for role in ROLES:
            pw = secrets.token_urlsafe(12)
            all_sites = role in ("monitor",)
            full_name = f"{ROLE_NAMES.get(role, role)} (demo account)"
            if role in ("pharmacist", "dsmb"):  # unblinded: the operator creates them
                actions.add_staff_as_operator(
                    admin.trial,
                    role,
                    role,
                    names,
                    password=pw,
                    all_sites=all_sites,
                    full_name=full_name,
                    must_change=must_change,
                )
            else:
                actions.add_staff(
                    admin,
                    role,
                    role,
                    names,
                    password=pw,
                    all_sites=all_sites,
                    full_name=full_name,
                    must_change=must_change,
                )
            passwords[role] = pw
        if sealed is not None:
            actions.load_allocation_list(admin, sealed.canonical(), commitment=sealed.commitment())
    except actions.ActionError as exc:
        raise EdcSetupError(str(exc)) from None
    key_file = Path(f"{db}.key")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return CreatedEdc(
        protocol_id=p.id,
        version=str(p.version),
        sites=tuple(names),
        passwords=passwords,
        rows=len(sealed.rows) if sealed is not None else 0,
        commitment=sealed.commitment() if sealed is not None else "",
        key_file=key_file,
    )


@audit_app.command("verify")
def audit_verify(
    db: Annotated[Path, typer.Option(help=DB_HELP)] = Path("celltrial-edc.sqlite3"),
) -> None:
    """Recompute the hash chain; name the first edited, deleted or inserted row."""
    if not os.environ.get("DATABASE_URL") and not db.exists():
        raise _fail(f"--db: {db} does not exist")
    from celltrial.edc import setup

    setup(str(db))
    from celltrial.edc.audit import verify_audit

    report = verify_audit()
    if report.anchor is not None:
        a = report.anchor
        console.print(f"anchor: row {a.get('seq')} {a.get('hash')} at {a.get('at')}")
    if report.ok:
        console.print(f"[green]ok[/] {report.message}")
        return
    errors.print(f"[bold red]audit trail broken:[/] {report.message}", soft_wrap=True)
    raise typer.Exit(1)


@app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="folder for the CSV tables")],
    db: Annotated[Path, typer.Option(help=DB_HELP)] = Path("celltrial-edc.sqlite3"),
) -> None:
    """Write the trial dataset (DM, DS, EX, AE, findings, SL) as CSV tables (unblinded)."""
    if not os.environ.get("DATABASE_URL") and not db.exists():
        raise _fail(f"--db: {db} does not exist")
    from celltrial.edc import setup

    setup(str(db))
    from celltrial.edc.export import export_dataset

    files, problems = export_dataset(out)
    for p in problems:
        errors.print(str(p), markup=False, soft_wrap=True)
    console.print(f"wrote {len(files)} tables to {out}")


@app.command("odm-export")
def odm_export(
    out: Annotated[Path, typer.Option(help="the ODM 1.3.2 file to write")],
    db: Annotated[Path, typer.Option(help=DB_HELP)] = Path("celltrial-edc.sqlite3"),
) -> None:
    """Write the trial's study definition and clinical data as CDISC ODM 1.3.2 (unblinded):
    the dataset's tables and the screening form."""
    if not os.environ.get("DATABASE_URL") and not db.exists():
        raise _fail(f"--db: {db} does not exist")
    from celltrial.edc import setup

    setup(str(db))
    from celltrial.edc.odm import export_odm

    out.write_bytes(export_odm())
    console.print(f"wrote {out}")


@app.command("import-odm")
def import_odm_command(
    odm: Annotated[Path, typer.Argument(help="a CDISC ODM 1.3.2 file with clinical data")],
    db: Annotated[Path, typer.Option(help=DB_HELP)] = Path("celltrial-edc.sqlite3"),
) -> None:
    """Enter an ODM file's clinical data into a fresh EDC (``edc init --no-list``) through the
    EDC's actions: the protocol's rules and the audit trail apply to every record. Each record
    refused and each difference between the file's dataset and the EDC's afterwards is listed,
    naming the subject and the ODM item; exit status 1 if there is any."""
    if not os.environ.get("DATABASE_URL") and not db.exists():
        raise _fail(f"--db: {db} does not exist (create it with celltrial edc init --no-list)")
    if not odm.exists():
        raise _fail(f"{odm}: no such file")
    from celltrial.edc import setup

    setup(str(db))
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from celltrial.edc.odm import OdmImportError, import_odm

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} records"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("importing", total=None)

        def tick(done: int, total: int, form: str) -> None:
            bar.update(task, completed=done, total=total, description=f"IG.{form:<10}")

        try:
            result = import_odm(odm.read_bytes(), progress=tick)
        except OdmImportError as exc:
            raise _fail(f"{odm}: {exc}") from None
    entered = ", ".join(f"{form} {n}" for form, n in sorted(result.entered.items()))
    console.print(f"entered {sum(result.entered.values())} records ({entered})")
    console.print(f"{sum(result.actions.values())} EDC actions, each audited")
    shown = 50
    for what, found in (("not entered", result.problems), ("differs", result.differences)):
        for p in found[:shown]:
            errors.print(f"{what}: {p}", markup=False, soft_wrap=True)
        if len(found) > shown:
            errors.print(f"{what}: … and {len(found) - shown} more", markup=False)
    if not result.ok:
        raise _fail(
            f"{len(result.problems)} record(s) not entered, {len(result.differences)} "
            "difference(s) between the file and the EDC's dataset (above)",
            1,
        )
    console.print("[green]ok[/] the EDC's dataset equals the file's, table by table")
