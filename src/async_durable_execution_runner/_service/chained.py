"""Chained invokes: the functions a handler may invoke, the executions they start, and the
results that come back to the invoking operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from async_durable_execution_runner._models import (
    ChainedInvokeDetails,
    ErrorObject,
    EventType,
    OperationStatus,
)
from async_durable_execution_runner._models._frozen import replace
from async_durable_execution_runner._models.events import event_error, event_result
from async_durable_execution_runner._service.checkpoint.processors.base import (
    PendingEvent,
    Processed,
    RequestInvoke,
)
from async_durable_execution_runner._service.execution import Execution, ExecutionStatus
from async_durable_execution_runner._service.lifecycle import Lifecycle
from async_durable_execution_runner._service.names import child_execution_name, function_key
from async_durable_execution_runner._service.seams import FaultHooks, InvokeResult
from async_durable_execution_runner._service.state import ServiceState


class ScheduleAction(Protocol):
    """Schedules an action on the runner's clock (``Timers.schedule_external``)."""

    def __call__(self, action: Callable[[], None], arn: str, *, label: str) -> object: ...


_ENDED_BY_STATUS = {
    ExecutionStatus.TIMED_OUT: (OperationStatus.TIMED_OUT, EventType.CHAINED_INVOKE_TIMED_OUT),
    ExecutionStatus.STOPPED: (OperationStatus.STOPPED, EventType.CHAINED_INVOKE_STOPPED),
}


class ChainedInvokes:
    """``functions`` maps a function name to a handler key (run as its own execution in this
    runner) or an ``InvokeResult`` (a canned ending)."""

    def __init__(
        self,
        state: ServiceState,
        lifecycle: Lifecycle,
        faults: FaultHooks,
        schedule: ScheduleAction,
    ) -> None:
        self.state = state
        self.lifecycle = lifecycle
        self.faults = faults
        self.schedule = schedule
        self.functions: dict[str, str | InvokeResult] = {}
        # A module-level function, not a method of ours: the lifecycle is also ours, and a
        # reference back to us would be a cycle that outlives the runner.
        lifecycle.on_ended = _child_ended

    def start(self, execution: Execution, effect: RequestInvoke) -> None:
        parent = (execution.arn, effect.operation_id)
        label = f"invoke {effect.function_name}"
        target = self.functions.get(function_key(effect.function_name))
        # Hooks written before this hook existed may lack it: they never replace an invoke.
        hook = getattr(self.faults, "on_chained_invoke", None)
        canned = hook(execution.arn, effect.operation_id, effect.function_name) if hook else None
        if isinstance(canned, InvokeResult):
            target = canned
        if isinstance(target, InvokeResult):
            result = target
            status = ExecutionStatus(result.status) if result.status else None
            self.schedule(
                lambda: self.complete(parent, result.result, result.error, status),
                execution.arn,
                label=label,
            )
            return
        if target is None:
            registered = ", ".join(sorted(self.functions)) or "none"
            error = ErrorObject(
                error_type="ResourceNotFoundException",
                error_message=(
                    f"Function not found: {effect.function_name}. Functions registered with "
                    f"this runner: {registered}"
                ),
            )
            self.schedule(
                lambda: self.complete(parent, None, error, None), execution.arn, label=label
            )
            return
        self.lifecycle.start(
            function_key(effect.function_name),
            effect.payload,
            execution_name=child_execution_name(execution.name, effect.operation_id),
            parent=parent,
        )

    def cancel(self, execution: Execution, operation_id: str) -> None:
        for child in self.state.children_of(execution.arn):
            if child.parent == (execution.arn, operation_id) and child.is_open:
                self.lifecycle.finish(child, ExecutionStatus.STOPPED, notify_parent=False)

    def complete(
        self,
        parent: tuple[str, str],
        result: str | None,
        error: ErrorObject | None,
        status: ExecutionStatus | None,
    ) -> None:
        """The invoked execution ended: so does the invoking operation (if still waiting)."""
        complete(self.state, parent, result, error, status)


def _child_ended(state: ServiceState, child: Execution) -> None:
    assert child.parent is not None
    complete(state, child.parent, child.result, child.error, child.status)


def complete(
    state: ServiceState,
    parent: tuple[str, str],
    result: str | None,
    error: ErrorObject | None,
    status: ExecutionStatus | None,
) -> None:
    """``ChainedInvokes.complete``, for ``state``."""
    execution = state.executions.get(parent[0])
    if execution is None or not execution.is_open:
        return
    op = execution.operations.get(parent[1])
    if op is None or op.status is not OperationStatus.STARTED:
        return
    if status in _ENDED_BY_STATUS:
        new_status, event = _ENDED_BY_STATUS[status]
    elif error is not None:
        new_status, event = OperationStatus.FAILED, EventType.CHAINED_INVOKE_FAILED
    else:
        new_status, event = OperationStatus.SUCCEEDED, EventType.CHAINED_INVOKE_SUCCEEDED
    details = (
        {"Result": event_result(result)}
        if new_status is OperationStatus.SUCCEEDED
        else {"Error": event_error(error)}
    )
    ended = replace(
        op,
        status=new_status,
        end_timestamp=state.clock.now(),
        chained_invoke_details=ChainedInvokeDetails(result=result, error=error),
    )
    processed = Processed(ended, (PendingEvent(event, details),))
    state.apply_service_change(execution, processed)
