"""The emulator's seams, in one place: what a test plugs in and the values that cross.

Each seam is a small protocol with a default that is the service's own behaviour:

- ``FaultHooks`` (default ``NoFaults``, also the base to subclass): make the service or the
  sandbox misbehave. A hook sees each service call before it is applied and may answer
  - ``Crash``: the sandbox dies on this call; nothing of it is applied, every later durable
    call of the invocation fails fast, and the invocation's tasks are cancelled. The service
    then re-invokes from what it had acknowledged;
  - ``LoseResponse``: the call is applied, but the caller receives ``error`` instead of the
    response (the outcome is indeterminate to the handler);
  - ``FailCall``: the call is refused before anything is applied, with ``error``;
  - ``DeliverDuplicate``: the call is applied, then the same invocation is delivered again.
- ``Interleaving`` (default ``NoInterleaving``): event-loop turns inside an invocation.
- ``SchedulerPolicy`` (default ``scheduler.EarliestFirst``): which due item goes next.
- ``SandboxPolicy``: warm or cold re-invocations.
- ``Clock`` (default ``clock.VirtualClock``): the service's one source of time.
- observers (``observer.ExecutionObserver``) receive ``InvocationInfo``, ``StepAttempt`` and
  ``OperationRequest`` values defined here.

This module imports nothing else of the service, so every other module can import it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeGuard, runtime_checkable

from async_durable_execution_runner._models import ErrorObject
from async_durable_execution_runner._models._frozen import cheap_frozen
from async_durable_execution_runner.errors import DurableServiceError, ServiceException

if TYPE_CHECKING:
    from async_durable_execution_runner._models import OperationUpdate
    from async_durable_execution_runner._service.scheduler import DueItem

# --- values that cross the seams -----------------------------------------------------------


@cheap_frozen
@dataclass(frozen=True, slots=True)
class ServiceCall:
    """One call from the handler's SDK to the service."""

    kind: Literal["checkpoint", "get_execution_state"]
    execution_arn: str
    invocation_index: int  # 1-based within the execution
    call_index: int  # 1-based within the invocation, counting every service call
    checkpoint_index: int  # 1-based within the invocation, counting checkpoint calls only
    updates: tuple[OperationUpdate, ...] = ()


@cheap_frozen
@dataclass(frozen=True, slots=True)
class StepAttempt:
    """A step body about to run (observed through the SDK adapter)."""

    execution_arn: str
    invocation_index: int
    operation_id: str
    name: str | None
    attempt: int
    sub_type: str | None
    semantics: str | None = None  # "AT_LEAST_ONCE_PER_RETRY" / "AT_MOST_ONCE_PER_RETRY"
    #: What the step's retry strategy (an SDK ``RetryStrategy``) retries, when it names it:
    #: the exception types, and the plain-text patterns an error's message must contain.
    #: Empty for a strategy that retries everything, or one that is not a ``RetryStrategy``
    #: (a function: what it retries cannot be read). A fault that stands for a transient
    #: failure raises what the step retries.
    retried_types: tuple[type[BaseException], ...] = ()
    retried_messages: tuple[str, ...] = ()
    #: Kills the sandbox from inside the attempt's body, with the reason given (as a
    #: ``Crash`` at a service call does): what the body did so far stays done, every later
    #: durable call fails fast, every task of the invocation is cancelled, and the service
    #: re-invokes. For a ``WrapBody`` to call while the body runs (between two of its
    #: awaits: a sandbox killed by its memory limit or its host mid-request), on the body's
    #: own thread or one of its threads (``asyncio.to_thread``). ``None`` where the body runs
    #: out of reach (a worker process).
    crash_sandbox: Callable[[str], None] | None = field(default=None, compare=False, repr=False)
    #: A duplicate delivery's run of the attempt (``DeliverDuplicate``): another run of the
    #: same attempt, in the same world, whose result never reaches the execution (the
    #: duplicate's checkpoints bounce with stale tokens).
    duplicate: bool = False


