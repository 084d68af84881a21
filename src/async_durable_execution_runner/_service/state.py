"""What every part of the service shares: the clock, the timers, the observers, the stored
executions, and the two moves they all make (record an event, wake an execution)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

from async_durable_execution_runner._models import Event, EventType, Operation
from async_durable_execution_runner._service.checkpoint.processors.base import (
    PendingEvent,
    Processed,
)
from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.names import (
    child_execution_name,
    execution_arn,
    function_key,
)
from async_durable_execution_runner._service.observer import ExecutionNotifier
from async_durable_execution_runner._service.scheduler import DueKind, Scheduler
from async_durable_execution_runner._service.seams import Clock
from async_durable_execution_runner.errors import ResourceNotFoundException

#: Operations per page of ``InitialExecutionState`` / ``GetDurableExecutionState``.
DEFAULT_PAGE_SIZE = 1000


class ServiceState:
    """The stored executions and the service-wide facilities the parts of the service share.

    Single-threaded: only the thread driving the executor touches it.
    """

    def __init__(
        self,
        clock: Clock,
        notifier: ExecutionNotifier,
        *,
        region: str,
        account_id: str,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.clock = clock
        self.notifier = notifier
        self.scheduler = Scheduler()
        self.region = region
        self.account_id = account_id
        self.page_size = page_size
        self.executions: dict[str, Execution] = {}
        # arn -> operations the service changed on its own since the last response
        self.dirty: dict[str, set[str]] = {}

    def execution_arn(self, function_name: str, execution_name: str) -> str:
        return execution_arn(self.region, self.account_id, function_name, execution_name)

    def get(self, arn: str) -> Execution:
        execution = self.executions.get(arn)
        if execution is None:
            msg = f"no durable execution with ARN {arn!r} exists in this runner"
            raise ResourceNotFoundException(msg)
        return execution

    def children_of(self, arn: str) -> Iterable[Execution]:
        """The executions started by ``arn``'s chained invokes."""
        return (e for e in self.executions.values() if e.parent is not None and e.parent[0] == arn)

    def append_event(
        self, execution: Execution, op: Operation, pending: PendingEvent, now: _dt.datetime
    ) -> Event:
        """Record an operation's event in the execution's history (``EventId`` assigned here)."""
        details = pending.details
        if pending.event_type is EventType.CHAINED_INVOKE_STARTED:
            # The service names the execution it starts for the invoke in the started event.
            function = function_key(str(details.get("FunctionName", "")))
            child = child_execution_name(execution.name, op.id)
            details = {
                **details,
                "DurableExecutionArn": self.execution_arn(function, child),
                "ExecutedVersion": "$LATEST",
            }
        return execution.history.record(
            pending.event_type, now, op.id, op.name, op.parent_id, op.sub_type, details
        )

    def apply_service_change(self, execution: Execution, processed: Processed) -> None:
        """A change the service makes by itself (timer, callback, invoke result): store it,
        record its events, report it in the next response, and wake the handler."""
        op = processed.operation
        execution.operations[op.id] = op
        self.dirty[execution.arn].add(op.id)
        now = self.clock.now()
        for pending in processed.events:
            self.append_event(execution, op, pending, now)
        self.wake(execution)

    def wake(self, execution: Execution) -> None:
        """Something the execution waits on changed: make sure the handler runs again."""
        if not execution.is_open:
            return
        if execution.invocation_active:
            execution.wakeup_pending = True
            return
        if self.scheduler.has_pending(execution.arn, DueKind.INVOCATION):
            return
        self.scheduler.schedule(self.clock.now(), DueKind.INVOCATION, execution.arn, label="resume")
