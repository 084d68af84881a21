"""Placing faults at points the execution really has.

A plan drawn from absolute positions (invocation 3, call 5, attempt 2 of step 3) mostly
points past the end of a short execution. Instead, ``durable_scenarios`` runs the scenario
once while it is drawn, and at each point the run reaches (a checkpoint call, a step attempt,
a callback or chained invoke being created, an invocation returning) it asks its chooser
whether a fault goes there, and which. What it decided is recorded as an ordinary plan of
absolute positions, which replays without the chooser: every fault in it applied in the run
that placed it.

The chooser is a function ``choose(n) -> int in [0, n)``; the strategy backs it with
Hypothesis draws, all with the same bounds, so that a point the handler does not reach on
replay never confuses Hypothesis's record of earlier choices. Zero is always the simplest
answer: no fault here, the first kind, the first error, a burst of one. Once the plan holds
its budget of faults the run draws nothing more, so a fault placed earlier makes a shorter
choice sequence, which is what Hypothesis shrinks toward: the earliest placement that still
fails, and the fewest faults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from async_durable_execution_runner._harness.faults.hooks import FaultPlanHooks
from async_durable_execution_runner._harness.faults.kinds import (
    CallbackFault,
    CallbackLimits,
    CheckpointCallFault,
    FaultKind,
    InvocationReturnFault,
    InvokeFault,
    StepFault,
    kinds_at,
    matches_any,
    watch_inside,
)
from async_durable_execution_runner._service.seams import (
    Fault,
    InvocationInfo,
    ServiceCall,
    StepAttempt,
    WrapBody,
)

#: Every choice is drawn from ``range(CHOICES)`` (see the module docstring).
CHOICES = 64

T = TypeVar("T")
F = TypeVar("F", bound=FaultKind)


@dataclass(frozen=True)
class Placement:
    """What a placing run may draw."""

    kinds: tuple[str, ...]
    max_faults: int = 3
    #: The longest burst: consecutive failed attempts of a step, crashes in a row.
    max_burst: int = 3
    #: Roughly one point in ``density`` takes a fault while the budget lasts (Hypothesis
    #: favours small answers, and small answers decline).
    density: int = 2
    #: The step-name patterns of each partner the suite declared (``fault_plans``).
    partners: tuple[tuple[str, ...], ...] = ()


class PlacingHooks(FaultPlanHooks):
    """Fault hooks that grow their plan as the run reaches points, up to ``budget`` faults."""

    def __init__(self, choose: Callable[[int], int], placement: Placement, budget: int) -> None:
        super().__init__(plan=())
        self._choose = choose
        self.placement = placement
        self.budget = budget
        self.closed = False
        #: A BaseException the chooser raised (Hypothesis stops a draw that way); it is
        #: re-raised where the chooser's owner can handle it, not inside the handler.
        self.error: BaseException | None = None
        self._seen_attempts: set[tuple[str, int, int]] = set()

    def invocations_at_risk(self) -> int:
        return self.budget * self.placement.max_burst

    # --- choosing -------------------------------------------------------------------

    def _pick(self, n: int) -> int:
        if n <= 1:
            return 0
        return self._draw() % n

    def _draw(self) -> int:
        if self.closed or self.error is not None:
            return 0
        try:
            return self._choose(CHOICES)
        except BaseException as error:  # handed back to the chooser's owner
            self.error = error
            return 0

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options``, the first being the simplest (``kinds.Chooser``)."""
        return options[self._pick(len(options))]

    def burst(self) -> int:
        """A burst length, from 1 to the placement's longest (``kinds.Chooser``)."""
        return 1 + self._pick(self.placement.max_burst)

    def partner_of(self, name: str | None) -> tuple[str, ...] | None:
        """The patterns of the first declared partner a step of that name calls
        (``kinds.Chooser``); ``()`` when none were declared."""
        partners = self.placement.partners
        if not partners:
            return ()
        for patterns in partners:
            if matches_any(name, patterns):
                return patterns
        return None

    def _here(
        self, point: type[F], fits: Callable[[type[F]], bool] | None = None
    ) -> type[F] | None:
        """The kind of fault placed at this point, if any (among those landing at ``point``,
        and that ``fits`` it)."""
        if len(self.plan) >= self.budget or self.closed or self.error is not None:
            return None
        kinds = [k for k in kinds_at(point, self.placement.kinds) if fits is None or fits(k)]
        if not kinds:
            return None
        # Large answers mean "a fault here", so that shrinking (toward 0) removes faults.
        if self._draw() < CHOICES - CHOICES // self.placement.density:
            return None
        return self.pick(kinds)

    def _place(self, fault: FaultKind) -> None:
        self.plan = (*self.plan, fault)

    # --- points ---------------------------------------------------------------------

    def on_service_call(self, call: ServiceCall) -> Fault | None:
        answer = super().on_service_call(call)
        if (
            answer is not None
            or call.kind != "checkpoint"
            or self.execution_of(call.execution_arn) is None
        ):
            return answer
        kind = self._here(CheckpointCallFault)
        if kind is None:
            return None
        self._place(self.in_execution(kind.placed(call, self), call.execution_arn))
        return super().on_service_call(call)

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        if super().on_invocation_returned(invocation):
            return True
        if self.execution_of(invocation.execution_arn) is None:
            return False
        kind = self._here(InvocationReturnFault)
        if kind is None:
            return False
        self._place(self.in_execution(kind.placed(invocation, self), invocation.execution_arn))
        return super().on_invocation_returned(invocation)

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        answer = super().on_step_attempt(attempt)
        execution = self.execution_of(attempt.execution_arn)
        if answer is not None or execution is None:
            return answer
        ordinal = self.step_ordinal(attempt)
        seen = (attempt.execution_arn, ordinal, attempt.attempt)
        if seen in self._seen_attempts:
            return None  # the same attempt run again after a crash: not a new point
        self._seen_attempts.add(seen)

        def placed_here(fault: FaultKind) -> bool:
            return (
                isinstance(fault, StepFault)
                and fault.step == ordinal
                and fault.execution == execution
            )

        if any(placed_here(f) for f in self.plan):
            # One outage per step: its length is the burst's, so that k failures in a row
            # are one fault (which shrinks as one), never a fault plus a later burst.
            return None
        kind = self._here(StepFault, fits=lambda k: not k.once and k.can_start_at(attempt, self))
        if kind is not None:
            self._place(
                self.in_execution(kind.placed(ordinal, attempt, self), attempt.execution_arn)
            )
            return super().on_step_attempt(attempt)
        insides = {k.inside for k in kinds_at(StepFault, self.placement.kinds) if k.once}
        if attempt.crash_sandbox is None or not insides:
            return None

        # A kind that fires inside the body is placed at one of the body's points (its waits,
        # its AWS calls), as they come: placed at the attempt, it would land only on bodies
        # with that many.
        def at(inside: str) -> Callable[[int], None]:
            def at_point(point: int) -> None:
                placed = [f for f in self.plan if isinstance(f, StepFault) and placed_here(f)]
                if placed:
                    # Placed at an earlier point of this body: the rest of its burst, if any.
                    fault = placed[0]
                    if (
                        fault.once
                        and fault.inside == inside
                        and fault.lands_at(ordinal, attempt.attempt)
                        and fault.covers(point)
                    ):
                        fault.fire_in_body(attempt, self)
                    return
                once = self._here(StepFault, fits=lambda k: k.once and k.inside == inside)
                if once is None:
                    return
                fault = self.in_execution(
                    once.placed_in_body(ordinal, attempt, point, self), attempt.execution_arn
                )
                self._place(fault)
                fault.fire_in_body(attempt, self)

            return at_point

        watchers = [watch_inside(inside, at(inside)) for inside in sorted(insides)]
        if len(watchers) == 1:
            return watchers[0]
        outer, inner = watchers
        return WrapBody(lambda body: outer.wrap(inner.wrap(body)))

    def callback_fault(self, ordinal: int, limits: CallbackLimits) -> CallbackFault | None:
        planned = super().callback_fault(ordinal, limits)
        if planned is not None:
            return planned
        # Only what could happen to this callback (a heartbeat time-out needs one).
        kind = self._here(CallbackFault, fits=lambda k: k.applies_to(limits))
        if kind is None:
            return None
        self._place(kind.placed(ordinal, self))
        return super().callback_fault(ordinal, limits)

    def invoke_fault(self, ordinal: int) -> InvokeFault | None:
        planned = super().invoke_fault(ordinal)
        if planned is not None:
            return planned
        kind = self._here(InvokeFault)
        if kind is None:
            return None
        self._place(kind.placed(ordinal, self))
        return super().invoke_fault(ordinal)
