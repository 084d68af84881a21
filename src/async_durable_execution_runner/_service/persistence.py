"""Persisting executions: their stored state as JSON-ready documents, and putting them back.

A store (``ExecutionStore``: ``load()`` and ``save_changed(executions)``) keeps what
:func:`execution_document` returns for each execution (the :func:`execution_header` and the
execution's operations, history events and ``ClientToken`` ledger, which a store may write
piecemeal); :func:`restore` puts documents back into
a fresh executor: operations and histories as they were, callback ids, and the timers an open
execution waits on (waits, retry back-offs, callback and execution timeouts), plus an
invocation now, because the one that was running when the process died is gone: the service
re-invokes from the last acknowledged checkpoint, as Lambda does after a sandbox dies.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from async_durable_execution_runner._models import (
    ErrorObject,
    Event,
    EventType,
    Operation,
    OperationStatus,
    OperationType,
)
from async_durable_execution_runner._models._time import parse_timestamp
from async_durable_execution_runner._service.execution import (
    ClosedByCheckpoint,
    Execution,
    ExecutionStatus,
)
from async_durable_execution_runner._service.history import History
from async_durable_execution_runner._service.ledger import LedgerEntry
from async_durable_execution_runner._service.scheduler import DueKind

if TYPE_CHECKING:
    from async_durable_execution_runner._service.executor import Executor

__all__ = ["ExecutionStore", "execution_document", "execution_header", "restore"]


class ExecutionStore(Protocol):
    """Where executions persist (``SqliteStore``)."""

    def load(self) -> list[dict[str, Any]]: ...

    def save_changed(self, executions: Iterable[Execution]) -> int: ...

    def close(self) -> None: ...


def _iso(value: _dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def execution_document(execution: Execution) -> dict[str, Any]:
    """Everything stored about ``execution``, as JSON-ready data."""
    return {
        **execution_header(execution),
        "operations": [op.to_json_dict() for op in execution.operations.values()],
        "events": [event.to_json_dict() for event in execution.events],
        "client_tokens": [entry.to_json_dict() for entry in execution.client_tokens],
    }


def execution_header(execution: Execution) -> dict[str, Any]:
    """What is stored about ``execution`` besides its operations, events and ledger."""
    closed = execution.closed_by_checkpoint
    return {
        "arn": execution.arn,
        "execution_id": execution.execution_id,
        "name": execution.name,
        "function_name": execution.function_name,
        "input_payload": execution.input_payload,
        "timeout_seconds": execution.timeout_seconds,
        "start": _iso(execution.start),
        "end": _iso(execution.end),
        "status": execution.status.value,
        "result": execution.result,
        "error": execution.error.to_dict() if execution.error else None,
        "token_sequence": execution.token_sequence,
        "callbacks": dict(execution.callbacks),
        "parent": list(execution.parent) if execution.parent else None,
        "closed_by_checkpoint": (
            {
                "succeeded": closed.succeeded,
                "result": closed.result,
                "error": closed.error.to_dict() if closed.error else None,
            }
            if closed is not None
            else None
        ),
    }


def restore(executor: Executor, documents: Iterable[dict[str, Any]]) -> list[str]:
    """Put stored executions back into ``executor``; returns the ARNs of the open ones, each
    with its timers scheduled and an invocation due now."""
    state = executor.state
    notifier = state.notifier
    reopened = []
    for doc in documents:
        arn = doc["arn"]
        replaying = [True]  # observers hear of new events only, not of the restored ones

        def on_event(event: Event, arn: str = arn, replaying: list[bool] = replaying) -> None:
            if not replaying[0]:
                notifier.history_event(arn, event)

        history = History(on_event=on_event)
        for raw in doc["events"]:
            event = Event.from_dict(_revive(raw))
            history.append(
                event.event_type,
                event.event_timestamp,
                id=event.id,
                name=event.name,
                parent_id=event.parent_id,
                sub_type=event.sub_type,
                details=event.details,
            )
        replaying[0] = False
        closed = doc.get("closed_by_checkpoint")
        execution = Execution(
            arn=arn,
            execution_id=doc["execution_id"],
            name=doc["name"],
            function_name=doc["function_name"],
            input_payload=doc["input_payload"],
            timeout_seconds=int(doc["timeout_seconds"]),
            start=parse_timestamp(doc["start"]),
            history=history,
            operations={op["Id"]: Operation.from_dict(op) for op in doc["operations"]},
            status=ExecutionStatus(doc["status"]),
            result=doc["result"],
            error=ErrorObject.from_dict(doc["error"]) if doc["error"] else None,
            end=parse_timestamp(doc["end"]) if doc["end"] else None,
            token_sequence=int(doc["token_sequence"]),
            parent=(doc["parent"][0], doc["parent"][1]) if doc["parent"] else None,
            closed_by_checkpoint=(
                ClosedByCheckpoint(
                    closed["succeeded"],
                    closed["result"],
                    ErrorObject.from_dict(closed["error"]) if closed["error"] else None,
                )
                if closed
                else None
            ),
        )
        for entry in doc.get("client_tokens", ()):
            execution.client_tokens.remember(LedgerEntry.from_dict(entry))
        state.executions[arn] = execution
        state.dirty[arn] = set()
        for callback_id, operation_id in doc["callbacks"].items():
            executor.callbacks.register(execution, callback_id, operation_id)
        if execution.is_open:
            _schedule_timers(executor, execution)
            reopened.append(arn)
    return reopened


def _revive(value: Any, key: str = "") -> Any:
    """Timestamps inside event details back to ``datetime`` (JSON holds epoch seconds)."""
    if isinstance(value, dict):
        return {k: _revive(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(v) for v in value]
    if key.endswith("Timestamp") and isinstance(value, int | float):
        return parse_timestamp(value)
    return value


def _schedule_timers(executor: Executor, execution: Execution) -> None:
    scheduler = executor.state.scheduler
    now = executor.clock.now()
    arn = execution.arn
    scheduler.schedule(
        execution.start + _dt.timedelta(seconds=execution.timeout_seconds),
        DueKind.EXECUTION_TIMEOUT,
        arn,
    )
    callback_started = {
        e.id: e.details
        for e in execution.events
        if e.event_type is EventType.CALLBACK_STARTED and e.id is not None
    }
    for op in execution.operations.values():
        if op.type is OperationType.WAIT and op.status is OperationStatus.STARTED:
            due = op.wait_details.scheduled_end_timestamp if op.wait_details else None
            scheduler.schedule(due or now, DueKind.WAIT, arn, op.id)
        elif op.type is OperationType.STEP and op.status is OperationStatus.PENDING:
            due = op.step_details.next_attempt_timestamp if op.step_details else None
            scheduler.schedule(due or now, DueKind.RETRY, arn, op.id)
        elif op.type is OperationType.CALLBACK and op.status is OperationStatus.STARTED:
            details = callback_started.get(op.id, {})
            timeout = int(details.get("Timeout") or 0)
            if timeout:
                scheduler.schedule(
                    op.start_timestamp + _dt.timedelta(seconds=timeout),
                    DueKind.CALLBACK_TIMEOUT,
                    arn,
                    op.id,
                )
            heartbeat = int(details.get("HeartbeatTimeout") or 0)
            if heartbeat:
                scheduler.schedule(
                    now + _dt.timedelta(seconds=heartbeat),
                    DueKind.CALLBACK_HEARTBEAT,
                    arn,
                    op.id,
                )
    # The invocation that was running when the process died is gone: invoke again.
    scheduler.schedule(now, DueKind.INVOCATION, arn, label="resume after restart")
