"""Checkpoint-call, invocation and step faults land inside the executions a scenario's
chained invokes start (``execution=k``: the one the run's k-th invoke started), placed there
by ``fault_plans()`` as in the scenario's own: a crash in ``charge_card`` while
``checkout_charged`` waits for it, a step of it failing (findings: open since session 20,
"a function is judged alone, not inside its chain").

A masked fault meets the invoked function's own replay, and the caller's outcome must not
change; a step fault meets its retry strategy, and the caller meets what it makes of the
function's outcome: the oracles judge the run as a whole (``examples/chains.py`` is the
campaign's corpus).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import Any

import chains
import chains_services
import pytest
from async_durable_execution import CallbackError, create_callback, durable_execution, step

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionObserver,
    ExecutionStatus,
)
from async_durable_execution_runner._harness.faults.placement import Placement, PlacingHooks
from async_durable_execution_runner._harness.world import World
from async_durable_execution_runner.oracles import FaultNotMasked
from async_durable_execution_runner.scenarios import (
    FaultKind,
    Scenario,
    checkpoint_error,
    crash,
    duplicate_invocation,
    invocation_lost,
    lost_response,
    lost_then_duplicated,
    outage,
    step_exception,
)

SPEC = chains.CORPUS["checkout_charged"]


def _scenario(*faults: FaultKind) -> Scenario:
    return Scenario(
        handler=SPEC["handler"],
        input=SPEC.get("input"),
        functions=SPEC["functions"],
        faults=faults,
        before_run=SPEC.get("before_run"),
    )


def _invocations_by_execution(outcome: Any) -> dict[int, int]:
    """Invocations per execution, keyed as faults name them (0: the root; k: the one the k-th
    invoke started), from the run's own histories."""
    root = outcome.recorder.root_arn
    ended = Counter(
        arn
        for arn, events in outcome.recorder.events.items()
        for e in events
        if e.event_type.value == "InvocationCompleted"
    )
    # The recorder keeps the executions in the order they started, which for this chain (one
    # invoke after the other) is the order of its invokes.
    invoked = [arn for arn in outcome.recorder.events if arn != root]
    return {0: ended[root], **{k: ended[arn] for k, arn in enumerate(invoked, start=1)}}


@pytest.fixture(scope="module")
def fault_free() -> Any:
    return _scenario().run()


def test_the_chain_invokes_two_functions_each_in_one_invocation(fault_free: Any) -> None:
    assert _invocations_by_execution(fault_free) == {0: 3, 1: 1, 2: 1}


@pytest.mark.parametrize(
    "fault",
    [
        crash(invocation=1, call=1, execution=1),
        invocation_lost(invocation=1, execution=1),
        checkpoint_error(invocation=1, call=1, error="TooManyRequestsException", execution=1),
        lost_response(invocation=1, call=1, error="TooManyRequestsException", execution=1),
        duplicate_invocation(invocation=1, after_call=1, execution=1),
        lost_then_duplicated(invocation=1, after_call=1, execution=1),
        crash(invocation=1, call=1, execution=2),
    ],
    ids=repr,
)
def test_a_masked_fault_inside_an_invoked_execution_lands_there(
    fault: FaultKind, fault_free: Any
) -> None:
    outcome = _scenario(fault).run()
    assert outcome.faults_applied == (fault,)
    counts = _invocations_by_execution(outcome)
    # The execution it names is invoked again; the others, the root included, are not.
    target = fault.execution  # type: ignore[attr-defined]
    expected = _invocations_by_execution(fault_free)
    assert counts[target] > expected[target]
    assert {k: v for k, v in counts.items() if k != target} == {
        k: v for k, v in expected.items() if k != target
    }
    assert outcome.value == fault_free.value
    outcome.check()


def _failed_steps(outcome: Any) -> dict[int, int]:
    """``StepFailed`` events per execution, keyed as ``_invocations_by_execution`` keys."""
    order = list(outcome.recorder.events)
    root = outcome.recorder.root_arn
    keys = {root: 0, **{arn: k for k, arn in enumerate([a for a in order if a != root], 1)}}
    return {
        keys[arn]: sum(e.event_type.value == "StepFailed" for e in events)
        for arn, events in outcome.recorder.events.items()
    }


@pytest.mark.parametrize("execution", [1, 2])
def test_a_step_fault_meets_the_retries_of_the_invoked_function_it_names(
    execution: int, fault_free: Any
) -> None:
    # Steps are numbered within their execution: step 1 of execution 2 is the second invoked
    # function's first step, not the root's.
    fault = step_exception(step=1, attempt=1, times=2, execution=execution)
    outcome = _scenario(fault).run()
    assert outcome.faults_applied == (fault,)
    assert _failed_steps(outcome) == {k: 2 if k == execution else 0 for k in (0, 1, 2)}
    assert outcome.value == fault_free.value
    outcome.check()


def test_an_outage_inside_an_invoked_function_fails_the_caller_as_its_own_failure_would() -> None:
    # The card processor is down for a minute from charge_card's first attempt: its retry
    # budget runs out inside it, the invoke fails, and the checkout fails with it.
    fault = outage(step=1, seconds=60, execution=1)
    outcome = _scenario(fault).run()
    assert outcome.faults_applied == (fault,)
    assert outcome.execution_status is ExecutionStatus.FAILED
    assert _failed_steps(outcome)[0] == 0
    assert _failed_steps(outcome)[1] > 1
    outcome.check()