@cheap_frozen
@dataclass(frozen=True, slots=True)
class InvocationInfo:
    """One invocation of the handler, as the service saw it."""

    execution_arn: str
    index: int  # 1-based, within the execution
    request_id: str
    start: _dt.datetime
    end: _dt.datetime | None = None
    status: str | None = None  # SUCCEEDED / FAILED / PENDING, or None when it died
    error_type: str | None = None
    error_message: str | None = None
    # The sandbox it landed in: "warm", "cold" (its module imported afresh: as the sandbox
    # policy said, or after an invocation that ended its sandbox), or "duplicate" (a
    # duplicate delivery, in a sandbox of its own).
    environment: str = "warm"


@cheap_frozen
@dataclass(frozen=True, slots=True)
class OperationRequest:
    """An operation the handler asked the SDK for (observed through the SDK adapter).

    ``checkpointed`` is the identity stored for that id when the handler asked, if any:
    ``(type, sub_type, name, parent_id)``. Replay determinism compares the two.
    """

    execution_arn: str
    invocation_index: int
    operation_id: str
    type: str
    sub_type: str | None
    name: str | None
    parent_id: str | None
    checkpointed: tuple[str, str | None, str | None, str | None] | None

    @property
    def identity(self) -> tuple[str, str | None, str | None, str | None]:
        return (self.type, self.sub_type, self.name, self.parent_id)


@dataclass(frozen=True, slots=True)
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


# --- fault values ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Crash:
    reason: str = "sandbox crashed (injected)"


@dataclass(frozen=True, slots=True)
class LoseResponse:
    error: DurableServiceError = field(
        default_factory=lambda: ServiceException("response lost after the call was applied")
    )


@dataclass(frozen=True, slots=True)
class FailCall:
    error: DurableServiceError


@dataclass(frozen=True, slots=True)
class DeliverDuplicate:
    """Apply the call normally, then deliver the same invocation (same token, same state)
    a second time, as an at-least-once invoker can: the call is answered once the duplicate
    has run, or once it waits for something (``deliveries``), and then both run at once."""


Fault = Crash | LoseResponse | FailCall | DeliverDuplicate


# --- fault hooks ----------------------------------------------------------------------------

#: A step body: a coroutine function (taking the step's state, for stateful steps).
StepBody = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class WrapBody:
    """Run the step attempt's body through ``wrap``, which gets the body and returns the
    coroutine function to run in its place: a test can watch what the body returns or raises,
    or run it and answer with something else. In-process invokers only (a function does not
    cross into a worker process)."""

    wrap: Callable[[StepBody], StepBody]


class FaultHooks(Protocol):
    def on_service_call(self, call: ServiceCall) -> Fault | None:
        """Return a fault to inject into this call, or ``None`` to let it through."""
        ...

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        """Return ``True`` to lose the handler's response (the service re-invokes)."""
        ...

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        """Return an exception to raise in place of the step body on this attempt, or a
        ``WrapBody`` to run the body through."""
        ...

    def on_chained_invoke(
        self, execution_arn: str, operation_id: str, function_name: str
    ) -> InvokeResult | None:
        """Return an ``InvokeResult`` to end this chained invoke with, instead of running it."""
        ...


class NoFaults:
    """The default: nothing is injected. Subclass it and override only the hooks you need."""

    # No state of its own (a subclass may have some): one instance serves every executor.
    __slots__ = ()

    def on_service_call(self, call: ServiceCall) -> Fault | None:
        return None

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        return False

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        return None

    def on_chained_invoke(
        self, execution_arn: str, operation_id: str, function_name: str
    ) -> InvokeResult | None:
        return None


def watches_service_calls(faults: FaultHooks) -> bool:
    """Whether ``faults`` may answer a service call (else a session need not describe each)."""
    hook = getattr(type(faults), "on_service_call", None)
    return hook is not NoFaults.on_service_call


def steers_step_attempts(faults: FaultHooks) -> bool:
    """Whether ``faults`` may answer a step attempt (else the SDK adapter need not ask)."""
    hook = getattr(type(faults), "on_step_attempt", None)
    return hook is not NoFaults.on_step_attempt


