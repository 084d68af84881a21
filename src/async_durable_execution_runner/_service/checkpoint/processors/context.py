"""CONTEXT: START, SUCCEED (with ``ReplayChildren``), FAIL."""

from __future__ import annotations

from async_durable_execution_runner._models import (
    ContextDetails,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
)
from async_durable_execution_runner._models._frozen import replace
from async_durable_execution_runner._models.events import event_error, event_result
from async_durable_execution_runner._service.checkpoint.processors.base import (
    PendingEvent,
    ProcessContext,
    Processed,
    new_operation,
)


class ContextProcessor:
    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        if update.action is OperationAction.START:
            op = new_operation(update, ctx, context_details=ContextDetails())
            return Processed(op, (PendingEvent(EventType.CONTEXT_STARTED),))
        assert current is not None
        replay = update.context_options.replay_children if update.context_options else None
        if update.action is OperationAction.SUCCEED:
            op = replace(
                current,
                status=OperationStatus.SUCCEEDED,
                end_timestamp=ctx.now,
                context_details=ContextDetails(replay_children=replay, result=update.payload),
            )
            event = PendingEvent(
                EventType.CONTEXT_SUCCEEDED, {"Result": event_result(update.payload)}
            )
            return Processed(op, (event,))
        op = replace(
            current,
            status=OperationStatus.FAILED,
            end_timestamp=ctx.now,
            context_details=ContextDetails(replay_children=replay, error=update.error),
        )
        return Processed(
            op, (PendingEvent(EventType.CONTEXT_FAILED, {"Error": event_error(update.error)}),)
        )
