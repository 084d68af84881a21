"""The service emulator: one object that owns executions and drives them.

``Executor`` assembles the parts of the service (each in its own module) and runs the loop
that delivers due items:

- ``state``: the stored executions and what every part shares (clock, timers, observers);
- ``lifecycle``: executions start and end;
- ``commits``: the checkpoint API, its validation, commit and effects;
- ``callbacks``: callback ids and the callback API;
- ``chained``: chained invokes;
- ``timers``: waits, retries, time-outs and scheduled actions;
- ``invocations``: invoking the handler and acting on the outcome (and hang reports).

Single-threaded and deterministic: nothing happens unless ``run_until`` delivers the next due
item. With the virtual clock, time jumps to the next deadline only when nothing is due and
the caller allows time to pass; so a test that is about to send a callback never sees time
move behind its back.
"""

from __future__ import annotations

import datetime as _dt
import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from async_durable_execution_runner._models import ErrorObject, Event, Operation, OperationUpdate
from async_durable_execution_runner._service.callbacks import Callbacks
from async_durable_execution_runner._service.chained import ChainedInvokes
from async_durable_execution_runner._service.checkpoint.processor import CheckpointProcessor
from async_durable_execution_runner._service.clock import VirtualClock, real_monotonic
from async_durable_execution_runner._service.commits import Commits
from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.invocation import Abandoned, Invoker
from async_durable_execution_runner._service.invocations import Invocations
from async_durable_execution_runner._service.lifecycle import Lifecycle
from async_durable_execution_runner._service.names import DEFAULT_ACCOUNT, DEFAULT_REGION
from async_durable_execution_runner._service.observer import ExecutionNotifier
from async_durable_execution_runner._service.scheduler import DueItem, DueKind, EarliestFirst
from async_durable_execution_runner._service.seams import (
    Clock,
    FaultHooks,
    Interleaving,
    InvokeResult,
    NoFaults,
    NoInterleaving,
    SandboxPolicy,
    SchedulerPolicy,
)
from async_durable_execution_runner._service.state import DEFAULT_PAGE_SIZE, ServiceState
from async_durable_execution_runner._service.timers import Timers

# The defaults hold nothing that changes (the processor's validators and processors are set
# when it is built and only read after; the others have no attributes at all, ``__slots__``
# says so): one of each serves every executor, instead of five objects (and the processor's
# four) built and freed per runner, and a runner per execution is the common pattern.
_PROCESSOR = CheckpointProcessor()
_EARLIEST_FIRST = EarliestFirst()
_NO_FAULTS = NoFaults()
_NO_INTERLEAVING = NoInterleaving()
_WARM_SANDBOXES = SandboxPolicy()
_EXTERNAL = DueKind.EXTERNAL
_INVOCATION = DueKind.INVOCATION


