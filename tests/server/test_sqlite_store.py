"""``SqliteStore`` writes what changed, piecemeal, and what it holds is the executions exactly;
one process at a time owns a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.server import handlers as h
from tests.server.test_sdk_over_http import FUNCTIONS, drive_workflow

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._service.persistence import execution_document
from async_durable_execution_runner._store import SqliteStore, StoreInUseError


def test_the_file_holds_every_execution_exactly(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    with DurableFunctionTestRunner(
        h.workflow, function_name="workflow", functions=FUNCTIONS, store=store
    ) as runner:
        drive_workflow(runner)  # a wait, a callback, a chained invoke, a retried step
        expected = [
            json.loads(json.dumps(execution_document(e)))
            for e in runner.executor.executions.values()
        ]
        transactions = store.transactions
        assert store.save_changed(runner.executor.executions.values()) == 0  # nothing new
        assert store.transactions == transactions
    store.close()
    reopened = SqliteStore(tmp_path / "store.db")
    stored = reopened.load()
    reopened.close()
    assert len(stored) == 2  # the workflow and its chained invoke
    assert stored == expected


def test_a_store_file_has_one_owner_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    owner = SqliteStore(path)
    with pytest.raises(StoreInUseError, match="in use by another process"):
        SqliteStore(path)
    owner.close()
    SqliteStore(path).close()
