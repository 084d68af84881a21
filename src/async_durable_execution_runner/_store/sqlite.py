"""``SqliteStore``: executions and their histories in a SQLite file, written atomically.

Each execution is one row holding its whole stored state (operations, history, token sequence,
status, callbacks, chained-invoke parent) as JSON. :meth:`SqliteStore.save_changed` writes
every execution that changed since the last save in **one transaction** (WAL journal,
``synchronous=FULL``), and the runner calls it, under the state lock, before any answer that
acknowledges a change leaves: before a checkpoint's response reaches the SDK, before an HTTP
request's answer, at the end of each round of delivered timers. A process killed at any
instant therefore leaves either the state before a change or the state after it, never half
of a checkpoint, and never loses one that was acknowledged.

``DurableFunctionTestRunner(..., store=SqliteStore(path))`` restores what the file holds
when it starts (``_service.persistence.restore``): the executions resume.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.persistence import execution_document

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    function_name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    document TEXT NOT NULL
)
"""


class SqliteStore:
    """A SQLite file of executions (created if missing; safe to open again after a crash)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._saved: dict[str, str] = {}

    def load(self) -> list[dict[str, Any]]:
        """Every stored execution's document, in the order they were first stored."""
        with self._lock:
            rows = self._conn.execute("SELECT document FROM executions ORDER BY seq").fetchall()
        documents = [json.loads(row[0]) for row in rows]
        self._saved = {doc["arn"]: json.dumps(doc, sort_keys=True) for doc in documents}
        return documents

    def save_changed(self, executions: Iterable[Execution]) -> int:
        """Write every execution whose state differs from what is stored, in one
        transaction; returns how many were written."""
        changed = []
        for execution in executions:
            text = json.dumps(execution_document(execution), sort_keys=True)
            if self._saved.get(execution.arn) != text:
                changed.append((execution, text))
        if not changed:
            return 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                next_seq = self._conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM executions"
                ).fetchone()[0]
                for execution, text in changed:
                    self._conn.execute(
                        "INSERT INTO executions (arn, function_name, seq, document) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT(arn) DO UPDATE SET "
                        "document = excluded.document",
                        (execution.arn, execution.function_name, next_seq, text),
                    )
                    next_seq += 1
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        for execution, text in changed:
            self._saved[execution.arn] = text
        return len(changed)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
