"""Callbacks: the ids the service hands out, the callback API, heartbeats and time-outs."""

from __future__ import annotations

import datetime as _dt

from async_durable_execution_runner._models import (
    CallbackDetails,
    ErrorObject,
    EventType,
    Operation,
    OperationStatus,
)
from async_durable_execution_runner._models._frozen import replace
from async_durable_execution_runner._models.events import event_error, event_result
from async_durable_execution_runner._service.checkpoint.processors.base import (
    PendingEvent,
    Processed,
)
from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.scheduler import DueKind
from async_durable_execution_runner._service.state import ServiceState
from async_durable_execution_runner.errors import (
    CallbackTimeoutException,
    InvalidParameterValueException,
    ResourceNotFoundException,
)

#: SendDurableExecutionCallbackSuccess's ``Result`` (botocore: ``BinaryOperationPayload`` max).
MAX_CALLBACK_RESULT_BYTES = 262_144


class Callbacks:
    """Where each callback id points, and what the callback API does to its operation."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state
        self._where: dict[str, tuple[str, str]] = {}  # callback id -> (arn, operation id)

    def register(self, execution: Execution, callback_id: str, operation_id: str) -> None:
        execution.callbacks[callback_id] = operation_id
        self._where[callback_id] = (execution.arn, operation_id)

    def ids(self, arn: str) -> dict[str, str]:
        """Callback id -> operation id, for one execution."""
        return dict(self.state.get(arn).callbacks)

    def _open(self, callback_id: str) -> tuple[Execution, Operation]:
        where = self._where.get(callback_id)
        if where is None:
            msg = (
                f"no callback with id {callback_id!r} exists; use the CallbackId from the "
                "CallbackStarted event"
            )
            raise ResourceNotFoundException(msg)
        execution = self.state.executions[where[0]]
        op = execution.operations[where[1]]
        if op.status is OperationStatus.TIMED_OUT:
            msg = f"callback {callback_id!r} has timed out; it accepts no more results"
            raise CallbackTimeoutException(msg)
        if op.status is not OperationStatus.STARTED or not execution.is_open:
            # botocore's model: CallbackTimeoutException is "the callback ID token has either
            # expired or the callback associated with the token has already been closed".
            msg = (
                f"callback {callback_id!r} is already closed (operation {op.id!r} is "
                f"{op.status.value}, execution {execution.status.value})"
            )
            raise CallbackTimeoutException(msg)
        return execution, op

    def succeed(self, callback_id: str, result: str | None) -> None:
        size = len(result.encode()) if result is not None else 0
        if size > MAX_CALLBACK_RESULT_BYTES:
            msg = (
                f"the callback result is {size} bytes, over the {MAX_CALLBACK_RESULT_BYTES}-byte "
                "limit for SendDurableExecutionCallbackSuccess's Result"
            )
            raise InvalidParameterValueException(msg)
        execution, op = self._open(callback_id)
        self._end(
            execution,
            op,
            OperationStatus.SUCCEEDED,
            replace(_details(op), result=result),
            PendingEvent(EventType.CALLBACK_SUCCEEDED, {"Result": event_result(result)}),
        )

    def fail(self, callback_id: str, error: ErrorObject | None) -> None:
        execution, op = self._open(callback_id)
        self._end(
            execution,
            op,
            OperationStatus.FAILED,
            replace(_details(op), error=error),
            PendingEvent(EventType.CALLBACK_FAILED, {"Error": event_error(error)}),
        )

    def heartbeat(self, callback_id: str) -> None:
        execution, op = self._open(callback_id)
        scheduler = self.state.scheduler
        scheduler.cancel_where(execution.arn, op.id, {DueKind.CALLBACK_HEARTBEAT})
        seconds = _heartbeat_seconds(execution, op)
        if seconds:
            scheduler.schedule(
                self.state.clock.now() + _dt.timedelta(seconds=seconds),
                DueKind.CALLBACK_HEARTBEAT,
                execution.arn,
                op.id,
            )

    def time_out_by_id(self, callback_id: str, *, heartbeat: bool = False) -> None:
        """Time the callback out now, as its timer would (used by timers and fault plans)."""
        execution, op = self._open(callback_id)
        self.time_out(execution, op, heartbeat)

    def time_out(self, execution: Execution, op: Operation, heartbeat: bool) -> None:
        error = ErrorObject(
            error_type="Callback.Heartbeat" if heartbeat else "Callback.Timeout",
            error_message="callback heartbeat timed out" if heartbeat else "callback timed out",
        )
        self._end(
            execution,
            op,
            OperationStatus.TIMED_OUT,
            replace(_details(op), error=error),
            PendingEvent(EventType.CALLBACK_TIMED_OUT, {"Error": event_error(error)}),
        )

    def _end(
        self,
        execution: Execution,
        op: Operation,
        status: OperationStatus,
        details: CallbackDetails,
        event: PendingEvent,
    ) -> None:
        self.state.scheduler.cancel_where(
            execution.arn, op.id, {DueKind.CALLBACK_TIMEOUT, DueKind.CALLBACK_HEARTBEAT}
        )
        ended = replace(
            op, status=status, end_timestamp=self.state.clock.now(), callback_details=details
        )
        self.state.apply_service_change(execution, Processed(ended, (event,)))


def _details(op: Operation) -> CallbackDetails:
    assert op.callback_details is not None
    return op.callback_details


def _heartbeat_seconds(execution: Execution, op: Operation) -> int:
    for event in execution.events:
        if event.id == op.id and event.event_type is EventType.CALLBACK_STARTED:
            return int(event.details.get("HeartbeatTimeout") or 0)
    return 0
