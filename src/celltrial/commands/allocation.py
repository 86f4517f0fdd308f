"""``celltrial allocation``: sealed lists, verification and assessment of schemes."""

from __future__ import annotations

import typer

app = typer.Typer(help="Randomization lists: generate, verify, assess.", no_args_is_help=True)
