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
from async_durable_execution_runner._models._frozen import maker
from async_durable_execution_runner._models.events import event_error
from async_durable_execution_runner._models.operations import make_operation, with_status
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CancelTimers,
    PendingEvent,
    ProcessContext,
    Processed,
    StartTimer,
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
        if update.action is _START:
            options = update.wait_options
            seconds = (options.wait_seconds if options is not None else None) or 0
            now = ctx.now
            end = now + _dt.timedelta(seconds=seconds)
            # ``new_operation``, positionally (in ``Operation``'s field order), and the named
            # tuples and ``StartTimer`` without their classes' calls: every wait starts here.
            op = make_operation(
                update.id,
                update.type,
                _STARTED,
                now,
                update.parent_id,
                update.name,
                update.sub_type,
                None,
                None,
                None,
                None,
                _make_wait_details(end),
            )
            event = _new_tuple(
                PendingEvent, (_WAIT_STARTED, {"Duration": seconds, "ScheduledEndTimestamp": end})
            )
            return _new_tuple(Processed, (op, (event,), (_start_timer("wait", update.id, end),)))
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


_new_tuple = tuple.__new__  # see ``step``'s
_make_wait_details = maker(WaitDetails)
_start_timer = maker(StartTimer)
_START = OperationAction.START
_STARTED = OperationStatus.STARTED
_WAIT_STARTED = EventType.WAIT_STARTED
