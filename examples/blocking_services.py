"""Fake external services for ``blocking.py``: a loopback echo server, a slow inventory
lookup, a status endpoint that is ready after a few polls, and a log shipper.

They live in a module of their own because an external service outlives the Lambda sandbox
(a cold re-invocation re-imports the handler's module, not the world it talks to). Every
call blocks the calling thread for a few milliseconds of real time, as a network call does.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time

#: Inventory: sku -> units in stock.
STOCK = {"lamp": 7, "sofa": 2, "mug": 40}
#: Status endpoint: job id -> how many polls answered "running" so far.
POLLS: dict[str, int] = {}
#: The log shipper's lines, in arrival order (from whichever thread logged).
LOG_LINES: list[str] = []
#: A status endpoint answers "running" this many times, then "done".
POLLS_UNTIL_DONE = 2


def reset() -> None:
    """A fresh deployment of every fake service (the echo server keeps listening)."""
    POLLS.clear()
    LOG_LINES.clear()
    echo_address()


def lookup_stock(sku: str) -> int:
    """A blocking call to the inventory: a few milliseconds on the wire."""
    time.sleep(0.005)
    return STOCK.get(sku, 0)


def job_status(job: str) -> str:
    """A blocking status call; ``running`` for the first few polls of a job."""
    time.sleep(0.002)
    seen = POLLS.get(job, 0)
    POLLS[job] = seen + 1
    return "done" if seen >= POLLS_UNTIL_DONE else "running"


class _Echo(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            self.wfile.write(line.upper())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


_echo: list[_Server] = []
_echo_lock = threading.Lock()


def echo_address() -> tuple[str, int]:
    """The loopback echo server's address, started on first use; it answers every line
    upper-cased, on a thread of its own per connection."""
    with _echo_lock:
        if not _echo:
            server = _Server(("127.0.0.1", 0), _Echo)
            threading.Thread(target=server.serve_forever, name="echo", daemon=True).start()
            _echo.append(server)
        host, port = _echo[0].server_address[:2]
        return str(host), int(port)


def echo_round_trip(text: str) -> str:
    """One blocking round trip to the echo server, as a client library makes it."""
    with socket.create_connection(echo_address(), timeout=5) as conn:
        conn.sendall(text.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.decode().rstrip("\n")
