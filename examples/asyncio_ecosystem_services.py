"""The outside world of ``asyncio_ecosystem.py``'s handlers: async partner APIs with latencies
(on the loop's clock, which the runner makes virtual), a paged listing, a connection pool that
counts what is open, a blocking job client, a ledger whose commit takes a while, a feed of
change notifications, replicas that lease a read, and what the partners saw.

Every answer is a function of the call's arguments (never of a call count), so a step body
that runs again, after a crash or for a duplicate delivery, gets the same answer; the few
failures a test arms (``fail_first``, ``stuck_first``, ``slow_first``) happen once per key per
run. They live in a module of their own, which a cold sandbox does not re-import: the services
carry on across sandboxes. ``reset()`` (each entry's ``before_run``) puts them back.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any


def _digest(*parts: Any) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)


class PartnerUnavailable(ConnectionError):
    """A partner refused the call (a transient failure: the step retries)."""


class NotFound(LookupError):
    """A partner has nothing for this key (permanent: not retried, not an outage)."""


class Partners:
    """Async partner APIs. ``quote`` answers after the partner's latency; ``enrich`` has
    nothing for keys ending in ``"x"``; ``fail_first`` (keys) makes the first call for each
    key of the run fail with ``PartnerUnavailable``; ``slow_first`` (keys) makes the first call
    for each key take ``stall`` seconds. Every call records the correlation id it carried."""

    LATENCY = {"acme": 0.2, "globex": 0.5, "initech": 0.1, "umbrella": 0.8, "hooli": 1.4}

    def __init__(self) -> None:
        self.calls = 0
        self.in_flight = 0
        self.peak = 0
        self.limit = 2
        self.refused = 0
        self.fail_first: set[str] = set()
        self.slow_first: set[str] = set()
        self.stall = 30.0
        self.seen: list[tuple[str, str | None]] = []
        self._failed: set[str] = set()
        self._slowed: set[str] = set()
        self._lock = threading.Lock()

    def _record(self, key: str, correlation: str | None) -> None:
        with self._lock:
            self.calls += 1
            self.seen.append((key, correlation))

    async def quote(self, partner: str, sku: str, correlation: str | None = None) -> int:
        self._record(f"{partner}/{sku}", correlation)
        if partner in self.fail_first and partner not in self._failed:
            self._failed.add(partner)
            msg = f"{partner}: 503 Service Unavailable"
            raise PartnerUnavailable(msg)
        delay = self.LATENCY.get(partner, 0.3)
        if sku in self.slow_first and sku not in self._slowed:
            self._slowed.add(sku)
            delay = self.stall
        await asyncio.sleep(delay)
        return 100 + _digest(partner, sku) % 900

    async def enrich(self, key: str, correlation: str | None = None) -> dict[str, Any]:
        self._record(f"enrich/{key}", correlation)
        await asyncio.sleep(0.05 * (1 + _digest(key) % 4))
        if key.endswith("x"):
            msg = f"no profile for {key}"
            raise NotFound(msg)
        return {"key": key, "segment": "abc"[_digest(key) % 3]}

    async def limited(self, item: str) -> int:
        """A partner that takes ``limit`` calls at once and refuses more (HTTP 429)."""
        self._record(f"limited/{item}", None)
        if self.in_flight >= self.limit:
            self.refused += 1
            msg = f"429 Too Many Requests ({self.in_flight} in flight)"
            raise PartnerUnavailable(msg)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.1 + 0.1 * (_digest(item) % 3))
            return _digest("limited", item) % 97
        finally:
            self.in_flight -= 1

    def send_blocking(self, key: str, correlation: str | None) -> str:
        """A blocking (thread) client call, as boto3's or requests' are."""
        self._record(f"blocking/{key}", correlation)
        return f"sent-{key}"


class Listing:
    """A paged listing (``?cursor=``): ``pages`` pages of ``size`` items each. ``fail_at``
    (page numbers) makes the first fetch of each of those pages in the run fail."""

    def __init__(self) -> None:
        self.fetches = 0
        self.fail_at: set[int] = set()
        self._failed: set[int] = set()

    async def page(
        self, listing: str, cursor: int, size: int = 3, pages: int = 4
    ) -> dict[str, Any]:
        self.fetches += 1
        await asyncio.sleep(0.05)
        if cursor in self.fail_at and cursor not in self._failed:
            self._failed.add(cursor)
            msg = f"{listing}: connection reset on page {cursor}"
            raise PartnerUnavailable(msg)
        items = [f"{listing}-{cursor * size + i}" for i in range(size)]
        return {"items": items, "next": cursor + 1 if cursor + 1 < pages else None}


class Connection:
    def __init__(self, pool: Pool, shard: str) -> None:
        self.pool = pool
        self.shard = shard
        self.closed = False

    async def count(self, table: str) -> int:
        if self.closed:
            msg = f"connection to {self.shard} is closed"
            raise RuntimeError(msg)
        await asyncio.sleep(0.02)
        if self.shard in self.pool.fail_first and self.shard not in self.pool.failed:
            self.pool.failed.add(self.shard)
            msg = f"{self.shard}: server closed the connection unexpectedly"
            raise PartnerUnavailable(msg)
        return _digest(self.shard, table) % 1000

    async def close(self) -> None:
        await asyncio.sleep(0)
        if not self.closed:
            self.closed = True
            self.pool.open -= 1


class Pool:
    """A database pool per shard: ``connect`` is an async context manager's opening half;
    ``open`` counts connections not yet closed."""

    def __init__(self) -> None:
        self.open = 0
        self.opened = 0
        self.fail_first: set[str] = set()
        self.failed: set[str] = set()

    async def connect(self, shard: str) -> Connection:
        await asyncio.sleep(0.01)
        self.open += 1
        self.opened += 1
        return Connection(self, shard)


class Jobs:
    """A blocking client of a batch service (used from threads): ``submit`` then ``status``
    until ``"done"``. A job is done on its third status call, unless its key is in
    ``stuck_first``: then the first submission of that key in the run never finishes."""

    def __init__(self) -> None:
        self.stuck_first: set[str] = set()
        self._stuck: set[str] = set()
        self._polls: dict[str, int] = {}
        self._lock = threading.Lock()
        self.submitted = 0

    def submit(self, key: str) -> str:
        with self._lock:
            self.submitted += 1
            job = f"job-{key}-{self.submitted}"
            if key in self.stuck_first and key not in self._stuck:
                self._stuck.add(key)
                self._polls[job] = -(10**9)
            else:
                self._polls[job] = 0
            return job

    def status(self, job: str) -> str:
        time.sleep(0.002)  # a round trip
        with self._lock:
            self._polls[job] += 1
            return "done" if self._polls[job] >= 3 else "running"

    def result(self, job: str) -> dict[str, Any]:
        key = job.split("-")[1]
        return {"key": key, "rows": _digest("job", key) % 10_000}


class Ledger:
    """Commits entries under an idempotency key (a second commit of a key changes nothing).
    A commit takes ``latency`` seconds, or ``slow`` for the first commit of a key in
    ``slow_first``; entries land only when the commit completes (it is atomic)."""

    def __init__(self) -> None:
        self.latency = 0.2
        self.slow = 3.0
        self.slow_first: set[str] = set()
        self._slowed: set[str] = set()
        self.committed: dict[str, list[int]] = {}
        self.commits = 0
        self.cancelled = 0

    async def commit(self, key: str, entries: list[int]) -> dict[str, Any]:
        self.commits += 1
        delay = self.latency
        if key in self.slow_first and key not in self._slowed:
            self._slowed.add(key)
            delay = self.slow
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.committed.setdefault(key, list(entries))
        return {"key": key, "total": sum(self.committed[key])}

    def balance(self, key: str) -> int:
        return sum(self.committed.get(key, []))


class Feed:
    """A feed of change notifications: ``(offset seconds, document)`` pairs delivered in
    order, each at its offset after the subscription."""

    async def subscribe(self, topic: str) -> AsyncIterator[str]:
        schedule = [(0.0, "a"), (0.1, "b"), (0.2, "a"), (1.5, "c"), (1.6, "d"), (4.0, "e")]
        started = asyncio.get_running_loop().time()
        for offset, doc in schedule:
            now = asyncio.get_running_loop().time()
            await asyncio.sleep(max(0.0, started + offset - now))
            yield f"{topic}/{doc}"


class Replicas:
    """Two replicas of a store; a read takes a lease, released when the read ends or is
    cancelled (``release``). Both answer the same value for a key (consistent reads); the
    primary is slow for keys in ``slow_primary``."""

    def __init__(self) -> None:
        self.leases: set[str] = set()
        self.leased = 0
        self.released = 0
        self.slow_primary: set[str] = set()

    async def lease(self, replica: str, key: str) -> str:
        await asyncio.sleep(0)
        lease = f"{replica}:{key}:{self.leased}"
        self.leased += 1
        self.leases.add(lease)
        return lease

    async def read(self, replica: str, key: str) -> int:
        slow = replica == "primary" and key in self.slow_primary
        await asyncio.sleep(5.0 if slow else 0.05 if replica == "primary" else 0.15)
        return _digest("replica", key) % 10_000

    async def release(self, lease: str) -> None:
        await asyncio.sleep(0)
        if lease in self.leases:
            self.leases.discard(lease)
            self.released += 1


class Desk:
    """A ticketing desk and a status endpoint: a ticket records the callback id and the
    correlation id it came with; an export is done on its third status check."""

    def __init__(self) -> None:
        self.tickets: dict[str, tuple[str, str | None]] = {}
        self.checks: list[str | None] = []

    async def open_ticket(self, subject: str, callback_id: str, correlation: str | None) -> str:
        await asyncio.sleep(0.01)
        self.tickets.setdefault(subject, (callback_id, correlation))
        return f"ticket-{_digest(subject) % 10_000}"

    async def export_status(self, export: str, polls: int, correlation: str | None) -> str:
        await asyncio.sleep(0.01)
        self.checks.append(correlation)
        return "done" if polls >= 2 else "running"


class Auth:
    """Issues bearer tokens (each a new one); ``api`` answers a call made with any token it
    issued."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    async def token(self) -> str:
        await asyncio.sleep(0.2)
        self.issued.append(f"tok-{len(self.issued) + 1}")
        return self.issued[-1]

    async def api(self, token: str, resource: str) -> int:
        if token not in self.issued:
            msg = f"401 Unauthorized ({token})"
            raise PermissionError(msg)
        await asyncio.sleep(0.05)
        return _digest("api", resource) % 1000


