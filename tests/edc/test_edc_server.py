"""The EDC's WSGI server: responses leave at once on a kept-alive connection."""

from __future__ import annotations

import socket
import threading
from typing import Any

from celltrial.edc.server import _server


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = b'{"ok":true}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "11")])
    return [body]


def test_accepted_sockets_have_nagle_off_and_stay_alive() -> None:
    """Django's handler writes headers and body separately: with Nagle's algorithm on, the body
    waits for the client's delayed ACK (40 ms) on every keep-alive request."""
    seen: list[int] = []
    srv = _server("127.0.0.1", 0, _app, 2, True, None)
    handler = srv.RequestHandlerClass

    class Spy(handler):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            super().setup()
            seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    srv.RequestHandlerClass = Spy
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        port = srv.server_address[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            f = c.makefile("rb")
            for _ in range(3):  # three requests on one connection
                c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                status = f.readline()
                assert status.startswith(b"HTTP/1.1 200"), status
                while f.readline() not in (b"\r\n", b""):
                    pass
                assert f.read(11) == b'{"ok":true}'
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)
    assert len(seen) == 1 and seen[0] != 0  # one connection, TCP_NODELAY set
