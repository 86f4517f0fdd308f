"""Serving the EDC with gunicorn, Django's standard production server (issue 16).

``celltrial serve`` runs :func:`serve`: a gunicorn master with ``workers`` processes of
``threads`` threads each (the ``gthread`` worker). The master restarts a worker that dies or
hangs past ``timeout`` seconds, replaces every worker after ``max_requests`` (with jitter) so
none grows without bound, reloads gracefully on ``SIGHUP`` (new workers start, old ones
finish their requests), and stops gracefully on ``SIGTERM`` (``graceful_timeout``). Put it
behind a reverse proxy that terminates TLS and buffers slow clients (docs/edc.md, "Production
set-up"). The home-made :mod:`celltrial.edc.server` remains for tests that serve in a thread.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class EdcApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn with its settings from a dict (no configuration file, no command line)."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from celltrial.edc.wsgi import application

        return application


def options(
    host: str,
    port: int,
    *,
    workers: int = 2,
    threads: int = 8,
    timeout: int = 30,
    quiet: bool = False,
) -> dict[str, Any]:
    """gunicorn's settings for the EDC (see the module text)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        "max_requests": 20000,
        "max_requests_jitter": 2000,
        # Request line and header limits (gunicorn's defaults, stated): a request that exceeds
        # them is a 400 before Django sees it.
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": None if quiet else "-",
        "errorlog": "-",
        "loglevel": "warning" if quiet else "info",
        "proc_name": "celltrial-edc",
    }


def serve(host: str, port: int, **kwargs: Any) -> None:
    """Run gunicorn until it is stopped (``SIGTERM``/``SIGINT``); see :func:`options`."""
    from django.db import connections

    connections.close_all()  # the workers are forked: none may share the master's connection
    EdcApplication(options(host, port, **kwargs)).run()
