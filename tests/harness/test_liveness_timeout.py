"""The liveness oracle and the function timeout: an invocation that waits in-process past
Lambda's function timeout is a hang on Lambda, flagged at once (the runner stops it on the
virtual clock, not at the scenario's wall-clock deadline); one within the timeout is not; and a
baseline, whose steps end when they ended under the faults, is never cut short by it."""

from __future__ import annotations

import pytest
from tests.integration import handlers as h

from async_durable_execution_runner.oracles import ExecutionHung
from async_durable_execution_runner.scenarios import Scenario, crash


def test_an_await_that_nothing_completes_is_flagged_without_a_wall_clock_hang() -> None:
    outcome = Scenario(handler=h.awaits_what_never_comes).run()
    assert outcome.hang is None  # stopped on the virtual clock, three times, then FAILED
    with pytest.raises(ExecutionHung, match=r"ran past the function's timeout") as info:
        outcome.check()
    assert "never_set.wait()" in str(info.value)


def test_a_long_in_process_wait_within_the_timeout_is_not_flagged() -> None:
    outcome = Scenario(handler=h.sleeps_between_steps).run()  # ten minutes, in-process
    outcome.check()
    assert outcome.value == "ab"


def test_a_baseline_that_waits_out_a_rerun_body_is_not_stopped_by_the_timeout() -> None:
    # The crash comes after the step's 500 s body: the re-invocation runs it again, so it
    # ends 1,000 s in. The baseline runs it once and then waits the other 500 s in the same
    # invocation, to end when it ended under the fault: 1,000 s in one invocation.
    outcome = Scenario(handler=h.slow_step_body, faults=(crash(invocation=1, call=2),)).run()
    outcome.check()
    baseline = outcome.baseline()
    assert baseline is not None
    assert [info.error_type for info in baseline.invocations] == [None]
    assert outcome.value == baseline.value == "quote"
