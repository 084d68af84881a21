"""Executions start and end: their first events, their time-outs, their terminal states."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from async_durable_execution_runner._models import (
    ErrorObject,
    Event,
    EventType,
    ExecutionDetails,
    OperationStatus,
    OperationType,
)
from async_durable_execution_runner._models._frozen import maker
from async_durable_execution_runner._models.events import event_error, event_result
from async_durable_execution_runner._models.operations import make_operation, with_status
from async_durable_execution_runner._service.execution import (
    Execution,
    ExecutionStatus,
    new_execution,
)
from async_durable_execution_runner._service.history import History
from async_durable_execution_runner._service.observer import ExecutionNotifier
from async_durable_execution_runner._service.scheduler import DueKind
from async_durable_execution_runner._service.state import ServiceState
from async_durable_execution_runner.errors import InvalidParameterValueException

_OPERATION_STATUS = {
    ExecutionStatus.SUCCEEDED: OperationStatus.SUCCEEDED,
    ExecutionStatus.FAILED: OperationStatus.FAILED,
    ExecutionStatus.TIMED_OUT: OperationStatus.TIMED_OUT,
    ExecutionStatus.STOPPED: OperationStatus.STOPPED,
}
# ``ExecutionDetails(...)`` without ``type.__call__`` (see ``maker``), as for the operation:
# once per execution.
_make_execution_details = maker(ExecutionDetails)
_END_EVENT = {
    ExecutionStatus.SUCCEEDED: EventType.EXECUTION_SUCCEEDED,
    ExecutionStatus.FAILED: EventType.EXECUTION_FAILED,
    ExecutionStatus.TIMED_OUT: EventType.EXECUTION_TIMED_OUT,
    ExecutionStatus.STOPPED: EventType.EXECUTION_STOPPED,
}


class Lifecycle:
    """Starts executions and brings them to their end.

    ``on_ended(state, execution)`` hears every execution that ended and should tell its
    parent (the chained invoke that started it).
    """

    on_ended: Callable[[ServiceState, Execution], None] | None = None

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def start(
        self,
        function_name: str,
        input_payload: str | None,
        *,
        execution_name: str | None = None,
        timeout_seconds: int = 86_400,
        parent: tuple[str, str] | None = None,
    ) -> str:
        state = self.state
        name = execution_name or f"execution-{len(state.executions) + 1}"
        arn = state.execution_arn(function_name, name)
        execution_id = arn.rsplit("/", 1)[1]
        if arn in state.executions:
            msg = f"an execution named {name!r} already exists for function {function_name!r}"
            raise InvalidParameterValueException(msg)
        now = state.clock.now()
        notifier = state.notifier
        history = History(_history_listener(notifier, arn))
        execution = new_execution(
            arn,
            execution_id,
            name,
            function_name,
            input_payload,
            timeout_seconds,
            now,
            history,
            parent,
        )
        execution.operations[execution_id] = make_operation(
            id=execution_id,
            type=OperationType.EXECUTION,
            status=OperationStatus.STARTED,
            start_timestamp=now,
            execution_details=_make_execution_details(input_payload=input_payload),
        )
        state.executions[arn] = execution
        state.dirty[arn] = set()
        history.record(
            EventType.EXECUTION_STARTED,
            now,
            execution_id,
            name,
            None,
            None,
            {
                "Input": {"Payload": input_payload or "", "Truncated": False},
                "ExecutionTimeout": timeout_seconds,
            },
        )
        notifier.execution_started(arn, parent)
        state.scheduler.schedule(
            now + _dt.timedelta(seconds=timeout_seconds), DueKind.EXECUTION_TIMEOUT, arn
        )
        state.scheduler.schedule(now, DueKind.INVOCATION, arn, label="start")
        return arn

    def stop(self, arn: str, error: ErrorObject | None = None) -> _dt.datetime:
        execution = self.state.get(arn)
        if not execution.is_open:
            msg = (
                f"execution {arn} already ended with status {execution.status.value}; "
                "only a RUNNING execution can be stopped"
            )
            raise InvalidParameterValueException(msg)
        stop_error = error or ErrorObject(
            error_type="ExecutionStopped", error_message="execution stopped by request"
        )
        self.finish(execution, ExecutionStatus.STOPPED, error=stop_error)
        end = execution.end
        assert end is not None
        return end

    def time_out(self, execution: Execution) -> None:
        error = ErrorObject(
            error_type="Execution.TimedOut",
            error_message=f"execution exceeded its timeout of {execution.timeout_seconds}s",
        )
        self.finish(execution, ExecutionStatus.TIMED_OUT, error=error)

    def finish(
        self,
        execution: Execution,
        status: ExecutionStatus,
        *,
        result: str | None = None,
        error: ErrorObject | None = None,
        notify_parent: bool = True,
    ) -> None:
        state = self.state
        now = state.clock.now()
        execution.status = status
        execution.result = result
        execution.error = error
        execution.end = now
        exec_op = execution.operations[execution.execution_id]
        execution.operations[execution.execution_id] = with_status(
            exec_op, _OPERATION_STATUS[status], exec_op.end_timestamp or now
        )
        details = (
            {"Result": event_result(result)}
            if status is ExecutionStatus.SUCCEEDED
            else {"Error": event_error(error)}
        )
        execution.history.record(
            _END_EVENT[status], now, execution.execution_id, execution.name, None, None, details
        )
        state.scheduler.cancel_where(execution.arn)
        state.notifier.execution_completed(execution.arn, status.value)
        if notify_parent and execution.parent is not None and self.on_ended is not None:
            self.on_ended(state, execution)


def _history_listener(notifier: ExecutionNotifier, arn: str) -> Callable[[Event], None]:
    """What the history calls for each event: the observers, if any are registered (they may
    be added at any time)."""

    def on_event(event: Event) -> None:
        if notifier.has_observers:
            notifier.history_event(arn, event)

    return on_event
