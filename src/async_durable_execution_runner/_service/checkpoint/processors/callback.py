"""CALLBACK: START creates the callback id and its timers; CANCEL closes it."""

from __future__ import annotations

import datetime as _dt

from async_durable_execution_runner._models import (
    CallbackDetails,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
)
from async_durable_execution_runner._models.operations import with_status
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CancelTimers,
    Effect,
    PendingEvent,
    ProcessContext,
    Processed,
    RegisterCallback,
    StartTimer,
    new_operation,
)


class CallbackProcessor:
    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        if update.action is OperationAction.START:
            callback_id = ctx.new_callback_id(update.id)
            options = update.callback_options
            timeout = (options.timeout_seconds if options else None) or 0
            heartbeat = (options.heartbeat_timeout_seconds if options else None) or 0
            op = new_operation(update, ctx, callback_details=CallbackDetails(callback_id))
            details: dict[str, object] = {"CallbackId": callback_id}
            if heartbeat:
                details["HeartbeatTimeout"] = heartbeat
            if timeout:
                details["Timeout"] = timeout
            effects: list[Effect] = [RegisterCallback(callback_id, update.id)]
            if timeout:
                due = ctx.now + _dt.timedelta(seconds=timeout)
                effects.append(StartTimer("callback_timeout", update.id, due))
            if heartbeat:
                due = ctx.now + _dt.timedelta(seconds=heartbeat)
                effects.append(StartTimer("callback_heartbeat", update.id, due))
            return Processed(
                op, (PendingEvent(EventType.CALLBACK_STARTED, details),), tuple(effects)
            )
        assert current is not None
        op = with_status(current, OperationStatus.CANCELLED, ctx.now)
        return Processed(op, (), (CancelTimers(update.id),))
