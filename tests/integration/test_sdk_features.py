"""Everything else the SDK relies on, end to end through the real SDK (issue 3).

- one test per SDK feature (parallel, map, wait_for_condition, with_retry, invoke, recurse,
  terminal_scope, the replay-safe helpers), each in both wire formats, asserting on the result,
  the operations' statuses and the history, on the virtual clock;
- paging of ``GetDurableExecutionState``;
- the service's payload limits, and results too large to return, checkpointed instead;
- the error paths of the runner's callback API and ``stop_execution``: each sends the bad input
  and checks the AWS error code and that the execution's stored state did not change.

``test_runner_e2e.py`` covers the basic form of each primitive; this file covers what it does not.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from async_durable_execution import InvocationStatus
from jsonschema import Draft202012Validator
from tests.integration import feature_handlers as fh
from tests.sdk_order import EAGER_TASKS

from async_durable_execution_runner import (
    CallbackTimeoutException,
    DurableFunctionTestResult,
    DurableFunctionTestRunner,
    ErrorObject,
    Event,
    EventType,
    ExecutionObserver,
    ExecutionStatus,
    InvalidParameterValueException,
    InvokeResult,
    NoFaults,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    ResourceNotFoundException,
    ServiceCall,
)
from async_durable_execution_runner import _botocore_model as bm
from async_durable_execution_runner._service.invocation import InvocationOutcome, InvocationRequest
from async_durable_execution_runner._service.seams import StepAttempt
from async_durable_execution_runner.errors import DurableServiceError

EVENT_SCHEMA = Draft202012Validator(bm.shape_to_json_schema("Event"))
MiB = 1024 * 1024


@pytest.fixture(params=["objects", "json"])
def wire_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- helpers -------------------------------------------------------------------------------


def run(handler: Callable[..., Any], input: Any = None, **kwargs: Any) -> DurableFunctionTestResult:
    with DurableFunctionTestRunner(handler=handler, **kwargs) as runner:
        return runner.run(input=input, timeout=20)


def types_of(events: Sequence[Event]) -> list[str]:
    return [e.event_type.value for e in events]


def secs(result: DurableFunctionTestResult, event: Event) -> float:
    """Seconds since the execution started, on the runner's clock."""
    return (event.event_timestamp - result.events[0].event_timestamp).total_seconds()


def timeline(result: DurableFunctionTestResult, op_id: str) -> list[tuple[str, float]]:
    return [(e.event_type.value, secs(result, e)) for e in result.events if e.id == op_id]


def assert_well_formed(result: DurableFunctionTestResult) -> None:
    for event in result.events:
        problems = [e.message for e in EVENT_SCHEMA.iter_errors(event.to_json_dict())]
        assert problems == [], f"event {event.event_id} ({event.event_type.value}): {problems}"
    assert [e.event_id for e in result.events] == list(range(1, len(result.events) + 1))
    stamps = [e.event_timestamp for e in result.events]
    assert stamps == sorted(stamps)
    assert result.events[0].event_type is EventType.EXECUTION_STARTED


def count(result: DurableFunctionTestResult, event_type: str, sub_type: str | None = None) -> int:
    return sum(
        1
        for e in result.events
        if e.event_type.value == event_type and (sub_type is None or e.sub_type == sub_type)
    )


class Rejections(ExecutionObserver):
    """Records rejected checkpoints and accepted updates."""

    def __init__(self) -> None:
        self.rejected: list[tuple[tuple[OperationUpdate, ...], DurableServiceError]] = []
        self.accepted: list[OperationUpdate] = []

    def on_checkpoint_rejected(
        self, execution_arn: str, updates: Sequence[OperationUpdate], error: DurableServiceError
    ) -> None:
        self.rejected.append((tuple(updates), error))

    def on_update_accepted(
        self, execution_arn: str, update: OperationUpdate, operation: Operation
    ) -> None:
        self.accepted.append(update)


class Calls(NoFaults):
    """Records every service call the SDK makes (injects nothing)."""

    def __init__(self) -> None:
        self.calls: list[ServiceCall] = []

    def on_service_call(self, call: ServiceCall) -> None:
        self.calls.append(call)

    def of_kind(self, kind: str) -> list[ServiceCall]:
        return [c for c in self.calls if c.kind == kind]


