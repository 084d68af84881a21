"""The fault kinds, in one registry (``FAULT_KINDS``) in which each kind describes itself.

A kind is a frozen dataclass whose ``repr`` reads as the call that builds it
(``crash(invocation=1, call=2)``). It derives from the base of the *point* where it lands,
which says how the hooks find it and what its effect returns to the emulator's fault-hook
seam:

=========================  ==============================================================
``CheckpointCallFault``    a checkpoint call: a seam ``Fault``
``InvocationReturnFault``  an invocation returning: whether its response is lost
``StepFault``              a step attempt: the exception raised instead of the body
``CallbackFault``          a callback being created: how the partner answers instead
``InvokeFault``            a chained invoke being started: its result instead of running
=========================  ==============================================================

and, in its own class body, everything else there is to know about it:

- ``kind``: its name (and the name of its constructor in ``scenarios``);
- ``drawn(draws)``: its Hypothesis strategy, for a plan of absolute positions;
- ``placed(at, choose)``: the fault a placing run puts at a point it reaches;
- ``effect``/``answer``/``result``: what it does to the emulator, through the public seams;
- ``masked``, ``modelled`` and ``describe_to``: what the oracles make of it (the same
  outcome as without it; whether the reference evaluator knows it; what to tell it);
- ``log_markers``: the text of the SDK's log records it causes, when its ``repr`` is not in
  them.

``register`` puts a kind in ``FAULT_KINDS``, simplest first (shrinking prefers the first).
To add a kind: a class here, and its constructor exported from ``scenarios``;
tests/harness/test_fault_registry.py checks that every kind is handled everywhere.

Nothing here imports Hypothesis (reproducers build faults without it): ``drawn`` builds on
the strategies ``fault_plans`` hands it.

Where a fault says "call k", k counts the checkpoint calls of one invocation, from 1.

Checkpoint-call, invocation and step faults land in the execution their ``execution`` names:
0 (left out of the ``repr``) is the scenario's own; *k* is the one the scenario's *k*-th
chained invoke started (counted as invoke faults count them, across the executions of the
run, in the order the invokes start), so a crash or a failing step can land inside a function
the scenario's handler invokes while the handler waits for it. Steps are numbered within
their execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

from botocore.exceptions import ReadTimeoutError

from async_durable_execution_runner._harness.faults.aws_calls import watch_aws_calls
from async_durable_execution_runner._harness.faults.errors import (
    RETRYABLE_ERRORS,
    SERVICE_ERRORS,
    injected_step_error,
    service_error,
)
from async_durable_execution_runner._models import ErrorObject
from async_durable_execution_runner._service.seams import (
    Crash,
    DeliverDuplicate,
    FailCall,
    Fault,
    InvocationInfo,
    InvokeResult,
    LoseResponse,
    ServiceCall,
    StepAttempt,
    StepBody,
    WrapBody,
)
from async_durable_execution_runner._service.tokens import STALE_TOKEN_PREFIX
from async_durable_execution_runner.errors import DurableServiceError

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from async_durable_execution_runner._runner.local import DurableFunctionTestRunner

K = TypeVar("K", bound="FaultKind")
T = TypeVar("T")


class Draws(Protocol):
    """The strategies a kind's ``drawn`` builds on (``fault_plans`` makes them from its
    bounds, favouring small numbers)."""

    @property
    def invocation(self) -> SearchStrategy[int]: ...
    @property
    def call(self) -> SearchStrategy[int]: ...
    @property
    def ordinal(self) -> SearchStrategy[int]: ...
    @property
    def burst(self) -> SearchStrategy[int]: ...
    @property
    def error(self) -> SearchStrategy[str]: ...
    @property
    def partners(self) -> tuple[tuple[str, ...], ...]:
        """The step-name patterns of each partner the suite declared (``fault_plans``'s
        ``partners``); empty if it declared none."""
        ...

    def sampled(self, options: Sequence[T]) -> SearchStrategy[T]:
        """One of ``options``, shrinking toward the first."""
        ...

    def builds(self, target: type[K], **kwargs: SearchStrategy[Any]) -> SearchStrategy[K]: ...


class Chooser(Protocol):
    """The choices a placing run makes for a fault it places (zero is the simplest)."""

    def burst(self) -> int: ...

    def pick(self, options: Sequence[T]) -> T: ...

    def partner_of(self, name: str | None) -> tuple[str, ...] | None:
        """The step-name patterns of the partner a step of that name calls, if the suite
        declared partners and one of them matches; ``()`` if it declared none."""
        ...


class PlanState(Protocol):
    """What an effect may ask of the hooks applying the plan, beyond its own point."""

    def repeat_on_next_invocations(self, fault: FaultKind, count: int, after: int) -> None:
        """Have the first checkpoint call of each of the ``count`` invocations after
        ``after`` meet ``fault`` again (``CheckpointCallFault.again``)."""

    def lose_response_of(self, execution_arn: str, invocation_index: int) -> None:
        """Lose the response of that invocation of that execution when it returns."""

    def begin_outage(self, fault: OutageFault) -> None:
        """Start ``fault``'s outage now, on the runner's clock, unless it has started: every
        step attempt that starts before it ends meets it (``OutageFault.seconds``)."""

    def landed(self, fault: FaultKind) -> None:
        """Record that a fault which fires late (``StepFault.once``: inside the body it wraps)
        has landed."""

    def landed_in_body(self, fault: FaultKind, attempt: StepAttempt) -> None:
        """Record that an unmasked fault landed inside ``attempt``'s body, where the body saw
        it (a baseline's run of that body meets it again: ``world.Replay``)."""


@dataclass
class ReferenceFacts:
    """What the reference evaluator of generated programs is told about a plan
    (``programs/reference.py``: ``step_exceptions``, ``step_timeouts``, ``callback_faults``,
    ``invoke_faults``)."""

    step_exceptions: list[tuple[int, int]] = field(default_factory=list)
    #: Step attempts whose AWS call times out, by (step, attempt): a generated step body makes
    #: one AWS call, so only a time-out at call 1 lands.
    step_timeouts: list[tuple[int, int]] = field(default_factory=list)
    callback_faults: dict[int, str] = field(default_factory=dict)
    #: Heartbeats the partner sends before it goes silent, by callback ordinal.
    callback_heartbeats: dict[int, int] = field(default_factory=dict)
    invoke_faults: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class FaultKind:
    kind: ClassVar[str] = ""
    #: Where in a run the fault lands, in words (set by each point's base).
    point: ClassVar[str] = ""
    #: Whether the service and SDK hide this fault from the outcome (fault-tolerance oracle).
    masked: ClassVar[bool] = True
    #: Whether the fault is placed by invocation and call numbers, which other faults shift
    #: (a crash adds an invocation); step, callback and invoke faults are placed by ordinal.
    positional: ClassVar[bool] = True
    #: Text in the SDK log records this fault causes that its ``repr`` is not in.
    log_markers: ClassVar[tuple[str, ...]] = ()
    #: The operation type the fault hits, for campaign coverage (``None``: the operation the
    #: invocation it hits was at).
    target: ClassVar[str | None] = None
    #: Whether ``fault_plans()`` draws it without being asked (``strategies.DEFAULT_KINDS``).
    by_default: ClassVar[bool] = True

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[Self]:
        """This kind at absolute positions (a plan drawn on its own)."""
        raise NotImplementedError

    @property
    def deaths(self) -> int:
        """How many invocations the fault can kill, at most."""
        return 1

    @property
    def modelled(self) -> bool:
        """Whether the reference evaluator knows what this fault does to a program (a masked
        fault must change nothing, which it knows)."""
        return self.masked

    def describe_to(self, facts: ReferenceFacts) -> None:
        """Tell the reference evaluator about this fault (nothing, for a masked one)."""

    def describe(self) -> str:
        return repr(self)

    def __repr__(self) -> str:
        # Reads as the call that builds the fault: crash(invocation=1, call=2). A burst
        # length left at its default is not printed (one attempt, one invocation).
        # Where it lands (an invoked execution) reads last: crash(invocation=1, call=2,
        # execution=1).
        args = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}"
            for f in sorted(fields(self), key=lambda f: bool(f.metadata.get("last")))
            if not (f.metadata.get("omit_default") and getattr(self, f.name) == f.default)
        )
        return f"{self.kind}({args})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints a failing example's arguments with its pretty printer, which
        # spells a dataclass out field by field, the class-level ones too
        # (``CrashFault(kind='crash', point=..., masked=True, ...)``, which builds nothing):
        # the call that builds the fault instead, as a reproducer has it.
        printer.text(repr(self))

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


