"""What the corpora's loopback HTTP services share: a JSON request handler that keeps
connections alive and answers without Nagle's delay, and a ``ThreadingHTTPServer`` started on
first use in a daemon thread of the test process (as ``pytest-httpserver`` and hand-written
test doubles run), which notes clients that hang up instead of printing them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: pooled connections are reused
    # Headers and body go out in separate writes: without TCP_NODELAY the body waits for the
    # client's delayed acknowledgement of the headers (40 ms a response on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """(Quiet: the campaigns print their own report.)"""

    def answer(self, status: int, body: Any, *headers: tuple[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class LoopbackService:
    """One server for ``handler`` on a free loopback port, started on first use; a client
    that hung up (its sandbox died mid-request) is passed to ``hung_up``, not printed: a real
    service logs it and goes on."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], name: str, hung_up: Callable[[str], None]
    ) -> None:
        self._handler = handler
        self._name = name
        self._hung_up = hung_up
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def address(self) -> str:
        """``http://host:port``."""
        with self._lock:
            if self._server is None:
                hung_up = self._hung_up

                class _Server(ThreadingHTTPServer):
                    daemon_threads = True

                    def handle_error(self, request: Any, client_address: Any) -> None:
                        hung_up(str(client_address))

                server = _Server(("127.0.0.1", 0), self._handler)
                threading.Thread(target=server.serve_forever, name=self._name, daemon=True).start()
                self._server = server
            host, port = self._server.server_address[:2]
            return f"http://{host!s}:{port}"
