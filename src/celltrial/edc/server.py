"""A small WSGI server for the EDC: ``processes`` worker processes sharing one listening socket,
each with a fixed pool of ``threads`` threads (each keeping its own database connection), HTTP/1.1
with keep-alive. Several processes let the server use more than one core (one Python process
runs Python code on one core at a time). For production, gunicorn or similar behind a proxy
does the same with more care (graceful reloads, worker restarts)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import socketserver
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from wsgiref.simple_server import WSGIServer

from django.core.servers.basehttp import WSGIRequestHandler


class _Handler(WSGIRequestHandler):
    """Django's HTTP/1.1 handler (keep-alive when the response has a Content-Length), quiet."""

    #: Seconds an idle keep-alive connection keeps its thread.
    timeout = 15
    #: TCP_NODELAY: a response goes out in several writes (status and headers, then the body);
    #: with Nagle's algorithm the last one waits for the client's delayed ACK (40 ms on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class PooledWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """``wsgiref``'s server with connections handled by a pool of ``threads`` threads.

    (``ThreadingMixIn`` only so that Django's handler keeps connections alive; requests go to
    the pool, not to a thread each.) A connection holds its thread while it is kept alive, so
    ``threads`` should be at least the number of concurrent clients.
    """

    request_queue_size = 512
    daemon_threads = True
    threads = 16

    def server_activate(self) -> None:
        super().server_activate()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="edc")

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self._work, request, client_address)

    def _work(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a client went away or an idle keep-alive connection timed out
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _server(host: str, port: int, app: Any, threads: int, quiet: bool, sock: Any) -> Any:
    PooledWSGIServer.threads = threads
    handler = (
        _Handler
        if quiet
        else type(
            "_LoudHandler", (WSGIRequestHandler,), {"timeout": 15, "disable_nagle_algorithm": True}
        )
    )
    server = PooledWSGIServer((host, port), handler, bind_and_activate=sock is None)
    if sock is not None:
        server.socket.close()
        server.socket = sock
        server.server_address = sock.getsockname()
        # What HTTPServer/WSGIServer.server_bind() set up, without binding again.
        server.server_name = socket.getfqdn(str(server.server_address[0]))
        server.server_port = server.server_address[1]
        server.setup_environ()
        server.server_activate()  # starts the pool; listen() again is harmless
    server.set_app(app)
    return server


def _run(server: Any) -> None:
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    threads: int = 16,
    processes: int = 1,
    quiet: bool = True,
) -> None:
    """Serve the EDC's WSGI application until interrupted (Django must be configured).

    With ``processes`` > 1 the listening socket is opened here and the workers are forked
    (POSIX only); SIGTERM or SIGINT stops them all.
    """
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    app = get_wsgi_application()
    if processes <= 1 or not hasattr(os, "fork"):
        _run(_server(host, port, app, threads, quiet, None))
        return

    sock = socket.create_server((host, port), backlog=512)
    # Every worker waits on the socket; the ones that lose the race to accept() return at once.
    sock.setblocking(False)
    connections.close_all()  # no database connection may be shared across fork()
    children: list[int] = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _run(_server(host, port, app, threads, quiet, sock))
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children.append(pid)

    def stop(signum: int, frame: Any) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for pid in children:
            while True:
                try:
                    os.waitpid(pid, 0)
                    break
                except ChildProcessError:
                    break
                except InterruptedError:
                    continue
    finally:
        stop(signal.SIGTERM, None)
        sock.close()