class InvokerSpy:
    """Wraps the runner's invoker: records each request's first page and each outcome."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[InvocationRequest] = []
        self.outcomes: list[InvocationOutcome] = []

    def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        self.requests.append(request)
        outcome: InvocationOutcome = self.inner.invoke(request)
        self.outcomes.append(outcome)
        return outcome

    def close(self) -> None:
        self.inner.close()


def spy_on_invoker(runner: DurableFunctionTestRunner) -> InvokerSpy:
    spy = InvokerSpy(runner.executor.invoker)
    runner.executor.invoker = spy
    return spy


# --- parallel ------------------------------------------------------------------------------


def test_parallel_stops_at_min_successful_with_a_tolerated_failure(wire_format: str) -> None:
    result = run(fh.parallel_min_successful, wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == {
        "reason": "MIN_SUCCESSFUL_REACHED",
        "results": ["A", "C"],
        "errors": ["branch b failed"],
        "statuses": ["SUCCEEDED", "FAILED", "SUCCEEDED", "CANCELLED"],
    }
    fan_out = result.get_context("fan-out")
    assert (fan_out.sub_type, fan_out.status) == ("Parallel", OperationStatus.SUCCEEDED)
    assert [(b.name, b.sub_type, b.status) for b in fan_out.children] == [
        ("parallel-branch-0", "ParallelBranch", OperationStatus.SUCCEEDED),
        ("parallel-branch-1", "ParallelBranch", OperationStatus.FAILED),
        ("parallel-branch-2", "ParallelBranch", OperationStatus.SUCCEEDED),
        # Abandoned once two branches had succeeded: its wait never completed.
        ("parallel-branch-3", "ParallelBranch", OperationStatus.STARTED),
    ]
    assert fan_out.get_wait("wait-d").status is OperationStatus.STARTED
    assert fan_out.get_step("step-b").status is OperationStatus.FAILED
    first_invocation = (
        [
            # Each branch runs to its first suspension as it starts (``sdk_order``).
            "ContextStarted",
            "ContextStarted", "WaitStarted",
            "ContextStarted", "StepStarted", "StepFailed",
            "ContextStarted", "WaitStarted",
            "ContextStarted", "WaitStarted",
        ]
        if EAGER_TASKS
        else [
            "ContextStarted",
            "ContextStarted", "ContextStarted", "ContextStarted", "ContextStarted",
            "WaitStarted",
            "StepStarted", "StepFailed",
            "WaitStarted", "WaitStarted",
        ]
    )  # fmt: skip
    assert types_of(result.events) == [
        "ExecutionStarted",
        *first_invocation,
        "ContextFailed",
        "InvocationCompleted",
        "WaitSucceeded", "StepStarted", "StepSucceeded", "ContextSucceeded",
        "InvocationCompleted",
        "WaitSucceeded", "StepStarted", "StepSucceeded", "ContextSucceeded",
        "ContextSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]  # fmt: skip
    (done,) = [e for e in result.events_of(EventType.CONTEXT_SUCCEEDED) if e.id == fan_out.id]
    assert secs(result, done) == 2  # branch c's 2 s wait, not branch d's 50 s
    assert [secs(result, e) for e in result.events_of(EventType.WAIT_SUCCEEDED)] == [1, 2]
    assert len(result.invocations) == 3


def test_parallel_fails_past_its_failure_tolerance(wire_format: str) -> None:
    result = run(fh.parallel_failure_not_tolerated, wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED  # the batch reports; it does not raise
    assert result.result_value == {
        "reason": "FAILURE_TOLERANCE_EXCEEDED",
        "results": [],
        "errors": ["branch b failed"],
        "statuses": ["CANCELLED", "FAILED", "CANCELLED", "CANCELLED"],
    }
    fan_out = result.get_context("fan-out")
    assert fan_out.status is OperationStatus.SUCCEEDED
    assert [b.status for b in fan_out.children] == [
        OperationStatus.STARTED,
        OperationStatus.FAILED,
        OperationStatus.STARTED,
        OperationStatus.STARTED,
    ]
    assert count(result, "WaitSucceeded") == 0
    assert count(result, "ContextFailed", "ParallelBranch") == 1
    assert len(result.invocations) == 1
    assert secs(result, result.events[-1]) == 0


# --- map -----------------------------------------------------------------------------------


def test_map_over_twenty_items_tolerates_one_failure(wire_format: str) -> None:
    result = run(fh.map_twenty, list(range(20)), wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    value = result.result_value
    assert value["reason"] == "ALL_COMPLETED"
    assert value["results"] == [n**3 for n in range(20) if n != fh.FAILING_ITEM]
    assert value["errors"] == [f"item {fh.FAILING_ITEM} is cursed"]
    assert value["statuses"] == [
        "FAILED" if n == fh.FAILING_ITEM else "SUCCEEDED" for n in range(20)
    ]
    cubes = result.get_context("cubes")
    assert (cubes.sub_type, cubes.status) == ("Map", OperationStatus.SUCCEEDED)
    assert [c.name for c in cubes.children] == [f"map-item-{n}" for n in range(20)]
    assert {c.sub_type for c in cubes.children} == {"MapIteration"}
    assert [c.status for c in cubes.children] == [
        OperationStatus.FAILED if n == fh.FAILING_ITEM else OperationStatus.SUCCEEDED
        for n in range(20)
    ]
    for n, item in enumerate(cubes.children):
        step = item.get_step(f"cube-{n}")
        if n == fh.FAILING_ITEM:
            assert step.status is OperationStatus.FAILED
            assert step.error is not None
            assert step.error.message == f"item {n} is cursed"
            continue
        assert (step.status, step.result) == (OperationStatus.SUCCEEDED, str(n**3))
        # Each item settles for 1-3 s on the virtual clock, then computes.
        assert timeline(result, step.id) == [
            ("StepStarted", n % 3 + 1),
            ("StepSucceeded", n % 3 + 1),
        ]
    assert count(result, "ContextStarted", "MapIteration") == 20
    assert count(result, "ContextSucceeded", "MapIteration") == 19
    assert count(result, "ContextFailed", "MapIteration") == 1
    assert count(result, "WaitSucceeded") == 19
    assert count(result, "StepFailed") == 1
    (done,) = [e for e in result.events_of(EventType.CONTEXT_SUCCEEDED) if e.id == cubes.id]
    assert secs(result, done) == 3
    assert [secs(result, e) for e in result.events_of(EventType.INVOCATION_COMPLETED)] == [
        0, 1, 2, 3,
    ]  # fmt: skip


# --- wait_for_condition --------------------------------------------------------------------


def test_wait_for_condition_polls_on_the_strategy_schedule(wire_format: str) -> None:
    result = run(fh.poll_job, wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "ready on poll 3"
    job = result.get_step("job")
    assert (job.sub_type, job.status, job.attempt) == (
        "WaitForCondition",
        OperationStatus.SUCCEEDED,
        3,
    )
    # Exponential polling: 5 s after the first poll, 10 s after the second.
    assert timeline(result, job.id) == [
        ("StepStarted", 0),
        ("StepSucceeded", 0),
        ("StepStarted", 5),
        ("StepSucceeded", 5),
        ("StepStarted", 15),
        ("StepSucceeded", 15),
    ]
    polls = [e for e in result.events if e.id == job.id]
    retries = [e.details["RetryDetails"] for e in polls if e.event_type is EventType.STEP_SUCCEEDED]
    assert retries[:2] == [
        {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 5},
        {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 10},
    ]
    assert polls[-1].details["Result"]["Payload"] == '"ready on poll 3"'
    assert [secs(result, e) for e in result.events_of(EventType.INVOCATION_COMPLETED)] == [
        0, 5, 15,
    ]  # fmt: skip
    assert [(i.start - result.events[0].event_timestamp).seconds for i in result.invocations] == [
        0, 5, 15,
    ]  # fmt: skip


# --- with_retry ----------------------------------------------------------------------------


def test_with_retry_reruns_the_block_after_backoff_waits(wire_format: str) -> None:
    result = run(fh.retried_block, wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "charged with reservation-3"
    charge = result.get_context("charge")
    assert (charge.sub_type, charge.status) == ("RunInChildContext", OperationStatus.SUCCEEDED)
    assert [(c.name, c.type, c.status) for c in charge.children] == [
        ("reserve-1", OperationType.STEP, OperationStatus.SUCCEEDED),
        ("charge-1", OperationType.STEP, OperationStatus.FAILED),
        ("charge-backoff-1", OperationType.WAIT, OperationStatus.SUCCEEDED),
        ("reserve-2", OperationType.STEP, OperationStatus.SUCCEEDED),
        ("charge-2", OperationType.STEP, OperationStatus.FAILED),
        ("charge-backoff-2", OperationType.WAIT, OperationStatus.SUCCEEDED),
        ("reserve-3", OperationType.STEP, OperationStatus.SUCCEEDED),
    ]
    assert types_of(result.events) == [
        "ExecutionStarted",
        "ContextStarted",
        "StepStarted", "StepSucceeded", "StepStarted", "StepFailed", "WaitStarted",
        "InvocationCompleted",
        "WaitSucceeded",
        "StepStarted", "StepSucceeded", "StepStarted", "StepFailed", "WaitStarted",
        "InvocationCompleted",
        "WaitSucceeded",
        "StepStarted", "StepSucceeded",
        "ContextSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]  # fmt: skip
    waits = result.events_of(EventType.WAIT_STARTED)
    assert [w.details["Duration"] for w in waits] == [3, 6]
    assert [secs(result, e) for e in result.events_of(EventType.WAIT_SUCCEEDED)] == [3, 9]
    assert secs(result, result.events[-1]) == 9


def test_with_retry_gives_up_when_the_strategy_says_so(wire_format: str) -> None:
    result = run(fh.retried_block_gives_up, wire_format=wire_format)
    assert_well_formed(result)
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert (result.error.type, result.error.message) == ("CallableRuntimeError", "declined 2")
    hopeless = result.get_context("hopeless")
    assert hopeless.status is OperationStatus.FAILED
    assert [(c.name, c.status) for c in hopeless.children] == [
        ("try-1", OperationStatus.FAILED),
        ("hopeless-backoff-1", OperationStatus.SUCCEEDED),
        ("try-2", OperationStatus.FAILED),
    ]
    (failed,) = result.events_of(EventType.CONTEXT_FAILED)
    assert failed.details["Error"]["Payload"]["ErrorMessage"] == "declined 2"
    assert types_of(result.events)[-3:] == [
        "ContextFailed",
        "InvocationCompleted",
        "ExecutionFailed",
    ]


# --- invoke --------------------------------------------------------------------------------


def test_invoke_a_suspending_handler_and_a_canned_result(wire_format: str) -> None:
    functions = {
        "slow-doubler": fh.slow_doubler,
        "quotes": InvokeResult(result='{"price": 9}'),
    }
    with DurableFunctionTestRunner(
        handler=fh.invokes_two, functions=functions, wire_format=wire_format
    ) as runner:
        result = runner.run(21, timeout=20)
        children = list(runner.executor.children_of(result.execution_arn))
        (child,) = children  # a canned result starts no execution
        child_result = runner.get_result(child.arn)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == {"doubled": 42, "quote": {"price": 9}}
    double_it = result.get_invoke("double-it")
    quote = result.get_invoke("quote")
    assert (double_it.status, double_it.result) == (OperationStatus.SUCCEEDED, "42")
    assert (quote.status, quote.result) == (OperationStatus.SUCCEEDED, '{"price": 9}')
    assert types_of(result.events) == [
        "ExecutionStarted",
        "ChainedInvokeStarted", "InvocationCompleted", "ChainedInvokeSucceeded",
        "ChainedInvokeStarted", "InvocationCompleted", "ChainedInvokeSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]  # fmt: skip
    started = result.events_of(EventType.CHAINED_INVOKE_STARTED)
    assert [e.details["FunctionName"] for e in started] == ["slow-doubler", "quotes"]
    assert started[0].details["DurableExecutionArn"] == child.arn
    assert started[1].details["Input"] == {"Payload": '{"sku": "A-1"}', "Truncated": False}

    # The invoked function ran as its own execution, with its own history and invocations.
    assert_well_formed(child_result)
    assert child.parent == (result.execution_arn, double_it.id)
    assert child.input_payload == "21"
    assert child_result.status is InvocationStatus.SUCCEEDED
    assert child_result.result == "42"
    assert types_of(child_result.events) == [
        "ExecutionStarted",
        "WaitStarted", "InvocationCompleted", "WaitSucceeded",
        "StepStarted", "StepSucceeded", "InvocationCompleted",
        "ExecutionSucceeded",
    ]  # fmt: skip
    assert len(child_result.invocations) == 2
    # The parent learns the outcome when the child ends: 30 s later, on the shared clock.
    (succeeded, _) = result.events_of(EventType.CHAINED_INVOKE_SUCCEEDED)
    assert succeeded.event_timestamp == child_result.events[-1].event_timestamp
    assert secs(result, succeeded) == 30
    assert succeeded.details["Result"] == {"Payload": "42", "Truncated": False}


def test_invoke_outcomes_that_time_out_stop_or_fail(wire_format: str) -> None:
    functions = {
        "times-out": InvokeResult(
            status="TIMED_OUT",
            error=ErrorObject(error_type="Execution.TimedOut", error_message="too slow"),
        ),
        "is-stopped": InvokeResult(
            status="STOPPED",
            error=ErrorObject(error_type="ExecutionStopped", error_message="stopped"),
        ),
        "fails": InvokeResult(error=ErrorObject(error_type="Boom", error_message="bad")),
    }
    result = run(fh.invokes_unlucky, functions=functions, wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == [
        "times-out: Execution.TimedOut",
        "is-stopped: ExecutionStopped",
        "fails: Boom",
    ]
    assert [
        (result.get_invoke(f"call-{name}").status) for name in ("times-out", "is-stopped", "fails")
    ] == [OperationStatus.TIMED_OUT, OperationStatus.STOPPED, OperationStatus.FAILED]
    ends = [
        e
        for e in result.events
        if e.event_type.value.startswith("ChainedInvoke")
        and e.event_type.value != "ChainedInvokeStarted"
    ]
    assert types_of(ends) == [
        "ChainedInvokeTimedOut",
        "ChainedInvokeStopped",
        "ChainedInvokeFailed",
    ]
    assert [e.details["Error"]["Payload"]["ErrorType"] for e in ends] == [
        "Execution.TimedOut",
        "ExecutionStopped",
        "Boom",
    ]


# --- recurse -------------------------------------------------------------------------------


def test_recurse_runs_the_function_itself_as_chained_executions(wire_format: str) -> None:
    with DurableFunctionTestRunner(handler=fh.triangle, wire_format=wire_format) as runner:
        result = runner.run({"n": 4}, timeout=20)
        chain = [runner.executor.get(result.execution_arn)]
        while True:
            below = list(runner.executor.children_of(chain[-1].arn))
            if not below:
                break
            (child,) = below
            chain.append(child)
        results = [runner.get_result(e.arn) for e in chain]
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 10  # 4 + 3 + 2 + 1
    assert [json.loads(e.input_payload or "null") for e in chain] == [
        {"n": 4},
        {"n": 3},
        {"n": 2},
        {"n": 1},
    ]
    assert [r.result for r in results] == ["10", "6", "3", "1"]
    assert {e.function_name for e in chain} == {"test-function"}
    for parent, child, parent_result in zip(chain, chain[1:], results, strict=False):
        (started,) = parent_result.events_of(EventType.CHAINED_INVOKE_STARTED)
        # recurse names the function by its own ARN and version, from the Lambda context.
        assert started.details["FunctionName"] == (
            "arn:aws:lambda:us-east-1:123456789012:function:test-function:$LATEST"
        )
        assert started.details["DurableExecutionArn"] == child.arn
        assert child.parent == (parent.arn, started.id)
        (done,) = parent_result.events_of(EventType.CHAINED_INVOKE_SUCCEEDED)
        assert done.details["Result"]["Payload"] == child.result
    assert types_of(results[-1].events) == [
        "ExecutionStarted", "StepStarted", "StepSucceeded", "InvocationCompleted",
        "ExecutionSucceeded",
    ]  # fmt: skip


def test_recurse_with_recursive_level(wire_format: str) -> None:
    with DurableFunctionTestRunner(handler=fh.depth, wire_format=wire_format) as runner:
        result = runner.run({"target": 3}, timeout=20)
        payloads = [
            json.loads(e.input_payload or "null") for e in runner.executor.executions.values()
        ]
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 3
    assert payloads == [
        {"target": 3},
        {"target": 3, "__recursive_level": 1},
        {"target": 3, "__recursive_level": 2},
        {"target": 3, "__recursive_level": 3},
    ]
    assert result.get_invoke("deeper").result == "3"


# --- terminal_scope ------------------------------------------------------------------------


def test_terminal_scope_compensates_on_failure_after_a_replay(wire_format: str) -> None:
    result = run(fh.trip, wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "trip failed: no flights left"
    trip = result.get_context("trip")
    assert (trip.sub_type, trip.status) == ("TerminalScope", OperationStatus.FAILED)
    assert trip.error is not None
    assert trip.error.message == "no flights left"
    assert [(c.name, c.sub_type, c.status) for c in trip.children] == [
        ("book-hotel", "Step", OperationStatus.SUCCEEDED),
        ("book-car", "Step", OperationStatus.SUCCEEDED),
        ("settle", "Wait", OperationStatus.SUCCEEDED),
        ("book-flight", "Step", OperationStatus.FAILED),
        # Compensations in reverse order of registration, then the cleanup.
        ("cancel-car", "TerminalCompensation", OperationStatus.SUCCEEDED),
        ("cancel-hotel", "TerminalCompensation", OperationStatus.SUCCEEDED),
        ("release-lock", "TerminalCleanup", OperationStatus.SUCCEEDED),
    ]
    assert [(e.event_type.value, e.sub_type, e.name, secs(result, e)) for e in result.events] == [
        ("ExecutionStarted", None, "execution-1", 0),
        ("ContextStarted", "TerminalScope", "trip", 0),
        ("StepStarted", "Step", "book-hotel", 0),
        ("StepSucceeded", "Step", "book-hotel", 0),
        ("StepStarted", "Step", "book-car", 0),
        ("StepSucceeded", "Step", "book-car", 0),
        ("WaitStarted", "Wait", "settle", 0),
        ("InvocationCompleted", None, None, 0),
        # The compensations were registered in the first invocation and run in the second.
        ("WaitSucceeded", "Wait", "settle", 10),
        ("StepStarted", "Step", "book-flight", 10),
        ("StepFailed", "Step", "book-flight", 10),
        ("StepStarted", "TerminalCompensation", "cancel-car", 10),
        ("StepSucceeded", "TerminalCompensation", "cancel-car", 10),
        ("StepStarted", "TerminalCompensation", "cancel-hotel", 10),
        ("StepSucceeded", "TerminalCompensation", "cancel-hotel", 10),
        ("StepStarted", "TerminalCleanup", "release-lock", 10),
        ("StepSucceeded", "TerminalCleanup", "release-lock", 10),
        ("ContextFailed", "TerminalScope", "trip", 10),
        ("InvocationCompleted", None, None, 10),
        ("ExecutionSucceeded", None, "execution-1", 10),
    ]
    # Each action ran once: replay did not run the booking steps again.
    assert count(result, "StepStarted") == 6


def test_terminal_scope_success_runs_only_the_cleanup(wire_format: str) -> None:
    result = run(fh.trip_succeeds, wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "booked"
    trip = result.get_context("trip")
    assert (trip.status, trip.result) == (OperationStatus.SUCCEEDED, '"booked"')
    assert [(c.name, c.sub_type) for c in trip.children] == [
        ("book-hotel", "Step"),
        ("release-lock", "TerminalCleanup"),
    ]
    assert count(result, "StepStarted", "TerminalCompensation") == 0
    assert types_of(result.events) == [
        "ExecutionStarted", "ContextStarted",
        "StepStarted", "StepSucceeded", "StepStarted", "StepSucceeded",
        "ContextSucceeded", "InvocationCompleted", "ExecutionSucceeded",
    ]  # fmt: skip


# --- replay-safe helpers -------------------------------------------------------------------


def test_replay_safe_helpers_keep_their_values_across_replays(wire_format: str) -> None:
    result = run(fh.replay_safe_values, wire_format=wire_format)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    before, after = result.result_value["before"], result.result_value["after"]
    # Read in the first invocation (checkpointed by "first-reading") and again, replayed,
    # in the second: the same values, though 10 s passed in between.
    for key in ("now", "random", "uuid"):
        assert before[key] == after[key], key
    assert before["now"] == result.events[0].event_timestamp.isoformat()
    # The unsafe readings, taken in the handler itself, do change across the replay.
    assert dt.datetime.fromisoformat(after["unsafe_now"]) - dt.datetime.fromisoformat(
        before["unsafe_now"]
    ) == dt.timedelta(seconds=10)
    assert before["unsafe_random"] != after["unsafe_random"]
    # Each helper is a checkpointed step, run once: the second invocation replays it.
    for name in ("now", "random", "uuid"):
        helper = result.get_step(name)
        assert (helper.sub_type, helper.status, helper.attempt) == (
            "Step",
            OperationStatus.SUCCEEDED,
            1,
        )
        assert helper.result is not None
        assert str(before[name]) in helper.result
    assert types_of(result.events) == [
        "ExecutionStarted",
        "StepStarted", "StepSucceeded", "StepStarted", "StepSucceeded",
        "StepStarted", "StepSucceeded", "StepStarted", "StepSucceeded",
        "WaitStarted", "InvocationCompleted",
        "WaitSucceeded", "InvocationCompleted",
        "ExecutionSucceeded",
    ]  # fmt: skip
    assert len(result.invocations) == 2


# --- paging of GetDurableExecutionState ----------------------------------------------------


class StatePages:
    """Spies on the executor's GetDurableExecutionState: (marker, max items) -> (count, next)."""

    def __init__(self, runner: DurableFunctionTestRunner) -> None:
        self.pages: list[tuple[str, int, int, str | None]] = []
        inner = runner.executor.commits.get_execution_state

        def spy(arn: str, token: str, marker: str, max_items: int = 1000) -> Any:
            ops, next_marker = inner(arn, token, marker, max_items)
            self.pages.append((marker, max_items, len(ops), next_marker))
            return ops, next_marker

        runner.executor.commits.get_execution_state = spy  # type: ignore[method-assign]