class Directory:
    """A blocking directory client (used from threads), as a ``requests``-based SDK is: the
    first lookup of a key in ``stall_first`` blocks for ``stall`` seconds of real time (a
    partner that accepted the connection and went quiet); ``reset()`` releases a stalled
    lookup, so no thread outlives its test. ``upload`` takes 50 ms."""

    def __init__(self) -> None:
        self.stall_first: set[str] = set()
        self.stall = 20.0
        self.lookups = 0
        self._stalled: set[str] = set()
        self._release = threading.Event()
        self._lock = threading.Lock()

    def lookup(self, key: str) -> dict[str, Any]:
        with self._lock:
            self.lookups += 1
            stall = key in self.stall_first and key not in self._stalled
            self._stalled.add(key)
        if stall:
            self._release.wait(self.stall)
        return {"key": key, "office": "abcd"[_digest("office", key) % 4]}

    def upload(self, key: str, seconds: float = 0.05) -> str:
        time.sleep(seconds)
        return f"etag-{_digest('upload', key) % 100_000}"

    def release(self) -> None:
        self._release.set()


class HttpSession:
    """An ``aiohttp.ClientSession``-like client: an async context manager whose ``get``
    works only while it is open. ``opened`` and ``closed`` count sessions."""

    opened = 0
    closed = 0

    def __init__(self) -> None:
        self.open = False

    async def __aenter__(self) -> HttpSession:
        await asyncio.sleep(0)
        self.open = True
        HttpSession.opened += 1
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.sleep(0)
        self.open = False
        HttpSession.closed += 1

    async def get(self, path: str) -> dict[str, Any]:
        if not self.open:
            msg = "Session is closed"
            raise RuntimeError(msg)
        await asyncio.sleep(0.02)
        return {"path": path, "value": _digest("http", path) % 1000}


