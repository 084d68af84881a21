"""Fault hooks: the seam through which a test makes the service (or sandbox) misbehave.

Without hooks installed the service behaves as the real one does. A hook sees each service
call before it is applied and may answer with a fault:

- ``Crash``: the sandbox dies on this call; nothing of it is applied, every later durable
  call of the invocation fails fast, and the invocation's tasks are cancelled. The service
  then re-invokes from what it had acknowledged.
- ``LoseResponse``: the call is applied, but the caller receives ``error`` instead of the
  response (the outcome is indeterminate to the handler).
- ``FailCall``: the call is refused before anything is applied, with ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from async_durable_execution_runner.errors import DurableServiceError, ServiceException

if TYPE_CHECKING:
    from async_durable_execution_runner._models import OperationUpdate
    from async_durable_execution_runner._service.observer import InvocationInfo


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """One call from the handler's SDK to the service."""

    kind: Literal["checkpoint", "get_execution_state"]
    execution_arn: str
    invocation_index: int  # 1-based within the execution
    call_index: int  # 1-based within the invocation, counting every service call
    checkpoint_index: int  # 1-based within the invocation, counting checkpoint calls only
    updates: tuple[OperationUpdate, ...] = ()


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
    a second time before answering, as an at-least-once invoker can."""


Fault = Crash | LoseResponse | FailCall | DeliverDuplicate


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


class FaultHooks(Protocol):
    def on_service_call(self, call: ServiceCall) -> Fault | None:
        """Return a fault to inject into this call, or ``None`` to let it through."""
        ...

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        """Return ``True`` to lose the handler's response (the service re-invokes)."""
        ...

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | None:
        """Return an exception to raise in place of the step body on this attempt."""
        ...

    def on_chained_invoke(
        self, execution_arn: str, operation_id: str, function_name: str
    ) -> object | None:
        """Return an ``InvokeResult`` to end this chained invoke with, instead of running it."""
        ...


class NoFaults:
    """The default: nothing is injected."""

    def on_service_call(self, call: ServiceCall) -> Fault | None:
        return None

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        return False

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | None:
        return None

    def on_chained_invoke(
        self, execution_arn: str, operation_id: str, function_name: str
    ) -> object | None:
        return None
