"""Invocations: the service invokes the handler, records how each invocation ended, and
decides what follows (the execution ends, the handler is re-invoked, or it waits)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
from collections.abc import Callable
from typing import Any

from async_durable_execution_runner._models import (
    ErrorObject,
    EventType,
    Operation,
)
from async_durable_execution_runner._models._frozen import maker, replace
from async_durable_execution_runner._models.events import event_error
from async_durable_execution_runner._service.clock import real_monotonic
from async_durable_execution_runner._service.deliveries import Delivery
from async_durable_execution_runner._service.execution import Execution, ExecutionStatus
from async_durable_execution_runner._service.invocation import (
    SANDBOX_ENDING_ERRORS,
    Abandoned,
    ColdStarter,
    InvocationOutcome,
    InvocationRequest,
    Invoker,
    hung_outcome,
)
from async_durable_execution_runner._service.lifecycle import Lifecycle
from async_durable_execution_runner._service.names import request_id
from async_durable_execution_runner._service.scheduler import DueKind
from async_durable_execution_runner._service.seams import (
    FaultHooks,
    Interleaving,
    InvocationInfo,
    NoFaults,
    NoInterleaving,
    SandboxPolicy,
    StepAttempt,
    WrapBody,
    steers_step_attempts,
)
from async_durable_execution_runner._service.session import (
    InvocationSession,
    ServiceApi,
    session_watching,
)
from async_durable_execution_runner._service.state import ServiceState

_INVOCATIONS = frozenset({DueKind.INVOCATION})

#: ``InvocationInfo(...)`` and ``InvocationRequest(...)``, every field positional (see
#: ``maker``): built for every invocation.
_new_info = maker(InvocationInfo)
_new_request = maker(InvocationRequest)


#: A page of an execution's operations: (execution, marker, max items) -> (page, next marker).
PageCall = Callable[[Execution, str | None, int], tuple[list[Operation], str | None]]


#: A duplicate delivery's faults when the runner's faults leave step attempts alone: none (its
#: calls bounce with stale tokens anyway).
_DUPLICATE_FAULTS = NoFaults()


class _DuplicateFaults(NoFaults):
    """A duplicate delivery's faults when the runner's faults may steer step attempts. Its
    service calls bounce with stale tokens anyway: none is injected there. But a step body it
    runs is another run of an attempt the first delivery runs too, in the same world: it
    meets what the runner's faults make of that attempt (a partner that is down fails the
    duplicate's call as well), told it is a duplicate's (``StepAttempt.duplicate``)."""

    __slots__ = ("_faults",)

    def __init__(self, faults: FaultHooks) -> None:
        self._faults = faults

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        return self._faults.on_step_attempt(replace(attempt, duplicate=True))


_UNWATCHED = (False, False)


def _session_watching(faults: FaultHooks, interleaving: Interleaving) -> tuple[bool, bool]:
    """``session_watching``, answered without asking for the defaults' own classes (their
    methods are the ones it compares with)."""
    if type(faults) is NoFaults and type(interleaving) is NoInterleaving:
        return _UNWATCHED
    return session_watching(faults, interleaving)


def _deadline(request: InvocationRequest) -> float | None:
    """The ``real_monotonic()`` instant the runner stops waiting for ``request``, from now."""
    if request.wall_timeout is None:
        return None
    return real_monotonic() + request.wall_timeout


def _inherits(seam: object, name: str, default: Callable[..., object]) -> bool:
    """Whether ``seam``'s ``name`` is the default's method ``default`` (neither its class nor
    the object itself puts another in its place): then its answer is the default's."""
    if name in getattr(seam, "__dict__", ()):
        return False
    return getattr(type(seam), name, None) is default


