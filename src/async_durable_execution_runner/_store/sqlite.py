"""``SqliteStore``: executions and their histories in a SQLite file, written atomically.

Four tables: ``executions`` (one row per execution: status, result, token sequence,
callbacks, chained-invoke parent... as JSON), ``operations`` (one row per operation),
``events`` (one row per history event) and ``client_tokens`` (the ``ClientToken`` ledger: the
answer each checkpoint that named one got). :meth:`SqliteStore.save_changed` writes what
changed since the last save, every execution at once, in **one transaction** (WAL journal,
``synchronous=FULL``): a changed execution row, the operations that are new objects since
(operations are immutable, so identity says what changed), the events past the last one
written, the ledger entries recorded since. So a checkpoint costs a write of what it changed,
not of its whole execution, and its ledger entry commits with it.

The runner calls it, under the state lock, before any answer that acknowledges a change
leaves: before a checkpoint's response reaches the SDK, before an HTTP request's answer, at
the end of each round of delivered timers. A process killed at any instant therefore leaves
either the state before a change or the state after it, never half of a checkpoint, and never
loses one that was acknowledged.

One process at a time: the executions live in the memory of the runner that loaded them, so
a second process writing the same file would overwrite the first's changes. Opening a file
another process holds raises :class:`StoreInUseError`; the claim is a ``flock`` on
``FILE.lock``, which the kernel lets go when the holder dies, SIGKILL included.

``DurableFunctionTestRunner(..., store=SqliteStore(path))`` restores what the file holds
when it starts (``_service.persistence.restore``): the executions resume.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from async_durable_execution_runner._models import Operation
from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.ledger import LEDGER_SIZE
from async_durable_execution_runner._service.persistence import execution_header
from async_durable_execution_runner.errors import DurableRunnerError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no claim on the file
    fcntl = None  # type: ignore[assignment]

__all__ = ["SqliteStore", "StoreInUseError"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS executions (
        arn TEXT PRIMARY KEY,
        function_name TEXT NOT NULL,
        seq INTEGER NOT NULL,
        document TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS operations (
        arn TEXT NOT NULL,
        op_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (arn, op_id)
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        arn TEXT NOT NULL,
        event_id INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (arn, event_id)
    )""",
    """CREATE TABLE IF NOT EXISTS client_tokens (
        arn TEXT NOT NULL,
        row INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (arn, row)
    )""",
)


class StoreInUseError(DurableRunnerError):
    """Another process has the store's file open."""


@dataclass
class _Saved:
    """What the file holds of one execution (so a save writes only the difference)."""

    seq: int
    key: tuple[Any, ...] | None = None
    header: str | None = None
    operations: dict[str, Operation] = field(default_factory=dict)
    next_operation: int = 0
    events: int = 0
    ledger: int = 0
    next_ledger_row: int = 0


@dataclass
class _Pending:
    """One execution's part of a save, applied to its ``_Saved`` once the save commits."""

    saved: _Saved
    execution: Execution
    key: tuple[Any, ...]
    header: str | None
    writes: int
    next_operation: int
    next_ledger_row: int


def _header_key(execution: Execution) -> tuple[Any, ...]:
    """Cheap to compute; changes whenever the execution's row does (so the row's JSON, which
    holds the input payload, is built only then)."""
    return (
        execution.status,
        execution.token_sequence,
        execution.end,
        execution.result,
        execution.error,
        execution.closed_by_checkpoint,
        len(execution.callbacks),
    )


