"""Fault kinds, fault plans, and the fault hooks that apply a plan to the emulator.

Each fault kind is a frozen dataclass whose ``repr`` reads as the call that builds it. A plan
is a tuple of faults; the hooks apply each fault at most once, record what they applied, and
speak to the emulator only through its public fault-hook seam.

Where a fault says "call k", k counts the checkpoint calls of one invocation, from 1.
The harness runs the SDK with one update per checkpoint call, so the call sequence does not
depend on wall time and a crash point is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar

from async_durable_execution_runner._service.seams import (
    Crash,
    DeliverDuplicate,
    FailCall,
    Fault,
    InvocationInfo,
    LoseResponse,
    ServiceCall,
    StepAttempt,
)
from async_durable_execution_runner._service.tokens import STALE_TOKEN_PREFIX
from async_durable_execution_runner.errors import (
    DurableServiceError,
    InvalidParameterValueException,
    ServiceException,
    TooManyRequestsException,
)


class ValidationException(DurableServiceError):
    """A 400 the SDK does not retry (it fails the execution with ``CheckpointError``)."""

    code = "ValidationException"
    http_status = 400


#: Service errors a plan can inject, simplest first (shrinking moves toward the first).
SERVICE_ERRORS: tuple[str, ...] = (
    "TooManyRequestsException",
    "ServiceException",
    "StaleCheckpointToken",
    "ValidationException",
)
#: The errors the SDK retries by re-invoking (so the service masks them).
RETRYABLE_ERRORS = frozenset(
    {"TooManyRequestsException", "ServiceException", "StaleCheckpointToken"}
)


def service_error(code: str) -> DurableServiceError:
    """The error the service answers with, for a code in ``SERVICE_ERRORS``."""
    if code == "TooManyRequestsException":
        return TooManyRequestsException("Rate exceeded (injected)")
    if code == "ServiceException":
        return ServiceException("Internal service error (injected)")
    if code == "StaleCheckpointToken":
        return InvalidParameterValueException(
            f"{STALE_TOKEN_PREFIX}: the token was superseded (injected)"
        )
    if code == "ValidationException":
        return ValidationException("1 validation error detected (injected)")
    msg = f"unknown service error {code!r}; expected one of {', '.join(SERVICE_ERRORS)}"
    raise ValueError(msg)


class InjectedStepError(Exception):
    """Raised in place of a step body by a ``step_exception`` fault."""


@dataclass(frozen=True, repr=False)
class FaultKind:
    kind: ClassVar[str] = ""
    #: Whether the service and SDK hide this fault from the outcome (fault-tolerance oracle).
    masked: ClassVar[bool] = True
    #: Whether the fault is placed by invocation and call numbers, which other faults shift
    #: (a crash adds an invocation); step, callback and invoke faults are placed by ordinal.
    positional: ClassVar[bool] = True

    def describe(self) -> str:
        return repr(self)

    def __repr__(self) -> str:
        # Reads as the call that builds the fault: crash(invocation=1, call=2). A burst
        # length left at its default is not printed (one attempt, one invocation).
        args = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if not (f.metadata.get("omit_default") and getattr(self, f.name) == f.default)
        )
        return f"{self.kind}({args})"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and value < f.metadata.get("minimum", 1)
            ):
                minimum = f.metadata.get("minimum", 1)
                msg = f"{self.kind}: {f.name} must be an integer >= {minimum}, got {value!r}"
                raise ValueError(msg)


def _burst(doc: str) -> int:
    # A burst length: printed only when it is not 1.
    return field(default=1, metadata={"omit_default": True, "doc": doc})


@dataclass(frozen=True, repr=False)
class CrashFault(FaultKind):
    """The sandbox dies on call ``call`` of invocation ``invocation``: nothing of that call is
    applied, later durable calls fail fast, every task of the invocation is cancelled, and
    the service re-invokes from what it acknowledged.

    With ``times=n`` (a crash loop) the sandbox also dies on the first checkpoint call of
    each of the next ``n - 1`` invocations."""

    kind: ClassVar[str] = "crash"
    invocation: int = 1
    call: int = 1
    times: int = _burst("invocations that crash in a row")


@dataclass(frozen=True, repr=False)
class ServiceErrorFault(FaultKind):
    """Call ``call`` of invocation ``invocation`` meets the service error ``error``; masked
    exactly when the SDK retries that error by re-invoking."""

    invocation: int = 1
    call: int = 1
    error: str = SERVICE_ERRORS[0]

    @property
    def masked(self) -> bool:  # type: ignore[override]
        return self.error in RETRYABLE_ERRORS


@dataclass(frozen=True, repr=False)
class LostResponseFault(ServiceErrorFault):
    """Call ``call`` is applied, but the SDK gets ``error`` instead of the response."""

    kind: ClassVar[str] = "lost_response"


@dataclass(frozen=True, repr=False)
class CheckpointErrorFault(ServiceErrorFault):
    """Call ``call`` is refused with ``error`` before anything is applied."""

    kind: ClassVar[str] = "checkpoint_error"


@dataclass(frozen=True, repr=False)
class InvocationLostFault(FaultKind):
    """The handler returned, but its response never reached the service: it re-invokes."""

    kind: ClassVar[str] = "invocation_lost"
    invocation: int = 1


@dataclass(frozen=True, repr=False)
class DuplicateInvocationFault(FaultKind):
    """Invocation ``invocation`` is delivered a second time (same token and state) right
    after its first delivery's call ``after_call``; the stale-token errors that follow are
    handled as the SDK handles them."""

    kind: ClassVar[str] = "duplicate_invocation"
    invocation: int = 1
    after_call: int = 1


@dataclass(frozen=True, repr=False)
class LostThenDuplicatedFault(FaultKind):
    """Invocation ``invocation`` is delivered twice (the second delivery right after its
    call ``after_call``) and the first delivery's response is lost: an at-least-once
    invoker that believed the invocation lost and delivered it again."""

    kind: ClassVar[str] = "lost_then_duplicated"
    invocation: int = 1
    after_call: int = 1


@dataclass(frozen=True, repr=False)
class StepExceptionFault(FaultKind):
    """The ``step``-th step to run (counting distinct steps in the order they first run, from
    1) raises on attempt ``attempt``, before its body runs; the SDK's retry strategy sees it.

    With ``times=k`` (a transient outage with a length) attempts ``attempt`` to
    ``attempt + k - 1`` all raise: the partner fails the step's next k attempts."""

    kind: ClassVar[str] = "step_exception"
    masked: ClassVar[bool] = False
    positional: ClassVar[bool] = False
    step: int = 1
    attempt: int = 1
    times: int = _burst("consecutive attempts that raise")

    @property
    def attempts(self) -> range:
        """The attempts that raise."""
        return range(self.attempt, self.attempt + self.times)


