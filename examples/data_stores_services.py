"""The stores and partners of ``data_stores.py``'s handlers: a directory of real files per run
(sqlite databases, JSON documents, CSV exports, a ``shelve``), a message broker that keeps
every delivery, a rates partner, a ticket desk, and the other writers a test arms (a clerk
who edits a row between a step's read and its write).

The directory is the system of record: ``reset()`` (each entry's ``before_run``) removes the
last run's and makes a new, empty one, so every run (and every same-world baseline) starts
from an empty world. It lives in a module of its own, which a cold sandbox does not
re-import: the stores carry on across sandboxes, as a database outlives Lambda's. The
partners answer from the call's arguments; the failures a test arms happen once per key per
run.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _digest(*parts: Any) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)


#: The current run's directory (``reset()`` makes a new one).
ROOT = Path(tempfile.mkdtemp(prefix="durable-stores-"))


@atexit.register
def _remove_the_last_world() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)


def path(name: str) -> Path:
    """A file of the current run's world."""
    return ROOT / name


@contextlib.contextmanager
def connect(name: str, **options: Any) -> Iterator[sqlite3.Connection]:
    """A connection to the run's sqlite database ``name``, closed on the way out (sqlite3's
    own context manager commits or rolls back, and leaves the connection open)."""
    conn = sqlite3.connect(path(name), timeout=10, **options)
    try:
        yield conn
    finally:
        conn.close()


class PartnerUnavailable(ConnectionError):
    """A partner refused the call (transient: the step retries)."""


class Broker:
    """A message broker that delivers at least once: it keeps every publish, duplicates too;
    its consumers dedupe by message id (``unique()``)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def publish(self, message_id: str, body: str) -> None:
        with self._lock:
            self.deliveries.append((message_id, body))

    def unique(self) -> dict[str, str]:
        with self._lock:
            return dict(sorted(self.deliveries))


class Rates:
    """A rates partner: a currency's rate on a date, in hundredths of a cent; ``fail_first``
    (currencies) refuses the first call for each in the run."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail_first: set[str] = set()
        self._failed: set[str] = set()

    def rate(self, currency: str, day: str) -> int:
        self.calls += 1
        if currency in self.fail_first and currency not in self._failed:
            self._failed.add(currency)
            msg = f"rates: 503 for {currency}"
            raise PartnerUnavailable(msg)
        return 9000 + _digest(currency, day) % 2000


class Clerk:
    """Another writer of the inventory: once per sku in ``edits`` (sku -> units taken), it
    takes units between a step's read and its write (the step's ``before_write`` hook), on a
    connection of its own, as a person at a terminal would."""

    def __init__(self) -> None:
        self.edits: dict[str, int] = {}
        self.done: set[str] = set()

    def before_write(self, db: str, sku: str) -> None:
        if sku in self.edits and sku not in self.done:
            self.done.add(sku)
            with connect(db) as conn, conn:
                conn.execute(
                    "UPDATE stock SET qty = qty - ?, version = version + 1 WHERE sku = ?",
                    (self.edits[sku], sku),
                )


class Desk:
    """A ticket desk: an approver reads the request's callback id from the database the
    submitter wrote it to (``tickets``: request -> callback id it found)."""

    def __init__(self) -> None:
        self.tickets: dict[str, str] = {}

    def notify(self, db: str, request: str) -> None:
        with connect(db) as conn:
            row = conn.execute(
                "SELECT callback_id FROM approvals WHERE request = ?", (request,)
            ).fetchone()
        if row is None:
            msg = f"no approval row for {request}"
            raise LookupError(msg)
        self.tickets[request] = row[0]


class Airline:
    """Flights: a destination in ``sold_out`` has no seats (a permanent refusal)."""

    def __init__(self) -> None:
        self.sold_out: set[str] = {"Atlantis"}


BROKER = Broker()
RATES = Rates()
CLERK = Clerk()
DESK = Desk()
AIRLINE = Airline()


def reset() -> None:
    """An empty world (each entry's ``before_run``): a new directory, the last run's
    removed, every fake as new, in place (the handlers' modules hold these objects)."""
    global ROOT  # the directory is the world, replaced per run
    old, ROOT = ROOT, Path(tempfile.mkdtemp(prefix="durable-stores-"))
    shutil.rmtree(old, ignore_errors=True)
    for service in (BROKER, RATES, CLERK, DESK, AIRLINE):
        service.__init__()  # type: ignore[misc]
