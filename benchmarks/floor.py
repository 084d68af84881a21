"""The FLOOR baseline: the SDK driven by the thinnest service client we could write.

``FloorServiceClient`` implements the SDK's ``DurableServiceClient`` protocol and nothing
else a real service does: no validation, no history, no tokens worth the name, no JSON.
It keeps operations in a dict, turns each START/SUCCEED/FAIL/RETRY update straight into
the SDK's own ``Operation`` objects and returns only the operations the call touched.
``run_floor`` re-invokes the handler until it stops returning ``PENDING``; before each
re-invocation it jumps a virtual clock to the earliest due timer and marks due waits
SUCCEEDED and due retries READY.

It uses SDK private names on purpose: this is a benchmark baseline, not product code.
Its cost is (almost) only the SDK's own, so "ours / floor" says how much the emulator adds.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from async_durable_execution._core import (
    CheckpointOutput,
    CheckpointUpdatedExecutionState,
    ContextDetails,
    InitialExecutionState,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StateOutput,
    StepDetails,
    WaitDetails,
    _bind_service_client_to_handler,
)
from async_durable_execution._core.models import ExecutionDetails

_EPOCH = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)
EXECUTION_ID = "floor-execution"
ARN = f"arn:aws:lambda:us-east-1:123456789012:function:floor/durable-execution/run/{EXECUTION_ID}"


class FloorError(RuntimeError):
    """The floor met something it does not model (it only knows the benchmark workloads)."""


class FloorServiceClient:
    """An in-memory ``DurableServiceClient``: a dict of operations and nothing more."""

    def __init__(self, input_payload: str) -> None:
        self.now = 0.0  # virtual seconds since _EPOCH
        self.operations: dict[str, Operation] = {
            EXECUTION_ID: Operation(
                operation_id=EXECUTION_ID,
                operation_type=OperationType.EXECUTION,
                status=OperationStatus.STARTED,
                execution_details=ExecutionDetails(input_payload=input_payload),
            )
        }
        # operation id -> virtual due time, for STARTED waits and PENDING retries
        self.timers: dict[str, float] = {}
        self.token = 0
        self.checkpoint_calls = 0

    def _ts(self, seconds: float) -> _dt.datetime:
        return _EPOCH + _dt.timedelta(seconds=seconds)

    def _apply(self, u: OperationUpdate) -> Operation:
        old = self.operations.get(u.operation_id)
        action = u.action
        kind = u.operation_type
        if action is OperationAction.START:
            if kind is OperationType.STEP and old is not None:  # READY -> STARTED, keep attempt
                op = replace(old, status=OperationStatus.STARTED)
            else:
                op = Operation(
                    operation_id=u.operation_id,
                    operation_type=kind,
                    status=OperationStatus.STARTED,
                    parent_id=u.parent_id,
                    name=u.name,
                    sub_type=u.sub_type,
                )
                if kind is OperationType.WAIT:
                    due = self.now + (u.wait_options.wait_seconds if u.wait_options else 0)
                    self.timers[u.operation_id] = due
                    op = replace(
                        op, wait_details=WaitDetails(scheduled_end_timestamp=self._ts(due))
                    )
                elif kind is OperationType.STEP:
                    op = replace(op, step_details=StepDetails())
        elif old is None:
            msg = f"{action.value} for unknown operation {u.operation_id}"
            raise FloorError(msg)
        elif action is OperationAction.SUCCEED or action is OperationAction.FAIL:
            status = (
                OperationStatus.SUCCEEDED
                if action is OperationAction.SUCCEED
                else OperationStatus.FAILED
            )
            if kind is OperationType.STEP:
                attempt = (old.step_details.attempt if old.step_details else 0) + 1
                op = replace(
                    old,
                    status=status,
                    step_details=StepDetails(attempt=attempt, result=u.payload, error=u.error),
                )
            elif kind is OperationType.CONTEXT:
                replay = bool(u.context_options and u.context_options.replay_children)
                op = replace(
                    old,
                    status=status,
                    context_details=ContextDetails(
                        replay_children=replay, result=u.payload, error=u.error
                    ),
                )
            else:
                op = replace(old, status=status)
        elif action is OperationAction.RETRY and kind is OperationType.STEP:
            attempt = (old.step_details.attempt if old.step_details else 0) + 1
            delay = u.step_options.next_attempt_delay_seconds if u.step_options else 0
            due = self.now + delay
            self.timers[u.operation_id] = due
            op = replace(
                old,
                status=OperationStatus.PENDING,
                step_details=StepDetails(
                    attempt=attempt, next_attempt_timestamp=self._ts(due), error=u.error
                ),
            )
        else:
            msg = f"the floor does not model {kind.value} {action.value}"
            raise FloorError(msg)
        self.operations[u.operation_id] = op
        return op

    async def checkpoint(
        self,
        durable_execution_arn: str,
        checkpoint_token: str | None,
        updates: list[OperationUpdate],
        client_token: str | None,
    ) -> CheckpointOutput:
        self.checkpoint_calls += 1
        self.token += 1
        touched = [self._apply(u) for u in updates]
        return CheckpointOutput(
            checkpoint_token=str(self.token),
            new_execution_state=CheckpointUpdatedExecutionState(operations=touched),
        )

    async def get_execution_state(
        self,
        durable_execution_arn: str,
        checkpoint_token: str | None,
        next_marker: str,
        max_items: int = 1000,
    ) -> StateOutput:
        return StateOutput(operations=list(self.operations.values()), next_marker=None)

    def fire_due_timers(self) -> None:
        """Jump the virtual clock to the earliest timer and complete everything due then."""
        if not self.timers:
            msg = "the execution is suspended but no timer is pending"
            raise FloorError(msg)
        self.now = max(self.now, min(self.timers.values()))
        for op_id, due in list(self.timers.items()):
            if due <= self.now:
                del self.timers[op_id]
                op = self.operations[op_id]
                if op.operation_type is OperationType.WAIT:
                    self.operations[op_id] = replace(op, status=OperationStatus.SUCCEEDED)
                else:
                    self.operations[op_id] = replace(op, status=OperationStatus.READY)


async def run_floor(
    handler: Callable[..., Any],
    input: Any = None,
    *,
    max_invocations: int = 1000,
    stats: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Run one execution to completion; returns the last invocation output (a dict).

    ``stats``, when given, receives ``invocations`` and ``checkpoint_calls``.
    """
    client = FloorServiceClient(json.dumps(input))
    bound = _bind_service_client_to_handler(handler, client)
    context = SimpleNamespace(aws_request_id="floor", tenant_id=None)
    for invocation in range(1, max_invocations + 1):
        client.token += 1
        event = {
            "DurableExecutionArn": ARN,
            "CheckpointToken": str(client.token),
            "InitialExecutionState": InitialExecutionState(
                operations=list(client.operations.values()), next_marker=""
            ),
        }
        output: dict[str, Any] = await bound._async_handler(event, context)
        if stats is not None:
            stats["invocations"] = invocation
            stats["checkpoint_calls"] = client.checkpoint_calls
        if output["Status"] != "PENDING":
            return output
        client.fire_due_timers()
    msg = f"the execution did not finish in {max_invocations} invocations"
    raise FloorError(msg)
