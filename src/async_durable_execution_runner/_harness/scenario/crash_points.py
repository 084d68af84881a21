"""Exhaustive crash points: every checkpoint call of a scenario, crashed before it is sent
and answered with a lost response after it is applied, and every wait and every AWS call of
its step bodies, crashed there; each run and judged.

Random search samples crash points; this enumerates them. One run of the scenario as it is
shows every checkpoint call of every invocation of its execution, and of the executions its
chained invokes start (the points there name their execution: ``execution=k``), and every
wait and AWS call of every step body; each call then gives two scenarios of one more fault
each,
``crash(invocation=i, call=k)`` (nothing of the call is applied) and
``lost_response(invocation=i, call=k)`` (the call is applied, the response never arrives),
each wait one, ``body_crash(step=s, attempt=a, suspension=n)`` (the sandbox dies while
the body waits: what it did before stays done), and each AWS call one,
``aws_call_crash(step=s, attempt=a, call=n)`` (the sandbox dies once AWS answered the call,
before the body sees the answer). Each runs within a budget, earliest point
first; every failing point is reported with its reproducer, which is already minimal in
faults: the scenario's own plan and that one point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from async_durable_execution_runner._harness.faults.aws_calls import watch_aws_calls
from async_durable_execution_runner._harness.faults.errors import SERVICE_ERRORS
from async_durable_execution_runner._harness.faults.hooks import FaultPlanHooks
from async_durable_execution_runner._harness.faults.kinds import (
    AwsCallCrashFault,
    BodyCrashFault,
    CrashFault,
    FaultKind,
    LostResponseFault,
    StepFault,
    watch_waits,
)
from async_durable_execution_runner._service.clock import real_monotonic
from async_durable_execution_runner._service.seams import (
    Fault,
    ServiceCall,
    StepAttempt,
    WrapBody,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome
    from async_durable_execution_runner._harness.scenario.scenario import Scenario


class CrashPointsFailed(AssertionError):
    """At least one crash point of a scenario fails; the message lists every one."""


class _CallCounter(FaultPlanHooks):
    """The scenario's own plan, noting every checkpoint call of the run's executions (its own
    and the invoked ones) and every wait and AWS call of their step bodies, in the order
    they come."""

    def __init__(self, plan: tuple[FaultKind, ...]) -> None:
        super().__init__(plan)
        #: ("call", execution, invocation, call), ("wait", execution, step ordinal, attempt,
        #: wait) and ("aws_call", execution, step ordinal, attempt, call).
        self.points: list[tuple[Any, ...]] = []

    def on_service_call(self, call: ServiceCall) -> Fault | None:
        execution = self.execution_of(call.execution_arn)
        if call.kind == "checkpoint" and execution is not None:
            self.points.append(("call", execution, call.invocation_index, call.checkpoint_index))
        return super().on_service_call(call)

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        answer = super().on_step_attempt(attempt)
        execution = self.execution_of(attempt.execution_arn)
        if answer is not None or execution is None:
            return answer
        ordinal = self.step_ordinal(attempt)

        def at_wait(wait: int) -> None:
            self.points.append(("wait", execution, ordinal, attempt.attempt, wait))

        def at_call(call: int) -> None:
            self.points.append(("aws_call", execution, ordinal, attempt.attempt, call))

        waits, calls = watch_waits(at_wait), watch_aws_calls(at_call)
        return WrapBody(lambda body: waits.wrap(calls.wrap(body)))


@dataclass(frozen=True)
class CrashPointFailure:
    """One failing crash point: the fault, what failed, and the scenario that reproduces it."""

    fault: FaultKind
    scenario: Scenario
    error: AssertionError

    def summary(self) -> str:
        first = str(self.error).splitlines()[0] if str(self.error) else type(self.error).__name__
        return f"{self.fault!r}: {first}"


@dataclass(frozen=True)
class CrashPointReport:
    """What ``Scenario.crash_points()`` found."""

    scenario: Scenario
    #: Every crash point of the scenario's run, in order (two per checkpoint call, one per
    #: wait and one per AWS call of a step body).
    points: tuple[FaultKind, ...]
    #: The points that were run (all of them unless the budget ran out).
    explored: tuple[FaultKind, ...]
    failures: tuple[CrashPointFailure, ...]

    @property
    def unexplored(self) -> tuple[FaultKind, ...]:
        return self.points[len(self.explored) :]

    @property
    def complete(self) -> bool:
        return len(self.explored) == len(self.points)

    def __str__(self) -> str:
        lines = [
            f"{len(self.explored)} of {len(self.points)} crash points run, "
            f"{len(self.failures)} failing"
        ]
        lines.extend(f"  - {failure.summary()}" for failure in self.failures)
        if not self.complete:
            lines.append(
                f"  budget exhausted before {self.unexplored[0]!r} "
                f"({len(self.unexplored)} points not run)"
            )
        return "\n".join(lines)

    def check(self) -> None:
        """Raise ``CrashPointsFailed`` naming every failing point, each with its reproducer."""
        if not self.failures:
            return
        parts = [str(self)]
        for number, failure in enumerate(self.failures, 1):
            parts.append(f"\n--- failing point {number}: {failure.fault!r} ---")
            parts.append(str(failure.error))
        raise CrashPointsFailed("\n".join(parts))


def enumerate_crash_points(
    scenario: Scenario,
    *,
    lost_response_error: str = SERVICE_ERRORS[0],
) -> tuple[FaultKind, ...]:
    """The crash points of one run of ``scenario``, in the order they come: for each
    checkpoint call of its execution, a crash before it is sent and a lost response after it
    is applied; for each wait of a step body, a crash while it waits; for each AWS call of a
    step body, a crash once it is answered."""
    counter = _CallCounter(scenario.faults)
    scenario._run_once(counter)
    taken = {
        (f.execution, f.invocation, f.call)
        for f in scenario.faults
        if isinstance(f, CrashFault | LostResponseFault)
    }
    planned_steps = {(f.execution, f.step) for f in scenario.faults if isinstance(f, StepFault)}
    points: list[FaultKind] = []
    seen: set[tuple[Any, ...]] = set()
    for point in counter.points:
        if point in seen:
            continue  # the same wait of the same attempt, run again
        seen.add(point)
        if point[0] == "wait":
            _, execution, step, attempt, wait = point
            if (execution, step) not in planned_steps:  # (one fault per step, as the plans have)
                points.append(
                    BodyCrashFault(step=step, attempt=attempt, suspension=wait, execution=execution)
                )
            continue
        if point[0] == "aws_call":
            _, execution, step, attempt, call = point
            if (execution, step) not in planned_steps:
                points.append(
                    AwsCallCrashFault(step=step, attempt=attempt, call=call, execution=execution)
                )
            continue
        _, execution, invocation, call = point
        if (execution, invocation, call) in taken:
            continue  # the plan already has a fault there
        points.append(CrashFault(invocation=invocation, call=call, execution=execution))
        points.append(
            LostResponseFault(
                invocation=invocation, call=call, error=lost_response_error, execution=execution
            )
        )
    return tuple(points)


def run_crash_points(
    scenario: Scenario,
    *,
    budget: float | None = 60.0,
    max_points: int | None = None,
    invariant: Callable[[Outcome], None] | None = None,
    lost_response_error: str = SERVICE_ERRORS[0],
) -> CrashPointReport:
    """Run every crash point of ``scenario`` (see ``Scenario.crash_points``)."""
    if lost_response_error not in SERVICE_ERRORS:
        msg = (
            f"lost_response_error must be one of {', '.join(SERVICE_ERRORS)}, "
            f"got {lost_response_error!r}"
        )
        raise ValueError(msg)
    if budget is not None and budget <= 0:
        msg = f"budget must be a positive number of seconds or None, got {budget!r}"
        raise ValueError(msg)
    if max_points is not None and max_points < 0:
        msg = f"max_points must be >= 0 or None, got {max_points!r}"
        raise ValueError(msg)
    start = real_monotonic()
    points = enumerate_crash_points(scenario, lost_response_error=lost_response_error)
    explored: list[FaultKind] = []
    failures: list[CrashPointFailure] = []
    for point in points:
        if max_points is not None and len(explored) >= max_points:
            break
        if budget is not None and real_monotonic() - start > budget:
            break
        candidate = scenario.with_faults((*scenario.faults, point))
        outcome = candidate.run()
        explored.append(point)
        try:
            # The invariant first: it reads the world as this run left it, and check() may
            # run the fault-free baseline, which resets the world again (before_run).
            if invariant is not None:
                invariant(outcome)
            outcome.check()
        except AssertionError as error:
            if "Reproduce with:" not in str(error):
                # An invariant's own assertion: give it the report an oracle failure has.
                error = AssertionError(f"{error}\n\n{outcome.report()}")
            failures.append(CrashPointFailure(point, candidate, error))
    return CrashPointReport(scenario, points, tuple(explored), tuple(failures))