def test_state_comes_in_pages_and_the_sdk_fetches_the_rest(wire_format: str) -> None:
    calls, watcher = Calls(), Rejections()
    with DurableFunctionTestRunner(
        handler=fh.many_steps, wire_format=wire_format, faults=calls, observers=[watcher]
    ) as runner:
        runner.executor.page_size = 5
        pages = StatePages(runner)
        invocations = spy_on_invoker(runner)
        result = runner.run({"before": 12, "after": 3}, timeout=20)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == sum(range(12)) + sum(range(3))
    # The second invocation's state: the EXECUTION operation, 12 steps and the wait = 14
    # operations; 5 come with the invocation, the SDK asks for the other 9, 5 at a time.
    first, second = invocations.requests
    assert (len(first.operations), first.next_marker) == (1, "")
    assert (len(second.operations), second.next_marker) == (5, "5")
    assert pages.pages == [("5", 1000, 5, "10"), ("10", 1000, 4, None)]
    state_calls = calls.of_kind("get_execution_state")
    assert [(c.invocation_index, c.call_index) for c in state_calls] == [(2, 1), (2, 2)]
    # Replay found every checkpointed step: nothing ran twice, nothing was refused.
    assert watcher.rejected == []
    assert count(result, "StepStarted") == 15
    assert all(
        result.get_step(f"before-{i}").status is OperationStatus.SUCCEEDED for i in range(12)
    )


