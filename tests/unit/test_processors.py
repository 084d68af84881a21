"""Each operation processor: the Operation it produces, its pending events (in AWS field names,
checked against botocore's ``Event`` shape) and the effects it asks the service for."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from async_durable_execution_runner import _botocore_model as bm
from async_durable_execution_runner._models import (
    CallbackDetails,
    CallbackOptions,
    ChainedInvokeDetails,
    ChainedInvokeOptions,
    ContextDetails,
    ContextOptions,
    ErrorObject,
    Event,
    EventType,
    ExecutionDetails,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    StepOptions,
    WaitDetails,
    WaitOptions,
)
from async_durable_execution_runner._service.checkpoint.processor import CheckpointProcessor
from async_durable_execution_runner._service.checkpoint.processors import (
    PROCESSORS,
    PendingEvent,
    ProcessContext,
    Processed,
)
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CancelInvoke,
    CancelTimers,
    CloseExecution,
    RegisterCallback,
    RequestInvoke,
    StartTimer,
)
from async_durable_execution_runner._service.checkpoint.processors.wait import (
    complete_wait,
    wait_duration,
)
from async_durable_execution_runner._service.names import callback_id as _callback_id
from async_durable_execution_runner._service.scheduler import DueKind

A = OperationAction
T = OperationType
S = OperationStatus

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
EXECUTION_ID = "11111111-2222-3333-4444-555555555555"
ARN = (
    "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"
    f"/durable-execution/execution-1/{EXECUTION_ID}"
)
CB_ID = _callback_id(EXECUTION_ID, "cb-1")
ERROR = ErrorObject(
    error_type="ValueError", error_message="bad value", error_data='{"k":1}', stack_trace=("a", "b")
)
EVENT_SCHEMA = Draft202012Validator(bm.shape_to_json_schema("Event"))


def ctx(seconds: float = 0) -> ProcessContext:
    return ProcessContext(
        now=T0 + dt.timedelta(seconds=seconds),
        execution_arn=ARN,
        execution_id=EXECUTION_ID,
        new_callback_id=lambda op_id: _callback_id(EXECUTION_ID, op_id),
    )


def process(update: OperationUpdate, current: Operation | None, at: float = 0) -> Processed:
    return PROCESSORS[update.type].process(update, current, ctx(at))


def as_event(processed: Processed, index: int = 0, *, at: float = 0) -> dict[str, Any]:
    """The pending event as the history would record it, in wire JSON; schema-checked."""
    pending = processed.events[index]
    op = processed.operation
    event = Event(
        event_id=2,
        event_type=pending.event_type,
        event_timestamp=T0 + dt.timedelta(seconds=at),
        id=op.id,
        name=op.name,
        parent_id=op.parent_id,
        sub_type=op.sub_type,
        details=pending.details,
    )
    wire = event.to_json_dict()
    problems = [e.message for e in EVENT_SCHEMA.iter_errors(wire)]
    assert problems == [], f"{pending.event_type.value} does not fit botocore's Event: {problems}"
    return wire


def details(processed: Processed, index: int = 0) -> Mapping[str, Any]:
    return processed.events[index].details


def types(processed: Processed) -> list[EventType]:
    return [e.event_type for e in processed.events]


# --- STEP --------------------------------------------------------------------------------


def step_update(action: OperationAction, **kw: Any) -> OperationUpdate:
    return OperationUpdate(id="step-1", type=T.STEP, action=action, name="charge", **kw)


def test_step_start_creates_the_operation() -> None:
    update = step_update(A.START, parent_id="ctx-1", sub_type="Step")
    out = process(update, None, at=3)
    op = out.operation
    assert op.id == "step-1"
    assert op.type is T.STEP
    assert op.status is S.STARTED
    assert op.name == "charge"
    assert op.parent_id == "ctx-1"
    assert op.sub_type == "Step"
    assert op.start_timestamp == T0 + dt.timedelta(seconds=3)
    assert op.end_timestamp is None
    assert op.step_details == StepDetails(attempt=0)
    assert types(out) == [EventType.STEP_STARTED]
    assert details(out) == {}
    assert out.effects == ()
    wire = as_event(out)
    assert wire["StepStartedDetails"] == {}
    assert wire["SubType"] == "Step"
    assert wire["ParentId"] == "ctx-1"


def test_step_succeed_counts_the_attempt() -> None:
    started = process(step_update(A.START), None).operation
    out = process(step_update(A.SUCCEED, payload='{"paid":true}'), started, at=2)
    op = out.operation
    assert op.status is S.SUCCEEDED
    assert op.end_timestamp == T0 + dt.timedelta(seconds=2)
    assert op.start_timestamp == T0
    assert op.step_details == StepDetails(attempt=1, result='{"paid":true}')
    assert types(out) == [EventType.STEP_SUCCEEDED]
    assert details(out) == {
        "Result": {"Payload": '{"paid":true}', "Truncated": False},
        "RetryDetails": {"CurrentAttempt": 1},
    }
    assert out.effects == ()
    as_event(out)


def test_step_succeed_with_no_payload_records_no_payload() -> None:
    started = process(step_update(A.START), None).operation
    out = process(step_update(A.SUCCEED), started)
    assert details(out)["Result"] == {"Truncated": False}
    assert out.operation.step_details == StepDetails(attempt=1)
    as_event(out)


def test_step_fail() -> None:
    started = process(step_update(A.START), None).operation
    out = process(step_update(A.FAIL, error=ERROR), started, at=1)
    op = out.operation
    assert op.status is S.FAILED
    assert op.end_timestamp == T0 + dt.timedelta(seconds=1)
    assert op.step_details == StepDetails(attempt=1, error=ERROR)
    assert types(out) == [EventType.STEP_FAILED]
    assert details(out) == {
        "Error": {
            "Payload": {
                "ErrorMessage": "bad value",
                "ErrorType": "ValueError",
                "ErrorData": '{"k":1}',
                "StackTrace": ["a", "b"],
            },
            "Truncated": False,
        },
        "RetryDetails": {"CurrentAttempt": 1},
    }
    assert "NextAttemptDelaySeconds" not in details(out)["RetryDetails"]
    assert out.effects == ()
    as_event(out)


def test_step_retry_then_ready_then_start_then_succeed() -> None:
    started = process(step_update(A.START), None).operation

    # Attempt 1 fails and is retried in 7 s.
    retry = process(
        step_update(A.RETRY, error=ERROR, step_options=StepOptions(next_attempt_delay_seconds=7)),
        started,
        at=1,
    )
    op = retry.operation
    due = T0 + dt.timedelta(seconds=8)
    assert op.status is S.PENDING
    assert op.end_timestamp is None
    assert op.step_details == StepDetails(attempt=1, next_attempt_timestamp=due, error=ERROR)
    assert types(retry) == [EventType.STEP_FAILED]
    assert details(retry)["RetryDetails"] == {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 7}
    assert details(retry)["Error"]["Payload"]["ErrorType"] == "ValueError"
    assert retry.effects == (StartTimer(DueKind.RETRY.value, "step-1", due),)
    as_event(retry)

    # The service makes it READY when the timer is due (no event); the SDK starts attempt 2.
    ready = dataclasses.replace(op, status=S.READY)
    restarted = process(step_update(A.START), ready, at=8)
    assert restarted.operation.status is S.STARTED
    assert restarted.operation.step_details is not None
    assert restarted.operation.step_details.attempt == 1  # one attempt finished so far
    assert restarted.operation.start_timestamp == T0  # the operation's, not the attempt's
    assert types(restarted) == [EventType.STEP_STARTED]

    # Attempt 2 fails too, retried in 14 s.
    second = process(
        step_update(A.RETRY, error=ERROR, step_options=StepOptions(next_attempt_delay_seconds=14)),
        restarted.operation,
        at=9,
    )
    assert second.operation.step_details is not None
    assert second.operation.step_details.attempt == 2
    assert second.operation.step_details.next_attempt_timestamp == T0 + dt.timedelta(seconds=23)
    assert details(second)["RetryDetails"] == {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 14}

    # Attempt 3 succeeds.
    third = process(step_update(A.START), dataclasses.replace(second.operation, status=S.READY))
    done = process(step_update(A.SUCCEED, payload='"ok"'), third.operation, at=30)
    assert done.operation.status is S.SUCCEEDED
    assert done.operation.step_details == StepDetails(attempt=3, result='"ok"')
    assert details(done)["RetryDetails"] == {"CurrentAttempt": 3}


def test_step_retry_of_a_poll_is_recorded_as_step_succeeded_with_its_state() -> None:
    # wait_for_condition checkpoints its state as the RETRY's Payload, with no Error: the
    # service records the poll as StepSucceeded (SubType WaitForCondition), the state as
    # Result.Payload, and the step stays PENDING until its next attempt.
    started = process(step_update(A.START, sub_type="WaitForCondition"), None).operation
    out = process(
        step_update(
            A.RETRY,
            sub_type="WaitForCondition",
            payload='{"polls":1}',
            step_options=StepOptions(next_attempt_delay_seconds=5),
        ),
        started,
    )
    due = T0 + dt.timedelta(seconds=5)
    assert out.operation.status is S.PENDING
    assert out.operation.step_details == StepDetails(
        attempt=1, next_attempt_timestamp=due, result='{"polls":1}'
    )
    assert types(out) == [EventType.STEP_SUCCEEDED]
    assert details(out) == {
        "Result": {"Payload": '{"polls":1}', "Truncated": False},
        "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 5},
    }
    assert out.effects == (StartTimer(DueKind.RETRY.value, "step-1", due),)
    wire = as_event(out)
    assert (wire["EventType"], wire["SubType"]) == ("StepSucceeded", "WaitForCondition")


@pytest.mark.parametrize(
    ("payload", "error", "event_type"),
    [
        ('"state"', None, EventType.STEP_SUCCEEDED),
        (None, None, EventType.STEP_SUCCEEDED),
        (None, ERROR, EventType.STEP_FAILED),
        ('"state"', ERROR, EventType.STEP_FAILED),
    ],
    ids=["payload", "neither", "error", "both"],
)
def test_step_retry_the_error_decides_the_event(
    payload: str | None, error: ErrorObject | None, event_type: EventType
) -> None:
    started = process(step_update(A.START), None).operation
    update = step_update(
        A.RETRY,
        payload=payload,
        error=error,
        step_options=StepOptions(next_attempt_delay_seconds=3),
    )
    out = process(update, started)
    # Whatever the event, the step waits for its next attempt and keeps what the update sent.
    assert out.operation.status is S.PENDING
    assert out.operation.step_details == StepDetails(
        attempt=1, next_attempt_timestamp=T0 + dt.timedelta(seconds=3), result=payload, error=error
    )
    assert types(out) == [event_type]
    retry = {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 3}
    if event_type is EventType.STEP_SUCCEEDED:
        result = {"Payload": payload, "Truncated": False} if payload else {"Truncated": False}
        assert details(out) == {"Result": result, "RetryDetails": retry}
    else:
        assert details(out)["Error"]["Payload"]["ErrorType"] == "ValueError"
        assert details(out)["RetryDetails"] == retry
        assert "Result" not in details(out)
    as_event(out)


# --- WAIT --------------------------------------------------------------------------------


def wait_update(action: OperationAction, **kw: Any) -> OperationUpdate:
    return OperationUpdate(id="wait-1", type=T.WAIT, action=action, name="nap", **kw)


def test_wait_start_schedules_its_timer() -> None:
    out = process(wait_update(A.START, wait_options=WaitOptions(wait_seconds=3600)), None, at=10)
    op = out.operation
    end = T0 + dt.timedelta(seconds=3610)
    assert op.status is S.STARTED
    assert op.start_timestamp == T0 + dt.timedelta(seconds=10)
    assert op.wait_details == WaitDetails(scheduled_end_timestamp=end)
    assert types(out) == [EventType.WAIT_STARTED]
    assert details(out) == {"Duration": 3600, "ScheduledEndTimestamp": end}
    assert out.effects == (StartTimer(DueKind.WAIT.value, "wait-1", end),)
    wire = as_event(out, at=10)
    assert wire["WaitStartedDetails"] == {
        "Duration": 3600,
        "ScheduledEndTimestamp": end.timestamp(),
    }


def test_wait_cancel_stops_the_timer() -> None:
    started = process(
        wait_update(A.START, wait_options=WaitOptions(wait_seconds=60)), None
    ).operation
    out = process(wait_update(A.CANCEL), started, at=5)
    assert out.operation.status is S.CANCELLED
    assert out.operation.end_timestamp == T0 + dt.timedelta(seconds=5)
    assert out.operation.wait_details == started.wait_details
    assert types(out) == [EventType.WAIT_CANCELLED]
    assert details(out) == {}
    assert out.effects == (CancelTimers("wait-1"),)
    as_event(out)


def test_wait_cancel_with_an_error_records_it() -> None:
    started = process(
        wait_update(A.START, wait_options=WaitOptions(wait_seconds=60)), None
    ).operation
    out = process(wait_update(A.CANCEL, error=ERROR), started)
    assert details(out)["Error"]["Payload"]["ErrorMessage"] == "bad value"
    as_event(out)


def test_complete_wait_is_the_services_own_transition() -> None:
    started = process(
        wait_update(A.START, wait_options=WaitOptions(wait_seconds=90)), None
    ).operation
    assert wait_duration(started) == 90
    later = T0 + dt.timedelta(seconds=95)  # the timer may fire late; Duration stays the asked one
    out = complete_wait(started, later)
    assert out.operation.status is S.SUCCEEDED
    assert out.operation.end_timestamp == later
    assert out.operation.wait_details == started.wait_details
    assert types(out) == [EventType.WAIT_SUCCEEDED]
    assert details(out) == {"Duration": 90}
    assert out.effects == ()
    as_event(out, at=95)


# --- CONTEXT -----------------------------------------------------------------------------


def context_update(action: OperationAction, **kw: Any) -> OperationUpdate:
    return OperationUpdate(
        id="ctx-1", type=T.CONTEXT, action=action, name="child", sub_type="RunInChildContext", **kw
    )


def test_context_start() -> None:
    out = process(context_update(A.START), None)
    assert out.operation.status is S.STARTED
    assert out.operation.context_details == ContextDetails()
    assert types(out) == [EventType.CONTEXT_STARTED]
    assert details(out) == {}
    assert out.effects == ()
    assert as_event(out)["SubType"] == "RunInChildContext"


@pytest.mark.parametrize("replay", [True, False, None])
def test_context_succeed_keeps_replay_children(replay: bool | None) -> None:
    started = process(context_update(A.START), None).operation
    options = ContextOptions(replay_children=replay) if replay is not None else None
    out = process(
        context_update(A.SUCCEED, payload="[1,2]", context_options=options), started, at=4
    )
    op = out.operation
    assert op.status is S.SUCCEEDED
    assert op.end_timestamp == T0 + dt.timedelta(seconds=4)
    assert op.context_details == ContextDetails(replay_children=replay, result="[1,2]")
    assert types(out) == [EventType.CONTEXT_SUCCEEDED]
    assert details(out) == {"Result": {"Payload": "[1,2]", "Truncated": False}}
    assert out.effects == ()
    as_event(out)


def test_context_fail() -> None:
    started = process(context_update(A.START), None).operation
    out = process(context_update(A.FAIL, error=ERROR), started)
    assert out.operation.status is S.FAILED
    assert out.operation.context_details == ContextDetails(error=ERROR)
    assert types(out) == [EventType.CONTEXT_FAILED]
    assert details(out)["Error"]["Payload"]["ErrorType"] == "ValueError"
    as_event(out)


# --- EXECUTION ---------------------------------------------------------------------------


def execution_op() -> Operation:
    return Operation(
        id=EXECUTION_ID,
        type=T.EXECUTION,
        status=S.STARTED,
        start_timestamp=T0,
        execution_details=ExecutionDetails(input_payload='"in"'),
    )


def test_execution_succeed_closes_by_checkpoint_without_events() -> None:
    update = OperationUpdate(
        id=EXECUTION_ID, type=T.EXECUTION, action=A.SUCCEED, payload='"big result"'
    )
    out = process(update, execution_op(), at=9)
    assert out.operation.status is S.SUCCEEDED
    assert out.operation.end_timestamp == T0 + dt.timedelta(seconds=9)
    assert out.operation.execution_details == ExecutionDetails(input_payload='"in"')
    assert out.events == ()  # ExecutionSucceeded is recorded when the invocation ends
    assert out.effects == (CloseExecution(succeeded=True, result='"big result"'),)


def test_execution_fail_closes_by_checkpoint() -> None:
    update = OperationUpdate(id=EXECUTION_ID, type=T.EXECUTION, action=A.FAIL, error=ERROR)
    out = process(update, execution_op())
    assert out.operation.status is S.FAILED
    assert out.events == ()
    assert out.effects == (CloseExecution(succeeded=False, error=ERROR),)


# --- CALLBACK ----------------------------------------------------------------------------


def callback_update(action: OperationAction, **kw: Any) -> OperationUpdate:
    return OperationUpdate(id="cb-1", type=T.CALLBACK, action=action, name="approval", **kw)


def test_callback_start_with_both_timers() -> None:
    options = CallbackOptions(timeout_seconds=300, heartbeat_timeout_seconds=30)
    out = process(callback_update(A.START, callback_options=options), None, at=1)
    op = out.operation
    assert op.status is S.STARTED
    assert op.callback_details == CallbackDetails(callback_id=CB_ID)
    assert types(out) == [EventType.CALLBACK_STARTED]
    assert details(out) == {
        "CallbackId": CB_ID,
        "HeartbeatTimeout": 30,
        "Timeout": 300,
    }
    t = T0 + dt.timedelta(seconds=1)
    assert out.effects == (
        RegisterCallback(CB_ID, "cb-1"),
        StartTimer(DueKind.CALLBACK_TIMEOUT.value, "cb-1", t + dt.timedelta(seconds=300)),
        StartTimer(DueKind.CALLBACK_HEARTBEAT.value, "cb-1", t + dt.timedelta(seconds=30)),
    )
    as_event(out)


@pytest.mark.parametrize(
    "options",
    [None, CallbackOptions(), CallbackOptions(timeout_seconds=0, heartbeat_timeout_seconds=0)],
    ids=["no-options", "empty-options", "zeros"],
)
def test_callback_start_without_timers(options: CallbackOptions | None) -> None:
    out = process(callback_update(A.START, callback_options=options), None)
    assert details(out) == {"CallbackId": CB_ID}
    assert out.effects == (RegisterCallback(CB_ID, "cb-1"),)
    as_event(out)


def test_callback_cancel() -> None:
    started = process(callback_update(A.START), None).operation
    out = process(callback_update(A.CANCEL), started, at=2)
    assert out.operation.status is S.CANCELLED
    assert out.operation.end_timestamp == T0 + dt.timedelta(seconds=2)
    assert out.operation.callback_details == started.callback_details
    assert out.events == ()  # the model has no CallbackCancelled event
    assert out.effects == (CancelTimers("cb-1"),)


# --- CHAINED_INVOKE ----------------------------------------------------------------------


def invoke_update(action: OperationAction, **kw: Any) -> OperationUpdate:
    return OperationUpdate(
        id="inv-1",
        type=T.CHAINED_INVOKE,
        action=action,
        name="call",
        sub_type="ChainedInvoke",
        **kw,
    )


def test_chained_invoke_start() -> None:
    options = ChainedInvokeOptions(function_name="target-fn", tenant_id="tenant-a")
    out = process(invoke_update(A.START, payload='{"x":1}', chained_invoke_options=options), None)
    op = out.operation
    assert op.status is S.STARTED
    assert op.chained_invoke_details == ChainedInvokeDetails()
    assert types(out) == [EventType.CHAINED_INVOKE_STARTED]
    assert details(out) == {
        "FunctionName": "target-fn",
        "TenantId": "tenant-a",
        "Input": {"Payload": '{"x":1}', "Truncated": False},
    }
    assert out.effects == (RequestInvoke("inv-1", "target-fn", '{"x":1}', "tenant-a"),)
    as_event(out)


def test_chained_invoke_start_without_tenant() -> None:
    options = ChainedInvokeOptions(function_name="target-fn")
    out = process(invoke_update(A.START, chained_invoke_options=options), None)
    assert "TenantId" not in details(out)
    assert out.effects == (RequestInvoke("inv-1", "target-fn", None, None),)
    as_event(out)


def test_chained_invoke_cancel() -> None:
    options = ChainedInvokeOptions(function_name="target-fn")
    started = process(invoke_update(A.START, chained_invoke_options=options), None).operation
    out = process(invoke_update(A.CANCEL), started)
    assert out.operation.status is S.CANCELLED
    assert out.events == ()
    assert out.effects == (CancelInvoke("inv-1"),)


# --- through the plan --------------------------------------------------------------------


def test_a_plan_collects_events_and_effects_in_update_order() -> None:
    operations = {EXECUTION_ID: execution_op()}
    updates = [
        context_update(A.START),
        OperationUpdate(
            id="wait-1",
            type=T.WAIT,
            action=A.START,
            parent_id="ctx-1",
            wait_options=WaitOptions(wait_seconds=5),
        ),
        callback_update(
            A.START, parent_id="ctx-1", callback_options=CallbackOptions(timeout_seconds=9)
        ),
    ]
    plan = CheckpointProcessor().plan(operations=operations, updates=updates, ctx=ctx())
    assert [a.update for a in plan.applied] == updates
    assert [[e.event_type for e in a.events] for a in plan.applied] == [
        [EventType.CONTEXT_STARTED],
        [EventType.WAIT_STARTED],
        [EventType.CALLBACK_STARTED],
    ]
    assert [type(e).__name__ for e in plan.effects] == [
        "StartTimer",
        "RegisterCallback",
        "StartTimer",
    ]
    assert plan.operations["wait-1"].parent_id == "ctx-1"
    assert operations == {EXECUTION_ID: execution_op()}  # untouched


def test_processors_do_not_mutate_their_input() -> None:
    current = process(step_update(A.START), None).operation
    frozen = dataclasses.replace(current)
    process(step_update(A.SUCCEED, payload="1"), current)
    assert current == frozen
    assert isinstance(PendingEvent(EventType.STEP_STARTED).details, Mapping)
