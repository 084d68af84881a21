"""The service emulator: executions, their timers and invocations, and the service's API.

Single-threaded and deterministic: nothing happens unless ``run_until`` delivers the next due
item. With the virtual clock, time jumps to the next deadline only when nothing is due and
the caller allows time to pass; so a test that is about to send a callback never sees time
move behind its back.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from async_durable_execution_runner._models import (
    ChainedInvokeDetails,
    ErrorObject,
    Event,
    EventType,
    ExecutionDetails,
    Operation,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from async_durable_execution_runner._models.events import event_error, event_result
from async_durable_execution_runner._service.checkpoint.processor import (
    CheckpointPlan,
    CheckpointProcessor,
)
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CancelInvoke,
    CancelTimers,
    CloseExecution,
    PendingEvent,
    ProcessContext,
    Processed,
    RegisterCallback,
    RequestInvoke,
    StartTimer,
)
from async_durable_execution_runner._service.checkpoint.processors.wait import complete_wait
from async_durable_execution_runner._service.clock import Clock, VirtualClock
from async_durable_execution_runner._service.execution import (
    ClosedByCheckpoint,
    Execution,
    ExecutionStatus,
)
from async_durable_execution_runner._service.faults import FaultHooks, NoFaults
from async_durable_execution_runner._service.history import History
from async_durable_execution_runner._service.interleaving import Interleaving, NoInterleaving
from async_durable_execution_runner._service.invocation import (
    InvocationOutcome,
    InvocationRequest,
    Invoker,
)
from async_durable_execution_runner._service.observer import ExecutionNotifier, InvocationInfo
from async_durable_execution_runner._service.scheduler import (
    DueItem,
    DueKind,
    EarliestFirst,
    Scheduler,
    SchedulerPolicy,
)
from async_durable_execution_runner._service.session import InvocationSession
from async_durable_execution_runner._service.tokens import check_token
from async_durable_execution_runner.errors import (
    CallbackTimeoutException,
    InvalidParameterValueException,
    ResourceNotFoundException,
)

_NAMESPACE = uuid.UUID("6f1c1f0e-5a4e-4d7b-9a43-3d1f0d7e2b10")
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
#: Operations per page of ``InitialExecutionState`` / ``GetDurableExecutionState``.
DEFAULT_PAGE_SIZE = 1000
#: SendDurableExecutionCallbackSuccess's ``Result`` (botocore: ``BinaryOperationPayload`` max).
MAX_CALLBACK_RESULT_BYTES = 262_144


@dataclasses.dataclass(frozen=True, slots=True)
class InvokeResult:
    """A canned outcome for a chained invoke of a function the test does not run.

    ``status`` is how the invoked execution ended: ``SUCCEEDED`` (with ``result``, JSON text),
    ``FAILED`` (with ``error``), ``TIMED_OUT`` or ``STOPPED``.
    """

    result: str | None = None
    error: ErrorObject | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        allowed = {None, "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"}
        if self.status not in allowed:
            msg = (
                "InvokeResult.status must be one of SUCCEEDED, FAILED, TIMED_OUT, STOPPED; "
                f"got {self.status!r}"
            )
            raise ValueError(msg)

    @property
    def execution_status(self) -> ExecutionStatus | None:
        return ExecutionStatus(self.status) if self.status in ("TIMED_OUT", "STOPPED") else None


class SandboxPolicy:
    """Decides whether a re-invocation lands in a warm or a cold sandbox (default: warm)."""

    def environment(self, execution_arn: str, invocation_index: int) -> str:
        return "warm"


class Executor:
    """Owns executions and drives them; the ``ExecutionObserver`` side is the notifier."""

    def __init__(
        self,
        invoker: Invoker,
        *,
        clock: Clock | None = None,
        scheduler_policy: SchedulerPolicy | None = None,
        faults: FaultHooks | None = None,
        sandbox_policy: SandboxPolicy | None = None,
        interleaving: Interleaving | None = None,
        notifier: ExecutionNotifier | None = None,
        processor: CheckpointProcessor | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT,
        max_invocation_attempts: int = 3,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.invoker = invoker
        self.clock: Clock = clock or VirtualClock()
        self.scheduler = Scheduler()
        self.policy: SchedulerPolicy = scheduler_policy or EarliestFirst()
        self.faults: FaultHooks = faults or NoFaults()
        self.sandbox_policy = sandbox_policy or SandboxPolicy()
        self.interleaving: Interleaving = interleaving or NoInterleaving()
        self.notifier = notifier or ExecutionNotifier()
        self.processor = processor or CheckpointProcessor()
        self.region = region
        self.account_id = account_id
        self.max_invocation_attempts = max_invocation_attempts
        self.page_size = page_size
        self.executions: dict[str, Execution] = {}
        self.functions: dict[
            str, object
        ] = {}  # chained-invoke targets: name -> handler key | InvokeResult
        self._by_id: dict[str, Execution] = {}
        self._callbacks: dict[str, tuple[str, str]] = {}  # callback id -> (arn, operation id)
        self._external: dict[int, Callable[[], None]] = {}
        self._dirty: dict[str, set[str]] = {}  # arn -> ops changed service-side since last response
        self.hang_reports: dict[str, str] = {}

    # --- executions -----------------------------------------------------------------

    def start_execution(
        self,
        function_name: str,
        input_payload: str | None,
        *,
        execution_name: str | None = None,
        timeout_seconds: int = 86_400,
        parent: tuple[str, str] | None = None,
    ) -> str:
        seq = len(self.executions) + 1
        name = execution_name or f"execution-{seq}"
        arn = self.execution_arn(function_name, name)
        execution_id = arn.rsplit("/", 1)[1]
        if arn in self.executions:
            msg = f"an execution named {name!r} already exists for function {function_name!r}"
            raise InvalidParameterValueException(msg)
        now = self.clock.now()
        execution = Execution(
            arn=arn,
            execution_id=execution_id,
            name=name,
            function_name=function_name,
            input_payload=input_payload,
            timeout_seconds=timeout_seconds,
            start=now,
            history=History(on_event=lambda e: self.notifier.history_event(arn, e)),
            parent=parent,
        )
        execution.operations[execution_id] = Operation(
            id=execution_id,
            type=OperationType.EXECUTION,
            status=OperationStatus.STARTED,
            start_timestamp=now,
            execution_details=ExecutionDetails(input_payload=input_payload),
        )
        self.executions[arn] = execution
        self._by_id[execution_id] = execution
        self._dirty[arn] = set()
        execution.history.append(
            EventType.EXECUTION_STARTED,
            now,
            id=execution_id,
            name=name,
            details={
                "Input": {"Payload": input_payload or "", "Truncated": False},
                "ExecutionTimeout": timeout_seconds,
            },
        )
        self.notifier.execution_started(arn)
        self.scheduler.schedule(
            now + _dt.timedelta(seconds=timeout_seconds), DueKind.EXECUTION_TIMEOUT, arn
        )
        self.scheduler.schedule(now, DueKind.INVOCATION, arn, label="start")
        return arn

    def execution_arn(self, function_name: str, execution_name: str) -> str:
        """The ARN an execution of that name gets (deterministic: ids never come from chance)."""
        execution_id = str(uuid.uuid5(_NAMESPACE, f"{function_name}/{execution_name}"))
        return (
            f"arn:aws:lambda:{self.region}:{self.account_id}:function:{function_name}:$LATEST"
            f"/durable-execution/{execution_name}/{execution_id}"
        )

    def get(self, arn: str) -> Execution:
        execution = self.executions.get(arn)
        if execution is None:
            msg = f"no durable execution with ARN {arn!r} exists in this runner"
            raise ResourceNotFoundException(msg)
        return execution

    def stop_execution(self, arn: str, error: ErrorObject | None = None) -> _dt.datetime:
        execution = self.get(arn)
        if not execution.is_open:
            msg = (
                f"execution {arn} already ended with status {execution.status.value}; "
                "only a RUNNING execution can be stopped"
            )
            raise InvalidParameterValueException(msg)
        stop_error = error or ErrorObject(
            error_type="ExecutionStopped", error_message="execution stopped by request"
        )
        self._finish(execution, ExecutionStatus.STOPPED, error=stop_error)
        end = execution.end
        assert end is not None
        return end

    # --- the service API the SDK uses -----------------------------------------------

    def checkpoint(
        self, arn: str, token: str, updates: Sequence[OperationUpdate]
    ) -> tuple[str, list[Operation]]:
        """Apply a checkpoint atomically; return the new token and the changed operations."""
        execution = self.get(arn)
        self._catch_up(execution)
        try:
            if token != execution.current_token():
                # Only a bad token is parsed: to say exactly what is wrong with it.
                check_token(
                    token,
                    execution_id=execution.execution_id,
                    current_sequence=execution.token_sequence,
                )
            plan = self.processor.plan(
                operations=execution.operations,
                updates=updates,
                ctx=self._process_context(execution),
                execution_open=execution.is_open,
            )
        except InvalidParameterValueException as error:
            self.notifier.checkpoint_rejected(arn, updates, error)
            raise
        self._commit(execution, plan)
        new_token = execution.next_token()
        changed = dict.fromkeys(a.operation.id for a in plan.applied)
        changed.update(dict.fromkeys(self._dirty[arn]))
        self._dirty[arn].clear()
        return new_token, [execution.operations[i] for i in changed]

    def get_execution_state(
        self, arn: str, token: str, marker: str, max_items: int = DEFAULT_PAGE_SIZE
    ) -> tuple[list[Operation], str | None]:
        execution = self.get(arn)
        check_token(
            token, execution_id=execution.execution_id, current_sequence=execution.token_sequence
        )
        # MaxItems is an upper bound: the service's own page size caps it.
        if not 0 < max_items <= DEFAULT_PAGE_SIZE:
            max_items = DEFAULT_PAGE_SIZE
        return self._page(execution, marker, min(max_items, self.page_size))

    def _page(
        self, execution: Execution, marker: str | None, max_items: int
    ) -> tuple[list[Operation], str | None]:
        ops = list(execution.operations.values())
        try:
            start = int(marker) if marker else 0
        except ValueError:
            start = -1
        if not 0 <= start <= len(ops):
            msg = f"Marker {marker!r} is not one this service returned for {execution.arn}"
            raise InvalidParameterValueException(msg)
        if not 0 < max_items <= DEFAULT_PAGE_SIZE:
            max_items = DEFAULT_PAGE_SIZE
        end = start + max_items
        return ops[start:end], (str(end) if end < len(ops) else None)

    # --- callbacks --------------------------------------------------------------------

    def _callback(self, callback_id: str) -> tuple[Execution, Operation]:
        where = self._callbacks.get(callback_id)
        if where is None:
            msg = (
                f"no callback with id {callback_id!r} exists; use the CallbackId from the "
                "CallbackStarted event"
            )
            raise ResourceNotFoundException(msg)
        execution = self.executions[where[0]]
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

    def send_callback_success(self, callback_id: str, result: str | None) -> None:
        size = len(result.encode()) if result is not None else 0
        if size > MAX_CALLBACK_RESULT_BYTES:
            msg = (
                f"the callback result is {size} bytes, over the {MAX_CALLBACK_RESULT_BYTES}-byte "
                "limit for SendDurableExecutionCallbackSuccess's Result"
            )
            raise InvalidParameterValueException(msg)
        execution, op = self._callback(callback_id)
        details = dataclasses.replace(_cb_details(op), result=result)
        self._service_transition(
            execution,
            dataclasses.replace(
                op,
                status=OperationStatus.SUCCEEDED,
                end_timestamp=self.clock.now(),
                callback_details=details,
            ),
            PendingEvent(EventType.CALLBACK_SUCCEEDED, {"Result": event_result(result)}),
        )

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None) -> None:
        execution, op = self._callback(callback_id)
        details = dataclasses.replace(_cb_details(op), error=error)
        self._service_transition(
            execution,
            dataclasses.replace(
                op,
                status=OperationStatus.FAILED,
                end_timestamp=self.clock.now(),
                callback_details=details,
            ),
            PendingEvent(EventType.CALLBACK_FAILED, {"Error": event_error(error)}),
        )

    def send_callback_heartbeat(self, callback_id: str) -> None:
        execution, op = self._callback(callback_id)
        self.scheduler.cancel_where(execution.arn, op.id, {DueKind.CALLBACK_HEARTBEAT})
        seconds = self._heartbeat_seconds(execution, op)
        if seconds:
            self.scheduler.schedule(
                self.clock.now() + _dt.timedelta(seconds=seconds),
                DueKind.CALLBACK_HEARTBEAT,
                execution.arn,
                op.id,
            )

    def time_out_callback(self, callback_id: str, *, heartbeat: bool = False) -> None:
        """Time the callback out now, as its timer would (used by timers and fault plans)."""
        execution, op = self._callback(callback_id)
        self._time_out(execution, op, heartbeat=heartbeat)

    def _time_out(self, execution: Execution, op: Operation, *, heartbeat: bool) -> None:
        error = ErrorObject(
            error_type="Callback.Heartbeat" if heartbeat else "Callback.Timeout",
            error_message="callback heartbeat timed out" if heartbeat else "callback timed out",
        )
        self._service_transition(
            execution,
            dataclasses.replace(
                op,
                status=OperationStatus.TIMED_OUT,
                end_timestamp=self.clock.now(),
                callback_details=dataclasses.replace(_cb_details(op), error=error),
            ),
            PendingEvent(EventType.CALLBACK_TIMED_OUT, {"Error": event_error(error)}),
        )

    def _heartbeat_seconds(self, execution: Execution, op: Operation) -> int:
        for event in execution.events:
            if event.id == op.id and event.event_type is EventType.CALLBACK_STARTED:
                return int(event.details.get("HeartbeatTimeout") or 0)
        return 0

    def callback_ids(self, arn: str) -> dict[str, str]:
        """Callback id -> operation id, for one execution."""
        return dict(self.get(arn).callbacks)

    # --- driving ---------------------------------------------------------------------

    def schedule_external(
        self, action: Callable[[], None], arn: str, *, delay: float = 0.0, label: str = ""
    ) -> DueItem:
        """Run ``action`` on the runner's clock, ``delay`` seconds from now."""
        item = self.scheduler.schedule(
            self.clock.now() + _dt.timedelta(seconds=delay), DueKind.EXTERNAL, arn, label=label
        )
        self._external[item.seq] = action
        return item

    def run_until(
        self,
        done: Callable[[], bool],
        *,
        wall_deadline: float | None = None,
        allow_time: bool = True,
        limit: _dt.datetime | None = None,
    ) -> bool:
        """Deliver due items until ``done()``; ``False`` if it never became true.

        ``wall_deadline`` is a ``time.monotonic()`` instant; virtual time is unaffected by it.
        """
        while not done():
            if wall_deadline is not None and time.monotonic() >= wall_deadline:
                return False
            item = self._next_item(allow_time, wall_deadline, limit)
            if item is None:
                return done()
            self._deliver(item, wall_deadline)
        return True

    def _next_item(
        self, allow_time: bool, wall_deadline: float | None, limit: _dt.datetime | None = None
    ) -> DueItem | None:
        now = self.clock.now()
        first = self.scheduler.next_due()
        if first is None or (limit is not None and first.due > limit):
            return None
        if first.due > now:
            if not allow_time:
                return None
            if not self.clock.is_virtual and wall_deadline is not None:
                wait = (first.due - now).total_seconds()
                if time.monotonic() + wait > wall_deadline:
                    time.sleep(max(0.0, wall_deadline - time.monotonic()))
                    return None
        horizon = max(now, first.due) + self.policy.window
        if limit is not None:
            horizon = min(horizon, max(limit, now))
        candidates = self.scheduler.due_by(horizon)
        item = self.policy.choose(candidates)
        if item not in candidates:
            msg = f"the scheduler policy chose {item!r}, which is not one of the candidates"
            raise ValueError(msg)
        self.scheduler.take(item)
        if item.due > now:
            self.clock.advance_to(item.due)
        return item

    def _deliver(self, item: DueItem, wall_deadline: float | None) -> None:
        execution = self.executions.get(item.execution_arn)
        if item.kind is DueKind.EXTERNAL:
            action = self._external.pop(item.seq)
            action()
            return
        if execution is None or not execution.is_open:
            return
        if item.kind is DueKind.INVOCATION:
            self._invoke(execution, wall_deadline)
        elif item.kind is DueKind.WAIT:
            op = execution.operations.get(item.operation_id or "")
            if op is not None and op.status is OperationStatus.STARTED:
                self._apply_processed(execution, complete_wait(op, self.clock.now()))
        elif item.kind is DueKind.RETRY:
            op = execution.operations.get(item.operation_id or "")
            if op is not None and op.status is OperationStatus.PENDING:
                # READY is not an event: the next attempt's StepStarted is.
                self._apply_processed(
                    execution, Processed(dataclasses.replace(op, status=OperationStatus.READY))
                )
        elif item.kind in (DueKind.CALLBACK_TIMEOUT, DueKind.CALLBACK_HEARTBEAT):
            op = execution.operations.get(item.operation_id or "")
            if op is not None and op.status is OperationStatus.STARTED:
                self._time_out(execution, op, heartbeat=item.kind is DueKind.CALLBACK_HEARTBEAT)
        elif item.kind is DueKind.EXECUTION_TIMEOUT:
            error = ErrorObject(
                error_type="Execution.TimedOut",
                error_message=f"execution exceeded its timeout of {execution.timeout_seconds}s",
            )
            self._finish(execution, ExecutionStatus.TIMED_OUT, error=error)

    def _catch_up(self, execution: Execution) -> None:
        """Fire the execution's timers that are due now (they fell due while the handler waited
        in-process, or a scheduler policy delivered something else first): the service's state
        is never behind its own clock when it answers (or invokes) the handler."""
        now = self.clock.now()
        first = self.scheduler.next_due()
        if first is None or first.due > now:
            return
        kinds = {DueKind.WAIT, DueKind.RETRY, DueKind.CALLBACK_TIMEOUT, DueKind.CALLBACK_HEARTBEAT}
        for item in self.scheduler.due_by(now):
            if item.execution_arn == execution.arn and item.kind in kinds:
                self.scheduler.take(item)
                self._deliver(item, None)

    def _wake(self, execution: Execution) -> None:
        """Something the execution waits on changed: make sure the handler runs again."""
        if not execution.is_open:
            return
        if execution.invocation_active:
            execution.wakeup_pending = True
            return
        if self.scheduler.has_pending(execution.arn, DueKind.INVOCATION):
            return
        self.scheduler.schedule(self.clock.now(), DueKind.INVOCATION, execution.arn, label="resume")

    # --- invocations -----------------------------------------------------------------

    def _invoke(self, execution: Execution, wall_deadline: float | None) -> None:
        self._catch_up(execution)
        # Catching up may have asked for an invocation: this is it.
        self.scheduler.cancel_where(execution.arn, kinds={DueKind.INVOCATION})
        index = len(execution.invocations) + 1
        token = execution.next_token()
        request_id = str(uuid.uuid5(_NAMESPACE, f"{execution.arn}#{index}"))
        environment = self.sandbox_policy.environment(execution.arn, index)
        info = InvocationInfo(
            execution_arn=execution.arn,
            index=index,
            request_id=request_id,
            start=self.clock.now(),
            environment=environment,
        )
        execution.invocations.append(info)
        execution.invocation_active = True
        execution.wakeup_pending = False
        self._dirty[execution.arn].clear()
        self.notifier.invocation_started(info)
        page_size = self.interleaving.page_size(execution.arn, index) or self.page_size
        operations, marker = self._page(execution, None, page_size)
        holder: list[InvocationRequest] = []
        session = InvocationSession(
            self,
            execution.arn,
            index,
            self.faults,
            self.interleaving,
            on_duplicate=lambda: self._deliver_duplicate(execution, holder[0]),
        )
        request = InvocationRequest(
            execution_arn=execution.arn,
            function_name=execution.function_name,
            checkpoint_token=token,
            operations=tuple(operations),
            next_marker=marker or "",
            session=session,
            request_id=request_id,
            environment=environment,
            wall_timeout=(
                max(0.0, wall_deadline - time.monotonic()) if wall_deadline is not None else None
            ),
        )
        holder.append(request)
        try:
            outcome = self.invoker.invoke(request)
        finally:
            execution.invocation_active = False
        if outcome.hung:
            session.abandoned = True
        if outcome.status is not None and self.faults.on_invocation_returned(info):
            outcome = InvocationOutcome(
                status=None,
                death=ErrorObject(
                    error_type="Runtime.ResponseLost",
                    error_message="the invocation's response never reached the service",
                ),
            )
        self._complete_invocation(execution, info, outcome)

    def _deliver_duplicate(self, execution: Execution, original: InvocationRequest) -> None:
        """Deliver ``original`` again (same token, same state) while it is still running.

        Only the holder of the current token can change anything, so the duplicate's
        checkpoints bounce with stale-token errors; its response is recorded, not acted on.
        """
        index = len(execution.invocations) + 1
        info = InvocationInfo(
            execution_arn=execution.arn,
            index=index,
            request_id=original.request_id,
            start=self.clock.now(),
            environment="duplicate",
        )
        execution.invocations.append(info)
        self.notifier.invocation_started(info)
        session = InvocationSession(self, execution.arn, index, NoFaults(), self.interleaving)
        outcome = self.invoker.invoke(dataclasses.replace(original, session=session))
        self._record_invocation_end(execution, info, outcome)

    def _record_invocation_end(
        self, execution: Execution, info: InvocationInfo, outcome: InvocationOutcome
    ) -> None:
        """``InvocationCompleted`` (with the error Lambda records for a failed invocation)."""
        end = self.clock.now()
        error = outcome.death
        details: dict[str, Any] = {
            "StartTimestamp": info.start,
            "EndTimestamp": end,
            "RequestId": info.request_id,
        }
        if error is not None:
            details["Error"] = event_error(error)
        reported = error or outcome.error or ErrorObject()
        done = dataclasses.replace(
            info,
            end=end,
            status=outcome.status,
            error_type=reported.error_type,
            error_message=reported.error_message,
        )
        execution.invocations[info.index - 1] = done
        if execution.is_open:
            execution.history.append(EventType.INVOCATION_COMPLETED, end, details=details)
        self.notifier.invocation_completed(done)

    def _complete_invocation(
        self, execution: Execution, info: InvocationInfo, outcome: InvocationOutcome
    ) -> None:
        self._record_invocation_end(execution, info, outcome)
        error = outcome.death
        if not execution.is_open:
            return
        if outcome.hung:
            self.hang_reports[execution.arn] = (error.error_message if error else None) or "hung"
            self._finish(execution, ExecutionStatus.STOPPED, error=error)
            return
        if outcome.fatal:
            self._finish(execution, ExecutionStatus.FAILED, error=error)
            return
        closed = execution.closed_by_checkpoint
        if outcome.status == "SUCCEEDED":
            result = outcome.result
            if not result and closed is not None and closed.succeeded:
                result = closed.result
            self._finish(execution, ExecutionStatus.SUCCEEDED, result=result)
        elif outcome.status == "FAILED":
            failure = outcome.error
            if failure is None and closed is not None and not closed.succeeded:
                failure = closed.error
            self._finish(execution, ExecutionStatus.FAILED, error=failure)
        elif outcome.status == "PENDING":
            execution.consecutive_failed_invocations = 0
            # The service invokes on events (timers, callbacks, invoke results), never on
            # state: a READY step the handler no longer asks for must not re-invoke forever.
            if execution.wakeup_pending:
                self._wake(execution)
        else:
            # The invocation died: Lambda re-invokes from the last acknowledged checkpoint.
            execution.consecutive_failed_invocations += 1
            if execution.consecutive_failed_invocations >= self.max_invocation_attempts:
                self._finish(execution, ExecutionStatus.FAILED, error=error)
            else:
                self._wake(execution)

    # --- commits ---------------------------------------------------------------------

    def _process_context(self, execution: Execution) -> ProcessContext:
        return ProcessContext(
            now=self.clock.now(),
            execution_arn=execution.arn,
            execution_id=execution.execution_id,
            new_callback_id=lambda op_id: _callback_id(execution.execution_id, op_id),
        )

    def _commit(self, execution: Execution, plan: CheckpointPlan) -> None:
        now = self.clock.now()
        for applied in plan.applied:
            op = applied.operation
            execution.operations[op.id] = op
            for pending in applied.events:
                self._append_event(execution, op, pending, now)
        for effect in plan.effects:
            self._apply_effect(execution, effect)
        for applied in plan.applied:
            self.notifier.update_accepted(
                execution.arn, applied.update, applied.previous, applied.operation
            )

    def _append_event(
        self, execution: Execution, op: Operation, pending: PendingEvent, now: _dt.datetime
    ) -> Event:
        details = pending.details
        if pending.event_type is EventType.CHAINED_INVOKE_STARTED:
            # The service names the execution it starts for the invoke in the started event.
            function = _function_key(str(details.get("FunctionName", "")))
            details = {
                **details,
                "DurableExecutionArn": self.execution_arn(function, _child_name(execution, op.id)),
                "ExecutedVersion": "$LATEST",
            }
        return execution.history.append(
            pending.event_type,
            now,
            id=op.id,
            name=op.name,
            parent_id=op.parent_id,
            sub_type=op.sub_type,
            details=details,
        )

    def _apply_processed(self, execution: Execution, processed: Processed) -> None:
        """A change the service makes by itself (timer, callback, invoke result)."""
        op = processed.operation
        execution.operations[op.id] = op
        self._dirty[execution.arn].add(op.id)
        now = self.clock.now()
        for pending in processed.events:
            self._append_event(execution, op, pending, now)
        self._wake(execution)

    def _service_transition(self, execution: Execution, op: Operation, event: PendingEvent) -> None:
        self.scheduler.cancel_where(
            execution.arn,
            op.id,
            {DueKind.CALLBACK_TIMEOUT, DueKind.CALLBACK_HEARTBEAT},
        )
        self._apply_processed(execution, Processed(op, (event,)))

    def _apply_effect(self, execution: Execution, effect: object) -> None:
        if isinstance(effect, StartTimer):
            self.scheduler.schedule(
                effect.due, DueKind(effect.kind), execution.arn, effect.operation_id
            )
        elif isinstance(effect, CancelTimers):
            self.scheduler.cancel_where(execution.arn, effect.operation_id)
        elif isinstance(effect, CloseExecution):
            execution.closed_by_checkpoint = ClosedByCheckpoint(
                effect.succeeded, effect.result, effect.error
            )
        elif isinstance(effect, RegisterCallback):
            execution.callbacks[effect.callback_id] = effect.operation_id
            self._callbacks[effect.callback_id] = (execution.arn, effect.operation_id)
        elif isinstance(effect, RequestInvoke):
            self._start_chained_invoke(execution, effect)
        elif isinstance(effect, CancelInvoke):
            for child in self.executions.values():
                if child.parent == (execution.arn, effect.operation_id) and child.is_open:
                    self._finish(child, ExecutionStatus.STOPPED, error=None, notify_parent=False)

    # --- chained invokes ---------------------------------------------------------------

    def _start_chained_invoke(self, execution: Execution, effect: RequestInvoke) -> None:
        target = self.functions.get(_function_key(effect.function_name))
        override = getattr(self.faults, "on_chained_invoke", None)
        canned = (
            override(execution.arn, effect.operation_id, effect.function_name) if override else None
        )
        if isinstance(canned, InvokeResult):
            target = canned
        parent = (execution.arn, effect.operation_id)
        if isinstance(target, InvokeResult):
            self.schedule_external(
                lambda: self._complete_invoke(
                    parent, target.result, target.error, target.execution_status
                ),
                execution.arn,
                label=f"invoke {effect.function_name}",
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
            self.schedule_external(
                lambda: self._complete_invoke(parent, None, error, None),
                execution.arn,
                label=f"invoke {effect.function_name}",
            )
            return
        self.start_execution(
            _function_key(effect.function_name),
            effect.payload,
            execution_name=_child_name(execution, effect.operation_id),
            parent=parent,
        )

    def _complete_invoke(
        self,
        parent: tuple[str, str],
        result: str | None,
        error: ErrorObject | None,
        status: ExecutionStatus | None,
    ) -> None:
        execution = self.executions.get(parent[0])
        if execution is None or not execution.is_open:
            return
        op = execution.operations.get(parent[1])
        if op is None or op.status is not OperationStatus.STARTED:
            return
        if status is ExecutionStatus.TIMED_OUT:
            new_status, event = OperationStatus.TIMED_OUT, EventType.CHAINED_INVOKE_TIMED_OUT
        elif status is ExecutionStatus.STOPPED:
            new_status, event = OperationStatus.STOPPED, EventType.CHAINED_INVOKE_STOPPED
        elif error is not None:
            new_status, event = OperationStatus.FAILED, EventType.CHAINED_INVOKE_FAILED
        else:
            new_status, event = OperationStatus.SUCCEEDED, EventType.CHAINED_INVOKE_SUCCEEDED
        details = (
            {"Result": event_result(result)}
            if new_status is OperationStatus.SUCCEEDED
            else {"Error": event_error(error)}
        )
        self._apply_processed(
            execution,
            Processed(
                dataclasses.replace(
                    op,
                    status=new_status,
                    end_timestamp=self.clock.now(),
                    chained_invoke_details=ChainedInvokeDetails(result=result, error=error),
                ),
                (PendingEvent(event, details),),
            ),
        )

    # --- endings ---------------------------------------------------------------------

    def _finish(
        self,
        execution: Execution,
        status: ExecutionStatus,
        *,
        result: str | None = None,
        error: ErrorObject | None = None,
        notify_parent: bool = True,
    ) -> None:
        now = self.clock.now()
        execution.status = status
        execution.result = result
        execution.error = error
        execution.end = now
        exec_op = execution.operations[execution.execution_id]
        op_status = {
            ExecutionStatus.SUCCEEDED: OperationStatus.SUCCEEDED,
            ExecutionStatus.FAILED: OperationStatus.FAILED,
            ExecutionStatus.TIMED_OUT: OperationStatus.TIMED_OUT,
            ExecutionStatus.STOPPED: OperationStatus.STOPPED,
        }[status]
        execution.operations[execution.execution_id] = dataclasses.replace(
            exec_op, status=op_status, end_timestamp=exec_op.end_timestamp or now
        )
        event_type, details = {
            ExecutionStatus.SUCCEEDED: (
                EventType.EXECUTION_SUCCEEDED,
                {"Result": event_result(result)},
            ),
            ExecutionStatus.FAILED: (EventType.EXECUTION_FAILED, {"Error": event_error(error)}),
            ExecutionStatus.TIMED_OUT: (
                EventType.EXECUTION_TIMED_OUT,
                {"Error": event_error(error)},
            ),
            ExecutionStatus.STOPPED: (EventType.EXECUTION_STOPPED, {"Error": event_error(error)}),
        }[status]
        execution.history.append(
            event_type, now, id=execution.execution_id, name=execution.name, details=details
        )
        self.scheduler.cancel_where(execution.arn)
        self.notifier.execution_completed(execution.arn, status.value)
        if notify_parent and execution.parent is not None:
            self._complete_invoke(execution.parent, result, error, status)

    # --- queries ---------------------------------------------------------------------

    def history(self, arn: str) -> tuple[Event, ...]:
        return self.get(arn).events

    def pending_items(self, arn: str | None = None) -> list[DueItem]:
        return self.scheduler.pending(arn)

    def children_of(self, arn: str) -> Iterable[Execution]:
        """The executions started by ``arn``'s chained invokes."""
        return (e for e in self.executions.values() if e.parent is not None and e.parent[0] == arn)


def _cb_details(op: Operation) -> Any:
    assert op.callback_details is not None
    return op.callback_details


def _callback_id(execution_id: str, operation_id: str) -> str:
    """Callback ids as the service makes them: opaque base64 text."""
    import base64

    raw = f"{execution_id}:{operation_id}".encode()
    return base64.b64encode(raw).decode()


def _child_name(execution: Execution, operation_id: str) -> str:
    return f"{execution.name}-{operation_id[:12]}"


def _function_key(function_name: str) -> str:
    """The function's short name, whether given as a name or as an ARN."""
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        return parts[6] if len(parts) > 6 else function_name
    return function_name.split(":", maxsplit=1)[0]