class Invocations:
    """Runs invocations through the ``invoker`` and acts on their outcomes.

    A hung invocation stops its execution; why it hung is kept for the runner, which takes it
    with ``take_hang_report`` to raise it to the test.
    """

    def __init__(
        self,
        state: ServiceState,
        lifecycle: Lifecycle,
        invoker: Invoker,
        *,
        faults: FaultHooks,
        interleaving: Interleaving,
        sandbox_policy: SandboxPolicy,
        catch_up: Callable[[Execution], _dt.datetime],
        page: PageCall,
        api: ServiceApi,
        max_attempts: int,
    ) -> None:
        self.state = state
        self.lifecycle = lifecycle
        self.invoker = invoker
        self._faults = faults
        self._interleaving = interleaving
        self._sandbox_policy = sandbox_policy
        self._read_seams()
        self.catch_up = catch_up
        self.page = page
        self.api = api
        self.max_attempts = max_attempts
        self._hang_reports: dict[str, str] = {}
        # The invocation in progress (a duplicate delivery is recorded apart).
        self._current: tuple[InvocationRequest, Execution, InvocationInfo] | None = None
        #: Duplicate deliveries still running beside the invocation in progress (``Delivery``):
        #: their outcomes are taken when it ends.
        self._beside: list[
            tuple[Execution, InvocationInfo, InvocationRequest, Delivery[InvocationOutcome]]
        ] = []
        #: Functions whose last invocation ended its sandbox (``SANDBOX_ENDING_ERRORS``): the
        #: next one starts cold, as on Lambda, whatever the sandbox policy says.
        self._ended_sandboxes: set[str] = set()

    # Set by ``_read_seams``. ``_environment``: every invocation's sandbox (``None``: ask the
    # policy for each); ``_pages_asked``, ``_returns_heard``: whether the interleaving and the
    # faults may answer ``page_size`` and ``on_invocation_returned`` otherwise than the default.
    _watching: tuple[bool, bool]
    _environment: str | None
    _pages_asked: bool
    _returns_heard: bool
    #: Whether code of the test's may run between two invocations (a seam that is not the
    #: default): then the handler's clock is stopped as each invocation returns (see
    #: ``InProcessInvoker.end_travel``), else the drive stops it when it ends.
    _seams_between: bool

    # The seams: what each may do is worked out when it is set (``_read_seams``), not asked
    # again for every invocation.

    @property
    def faults(self) -> FaultHooks:
        return self._faults

    @faults.setter
    def faults(self, faults: FaultHooks) -> None:
        self._faults = faults
        self._read_seams()

    @property
    def interleaving(self) -> Interleaving:
        return self._interleaving

    @interleaving.setter
    def interleaving(self, interleaving: Interleaving) -> None:
        self._interleaving = interleaving
        self._read_seams()

    @property
    def sandbox_policy(self) -> SandboxPolicy:
        return self._sandbox_policy

    @sandbox_policy.setter
    def sandbox_policy(self, policy: SandboxPolicy) -> None:
        self._sandbox_policy = policy
        self._read_seams()

    def _read_seams(self) -> None:
        faults, interleaving, policy = self._faults, self._interleaving, self._sandbox_policy
        if (
            type(faults) is NoFaults
            and type(interleaving) is NoInterleaving
            and type(policy) is SandboxPolicy
        ):
            # The defaults, as most runners have them (one runner per execution is common):
            # slotted, so nothing of their own replaces their classes' methods, whose answers
            # these are.
            self._watching = _UNWATCHED
            self._environment = "warm"
            self._pages_asked = self._returns_heard = self._seams_between = False
            return
        self._seams_between = True
        # What sessions with these seams watch (see ``session_watching``).
        self._watching = _session_watching(faults, interleaving)
        self._environment = (
            "warm" if _inherits(policy, "environment", SandboxPolicy.environment) else None
        )
        self._pages_asked = not _inherits(interleaving, "page_size", NoInterleaving.page_size)
        self._returns_heard = not _inherits(
            faults, "on_invocation_returned", NoFaults.on_invocation_returned
        )

    @property
    def invoker(self) -> Invoker:
        return self._invoker

    @invoker.setter
    def invoker(self, invoker: Invoker) -> None:
        self._invoker = invoker
        # An invoker whose invocations run without the state lock (the runner's
        # ``UnlockedInvoker``) says which lock their service calls take: each session is built
        # with it, and the request handed on as it is instead of copied with a wrapped session.
        self._session_lock: Any = getattr(invoker, "session_lock", None)
        #: Stops the time travel an in-process invocation may leave running for the next.
        self.end_travel: Callable[[], None] | None = getattr(invoker, "end_travel", None)

    def take_hang_report(self, arn: str) -> str | None:
        """Why ``arn``'s invocation was abandoned as hung, once (``None`` if it was not)."""
        return self._hang_reports.pop(arn, None)

    def invoke(self, execution: Execution, wall_deadline: float | None) -> None:
        state = self.state
        arn = execution.arn
        # The invocation starts at the instant the execution is caught up to.
        now = self.catch_up(execution)
        # Catching up may have asked for an invocation: this is it.
        state.scheduler.cancel_where(arn, kinds=_INVOCATIONS)
        invocations = execution.invocations
        index = len(invocations) + 1
        token = execution.next_token()
        environment = self._environment
        if environment is None:
            environment = self._sandbox_policy.environment(arn, index)
        if self._ended_sandboxes and execution.function_name in self._ended_sandboxes:
            environment = self._after_ended_sandbox(execution.function_name, environment)
        info = _new_info(
            arn,
            index,
            request_id(arn, index),
            now,
            None,  # end, status, error type and message: known when it ends
            None,
            None,
            None,
            environment,
        )
        invocations.append(info)
        execution.invocation_active = True
        execution.wakeup_pending = False
        state.dirty[arn].clear()
        state.notifier.invocation_started(info)
        page_size = state.page_size
        if self._pages_asked:
            page_size = self._interleaving.page_size(arn, index) or page_size
        operations, marker = self.page(execution, None, page_size)
        watching = self._watching
        lock = self._session_lock
        session = InvocationSession(
            arn,
            index,
            self.api,
            state.notifier,
            self._faults,
            self._interleaving,
            watching,
            lock,
            None if lock is None else self._invoker.on_change,  # type: ignore[attr-defined]
        )
        request = _new_request(
            arn,
            execution.function_name,
            token,
            tuple(operations),
            marker or "",
            session,
            info.request_id,
            environment,
            max(0.0, wall_deadline - real_monotonic()) if wall_deadline is not None else None,
        )
        if watching[0]:
            # Only a session that describes its calls to the faults can be told to deliver a
            # duplicate (``DeliverDuplicate``).
            session.on_duplicate = functools.partial(self._deliver_duplicate, execution, request)
        self._current = (request, execution, info)
        try:
            outcome = self._invoker.invoke(request)
        finally:
            execution.invocation_active = False
            session.on_duplicate = None  # it refers to the request, which refers to the session
            if self._beside:
                # Before the handler's clock stops: a duplicate may still be reading it.
                self._end_duplicates(wait=True)
            if self._seams_between and self.end_travel is not None:
                self.end_travel()
        self._current = None
        if outcome.hung:
            session.abandoned = True
        if (
            self._returns_heard
            and outcome.status is not None
            and self._faults.on_invocation_returned(info)
        ):
            outcome = InvocationOutcome(
                status=None,
                death=ErrorObject(
                    error_type="Runtime.ResponseLost",
                    error_message="the invocation's response never reached the service",
                ),
            )
        self._complete(execution, info, outcome)

    def _after_ended_sandbox(self, function_name: str, environment: str) -> str:
        """The environment of ``function_name``'s first invocation after one that ended its
        sandbox: cold when the invoker can start one (an in-process handler must be
        importable by name to be imported afresh), else what the policy said."""
        self._ended_sandboxes.discard(function_name)
        invoker = self._invoker
        if isinstance(invoker, ColdStarter) and invoker.can_start_cold(function_name):
            return "cold"
        return environment

    def abandon(self, abandoned: Abandoned) -> None:
        """The invocation in progress hung: the driver gave up on it (and on its thread)."""
        current = self._current
        if current is None or current[0] is not abandoned.request:
            msg = f"no invocation in progress for request {abandoned.request.request_id}"
            raise RuntimeError(msg)
        self._current = None
        _, execution, info = current
        execution.invocation_active = False
        if self._beside:
            self._end_duplicates(wait=False)
        self._complete(execution, info, abandoned.outcome)

    def _deliver_duplicate(self, execution: Execution, original: InvocationRequest) -> None:
        """Deliver ``original`` again (same token, same state) while it is still running.

        Only the holder of the current token can change anything, so the duplicate's
        checkpoints bounce with stale-token errors; its response is recorded, not acted on.
        It runs on a thread of its own (a sandbox of its own, as on Lambda) while the first
        delivery waits here, in its service call, as long as the duplicate works; if the
        duplicate waits instead (maybe for a lock the first delivery holds), the first goes
        on beside it and the duplicate's outcome is taken when the first ends
        (``deliveries``).
        """
        index = len(execution.invocations) + 1
        info = InvocationInfo(
            execution_arn=execution.arn,
            index=index,
            request_id=original.request_id,
            start=self.state.clock.now(),
            environment="duplicate",
        )
        execution.invocations.append(info)
        self.state.notifier.invocation_started(info)
        interleaving = self._interleaving
        faults = (
            _DuplicateFaults(self._faults)
            if steers_step_attempts(self._faults)
            else _DUPLICATE_FAULTS
        )
        session = InvocationSession(
            execution.arn,
            index,
            self.api,
            self.state.notifier,
            faults,
            interleaving,
            _session_watching(faults, interleaving),
            self._session_lock,
            None if self._session_lock is None else self._invoker.on_change,  # type: ignore[attr-defined]
        )
        duplicate = replace(original, session=session, environment="duplicate")
        delivery: Delivery[InvocationOutcome] = Delivery(
            functools.partial(self._invoker.invoke, duplicate),
            name=f"durable-duplicate-{index}",
        )
        with self._lock_released():
            done = delivery.wait_while_busy(_deadline(duplicate))
        if done:
            self._record_end(execution, info, delivery.outcome())
        else:
            self._beside.append((execution, info, duplicate, delivery))

    def _end_duplicates(self, *, wait: bool) -> None:
        """Take the outcomes of the duplicate deliveries still running beside the invocation
        that ended: each once it returns (``wait``, until its own deadline), or as hung."""
        beside, self._beside = self._beside, []
        failure: BaseException | None = None
        for execution, info, duplicate, delivery in beside:
            if wait:
                with self._lock_released():
                    # Its invoker gives up on it at its deadline; a little later, so do we.
                    deadline = _deadline(duplicate)
                    delivery.join(None if deadline is None else deadline + 1.0)
            if delivery.done:
                try:
                    outcome = delivery.outcome()
                except BaseException as exc:  # raised once the others are taken
                    failure = failure or exc
                    continue
            else:
                duplicate.session.abandoned = True  # anything it still sends bounces
                outcome = hung_outcome(
                    duplicate, "it was still running when the delivery it duplicated ended"
                )
            self._record_end(execution, info, outcome)
        if failure is not None:
            raise failure

    def _lock_released(self) -> Any:
        """The state lock let go of while this thread waits for a duplicate delivery (which
        takes it for its service calls), if the service has one."""
        lock = self._session_lock
        return contextlib.nullcontext() if lock is None else lock.released()

    def _record_end(
        self, execution: Execution, info: InvocationInfo, outcome: InvocationOutcome
    ) -> None:
        """``InvocationCompleted`` (with the error Lambda records for a failed invocation)."""
        end = self.state.clock.now()
        error = outcome.death
        details: dict[str, Any] = {
            "StartTimestamp": info.start,
            "EndTimestamp": end,
            "RequestId": info.request_id,
        }
        if error is not None:
            details["Error"] = event_error(error)
        reported = error or outcome.error
        # Built whole rather than ``replace``d: one per invocation, and ``replace`` goes
        # through a keyword call and a conditional per field.
        done = _new_info(
            info.execution_arn,
            info.index,
            info.request_id,
            info.start,
            end,
            outcome.status,
            None if reported is None else reported.error_type,
            None if reported is None else reported.error_message,
            info.environment,
        )
        execution.invocations[info.index - 1] = done
        if execution.is_open:
            execution.history.record(
                EventType.INVOCATION_COMPLETED, end, None, None, None, None, details
            )
        self.state.notifier.invocation_completed(done)

    def _complete(
        self, execution: Execution, info: InvocationInfo, outcome: InvocationOutcome
    ) -> None:
        self._record_end(execution, info, outcome)
        error = outcome.death
        if outcome.sandbox_ended or (
            error is not None and error.error_type in SANDBOX_ENDING_ERRORS
        ):
            self._ended_sandboxes.add(execution.function_name)
        if not execution.is_open:
            return
        finish = self.lifecycle.finish
        if outcome.hung:
            self._hang_reports[execution.arn] = (error.error_message if error else None) or "hung"
            finish(execution, ExecutionStatus.STOPPED, error=error)
            return
        if outcome.fatal:
            finish(execution, ExecutionStatus.FAILED, error=error)
            return
        status = outcome.status
        if status == "PENDING":
            # First: the outcome of every invocation but an execution's last.
            execution.consecutive_failed_invocations = 0
            # The service invokes on events (timers, callbacks, invoke results), never on
            # state: a READY step the handler no longer asks for must not re-invoke forever.
            if execution.wakeup_pending:
                self.state.wake(execution)
            return
        closed = execution.closed_by_checkpoint
        if status == "SUCCEEDED":
            result = outcome.result
            if not result and closed is not None and closed.succeeded:
                result = closed.result
            finish(execution, ExecutionStatus.SUCCEEDED, result=result)
        elif status == "FAILED":
            failure = outcome.error
            if failure is None and closed is not None and not closed.succeeded:
                failure = closed.error
            finish(execution, ExecutionStatus.FAILED, error=failure)
        elif closed is not None:
            # The invocation died after the SDK had closed the execution by checkpoint (a
            # result too large to return): the outcome is durable, and a re-invocation would
            # only replay to the same end and be refused a second close.
            if closed.succeeded:
                finish(execution, ExecutionStatus.SUCCEEDED, result=closed.result)
            else:
                finish(execution, ExecutionStatus.FAILED, error=closed.error)
        else:
            # The invocation died: Lambda re-invokes from the last acknowledged checkpoint.
            execution.consecutive_failed_invocations += 1
            if execution.consecutive_failed_invocations >= self.max_attempts:
                finish(execution, ExecutionStatus.FAILED, error=error)
            else:
                self.state.wake(execution)
