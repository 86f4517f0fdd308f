"""Shared console output of the CLI: a wide page when piped, and one way to report an error."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape


def make_console(stderr: bool = False) -> Console:
    """A rich console; pipes and CI logs get a 140-column page rather than rich's 80."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=140)


console = make_console()
errors = make_console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` in red on stderr and return the ``typer.Exit`` to raise.

    The message is shown literally (no rich markup is interpreted inside it).
    """
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
