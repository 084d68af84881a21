"""The service's timers: waits, retry delays, callback time-outs, the execution's time-out,
and actions a test scheduled on the runner's clock."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from async_durable_execution_runner._models import Operation, OperationStatus
from async_durable_execution_runner._models.operations import with_status
from async_durable_execution_runner._service.checkpoint.processors.base import Processed
from async_durable_execution_runner._service.checkpoint.processors.wait import complete_wait
from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.scheduler import DueItem, DueKind
from async_durable_execution_runner._service.state import ServiceState

#: The timers a handler's own operations set (fired early by ``catch_up``).
_OPERATION_TIMERS = frozenset(
    {DueKind.WAIT, DueKind.RETRY, DueKind.CALLBACK_TIMEOUT, DueKind.CALLBACK_HEARTBEAT}
)
_CALLBACK_TIMERS = frozenset({DueKind.CALLBACK_TIMEOUT, DueKind.CALLBACK_HEARTBEAT})


class Timers:
    """Fires due timers. ``time_out_callback`` and ``time_out_execution`` are what a callback's
    and an execution's time-outs do (owned by the callbacks and the lifecycle)."""

    def __init__(
        self,
        state: ServiceState,
        *,
        time_out_callback: Callable[[Execution, Operation, bool], None],
        time_out_execution: Callable[[Execution], None],
    ) -> None:
        self.state = state
        # Catch-up's two reads, held: the state keeps its clock and its scheduler keeps its
        # heap (the same list) for its lifetime.
        self._clock = state.clock
        self._heap = state.scheduler.heap
        self.time_out_callback = time_out_callback
        self.time_out_execution = time_out_execution
        self._external: dict[int, Callable[[], None]] = {}

    def schedule_external(
        self, action: Callable[[], None], arn: str, *, delay: float = 0.0, label: str = ""
    ) -> DueItem:
        """Run ``action`` on the runner's clock, ``delay`` seconds from now."""
        state = self.state
        item = state.scheduler.schedule(
            state.clock.now() + _dt.timedelta(seconds=delay), DueKind.EXTERNAL, arn, label=label
        )
        self._external[item.seq] = action
        return item

    def run_external(self, item: DueItem) -> None:
        self._external.pop(item.seq)()

    def fire(self, execution: Execution, item: DueItem) -> None:
        """Deliver a timer of an open execution (invocations and external actions excepted)."""
        kind = item.kind
        if kind is DueKind.EXECUTION_TIMEOUT:
            self.time_out_execution(execution)
            return
        op = execution.operations.get(item.operation_id or "")
        if op is None:
            return
        if kind is DueKind.WAIT:
            if op.status is OperationStatus.STARTED:
                self.state.apply_service_change(
                    execution, complete_wait(op, self.state.clock.now())
                )
        elif kind is DueKind.RETRY:
            if op.status is OperationStatus.PENDING:
                # READY is not an event: the next attempt's StepStarted is.
                ready = with_status(op, OperationStatus.READY, op.end_timestamp)
                self.state.apply_service_change(execution, Processed(ready))
        elif kind in _CALLBACK_TIMERS and op.status is OperationStatus.STARTED:
            self.time_out_callback(execution, op, kind is DueKind.CALLBACK_HEARTBEAT)

    def catch_up(self, execution: Execution) -> _dt.datetime:
        """Fire the execution's timers that are due now (they fell due while the handler waited
        in-process, or a scheduler policy delivered something else first): the service's state
        is never behind its own clock when it answers (or invokes) the handler. Returns the
        clock's time once caught up, which the caller would otherwise ask for right after."""
        clock = self._clock
        heap = self._heap
        # Asked for every checkpoint and invocation, and almost always nothing is due: the
        # heap's top (perhaps an item since cancelled) is never later than the earliest live
        # item, so it answers without ``next_due``'s pruning (which the loop does anyway).
        now = clock.now()
        if not heap or heap[0][0] > now:
            return now
        scheduler = self.state.scheduler
        for item in scheduler.due_by(now):
            if item.execution_arn == execution.arn and item.kind in _OPERATION_TIMERS:
                scheduler.take(item)
                if execution.is_open:
                    self.fire(execution, item)
        # Read again after the timers' work (a ``RealClock`` moved meanwhile).
        return clock.now()
