"""What the service hands an invoker, and what comes back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from async_durable_execution_runner._models._frozen import cheap_frozen

if TYPE_CHECKING:
    from async_durable_execution_runner._models import ErrorObject, Operation
    from async_durable_execution_runner._service.session import InvocationSession


@cheap_frozen
@dataclass(frozen=True, slots=True)
class InvocationRequest:
    execution_arn: str
    function_name: str
    checkpoint_token: str
    operations: tuple[Operation, ...]  # the first page of state
    next_marker: str  # "" when ``operations`` is everything
    session: InvocationSession
    request_id: str
    environment: str  # "warm", "cold", or "duplicate" (a sandbox of its own, kept by no one)
    wall_timeout: float | None  # seconds the runner may wait for this invocation


@cheap_frozen
@dataclass(frozen=True, slots=True)
class InvocationOutcome:
    """``status`` is the handler's own answer; ``None`` means the invocation died."""

    status: str | None
    result: str | None = None
    error: ErrorObject | None = None
    # Why the invocation died (crash, hang, unexpected exception): recorded on
    # ``InvocationCompleted`` the way Lambda records a failed invocation.
    death: ErrorObject | None = None
    hung: bool = False
    # The service must not re-invoke: fail the execution with ``death`` (strict replay).
    fatal: bool = False
    # The invocation ended its execution environment whatever ``death`` says (its init
    # failed: the runtime process exits): the function's next invocation starts cold.
    sandbox_ended: bool = False


def hung_outcome(request: InvocationRequest, where: str) -> InvocationOutcome:
    """The invocation outlived the runner's wall-clock budget; ``where`` says where it was."""
    return _stopped(
        f"the handler did not return within the runner's timeout "
        f"({request.wall_timeout:.3g}s of wall-clock time left for invocation "
        f"{request.session.invocation_index} of {request.execution_arn}); {where}"
    )


def given_up_outcome(request: InvocationRequest, why: str) -> InvocationOutcome:
    """The runner stopped the invocation while it still ran, on a thread of its own (a
    duplicate delivery's): it looped without end, or the delivery it duplicated was given
    up on. Lambda would have stopped its sandbox at the function's timeout; ``why`` says why
    and where it was."""
    return _stopped(
        f"invocation {request.session.invocation_index} of {request.execution_arn} was "
        f"stopped, as Lambda stops a sandbox at the function's timeout: {why}"
    )


def _stopped(message: str) -> InvocationOutcome:
    """An invocation the runner gave up on while it ran, as a sandbox Lambda stopped."""
    from async_durable_execution_runner._models import ErrorObject

    return InvocationOutcome(
        status=None,
        death=ErrorObject(error_type="Sandbox.Timedout", error_message=message),
        hung=True,
    )


#: How often an invoker waiting for an invocation on another thread looks whether it is to
#: be given up on (seconds).
GIVE_UP_POLL_SECONDS = 0.05


#: The errors of an invocation whose execution environment did not survive it: the runtime
#: process exited (a crash, ``SystemExit``) or Lambda stopped the sandbox at the function's
#: timeout. Lambda starts the function's next invocation in a new environment, whose
#: module-level state starts over (an exception the handler raises, by contrast, leaves the
#: runtime process running, and the next invocation may find it warm).
SANDBOX_ENDING_ERRORS = frozenset({"Runtime.ExitError", "Sandbox.Timedout"})


#: Lambda's maximum function timeout: an invocation's default limit.
DEFAULT_FUNCTION_TIMEOUT = 900.0


def timed_out_outcome(request: InvocationRequest, seconds: float, where: str) -> InvocationOutcome:
    """The invocation ran past the function's timeout: Lambda stops the sandbox and records
    ``Sandbox.Timedout`` (a failed invocation, which the service retries); ``where`` says
    where the handler was."""
    from async_durable_execution_runner._models import ErrorObject

    message = (
        f"RequestId: {request.request_id} Error: Task timed out after {seconds:.2f} seconds; "
        f"the handler was at:\n{where}"
    )
    return InvocationOutcome(
        status=None, death=ErrorObject(error_type="Sandbox.Timedout", error_message=message)
    )


class Invoker(Protocol):
    def invoke(self, request: InvocationRequest) -> InvocationOutcome: ...

    def close(self) -> None: ...


@runtime_checkable
class ColdStarter(Protocol):
    """An invoker that can say whether it can start ``function_name`` in a new sandbox (its
    module state afresh). After an invocation that ended its sandbox (``SANDBOX_ENDING_ERRORS``)
    the service asks it, and makes the function's next invocation cold when it can."""

    def can_start_cold(self, function_name: str) -> bool: ...


@cheap_frozen
@dataclass(frozen=True, slots=True)
class Abandoned:
    """A drive gave up on a hung invocation: the service records ``outcome`` for ``request``
    (the thread running the handler is left behind and never touches the service again)."""

    request: InvocationRequest
    outcome: InvocationOutcome


class InvocationAbandoned(BaseException):
    """Raised in the thread of an abandoned invocation when its handler finally returns, to
    unwind it without touching the service (which has moved on)."""


class Driver(Protocol):
    """An invoker that can run the service's loop itself, next to the handlers it runs.

    ``drive`` runs ``loop`` (which delivers due items, invoking the handler for some) on the
    thread that runs the invocations (the calling thread, or the invoker's own), so that an
    invocation is not a thread hand-off of its own, and returns its result; or, if an
    invocation is still running at ``wall_deadline`` (a ``real_monotonic()`` instant), gives
    up on it and returns ``Abandoned``. ``busy()``, if given, says whether the loop's thread
    is in the service's own code at the moment (where a hung handler is not interrupted).
    """

    def drive(
        self,
        loop: Callable[[], bool],
        wall_deadline: float | None,
        busy: Callable[[], bool] | None = None,
    ) -> bool | Abandoned: ...
