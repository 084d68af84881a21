"""What a scenario run installs is built once, not once per run (issue 9: harness speed),
and behaves as before: the detector's wrappers, the interleaving's keys."""

from __future__ import annotations

import random
import uuid
from typing import Any

from async_durable_execution import durable_execution

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._harness.scenario.nondeterminism import (
    NondeterminismDetector,
)
from async_durable_execution_runner._harness.scenario.timings import TimedInterleaving, Timings
from async_durable_execution_runner._service.seams import ServiceCall, StepAttempt


def test_the_detector_installs_the_same_wrappers_in_every_run_and_restores_the_originals() -> None:
    original = random.random
    with NondeterminismDetector():
        first = random.random
    with NondeterminismDetector():
        second = random.random
    assert first is second and first is not original
    assert random.random is original


def test_a_wrapper_captured_in_one_run_reports_to_the_detector_of_a_later_run() -> None:
    # A module imported during a run (a cold sandbox) may bind the wrapper itself
    # (``from uuid import uuid4``); its later calls belong to whichever run is under way.
    with NondeterminismDetector():
        captured = uuid.uuid4

    @durable_execution
    async def draws_outside_a_step(event: Any) -> str:
        return str(captured())  # in the handler's root context: the code that replays

    with NondeterminismDetector() as detector:
        DurableFunctionTestRunner(handler=draws_outside_a_step).run(timeout=30)
    assert [call.function for call in detector.calls] == ["uuid.uuid4"]
    captured()  # outside any run: nothing to record, and no error


def test_default_timings_take_no_turns_and_drawn_ones_pick_by_identity() -> None:
    attempt = StepAttempt("arn", 1, "op", "s", 1, None)
    call = ServiceCall("checkpoint", "arn", 1, 1, 1)
    default = TimedInterleaving(Timings())
    assert (default.step_turns(attempt), default.response_turns(call)) == (0, 0)
    drawn = TimedInterleaving(Timings(step_turns=(2,), response_turns=(3,)))
    assert (drawn.step_turns(attempt), drawn.response_turns(call)) == (2, 3)


def test_an_outcome_keeps_its_recorder_but_not_the_runner() -> None:
    from seed import function_under_test

    from async_durable_execution_runner.scenarios import Scenario

    outcome = Scenario(handler=function_under_test, input="input str").run()
    assert outcome.recorder.transitions  # what the oracles read stays
    assert outcome.recorder.driver is None and outcome.recorder.scheduler is None