class PagedInterleaving:
    """The interleaving seam: the first page of every invocation holds ``size`` operations."""

    def __init__(self, size: int) -> None:
        self.size = size

    def step_turns(self, attempt: StepAttempt) -> int:
        return 0

    def response_turns(self, call: ServiceCall) -> int:
        return 0

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        return self.size


def test_first_page_size_from_the_interleaving_seam() -> None:
    calls = Calls()
    with DurableFunctionTestRunner(
        handler=fh.many_steps, faults=calls, interleaving=PagedInterleaving(3)
    ) as runner:
        runner.executor.page_size = 4
        pages = StatePages(runner)
        result = runner.run({"before": 12, "after": 0}, timeout=20)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == sum(range(12))
    # 14 operations: 3 with the invocation, then 4 + 4 + 3.
    assert pages.pages == [("3", 1000, 4, "7"), ("7", 1000, 4, "11"), ("11", 1000, 3, None)]
    assert len(calls.of_kind("get_execution_state")) == 3


def stored_state(runner: DurableFunctionTestRunner, arn: str) -> tuple[object, ...]:
    """Everything a refused request must leave alone."""
    e = runner.executor.get(arn)
    return (
        copy.deepcopy(e.operations),
        e.events,
        e.token_sequence,
        e.status,
        e.result,
        e.error,
        e.end,
        dict(e.callbacks),
        runner.executor.pending_items(arn),
        len(e.invocations),
    )


