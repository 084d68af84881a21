"""CONTEXT: START, SUCCEED (with ``ReplayChildren``), FAIL."""

from __future__ import annotations

import datetime as _dt

from async_durable_execution_runner._models import (
    ContextDetails,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
)
from async_durable_execution_runner._models.events import event_error, event_result
from async_durable_execution_runner._models.operations import make_operation, settled
from async_durable_execution_runner._service.checkpoint.processors.base import (
    PendingEvent,
    ProcessContext,
    Processed,
)

#: A new context's details, and its one event: immutable, so shared by every new context.
_NEW_DETAILS = ContextDetails()
_STARTED_EVENTS = (PendingEvent(EventType.CONTEXT_STARTED),)


def _settled(
    current: Operation, status: OperationStatus, end: _dt.datetime, details: ContextDetails
) -> Operation:
    # Every child context and map item ends with one.
    return settled(current, status, end, details, current.step_details)


class ContextProcessor:
    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        action = update.action
        if action is OperationAction.START:
            # ``new_operation``, positionally (in ``Operation``'s field order).
            op = make_operation(
                update.id,
                update.type,
                OperationStatus.STARTED,
                ctx.now,
                update.parent_id,
                update.name,
                update.sub_type,
                None,
                None,
                _NEW_DETAILS,
            )
            return Processed(op, _STARTED_EVENTS)
        assert current is not None
        options = update.context_options
        replay = options.replay_children if options is not None else None
        if action is OperationAction.SUCCEED:
            payload = update.payload
            op = _settled(
                current, OperationStatus.SUCCEEDED, ctx.now, ContextDetails(replay, payload)
            )
            event = PendingEvent(EventType.CONTEXT_SUCCEEDED, {"Result": event_result(payload)})
            return Processed(op, (event,))
        error = update.error
        op = _settled(current, OperationStatus.FAILED, ctx.now, ContextDetails(replay, None, error))
        return Processed(
            op, (PendingEvent(EventType.CONTEXT_FAILED, {"Error": event_error(error)}),)
        )