class SilentPeer:
    """A TCP partner on the loopback that accepts every connection and never answers (a
    daemon thread accepts them and holds them open); ``close_all`` hangs up on them."""

    def __init__(self) -> None:
        self._server: socket.socket | None = None
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        with self._lock:
            if self._server is None:
                self._server = socket.create_server(("127.0.0.1", 0))
                threading.Thread(target=self._accept, name="silent-peer", daemon=True).start()
            return int(self._server.getsockname()[1])

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            connection, _ = self._server.accept()
            with self._lock:
                self._held.append(connection)

    def close_all(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for connection in held:
            connection.close()


PARTNERS = Partners()
LISTING = Listing()
POOL = Pool()
JOBS = Jobs()
LEDGER = Ledger()
FEED = Feed()
REPLICAS = Replicas()
DESK = Desk()
AUTH = Auth()
DIRECTORY = Directory()
#: Not reset with the others: one listening socket for the process.
SILENT = SilentPeer()
LOG_LINES: list[str] = []


#: The module-level clients with a worker thread of their own (``module_worker_uploads``'s
#: uploader), the test process's module's first: a cold sandbox's import makes another,
#: whose worker Lambda would end with the sandbox. ``reset()`` ends those of the run
#: before, so a campaign does not keep hundreds of idle workers.
BACKGROUND_CLIENTS: list[Any] = []


def reset() -> None:
    """Every service as a run starts (each entry's ``before_run``), in place: the handlers'
    modules hold these objects."""
    for client in BACKGROUND_CLIENTS[1:]:
        client.stop()
    del BACKGROUND_CLIENTS[1:]
    DIRECTORY.release()  # a lookup still stalled in a thread ends
    HttpSession.opened = HttpSession.closed = 0
    SILENT.close_all()
    for service in (PARTNERS, LISTING, POOL, JOBS, LEDGER, REPLICAS, DESK, AUTH, DIRECTORY):
        service.__init__()  # type: ignore[misc]
    LOG_LINES.clear()