class SqliteStore:
    """A SQLite file of executions (created if missing; safe to open again after a crash)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._claim = self._claim_file()
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except BaseException:
            self._release_claim()
            raise
        self._lock = threading.Lock()
        self._saved: dict[str, _Saved] = {}
        self._next_seq = 1
        #: Transactions committed (a benchmark counts them).
        self.transactions = 0

    # --- the claim on the file ---------------------------------------------------------

    def _claim_file(self) -> int | None:
        if fcntl is None:
            return None
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            msg = (
                f"the store {str(self.path)!r} is in use by another process (it holds "
                f"{str(self.path)!r}.lock); one runner or server at a time owns a store file: "
                "stop the other one, or give this one another file"
            )
            raise StoreInUseError(msg) from None
        return fd

    def _release_claim(self) -> None:
        fd, self._claim = self._claim, None
        if fd is not None:
            os.close(fd)  # closing the descriptor lets go of the flock

    # --- reading -----------------------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        """Every stored execution's document, in the order they were first stored."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT arn, seq, document FROM executions ORDER BY seq"
            ).fetchall()
            operations = self._grouped("SELECT arn, body FROM operations ORDER BY arn, seq")
            events = self._grouped("SELECT arn, body FROM events ORDER BY arn, event_id")
            tokens = self._grouped("SELECT arn, body FROM client_tokens ORDER BY arn, row")
            rows_max = dict(
                self._conn.execute("SELECT arn, MAX(row) FROM client_tokens GROUP BY arn")
            )
        documents = []
        for arn, seq, text in rows:
            document = json.loads(text)
            saved = _Saved(seq=seq)
            if "events" in document:
                # A file written whole per execution (before the tables were split): the
                # first save writes its operations and events into their tables.
                document.setdefault("client_tokens", [])
            else:
                document["operations"] = operations.get(arn, [])
                document["events"] = events.get(arn, [])
                document["client_tokens"] = tokens.get(arn, [])
                saved.next_operation = len(document["operations"])
                saved.events = len(document["events"])
                saved.ledger = len(document["client_tokens"])
                saved.next_ledger_row = int(rows_max.get(arn) or 0)
            self._saved[arn] = saved
            self._next_seq = max(self._next_seq, seq + 1)
            documents.append(document)
        return documents

    def _grouped(self, query: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for arn, body in self._conn.execute(query):
            out[arn].append(json.loads(body))
        return out

    # --- writing -----------------------------------------------------------------------

    def save_changed(self, executions: Iterable[Execution]) -> int:
        """Write what changed in ``executions`` since the last save, in one transaction;
        returns how many executions had changes. Call it with the executions' lock held."""
        with self._lock:
            writes: list[tuple[str, Any]] = []
            pending: list[_Pending] = []
            for execution in executions:
                self._changes(execution, writes, pending)
            if writes:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement, parameters in writes:
                        self._conn.execute(statement, parameters)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self.transactions += 1
            changed = 0
            for done in pending:
                changed += done.writes > 0
                saved, execution = done.saved, done.execution
                saved.key = done.key
                if done.header is not None:
                    saved.header = done.header
                if done.writes:
                    saved.operations = dict(execution.operations)
                    saved.next_operation = done.next_operation
                    saved.events = len(execution.history)
                    saved.ledger = execution.client_tokens.recorded
                    saved.next_ledger_row = done.next_ledger_row
            return changed

    def _changes(
        self, execution: Execution, writes: list[tuple[str, Any]], pending: list[_Pending]
    ) -> None:
        arn = execution.arn
        saved = self._saved.get(arn)
        if saved is None:
            saved = self._saved[arn] = _Saved(seq=self._next_seq)
            self._next_seq += 1
        start = len(writes)
        key = _header_key(execution)
        header: str | None = None
        if saved.key is None or saved.key != key:
            header = json.dumps(execution_header(execution), sort_keys=True)
            if header != saved.header:
                writes.append(
                    (
                        "INSERT INTO executions (arn, function_name, seq, document) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT(arn) DO UPDATE SET "
                        "document = excluded.document",
                        (arn, execution.function_name, saved.seq, header),
                    )
                )
        stored_ops = saved.operations
        next_operation = saved.next_operation
        for op_id, op in execution.operations.items():
            if stored_ops.get(op_id) is not op:
                # seq orders operations as first inserted; an update keeps its row's seq.
                writes.append(
                    (
                        "INSERT INTO operations (arn, op_id, seq, body) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(arn, op_id) DO UPDATE SET body = excluded.body",
                        (arn, op_id, next_operation, json.dumps(op.to_json_dict())),
                    )
                )
                next_operation += 1
        if len(execution.history) > saved.events:
            for event in execution.events[saved.events :]:
                writes.append(
                    (
                        "INSERT OR REPLACE INTO events (arn, event_id, body) VALUES (?, ?, ?)",
                        (arn, event.event_id, json.dumps(event.to_json_dict())),
                    )
                )
        ledger = execution.client_tokens
        row = saved.next_ledger_row
        if ledger.recorded > saved.ledger:
            for entry in ledger.since(saved.ledger):
                row += 1
                writes.append(
                    (
                        "INSERT OR REPLACE INTO client_tokens (arn, row, body) VALUES (?, ?, ?)",
                        (arn, row, json.dumps(entry.to_json_dict())),
                    )
                )
            if row > LEDGER_SIZE:
                writes.append(
                    (
                        "DELETE FROM client_tokens WHERE arn = ? AND row <= ?",
                        (arn, row - LEDGER_SIZE),
                    )
                )
        if header is not None or len(writes) > start:
            pending.append(
                _Pending(saved, execution, key, header, len(writes) - start, next_operation, row)
            )

    def close(self) -> None:
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._release_claim()
