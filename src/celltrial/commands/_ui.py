"""Shared console output of the CLI: a wide page when piped, and one way to report an error."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from celltrial.protocol import Protocol, ProtocolError, load_protocol


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


def load_protocol_or_fail(source: str, *, option: str = "", code: int = 2) -> Protocol:
    """Load a protocol (library id or file); on a problem print each one and exit with ``code``.

    ``option`` (e.g. ``"--protocol"``) prefixes the summary line, naming what the user typed.
    """
    prefix = f"{option}: " if option else ""
    try:
        return load_protocol(source)
    except ProtocolError as exc:
        for problem in exc.problems:
            errors.print(str(problem), highlight=False, markup=False, soft_wrap=True)
        raise fail(f"{prefix}{len(exc.problems)} problem(s) in {source}", code) from None
    except FileNotFoundError as exc:
        raise fail(f"{prefix}{exc}", 2) from None
