"""WAIT: START schedules the timer; the service completes it; CANCEL stops it."""

from __future__ import annotations

import datetime as _dt

from async_durable_execution_runner._models import (
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
    WaitDetails,
)
from async_durable_execution_runner._models.events import event_error
from async_durable_execution_runner._models.operations import with_status
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CancelTimers,
    PendingEvent,
    ProcessContext,
    Processed,
    StartTimer,
    new_operation,
)


def wait_duration(op: Operation) -> int:
    """The wait's length in whole seconds, from its stored timestamps."""
    end = op.wait_details.scheduled_end_timestamp if op.wait_details else None
    if end is None:
        return 0
    return round((end - op.start_timestamp).total_seconds())


class WaitProcessor:
    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        if update.action is OperationAction.START:
            seconds = update.wait_options.wait_seconds if update.wait_options else None
            seconds = seconds or 0
            end = ctx.now + _dt.timedelta(seconds=seconds)
            op = new_operation(update, ctx, wait_details=WaitDetails(scheduled_end_timestamp=end))
            event = PendingEvent(
                EventType.WAIT_STARTED, {"Duration": seconds, "ScheduledEndTimestamp": end}
            )
            return Processed(op, (event,), (StartTimer("wait", update.id, end),))
        assert current is not None
        op = with_status(current, OperationStatus.CANCELLED, ctx.now)
        details = {"Error": event_error(update.error)} if update.error is not None else {}
        return Processed(
            op, (PendingEvent(EventType.WAIT_CANCELLED, details),), (CancelTimers(update.id),)
        )


def complete_wait(current: Operation, now: _dt.datetime) -> Processed:
    """The service's own transition when the wait's timer is due."""
    op = with_status(current, OperationStatus.SUCCEEDED, now)
    return Processed(
        op, (PendingEvent(EventType.WAIT_SUCCEEDED, {"Duration": wait_duration(current)}),)
    )
