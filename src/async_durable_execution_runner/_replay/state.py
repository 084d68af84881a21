"""Operation state rebuilt from a history, at every invocation boundary.

A history (``GetDurableExecutionHistory``'s ``Events``) is the only record a deployed
execution leaves. Folding its events in order gives the operations as the service stored
them; cutting the fold at each ``InvocationCompleted`` gives what the handler was handed when
it was invoked next. Events come from two sources, and the cut has to tell them apart:
the handler's own checkpoints (``StepStarted``, ``ContextSucceeded``, ...) belong to the
invocation that sent them, while the service's transitions (a wait's timer, a callback
answer, a chained invoke's result) are inputs to the handler.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from async_durable_execution_runner._models import (
    Event,
    EventType,
    Operation,
    OperationStatus,
    OperationType,
)
from async_durable_execution_runner._models._time import parse_timestamp
from async_durable_execution_runner._service.history_fold import (
    EXECUTION_ENDS,
    SERVICE_ERROR_TYPES,
    SERVICE_EVENTS,
    HistoryFormatError,
    apply_event,
    event_payload,
    is_handler_event,
    operation_type_of,
)

E = EventType

__all__ = [
    "EXECUTION_ENDS",
    "SERVICE_ERROR_TYPES",
    "SERVICE_EVENTS",
    "HistoryFormatError",
    "Invocation",
    "RecordedExecution",
    "apply_event",
    "is_handler_event",
    "operation_type_of",
    "parse_events",
    "replaying_children",
    "split_invocations",
]


def parse_events(history: Any) -> tuple[Event, ...]:
    """Events from a ``GetDurableExecutionHistory`` response (or its ``Events`` list, or
    ``Event`` objects), sorted by ``EventId``. Pages concatenated by the caller are fine."""
    raw: Any = history
    if isinstance(raw, Mapping):
        if "Events" not in raw:
            keys = ", ".join(sorted(raw)) or "none"
            msg = (
                "expected a GetDurableExecutionHistory response (a JSON object with 'Events') "
                f"or a list of events; this object has the keys: {keys}"
            )
            raise HistoryFormatError(msg)
        raw = raw["Events"]
    if not isinstance(raw, Iterable) or isinstance(raw, str | bytes):
        msg = f"expected a list of history events, got {type(raw).__name__}"
        raise HistoryFormatError(msg)
    events: list[Event] = []
    for i, item in enumerate(raw):
        if isinstance(item, Event):
            events.append(item)
            continue
        try:
            events.append(Event.from_dict(item))
        except (KeyError, ValueError, TypeError) as exc:
            msg = f"history event #{i + 1} is not a durable-execution event ({exc!r}): {item!r}"
            raise HistoryFormatError(msg) from exc
    events.sort(key=lambda e: e.event_id)
    if not events or events[0].event_type is not E.EXECUTION_STARTED:
        first = events[0].event_type.value if events else "nothing"
        msg = (
            f"a history starts with ExecutionStarted; this one starts with {first}. Export "
            "every page of GetDurableExecutionHistory (with IncludeExecutionData=true)"
        )
        raise HistoryFormatError(msg)
    return tuple(events)


@dataclass(frozen=True)
class Invocation:
    """One invocation in a history: the state to replay it from and the events it produced.

    ``operations`` is what the handler is handed to replay it: the contexts as they stood
    when it started, every other operation as it stood when it ended (so step results come
    from the history, as Temporal's replayer feeds activity results).
    """

    index: int  # 1-based
    start: _dt.datetime
    operations: tuple[Operation, ...]  # as handed to the handler (EXECUTION first)
    events: tuple[Event, ...]  # the handler's own events, in order
    completed: Event | None  # its InvocationCompleted (None: the history stops mid-invocation)
    execution_end: Event | None  # the execution's end, when it came right after this one

    @property
    def died(self) -> bool:
        """The invocation crashed, timed out or lost its response (Lambda recorded an error)."""
        return self.completed is not None and "Error" in self.completed.details

    @property
    def cut_short_by_service(self) -> bool:
        """The service refused a checkpoint and the SDK failed the execution: the handler
        was stopped by the world, not by its own decision."""
        end = self.execution_end
        if end is None or end.event_type is not E.EXECUTION_FAILED:
            return False
        error = (end.details.get("Error") or {}).get("Payload") or {}
        return error.get("ErrorType") in SERVICE_ERROR_TYPES


@dataclass(frozen=True)
class RecordedExecution:
    events: tuple[Event, ...]
    invocations: tuple[Invocation, ...]
    input_payload: str | None

    @property
    def end(self) -> Event | None:
        ends = [e for e in self.events if e.event_type in EXECUTION_ENDS]
        return ends[-1] if ends else None

    def first_event(self, operation_id: str) -> Event | None:
        return self._first_events.get(operation_id)

    @functools.cached_property
    def _first_events(self) -> dict[str | None, Event]:
        # Asked once per operation the replay requests: one pass, not one per request.
        first: dict[str | None, Event] = {}
        for e in self.events:
            if e.event_type is not E.EXECUTION_STARTED:
                first.setdefault(e.id, e)
        return first


def _ready(ops: Mapping[str, Operation], now: _dt.datetime) -> tuple[Operation, ...]:
    """Steps whose retry delay has passed are READY (the service records no event for it)."""
    out: list[Operation] = []
    for op in ops.values():
        details = op.step_details
        if (
            op.status is OperationStatus.PENDING
            and details is not None
            and details.next_attempt_timestamp is not None
            and details.next_attempt_timestamp <= now
        ):
            out.append(dataclasses.replace(op, status=OperationStatus.READY))
        else:
            out.append(op)
    return tuple(out)


def split_invocations(events: Sequence[Event]) -> RecordedExecution:
    """Cut the history at every ``InvocationCompleted``.

    The state handed to invocation *k* holds everything before it, plus the service's
    transitions recorded while it ran on operations that existed when it started (a callback
    answered mid-invocation): the handler may have seen them, and a replay that misses them
    stops earlier than the original did.
    """
    ops: dict[str, Operation] = {}
    invocations: list[Invocation] = []
    index = 0
    pending: list[Event] = []  # events since the previous InvocationCompleted
    input_payload: str | None = None
    for event in events:
        if event.event_type is E.EXECUTION_STARTED:
            apply_event(ops, event)
            input_payload = event_payload(event, "Input")
            continue
        pending.append(event)
        if event.event_type is E.INVOCATION_COMPLETED:
            index += 1
            invocations.append(_close(index, ops, pending, event))
            for e in pending:
                apply_event(ops, e)
            pending = []
    end = next((e for e in pending if e.event_type in EXECUTION_ENDS), None)
    if end is not None and invocations:
        last = invocations[-1]
        invocations[-1] = dataclasses.replace(last, execution_end=end)
    tail = [e for e in pending if is_handler_event(e)]
    if tail:
        # The history stops mid-invocation (exported while the handler ran).
        index += 1
        invocations.append(_close(index, ops, pending, None))
    return RecordedExecution(tuple(events), tuple(invocations), input_payload)


def _close(
    index: int, ops: Mapping[str, Operation], pending: Sequence[Event], completed: Event | None
) -> Invocation:
    start = _start_of(completed) if completed is not None else pending[0].event_timestamp
    before = dict(ops)
    after = dict(ops)
    for e in pending:
        if e.event_type in SERVICE_EVENTS and e.id in before:
            apply_event(before, e)
        apply_event(after, e)
    handed: dict[str, Operation] = {}
    for op_id, op in after.items():
        if op.type is OperationType.CONTEXT:
            # A context's outcome is the handler's own decision: it runs again.
            if op_id in before:
                handed[op_id] = before[op_id]
        else:
            # Everything else as it stood when the invocation ended: the handler replays the
            # step results, waits and answers it got, and no step body runs again.
            handed[op_id] = op
    handler_events = tuple(e for e in pending if is_handler_event(e))
    execution_end = next((e for e in pending if e.event_type in EXECUTION_ENDS), None)
    return Invocation(
        index=index,
        start=start,
        operations=_ready(handed, start),
        events=handler_events,
        completed=completed,
        execution_end=execution_end,
    )


def _start_of(completed: Event) -> _dt.datetime:
    value = completed.details.get("StartTimestamp")
    return parse_timestamp(value) if value is not None else completed.event_timestamp


def replaying_children(recorded: RecordedExecution, ids: Iterable[str] | None) -> RecordedExecution:
    """``recorded`` with the contexts ``ids`` marked ``ReplayChildren`` wherever they have
    succeeded.

    A context whose result was over the checkpoint limit was checkpointed as a summary with
    ``ReplayChildren`` set, and the SDK re-runs its children on replay to rebuild the result.
    The history's ``ContextSucceeded`` carries the summary but not the flag (the event has
    no such field), so a fold of the history alone hands the handler the summary as the
    result. Whoever knows the flag (a runner's result holds the operations as the service
    stored them) puts it back here."""
    wanted = set(ids or ())
    if not wanted:
        return recorded

    def mark(op: Operation) -> Operation:
        if op.id not in wanted or op.status is not OperationStatus.SUCCEEDED:
            return op
        details = op.context_details
        if details is None:
            return op
        return dataclasses.replace(
            op, context_details=dataclasses.replace(details, replay_children=True)
        )

    invocations = tuple(
        dataclasses.replace(inv, operations=tuple(mark(op) for op in inv.operations))
        for inv in recorded.invocations
    )
    return dataclasses.replace(recorded, invocations=invocations)
