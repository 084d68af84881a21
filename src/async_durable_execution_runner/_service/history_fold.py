"""Operations folded from a durable execution's history events.

A history (``GetDurableExecutionHistory``'s ``Events``) is the only record a deployed
execution leaves. Folding its events in order gives the operations as the service stored
them. The replay gate cuts the fold at invocation boundaries; the cloud runner folds a whole
history into the operations of its result. One fold serves both, so they cannot disagree on
what an event means.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from async_durable_execution_runner._models import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    Event,
    EventType,
    ExecutionDetails,
    Operation,
    OperationStatus,
    OperationType,
    StepDetails,
    WaitDetails,
)
from async_durable_execution_runner._models._frozen import replace
from async_durable_execution_runner._models._time import parse_timestamp
from async_durable_execution_runner.errors import DurableRunnerError

E = EventType

#: Transitions the service makes on its own; everything else is a handler's checkpoint.
SERVICE_EVENTS = frozenset(
    {
        E.WAIT_SUCCEEDED,
        E.CALLBACK_SUCCEEDED,
        E.CALLBACK_FAILED,
        E.CALLBACK_TIMED_OUT,
        E.CHAINED_INVOKE_SUCCEEDED,
        E.CHAINED_INVOKE_FAILED,
        E.CHAINED_INVOKE_TIMED_OUT,
        E.CHAINED_INVOKE_STOPPED,
        E.EXECUTION_TIMED_OUT,
        E.EXECUTION_STOPPED,
    }
)
EXECUTION_ENDS = frozenset(
    {E.EXECUTION_SUCCEEDED, E.EXECUTION_FAILED, E.EXECUTION_TIMED_OUT, E.EXECUTION_STOPPED}
)

#: ``ErrorType``s of an execution the SDK failed because the service refused a call.
SERVICE_ERROR_TYPES = frozenset({"CheckpointError", "GetExecutionStateError"})

_TYPE_PREFIXES: tuple[tuple[str, OperationType], ...] = (
    ("ChainedInvoke", OperationType.CHAINED_INVOKE),
    ("Execution", OperationType.EXECUTION),
    ("Context", OperationType.CONTEXT),
    ("Callback", OperationType.CALLBACK),
    ("Step", OperationType.STEP),
    ("Wait", OperationType.WAIT),
)


class HistoryFormatError(DurableRunnerError):
    """A history that cannot be replayed (malformed, truncated, or not a durable history)."""


def operation_type_of(event_type: EventType) -> OperationType | None:
    """The operation type an event belongs to (``None`` for ``InvocationCompleted``)."""
    for prefix, op_type in _TYPE_PREFIXES:
        if event_type.value.startswith(prefix):
            return op_type
    return None


def is_handler_event(event: Event) -> bool:
    """Whether the handler's own checkpoint produced this event."""
    return (
        event.event_type not in SERVICE_EVENTS
        and event.event_type is not E.INVOCATION_COMPLETED
        and event.event_type not in EXECUTION_ENDS
        and event.event_type is not E.EXECUTION_STARTED
    )


def event_payload(event: Event, key: str) -> str | None:
    """A payload from ``details[key]`` (``EventResult``/``EventInput``); refuses truncation."""
    box = event.details.get(key)
    if not box:
        return None
    if box.get("Truncated"):
        msg = (
            f"event #{event.event_id} ({event.event_type.value} {event.name!r}) has a truncated "
            f"{key}; the replay needs the whole payload. Export the history with "
            "IncludeExecutionData=true, or replay a history this runner recorded"
        )
        raise HistoryFormatError(msg)
    payload: str | None = box.get("Payload")
    return payload


def _error(event: Event) -> ErrorObject | None:
    box = event.details.get("Error")
    if not box:
        return None
    payload = box.get("Payload")
    return ErrorObject.from_dict(payload) if payload is not None else ErrorObject()


def _attempt(event: Event, fallback: int) -> int:
    retry = event.details.get("RetryDetails") or {}
    return int(retry.get("CurrentAttempt", fallback))


def _new(event: Event, op_type: OperationType, **details: Any) -> Operation:
    return Operation(
        id=event.id or "",
        type=op_type,
        status=OperationStatus.STARTED,
        start_timestamp=event.event_timestamp,
        parent_id=event.parent_id,
        name=event.name,
        sub_type=event.sub_type,
        **details,
    )


def _ended(op: Operation, event: Event, status: OperationStatus, **details: Any) -> Operation:
    return replace(op, status=status, end_timestamp=event.event_timestamp, **details)


