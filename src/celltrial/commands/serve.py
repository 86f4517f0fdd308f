"""``celltrial serve``: the EDC's REST API on a SQLite database (OpenAPI docs at ``/api/docs``).

A minimal server until the web application (issue 7) exists: it configures the EDC on the
database, issues a fresh API token for the trial's ``admin`` (printed once; ``celltrial demo``
and ``celltrial edc init`` print the users' passwords) and serves with
:mod:`celltrial.edc.server`, bound to the loopback interface unless ``--host`` says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from celltrial.commands import _ui as ui


def serve_command(
    db: Annotated[Path, typer.Option(help="SQLite file of the EDC (ignored with DATABASE_URL)")] = (
        Path("celltrial-edc.sqlite3")
    ),
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    threads: Annotated[int, typer.Option(min=1, help="Worker threads")] = 16,
) -> None:
    """Serve the EDC's REST API on a database made by `celltrial edc init` or `celltrial demo`."""
    if not os.environ.get("DATABASE_URL") and not db.exists():
        raise ui.fail(
            f"--db: {db} does not exist; create one with `celltrial demo` or `celltrial edc init`"
        )
    from celltrial.edc import setup

    setup(str(db))
    from django.core.management import call_command

    # Bring an older database up to date (e.g. the session table the web pages need).
    call_command("migrate", verbosity=0, interactive=False)
    from celltrial.edc.actions import token_for
    from celltrial.edc.models import Role, Staff
    from celltrial.edc.server import serve

    admin = Staff.objects.filter(role=Role.ADMIN).select_related("user").first()
    if admin is None:
        raise ui.fail(f"--db: {db} holds no trial; create one with `celltrial edc init`")
    token = token_for(admin, "celltrial serve")
    shown = f"[{host}]" if ":" in host else host
    ui.console.print(
        f"EDC on {db}: web http://{shown}:{port}/ (log in with a user printed by `edc init` or "
        f"`demo`); API http://{shown}:{port}/api/docs with 'Authorization: Bearer {token}' "
        f"(user {admin.username}; new token, shown once)",
        highlight=False,
        soft_wrap=True,
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        ui.console.print("warning: listening beyond this machine; use HTTPS behind a proxy")
    try:
        serve(host, port, threads=threads, quiet=True)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise ui.fail(f"--port: cannot listen on {host}:{port} ({exc.strerror})") from None
