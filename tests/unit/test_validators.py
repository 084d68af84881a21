"""Every rule a checkpoint must pass, and atomicity: a refused batch changes nothing at all."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator

import pytest
from async_durable_execution import create_callback, durable_execution

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionObserver,
    InvalidParameterValueException,
)
from async_durable_execution_runner._models import (
    CallbackOptions,
    ChainedInvokeOptions,
    ErrorObject,
    ExecutionDetails,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    StepOptions,
    WaitOptions,
)
from async_durable_execution_runner._service.checkpoint.processor import CheckpointProcessor
from async_durable_execution_runner._service.checkpoint.processors import ProcessContext
from async_durable_execution_runner._service.checkpoint.validators.checkpoint import (
    MAX_REQUEST_BYTES,
    MAX_UPDATES_PER_CALL,
)
from async_durable_execution_runner._service.checkpoint.validators.operations import (
    MAX_PAYLOAD_BYTES,
    MAX_WAIT_SECONDS,
)

A = OperationAction
T = OperationType
S = OperationStatus

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
EXECUTION_ID = "11111111-2222-3333-4444-555555555555"
ARN = (
    "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"
    f"/durable-execution/execution-1/{EXECUTION_ID}"
)


def test_limits_are_the_service_models() -> None:
    assert MAX_PAYLOAD_BYTES == 6_291_456
    assert MAX_REQUEST_BYTES == 6_291_456
    assert MAX_WAIT_SECONDS == 31_622_400
    assert MAX_UPDATES_PER_CALL == 250


# --- the processor alone ------------------------------------------------------------------


def _ctx() -> ProcessContext:
    return ProcessContext(
        now=NOW, execution_arn=ARN, execution_id=EXECUTION_ID, new_callback_id=lambda i: f"cb-{i}"
    )


def _base_operations() -> dict[str, Operation]:
    return {
        EXECUTION_ID: Operation(
            id=EXECUTION_ID,
            type=T.EXECUTION,
            status=S.STARTED,
            start_timestamp=NOW,
            execution_details=ExecutionDetails("{}"),
        ),
        "ctx-1": Operation(id="ctx-1", type=T.CONTEXT, status=S.STARTED, start_timestamp=NOW),
        "step-1": Operation(
            id="step-1",
            type=T.STEP,
            status=S.STARTED,
            start_timestamp=NOW,
            step_details=StepDetails(attempt=0),
        ),
    }


def plan(*updates: OperationUpdate, execution_open: bool = True) -> object:
    return CheckpointProcessor().plan(
        operations=_base_operations(),
        updates=list(updates),
        ctx=_ctx(),
        execution_open=execution_open,
    )


def rejected(*updates: OperationUpdate, execution_open: bool = True) -> str:
    with pytest.raises(InvalidParameterValueException) as info:
        plan(*updates, execution_open=execution_open)
    assert info.value.code == "InvalidParameterValueException"
    assert info.value.http_status == 400
    return info.value.message


def step_start(op_id: str = "new-step", **kw: object) -> OperationUpdate:
    return OperationUpdate(id=op_id, type=T.STEP, action=A.START, **kw)  # type: ignore[arg-type]


def wait_start(op_id: str = "new-wait", seconds: int | None = 5, **kw: object) -> OperationUpdate:
    options = WaitOptions(wait_seconds=seconds) if seconds is not None else None
    return OperationUpdate(id=op_id, type=T.WAIT, action=A.START, wait_options=options, **kw)  # type: ignore[arg-type]


def test_a_valid_batch_is_accepted() -> None:
    plan(step_start(), wait_start(), step_start("child", parent_id="ctx-1"))


def test_unknown_parent() -> None:
    message = rejected(step_start("child", parent_id="no-such-op"))
    assert "'child'" in message
    assert "no-such-op" in message
    assert "names no operation" in message


def test_parent_created_earlier_in_the_same_batch_is_known() -> None:
    new_ctx = OperationUpdate(id="ctx-2", type=T.CONTEXT, action=A.START)
    plan(new_ctx, step_start("child", parent_id="ctx-2"))


def test_parent_that_is_not_a_context() -> None:
    message = rejected(step_start("child", parent_id="step-1"))
    assert "step-1" in message
    assert "STEP" in message
    assert "CONTEXT" in message


def test_execution_update_cannot_have_a_parent() -> None:
    update = OperationUpdate(id=EXECUTION_ID, type=T.EXECUTION, action=A.SUCCEED, parent_id="ctx-1")
    assert "ParentId" in rejected(update)


def test_wrong_type_for_an_existing_id() -> None:
    message = rejected(wait_start("step-1"))
    assert "'step-1'" in message
    assert "is a STEP" in message
    assert "WAIT" in message


def test_wait_without_wait_options() -> None:
    message = rejected(wait_start(seconds=None))
    assert "WaitOptions.WaitSeconds is required" in message
    assert "'new-wait'" in message
    # WaitOptions present but empty is just as wrong.
    empty = OperationUpdate(id="w", type=T.WAIT, action=A.START, wait_options=WaitOptions())
    assert "WaitSeconds is required" in rejected(empty)


@pytest.mark.parametrize("seconds", [0, -1, MAX_WAIT_SECONDS + 1])
def test_wait_seconds_out_of_range(seconds: int) -> None:
    message = rejected(wait_start(seconds=seconds))
    assert f"1..{MAX_WAIT_SECONDS}" in message
    assert str(seconds) in message


@pytest.mark.parametrize("seconds", [1, MAX_WAIT_SECONDS])
def test_wait_seconds_at_the_bounds(seconds: int) -> None:
    plan(wait_start(seconds=seconds))


def test_retry_without_step_options() -> None:
    update = OperationUpdate(id="step-1", type=T.STEP, action=A.RETRY, error=ErrorObject("E"))
    message = rejected(update)
    assert "StepOptions.NextAttemptDelaySeconds is required" in message
    assert "'step-1'" in message


@pytest.mark.parametrize("delay", [0, MAX_WAIT_SECONDS + 1])
def test_retry_delay_out_of_range(delay: int) -> None:
    update = OperationUpdate(
        id="step-1",
        type=T.STEP,
        action=A.RETRY,
        step_options=StepOptions(next_attempt_delay_seconds=delay),
    )
    assert "NextAttemptDelaySeconds must be" in rejected(update)


@pytest.mark.parametrize(
    "options",
    [None, ChainedInvokeOptions(), ChainedInvokeOptions(function_name="")],
    ids=["no-options", "no-function-name", "empty-function-name"],
)
def test_invoke_without_function_name(options: ChainedInvokeOptions | None) -> None:
    update = OperationUpdate(
        id="inv", type=T.CHAINED_INVOKE, action=A.START, chained_invoke_options=options
    )
    message = rejected(update)
    assert "ChainedInvokeOptions.FunctionName is required" in message
    assert "'inv'" in message


def test_invoke_with_a_malformed_function_name() -> None:
    update = OperationUpdate(
        id="inv",
        type=T.CHAINED_INVOKE,
        action=A.START,
        chained_invoke_options=ChainedInvokeOptions(function_name="not a name!"),
    )
    assert "not a function name or ARN" in rejected(update)


@pytest.mark.parametrize(
    "name",
    ["fn", "fn:prod", "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"],
)
def test_invoke_function_names_the_model_accepts(name: str) -> None:
    plan(
        OperationUpdate(
            id="inv",
            type=T.CHAINED_INVOKE,
            action=A.START,
            chained_invoke_options=ChainedInvokeOptions(function_name=name),
        )
    )


@pytest.mark.parametrize("op_id", ["", "has space", "dot.ted", "slash/ed", "ü", "x" * 65], ids=repr)
def test_bad_ids(op_id: str) -> None:
    assert "Id must be 1-64 characters" in rejected(step_start(op_id))


@pytest.mark.parametrize("op_id", ["a", "A-z_0-9", "x" * 64])
def test_good_ids(op_id: str) -> None:
    plan(step_start(op_id))


@pytest.mark.parametrize("name", ["", "tab\there", "del\x7f", "naïve", "n" * 257], ids=repr)
def test_bad_names(name: str) -> None:
    message = rejected(step_start(name=name))
    assert "Name must be 1-256 printable ASCII characters" in message


@pytest.mark.parametrize("name", [" ", "any ~printable! text", "n" * 256])
def test_good_names(name: str) -> None:
    plan(step_start(name=name))


def test_bad_sub_type() -> None:
    assert "SubType must be" in rejected(step_start(sub_type="not ok"))


def test_payload_over_the_limit() -> None:
    update = OperationUpdate(
        id="step-1", type=T.STEP, action=A.SUCCEED, payload="x" * (MAX_PAYLOAD_BYTES + 1)
    )
    message = rejected(update)
    assert str(MAX_PAYLOAD_BYTES + 1) in message
    assert str(MAX_PAYLOAD_BYTES) in message


def test_payload_at_the_limit() -> None:
    plan(
        OperationUpdate(id="step-1", type=T.STEP, action=A.SUCCEED, payload="x" * MAX_PAYLOAD_BYTES)
    )


def test_payload_limit_counts_bytes_not_characters() -> None:
    two_byte = "é" * (MAX_PAYLOAD_BYTES // 2 + 1)  # under the limit in characters
    update = OperationUpdate(id="step-1", type=T.STEP, action=A.SUCCEED, payload=two_byte)
    assert str(len(two_byte.encode())) in rejected(update)


def test_payloads_of_one_call_add_up() -> None:
    # Each payload alone is fine; together (in bytes) they are over the request limit.
    half = "é" * (MAX_PAYLOAD_BYTES // 4 + 1)
    updates = [
        OperationUpdate(id="step-1", type=T.STEP, action=A.SUCCEED, payload=half),
        step_start("s2"),
        OperationUpdate(id="s2", type=T.STEP, action=A.SUCCEED, payload=half),
    ]
    assert "request limit" in rejected(*updates)


def test_too_many_updates() -> None:
    updates = [step_start(f"s{i}") for i in range(MAX_UPDATES_PER_CALL + 1)]
    message = rejected(*updates)
    assert str(MAX_UPDATES_PER_CALL) in message
    assert str(MAX_UPDATES_PER_CALL + 1) in message


def test_as_many_updates_as_allowed() -> None:
    plan(*[step_start(f"s{i}") for i in range(MAX_UPDATES_PER_CALL)])


def test_execution_already_finished() -> None:
    message = rejected(step_start(), execution_open=False)
    assert ARN in message
    assert "already finished" in message


def test_an_empty_checkpoint_is_valid() -> None:
    plan()


@pytest.mark.parametrize("action", [A.SUCCEED, A.FAIL])
def test_nothing_may_follow_the_execution_close(action: OperationAction) -> None:
    close = OperationUpdate(
        id="execution-result-1",
        type=T.EXECUTION,
        action=action,
        payload='"r"' if action is A.SUCCEED else None,
        error=ErrorObject("E") if action is A.FAIL else None,
    )
    plan(step_start(), close)  # the close may end a batch
    message = rejected(close, step_start("after"))
    assert "'after'" in message
    assert "closed the execution" in message


def test_execution_fail_carries_no_payload() -> None:
    update = OperationUpdate(id=EXECUTION_ID, type=T.EXECUTION, action=A.FAIL, payload='"x"')
    assert "carries an Error, not a Payload" in rejected(update)


@pytest.mark.parametrize("field", ["timeout_seconds", "heartbeat_timeout_seconds"])
def test_callback_negative_timeouts(field: str) -> None:
    update = OperationUpdate(
        id="cb",
        type=T.CALLBACK,
        action=A.START,
        callback_options=CallbackOptions(**{field: -1}),
    )
    assert "must be >= 0" in rejected(update)


def test_callback_zero_timeouts_mean_none() -> None:
    plan(
        OperationUpdate(
            id="cb",
            type=T.CALLBACK,
            action=A.START,
            callback_options=CallbackOptions(timeout_seconds=0, heartbeat_timeout_seconds=0),
        )
    )


# --- atomicity through the service -------------------------------------------------------


@durable_execution
async def blocks_on_a_callback(_event: object) -> object:
    callback = await create_callback(name="gate")
    return await callback.result()


class Recorder(ExecutionObserver):
    def __init__(self) -> None:
        self.accepted: list[OperationUpdate] = []
        self.rejected: list[tuple[tuple[OperationUpdate, ...], Exception]] = []
        self.events: list[object] = []

    def on_update_accepted(
        self, execution_arn: str, update: OperationUpdate, operation: Operation
    ) -> None:
        self.accepted.append(update)

    def on_checkpoint_rejected(self, execution_arn: str, updates: object, error: Exception) -> None:
        self.rejected.append((tuple(updates), error))  # type: ignore[arg-type]

    def on_history_event(self, execution_arn: str, event: object) -> None:
        self.events.append(event)


@pytest.fixture
def open_execution() -> Iterator[tuple[DurableFunctionTestRunner, str, Recorder]]:
    recorder = Recorder()
    with DurableFunctionTestRunner(handler=blocks_on_a_callback, observers=[recorder]) as runner:
        arn = runner.start({"go": True})
        execution = runner.executor.get(arn)
        assert execution.is_open
        assert len(execution.invocations) == 1
        yield runner, arn, recorder


def _snapshot(runner: DurableFunctionTestRunner, arn: str) -> dict[str, object]:
    execution = runner.executor.get(arn)
    return {
        "operations": copy.deepcopy(execution.operations),
        "order": list(execution.operations),
        "events": execution.events,
        "token": execution.current_token(),
        "sequence": execution.token_sequence,
        "callbacks": dict(execution.callbacks),
        "pending": runner.executor.pending_items(arn),
        "status": execution.status,
        "closed_by_checkpoint": execution.closed_by_checkpoint,
        "children": list(runner.executor.children_of(arn)),
    }


def _gate_id(runner: DurableFunctionTestRunner, arn: str) -> str:
    ops = runner.executor.get(arn).operations.values()
    (gate,) = [o for o in ops if o.type is T.CALLBACK]
    return gate.id


THIRD_UPDATES = {
    "unknown-parent": step_start("c", parent_id="nope"),
    "parent-not-context": step_start("c", parent_id="s-a"),
    "missing-wait-options": wait_start("w", seconds=None),
    "wait-too-long": wait_start("w", seconds=MAX_WAIT_SECONDS + 1),
    "retry-without-options": OperationUpdate(id="s-a", type=T.STEP, action=A.RETRY),
    "invoke-without-name": OperationUpdate(id="i", type=T.CHAINED_INVOKE, action=A.START),
    "bad-id": step_start("bad id"),
    "long-id": step_start("x" * 65),
    "bad-name": step_start("c", name="\x00"),
    "payload-too-big": OperationUpdate(
        id="s-b", type=T.STEP, action=A.SUCCEED, payload="x" * (MAX_PAYLOAD_BYTES + 1)
    ),
    "illegal-transition": step_start("s-a"),
    "wrong-type": wait_start("s-a"),
    "wait-succeed-is-never-sent": OperationUpdate(id="w", type=T.WAIT, action=A.SUCCEED),
}


@pytest.mark.parametrize("third", THIRD_UPDATES.values(), ids=THIRD_UPDATES.keys())
def test_a_batch_whose_third_update_is_invalid_changes_nothing(
    open_execution: tuple[DurableFunctionTestRunner, str, Recorder], third: OperationUpdate
) -> None:
    runner, arn, recorder = open_execution
    execution = runner.executor.get(arn)
    # The first two would change plenty: a step that starts and a wait with a timer.
    first = step_start("s-a", name="a")
    second = wait_start("w-b", seconds=60, name="b")
    if third.id == "s-b":
        second = step_start("s-b")
    before = _snapshot(runner, arn)
    accepted_before = len(recorder.accepted)
    events_before = len(recorder.events)
    token = execution.current_token()

    with pytest.raises(InvalidParameterValueException) as info:
        runner.executor.checkpoint(arn, token, [first, second, third])

    assert _snapshot(runner, arn) == before
    assert len(recorder.accepted) == accepted_before
    assert len(recorder.events) == events_before
    assert recorder.rejected[-1][0] == (first, second, third)
    assert recorder.rejected[-1][1] is info.value
    # The token was not consumed: the same one still works, and is then superseded.
    new_token, changed = runner.executor.checkpoint(arn, token, [first])
    assert new_token != token
    assert [op.id for op in changed] == ["s-a"]
    assert execution.operations["s-a"].status is S.STARTED


def test_too_many_updates_through_the_service_changes_nothing(
    open_execution: tuple[DurableFunctionTestRunner, str, Recorder],
) -> None:
    runner, arn, _ = open_execution
    before = _snapshot(runner, arn)
    updates = [step_start(f"s{i}") for i in range(MAX_UPDATES_PER_CALL + 1)]
    with pytest.raises(InvalidParameterValueException, match="at most 250 updates"):
        runner.executor.checkpoint(arn, runner.executor.get(arn).current_token(), updates)
    assert _snapshot(runner, arn) == before


def test_update_after_execution_close_through_the_service_changes_nothing(
    open_execution: tuple[DurableFunctionTestRunner, str, Recorder],
) -> None:
    runner, arn, _ = open_execution
    before = _snapshot(runner, arn)
    close = OperationUpdate(
        id="execution-result-1", type=T.EXECUTION, action=A.SUCCEED, payload="1"
    )
    with pytest.raises(InvalidParameterValueException, match="closed the execution"):
        runner.executor.checkpoint(
            arn, runner.executor.get(arn).current_token(), [step_start("s"), close, step_start("t")]
        )
    assert _snapshot(runner, arn) == before
    assert before["closed_by_checkpoint"] is None


def test_a_finished_execution_accepts_no_checkpoint(
    open_execution: tuple[DurableFunctionTestRunner, str, Recorder],
) -> None:
    runner, arn, _ = open_execution
    runner.stop_execution(arn)
    execution = runner.executor.get(arn)
    assert not execution.is_open
    before = _snapshot(runner, arn)
    with pytest.raises(InvalidParameterValueException) as info:
        runner.executor.checkpoint(arn, execution.current_token(), [step_start()])
    assert "already finished" in info.value.message
    assert arn in info.value.message
    assert _snapshot(runner, arn) == before


def test_the_valid_batch_is_applied_whole(
    open_execution: tuple[DurableFunctionTestRunner, str, Recorder],
) -> None:
    runner, arn, recorder = open_execution
    execution = runner.executor.get(arn)
    gate = _gate_id(runner, arn)
    events = len(execution.events)
    updates = [
        step_start("s-a", name="a"),
        OperationUpdate(id="s-a", type=T.STEP, action=A.SUCCEED, payload='"A"'),
        wait_start("w-b", seconds=60, name="b"),
    ]
    token, changed = runner.executor.checkpoint(arn, execution.current_token(), updates)
    assert token == execution.current_token()
    assert [op.id for op in changed] == ["s-a", "w-b"]
    assert execution.operations["s-a"].status is S.SUCCEEDED
    assert execution.operations["w-b"].status is S.STARTED
    assert execution.operations[gate].status is S.STARTED
    new_types = [e.event_type.value for e in execution.events[events:]]
    assert new_types == ["StepStarted", "StepSucceeded", "WaitStarted"]
    assert [u.id for u in recorder.accepted[-3:]] == ["s-a", "s-a", "w-b"]
    timers = [i for i in runner.executor.pending_items(arn) if i.operation_id == "w-b"]
    assert [t.due - NOW for t in timers] == [dt.timedelta(seconds=60)]
