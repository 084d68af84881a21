"""EXECUTION: the SDK closes the execution by checkpoint when its result is too large to return."""

from __future__ import annotations

from async_durable_execution_runner._models import (
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
)
from async_durable_execution_runner._models.operations import with_status
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CloseExecution,
    ProcessContext,
    Processed,
)


class ExecutionProcessor:
    """Events for the execution's end are recorded when the invocation ends, not here."""

    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        assert current is not None  # EXECUTION updates always address the execution itself
        succeeded = update.action is OperationAction.SUCCEED
        op = with_status(
            current, OperationStatus.SUCCEEDED if succeeded else OperationStatus.FAILED, ctx.now
        )
        effect = CloseExecution(succeeded=succeeded, result=update.payload, error=update.error)
        return Processed(op, (), (effect,))
