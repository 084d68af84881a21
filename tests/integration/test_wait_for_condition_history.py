"""``wait_for_condition`` end to end: each poll that says "not yet" is a RETRY with the new
state as Payload and no Error, which the service records as ``StepSucceeded`` (SubType
``WaitForCondition``, the state as ``Result.Payload``, ``NextAttemptDelaySeconds``); the next
poll starts with a new ``StepStarted`` and sees that state. A check that raises, and a
strategy that runs out of attempts, end the step with ``StepFailed``."""

from __future__ import annotations

from typing import Any

import pytest
from async_durable_execution import InvocationStatus
from jsonschema import Draft202012Validator
from tests.integration import handlers as h

from async_durable_execution_runner import (
    DurableFunctionTestResult,
    DurableFunctionTestRunner,
    ExecutionStatus,
    OperationStatus,
)
from async_durable_execution_runner import _botocore_model as bm

EVENT_SCHEMA = Draft202012Validator(bm.shape_to_json_schema("Event"))

WIRE_FORMATS = pytest.mark.parametrize("wire_format", ["objects", "json"])


def run(handler: Any, wire_format: str) -> DurableFunctionTestResult:
    with DurableFunctionTestRunner(handler=handler, wire_format=wire_format) as runner:
        return runner.run(timeout=10)


def step_events(result: DurableFunctionTestResult, name: str) -> list[dict[str, Any]]:
    events = [e for e in result.history if e.get("Name") == name]
    for event in events:
        problems = [p.message for p in EVENT_SCHEMA.iter_errors(result_wire(result, event))]
        assert problems == [], problems
    return events


def result_wire(result: DurableFunctionTestResult, event: dict[str, Any]) -> dict[str, Any]:
    (wire,) = [e.to_json_dict() for e in result.events if e.event_id == event["EventId"]]
    return wire


def summary(event: dict[str, Any]) -> tuple[Any, ...]:
    kind = event["EventType"]
    details = event.get(f"{kind}Details", {})
    return (
        kind,
        event.get("SubType"),
        details.get("Result", {}).get("Payload"),
        details.get("Error", {}).get("Payload", {}).get("ErrorType"),
        details.get("RetryDetails"),
    )


@WIRE_FORMATS
def test_converging_polls_are_step_succeeded_with_their_state(wire_format: str) -> None:
    result = run(h.poll_until_three, wire_format)

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 3  # each poll started from the state the previous one saved
    events = step_events(result, "poll")
    wfc = "WaitForCondition"
    assert [summary(e) for e in events] == [
        ("StepStarted", wfc, None, None, None),
        ("StepSucceeded", wfc, "1", None, {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 10}),
        ("StepStarted", wfc, None, None, None),
        ("StepSucceeded", wfc, "2", None, {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 10}),
        ("StepStarted", wfc, None, None, None),
        ("StepSucceeded", wfc, "3", None, {"CurrentAttempt": 3}),
    ]
    assert "StepFailed" not in {e["EventType"] for e in result.history}
    poll = result.get_step("poll")
    assert (poll.status, poll.attempt, poll.result) == (OperationStatus.SUCCEEDED, 3, "3")


@WIRE_FORMATS
def test_a_check_that_raises_fails_the_step(wire_format: str) -> None:
    result = run(h.poll_check_raises, wire_format)

    assert result.execution_status is ExecutionStatus.FAILED
    events = step_events(result, "poll")
    wfc = "WaitForCondition"
    assert [summary(e) for e in events] == [
        ("StepStarted", wfc, None, None, None),
        ("StepSucceeded", wfc, "1", None, {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 10}),
        ("StepStarted", wfc, None, None, None),
        ("StepFailed", wfc, None, "RuntimeError", {"CurrentAttempt": 2}),
    ]
    failed = events[-1]["StepFailedDetails"]["Error"]["Payload"]
    assert "503 at state 1" in failed["ErrorMessage"]  # the check saw the saved state
    poll = result.get_step("poll")
    assert poll.status is OperationStatus.FAILED
    assert poll.error is not None
    assert poll.error.type == "RuntimeError"


@WIRE_FORMATS
def test_a_poll_that_runs_out_of_attempts_fails_the_step(wire_format: str) -> None:
    result = run(h.poll_with_strategy, wire_format)

    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "WaitForConditionError"
    events = step_events(result, "never")
    wfc = "WaitForCondition"
    assert [summary(e) for e in events] == [
        ("StepStarted", wfc, None, None, None),
        ("StepSucceeded", wfc, "0", None, {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1}),
        ("StepStarted", wfc, None, None, None),
        ("StepFailed", wfc, None, "WaitForConditionError", {"CurrentAttempt": 2}),
    ]


@WIRE_FORMATS
def test_a_step_retried_after_an_error_stays_step_failed(wire_format: str) -> None:
    # The other RETRY: an ordinary step's failed attempt carries an Error and no Payload.
    result = run(h.flaky_step, wire_format)

    assert result.status is InvocationStatus.SUCCEEDED
    events = step_events(result, "flaky")
    assert [summary(e) for e in events] == [
        ("StepStarted", "Step", None, None, None),
        (
            "StepFailed",
            "Step",
            None,
            "RuntimeError",
            {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 2},
        ),
        ("StepStarted", "Step", None, None, None),
        (
            "StepFailed",
            "Step",
            None,
            "RuntimeError",
            {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 4},
        ),
        ("StepStarted", "Step", None, None, None),
        ("StepSucceeded", "Step", '"succeeded on attempt 3"', None, {"CurrentAttempt": 3}),
    ]
