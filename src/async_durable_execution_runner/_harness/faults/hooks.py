"""``FaultPlanHooks``: a plan applied to the emulator through its public fault-hook seam.

At each point of a run the hooks find the first armed fault of the plan that lands there
(each kind says where it lands) and answer with its effect; each fault fires once and is
recorded in ``applied``. Checkpoint-call, invocation and step faults aim at the execution
their ``execution`` names: the scenario's own (``root_arn``) or one its chained invokes
started (``invoked``, told by ``note_invoked``); callback and invoke faults count the
callbacks and invokes of every execution, in the order they are created.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from async_durable_execution_runner._harness.faults.kinds import (
    CallbackFault,
    CallbackLimits,
    CheckpointCallFault,
    FaultKind,
    InvocationReturnFault,
    InvokeFault,
    OutageFault,
    StepFault,
    invocations_spent,
)
from async_durable_execution_runner._service.seams import (
    Fault,
    InvocationInfo,
    ServiceCall,
    StepAttempt,
    WrapBody,
)

F = TypeVar("F", bound=FaultKind)


@dataclass
class FaultPlanHooks:
    """Applies a plan to the root execution through the emulator's ``FaultHooks`` seam."""

    plan: tuple[FaultKind, ...]
    root_arn: str | None = None
    applied: list[FaultKind] = field(default_factory=list)
    #: Each execution's steps (operation ids) in the order they first ran.
    _step_order: dict[str, list[str]] = field(default_factory=dict)
    #: Bursts that span invocations (a crash loop, a checkpoint outage) under way: how many
    #: more invocations meet the fault, and the last that did.
    _repeats: dict[CheckpointCallFault, tuple[int, int]] = field(default_factory=dict)
    #: Invocations whose response a fault will lose when they return: (execution, index).
    _lose_responses: set[tuple[str, int]] = field(default_factory=set)
    #: The executions the run's chained invokes started, by ARN: the ordinal of the invoke
    #: that started each (``note_invoked``), which a fault's ``execution`` names.
    invoked: dict[str, int] = field(default_factory=dict)
    #: Chained invokes by (execution, operation id): their ordinals (``note_invoke``).
    _invoke_ordinals: dict[tuple[str, str], int] = field(default_factory=dict)
    #: The unmasked faults that landed inside a body, by attempt (execution, operation id,
    #: attempt): what the body saw there, which a baseline's run of it must see again.
    in_body: dict[tuple[str, str, int], StepFault] = field(default_factory=dict)
    #: The runner's clock, which an outage is measured on (the scenario sets it).
    now: Callable[[], _dt.datetime] | None = field(default=None, repr=False, compare=False)
    #: Outages under way: when each ends, and the attempts (execution, operation id,
    #: attempt) it hit.
    _outages: dict[OutageFault, tuple[_dt.datetime, set[tuple[str, str, int]]]] = field(
        default_factory=dict
    )

    # --- which execution ---------------------------------------------------------------

    def note_invoke(self, execution_arn: str, operation_id: str, ordinal: int) -> None:
        """The chained invoke ``operation_id`` of ``execution_arn`` is the run's
        ``ordinal``-th."""
        self._invoke_ordinals.setdefault((execution_arn, operation_id), ordinal)

    def note_invoked(self, execution_arn: str, parent_arn: str, operation_id: str) -> None:
        """``execution_arn`` started for the chained invoke ``operation_id`` of
        ``parent_arn``."""
        ordinal = self._invoke_ordinals.get((parent_arn, operation_id))
        if ordinal is not None:
            self.invoked.setdefault(execution_arn, ordinal)

    def execution_of(self, execution_arn: str) -> int | None:
        """The number faults name ``execution_arn`` by (``FaultKind``'s ``execution``): 0 for
        the scenario's own, ``None`` for one the plan cannot name."""
        if execution_arn == self.root_arn:
            return 0
        return self.invoked.get(execution_arn)

    def in_execution(self, fault: F, execution_arn: str) -> F:
        """``fault``, placed at a point of ``execution_arn``, naming that execution."""
        execution = self.execution_of(execution_arn)
        if not execution or getattr(fault, "execution", 0) == execution:
            return fault
        return replace(fault, execution=execution)  # type: ignore[call-arg]

    def _armed(self, fault: FaultKind) -> bool:
        return fault not in self.applied

    def _fire(self, fault: FaultKind) -> None:
        self.applied.append(fault)

    def _armed_at(self, point: type[F]) -> list[F]:
        return [f for f in self.plan if isinstance(f, point) and self._armed(f)]

    def invocations_at_risk(self) -> int:
        """How many invocations the plan may kill, at most."""
        return invocations_spent(self.plan)

    # --- what effects may ask for (``kinds.PlanState``) --------------------------------

    def repeat_on_next_invocations(self, fault: FaultKind, count: int, after: int) -> None:
        assert isinstance(fault, CheckpointCallFault)
        self._repeats[fault] = (count, after)

    def lose_response_of(self, execution_arn: str, invocation_index: int) -> None:
        self._lose_responses.add((execution_arn, invocation_index))

    def begin_outage(self, fault: OutageFault) -> None:
        if fault in self._outages:
            return  # the attempt that started it, run again after a crash
        if self.now is None:
            msg = (
                f"{fault!r} is measured on the runner's clock, but these fault hooks were "
                "given none: set `hooks.now = runner.clock.now` before the run"
            )
            raise RuntimeError(msg)
        self._outages[fault] = (self.now() + _dt.timedelta(seconds=fault.seconds), set())

    def _outage_meets(self, attempt: StepAttempt, execution: int) -> BaseException | None:
        """The error of an outage under way that ``attempt`` meets (it starts before the
        outage ends, or it is an attempt the outage hit, run again), if any."""
        if not self._outages or self.now is None:
            return None
        key = (attempt.execution_arn, attempt.operation_id, attempt.attempt)
        for fault, (until, hit) in self._outages.items():
            if fault.execution != execution:
                continue  # (a partner down for the execution it was placed in)
            if key in hit or (self.now() < until and fault.hits(attempt.name)):
                hit.add(key)
                return fault.raised(attempt)
        return None

    def landed(self, fault: FaultKind) -> None:
        if self._armed(fault):
            self._fire(fault)

    def landed_in_body(self, fault: FaultKind, attempt: StepAttempt) -> None:
        self.landed(fault)
        if isinstance(fault, StepFault):
            self.in_body[(attempt.execution_arn, attempt.operation_id, attempt.attempt)] = fault

    # --- the seam ---------------------------------------------------------------------

    def _continue_burst(self, call: ServiceCall, execution: int) -> Fault | None:
        for fault, (remaining, last) in self._repeats.items():
            if remaining and fault.execution == execution and call.invocation_index > last:
                self._repeats[fault] = (remaining - 1, call.invocation_index)
                return fault.again(call)
        return None

    def on_service_call(self, call: ServiceCall) -> Fault | None:
        if call.kind != "checkpoint":
            return None
        execution = self.execution_of(call.execution_arn)
        if execution is None:
            return None
        repeated = self._continue_burst(call, execution)
        if repeated is not None:
            return repeated
        for fault in self._armed_at(CheckpointCallFault):
            if fault.execution == execution and fault.lands_at(call):
                self._fire(fault)
                return fault.effect(call, self)
        return None

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        execution = self.execution_of(invocation.execution_arn)
        if execution is None:
            return False
        lost = (invocation.execution_arn, invocation.index)
        if lost in self._lose_responses:
            self._lose_responses.discard(lost)
            return True
        for fault in self._armed_at(InvocationReturnFault):
            if fault.execution == execution and fault.lands_at(invocation):
                self._fire(fault)
                return fault.effect(invocation, self)
        return False

    def step_ordinal(self, attempt: StepAttempt) -> int:
        """The step's ordinal: distinct steps of its execution, in the order they first ran."""
        order = self._step_order.setdefault(attempt.execution_arn, [])
        if attempt.operation_id not in order:
            order.append(attempt.operation_id)
        return order.index(attempt.operation_id) + 1

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        execution = self.execution_of(attempt.execution_arn)
        if execution is None:
            return None
        ordinal = self.step_ordinal(attempt)
        down = self._outage_meets(attempt, execution)
        if down is not None:
            return down
        for fault in self.plan:
            if not (
                isinstance(fault, StepFault)
                and fault.execution == execution
                and fault.lands_at(ordinal, attempt.attempt)
                and fault.meets(attempt)
            ):
                continue
            if fault.once:
                # Fires when its effect lands (``landed``), and only then.
                if self._armed(fault):
                    return fault.effect(attempt, self)
                continue
            # Not "armed once": if a crash makes the SDK run the same attempt again, that
            # attempt raises again (the fault belongs to the attempt, not to one body run).
            if self._armed(fault):
                self._fire(fault)
            return fault.effect(attempt, self)
        return None

    def callback_fault(self, ordinal: int, limits: CallbackLimits) -> CallbackFault | None:
        """The fault that answers the ``ordinal``-th callback created, if any: one that could
        happen to a callback with these time-outs (see ``CallbackFault.applies_to``)."""
        for fault in self._armed_at(CallbackFault):
            if fault.callback == ordinal:
                if not fault.applies_to(limits):
                    return None
                self._fire(fault)
                return fault
        return None

    def invoke_fault(self, ordinal: int) -> InvokeFault | None:
        """The fault that ends the ``ordinal``-th chained invoke, if any."""
        for fault in self._armed_at(InvokeFault):
            if fault.invoke == ordinal:
                self._fire(fault)
                return fault
        return None