@dataclass(frozen=True, repr=False)
class CallbackFault(FaultKind):
    """The ``callback``-th callback created (from 1) fails, times out, or misses heartbeats,
    instead of succeeding."""

    masked: ClassVar[bool] = False
    positional: ClassVar[bool] = False
    callback: int = 1


@dataclass(frozen=True, repr=False)
class CallbackFailureFault(CallbackFault):
    kind: ClassVar[str] = "callback_failure"


@dataclass(frozen=True, repr=False)
class CallbackTimeoutFault(CallbackFault):
    kind: ClassVar[str] = "callback_timeout"


@dataclass(frozen=True, repr=False)
class HeartbeatTimeoutFault(CallbackFault):
    kind: ClassVar[str] = "heartbeat_timeout"


@dataclass(frozen=True, repr=False)
class HeartbeatThenTimeoutFault(CallbackFault):
    """The partner heartbeats ``heartbeats`` times (one per callback delay), then goes
    silent: the callback's heartbeat timeout expires."""

    kind: ClassVar[str] = "heartbeat_then_timeout"
    heartbeats: int = 2


@dataclass(frozen=True, repr=False)
class InvokeFault(FaultKind):
    """The ``invoke``-th chained invoke (from 1) fails or times out instead of running."""

    masked: ClassVar[bool] = False
    positional: ClassVar[bool] = False
    invoke: int = 1


@dataclass(frozen=True, repr=False)
class InvokeFailureFault(InvokeFault):
    kind: ClassVar[str] = "invoke_failure"


@dataclass(frozen=True, repr=False)
class InvokeTimeoutFault(InvokeFault):
    kind: ClassVar[str] = "invoke_timeout"


FAULT_KINDS: dict[str, type[FaultKind]] = {
    cls.kind: cls
    for cls in (
        CrashFault,
        LostResponseFault,
        CheckpointErrorFault,
        InvocationLostFault,
        DuplicateInvocationFault,
        StepExceptionFault,
        CallbackFailureFault,
        CallbackTimeoutFault,
        HeartbeatTimeoutFault,
        InvokeFailureFault,
        InvokeTimeoutFault,
        LostThenDuplicatedFault,
        HeartbeatThenTimeoutFault,
    )
}

# Short constructor names, as a reproducer prints them.
crash = CrashFault
lost_response = LostResponseFault
checkpoint_error = CheckpointErrorFault
invocation_lost = InvocationLostFault
duplicate_invocation = DuplicateInvocationFault
step_exception = StepExceptionFault
callback_failure = CallbackFailureFault
callback_timeout = CallbackTimeoutFault
heartbeat_timeout = HeartbeatTimeoutFault
invoke_failure = InvokeFailureFault
invoke_timeout = InvokeTimeoutFault
lost_then_duplicated = LostThenDuplicatedFault
heartbeat_then_timeout = HeartbeatThenTimeoutFault


