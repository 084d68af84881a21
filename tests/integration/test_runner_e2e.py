"""End to end through the real SDK: each operation type and runner feature, virtual clock."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import seed  # examples/seed.py (tests/conftest.py puts examples/ on sys.path)
from async_durable_execution import InvocationStatus
from jsonschema import Draft202012Validator
from tests.integration import handlers as h

from async_durable_execution_runner import (
    CallbackTimeoutException,
    DurableFunctionTestResult,
    DurableFunctionTestRunner,
    DurableRunnerError,
    ErrorObject,
    Event,
    EventType,
    ExecutionNotFinishedError,
    ExecutionObserver,
    ExecutionStatus,
    HandlerNotDurableError,
    InvalidParameterValueException,
    InvocationInfo,
    InvokeResult,
    NoFaults,
    Operation,
    OperationLookupError,
    OperationRequest,
    OperationStatus,
    OperationType,
    OperationUpdate,
    ResourceNotFoundException,
    ServiceCall,
)
from async_durable_execution_runner import _botocore_model as bm
from async_durable_execution_runner._models import OperationAction
from async_durable_execution_runner._service.tokens import CheckpointToken
from async_durable_execution_runner.errors import DurableServiceError

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
EVENT_SCHEMA = Draft202012Validator(bm.shape_to_json_schema("Event"))


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def run(handler: Callable[..., Any], input: Any = None, **kwargs: Any) -> DurableFunctionTestResult:
    with DurableFunctionTestRunner(handler=handler, **kwargs) as runner:
        return runner.run(input=input, timeout=10)


def types_of(events: Sequence[Event]) -> list[str]:
    return [e.event_type.value for e in events]


def assert_well_formed(result: DurableFunctionTestResult) -> None:
    """Every history event fits botocore's ``Event`` shape; ids count from 1; time never
    runs backwards; the history starts with ExecutionStarted and, once finished, ends with
    the execution's own terminal event."""
    for event in result.events:
        problems = [e.message for e in EVENT_SCHEMA.iter_errors(event.to_json_dict())]
        assert problems == [], f"event {event.event_id} ({event.event_type.value}): {problems}"
    assert [e.event_id for e in result.events] == list(range(1, len(result.events) + 1))
    stamps = [e.event_timestamp for e in result.events]
    assert stamps == sorted(stamps)
    assert result.events[0].event_type is EventType.EXECUTION_STARTED
    if result.status is not InvocationStatus.PENDING:
        last = result.events[-1].event_type
        assert last.value == "Execution" + result.execution_status.value.title().replace("_", "")


# --- the README seed ---------------------------------------------------------------------


