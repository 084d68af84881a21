"""The transition table, exhaustively: every type x action x current status through a real plan.

Each case builds an operations map holding one operation of the given type and status (or none
at all), sends one update that carries whatever options the per-operation validator requires,
and checks that ``CheckpointProcessor.plan`` accepts it exactly when ``transitions.is_allowed``
says so. Rejections must be ``InvalidParameterValueException`` naming the id, the status and
the action, so that a user reading the error knows what was refused and why.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from async_durable_execution_runner import InvalidParameterValueException
from async_durable_execution_runner._models import (
    CallbackDetails,
    ChainedInvokeDetails,
    ChainedInvokeOptions,
    ContextDetails,
    ErrorObject,
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
from async_durable_execution_runner._service.checkpoint import transitions
from async_durable_execution_runner._service.checkpoint.processor import CheckpointProcessor
from async_durable_execution_runner._service.checkpoint.processors import ProcessContext

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
EXECUTION_ID = "11111111-2222-3333-4444-555555555555"
ARN = (
    "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"
    f"/durable-execution/execution-1/{EXECUTION_ID}"
)
OP_ID = "op-1"


def _ctx() -> ProcessContext:
    return ProcessContext(
        now=NOW,
        execution_arn=ARN,
        execution_id=EXECUTION_ID,
        new_callback_id=lambda op_id: f"cb-{op_id}",
    )


def _details(op_type: OperationType) -> dict[str, object]:
    return {
        OperationType.EXECUTION: {"execution_details": ExecutionDetails(input_payload="{}")},
        OperationType.STEP: {"step_details": StepDetails(attempt=1)},
        OperationType.WAIT: {
            "wait_details": WaitDetails(scheduled_end_timestamp=NOW + dt.timedelta(seconds=5))
        },
        OperationType.CONTEXT: {"context_details": ContextDetails()},
        OperationType.CALLBACK: {"callback_details": CallbackDetails(callback_id="cb-op-1")},
        OperationType.CHAINED_INVOKE: {"chained_invoke_details": ChainedInvokeDetails()},
    }[op_type]


def _operations(op_type: OperationType, status: OperationStatus | None) -> dict[str, Operation]:
    ops: dict[str, Operation] = {}
    if op_type is not OperationType.EXECUTION:
        ops[EXECUTION_ID] = Operation(
            id=EXECUTION_ID,
            type=OperationType.EXECUTION,
            status=OperationStatus.STARTED,
            start_timestamp=NOW,
            **_details(OperationType.EXECUTION),  # type: ignore[arg-type]
        )
    if status is not None:
        target = EXECUTION_ID if op_type is OperationType.EXECUTION else OP_ID
        ops[target] = Operation(
            id=target,
            type=op_type,
            status=status,
            start_timestamp=NOW - dt.timedelta(seconds=10),
            end_timestamp=NOW if status.is_terminal else None,
            **_details(op_type),  # type: ignore[arg-type]
        )
    return ops


def _update(op_type: OperationType, action: OperationAction) -> OperationUpdate:
    """The update, with every option its validator requires for this action."""
    op_id = EXECUTION_ID if op_type is OperationType.EXECUTION else OP_ID
    payload = None
    error = None
    if action is OperationAction.SUCCEED:
        payload = '"ok"'
    elif action in (OperationAction.FAIL, OperationAction.RETRY):
        error = ErrorObject(error_type="Boom", error_message="it broke")
    return OperationUpdate(
        id=op_id,
        type=op_type,
        action=action,
        name="the-op" if op_type is not OperationType.EXECUTION else None,
        payload=payload,
        error=error,
        step_options=(
            StepOptions(next_attempt_delay_seconds=3)
            if op_type is OperationType.STEP and action is OperationAction.RETRY
            else None
        ),
        wait_options=(
            WaitOptions(wait_seconds=5)
            if op_type is OperationType.WAIT and action is OperationAction.START
            else None
        ),
        chained_invoke_options=(
            ChainedInvokeOptions(function_name="target-function")
            if op_type is OperationType.CHAINED_INVOKE and action is OperationAction.START
            else None
        ),
    )


CASES = [
    pytest.param(
        op_type,
        action,
        status,
        id=f"{op_type.value}-{action.value}-{'absent' if status is None else status.value}",
    )
    for op_type, action, status in itertools.product(
        OperationType, OperationAction, transitions.ALL_CURRENT_STATUSES
    )
]


def test_the_product_covers_every_combination() -> None:
    assert len(CASES) == len(OperationType) * len(OperationAction) * (len(OperationStatus) + 1)
    assert transitions.ALL_CURRENT_STATUSES[0] is None
    assert set(transitions.ALL_CURRENT_STATUSES[1:]) == set(OperationStatus)


@pytest.mark.parametrize(("op_type", "action", "status"), CASES)
def test_transition(
    op_type: OperationType, action: OperationAction, status: OperationStatus | None
) -> None:
    operations = _operations(op_type, status)
    before = dict(operations)
    update = _update(op_type, action)
    processor = CheckpointProcessor()
    target = EXECUTION_ID if op_type is OperationType.EXECUTION else OP_ID

    if transitions.is_allowed(op_type, action, status):
        plan = processor.plan(operations=operations, updates=[update], ctx=_ctx())
        assert len(plan.applied) == 1
        result = plan.operations[target]
        assert result.type is op_type
        assert result.status is transitions.RESULTING_STATUS[action]
    else:
        with pytest.raises(InvalidParameterValueException) as info:
            processor.plan(operations=operations, updates=[update], ctx=_ctx())
        message = info.value.message
        assert target in message
        assert action.value in message
        if status is None:
            assert "does not exist" in message
        else:
            assert status.value in message
        # The table's own explanation is part of the message.
        assert transitions.describe_allowed(op_type, action) in message
    # The processor is pure: the map it was given is untouched either way.
    assert operations == before


def test_every_table_entry_names_a_real_status() -> None:
    for (op_type, action), allowed in transitions.TRANSITIONS.items():
        assert isinstance(op_type, OperationType)
        assert isinstance(action, OperationAction)
        assert allowed, f"{op_type.value}/{action.value} has an empty entry; leave it out instead"
        assert allowed <= set(transitions.ALL_CURRENT_STATUSES)


def test_never_allowed_actions_say_so() -> None:
    assert transitions.allowed_from(OperationType.WAIT, OperationAction.SUCCEED) == frozenset()
    assert "never sent" in transitions.describe_allowed(OperationType.WAIT, OperationAction.SUCCEED)
    described = transitions.describe_allowed(OperationType.STEP, OperationAction.START)
    assert "a new operation" in described
    assert "READY" in described


def test_type_mismatch_is_rejected_whatever_the_table_says() -> None:
    # A STEP START is allowed on a new id, but not on an id that is already a WAIT.
    operations = _operations(OperationType.WAIT, OperationStatus.STARTED)
    update = _update(OperationType.STEP, OperationAction.START)
    with pytest.raises(InvalidParameterValueException) as info:
        CheckpointProcessor().plan(operations=operations, updates=[update], ctx=_ctx())
    assert OP_ID in info.value.message
    assert "WAIT" in info.value.message
    assert "STEP" in info.value.message


def test_later_updates_of_a_batch_see_earlier_ones() -> None:
    # START then SUCCEED of one step in one call: the SUCCEED checks against STARTED.
    operations = _operations(OperationType.STEP, None)
    updates = [
        _update(OperationType.STEP, OperationAction.START),
        _update(OperationType.STEP, OperationAction.SUCCEED),
    ]
    plan = CheckpointProcessor().plan(operations=operations, updates=updates, ctx=_ctx())
    assert [a.operation.status for a in plan.applied] == [
        OperationStatus.STARTED,
        OperationStatus.SUCCEEDED,
    ]
    assert plan.operations[OP_ID].status is OperationStatus.SUCCEEDED
    # ...and a second START in the same batch is refused against that STARTED.
    with pytest.raises(InvalidParameterValueException, match="STARTED"):
        CheckpointProcessor().plan(
            operations=operations,
            updates=[
                _update(OperationType.WAIT, OperationAction.START),
                _update(OperationType.WAIT, OperationAction.START),
            ],
            ctx=_ctx(),
        )


def test_execution_updates_address_the_execution_whatever_their_id() -> None:
    # The SDK gives EXECUTION updates ids of its own ("execution-result-<ms>").
    operations = _operations(OperationType.STEP, None)
    update = OperationUpdate(
        id="execution-result-1735689600000",
        type=OperationType.EXECUTION,
        action=OperationAction.SUCCEED,
        payload='"done"',
    )
    plan = CheckpointProcessor().plan(operations=operations, updates=[update], ctx=_ctx())
    assert plan.operations[EXECUTION_ID].status is OperationStatus.SUCCEEDED
