"""``celltrial serve``: the EDC's web application and REST API (OpenAPI docs at ``/api/docs``).

It configures the EDC on the database — creating it first when the SQLite file does not exist
(the protocol of ``--protocol``, one user per role, a sealed allocation list; the admin's
log-in is printed once) — issues a fresh API token for the trial's ``admin`` (printed once) and
serves with gunicorn (:mod:`celltrial.edc.server_gunicorn`: worker processes restarted when
they die or hang, graceful reload on ``SIGHUP``), bound to the loopback interface unless
``--host`` says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from celltrial.commands import _ui as ui

#: The protocol of a database that ``celltrial serve`` creates (as ``celltrial demo``).
DEFAULT_PROTOCOL = "lanzoni2021"


def _create(protocol: str, db: Path, sites: int) -> Any:
    """Create the EDC in ``db`` as ``celltrial edc init`` would. Where the protocol leaves the
    block sizes unknown, those of its calibrated scenario are used (as ``celltrial demo``
    does), else blocks of 2 and 4."""
    from celltrial.commands.edc import EdcSetupError, create_edc
    from celltrial.protocol import ProtocolError, load_protocol
    from celltrial.simulate import load_scenario
    from celltrial.simulate.scenario import scenario_ids

    try:
        try:
            return create_edc(protocol, db, sites=sites)
        except EdcSetupError as exc:  # e.g. the block sizes are unknown
            if protocol not in scenario_ids():
                raise EdcSetupError(
                    f"{exc}; `celltrial edc init` creates the database with --method, --ratio "
                    "and --block-sizes"
                ) from None
            a = load_scenario(protocol, load_protocol(protocol)).allocation
            return create_edc(
                protocol, db, sites=sites, method=a.method, ratio=a.ratio, block_sizes=a.block_sizes
            )
    except ProtocolError as exc:
        for problem in exc.problems:
            ui.errors.print(str(problem), markup=False, soft_wrap=True)
        raise ui.fail(f"--protocol: {len(exc.problems)} problem(s) in {protocol}") from None
    except FileNotFoundError as exc:
        raise ui.fail(f"--protocol: {exc}") from None
    except EdcSetupError as exc:
        raise ui.fail(str(exc)) from None


def serve_command(
    db: Annotated[Path, typer.Option(help="SQLite file of the EDC (ignored with DATABASE_URL)")] = (
        Path("celltrial-edc.sqlite3")
    ),
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="gunicorn worker processes")] = 2,
    threads: Annotated[int, typer.Option(min=1, help="Threads per worker process")] = 8,
    timeout: Annotated[
        int, typer.Option(min=1, help="Seconds before a silent worker is restarted")
    ] = 30,
    protocol: Annotated[
        str, typer.Option(help="Protocol (library id or file) when --db is created here")
    ] = DEFAULT_PROTOCOL,
    sites: Annotated[int, typer.Option(min=1, help="Sites when --db is created here")] = 3,
) -> None:
    """Serve the EDC (web pages and REST API) on a SQLite file, creating it when it is missing."""
    created = None
    if not os.environ.get("DATABASE_URL") and not db.exists():
        created = _create(protocol, db, sites)
    from celltrial.edc import setup

    setup(str(db))
    from django.core.management import call_command

    # Bring an older database up to date (e.g. the session table the web pages need).
    call_command("migrate", verbosity=0, interactive=False)
    from celltrial.edc.actions import token_for
    from celltrial.edc.models import Role, Staff
    from celltrial.edc.server_gunicorn import serve

    admin = Staff.objects.filter(role=Role.ADMIN).select_related("user").first()
    if admin is None:
        raise ui.fail(f"--db: {db} holds no trial; create one with `celltrial edc init`")
    token = token_for(admin, "celltrial serve")
    shown = f"[{host}]" if ":" in host else host
    if created is not None:
        others = ", ".join(f"{u} {pw}" for u, pw in created.passwords.items() if u != "admin")
        ui.console.print(
            f"created {db} ({created.protocol_id}, sites {', '.join(created.sites)}); "
            f"log in at http://{shown}:{port}/login as admin, password "
            f"{created.passwords['admin']} (shown once)",
            highlight=False,
            soft_wrap=True,
        )
        ui.console.print(f"other users (username password): {others}", highlight=False)
    ui.console.print(
        f"EDC on {db}: web http://{shown}:{port}/ (log in with a user printed when it was "
        f"created); API http://{shown}:{port}/api/docs with 'Authorization: Bearer {token}' "
        f"(user {admin.username}; new token, shown once)",
        highlight=False,
        soft_wrap=True,
    )
    if admin.must_change_password:
        ui.console.print(
            f"the token answers only GET /api/me and POST /api/me/password until {admin.username} "
            "changes the printed password (at the first log-in on the web, or with that call)",
            highlight=False,
            soft_wrap=True,
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        ui.console.print("warning: listening beyond this machine; use HTTPS behind a proxy")
    try:
        serve(host, port, workers=workers, threads=threads, timeout=timeout, quiet=True)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise ui.fail(f"--port: cannot listen on {host}:{port} ({exc.strerror})") from None
