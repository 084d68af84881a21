"""The outside world of ``sandbox_lifecycle.py``'s handlers: a parameter store, partners, a
connection factory, an auth server, sinks for logs and metrics, a mailer, and the directory
that stands for the sandbox's ``/tmp``.

They live in a module of their own, which a cold sandbox does not re-import: a new Lambda
sandbox starts with fresh module state, but the services it talks to (and what they have
seen) carry on. ``reset()`` (each entry's ``before_run``) puts them back to where a run
starts; the counters are for the tests, which measure what each sandbox did.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any


class ParameterStoreUnavailable(ConnectionError):
    """The parameter store did not answer (a transient failure)."""


class ParameterStore:
    """Configuration by path, as SSM Parameter Store serves it. ``fail_next`` makes the next
    reads fail with ``ParameterStoreUnavailable`` (a cold start that meets an outage)."""

    PARAMETERS: dict[str, dict[str, Any]] = {
        "/orders/settings": {"currency": "EUR", "tax_percent": 19, "max_lines": 50},
        "/orders/rules": {"sku": r"^[A-Z]{3}-\d{3}$", "coupon": r"^[A-Z0-9]{6}$"},
        "/orders/partner": {"endpoint": "https://partner.example", "concurrency": 2},
    }

    def __init__(self) -> None:
        self.reads = 0
        self.fail_next = 0

    def get(self, path: str) -> dict[str, Any]:
        self.reads += 1
        if self.fail_next:
            self.fail_next -= 1
            raise ParameterStoreUnavailable(f"GetParameter {path}: connection reset")
        return dict(self.PARAMETERS[path])


class RatesPartner:
    """Exchange rates: the same answer for a currency every time (the day's fixing)."""

    def __init__(self) -> None:
        self.calls = 0

    def quote(self, currency: str) -> float:
        self.calls += 1
        digest = int(hashlib.sha256(currency.encode()).hexdigest()[:6], 16)
        return round(0.5 + (digest % 1000) / 1000, 4)


class Connection:
    """A pooled database connection; ``query`` answers from its arguments."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.queries = 0
        self.closed = False

    def query(self, table: str, key: str) -> dict[str, Any]:
        if self.closed:
            msg = f"connection {self.number} is closed"
            raise RuntimeError(msg)
        self.queries += 1
        return {"table": table, "key": key, "stock": len(key) * 7 % 11}

    def close(self) -> None:
        self.closed = True


class Database:
    def __init__(self) -> None:
        self.connections: list[Connection] = []

    def connect(self) -> Connection:
        connection = Connection(len(self.connections) + 1)
        self.connections.append(connection)
        return connection


class Partner:
    """A partner API that allows ``limit`` calls at once and refuses more (HTTP 429)."""

    def __init__(self, limit: int = 2) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    async def score(self, item: str) -> int:
        self.calls += 1
        if self.in_flight >= self.limit:
            msg = f"429 Too Many Requests ({self.in_flight} calls in flight)"
            raise RuntimeError(msg)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return sum(map(ord, item)) % 97
        finally:
            self.in_flight -= 1


class AsyncHttpClient:
    """An async HTTP client bound to the event loop it was made on, as ``aiohttp``'s
    ``ClientSession`` and ``httpx``'s ``AsyncClient`` pools are: used from another loop it
    fails."""

    made = 0

    def __init__(self) -> None:
        AsyncHttpClient.made += 1
        self._loop = asyncio.get_running_loop()

    async def get(self, url: str) -> dict[str, Any]:
        if asyncio.get_running_loop() is not self._loop:
            msg = f"{self!r} is attached to a different loop"
            raise RuntimeError(msg)
        await asyncio.sleep(0)
        return {"url": url, "status": 200, "etag": hashlib.sha256(url.encode()).hexdigest()[:8]}


class SlowPartner:
    """A partner whose next ``stall_next`` answers take 1,200 s (a stalled connection, past
    Lambda's 900 s function timeout); the others come at once."""

    def __init__(self) -> None:
        self.stall_next = 0
        self.calls = 0

    async def fetch(self, key: str) -> dict[str, Any]:
        self.calls += 1
        if self.stall_next:
            self.stall_next -= 1
            await asyncio.sleep(1200)
        return {"key": key, "report": hashlib.sha256(key.encode()).hexdigest()[:12]}


class AuthServer:
    """Issues bearer tokens valid for an hour (on the clock the handler sees)."""

    def __init__(self) -> None:
        self.issued = 0

    def token(self) -> tuple[str, float]:
        self.issued += 1
        return f"token-{self.issued}", time.time() + 3600


class LedgerApi:
    """Accepts calls with a token the auth server issued and that has not expired."""

    def __init__(self, auth: AuthServer) -> None:
        self.auth = auth

    def post(self, token: str, expires: float, entry: str, cents: int) -> str:
        if time.time() >= expires:
            msg = f"401 Unauthorized: {token} expired"
            raise PermissionError(msg)
        return f"posted-{entry}-{cents}"


class Renderer:
    """A renderer with native code: its next ``exit_next`` renders take the runtime process
    down (``SystemExit``, as an out-of-memory kill or a library's ``sys.exit`` does)."""

    def __init__(self) -> None:
        self.exit_next = 0
        self.renders = 0

    def render(self, order: str, lines: int) -> str:
        self.renders += 1
        if self.exit_next:
            self.exit_next -= 1
            raise SystemExit(137)
        return f"pdf-{order}-{lines}"


class Mailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str) -> str:
        self.sent.append((to, body))
        return f"msg-{hashlib.sha256(f'{to}:{body}'.encode()).hexdigest()[:10]}"


class Batches:
    """A partner that takes a batch under an id and confirms it later."""

    def __init__(self) -> None:
        self.submitted: dict[str, list[str]] = {}
        self.minted = 0

    def new_id(self) -> str:
        self.minted += 1
        return f"batch-{self.minted}"

    def submit(self, batch: str, items: list[str]) -> str:
        self.submitted[batch] = list(items)
        return batch

    def confirm(self, batch: str) -> int:
        if batch not in self.submitted:
            msg = f"unknown batch {batch!r}"
            raise LookupError(msg)
        return len(self.submitted[batch])


PARAMETERS = ParameterStore()
RATES = RatesPartner()
DATABASE = Database()
PARTNER = Partner()
SLOW = SlowPartner()
AUTH = AuthServer()
LEDGER = LedgerApi(AUTH)
RENDERER = Renderer()
MAILER = Mailer()
BATCHES = Batches()
#: Structured log lines and metric batches, as CloudWatch would receive them.
LOG_LINES: list[dict[str, Any]] = []
METRICS: list[dict[str, Any]] = []
#: What the handlers' ``atexit`` hooks and ``weakref`` finalizers ran (never in a run: at
#: process exit and when the garbage collector takes a stale sandbox's client).
FINALIZED: list[str] = []
#: Module imports of ``sandbox_lifecycle`` (one per sandbox: the test's, and each cold one).
IMPORTS: list[str] = []
#: The directory that stands for the sandbox's ``/tmp`` (one per process: it survives a
#: cold sandbox here, where Lambda gives a new sandbox an empty ``/tmp``; a trap).
SANDBOX_TMP = Path(tempfile.gettempdir()) / f"sandbox-lifecycle-{os.getpid()}"
#: What ``tests/harness/sandbox_lifecycle_handlers.probe`` saw, one record per invocation.
PROBES: list[dict[str, Any]] = []
#: What each cold start found in ``/tmp`` (for the trap's measurement).
TMP_AT_START: list[bool] = []


class _Capture(logging.Handler):
    """Keeps the handlers' log records as CloudWatch would (installed once per process,
    here, not in the handler's module: a cold sandbox would add another)."""

    def emit(self, record: logging.LogRecord) -> None:
        LOG_LINES.append({"logger": record.name, "message": record.getMessage()})


_LOG = logging.getLogger("sandbox_lifecycle")
_LOG.setLevel(logging.INFO)
_LOG.addHandler(_Capture())
_LOG.propagate = False


def reset() -> None:
    """Every fake back to where a run starts (an entry's ``before_run``)."""
    PARAMETERS.fail_next = 0
    SLOW.stall_next = 0
    RENDERER.exit_next = 0
    PARTNER.in_flight = 0
    MAILER.sent.clear()
    BATCHES.submitted.clear()
    LOG_LINES.clear()
    METRICS.clear()
    PROBES.clear()
