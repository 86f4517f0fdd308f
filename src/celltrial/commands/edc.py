"""``celltrial edc``: create an EDC database, verify its audit trail, export its dataset.

Every user mistake ends with a red ``error:`` line naming the option and the rule, and exit
status 2; an audit trail that fails verification exits with status 1.
"""

from __future__ import annotations

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
    block_sizes: Annotated[
        str | None, typer.Option(help="e.g. 4,6 when the protocol's are unknown")
    ] = None,
    per_stratum: Annotated[int, typer.Option(help="list rows per site × stratum")] = 60,
) -> None:
    """Create a fresh EDC: migrate, load the protocol and a sealed list, one user per role."""
    from celltrial.allocation import (
        AllocationError,
        generate_list,
        scheme_from_protocol,
        site_names,
    )
    from celltrial.protocol import ProtocolError, library_ids, library_path, load_protocol

    if not os.environ.get("DATABASE_URL") and db.exists():
        raise _fail(f"--db: {db} exists already; choose a new file")
    source = protocol
    try:
        p = load_protocol(source)
    except ProtocolError as exc:
        for problem in exc.problems:
            errors.print(str(problem), markup=False, soft_wrap=True)
        raise _fail(f"--protocol: {len(exc.problems)} problem(s) in {source}") from None
    except FileNotFoundError as exc:
        raise _fail(f"--protocol: {exc}") from None
    text = (library_path(source) if source in library_ids() else Path(source)).read_text(
        encoding="utf-8"
    )
    try:
        sizes = [int(x) for x in block_sizes.split(",")] if block_sizes else None
    except ValueError:
        raise _fail(
            f"--block-sizes: {block_sizes!r} is not a list of whole numbers such as 4,6"
        ) from None
    try:
        scheme = scheme_from_protocol(p, method=method, block_sizes=sizes)
        names = site_names(sites)
        key = secrets.token_bytes(32)
        sealed = generate_list(
            scheme,
            key=key,
            protocol=p.id,
            protocol_version=p.version,
            sites=names,
            per_stratum=per_stratum,
        )
    except AllocationError as exc:
        raise _fail(str(exc)) from None

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
        )
        passwords = {"admin": admin_password}
        for role in ROLES:
            pw = secrets.token_urlsafe(12)
            all_sites = role in ("monitor",)
            actions.add_staff(admin, role, role, names, password=pw, all_sites=all_sites)
            passwords[role] = pw
        actions.load_allocation_list(admin, sealed.canonical(), commitment=sealed.commitment())
    except actions.ActionError as exc:
        raise _fail(str(exc)) from None
    key_file = Path(f"{db}.key")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else str(db)
    console.print(f"EDC for [bold]{p.id}[/] (protocol {p.version}) created in {where}")
    console.print(f"sealed list: {len(sealed.rows)} rows, commitment {sealed.commitment()}")
    console.print(f"list key (keep it secret, offline): {key_file}")
    console.print("users (username  role  password):")
    for user, pw in passwords.items():
        console.print(f"  {user:<14}{user:<14}{pw}")


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