def test_a_fault_naming_an_execution_never_started_does_not_land(fault_free: Any) -> None:
    outcome = _scenario(crash(invocation=1, call=1, execution=3)).run()
    assert outcome.faults_applied == ()
    assert _invocations_by_execution(outcome) == _invocations_by_execution(fault_free)


def test_the_root_is_left_out_of_the_repr_and_an_invoked_execution_reads_last() -> None:
    assert repr(crash(invocation=2, call=3)) == "crash(invocation=2, call=3)"
    assert repr(crash(invocation=2, call=3, execution=1)) == (
        "crash(invocation=2, call=3, execution=1)"
    )
    assert repr(invocation_lost(execution=2)) == "invocation_lost(invocation=1, execution=2)"
    with pytest.raises(ValueError, match="execution must be an integer >= 0"):
        crash(execution=-1)


def test_a_reproducer_names_the_invoked_execution() -> None:
    source = _scenario(crash(invocation=1, call=1, execution=1)).to_pytest()
    assert "crash(invocation=1, call=1, execution=1)" in source


@pytest.mark.parametrize("kind", ["crash", "invocation_lost", "step_exception"])
def test_a_placing_run_places_faults_inside_invoked_executions(kind: str) -> None:
    # The chooser answers "a fault here" at every other choice (a crash everywhere would
    # end the root before it invokes anything): the invoked executions' points are among
    # those it is asked about.
    choices = itertools.count()
    hooks = PlacingHooks(
        lambda n: n - 1 if next(choices) % 2 else 0,
        Placement(kinds=(kind,), max_faults=8, max_burst=1),
        budget=8,
    )
    _scenario()._run_once(hooks, record=World())
    hooks.closed = True
    executions = {f.execution for f in hooks.plan}  # type: ignore[attr-defined]
    assert executions & {1, 2}, hooks.plan
    # What was placed replays as a plan: every fault lands again where it was placed.
    replayed = _scenario(*hooks.plan).run()
    assert set(replayed.faults_applied) == set(hooks.plan)


class _Chains(ExecutionObserver):
    def __init__(self) -> None:
        self.started: list[tuple[str, str, str]] = []

    def on_chained_execution_started(
        self, execution_arn: str, parent_arn: str, operation_id: str
    ) -> None:
        self.started.append((execution_arn, parent_arn, operation_id))


def test_observers_hear_which_invoke_started_an_execution() -> None:
    observer = _Chains()
    runner = DurableFunctionTestRunner(
        handler=SPEC["handler"], functions=SPEC["functions"], observers=[observer]
    )
    try:
        if SPEC.get("before_run"):
            SPEC["before_run"]()
        result = runner.run(input=SPEC.get("input"), timeout=60)
    finally:
        runner.close()
    root = result.execution_arn
    invokes = [e["Id"] for e in result.history if e["EventType"] == "ChainedInvokeStarted"]
    assert [(parent, op) for _, parent, op in observer.started] == [(root, i) for i in invokes]
    children = [arn for arn, _, _ in observer.started]
    assert len(set(children)) == 2
    assert root not in children


def test_crash_points_reach_the_invoked_executions() -> None:
    # Every checkpoint call of every execution of the chain, crashed and answered with a lost
    # response: the invoked functions' points name their execution, and none fails.
    report = _scenario().crash_points(budget=None)
    by_execution = Counter(p.execution for p in report.points)  # type: ignore[attr-defined]
    assert set(by_execution) == {0, 1, 2}, report.points
    assert by_execution[1] >= 2 and by_execution[2] >= 2
    assert len(report.explored) == len(report.points)
    report.check()


# --- a step in an invoked execution that reads what a duplicate there changed ---------------


@durable_execution
async def _listing_desk(event: Any) -> dict[str, Any]:
    """``chains.sign_off_desk`` with a hand-over that is not idempotent: the desk (the world,
    a module no sandbox imports afresh) keeps a callback id as often as it is given."""
    callback = await create_callback(name="sign-off", timeout=600, heartbeat_timeout=60)

    async def hand_over() -> int:
        chains_services.DESK.append(callback.callback_id)
        return len(chains_services.DESK)

    held = await step(hand_over, name="hand-over")
    try:
        answer = await callback.result()
        signed: Any = json.loads(answer) if answer else None
    except CallbackError as error:
        signed = {"unsigned": type(error).__name__}
    return {"document": event["document"], "signed": signed, "held": held}


def test_a_duplicate_s_second_hand_over_read_by_the_next_execution_is_flagged_in_its_step() -> None:
    """A duplicate delivery inside the first invoked execution hands the callback id over
    again; the second execution's hand-over then counts one too many. The report names the
    desk's step, in its own execution: invoked functions' operations take the ids their
    caller's take in the same places (the second operation of each), and the name was looked
    up across executions, so the report named the caller's chained invoke 'sign-annex'."""
    faults = (
        lost_response(invocation=1, call=1, error="TooManyRequestsException", execution=1),
        duplicate_invocation(invocation=2, after_call=1, execution=1),
    )
    outcome = Scenario(
        handler=chains.contract_sign_off,
        functions={"desk": _listing_desk},
        faults=faults,
        callback_payloads={"sign-off": ({"signed_by": "legal"},)},
        before_run=chains.reset,
    ).run()
    assert outcome.faults_applied == faults
    assert [document["held"] for document in outcome.value["documents"]] == [1, 3]
    with pytest.raises(FaultNotMasked, match=r"step 'hand-over' .* produced value 3; .* value 2"):
        outcome.check()