def apply_event(ops: dict[str, Operation], event: Event) -> None:
    """Fold one event into ``ops`` (operation id -> operation), as the service stored it."""
    t = event.event_type
    if t is E.INVOCATION_COMPLETED or t in EXECUTION_ENDS:
        return
    if not event.id:
        msg = f"event #{event.event_id} ({t.value}) has no Id"
        raise HistoryFormatError(msg)
    if t is E.EXECUTION_STARTED:
        ops[event.id] = _new(
            event,
            OperationType.EXECUTION,
            execution_details=ExecutionDetails(event_payload(event, "Input")),
        )
        return
    current = ops.get(event.id)
    if t is E.STEP_STARTED:
        if current is None:
            ops[event.id] = _new(event, OperationType.STEP, step_details=StepDetails(attempt=0))
        else:
            ops[event.id] = replace(current, status=OperationStatus.STARTED)
        return
    if t is E.WAIT_STARTED:
        end = event.details.get("ScheduledEndTimestamp")
        scheduled = (
            parse_timestamp(end)
            if end is not None
            else event.event_timestamp + _dt.timedelta(seconds=int(event.details["Duration"]))
        )
        ops[event.id] = _new(event, OperationType.WAIT, wait_details=WaitDetails(scheduled))
        return
    if t is E.CONTEXT_STARTED:
        ops[event.id] = _new(event, OperationType.CONTEXT, context_details=ContextDetails())
        return
    if t is E.CALLBACK_STARTED:
        callback_id = str(event.details.get("CallbackId") or "")
        ops[event.id] = _new(
            event, OperationType.CALLBACK, callback_details=CallbackDetails(callback_id)
        )
        return
    if t is E.CHAINED_INVOKE_STARTED:
        ops[event.id] = _new(
            event, OperationType.CHAINED_INVOKE, chained_invoke_details=ChainedInvokeDetails()
        )
        return
    if current is None:
        msg = (
            f"event #{event.event_id} ({t.value} {event.name!r}) ends operation {event.id!r}, "
            "which no earlier event started; is the history complete (every page)?"
        )
        raise HistoryFormatError(msg)
    ops[event.id] = _ending(current, event)


def _ending(op: Operation, event: Event) -> Operation:
    t = event.event_type
    S = OperationStatus
    if t is E.STEP_SUCCEEDED or t is E.STEP_FAILED:
        previous = op.step_details.attempt if op.step_details else 0
        attempt = _attempt(event, previous + 1)
        retry = event.details.get("RetryDetails") or {}
        # Either event with a next attempt is a RETRY: the step waits to run again (a
        # wait_for_condition poll is a StepSucceeded carrying the state it polls from).
        if t is E.STEP_SUCCEEDED and "NextAttemptDelaySeconds" not in retry:
            details = StepDetails(attempt=attempt, result=event_payload(event, "Result"))
            return _ended(op, event, S.SUCCEEDED, step_details=details)
        if "NextAttemptDelaySeconds" in retry:
            due = event.event_timestamp + _dt.timedelta(
                seconds=float(retry["NextAttemptDelaySeconds"])
            )
            details = StepDetails(
                attempt=attempt,
                next_attempt_timestamp=due,
                result=event_payload(event, "Result"),
                error=_error(event),
            )
            return replace(op, status=S.PENDING, step_details=details)
        details = StepDetails(attempt=attempt, error=_error(event))
        return _ended(op, event, S.FAILED, step_details=details)
    if t is E.WAIT_SUCCEEDED:
        return _ended(op, event, S.SUCCEEDED)
    if t is E.WAIT_CANCELLED:
        return _ended(op, event, S.CANCELLED)
    if t is E.CONTEXT_SUCCEEDED:
        return _ended(
            op,
            event,
            S.SUCCEEDED,
            context_details=ContextDetails(result=event_payload(event, "Result")),
        )
    if t is E.CONTEXT_FAILED:
        return _ended(op, event, S.FAILED, context_details=ContextDetails(error=_error(event)))
    if t in (E.CALLBACK_SUCCEEDED, E.CALLBACK_FAILED, E.CALLBACK_TIMED_OUT):
        callback_id = op.callback_details.callback_id if op.callback_details else ""
        status = {
            E.CALLBACK_SUCCEEDED: S.SUCCEEDED,
            E.CALLBACK_FAILED: S.FAILED,
            E.CALLBACK_TIMED_OUT: S.TIMED_OUT,
        }[t]
        answer = CallbackDetails(
            callback_id,
            result=event_payload(event, "Result") if status is S.SUCCEEDED else None,
            error=_error(event),
        )
        return _ended(op, event, status, callback_details=answer)
    status = {
        E.CHAINED_INVOKE_SUCCEEDED: S.SUCCEEDED,
        E.CHAINED_INVOKE_FAILED: S.FAILED,
        E.CHAINED_INVOKE_TIMED_OUT: S.TIMED_OUT,
        E.CHAINED_INVOKE_STOPPED: S.STOPPED,
    }[t]
    invoke = ChainedInvokeDetails(
        result=event_payload(event, "Result") if status is S.SUCCEEDED else None,
        error=_error(event),
    )
    return _ended(op, event, status, chained_invoke_details=invoke)


def fold_history(events: tuple[Event, ...] | list[Event]) -> list[Operation]:
    """Every operation a whole history describes, in order of first appearance, the
    execution's own end included."""
    ops: dict[str, Operation] = {}
    ends = {
        E.EXECUTION_SUCCEEDED: OperationStatus.SUCCEEDED,
        E.EXECUTION_FAILED: OperationStatus.FAILED,
        E.EXECUTION_TIMED_OUT: OperationStatus.TIMED_OUT,
        E.EXECUTION_STOPPED: OperationStatus.STOPPED,
    }
    for event in events:
        status = ends.get(event.event_type)
        if status is not None and event.id in ops:
            ops[event.id] = _ended(ops[event.id], event, status)
        else:
            apply_event(ops, event)
    return list(ops.values())