def test_readme_seed() -> None:
    result = run(seed.function_under_test, "input")
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == ["1 2", "3 4 4 3", "5 6"]
    assert result.get_step("one").result == '"1 2"'
    two = result.get_context("two")
    assert two.result == '"3 4 4 3"'
    assert [c.name for c in two.children] == ["three-four", "four-three"]
    assert two.get_step("three-four").result == '"3 4"'
    assert two.get_step("four-three").parent_id == two.id
    pause = result.get_wait("pause")
    assert pause.status is OperationStatus.SUCCEEDED
    assert pause.scheduled_end_timestamp == at(1)
    assert result.get_step("three").start_timestamp == at(1)
    assert len(result.invocations) == 2
    assert types_of(result.events) == [
        "ExecutionStarted",
        "StepStarted", "StepSucceeded",
        "ContextStarted",
        "StepStarted", "StepSucceeded", "StepStarted", "StepSucceeded",
        "ContextSucceeded",
        "WaitStarted",
        "InvocationCompleted",
        "WaitSucceeded",
        "StepStarted", "StepSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]  # fmt: skip


# --- steps -------------------------------------------------------------------------------


def test_steps_succeed() -> None:
    result = run(h.two_steps, {"a": 2, "b": 3})
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "6"
    assert result.result_value == 6
    add = result.get_step("add")
    assert (add.result, add.attempt, add.status) == ("5", 1, OperationStatus.SUCCEEDED)
    assert add.sub_type == "Step"
    assert result.get_step("increment").result == "6"
    (started, succeeded) = [e for e in result.events if e.id == add.id]
    assert started.event_type is EventType.STEP_STARTED
    assert succeeded.details["Result"] == {"Payload": "5", "Truncated": False}
    assert succeeded.details["RetryDetails"] == {"CurrentAttempt": 1}
    assert len(result.invocations) == 1
    assert result.invocations[0].status == "SUCCEEDED"


def test_step_failure_without_retry_fails_the_execution() -> None:
    result = run(h.failing_step)
    assert_well_formed(result)
    assert result.execution_status is ExecutionStatus.FAILED
    # The step records the original error; the SDK fails the execution with its wrapper.
    step = result.get_step("explode")
    assert step.status is OperationStatus.FAILED
    assert step.error is not None
    assert (step.error.type, step.error.message) == ("ValueError", "the step blew up")
    (failed,) = result.events_of(EventType.STEP_FAILED)
    assert failed.details["Error"]["Payload"]["ErrorType"] == "ValueError"
    assert failed.details["RetryDetails"] == {"CurrentAttempt": 1}
    assert result.error is not None
    assert result.error.type == "CallableRuntimeError"
    assert result.error.message == "the step blew up"
    (end,) = result.events_of(EventType.EXECUTION_FAILED)
    assert end.details["Error"]["Payload"]["ErrorType"] == "CallableRuntimeError"
    assert result.result is None


def test_step_failure_caught_by_the_handler() -> None:
    result = run(h.failing_step_caught)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "caught: the step blew up"
    assert result.get_step("explode").status is OperationStatus.FAILED


def test_retries_on_the_virtual_clock() -> None:
    started = time.monotonic()
    result = run(h.flaky_step)
    assert time.monotonic() - started < 5
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "succeeded on attempt 3"
    flaky = result.get_step("flaky")
    assert flaky.attempt == 3
    assert flaky.next_attempt_timestamp is None
    step_events = [e for e in result.events if e.id == flaky.id]
    assert [(e.event_type.value, e.event_timestamp) for e in step_events] == [
        ("StepStarted", at(0)),
        ("StepFailed", at(0)),
        ("StepStarted", at(2)),  # 2 s after the first failure
        ("StepFailed", at(2)),
        ("StepStarted", at(6)),  # 4 s after the second (backoff rate 2)
        ("StepSucceeded", at(6)),
    ]
    first, second = (e for e in step_events if e.event_type is EventType.STEP_FAILED)
    assert first.details["RetryDetails"] == {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 2}
    assert second.details["RetryDetails"] == {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 4}
    assert first.details["Error"]["Payload"]["ErrorMessage"] == "attempt 1 failed"
    assert second.details["Error"]["Payload"]["ErrorType"] == "RuntimeError"
    assert step_events[-1].details["RetryDetails"] == {"CurrentAttempt": 3}
    assert len(result.invocations) == 3
    assert [i.start for i in result.invocations] == [at(0), at(2), at(6)]


def test_retry_state_between_attempts() -> None:
    with DurableFunctionTestRunner(handler=h.flaky_step) as runner:
        arn = runner.start()
        pending = runner.get_result(arn).get_step("flaky")
        assert pending.status is OperationStatus.PENDING
        assert pending.attempt == 1
        assert pending.next_attempt_timestamp == at(2)
        assert pending.error is not None
        runner.advance(1)
        assert runner.get_result(arn).get_step("flaky").status is OperationStatus.PENDING
        runner.advance(1)
        pending = runner.get_result(arn).get_step("flaky")
        assert (pending.status, pending.attempt) == (OperationStatus.PENDING, 2)
        assert pending.next_attempt_timestamp == at(6)
        assert runner.wait_for_result(arn).status is InvocationStatus.SUCCEEDED


# --- waits -------------------------------------------------------------------------------


def test_ten_one_hour_waits_finish_fast() -> None:
    started = time.monotonic()
    result = run(h.ten_hours)
    assert time.monotonic() - started < 5
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 10
    assert result.events[-1].event_timestamp - result.events[0].event_timestamp == dt.timedelta(
        hours=10
    )
    assert result.events[-1].event_timestamp == at(36_000)
    waits = result.events_of(EventType.WAIT_SUCCEEDED)
    assert [e.event_timestamp for e in waits] == [at(3600 * (i + 1)) for i in range(10)]
    assert all(e.details == {"Duration": 3600} for e in waits)
    for i, started_event in enumerate(result.events_of(EventType.WAIT_STARTED)):
        assert started_event.details["Duration"] == 3600
        assert started_event.details["ScheduledEndTimestamp"] == at(3600 * (i + 1))
    assert len(result.invocations) == 11


def test_execution_timeout() -> None:
    result = run(h.sleeps_too_long, execution_timeout=60)
    assert_well_formed(result)
    assert result.execution_status is ExecutionStatus.TIMED_OUT
    # The SDK's InvocationStatus has no TIMED_OUT: it reports FAILED, as the AWS library does.
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.type == "Execution.TimedOut"
    assert "60" in (result.error.message or "")
    (end,) = result.events_of(EventType.EXECUTION_TIMED_OUT)
    assert end.event_timestamp == at(60)
    assert result.events[0].details["ExecutionTimeout"] == 60
    assert result.get_wait("long").status is OperationStatus.STARTED  # never completed


# --- child contexts, parallel, map, wait_for_condition -----------------------------------


def test_child_context() -> None:
    result = run(h.child_context, 5)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 11
    child = result.get_context("child")
    assert child.sub_type == "RunInChildContext"
    assert child.result == "11"
    assert [c.name for c in child.children] == ["double", "inner-wait", "plus-one"]
    assert all(c.parent_id == child.id for c in child.children)
    assert child.get_wait("inner-wait").end_timestamp == at(2)
    inner_events = [e for e in result.events if e.parent_id == child.id]
    assert len(inner_events) == 6  # 2 per step, 2 for the wait


def test_failing_child_context() -> None:
    result = run(h.failing_child_context)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "child failed: CallableRuntimeError"
    child = result.get_context("child")
    assert child.status is OperationStatus.FAILED
    assert child.error is not None
    (failed,) = result.events_of(EventType.CONTEXT_FAILED)
    assert failed.details["Error"]["Payload"]["ErrorMessage"] == "the step blew up"


def test_parallel() -> None:
    result = run(h.fan_out)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == ["A", "B", "C"]
    fan_out = result.get_context("fan-out")
    assert fan_out.sub_type == "Parallel"
    assert [b.sub_type for b in fan_out.children] == ["ParallelBranch"] * 3
    # Branches finish in the order of their waits (1 s, 2 s, 3 s), on the virtual clock.
    done = result.events_of(EventType.STEP_SUCCEEDED)
    assert [(e.name, e.event_timestamp) for e in done] == [
        ("step-b", at(1)),
        ("step-c", at(2)),
        ("step-a", at(3)),
    ]
    assert result.events[-1].event_timestamp == at(3)


def test_map() -> None:
    result = run(h.squares, [1, 2, 3])
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == [1, 4, 9]
    squares = result.get_context("squares")
    assert squares.sub_type == "Map"
    assert [i.sub_type for i in squares.children] == ["MapIteration"] * 3
    assert [result.get_step(f"square-{n}").result for n in (1, 2, 3)] == ["1", "4", "9"]


def test_wait_for_condition() -> None:
    result = run(h.poll_until_three)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 3
    poll = result.get_step("poll")
    assert poll.sub_type == "WaitForCondition"
    assert poll.attempt == 3
    polls = [e for e in result.events if e.id == poll.id]
    assert [(e.event_type.value, e.event_timestamp) for e in polls] == [
        ("StepStarted", at(0)),
        ("StepSucceeded", at(0)),  # a poll that says "not yet" is no failure
        ("StepStarted", at(10)),
        ("StepSucceeded", at(10)),
        ("StepStarted", at(20)),
        ("StepSucceeded", at(20)),
    ]
    retries = [e.details["RetryDetails"] for e in polls if e.event_type is EventType.STEP_SUCCEEDED]
    assert retries == [
        {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 10},
        {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 10},
        {"CurrentAttempt": 3},
    ]


def test_wait_for_condition_gives_up() -> None:
    result = run(h.poll_with_strategy)
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "WaitForConditionError"
    assert result.get_step("never").status is OperationStatus.FAILED


# --- callbacks ---------------------------------------------------------------------------


def callback_state(runner: DurableFunctionTestRunner, arn: str) -> tuple[object, ...]:
    e = runner.executor.get(arn)
    return (copy.deepcopy(e.operations), e.events, e.token_sequence, e.status)


def test_callback_success() -> None:
    with DurableFunctionTestRunner(handler=h.approval) as runner:
        arn = runner.start({"order": 1})
        assert runner.get_status(arn) is InvocationStatus.PENDING
        assert runner.get_execution_status(arn) is ExecutionStatus.RUNNING
        assert runner.get_result(arn).status is InvocationStatus.PENDING
        callback_id = runner.wait_for_callback(arn)
        assert runner.wait_for_callback(arn, name="approval") == callback_id
        op = runner.get_result(arn).get_callback("approval")
        assert op.callback_id == callback_id
        assert op.status is OperationStatus.STARTED
        runner.send_callback_heartbeat(callback_id)
        runner.send_callback_success(callback_id, '{"approved": true}')
        result = runner.wait_for_result(arn)
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == '{"approved": true}'  # the raw payload, passed through
    cb = result.get_callback("approval")
    assert (cb.status, cb.result) == (OperationStatus.SUCCEEDED, '{"approved": true}')
    (started,) = result.events_of(EventType.CALLBACK_STARTED)
    assert started.details == {"CallbackId": callback_id, "HeartbeatTimeout": 60}
    (succeeded,) = result.events_of(EventType.CALLBACK_SUCCEEDED)
    assert succeeded.details["Result"] == {"Payload": '{"approved": true}', "Truncated": False}


def test_callback_failure() -> None:
    with DurableFunctionTestRunner(handler=h.approval_or_reason) as runner:
        arn = runner.start()
        callback_id = runner.wait_for_callback(arn, name="approval")
        runner.send_callback_failure(
            callback_id, {"ErrorType": "Rejected", "ErrorMessage": "no budget"}
        )
        result = runner.wait_for_result(arn)
    assert_well_formed(result)
    assert result.result_value == "refused: no budget"
    cb = result.get_callback("approval")
    assert cb.status is OperationStatus.FAILED
    assert cb.error == ErrorObject(error_type="Rejected", error_message="no budget")
    (failed,) = result.events_of(EventType.CALLBACK_FAILED)
    assert failed.details["Error"]["Payload"] == {
        "ErrorType": "Rejected",
        "ErrorMessage": "no budget",
    }


def test_callback_errors_leave_state_unchanged() -> None:
    with DurableFunctionTestRunner(handler=h.approval) as runner:
        arn = runner.start()
        callback_id = runner.wait_for_callback(arn)
        before = callback_state(runner, arn)
        for send in (
            lambda: runner.send_callback_success("bm8tc3VjaC1jYWxsYmFjaw==", '"x"'),
            lambda: runner.send_callback_failure("unknown"),
            lambda: runner.send_callback_heartbeat("unknown"),
        ):
            with pytest.raises(ResourceNotFoundException, match="no callback with id"):
                send()
            assert callback_state(runner, arn) == before

        runner.send_callback_success(callback_id, '"first"')
        runner.wait_for_result(arn)
        after = callback_state(runner, arn)
        for send in (
            lambda: runner.send_callback_success(callback_id, '"second"'),
            lambda: runner.send_callback_failure(callback_id, ErrorObject("Late")),
            lambda: runner.send_callback_heartbeat(callback_id),
        ):
            with pytest.raises(CallbackTimeoutException) as info:
                send()
            assert callback_id in info.value.message
            assert "already closed" in info.value.message
            assert callback_state(runner, arn) == after
        assert runner.get_result(arn).result_value == '"first"'


def test_callback_timeout_on_the_virtual_clock() -> None:
    started = time.monotonic()
    result = run(h.approval_with_timeout)
    assert time.monotonic() - started < 5
    assert_well_formed(result)
    assert result.execution_status is ExecutionStatus.FAILED
    cb = result.get_callback("approval")
    assert cb.status is OperationStatus.TIMED_OUT
    assert cb.error is not None
    assert cb.error.type == "Callback.Timeout"
    (timed_out,) = result.events_of(EventType.CALLBACK_TIMED_OUT)
    assert timed_out.event_timestamp == at(30)
    assert timed_out.details["Error"]["Payload"]["ErrorType"] == "Callback.Timeout"
    (started_event,) = result.events_of(EventType.CALLBACK_STARTED)
    assert started_event.details["Timeout"] == 30
    assert result.error is not None
    assert result.error.type == "CallbackError"


def test_callback_sent_after_timeout_is_refused() -> None:
    with DurableFunctionTestRunner(handler=h.approval_with_timeout) as runner:
        arn = runner.start()
        callback_id = runner.wait_for_callback(arn)
        runner.advance(30)
        assert runner.get_execution_status(arn) is ExecutionStatus.FAILED
        before = callback_state(runner, arn)
        with pytest.raises(CallbackTimeoutException, match="timed out"):
            runner.send_callback_success(callback_id, '"too late"')
        assert callback_state(runner, arn) == before


def test_wait_for_callback_reports_what_is_missing() -> None:
    with DurableFunctionTestRunner(handler=h.two_steps) as runner:
        arn = runner.start({"a": 1, "b": 1})
        with pytest.raises(DurableRunnerError, match="no callback pending"):
            runner.wait_for_callback(arn, timeout=1)


# --- chained invokes ---------------------------------------------------------------------


def test_invoke_a_registered_handler() -> None:
    with DurableFunctionTestRunner(
        handler=h.calls_doubler, functions={"doubler": h.doubler}
    ) as runner:
        result = runner.run(21, timeout=10)
        children = list(runner.executor.children_of(result.execution_arn))
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 42
    call = result.get_invoke("call-doubler")
    assert (call.status, call.result) == (OperationStatus.SUCCEEDED, "42")
    (started,) = result.events_of(EventType.CHAINED_INVOKE_STARTED)
    assert started.details["FunctionName"] == "doubler"
    assert started.details["Input"] == {"Payload": "21", "Truncated": False}
    (child,) = children
    assert child.status.value == "SUCCEEDED"
    assert child.result == "42"
    assert child.parent == (result.execution_arn, call.id)
    assert started.details["DurableExecutionArn"] == child.arn
    (succeeded,) = result.events_of(EventType.CHAINED_INVOKE_SUCCEEDED)
    assert succeeded.details["Result"] == {"Payload": "42", "Truncated": False}


def test_invoke_a_canned_result() -> None:
    result = run(h.calls_canned, functions={"pricing": InvokeResult(result='{"price": 9}')})
    assert_well_formed(result)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == {"price": 9}
    assert result.get_invoke("price").result == '{"price": 9}'


def test_invoke_a_canned_failure() -> None:
    canned = InvokeResult(error=ErrorObject(error_type="Boom", error_message="target failed"))
    result = run(h.calls_canned_failure, functions={"broken": canned})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "invoke failed: target failed"
    call = result.get_invoke("broken-call")
    assert call.status is OperationStatus.FAILED
    (failed,) = result.events_of(EventType.CHAINED_INVOKE_FAILED)
    assert failed.details["Error"]["Payload"]["ErrorType"] == "Boom"


def test_invoke_an_unregistered_function() -> None:
    result = run(h.calls_unknown, functions={"pricing": InvokeResult(result="1")})
    assert_well_formed(result)
    assert result.execution_status is ExecutionStatus.FAILED
    call = result.get_invoke("lost")
    assert call.status is OperationStatus.FAILED
    assert call.error is not None
    assert call.error.type == "ResourceNotFoundException"
    assert "no-such-function" in (call.error.message or "")
    assert "pricing" in (call.error.message or "")  # says what is registered
    assert result.error is not None
    assert "no-such-function" in (result.error.message or "")


# --- stopping, failing, hanging ----------------------------------------------------------


def test_stop_execution() -> None:
    with DurableFunctionTestRunner(handler=h.approval) as runner:
        arn = runner.start()
        callback_id = runner.wait_for_callback(arn)
        runner.stop_execution(arn)
        result = runner.get_result(arn)
        assert_well_formed(result)
        assert result.execution_status is ExecutionStatus.STOPPED
        assert result.status is InvocationStatus.FAILED
        assert runner.get_status(arn) is InvocationStatus.FAILED
        assert runner.get_execution_status(arn) is ExecutionStatus.STOPPED
        assert result.error is not None
        assert result.error.type == "ExecutionStopped"
        assert result.events[-1].event_type is EventType.EXECUTION_STOPPED
        assert runner.executor.pending_items(arn) == []
        with pytest.raises(InvalidParameterValueException, match="already ended"):
            runner.stop_execution(arn)
        with pytest.raises(CallbackTimeoutException, match="already closed"):
            runner.send_callback_success(callback_id, '"late"')
        assert runner.wait_for_result(arn).execution_status is ExecutionStatus.STOPPED


def test_stop_execution_with_an_error() -> None:
    with DurableFunctionTestRunner(handler=h.approval) as runner:
        arn = runner.start()
        runner.stop_execution(arn, ErrorObject(error_type="Cancelled", error_message="by test"))
        (stopped,) = runner.get_result(arn).events_of(EventType.EXECUTION_STOPPED)
        assert stopped.details["Error"]["Payload"] == {
            "ErrorType": "Cancelled",
            "ErrorMessage": "by test",
        }
        with pytest.raises(ResourceNotFoundException):
            runner.stop_execution(arn + "-nope")


def test_handler_that_raises() -> None:
    result = run(h.raises)
    assert_well_formed(result)
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "KeyError"
    assert "the handler itself failed" in (result.error.message or "")
    (failed,) = result.events_of(EventType.EXECUTION_FAILED)
    assert failed.details["Error"]["Payload"]["ErrorType"] == "KeyError"


def test_result_that_is_not_json() -> None:
    result = run(h.returns_an_object)
    assert_well_formed(result)
    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.type == "TypeError"
    assert "NotJson" in (result.error.message or "")
    assert "JSON serializable" in (result.error.message or "")
    assert result.get_step("fine").status is OperationStatus.SUCCEEDED


def test_input_that_is_not_json() -> None:
    with DurableFunctionTestRunner(handler=h.two_steps) as runner:
        with pytest.raises(DurableRunnerError, match="JSON-serialisable"):
            runner.run(object())
        assert runner.executor.executions == {}


def test_handler_that_is_not_durable() -> None:
    async def plain(_event: Any, _context: Any) -> None:
        return None

    with pytest.raises(HandlerNotDurableError, match="@durable_execution"):
        DurableFunctionTestRunner(handler=plain)


def test_handler_that_hangs_in_blocking_code() -> None:
    with DurableFunctionTestRunner(handler=h.blocks_the_thread) as runner:
        started = time.monotonic()
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run({"block": True}, timeout=1)
        assert time.monotonic() - started < 5
        message = str(info.value)
        assert "did not return within" in message
        assert "time.sleep(30)" in message  # the blocked line, from the handler's stack
        assert "blocks_the_thread" in message
        # The handler's patched clock is process-wide; it must not stay frozen behind it.
        before = dt.datetime.now(dt.UTC)
        time.sleep(0.01)
        assert dt.datetime.now(dt.UTC) > before > T0
        (hung,) = runner.executor.executions
        stopped = runner.get_result(hung)
        assert stopped.execution_status is ExecutionStatus.STOPPED
        assert stopped.error is not None
        assert stopped.error.type == "Sandbox.Timedout"

        # The runner stays usable: a new worker runs the next execution.
        result = runner.run({"block": False}, timeout=10)
        assert result.status is InvocationStatus.SUCCEEDED
        assert result.result_value == "UNBLOCKED"


def test_handler_that_hangs_in_a_later_invocation() -> None:
    # The runner's thread waits while the worker runs every invocation (the first returns
    # PENDING for the wait); the second hangs, and the runner gives up on it at the deadline.
    with DurableFunctionTestRunner(handler=h.blocks_after_a_wait) as runner:
        started = time.monotonic()
        with pytest.raises(ExecutionNotFinishedError, match=r"time\.sleep\(30\)"):
            runner.run({"block": True}, timeout=1)
        assert time.monotonic() - started < 5
        (hung,) = runner.executor.executions
        stopped = runner.get_result(hung)
        assert stopped.execution_status is ExecutionStatus.STOPPED
        assert [i.error_type for i in stopped.invocations] == [None, "Sandbox.Timedout"]
        assert [e["EventType"] for e in runner.get_history(hung)][-2:] == [
            "InvocationCompleted",
            "ExecutionStopped",
        ]

        result = runner.run({"block": False}, timeout=10)
        assert result.status is InvocationStatus.SUCCEEDED
        assert result.result_value == "BEFOREAFTER"


def test_scheduled_actions_and_observers_may_call_the_runner() -> None:
    # Scheduled actions and observers run on the thread driving the executor, while the
    # caller of run() waits holding the runner's lock: calling back must not deadlock.
    class Reader(ExecutionObserver):
        def __init__(self) -> None:
            self.statuses: list[InvocationStatus] = []

        def on_execution_completed(self, execution_arn: str, status: str) -> None:
            self.statuses.append(runner.get_status(execution_arn))

        def on_history_event(self, execution_arn: str, event: Event) -> None:
            if event.event_type is EventType.CALLBACK_STARTED:
                callback_id = event.details["CallbackId"]
                runner.schedule(
                    30, lambda: runner.send_callback_success(callback_id, '"yes"'), label="answer"
                )

    reader = Reader()
    with DurableFunctionTestRunner(handler=h.approval, observers=[reader]) as runner:
        result = runner.run(timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == '"yes"'  # the callback's raw payload, as the SDK returns it
    assert reader.statuses == [InvocationStatus.SUCCEEDED]


# --- lookups -----------------------------------------------------------------------------


def test_get_step_missing_or_ambiguous() -> None:
    result = run(h.same_names)
    assert result.status is InvocationStatus.SUCCEEDED
    with pytest.raises(OperationLookupError) as missing:
        result.get_step("absent")
    message = str(missing.value)
    assert "'absent'" in message
    assert "STEP 'twin'" in message
    assert "WAIT 'pause'" in message
    with pytest.raises(OperationLookupError) as ambiguous:
        result.get_step("twin")
    assert "2 STEPs are named 'twin'" in str(ambiguous.value)
    assert "WAIT 'pause'" in str(ambiguous.value)
    with pytest.raises(OperationLookupError, match="no WAIT named 'twin'"):
        result.get_wait("twin")
    assert isinstance(missing.value, LookupError)
    assert result.get_wait("pause").status is OperationStatus.SUCCEEDED


# --- determinism and wire formats --------------------------------------------------------

DETERMINISM_CASES = {
    "seed": (seed.function_under_test, "x", {}),
    "retries": (h.flaky_step, None, {}),
    "parallel": (h.fan_out, None, {}),
    "map": (h.squares, [3, 1, 2], {}),
    "child": (h.child_context, 4, {}),
    "poll": (h.poll_until_three, None, {}),
    "invoke": (h.calls_doubler, 5, {"functions": {"doubler": h.doubler}}),
    "callback-timeout": (h.approval_with_timeout, None, {}),
    "failure": (h.failing_step, None, {}),
}


@pytest.mark.parametrize(
    ("handler", "payload", "kwargs"), DETERMINISM_CASES.values(), ids=DETERMINISM_CASES.keys()
)
def test_two_runs_give_byte_identical_histories(
    handler: Callable[..., Any], payload: Any, kwargs: dict[str, Any]
) -> None:
    first = run(handler, payload, **kwargs)
    second = run(handler, payload, **kwargs)
    assert first.history_json() == second.history_json()
    assert first.result == second.result
    json.loads(first.history_json())  # it is JSON


@pytest.mark.parametrize(
    ("handler", "payload", "kwargs"), DETERMINISM_CASES.values(), ids=DETERMINISM_CASES.keys()
)
def test_both_wire_formats_give_the_same_history(
    handler: Callable[..., Any], payload: Any, kwargs: dict[str, Any]
) -> None:
    objects = run(handler, payload, wire_format="objects", **kwargs)
    wire = run(handler, payload, wire_format="json", **kwargs)
    assert objects.history_json() == wire.history_json()
    assert objects.status is wire.status
    assert objects.result == wire.result


def test_callbacks_through_the_json_wire_format() -> None:
    histories = []
    for wire_format in ("objects", "json"):
        with DurableFunctionTestRunner(handler=h.approval, wire_format=wire_format) as runner:
            arn = runner.start()
            runner.send_callback_success(runner.wait_for_callback(arn), '"ok"')
            result = runner.wait_for_result(arn)
            assert result.result_value == '"ok"'
            histories.append(result.history_json())
    assert histories[0] == histories[1]


# --- observers ---------------------------------------------------------------------------


class Everything(ExecutionObserver):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.accepted: list[tuple[OperationUpdate, Operation]] = []
        self.rejected: list[tuple[tuple[OperationUpdate, ...], DurableServiceError]] = []
        self.events: list[Event] = []
        self.requests: list[OperationRequest] = []
        self.invocations: list[InvocationInfo] = []
        self.completed: list[tuple[str, str]] = []

    def on_execution_started(self, execution_arn: str) -> None:
        self.started.append(execution_arn)

    def on_update_accepted(
        self, execution_arn: str, update: OperationUpdate, operation: Operation
    ) -> None:
        self.accepted.append((update, operation))

    def on_checkpoint_rejected(
        self, execution_arn: str, updates: Sequence[OperationUpdate], error: DurableServiceError
    ) -> None:
        self.rejected.append((tuple(updates), error))

    def on_history_event(self, execution_arn: str, event: Event) -> None:
        self.events.append(event)

    def on_operation_requested(self, request: OperationRequest) -> None:
        self.requests.append(request)

    def on_invocation_completed(self, invocation: InvocationInfo) -> None:
        self.invocations.append(invocation)

    def on_execution_completed(self, execution_arn: str, status: str) -> None:
        self.completed.append((execution_arn, status))


class CallRecorder(NoFaults):
    """Records every update the SDK sends (no fault injected)."""

    def __init__(self) -> None:
        self.calls: list[ServiceCall] = []

    def on_service_call(self, call: ServiceCall) -> None:
        self.calls.append(call)


def test_an_observer_sees_everything() -> None:
    observer = Everything()
    calls = CallRecorder()
    with DurableFunctionTestRunner(
        handler=seed.function_under_test, observers=[observer], faults=calls
    ) as runner:
        result = runner.run("x", timeout=10)
        arn = result.execution_arn

        # Every history event, in order, as it was recorded.
        assert observer.events == list(result.events)
        assert observer.started == [arn]
        assert observer.completed == [(arn, "SUCCEEDED")]
        assert [i.index for i in observer.invocations] == [1, 2]
        assert observer.invocations == list(result.invocations)

        # Every accepted update: exactly what the SDK checkpointed, in order.
        sent = [u for c in calls.calls if c.kind == "checkpoint" for u in c.updates]
        assert [u for u, _ in observer.accepted] == sent
        assert len(sent) == 11  # 4 steps x 2, context x 2, wait x 1
        final = runner.executor.get(arn).operations
        last_state = {op.id: op for _, op in observer.accepted}
        assert all(
            final[i] == op or final[i].type is OperationType.WAIT for i, op in last_state.items()
        )

        # Every operation the handler asked for, replays included.
        first = [r for r in observer.requests if r.invocation_index == 1]
        second = [r for r in observer.requests if r.invocation_index == 2]
        assert [r.name for r in first] == ["one", "two", "three-four", "four-three", "pause"]
        assert all(r.checkpointed is None for r in first)
        assert [r.name for r in second][:2] == ["one", "two"]
        assert [r.name for r in second][-2:] == ["pause", "three"]
        replayed = [r for r in second if r.checkpointed is not None]
        assert {r.name for r in replayed} >= {"one", "two", "pause"}
        assert all(r.checkpointed == r.identity for r in replayed)
        assert second[-1].checkpointed is None  # "three" is new in the second invocation

        # Every rejected checkpoint: none so far; then a late one and a stale one.
        assert observer.rejected == []
        execution = runner.executor.get(arn)
        update = OperationUpdate(id="late", type=OperationType.STEP, action=OperationAction.START)
        with pytest.raises(InvalidParameterValueException, match="already finished") as late:
            runner.executor.checkpoint(arn, execution.current_token(), [update])
        old = CheckpointToken(execution.execution_id, execution.token_sequence - 1).encode()
        with pytest.raises(InvalidParameterValueException, match="stale") as stale:
            runner.executor.checkpoint(arn, old, [])
        assert observer.rejected == [((update,), late.value), ((), stale.value)]
        assert observer.events == list(runner.get_result(arn).events)  # nothing was added


# --- async twins -------------------------------------------------------------------------


def test_run_async() -> None:
    async def main() -> DurableFunctionTestResult:
        async with DurableFunctionTestRunner(handler=h.two_steps) as runner:
            return await runner.run_async({"a": 1, "b": 2}, timeout=10)

    result = asyncio.run(main())
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 4


def test_async_callback_flow() -> None:
    async def main() -> DurableFunctionTestResult:
        async with DurableFunctionTestRunner(handler=h.approval) as runner:
            arn = await runner.start_async()
            callback_id = await runner.wait_for_callback_async(arn, "approval")
            assert await runner.advance_async(30) == at(30)  # heartbeat timeout is 60 s
            runner.send_callback_heartbeat(callback_id)
            assert await runner.advance_async(59) == at(89)
            runner.send_callback_success(callback_id, '"async ok"')
            return await runner.wait_for_result_async(arn, timeout=10)

    result = asyncio.run(main())
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == '"async ok"'
    (succeeded,) = result.events_of(EventType.CALLBACK_SUCCEEDED)
    assert succeeded.event_timestamp == at(89)  # the heartbeat moved the deadline to 90 s


def test_async_runs_match_sync_runs() -> None:
    async def main() -> DurableFunctionTestResult:
        async with DurableFunctionTestRunner(handler=seed.function_under_test) as runner:
            return await runner.run_async("x", timeout=10)

    assert asyncio.run(main()).history_json() == run(seed.function_under_test, "x").history_json()
