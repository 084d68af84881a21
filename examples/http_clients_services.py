"""A real HTTP service for ``http_clients.py``: a ``ThreadingHTTPServer`` on loopback, in a
thread of the test process, as ``pytest-httpserver`` and hand-written test doubles run.

It lives in a module of its own because a service outlives the Lambda sandbox (a cold
re-invocation re-imports the handler's module, not the world it talks to). Every request is
served on a thread of its own that the server starts for it, with HTTP/1.1 keep-alive, so a
client's pooled connection is served by the same thread until it closes.

- ``GET /quote?item=I``: a price, a function of ``I`` only;
- ``GET /flaky?key=K&fail=N``: ``503`` with ``Retry-After: 0`` for the first ``N`` requests
  for ``K`` (counted across sandboxes and re-runs, as a real service counts them), then ok;
- ``GET /slow?ms=M``: answers after ``M`` milliseconds of real time (a long poll);
- ``POST /orders`` with an ``Idempotency-Key`` header: creates the order once per key (its
  total the sum of the posted ``amounts``) and answers the same order to every repeat;
  ``GET /orders/K`` reads it back.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

from loopback_http import JsonHandler, LoopbackService

_lock = threading.Lock()
#: ``/flaky``: requests seen so far, by key.
FLAKY_SEEN: dict[str, int] = {}
#: Orders by idempotency key.
ORDERS: dict[str, dict[str, Any]] = {}
#: Every request served, in arrival order: (method, path).
REQUESTS: list[tuple[str, str]] = []
#: Responses the client hung up on before reading (a sandbox that died mid-request).
ABANDONED: list[str] = []


def price(item: str) -> int:
    """What ``/quote`` answers for ``item``."""
    return int(hashlib.sha256(item.encode()).hexdigest(), 16) % 90 + 10


def reset() -> None:
    """A fresh deployment of the service (the server keeps listening)."""
    with _lock:
        FLAKY_SEEN.clear()
        ORDERS.clear()
        REQUESTS.clear()
        ABANDONED.clear()
    base_url()


class _Handler(JsonHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        with _lock:
            REQUESTS.append(("GET", url.path))
        if url.path == "/quote":
            item = query["item"]
            self.answer(200, {"item": item, "price": price(item)})
        elif url.path == "/flaky":
            key = query["key"]
            with _lock:
                seen = FLAKY_SEEN.get(key, 0)
                FLAKY_SEEN[key] = seen + 1
            if seen < int(query.get("fail", "2")):
                self.answer(503, {"error": "busy"}, ("Retry-After", "0"))
            else:
                self.answer(200, {"key": key, "ok": True})
        elif url.path == "/slow":
            ms = int(query.get("ms", "200"))
            time.sleep(ms / 1000)
            self.answer(200, {"slept": ms})
        elif url.path.startswith("/orders/"):
            with _lock:
                order = ORDERS.get(url.path.rsplit("/", 1)[1])
            if order is None:
                self.answer(404, {"error": "no such order"})
            else:
                self.answer(200, order)
        else:
            self.answer(404, {"error": f"no route {url.path}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        key = self.headers.get("Idempotency-Key")
        if self.path != "/orders" or not key:
            self.answer(400, {"error": "POST /orders with an Idempotency-Key header"})
            return
        with _lock:
            REQUESTS.append(("POST", self.path))
            order = ORDERS.get(key)
            if order is None:
                order = ORDERS[key] = {"id": key, "total": sum(body.get("amounts", []))}
        self.answer(201, order)


def _hung_up(client: str) -> None:
    with _lock:
        ABANDONED.append(client)


_SERVICE = LoopbackService(_Handler, "http-service", _hung_up)


def base_url() -> str:
    """The service's address, started on first use."""
    return _SERVICE.address()