# --- the interleaving -----------------------------------------------------------------------


class Interleaving(Protocol):
    """How long (in event-loop turns) things take inside an invocation.

    Real I/O makes a step body or a service response take time, so the handler's concurrent
    tasks (``parallel``, ``map``, ``asyncio.gather``) complete in different orders. An
    ``Interleaving`` says, per step attempt and per service response, how many event-loop
    turns it takes, and how many operations come back per page of state; the default is the
    fastest possible: no extra turns, full pages. asyncio still starts tasks in creation
    order, so only orders real I/O could produce are reachable.
    """

    def step_turns(self, attempt: StepAttempt) -> int:
        """Event-loop turns a step body takes before it starts running."""
        ...

    def response_turns(self, call: ServiceCall) -> int:
        """Event-loop turns before a service response reaches the SDK."""
        ...

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        """Operations per page of state for this invocation (``None``: the service default)."""
        ...


class ThreadRanking(Protocol):
    """What an ``Interleaving`` may also say (optional: one without it leaves the order the
    loop asked in): how the threads' work races."""

    def thread_rank(self, execution_arn: str, invocation_index: int, job: int) -> int:
        """The rank of the invocation's ``job``-th wait for a thread's result (from 0:
        ``run_in_executor``, ``asyncio.to_thread``, ``asyncio.wrap_future``). The loop takes
        thread results by rank, then in the order it asked for them, whatever order the
        threads end in: equal ranks (the default) mean the order asked."""
        ...


class NoInterleaving:
    """The default: no extra turns, full pages."""

    __slots__ = ()  # as ``NoFaults``: one instance serves every executor

    def step_turns(self, attempt: StepAttempt) -> int:
        return 0

    def response_turns(self, call: ServiceCall) -> int:
        return 0

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        return None

    def thread_rank(self, execution_arn: str, invocation_index: int, job: int) -> int:
        return 0


def interleaves_steps(interleaving: Interleaving) -> bool:
    """Whether ``interleaving`` may give a step attempt turns (``NoInterleaving``'s never does;
    a subclass that overrides ``step_turns`` may)."""
    hook = getattr(type(interleaving), "step_turns", None)
    return hook is not NoInterleaving.step_turns


def interleaves_responses(interleaving: Interleaving) -> bool:
    """Whether ``interleaving`` may give a service response turns (see ``interleaves_steps``)."""
    hook = getattr(type(interleaving), "response_turns", None)
    return hook is not NoInterleaving.response_turns


def ranks_threads(interleaving: Interleaving) -> TypeGuard[ThreadRanking]:
    """Whether ``interleaving`` may rank thread results (``ThreadRanking``; see
    ``interleaves_steps``)."""
    hook = getattr(type(interleaving), "thread_rank", None)
    return hook is not None and hook is not NoInterleaving.thread_rank


# --- the sandbox ----------------------------------------------------------------------------


class SandboxPolicy:
    """Decides whether a re-invocation lands in a warm or a cold sandbox (default: warm).

    The service overrides it with "cold" for a function's first invocation after one that
    ended its sandbox (a crash, the function's timeout, an init error), as Lambda does."""

    __slots__ = ()  # as ``NoFaults``: one instance serves every executor

    def environment(self, execution_arn: str, invocation_index: int) -> str:
        return "warm"


# --- time and order -------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    """What the service needs from time."""

    @property
    def is_virtual(self) -> bool: ...

    def now(self) -> _dt.datetime: ...

    def advance_to(self, instant: _dt.datetime) -> None:
        """Make ``now()`` at least ``instant`` (sleeping, for a real clock)."""
        ...


class SchedulerPolicy(Protocol):
    """Chooses which of several due items is delivered next.

    ``window`` widens "due": items whose deadlines are within ``window`` of the earliest are
    offered together, so near-equal deadlines can be permuted, not just sorted.
    """

    window: _dt.timedelta

    def choose(self, candidates: Sequence[DueItem]) -> DueItem: ...