class Executor:
    """Owns executions and drives them; the ``ExecutionObserver`` side is the notifier."""

    # Defaults that only a drive changes: read from the class until then (one executor per
    # runner, and commonly a runner per execution).
    #: The thread running the loop (``run_until``) right now, if any. Scheduled actions
    #: and observers run there while the thread that asked waits.
    driving_thread: int | None = None
    _drive_ticket: object | None = None

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
        self.state = state = ServiceState(
            clock or VirtualClock(),
            notifier or ExecutionNotifier(),
            region=region,
            account_id=account_id,
            page_size=page_size,
        )
        # ``policy``'s setter's work, without the call.
        self._policy: SchedulerPolicy = scheduler_policy or _EARLIEST_FIRST
        self._earliest_first = type(self._policy) is EarliestFirst
        # What the loop reads for every item, held: the state keeps its clock, scheduler and
        # executions dict for its lifetime.
        self._clock = state.clock
        self._scheduler = state.scheduler
        self._executions = state.executions
        faults = faults or _NO_FAULTS
        interleaving = interleaving or _NO_INTERLEAVING
        self.lifecycle = Lifecycle(state)
        self.callbacks = Callbacks(state)
        # The parts refer to each other through bound methods, never through closures over
        # the executor: no reference cycle keeps a finished runner's executions alive until
        # the garbage collector finds them.
        self.timers = Timers(
            state,
            time_out_callback=self.callbacks.time_out,
            time_out_execution=self.lifecycle.time_out,
        )
        self.chained = ChainedInvokes(state, self.lifecycle, faults, self.timers.schedule_external)
        self.commits = Commits(
            state,
            processor or _PROCESSOR,
            catch_up=self.timers.catch_up,
            register_callback=self.callbacks.register,
            start_invoke=self.chained.start,
            cancel_invoke=self.chained.cancel,
        )
        self.invocations = Invocations(
            state,
            self.lifecycle,
            invoker,
            faults=faults,
            interleaving=interleaving,
            sandbox_policy=sandbox_policy or _WARM_SANDBOXES,
            catch_up=self.timers.catch_up,
            page=self.commits.page,
            api=self.commits,
            max_attempts=max_invocation_attempts,
        )

    # --- configuration ------------------------------------------------------------------

    @property
    def policy(self) -> SchedulerPolicy:
        return self._policy

    @policy.setter
    def policy(self, policy: SchedulerPolicy) -> None:
        self._policy = policy
        # The service's own order needs no candidates: the earliest item is the heap's top.
        self._earliest_first = type(policy) is EarliestFirst

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def notifier(self) -> ExecutionNotifier:
        return self.state.notifier

    @property
    def executions(self) -> dict[str, Execution]:
        return self.state.executions

    @property
    def functions(self) -> dict[str, str | InvokeResult]:
        """Chained-invoke targets: function name -> handler key or canned ``InvokeResult``."""
        return self.chained.functions

    @property
    def invoker(self) -> Invoker:
        return self.invocations.invoker

    @invoker.setter
    def invoker(self, invoker: Invoker) -> None:
        self.invocations.invoker = invoker

    @property
    def page_size(self) -> int:
        """Operations per page of state (at most ``DEFAULT_PAGE_SIZE``)."""
        return self.state.page_size

    @page_size.setter
    def page_size(self, size: int) -> None:
        self.state.page_size = size

    # --- executions -----------------------------------------------------------------------

    def start_execution(
        self,
        function_name: str,
        input_payload: str | None,
        *,
        execution_name: str | None = None,
        timeout_seconds: int = 86_400,
        parent: tuple[str, str] | None = None,
    ) -> str:
        return self.lifecycle.start(
            function_name,
            input_payload,
            execution_name=execution_name,
            timeout_seconds=timeout_seconds,
            parent=parent,
        )

    def execution_arn(self, function_name: str, execution_name: str) -> str:
        """The ARN an execution of that name gets (deterministic: ids never come from chance)."""
        return self.state.execution_arn(function_name, execution_name)

    def get(self, arn: str) -> Execution:
        return self.state.get(arn)

    def stop_execution(self, arn: str, error: ErrorObject | None = None) -> _dt.datetime:
        return self.lifecycle.stop(arn, error)

    # --- the service API the SDK uses -------------------------------------------------------

    def checkpoint(
        self,
        arn: str,
        token: str,
        updates: Sequence[OperationUpdate],
        client_token: str | None = None,
    ) -> tuple[str, list[Operation]]:
        """Apply a checkpoint atomically (once per ``client_token``); return the new token
        and the changed operations."""
        return self.commits.checkpoint(arn, token, updates, client_token)

    def get_execution_state(
        self, arn: str, token: str, marker: str, max_items: int = DEFAULT_PAGE_SIZE
    ) -> tuple[list[Operation], str | None]:
        return self.commits.get_execution_state(arn, token, marker, max_items)

    # --- the callback API -------------------------------------------------------------------

    def send_callback_success(self, callback_id: str, result: str | None) -> None:
        self.callbacks.succeed(callback_id, result)

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None) -> None:
        self.callbacks.fail(callback_id, error)

    def send_callback_heartbeat(self, callback_id: str) -> None:
        self.callbacks.heartbeat(callback_id)

    def time_out_callback(self, callback_id: str, *, heartbeat: bool = False) -> None:
        """Time the callback out now, as its timer would (used by timers and fault plans)."""
        self.callbacks.time_out_by_id(callback_id, heartbeat=heartbeat)

    def callback_ids(self, arn: str) -> dict[str, str]:
        """Callback id -> operation id, for one execution."""
        return self.callbacks.ids(arn)

    # --- driving ----------------------------------------------------------------------------

    def schedule_external(
        self, action: Callable[[], None], arn: str, *, delay: float = 0.0, label: str = ""
    ) -> DueItem:
        """Run ``action`` on the runner's clock, ``delay`` seconds from now."""
        return self.timers.schedule_external(action, arn, delay=delay, label=label)

    def take_hang_report(self, arn: str) -> str | None:
        """Why ``arn``'s last invocation was abandoned as hung, once (``None`` if it was not)."""
        return self.invocations.take_hang_report(arn)

    def run_until(
        self,
        done: Callable[[], bool],
        *,
        wall_deadline: float | None = None,
        allow_time: bool = True,
        limit: _dt.datetime | None = None,
    ) -> bool:
        """Deliver due items until ``done()``; ``False`` if it never became true.

        ``wall_deadline`` is a ``real_monotonic()`` instant; virtual time is unaffected by it.
        An invoker that can drive (the in-process one) runs this loop on the thread its
        invocations run on (this one, or a worker while this one waits), so that each
        invocation is not a thread hand-off of its own; an invocation that hangs past
        ``wall_deadline`` comes back ``Abandoned``.
        """

        # A partial, not a closure: called through C, one Python frame fewer per drive.
        loop = functools.partial(self._run_until, done, wall_deadline, allow_time, limit)
        drive = getattr(self.invocations.invoker, "drive", None)
        if drive is None or self.driving_thread is not None:
            # Not a driver, or called from inside the loop (a scheduled action): run here.
            return loop()
        outcome: bool | Abandoned = drive(loop, wall_deadline)
        if isinstance(outcome, Abandoned):
            self.invocations.abandon(outcome)
            return done()
        return outcome

    def _run_until(
        self,
        done: Callable[[], bool],
        wall_deadline: float | None,
        allow_time: bool,
        limit: _dt.datetime | None,
    ) -> bool:
        ticket = object()
        previous = self.driving_thread, self._drive_ticket
        self.driving_thread, self._drive_ticket = threading.get_ident(), ticket
        try:
            while not done():
                if wall_deadline is not None and real_monotonic() >= wall_deadline:
                    return False
                item = self._next_item(allow_time, wall_deadline, limit)
                if item is None:
                    return done()
                self._deliver(item, wall_deadline)
            return True
        finally:
            # An abandoned drive unwinds late, after another has started: leave that one be.
            if self._drive_ticket is ticket:
                self.driving_thread, self._drive_ticket = previous

    def _next_item(
        self, allow_time: bool, wall_deadline: float | None, limit: _dt.datetime | None = None
    ) -> DueItem | None:
        clock = self._clock
        scheduler = self._scheduler
        now = clock.now()
        first = scheduler.next_due()
        if first is None:
            return None
        due = first.due
        if limit is not None and due > limit:
            return None
        if due > now:
            if not allow_time:
                return None
            if not clock.is_virtual and wall_deadline is not None:
                wait = (due - now).total_seconds()
                if real_monotonic() + wait > wall_deadline:
                    time.sleep(max(0.0, wall_deadline - real_monotonic()))
                    return None
        if self._earliest_first:
            # Nothing above touched the scheduler since ``next_due`` answered ``first``.
            scheduler.take_next(first)
            if due > now:
                clock.advance_to(due)
            return first
        policy = self._policy
        end_travel = self.invocations.end_travel
        if end_travel is not None:
            end_travel()  # the policy is the test's code (see ``_deliver``)
        horizon = max(now, due) + policy.window
        if limit is not None:
            horizon = min(horizon, max(limit, now))
        candidates = scheduler.due_by(horizon)
        item = policy.choose(candidates)
        if item not in candidates:
            msg = f"the scheduler policy chose {item!r}, which is not one of the candidates"
            raise ValueError(msg)
        scheduler.take(item)
        if item.due > now:
            clock.advance_to(item.due)
        return item

    def _deliver(self, item: DueItem, wall_deadline: float | None) -> None:
        kind = item.kind
        if kind is _EXTERNAL:
            # The test's own code: it sees its own clock, not the handler's.
            end_travel = self.invocations.end_travel
            if end_travel is not None:
                end_travel()
            self.timers.run_external(item)
            return
        execution = self._executions.get(item.execution_arn)
        if execution is None or not execution.is_open:
            return
        if kind is _INVOCATION:
            self.invocations.invoke(execution, wall_deadline)
        else:
            self.timers.fire(execution, item)

    # --- queries ----------------------------------------------------------------------------

    def history(self, arn: str) -> tuple[Event, ...]:
        return self.get(arn).events

    def pending_items(self, arn: str | None = None) -> list[DueItem]:
        return self.state.scheduler.pending(arn)

    def children_of(self, arn: str) -> Iterable[Execution]:
        """The executions started by ``arn``'s chained invokes."""
        return self.state.children_of(arn)