#: Every fault kind by name, simplest first.
FAULT_KINDS: dict[str, type[FaultKind]] = {}


def register(cls: type[K]) -> type[K]:
    """Add a fault kind to ``FAULT_KINDS`` (in the order kinds are defined)."""
    if not cls.kind or cls.kind in FAULT_KINDS:
        msg = f"{cls.__name__}: a fault kind needs a name of its own, got {cls.kind!r}"
        raise ValueError(msg)
    FAULT_KINDS[cls.kind] = cls
    return cls


def _burst(doc: str) -> int:
    # A burst length: printed only when it is not 1.
    return field(default=1, metadata={"omit_default": True, "doc": doc})


def _execution() -> int:
    # Which execution of the run the fault lands in: printed only when it is not the
    # scenario's own (0).
    return field(
        default=0,
        metadata={
            "omit_default": True,
            "minimum": 0,
            "last": True,
            "doc": "0: the scenario's execution; k: the one its k-th chained invoke started",
        },
    )


def _quietly(fn: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    # The callback may already be closed (the handler stopped waiting, the execution ended):
    # the external system's late answer is refused by the service, which is not our failure.
    with contextlib.suppress(DurableServiceError):
        fn(*args, **kwargs)


@dataclass(frozen=True)
class CallbackLimits:
    """A callback's time-outs as the handler created it (``CallbackStarted``), in seconds;
    0 for none."""

    timeout: int = 0
    heartbeat_timeout: int = 0

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> CallbackLimits:
        return cls(int(details.get("Timeout") or 0), int(details.get("HeartbeatTimeout") or 0))


#: The most heartbeats a live partner sends to keep one callback alive until it times out
#: (each is a delivery on the runner's clock); a longer keep-alive is not simulated.
MAX_KEEP_ALIVE_HEARTBEATS = 2_000


def keep_alive_interval(heartbeat_timeout: int) -> float:
    """Seconds between a live partner's heartbeats: one second inside each heartbeat
    deadline, so that no delivery window (at most a second, see ``timings``) can make one
    late; half a second for a one-second heartbeat time-out."""
    return float(heartbeat_timeout - 1) if heartbeat_timeout >= 2 else heartbeat_timeout / 2


def _keep_alive(
    runner: DurableFunctionTestRunner,
    callback_id: str,
    interval: float,
    until: float,
    label: str,
    elapsed: float,
) -> None:
    """Heartbeat every ``interval`` seconds while that is before ``until`` (seconds after the
    callback started), one scheduled at a time; stop once the service refuses one."""
    at = elapsed + interval
    if at >= until:
        return

    def beat() -> None:
        try:
            runner.send_callback_heartbeat(callback_id)
        except DurableServiceError:
            return  # the callback is closed: the partner stops
        _keep_alive(runner, callback_id, interval, until, label, at)

    runner.schedule(interval, beat, label=f"keep-alive heartbeat at {at:g}s for {label}")


# --- the points -------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class CheckpointCallFault(FaultKind):
    """Lands on checkpoint call ``call_index`` of invocation ``invocation`` of execution
    ``execution`` (the scenario's own, or one it invoked)."""

    point: ClassVar[str] = "a checkpoint call"

    invocation: int = 1
    execution: int = _execution()

    @property
    def call_index(self) -> int:
        raise NotImplementedError

    def lands_at(self, call: ServiceCall) -> bool:
        return (self.invocation, self.call_index) == (call.invocation_index, call.checkpoint_index)

    @classmethod
    def placed(cls, at: ServiceCall, choose: Chooser) -> Self:
        raise NotImplementedError

    def effect(self, call: ServiceCall, plan: PlanState) -> Fault:
        """What the call meets (the seam's answer)."""
        raise NotImplementedError

    def again(self, call: ServiceCall) -> Fault:
        """What the first call of a later invocation meets, for a burst that spans
        invocations (``PlanState.repeat_on_next_invocations``)."""
        raise NotImplementedError


@dataclass(frozen=True, repr=False)
class InvocationReturnFault(FaultKind):
    """Lands on invocation ``invocation`` of execution ``execution`` returning."""

    point: ClassVar[str] = "an invocation returning"

    invocation: int = 1
    execution: int = _execution()

    def lands_at(self, invocation: InvocationInfo) -> bool:
        return self.invocation == invocation.index

    @classmethod
    def placed(cls, at: InvocationInfo, choose: Chooser) -> Self:
        raise NotImplementedError

    def effect(self, invocation: InvocationInfo, plan: PlanState) -> bool:
        """Whether the invocation's response is lost."""
        raise NotImplementedError


@dataclass(frozen=True, repr=False)
class StepFault(FaultKind):
    """Lands on attempts of the ``step``-th step to run (counting distinct steps of execution
    ``execution`` in the order they first run, from 1). Every run of such an attempt meets
    it: if a crash makes the SDK run the same attempt again, it raises again."""

    point: ClassVar[str] = "a step attempt running for the first time"
    masked: ClassVar[bool] = False
    positional: ClassVar[bool] = False
    target: ClassVar[str | None] = "STEP"
    #: Fires once, when its effect says it landed (``PlanState.landed``), and not again on a
    #: re-run of the same attempt; otherwise it fires when the attempt first meets it and
    #: every run of that attempt meets it again.
    once: ClassVar[bool] = False
    #: (A kind that fires once, inside the body.) The points of the body it fires at, which
    #: a placing run watches for it (``watch_inside``): ``"wait"`` (each time the body waits)
    #: or ``"aws_call"`` (each AWS call the body makes, once answered).
    inside: ClassVar[str] = ""

    step: int = 1
    execution: int = _execution()

    def lands_at(self, ordinal: int, attempt: int) -> bool:
        raise NotImplementedError

    def meets(self, attempt: StepAttempt) -> bool:
        """Whether the attempt it lands at by position is one it can hit (a partner's
        outage only hits the steps that call the partner)."""
        return True

    @classmethod
    def can_start_at(cls, at: StepAttempt, choose: Chooser) -> bool:
        """Whether a placing run may place this kind at ``at``."""
        return True

    @classmethod
    def placed(cls, ordinal: int, at: StepAttempt, choose: Chooser) -> Self:
        raise NotImplementedError

    def effect(self, attempt: StepAttempt, plan: PlanState) -> BaseException | WrapBody:
        """What the attempt raises instead of running its body, or how its body is run."""
        raise NotImplementedError

    @classmethod
    def placed_in_body(
        cls, ordinal: int, at: StepAttempt, point: int, choose: Chooser | None = None
    ) -> Self:
        """(A kind that fires once, inside the body.) The fault a placing run puts at the
        body's ``point``-th point (``inside``): a body with fewer is no point for it. A kind
        with a burst asks ``choose`` for its length."""
        raise NotImplementedError

    def covers(self, point: int) -> bool:
        """(A kind that fires once, inside the body.) Whether it fires at the body's
        ``point``-th point: its own, and the rest of its burst if it has one."""
        raise NotImplementedError

    def fire_in_body(self, attempt: StepAttempt, plan: PlanState) -> None:
        """(A kind that fires once, inside the body.) Do it now, at the body's point."""
        raise NotImplementedError


@dataclass(frozen=True, repr=False)
class CallbackFault(FaultKind):
    """Lands on the ``callback``-th callback created (across the scenario, from 1): the
    partner answers it otherwise than with a success."""

    point: ClassVar[str] = "a callback being created"
    masked: ClassVar[bool] = False
    positional: ClassVar[bool] = False
    target: ClassVar[str | None] = "CALLBACK"
    #: How the reference evaluator calls what happens to the callback.
    reference: ClassVar[str] = ""

    callback: int = 1

    @property
    def modelled(self) -> bool:
        return True

    def describe_to(self, facts: ReferenceFacts) -> None:
        # The first planned fault for an ordinal is the one that fires (as in the hooks).
        facts.callback_faults.setdefault(self.callback, self.reference)

    @classmethod
    def placed(cls, ordinal: int, choose: Chooser) -> Self:
        return cls(callback=ordinal)

    @classmethod
    def applies_to(cls, limits: CallbackLimits) -> bool:
        """Whether the service could end a callback with these time-outs this way: a fault
        that could not happen to it does not land (the callback is answered as usual)."""
        return True

    def answer(
        self,
        runner: DurableFunctionTestRunner,
        callback_id: str,
        delay: float,
        label: str,
        limits: CallbackLimits,
    ) -> None:
        """Schedule what the partner does with the callback: its answer ``delay`` seconds from
        now, or (for a time-out) whatever leaves the service's own timer to end it."""
        raise NotImplementedError


@dataclass(frozen=True, repr=False)
class InvokeFault(FaultKind):
    """Lands on the ``invoke``-th chained invoke (from 1): it ends otherwise than by
    running the function."""

    point: ClassVar[str] = "a chained invoke being started"
    masked: ClassVar[bool] = False
    positional: ClassVar[bool] = False
    target: ClassVar[str | None] = "CHAINED_INVOKE"
    #: How the reference evaluator calls what happens to the invoke.
    reference: ClassVar[str] = ""

    invoke: int = 1

    @property
    def modelled(self) -> bool:
        return True

    def describe_to(self, facts: ReferenceFacts) -> None:
        facts.invoke_faults.setdefault(self.invoke, self.reference)

    @classmethod
    def placed(cls, ordinal: int, choose: Chooser) -> Self:
        return cls(invoke=ordinal)

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[Self]:
        return draws.builds(cls, invoke=draws.ordinal)

    def result(self, function_name: str) -> InvokeResult:
        """The invoke's result, instead of running ``function_name``."""
        raise NotImplementedError


# --- the kinds, simplest first ----------------------------------------------------------


@register
@dataclass(frozen=True, repr=False)
class CrashFault(CheckpointCallFault):
    """The sandbox dies on call ``call`` of invocation ``invocation``: nothing of that call is
    applied, later durable calls fail fast, every task of the invocation is cancelled, and
    the service re-invokes from what it acknowledged.

    With ``times=n`` (a crash loop) the sandbox also dies on the first checkpoint call of
    each of the next ``n - 1`` invocations."""

    kind: ClassVar[str] = "crash"
    call: int = 1
    times: int = _burst("invocations that crash in a row")

    @property
    def call_index(self) -> int:
        return self.call

    @property
    def deaths(self) -> int:
        return self.times

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[CrashFault]:
        return draws.builds(cls, invocation=draws.invocation, call=draws.call)

    @classmethod
    def placed(cls, at: ServiceCall, choose: Chooser) -> CrashFault:
        return cls(invocation=at.invocation_index, call=at.checkpoint_index, times=choose.burst())

    def effect(self, call: ServiceCall, plan: PlanState) -> Fault:
        if self.times > 1:
            plan.repeat_on_next_invocations(self, self.times - 1, after=call.invocation_index)
        return Crash(f"injected {self!r}")

    def again(self, call: ServiceCall) -> Fault:
        return Crash(f"injected {self!r} (invocation {call.invocation_index})")


@register
@dataclass(frozen=True, repr=False)
class InvocationLostFault(InvocationReturnFault):
    """The handler returned, but its response never reached the service: it re-invokes."""

    kind: ClassVar[str] = "invocation_lost"

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[InvocationLostFault]:
        return draws.builds(cls, invocation=draws.invocation)

    @classmethod
    def placed(cls, at: InvocationInfo, choose: Chooser) -> InvocationLostFault:
        return cls(invocation=at.index)

    def effect(self, invocation: InvocationInfo, plan: PlanState) -> bool:
        return True


@dataclass(frozen=True, repr=False)
class ServiceErrorFault(CheckpointCallFault):
    """Call ``call`` of invocation ``invocation`` meets the service error ``error``; masked
    exactly when the SDK retries that error by re-invoking."""

    log_markers: ClassVar[tuple[str, ...]] = ("(injected)", STALE_TOKEN_PREFIX)

    call: int = 1
    error: str = SERVICE_ERRORS[0]

    @property
    def masked(self) -> bool:  # type: ignore[override]
        return self.error in RETRYABLE_ERRORS

    @property
    def call_index(self) -> int:
        return self.call

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[Self]:
        return draws.builds(cls, invocation=draws.invocation, call=draws.call, error=draws.error)

    @classmethod
    def placed(cls, at: ServiceCall, choose: Chooser) -> Self:
        error = choose.pick(SERVICE_ERRORS)
        return cls(invocation=at.invocation_index, call=at.checkpoint_index, error=error)


@register
@dataclass(frozen=True, repr=False)
class CheckpointErrorFault(ServiceErrorFault):
    """Call ``call`` is refused with ``error`` before anything is applied.

    With ``times=n`` (an outage of the checkpoint API that outlasts an invocation: a
    throttling storm, a service event) the first checkpoint call of each of the next
    ``n - 1`` invocations is refused with it too. Only a retryable error has a next
    invocation: the SDK ends the invocation, and the service invokes the function again."""

    kind: ClassVar[str] = "checkpoint_error"
    times: int = _burst("invocations whose checkpoint calls are refused in a row")

    @property
    def deaths(self) -> int:
        return self.times if self.masked else 1

    @classmethod
    def placed(cls, at: ServiceCall, choose: Chooser) -> CheckpointErrorFault:
        error = choose.pick(SERVICE_ERRORS)
        times = choose.burst() if error in RETRYABLE_ERRORS else 1
        return cls(
            invocation=at.invocation_index, call=at.checkpoint_index, error=error, times=times
        )

    def effect(self, call: ServiceCall, plan: PlanState) -> Fault:
        if self.times > 1:
            plan.repeat_on_next_invocations(self, self.times - 1, after=call.invocation_index)
        return FailCall(service_error(self.error))

    def again(self, call: ServiceCall) -> Fault:
        return FailCall(service_error(self.error))


@register
@dataclass(frozen=True, repr=False)
class LostResponseFault(ServiceErrorFault):
    """Call ``call`` is applied, but the SDK gets ``error`` instead of the response."""

    kind: ClassVar[str] = "lost_response"

    def effect(self, call: ServiceCall, plan: PlanState) -> Fault:
        return LoseResponse(service_error(self.error))


@dataclass(frozen=True, repr=False)
class _DuplicateDelivery(CheckpointCallFault):
    """Invocation ``invocation`` is delivered a second time (same token and state) right
    after its first delivery's call ``after_call``."""

    log_markers: ClassVar[tuple[str, ...]] = (STALE_TOKEN_PREFIX,)
    after_call: int = 1

    @property
    def call_index(self) -> int:
        return self.after_call

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[Self]:
        return draws.builds(cls, invocation=draws.invocation, after_call=draws.call)

    @classmethod
    def placed(cls, at: ServiceCall, choose: Chooser) -> Self:
        return cls(invocation=at.invocation_index, after_call=at.checkpoint_index)


@register
@dataclass(frozen=True, repr=False)
class DuplicateInvocationFault(_DuplicateDelivery):
    """Invocation ``invocation`` is delivered a second time (same token and state) right
    after its first delivery's call ``after_call``; the stale-token errors that follow are
    handled as the SDK handles them."""

    kind: ClassVar[str] = "duplicate_invocation"

    def effect(self, call: ServiceCall, plan: PlanState) -> Fault:
        return DeliverDuplicate()


@register
@dataclass(frozen=True, repr=False)
class StepExceptionFault(StepFault):
    """The ``step``-th step to run raises on attempt ``attempt``, before its body runs; the
    SDK's retry strategy sees it. What it raises is a transient failure of the kind the
    step's strategy retries, where the strategy names the kinds (``injected_step_error``).

    With ``times=k`` (a transient outage with a length) attempts ``attempt`` to
    ``attempt + k - 1`` all raise: the partner fails the step's next k attempts."""

    kind: ClassVar[str] = "step_exception"
    attempt: int = 1
    times: int = _burst("consecutive attempts that raise")

    @property
    def attempts(self) -> range:
        """The attempts that raise."""
        return range(self.attempt, self.attempt + self.times)

    @property
    def modelled(self) -> bool:
        return True

    def describe_to(self, facts: ReferenceFacts) -> None:
        facts.step_exceptions.extend((self.step, attempt) for attempt in self.attempts)

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[StepExceptionFault]:
        return draws.builds(cls, step=draws.ordinal, times=draws.burst)

    @classmethod
    def placed(cls, ordinal: int, at: StepAttempt, choose: Chooser) -> StepExceptionFault:
        return cls(step=ordinal, attempt=at.attempt, times=choose.burst())

    def lands_at(self, ordinal: int, attempt: int) -> bool:
        return self.step == ordinal and attempt in self.attempts

    def effect(self, attempt: StepAttempt, plan: PlanState) -> BaseException:
        label = attempt.name or attempt.operation_id[:12]
        return injected_step_error(
            f"injected by {self!r}: step {label!r} raised on attempt {attempt.attempt}",
            attempt.retried_types,
            attempt.retried_messages,
        )


@dataclass(frozen=True, repr=False)
class InBodyFault(StepFault):
    """Fires at the ``point``-th of some points inside the ``step``-th step's body
    (``inside``: its waits, its AWS calls), on attempt ``attempt``. Lands only on a body with
    that many such points, and fires once."""

    once: ClassVar[bool] = True
    #: The kind's own field that says which of the body's points it fires at.
    point_field: ClassVar[str] = ""
    attempt: int = 1

    @property
    def point_number(self) -> int:
        """Which of the body's points it fires at (the kind's ``point_field``)."""
        number: int = getattr(self, self.point_field)
        return number

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[Self]:
        return draws.builds(cls, step=draws.ordinal, **{cls.point_field: draws.burst})

    @classmethod
    def placed_in_body(
        cls, ordinal: int, at: StepAttempt, point: int, choose: Chooser | None = None
    ) -> Self:
        return cls(step=ordinal, attempt=at.attempt, **{cls.point_field: point})

    @classmethod
    def placed(cls, ordinal: int, at: StepAttempt, choose: Chooser) -> Self:
        # (A placing run places it where it lands, in the body: ``placed_in_body``.)
        return cls.placed_in_body(ordinal, at, choose.burst(), choose)

    def lands_at(self, ordinal: int, attempt: int) -> bool:
        return self.step == ordinal and attempt == self.attempt

    def covers(self, point: int) -> bool:
        return point == self.point_number

    def effect(self, attempt: StepAttempt, plan: PlanState) -> WrapBody:
        def at(point: int) -> None:
            if self.covers(point):
                self.fire_in_body(attempt, plan)

        return watch_inside(self.inside, at)


@dataclass(frozen=True, repr=False)
class InBodyCrashFault(InBodyFault):
    """The sandbox dies at the ``point``-th of some points inside the ``step``-th step's body
    (``inside``: its waits, its AWS calls), on attempt ``attempt``: what the body did before
    stays done, nothing after happens, and the attempt's end is never checkpointed. The
    service re-invokes and the SDK runs the attempt again (an at-most-once step is found
    interrupted instead). Lands only on a body with that many such points, and fires once."""

    masked: ClassVar[bool] = True

    def fire_in_body(self, attempt: StepAttempt, plan: PlanState) -> None:
        crash = attempt.crash_sandbox
        if crash is not None:  # (a worker process's body is out of reach: it never lands)
            plan.landed(self)
            crash(f"injected {self!r}")
            self.stop_body()

    def stop_body(self) -> None:
        """What stops the body once the sandbox is dead: nothing at a wait (the killed tasks
        stop it there)."""


@register
@dataclass(frozen=True, repr=False)
class BodyCrashFault(InBodyCrashFault):
    """The sandbox dies while the ``step``-th step's body, on attempt ``attempt``, waits for
    the ``suspension``-th time (for a partner's answer, a sleep, a thread's result), as a
    sandbox dies at its memory limit or with its host: what the body did before stays done,
    nothing after happens, and the attempt's end is never checkpointed. The service
    re-invokes and the SDK runs the attempt again (an at-most-once step is found interrupted
    instead). Lands only on a body that waits that often, and fires once."""

    kind: ClassVar[str] = "body_crash"
    point_field: ClassVar[str] = "suspension"
    inside: ClassVar[str] = "wait"
    suspension: int = field(default=1, metadata={"doc": "which of the body's waits it dies in"})


@register
@dataclass(frozen=True, repr=False)
class AwsCallCrashFault(InBodyCrashFault):
    """The sandbox dies right after the ``step``-th step's body, on attempt ``attempt``, made
    its ``call``-th AWS call (through boto3, botocore or aiobotocore, while the body runs: on
    its own thread, from its coroutines, or on a thread it handed work to, with
    ``asyncio.to_thread``, ``run_in_executor``, a pool's ``submit`` or a ``Thread``): AWS did
    what the call asked and answered, and the body never sees the answer. What it did before
    stays done, nothing after happens, and the attempt's end is never checkpointed. The state
    between two AWS calls a body makes without waiting between them (a record written, the
    request it guards never sent) is reached by no other kind. Lands only on a body that calls
    AWS that often, and fires once."""

    kind: ClassVar[str] = "aws_call_crash"
    point_field: ClassVar[str] = "call"
    inside: ClassVar[str] = "aws_call"
    call: int = field(default=1, metadata={"doc": "which of the body's AWS calls it dies after"})

    def stop_body(self) -> None:
        # The body is in the middle of its own code, not at an await that the killed tasks
        # would stop: it stops here, as a dead sandbox runs nothing more.
        raise asyncio.CancelledError(f"the sandbox died: injected {self!r}")


@register
@dataclass(frozen=True, repr=False)
class AwsCallTimeoutFault(InBodyFault):
    """The ``step``-th step's body, on attempt ``attempt``, never gets the answer to its
    ``call``-th AWS call, nor with ``times=k`` (an outage with a length) to the ``k - 1``
    calls it makes next (through boto3, botocore or aiobotocore, counted as for
    ``aws_call_crash``):
    AWS did what the call asked, and the client raises botocore's ``ReadTimeoutError`` at
    the call instead, as boto3 does once its own retries of a read that timed out ran out.
    The sandbox lives on: the body sees the error where it made the call, and what it does
    with it is the point (a body that takes a timed-out write for one never done, and acts
    on that, does it twice or reports it failed). Not masked: a body that lets the error out
    fails the attempt, which its step retries or not. Lands only on a body that calls AWS
    that often, and fires once."""

    kind: ClassVar[str] = "aws_call_timeout"
    point_field: ClassVar[str] = "call"
    inside: ClassVar[str] = "aws_call"
    call: int = field(default=1, metadata={"doc": "which of the body's AWS calls times out"})
    times: int = _burst("consecutive AWS calls that time out")

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[Self]:
        return draws.builds(cls, step=draws.ordinal, call=draws.burst, times=draws.burst)

    @classmethod
    def placed_in_body(
        cls, ordinal: int, at: StepAttempt, point: int, choose: Chooser | None = None
    ) -> Self:
        times = 1 if choose is None else choose.burst()
        return cls(step=ordinal, attempt=at.attempt, call=point, times=times)

    def covers(self, point: int) -> bool:
        return self.call <= point < self.call + self.times

    @property
    def modelled(self) -> bool:
        return True

    def describe_to(self, facts: ReferenceFacts) -> None:
        if self.call == 1:
            facts.step_timeouts.append((self.step, self.attempt))

    def fire_in_body(self, attempt: StepAttempt, plan: PlanState) -> None:
        if attempt.crash_sandbox is None:
            return  # (a worker process's body is out of reach: it never lands)
        plan.landed_in_body(self, attempt)
        raise ReadTimeoutError(endpoint_url=f"(AWS, answering a call: {self!r})")


def watch_inside(inside: str, at: Callable[[int], None]) -> WrapBody:
    """``watch_waits`` or ``watch_aws_calls``, for the points a kind fires ``inside``."""
    if inside == "aws_call":
        return watch_aws_calls(at)
    return watch_waits(at)


def watch_waits(at_wait: Callable[[int], None]) -> WrapBody:
    """Run the body, calling ``at_wait(n)`` each time it waits (for the ``n``-th time, from
    1), before it waits: what ``at_wait`` does to the sandbox then (kill it) reaches the
    body at that wait."""

    def wrap(body: StepBody) -> StepBody:
        async def watched(*state: Any) -> Any:
            return await _Waits(body(*state), at_wait)

        return watched

    return WrapBody(wrap)


class _Waits:
    """A body's coroutine, run with ``at_wait`` called at each of its waits."""

    __slots__ = ("_at_wait", "_body")

    def __init__(self, body: Any, at_wait: Callable[[int], None]) -> None:
        self._body = body
        self._at_wait = at_wait

    def __await__(self) -> Any:
        inner = self._body.__await__()
        waits = 0
        try:
            waiting_for = inner.send(None)
            while True:
                waits += 1
                self._at_wait(waits)
                try:
                    answer = yield waiting_for
                except BaseException as error:
                    waiting_for = inner.throw(error)
                else:
                    waiting_for = inner.send(answer)
        except StopIteration as done:
            return done.value


@register
@dataclass(frozen=True, repr=False)
class CallbackFailureFault(CallbackFault):
    """The partner answers with ``SendDurableExecutionCallbackFailure``."""

    kind: ClassVar[str] = "callback_failure"
    reference: ClassVar[str] = "failure"

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[CallbackFailureFault]:
        return draws.builds(cls, callback=draws.ordinal)

    def answer(
        self,
        runner: DurableFunctionTestRunner,
        callback_id: str,
        delay: float,
        label: str,
        limits: CallbackLimits,
    ) -> None:
        error = ErrorObject(
            error_type="InjectedCallbackFailure", error_message=f"injected by {self!r}"
        )
        runner.schedule(
            delay,
            lambda: _quietly(runner.send_callback_failure, callback_id, error),
            label=f"answer {label}",
        )


@dataclass(frozen=True, repr=False)
class _TimedOutCallback(CallbackFault):
    """The partner never answers: one of the callback's time-outs expires, on the service's
    own timer (the harness never ends the callback itself)."""

    log_markers: ClassVar[tuple[str, ...]] = ("Callback.Timeout", "Callback.Heartbeat")

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[Self]:
        return draws.builds(cls, callback=draws.ordinal)

    def answer(
        self,
        runner: DurableFunctionTestRunner,
        callback_id: str,
        delay: float,
        label: str,
        limits: CallbackLimits,
    ) -> None:
        return  # silence: the service's own timer ends the callback


@register
@dataclass(frozen=True, repr=False)
class CallbackTimeoutFault(_TimedOutCallback):
    """The partner works on the callback and never finishes: it keeps the callback alive with
    heartbeats (when it has a heartbeat time-out) and never answers, so the callback times out
    when its ``TimeoutSeconds`` expire. A callback without a time-out never times out: the
    fault does not land on it, nor on one whose keep-alive would take more than
    ``MAX_KEEP_ALIVE_HEARTBEATS`` heartbeats."""

    kind: ClassVar[str] = "callback_timeout"
    reference: ClassVar[str] = "timeout"

    @classmethod
    def applies_to(cls, limits: CallbackLimits) -> bool:
        if limits.timeout <= 0:
            return False
        if limits.heartbeat_timeout <= 0:
            return True
        beats = limits.timeout / keep_alive_interval(limits.heartbeat_timeout)
        return beats <= MAX_KEEP_ALIVE_HEARTBEATS

    def answer(
        self,
        runner: DurableFunctionTestRunner,
        callback_id: str,
        delay: float,
        label: str,
        limits: CallbackLimits,
    ) -> None:
        if limits.heartbeat_timeout > 0:
            interval = keep_alive_interval(limits.heartbeat_timeout)
            _keep_alive(runner, callback_id, interval, float(limits.timeout), label, 0.0)


@register
@dataclass(frozen=True, repr=False)
class HeartbeatTimeoutFault(_TimedOutCallback):
    """The partner goes silent at once: no heartbeat, no answer, so the callback's heartbeat
    time-out expires (or its time-out, if that is shorter). Only a callback created with a
    heartbeat time-out can time out this way: the fault does not land on others."""

    kind: ClassVar[str] = "heartbeat_timeout"
    reference: ClassVar[str] = "heartbeat_timeout"

    @classmethod
    def applies_to(cls, limits: CallbackLimits) -> bool:
        return limits.heartbeat_timeout > 0


@register
@dataclass(frozen=True, repr=False)
class InvokeFailureFault(InvokeFault):
    """The invoke ends FAILED (``InjectedInvokeFailure``) without running the function."""

    kind: ClassVar[str] = "invoke_failure"
    reference: ClassVar[str] = "failure"

    def result(self, function_name: str) -> InvokeResult:
        return InvokeResult(
            status="FAILED",
            error=ErrorObject(
                error_type="InjectedInvokeFailure",
                error_message=f"injected by {self!r}: {function_name} failed",
            ),
        )


@register
@dataclass(frozen=True, repr=False)
class InvokeTimeoutFault(InvokeFault):
    """The invoke ends TIMED_OUT (``Execution.TimedOut``) without running the function."""

    kind: ClassVar[str] = "invoke_timeout"
    reference: ClassVar[str] = "timeout"

    def result(self, function_name: str) -> InvokeResult:
        return InvokeResult(
            status="TIMED_OUT",
            error=ErrorObject(
                error_type="Execution.TimedOut",
                error_message=f"injected by {self!r}: {function_name} timed out",
            ),
        )


@register
@dataclass(frozen=True, repr=False)
class LostThenDuplicatedFault(_DuplicateDelivery):
    """Invocation ``invocation`` is delivered twice (the second delivery right after its
    call ``after_call``) and the first delivery's response is lost: an at-least-once
    invoker that believed the invocation lost and delivered it again."""

    kind: ClassVar[str] = "lost_then_duplicated"

    def effect(self, call: ServiceCall, plan: PlanState) -> Fault:
        plan.lose_response_of(call.execution_arn, call.invocation_index)
        return DeliverDuplicate()


@register
@dataclass(frozen=True, repr=False)
class HeartbeatThenTimeoutFault(_TimedOutCallback):
    """The partner heartbeats ``heartbeats`` times (one second apart, from when it would
    have answered), then goes silent: the callback's heartbeat time-out expires after the last
    heartbeat that reached it. Only a callback created with a heartbeat time-out can time out
    this way: the fault does not land on others."""

    kind: ClassVar[str] = "heartbeat_then_timeout"
    # Heartbeats, then silence: the heartbeat time-out expires.
    reference: ClassVar[str] = "heartbeat_timeout"
    heartbeats: int = 2

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[HeartbeatThenTimeoutFault]:
        return draws.builds(cls, callback=draws.ordinal, heartbeats=draws.burst)

    @classmethod
    def placed(cls, ordinal: int, choose: Chooser) -> HeartbeatThenTimeoutFault:
        return cls(callback=ordinal, heartbeats=choose.burst())

    def describe_to(self, facts: ReferenceFacts) -> None:
        if self.callback not in facts.callback_faults:
            facts.callback_heartbeats[self.callback] = self.heartbeats
        super().describe_to(facts)

    @classmethod
    def applies_to(cls, limits: CallbackLimits) -> bool:
        return limits.heartbeat_timeout > 0

    def answer(
        self,
        runner: DurableFunctionTestRunner,
        callback_id: str,
        delay: float,
        label: str,
        limits: CallbackLimits,
    ) -> None:
        # A second apart from the answer's delay: the partner is alive, then goes silent. A
        # heartbeat that comes after a time-out is refused, as the service refuses it.
        for beat in range(self.heartbeats):
            runner.schedule(
                delay + beat,
                lambda: _quietly(runner.send_callback_heartbeat, callback_id),
                label=f"heartbeat {beat + 1} for {label}",
            )


#: How long an ``outage`` lasts, in seconds on the runner's clock (the first is the simplest):
#: from shorter than the SDK's default retry budget (six attempts, backoff from 5 s to 60 s
#: with full jitter) to longer than any of its presets.
OUTAGE_SECONDS = (10, 60, 300, 3600)


@register
@dataclass(frozen=True, repr=False)
class OutageFault(StepFault):
    """A partner is down for ``seconds`` on the runner's clock, from when the ``step``-th
    step's attempt ``attempt`` starts: that attempt, and every attempt of the partner's
    steps in the same execution (``wait_for_condition`` checks included) that starts
    before the outage ends, raises before its body runs, as ``step_exception`` raises (a
    transient failure of the kind each step's strategy retries). A retry whose backoff
    outlasts the outage succeeds; a step whose budget does not fails, and so does whatever
    the handler runs right after it (a fallback, a compensation) if it calls the same
    partner. Like ``step_exception``, every run of an attempt it hit meets it again.

    The partner's steps are those whose names match one of ``steps`` (``fnmatch`` patterns,
    case-sensitive: ``("charge*", "refund")``); with ``steps=()``, every step depends on it.
    ``fault_plans(partners=...)`` draws each outage for one partner the suite declared."""

    kind: ClassVar[str] = "outage"
    # Asked for by name: an outage outlasts retry budgets that every other kind leaves intact
    # (a burst is at most ``max_attempt`` attempts, fewer than the SDK's default six), so it
    # fails steps that default plans never fail, including steps that call no partner at all
    # (a uuid drawn in a step). A property that holds under it says what must stay true when
    # a partner stays down (nothing held unpaid, compensations done), not that the workflow
    # always succeeds; such a suite asks for it (``kinds={*DEFAULT_KINDS, "outage"}``).
    by_default: ClassVar[bool] = False
    attempt: int = 1
    seconds: int = field(default=60, metadata={"doc": "how long the partner stays down"})
    steps: tuple[str, ...] = field(
        default=(),
        metadata={"omit_default": True, "doc": "the partner's step names (patterns); (): all"},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.steps, str) or not all(isinstance(p, str) and p for p in self.steps):
            msg = (
                f"outage: steps must be a tuple of step-name patterns such as ('charge*',), "
                f"got {self.steps!r}"
            )
            raise ValueError(msg)
        # A list given by hand would make the fault unhashable (plans are sets of faults).
        object.__setattr__(self, "steps", tuple(self.steps))

    @classmethod
    def drawn(cls, draws: Draws) -> SearchStrategy[OutageFault]:
        partners = draws.partners
        return draws.builds(
            cls,
            step=draws.ordinal,
            seconds=draws.sampled(OUTAGE_SECONDS),
            steps=draws.sampled(partners if partners else ((),)),
        )

    @classmethod
    def can_start_at(cls, at: StepAttempt, choose: Chooser) -> bool:
        return choose.partner_of(at.name) is not None

    @classmethod
    def placed(cls, ordinal: int, at: StepAttempt, choose: Chooser) -> OutageFault:
        return cls(
            step=ordinal,
            attempt=at.attempt,
            seconds=choose.pick(OUTAGE_SECONDS),
            steps=choose.partner_of(at.name) or (),
        )

    def lands_at(self, ordinal: int, attempt: int) -> bool:
        return self.step == ordinal and attempt == self.attempt

    def meets(self, attempt: StepAttempt) -> bool:
        return self.hits(attempt.name)

    def hits(self, name: str | None) -> bool:
        """Whether a step of that name calls the partner that is down."""
        return not self.steps or matches_any(name, self.steps)

    def effect(self, attempt: StepAttempt, plan: PlanState) -> BaseException:
        plan.begin_outage(self)
        return self.raised(attempt)

    def raised(self, attempt: StepAttempt) -> BaseException:
        """What an attempt the outage hits raises."""
        label = attempt.name or attempt.operation_id[:12]
        return injected_step_error(
            f"injected by {self!r}: step {label!r} raised on attempt {attempt.attempt}",
            attempt.retried_types,
            attempt.retried_messages,
        )


def matches_any(name: str | None, patterns: Sequence[str]) -> bool:
    """Whether a step name matches one of the patterns (an unnamed step matches none)."""
    return name is not None and any(fnmatch.fnmatchcase(name, p) for p in patterns)


# Short constructor names, as a reproducer prints them.
crash = CrashFault
lost_response = LostResponseFault
checkpoint_error = CheckpointErrorFault
invocation_lost = InvocationLostFault
duplicate_invocation = DuplicateInvocationFault
step_exception = StepExceptionFault
body_crash = BodyCrashFault
aws_call_crash = AwsCallCrashFault
aws_call_timeout = AwsCallTimeoutFault
callback_failure = CallbackFailureFault
callback_timeout = CallbackTimeoutFault
heartbeat_timeout = HeartbeatTimeoutFault
invoke_failure = InvokeFailureFault
invoke_timeout = InvokeTimeoutFault
lost_then_duplicated = LostThenDuplicatedFault
heartbeat_then_timeout = HeartbeatThenTimeoutFault
outage = OutageFault


def invocations_spent(plan: tuple[FaultKind, ...]) -> int:
    """How many invocations a plan can kill at most (each crash of a loop is one)."""
    return sum(f.deaths for f in plan)


def kinds_at(point: type[K], names: Sequence[str]) -> tuple[type[K], ...]:
    """The kinds among ``names`` that land at ``point`` (a point's base class), in order."""
    found: list[type[K]] = []
    for name in names:
        cls = FAULT_KINDS[name]
        if issubclass(cls, point):
            found.append(cls)
    return tuple(found)
