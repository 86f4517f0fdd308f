"""A small threaded WSGI server for the EDC (a fixed pool of threads, each keeping its own
database connection). For production, put the WSGI app behind gunicorn or similar."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from socket import socket
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class PooledWSGIServer(WSGIServer):
    """``wsgiref``'s server with requests handled by a pool of ``threads`` threads."""

    request_queue_size = 512
    daemon_threads = True
    threads = 16

    def server_activate(self) -> None:
        super().server_activate()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="edc")

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self._work, request, client_address)

    def _work(self, request: socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def serve(
    host: str = "127.0.0.1", port: int = 8000, *, threads: int = 16, quiet: bool = True
) -> None:
    """Serve the EDC's WSGI application until interrupted (Django must be configured)."""
    from django.core.wsgi import get_wsgi_application

    PooledWSGIServer.threads = threads
    server = make_server(
        host,
        port,
        get_wsgi_application(),
        server_class=PooledWSGIServer,
        handler_class=_QuietHandler if quiet else WSGIRequestHandler,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