def invocations_spent(plan: tuple[FaultKind, ...]) -> int:
    """How many invocations a plan can kill at most (each crash of a loop is one)."""
    return sum(getattr(f, "times", 1) if isinstance(f, CrashFault) else 1 for f in plan)


@dataclass
class FaultPlanHooks:
    """Applies a plan to the root execution through the emulator's ``FaultHooks`` seam."""

    plan: tuple[FaultKind, ...]
    root_arn: str | None = None
    applied: list[FaultKind] = field(default_factory=list)
    _step_order: list[str] = field(default_factory=list)
    #: Crash loops under way: how many more invocations crash, and the last that did.
    _crash_loops: dict[CrashFault, tuple[int, int]] = field(default_factory=dict)
    #: Invocations whose response a ``lost_then_duplicated`` fault will lose.
    _lose_after_duplicate: set[int] = field(default_factory=set)

    def _armed(self, fault: FaultKind) -> bool:
        return fault not in self.applied

    def invocations_at_risk(self) -> int:
        """How many invocations the plan may kill, at most."""
        return invocations_spent(self.plan)

    def _fire(self, fault: FaultKind) -> None:
        self.applied.append(fault)

    def _continue_crash_loop(self, call: ServiceCall) -> Fault | None:
        for fault, (remaining, last) in self._crash_loops.items():
            if remaining and call.invocation_index > last:
                self._crash_loops[fault] = (remaining - 1, call.invocation_index)
                return Crash(f"injected {fault!r} (invocation {call.invocation_index})")
        return None

    def on_service_call(self, call: ServiceCall) -> Fault | None:
        if call.kind != "checkpoint" or call.execution_arn != self.root_arn:
            return None
        looping = self._continue_crash_loop(call)
        if looping is not None:
            return looping
        for fault in self.plan:
            if not self._armed(fault):
                continue
            if (
                isinstance(fault, DuplicateInvocationFault | LostThenDuplicatedFault)
                and fault.invocation == call.invocation_index
                and fault.after_call == call.checkpoint_index
            ):
                self._fire(fault)
                if isinstance(fault, LostThenDuplicatedFault):
                    self._lose_after_duplicate.add(call.invocation_index)
                return DeliverDuplicate()
            if not isinstance(fault, CrashFault | LostResponseFault | CheckpointErrorFault):
                continue
            if fault.invocation != call.invocation_index or fault.call != call.checkpoint_index:
                continue
            self._fire(fault)
            if isinstance(fault, CrashFault):
                if fault.times > 1:
                    self._crash_loops[fault] = (fault.times - 1, call.invocation_index)
                return Crash(f"injected {fault!r}")
            if isinstance(fault, LostResponseFault):
                return LoseResponse(service_error(fault.error))
            return FailCall(service_error(fault.error))
        return None

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        if invocation.execution_arn != self.root_arn:
            return False
        if invocation.index in self._lose_after_duplicate:
            self._lose_after_duplicate.discard(invocation.index)
            return True
        for fault in self.plan:
            if (
                isinstance(fault, InvocationLostFault)
                and self._armed(fault)
                and fault.invocation == invocation.index
            ):
                self._fire(fault)
                return True
        return False

    def step_ordinal(self, attempt: StepAttempt) -> int:
        """The step's ordinal: distinct steps of the root, in the order they first ran."""
        if attempt.operation_id not in self._step_order:
            self._step_order.append(attempt.operation_id)
        return self._step_order.index(attempt.operation_id) + 1

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | None:
        if attempt.execution_arn != self.root_arn:
            return None
        ordinal = self.step_ordinal(attempt)
        for fault in self.plan:
            # Not "armed once": if a crash makes the SDK run the same attempt again, that
            # attempt raises again (the fault belongs to the attempt, not to one body run).
            if (
                isinstance(fault, StepExceptionFault)
                and fault.step == ordinal
                and attempt.attempt in fault.attempts
            ):
                if self._armed(fault):
                    self._fire(fault)
                label = attempt.name or attempt.operation_id[:12]
                return InjectedStepError(
                    f"injected by {fault!r}: step {label!r} raised on attempt {attempt.attempt}"
                )
        return None

    def duplicate_after(
        self, invocation_index: int, call_index: int
    ) -> DuplicateInvocationFault | None:
        for fault in self.plan:
            if (
                isinstance(fault, DuplicateInvocationFault)
                and self._armed(fault)
                and fault.invocation == invocation_index
                and fault.after_call == call_index
            ):
                self._fire(fault)
                return fault
        return None

    def callback_fault(self, ordinal: int) -> CallbackFault | None:
        for fault in self.plan:
            if (
                isinstance(fault, CallbackFault)
                and fault.callback == ordinal
                and self._armed(fault)
            ):
                self._fire(fault)
                return fault
        return None

    def invoke_fault(self, ordinal: int) -> InvokeFault | None:
        for fault in self.plan:
            if isinstance(fault, InvokeFault) and fault.invoke == ordinal and self._armed(fault):
                self._fire(fault)
                return fault
        return None