def test_get_execution_state_markers_and_max_items() -> None:
    with DurableFunctionTestRunner(handler=fh.two_callbacks) as runner:
        arn = runner.start()
        runner.wait_for_callback(arn, name="first")
        execution = runner.executor.get(arn)
        token = execution.current_token()
        everything = list(execution.operations.values())
        assert len(everything) == 3  # the EXECUTION and both callbacks
        before = stored_state(runner, arn)

        ops, marker = runner.executor.get_execution_state(arn, token, "", 2)
        assert (ops, marker) == (everything[:2], "2")
        ops, marker = runner.executor.get_execution_state(arn, token, marker, 2)
        assert (ops, marker) == (everything[2:], None)
        assert runner.executor.get_execution_state(arn, token, "3") == ([], None)
        for bad in ("not-a-marker", "-1", "4", "1.5"):
            with pytest.raises(InvalidParameterValueException) as info:
                runner.executor.get_execution_state(arn, token, bad)
            assert info.value.code == "InvalidParameterValueException"
            assert info.value.http_status == 400
            assert repr(bad) in info.value.message
        assert stored_state(runner, arn) == before  # reading state never changes it


# --- payload and size limits ---------------------------------------------------------------


def test_update_payload_over_the_limit_is_refused_and_nothing_changes() -> None:
    watcher = Rejections()
    with DurableFunctionTestRunner(handler=fh.two_callbacks, observers=[watcher]) as runner:
        arn = runner.start()
        runner.wait_for_callback(arn, name="first")
        execution = runner.executor.get(arn)
        before = stored_state(runner, arn)

        def step_updates(op_id: str, size: int) -> list[OperationUpdate]:
            return [
                OperationUpdate(id=op_id, type=OperationType.STEP, action=OperationAction.START),
                OperationUpdate(
                    id=op_id,
                    type=OperationType.STEP,
                    action=OperationAction.SUCCEED,
                    payload="z" * size,
                ),
            ]

        with pytest.raises(InvalidParameterValueException) as info:
            runner.executor.checkpoint(
                arn, execution.current_token(), step_updates("too-big", fh.PAYLOAD_LIMIT + 1)
            )
        assert info.value.code == "InvalidParameterValueException"
        assert "6291456" in info.value.message
        assert stored_state(runner, arn) == before  # not even the START of the batch
        assert len(watcher.rejected) == 1

        # Exactly at the limit is accepted.
        runner.executor.checkpoint(
            arn, execution.current_token(), step_updates("at-limit", fh.PAYLOAD_LIMIT)
        )
        stored = runner.executor.get(arn).operations["at-limit"]
        assert stored.status is OperationStatus.SUCCEEDED
        assert stored.step_details is not None
        assert len(stored.step_details.result or "") == fh.PAYLOAD_LIMIT


