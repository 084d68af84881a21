"""The ``body_crash`` fault: the sandbox dies while a step body waits, between two of its
calls to a partner; the attempt runs again in the next invocation."""

from __future__ import annotations

from hypothesis import find, given, settings
from hypothesis import strategies as st
from tests.harness import body_crash_handlers as handlers
from tests.harness.fault_handlers import callee
from tests.integration.partner_world import CALLS

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner.scenarios import Scenario, body_crash
from async_durable_execution_runner.strategies import durable_scenarios, fault_plans


def run(handler: object, *faults: object) -> object:
    return Scenario(handler=handler, input={}, faults=faults, before_run=handlers.reset).run()


def test_the_sandbox_dies_between_the_bodys_two_calls_and_the_attempt_runs_again() -> None:
    outcome = run(handlers.two_calls, body_crash(step=1))
    assert outcome.faults_applied == (body_crash(step=1),)
    assert outcome.value == "booked"
    assert CALLS == ["reserve", "reserve", "confirm"]  # the first run never confirmed
    first, second = outcome.invocations
    assert first.error_type == "Runtime.ExitError"
    assert "injected body_crash(step=1, attempt=1, suspension=1)" in (first.error_message or "")
    assert second.error_type is None
    outcome.check()


def test_it_dies_in_the_wait_it_names() -> None:
    outcome = run(handlers.two_calls, body_crash(step=1, suspension=2))
    assert outcome.faults_applied == (body_crash(step=1, suspension=2),)
    assert CALLS == ["reserve", "confirm", "reserve", "confirm"]
    outcome.check()


def test_a_body_that_waits_less_is_not_reached() -> None:
    outcome = run(handlers.two_calls, body_crash(step=1, suspension=3))
    assert outcome.faults_applied == ()
    assert [i.error_type for i in outcome.invocations] == [None]
    assert CALLS == ["reserve", "confirm"]


def test_it_fires_once_not_on_the_attempt_run_again() -> None:
    outcome = run(handlers.two_calls, body_crash(step=1))
    assert [i.error_type for i in outcome.invocations] == ["Runtime.ExitError", None]


def test_an_at_most_once_body_that_died_is_found_interrupted() -> None:
    # Its START was acknowledged before the body ran; the next invocation cannot know what
    # the body did, so the SDK does not run it again: StepInterruptedError, retried here.
    outcome = run(handlers.two_calls_at_most_once, body_crash(step=1))
    assert outcome.faults_applied == (body_crash(step=1),)
    retried = [e for e in outcome.history if e["EventType"] == "StepFailed" and e["Name"] == "book"]
    assert retried
    error = retried[0]["StepFailedDetails"]["Error"]["Payload"]
    assert error["ErrorType"] == "StepInterruptedError"
    outcome.check()  # the interruption changes the path by design: not flagged


def test_a_task_group_that_takes_the_crash_for_its_own_still_dies() -> None:
    # The refused partner makes the group cancel its own task; the sandbox dies in the
    # group's second wait, and the group takes that cancellation for its own and raises the
    # refusal instead. Cancelled once, the step went on to its retry's checkpoint, which the
    # dead sandbox never sends: the invocation hung (found by the first body_crash campaign,
    # asyncio_ecosystem.taskgroup_fanout). Its tasks are now cancelled until none is left.
    outcome = run(handlers.task_group_quotes, body_crash(step=1, suspension=2))
    assert outcome.hang is None
    assert outcome.faults_applied == (body_crash(step=1, suspension=2),)
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
    assert outcome.value == [4, 6, 7]
    assert outcome.invocations[0].error_type == "Runtime.ExitError"
    outcome.check()


def test_fault_plans_draw_it_and_it_shrinks_to_the_first_wait() -> None:
    strategy = durable_scenarios(
        handlers.two_calls,
        inputs=st.just({}),
        faults=fault_plans(kinds={"body_crash"}, max_faults=2),
        before_run=handlers.reset,
    )
    found = find(strategy, lambda s: bool(s.run().applied("body_crash")))
    assert found.faults == (body_crash(step=1),)
    code = found.to_pytest()
    assert "faults=(body_crash(step=1, attempt=1, suspension=1),)" in code


@settings(max_examples=30, database=None, deadline=None, derandomize=True)
@given(
    durable_scenarios(
        handlers.two_calls,
        inputs=st.just({}),
        faults=fault_plans(kinds={"body_crash", "step_exception"}),
        before_run=handlers.reset,
    )
)
def test_a_placing_run_puts_it_only_where_a_body_waits(scenario: Scenario) -> None:
    # Placed at one of the body's waits as it comes, never blind at the attempt (where it
    # would land only on a body that waits that often): every fault drawn lands.
    outcome = scenario.run()
    assert outcome.faults_applied == scenario.faults
    for fault in scenario.faults:
        if fault.kind == "body_crash":
            assert fault.suspension <= 2  # the body waits twice


@settings(max_examples=20, database=None, deadline=None, derandomize=True)
@given(durable_scenarios(callee, inputs=st.just(1), faults=fault_plans(kinds={"body_crash"})))
def test_no_body_crash_is_drawn_for_a_body_that_never_waits(scenario: Scenario) -> None:
    assert scenario.faults == ()
