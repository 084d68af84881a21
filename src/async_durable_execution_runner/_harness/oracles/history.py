"""The history oracle: every execution's history is well formed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import (
    MalformedHistory,
    _is_terminal,
    _label,
    oracle,
)
from async_durable_execution_runner._models import Event, EventType

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


def check_history_events(events: list[Event], invocations: int, finished: bool, arn: str) -> None:
    if not events:
        raise MalformedHistory(f"execution {arn} has no events")
    if events[0].event_type is not EventType.EXECUTION_STARTED:
        raise MalformedHistory(
            f"event 1 of {arn} is {events[0].event_type.value}, not ExecutionStarted"
        )
    seen_ops: set[str] = set()
    closed: dict[str, Event] = {}
    completed = 0
    for i, e in enumerate(events, start=1):
        if e.event_id != i:
            raise MalformedHistory(
                f"event {i} of {arn} has EventId {e.event_id}; ids must be consecutive from 1"
            )
        if i > 1 and e.event_timestamp < events[i - 2].event_timestamp:
            raise MalformedHistory(
                f"event {i} ({e.event_type.value}) of {arn} is timestamped "
                f"{e.event_timestamp.isoformat()}, before event {i - 1}"
            )
        if e.event_type is EventType.INVOCATION_COMPLETED:
            completed += 1
            continue
        if e.event_type.value.startswith("Execution"):
            if e.event_type is not EventType.EXECUTION_STARTED and i != len(events):
                raise MalformedHistory(
                    f"{e.event_type.value} (event {i}) of {arn} is not the last event"
                )
            continue
        op = e.id or ""
        if e.parent_id is not None and e.parent_id not in seen_ops:
            raise MalformedHistory(
                f"event {i} ({e.event_type.value}) of {_label(e.id, e.name)} names parent "
                f"{e.parent_id[:12]}... before any event of that parent"
            )
        if op in closed:
            raise MalformedHistory(
                f"event {i} ({e.event_type.value}) of {_label(e.id, e.name)} follows its terminal "
                f"event {closed[op].event_id} ({closed[op].event_type.value})"
            )
        seen_ops.add(op)
        if _is_terminal(e):
            closed[op] = e
    if completed != invocations:
        raise MalformedHistory(
            f"{arn} has {completed} InvocationCompleted events for {invocations} invocations"
        )
    if finished and not events[-1].event_type.value.startswith("Execution"):
        raise MalformedHistory(
            f"{arn} finished, but its last event is {events[-1].event_type.value}"
        )


@oracle("history")
def check_history(outcome: Outcome) -> None:
    """Consecutive ids, one terminal event per operation, parents first, one
    ``InvocationCompleted`` per invocation, time never goes backwards."""
    for arn, events in outcome.recorder.events.items():
        invocations = sum(1 for inv in outcome.recorder.invocations if inv.execution_arn == arn)
        finished = events[-1].event_type in (
            EventType.EXECUTION_SUCCEEDED,
            EventType.EXECUTION_FAILED,
            EventType.EXECUTION_TIMED_OUT,
            EventType.EXECUTION_STOPPED,
        )
        # An invocation that ends after its execution closed is not recorded by the service.
        recorded = sum(
            1
            for inv in outcome.recorder.invocations
            if inv.execution_arn == arn
            and inv.end is not None
            and _recorded(events, inv.request_id)
        )
        check_history_events(
            events, recorded if recorded != invocations else invocations, finished, arn
        )


def _recorded(events: list[Event], request_id: str) -> bool:
    return any(
        e.event_type is EventType.INVOCATION_COMPLETED and e.details.get("RequestId") == request_id
        for e in events
    )
