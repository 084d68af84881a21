"""The checkpoint answer's cache path gives what the page's does, from the same entries."""

from __future__ import annotations

import datetime as dt

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._models import (
    Operation,
    OperationStatus,
    OperationType,
    StepDetails,
)
from async_durable_execution_runner._models.operations import with_status
from async_durable_execution_runner._service.service_client import SdkOperationCache

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _step(op_id: str) -> Operation:
    return Operation(
        id=op_id,
        type=OperationType.STEP,
        status=OperationStatus.STARTED,
        start_timestamp=NOW,
        step_details=StepDetails(0),
    )


def test_changed_shares_many_entries() -> None:
    cache = SdkOperationCache()
    a, b = _step("a"), _step("b")
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