def test_step_result_over_the_payload_limit_fails_the_execution(wire_format: str) -> None:
    watcher = Rejections()
    # One update per call: with the SDK's own batching, a SUCCEED over its 750 KB batch size
    # lands in the batcher's overflow queue and is never sent (an SDK bug; the invocation hangs).
    result = run(
        fh.big_step_result,
        {"size": fh.PAYLOAD_LIMIT + 1},
        wire_format=wire_format,
        observers=[watcher],
        checkpoint_batching="per_update",
    )
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "CheckpointError"
    assert "InvalidParameterValueException" in (result.error.message or "")
    ((updates, error),) = watcher.rejected
    assert error.code == "InvalidParameterValueException"
    assert [(u.type, u.action) for u in updates] == [(OperationType.STEP, OperationAction.SUCCEED)]
    # The refused SUCCEED changed nothing: the step is still STARTED.
    assert result.get_step("too-big").status is OperationStatus.STARTED
    assert types_of(result.events) == [
        "ExecutionStarted",
        "StepStarted",
        "InvocationCompleted",
        "ExecutionFailed",
    ]


def test_callback_result_over_256_kib_is_refused(wire_format: str) -> None:
    limit = 256 * 1024
    with DurableFunctionTestRunner(handler=fh.two_callbacks, wire_format=wire_format) as runner:
        arn = runner.start()
        first = runner.wait_for_callback(arn, name="first")
        before = stored_state(runner, arn)
        too_big = json.dumps("p" * (limit - 1))  # 2 quotes: limit + 1 bytes
        for payload in (too_big, too_big.encode()):
            with pytest.raises(InvalidParameterValueException) as info:
                runner.send_callback_success(first, payload)
            assert info.value.code == "InvalidParameterValueException"
            assert str(limit) in info.value.message
            assert stored_state(runner, arn) == before
        # Multi-byte characters count as bytes: 131073 x "é" is 262146 bytes.
        with pytest.raises(InvalidParameterValueException):
            runner.send_callback_success(first, "é" * (limit // 2 + 1))
        assert stored_state(runner, arn) == before

        at_limit = json.dumps("p" * (limit - 2))
        runner.send_callback_success(first, at_limit)
        runner.send_callback_success(runner.wait_for_callback(arn, name="second"), '"two"')
        result = runner.wait_for_result(arn)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == [at_limit, '"two"']  # callback results pass through raw
    assert result.get_callback("first").result == at_limit


# --- large results checkpointed instead of returned ----------------------------------------


def test_result_over_the_response_limit_is_checkpointed(wire_format: str) -> None:
    # The SDK checkpoints a result whose JSON is over 6 MiB - 50 characters and returns an
    # empty one. Payloads may be up to 6 MiB: only results in that 49-byte band get there.
    size = 6 * MiB - 20
    watcher = Rejections()
    with DurableFunctionTestRunner(
        handler=fh.big_result, wire_format=wire_format, observers=[watcher]
    ) as runner:
        invocations = spy_on_invoker(runner)
        result = runner.run({"json_size": size}, timeout=20)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result is not None
    assert len(result.result) == size
    assert result.result_value == "x" * (size - 2)
    (outcome,) = invocations.outcomes
    assert (outcome.status, outcome.result) == ("SUCCEEDED", "")  # nothing returned inline
    (closing,) = [u for u in watcher.accepted if u.type is OperationType.EXECUTION]
    assert closing.action is OperationAction.SUCCEED
    assert closing.payload == result.result
    (succeeded,) = result.events_of(EventType.EXECUTION_SUCCEEDED)
    assert succeeded.details["Result"]["Payload"] == result.result
    assert types_of(result.events) == [
        "ExecutionStarted", "StepStarted", "StepSucceeded", "InvocationCompleted",
        "ExecutionSucceeded",
    ]  # fmt: skip


def test_result_under_the_response_limit_is_returned(wire_format: str) -> None:
    size = fh.SDK_RESPONSE_LIMIT - 10
    watcher = Rejections()
    with DurableFunctionTestRunner(
        handler=fh.big_result, wire_format=wire_format, observers=[watcher]
    ) as runner:
        invocations = spy_on_invoker(runner)
        result = runner.run({"json_size": size}, timeout=20)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result is not None
    assert len(result.result) == size
    (outcome,) = invocations.outcomes
    assert outcome.result == result.result
    assert [u for u in watcher.accepted if u.type is OperationType.EXECUTION] == []


def test_result_over_the_payload_limit_fails_the_execution(wire_format: str) -> None:
    watcher = Rejections()
    result = run(
        fh.big_result,
        {"json_size": fh.PAYLOAD_LIMIT + 10},
        wire_format=wire_format,
        observers=[watcher],
    )
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "CheckpointError"
    ((updates, error),) = watcher.rejected
    assert error.code == "InvalidParameterValueException"
    assert [(u.type, u.action) for u in updates] == [
        (OperationType.EXECUTION, OperationAction.SUCCEED)
    ]
    assert [u for u in watcher.accepted if u.type is OperationType.EXECUTION] == []
    assert types_of(result.events)[-2:] == ["InvocationCompleted", "ExecutionFailed"]


def test_error_over_the_response_limit_is_checkpointed(wire_format: str) -> None:
    size = fh.SDK_RESPONSE_LIMIT  # with its JSON envelope, the response exceeds the limit
    watcher = Rejections()
    with DurableFunctionTestRunner(
        handler=fh.big_error, wire_format=wire_format, observers=[watcher]
    ) as runner:
        invocations = spy_on_invoker(runner)
        result = runner.run({"message_size": size}, timeout=20)
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "RuntimeError"
    assert result.error.message == "e" * size
    (outcome,) = invocations.outcomes
    assert (outcome.status, outcome.error) == ("FAILED", None)  # no error returned inline
    (closing,) = [u for u in watcher.accepted if u.type is OperationType.EXECUTION]
    assert closing.action is OperationAction.FAIL
    assert closing.error is not None
    assert closing.error.error_message == "e" * size
    (failed,) = result.events_of(EventType.EXECUTION_FAILED)
    assert failed.details["Error"]["Payload"]["ErrorType"] == "RuntimeError"
    assert len(failed.details["Error"]["Payload"]["ErrorMessage"]) == size


# --- error paths of the callback API and stop ----------------------------------------------

SENDS: dict[str, Callable[[DurableFunctionTestRunner, str], None]] = {
    "success": lambda runner, cid: runner.send_callback_success(cid, '"late"'),
    "failure": lambda runner, cid: runner.send_callback_failure(
        cid, ErrorObject(error_type="Late", error_message="too late")
    ),
    "heartbeat": lambda runner, cid: runner.send_callback_heartbeat(cid),
}


@dataclasses.dataclass
class Situation:
    runner: DurableFunctionTestRunner
    arn: str
    callback_id: str
    status: ExecutionStatus


def _unknown(runner: DurableFunctionTestRunner) -> Situation:
    arn = runner.start()
    runner.wait_for_callback(arn, name="first")
    # Well-formed (base64, as the service's ids are) but never issued.
    return Situation(runner, arn, "bm8tc3VjaC1jYWxsYmFjaw==", ExecutionStatus.RUNNING)


def _completed_while_running(runner: DurableFunctionTestRunner) -> Situation:
    arn = runner.start()
    first = runner.wait_for_callback(arn, name="first")
    runner.send_callback_success(first, '"one"')
    runner.wait_for_callback(arn, name="second")  # the execution now waits on the second
    return Situation(runner, arn, first, ExecutionStatus.RUNNING)


def _timed_out_while_running(runner: DurableFunctionTestRunner) -> Situation:
    arn = runner.start()
    first = runner.wait_for_callback(arn, name="first")
    runner.advance(30)  # its timeout; the handler carries on with a second callback
    runner.wait_for_callback(arn, name="second")
    op = runner.get_result(arn).get_callback("first")
    assert op.status is OperationStatus.TIMED_OUT
    return Situation(runner, arn, first, ExecutionStatus.RUNNING)


def _heartbeat_timed_out(runner: DurableFunctionTestRunner) -> Situation:
    arn = runner.start()
    beat = runner.wait_for_callback(arn, name="beat")
    runner.advance(20)
    op = runner.get_result(arn).get_callback("beat")
    assert op.status is OperationStatus.TIMED_OUT
    assert op.error is not None
    assert op.error.type == "Callback.Heartbeat"
    return Situation(runner, arn, beat, ExecutionStatus.FAILED)


def _execution_stopped(runner: DurableFunctionTestRunner) -> Situation:
    arn = runner.start()
    first = runner.wait_for_callback(arn, name="first")
    runner.stop_execution(arn)
    assert runner.get_result(arn).get_callback("first").status is OperationStatus.STARTED
    return Situation(runner, arn, first, ExecutionStatus.STOPPED)


def _execution_finished(runner: DurableFunctionTestRunner) -> Situation:
    arn = runner.start()
    runner.send_callback_success(runner.wait_for_callback(arn, name="first"), '"one"')
    second = runner.wait_for_callback(arn, name="second")
    runner.send_callback_success(second, '"two"')
    assert runner.wait_for_result(arn).status is InvocationStatus.SUCCEEDED
    return Situation(runner, arn, second, ExecutionStatus.SUCCEEDED)


SITUATIONS: dict[str, tuple[Callable[..., Any], Callable[..., Situation], type, str]] = {
    "unknown-id": (fh.two_callbacks, _unknown, ResourceNotFoundException, "no callback with id"),
    "completed-execution-running": (
        fh.two_callbacks,
        _completed_while_running,
        CallbackTimeoutException,
        "already closed",
    ),
    "timed-out-execution-running": (
        fh.callback_with_fallback,
        _timed_out_while_running,
        CallbackTimeoutException,
        "timed out",
    ),
    "heartbeat-timed-out": (
        fh.heartbeat_callback,
        _heartbeat_timed_out,
        CallbackTimeoutException,
        "timed out",
    ),
    "execution-stopped": (
        fh.two_callbacks,
        _execution_stopped,
        CallbackTimeoutException,
        "already closed",
    ),
    "execution-finished": (
        fh.two_callbacks,
        _execution_finished,
        CallbackTimeoutException,
        "already closed",
    ),
}


@pytest.fixture(params=list(SITUATIONS), ids=list(SITUATIONS))
def situation(request: pytest.FixtureRequest) -> Iterator[tuple[Situation, type, str]]:
    handler, arrange, error_class, message = SITUATIONS[request.param]
    with DurableFunctionTestRunner(handler=handler) as runner:
        yield arrange(runner), error_class, message


@pytest.mark.parametrize("send", list(SENDS))
def test_callback_refusals_leave_the_execution_alone(
    situation: tuple[Situation, type, str], send: str
) -> None:
    s, error_class, message = situation
    assert s.runner.get_execution_status(s.arn) is s.status
    before = stored_state(s.runner, s.arn)
    with pytest.raises(DurableServiceError) as info:
        SENDS[send](s.runner, s.callback_id)
    assert type(info.value) is error_class
    assert info.value.code == error_class.__name__
    assert info.value.http_status == (404 if error_class is ResourceNotFoundException else 400)
    assert message in info.value.message
    assert s.callback_id in info.value.message
    assert stored_state(s.runner, s.arn) == before
    # Nothing was scheduled behind the test's back either: waiting changes nothing more.
    if s.status is not ExecutionStatus.RUNNING:
        assert s.runner.wait_for_result(s.arn).execution_status is s.status
        assert stored_state(s.runner, s.arn) == before


def _finish(runner: DurableFunctionTestRunner, how: str) -> str:
    if how == "succeeded":
        arn = runner.start()
        runner.send_callback_success(runner.wait_for_callback(arn, name="first"), '"1"')
        runner.send_callback_success(runner.wait_for_callback(arn, name="second"), '"2"')
    elif how == "failed":
        arn = runner.start()
        runner.send_callback_failure(
            runner.wait_for_callback(arn, name="first"), {"ErrorType": "No"}
        )
    elif how == "stopped":
        arn = runner.start()
        runner.stop_execution(arn)
    else:
        arn = runner.start()
        runner.wait_for_callback(arn, name="first")
        runner.advance(3600)  # execution_timeout below
    runner.wait_for_result(arn)
    return arn


@pytest.mark.parametrize("how", ["succeeded", "failed", "stopped", "timed_out"])
def test_stop_of_a_finished_execution_is_refused(how: str) -> None:
    with DurableFunctionTestRunner(handler=fh.two_callbacks, execution_timeout=3600) as runner:
        arn = _finish(runner, how)
        assert runner.get_execution_status(arn).value == how.upper()
        before = stored_state(runner, arn)
        for error in (None, ErrorObject(error_type="Late", error_message="stop it")):
            with pytest.raises(InvalidParameterValueException) as info:
                runner.stop_execution(arn, error)
            assert info.value.code == "InvalidParameterValueException"
            assert "already ended" in info.value.message
            assert how.upper() in info.value.message
            assert stored_state(runner, arn) == before


def test_unknown_execution_arn_is_not_found_everywhere() -> None:
    with DurableFunctionTestRunner(handler=fh.two_callbacks) as runner:
        arn = runner.start()
        runner.wait_for_callback(arn, name="first")
        before = stored_state(runner, arn)
        token = runner.executor.get(arn).current_token()
        unknown = runner.executor.execution_arn("test-function", "never-started")
        attempts: dict[str, Callable[[], object]] = {
            "stop_execution": lambda: runner.stop_execution(unknown),
            "get_result": lambda: runner.get_result(unknown),
            "get_status": lambda: runner.get_status(unknown),
            "get_execution_status": lambda: runner.get_execution_status(unknown),
            "get_history": lambda: runner.get_history(unknown),
            "wait_for_result": lambda: runner.wait_for_result(unknown, timeout=1),
            "wait_for_callback": lambda: runner.wait_for_callback(unknown, timeout=1),
            "checkpoint": lambda: runner.executor.checkpoint(unknown, token, []),
            "get_execution_state": lambda: runner.executor.get_execution_state(unknown, token, ""),
        }
        for name, attempt in attempts.items():
            with pytest.raises(ResourceNotFoundException) as info:
                attempt()
            assert info.value.code == "ResourceNotFoundException", name
            assert info.value.http_status == 404
            assert unknown in info.value.message, name
            assert stored_state(runner, arn) == before, name
        assert list(runner.executor.executions) == [arn]  # nothing was created either
