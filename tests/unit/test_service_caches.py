"""The service's per-execution shortcuts answer exactly what the long way would."""

from __future__ import annotations

import copy
import datetime as dt

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._models import Operation, OperationStatus, OperationType
from async_durable_execution_runner._models.operations import with_status
from async_durable_execution_runner._sandbox.service_client import SdkOperationCache
from async_durable_execution_runner._service.execution import Execution, ExecutionStatus
from async_durable_execution_runner._service.history import History

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _op(op_id: str) -> Operation:
    return Operation(
        id=op_id, type=OperationType.WAIT, status=OperationStatus.STARTED, start_timestamp=NOW
    )


def test_sdk_operation_cache_converts_each_version_once() -> None:
    cache = SdkOperationCache()
    a, b = _op("a"), _op("b")
    first = cache.many("arn", [a, b])
    assert first == [adapter.operation_to_sdk(a), adapter.operation_to_sdk(b)]
    again = cache.many("arn", [a, b])
    assert again[0] is first[0] and again[1] is first[1]
    done = with_status(a, OperationStatus.SUCCEEDED, NOW)
    page = cache.many("arn", [done, b])
    assert page[0] == adapter.operation_to_sdk(done) and page[1] is first[1]
    # The older version is dropped: asked again (a ledger's retried answer), it is rebuilt.
    old = cache.many("arn", [a])[0]
    assert old == first[0] and old is not first[0]
    assert cache.get("other", a) is not first[0]  # executions apart


def test_a_checkpoint_answer_shares_the_pages_cache_entries() -> None:
    """``changed`` (a checkpoint's answer) and ``many`` (a page) convert each version once
    between them."""
    cache = SdkOperationCache()
    a, b = _op("a"), _op("b")
    answered = cache.changed("arn", [a, b])
    assert answered == [adapter.operation_to_sdk(a), adapter.operation_to_sdk(b)]
    # The next page finds them converted; an answer of converted versions reuses them.
    page = cache.many("arn", [a, b])
    assert page[0] is answered[0] and page[1] is answered[1]
    assert cache.changed("arn", [b])[0] is answered[1]
    # A new version replaces the old one, which is rebuilt if asked for again.
    done = with_status(a, OperationStatus.SUCCEEDED, NOW)
    newer = cache.changed("arn", [done])[0]
    assert newer == adapter.operation_to_sdk(done)
    assert cache.many("arn", [done])[0] is newer
    old = cache.changed("arn", [a])[0]
    assert old == answered[0] and old is not answered[0]
    assert cache.changed("other", [b])[0] is not answered[1]  # executions apart


def test_is_open_follows_every_status_write() -> None:
    def execution(**status: ExecutionStatus) -> Execution:
        return Execution("arn", "id", "n", "f", None, 60, NOW, History(), **status)

    running = execution()
    assert running.is_open and running.status is ExecutionStatus.RUNNING
    assert not execution(status=ExecutionStatus.SUCCEEDED).is_open
    running.status = ExecutionStatus.FAILED
    assert not running.is_open and running.status is ExecutionStatus.FAILED
    copied = copy.copy(running)
    assert not copied.is_open and copied.status is ExecutionStatus.FAILED
