"""A small reference model of the service's checkpoint semantics, to test the processor against.

Written from the service model (botocore's Lambda ``OperationUpdate`` shape, as the shipped
JSON Schema) and the conformance requirements (which events a step, wait, child context,
callback and invoke leave in the history, and their ``RetryDetails``), *not* from the
processor: it shares no code with ``_service/checkpoint`` except the transition table, which is
the specification of which action is legal from which status. Everything else (the resulting
status, attempts, timestamps, events, which limit an update breaks) is computed here.

State: the execution's operations by id (type, status, attempt, parent, name, timestamps) and
whether the execution is still open. :meth:`CheckpointModel.checkpoint` takes a whole batch and
either accepts it (and commits it) or rejects it, changing nothing, with the index of the first
update at fault and *every* reason that update breaks (the processor reports one of them, so a
comparison asks for membership). Service-side changes are :meth:`CheckpointModel.fire`: a due
wait SUCCEEDS, a due retry makes its step READY.

Semantics, as modelled
----------------------
* Shape: every update must satisfy the ``OperationUpdate`` schema (patterns match the whole
  value, ASCII only, as ECMA-262 means them); a breach inside ``*Options`` is an ``OPTIONS``
  reason, a ``ParentId`` breach a ``PARENT`` one, anything else ``LIMITS``.
* A call carries at most 250 updates and at most 6 MiB of payload (UTF-8 bytes) in total
  (``LIMITS``); a finished execution accepts no checkpoint, and nothing may follow the update
  that closes the execution in the same call (``CLOSED_EXECUTION``).
* ``ParentId`` must name an operation that exists (earlier in the batch counts) and is a CONTEXT;
  EXECUTION updates have no parent (``PARENT``).
* An EXECUTION update addresses the execution's own operation, whatever its Id. An id keeps its
  type (``TYPE_MISMATCH``); otherwise the table decides (``TRANSITION``).
* Options an action needs: WaitSeconds to START a WAIT, NextAttemptDelaySeconds to RETRY a STEP,
  FunctionName to START a CHAINED_INVOKE; an EXECUTION FAIL carries no Payload (``OPTIONS``).
* Steps count finished attempts: a new step has attempt 0; SUCCEED, FAIL and RETRY each finish
  one (their event's ``RetryDetails.CurrentAttempt`` is the new count); START from READY starts
  the next without changing it. RETRY leaves the step PENDING until ``now + delay``.
* Events per update: ``<Type>Started`` for each START; ``StepSucceeded`` / ``StepFailed`` (also
  for RETRY: ``StepFailed`` when it carries an Error, else ``StepSucceeded`` with its Payload as
  the Result, as a wait_for_condition poll is recorded); ``ContextSucceeded`` /
  ``ContextFailed``, ``WaitCancelled``; none for cancelling a callback or an invoke (the model
  has no such event type) and none for EXECUTION updates (the execution's end is recorded when
  the invocation ends). A wait's timer adds ``WaitSucceeded``; a retry's timer adds nothing
  (READY is not an event; the next ``StepStarted`` is).
* Start timestamps are set once, at creation; SUCCEED, FAIL, CANCEL and a due wait set the end
  timestamp; name, sub-type and parent are those of the START that created the operation.
* A finished step attempt or context records what it produced (``Result`` or ``Error``, a
  RETRY both); every operation carries its type's details object; a CALLBACK gets its
  ``CallbackId`` at START. Event details are stated as facts (``ModelEvent.facts``); nothing
  is truncated.
* Effects, in order: a WAIT START or STEP RETRY starts its timer at the scheduled end / next
  attempt; a CALLBACK START registers the callback, then its timeout and heartbeat timers
  (when non-zero); a CHAINED_INVOKE START requests the invoke; CANCEL stops the timers (or the
  invoke); an EXECUTION SUCCEED / FAIL closes the execution with its payload or error.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import jsonschema

from async_durable_execution_runner._botocore_model import load_schema
from async_durable_execution_runner._models import (
    ErrorObject,
    EventType,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from async_durable_execution_runner._service.checkpoint.transitions import TRANSITIONS

__all__ = [
    "MAX_REQUEST_BYTES",
    "MAX_UPDATES_PER_CALL",
    "SERVICE_TRANSITIONS",
    "Accepted",
    "CheckpointModel",
    "ModelEffect",
    "ModelEvent",
    "ModelOperation",
    "Outcome",
    "Reason",
    "Rejected",
    "reachable_statuses",
    "reasons_text",
    "shape_reasons",
]

#: Updates per CheckpointDurableExecution call (the SDK's batcher never sends more).
MAX_UPDATES_PER_CALL: Final = 250
#: Lambda's 6 MB request payload limit, over the UTF-8 bytes of all payloads of one call.
MAX_REQUEST_BYTES: Final = 6 * 1024 * 1024

A = OperationAction
S = OperationStatus
T = OperationType


class Reason(StrEnum):
    """Why a batch was rejected, by class."""

    TRANSITION = "transition"
    TYPE_MISMATCH = "type_mismatch"
    PARENT = "parent"
    OPTIONS = "options"
    LIMITS = "limits"
    CLOSED_EXECUTION = "closed_execution"


#: Changes the service makes by itself: (type, from) -> to.
SERVICE_TRANSITIONS: Final[Mapping[tuple[OperationType, OperationStatus], OperationStatus]] = {
    (T.WAIT, S.STARTED): S.SUCCEEDED,
    (T.STEP, S.PENDING): S.READY,
}

# What each accepted (type, action) leads to, and the event it records (None: no event).
_RESULT: Final[Mapping[OperationAction, OperationStatus]] = {
    A.START: S.STARTED,
    A.SUCCEED: S.SUCCEEDED,
    A.FAIL: S.FAILED,
    A.RETRY: S.PENDING,
    A.CANCEL: S.CANCELLED,
}
_EVENT: Final[Mapping[tuple[OperationType, OperationAction], EventType | None]] = {
    (T.STEP, A.START): EventType.STEP_STARTED,
    (T.STEP, A.SUCCEED): EventType.STEP_SUCCEEDED,
    (T.STEP, A.FAIL): EventType.STEP_FAILED,
    (T.STEP, A.RETRY): EventType.STEP_FAILED,
    (T.WAIT, A.START): EventType.WAIT_STARTED,
    (T.WAIT, A.CANCEL): EventType.WAIT_CANCELLED,
    (T.CONTEXT, A.START): EventType.CONTEXT_STARTED,
    (T.CONTEXT, A.SUCCEED): EventType.CONTEXT_SUCCEEDED,
    (T.CONTEXT, A.FAIL): EventType.CONTEXT_FAILED,
    (T.CALLBACK, A.START): EventType.CALLBACK_STARTED,
    (T.CALLBACK, A.CANCEL): None,
    (T.CHAINED_INVOKE, A.START): EventType.CHAINED_INVOKE_STARTED,
    (T.CHAINED_INVOKE, A.CANCEL): None,
    (T.EXECUTION, A.SUCCEED): None,
    (T.EXECUTION, A.FAIL): None,
}
_FINISHES_ATTEMPT: Final = frozenset({A.SUCCEED, A.FAIL, A.RETRY})
_ENDS: Final = frozenset({A.SUCCEED, A.FAIL, A.CANCEL})
_OPTION_KEYS: Final = frozenset(
    {"ContextOptions", "StepOptions", "WaitOptions", "CallbackOptions", "ChainedInvokeOptions"}
)


@dataclass(frozen=True, slots=True)
class ModelOperation:
    """What the model tracks of an operation (the ``Operation`` shape, flattened)."""

    id: str
    type: OperationType
    status: OperationStatus
    start: _dt.datetime
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    end: _dt.datetime | None = None
    #: Finished attempts (STEP only; ``None`` for other types).
    attempt: int | None = None
    #: When a WAIT's timer is due.
    scheduled_end: _dt.datetime | None = None
    #: When a PENDING/READY step's retry is due (``None`` in other statuses).
    next_attempt: _dt.datetime | None = None
    #: ``Result`` / ``Error`` of a STEP's or CONTEXT's details; ``ReplayChildren`` of a CONTEXT.
    result: str | None = None
    error: ErrorObject | None = None
    replay_children: bool | None = None
    #: A CALLBACK's ``CallbackId``.
    callback_id: str | None = None
    #: The operation carries the details object of its type (``StepDetails`` for a STEP...):
    #: the service returns one for every operation, even when all its members are empty.
    has_details: bool = True


#: A fact of an event's details: (dotted path, value); ``None`` means "absent".
Fact = tuple[str, Any]


@dataclass(frozen=True, slots=True)
class ModelEvent:
    event_type: EventType
    operation_id: str
    #: What the model asserts of the event's details (other keys are not checked).
    facts: tuple[Fact, ...] = ()

    def fact(self, path: str) -> Any:
        return dict(self.facts).get(path)


#: What the service must do once the batch is committed, as a plain tuple:
#: ``("timer", kind, id, due)``, ``("cancel_timers", id)``, ``("register_callback", cb_id, id)``,
#: ``("invoke", id, function, payload, tenant)``, ``("cancel_invoke", id)``,
#: ``("close", succeeded, result, error)``.
ModelEffect = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Accepted:
    #: Final state of every operation the batch touched.
    operations: Mapping[str, ModelOperation]
    #: Events of each update, one tuple per update, in order.
    events: tuple[tuple[ModelEvent, ...], ...]
    closes_execution: bool = False
    effects: tuple[ModelEffect, ...] = ()
    #: The operation each update found (``None``: it created it), one per update.
    previous: tuple[ModelOperation | None, ...] = ()

    @property
    def event_types(self) -> list[EventType]:
        return [e.event_type for per_update in self.events for e in per_update]


@dataclass(frozen=True, slots=True)
class Rejected:
    #: The first update at fault, or ``None`` when the call as a whole is refused.
    index: int | None
    reasons: frozenset[Reason]


Outcome = Accepted | Rejected


@functools.cache
def reachable_statuses(op_type: OperationType) -> frozenset[OperationStatus]:
    """Every status an operation of ``op_type`` can reach by checkpoints (per the table) and
    the service's own transitions, from creation (EXECUTION: created STARTED by the service)."""
    frontier: set[OperationStatus | None] = {S.STARTED} if op_type is T.EXECUTION else {None}
    seen: set[OperationStatus] = set()
    while frontier:
        current = frontier.pop()
        nexts = {
            _RESULT[action]
            for (t, action), allowed in TRANSITIONS.items()
            if t is op_type and current in allowed
        }
        if current is not None:
            seen.add(current)
            if (op_type, current) in SERVICE_TRANSITIONS:
                nexts.add(SERVICE_TRANSITIONS[(op_type, current)])
        frontier |= {s for s in nexts if s not in seen}
    return frozenset(seen)


# ------------------------------------------------------------------------------------ shapes


def _fullmatch_pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    # The model's patterns match the whole value, with ECMA-262's ASCII-only classes; jsonschema
    # uses re.search, whose "$" also matches before a trailing newline.
    if isinstance(instance, str) and not _compiled(pattern).fullmatch(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


@functools.cache
def _update_validator() -> Any:
    base = jsonschema.Draft202012Validator
    cls = jsonschema.validators.extend(base, validators={"pattern": _fullmatch_pattern})  # type: ignore[no-untyped-call]
    return cls(load_schema("OperationUpdate"))


def shape_reasons(update: OperationUpdate) -> set[Reason]:
    """Reasons the update breaks the ``OperationUpdate`` shape of the service model."""
    return set(_shape_reasons(update))


@functools.lru_cache(maxsize=4096)
def _shape_reasons(update: OperationUpdate) -> frozenset[Reason]:
    reasons: set[Reason] = set()
    for error in _update_validator().iter_errors(update.to_dict()):
        top = error.absolute_path[0] if error.absolute_path else None
        if top in _OPTION_KEYS:
            reasons.add(Reason.OPTIONS)
        elif top == "ParentId":
            reasons.add(Reason.PARENT)
        else:
            reasons.add(Reason.LIMITS)
    return frozenset(reasons)


def _required_options_missing(update: OperationUpdate) -> bool:
    if update.action is A.START and update.type is T.WAIT:
        return update.wait_options is None or update.wait_options.wait_seconds is None
    if update.action is A.RETRY and update.type is T.STEP:
        return update.step_options is None or update.step_options.next_attempt_delay_seconds is None
    if update.action is A.START and update.type is T.CHAINED_INVOKE:
        options = update.chained_invoke_options
        return options is None or not options.function_name
    return update.type is T.EXECUTION and update.action is A.FAIL and update.payload is not None


# ------------------------------------------------------------------------------------- model


class CheckpointModel:
    """The execution's operations and whether it is open; see the module docstring."""

    def __init__(
        self,
        execution_id: str,
        start: _dt.datetime,
        new_callback_id: Callable[[str], str] = "cb-{}".format,
    ) -> None:
        self.execution_id = execution_id
        self.new_callback_id = new_callback_id
        self.is_open = True
        self.operations: dict[str, ModelOperation] = {
            execution_id: ModelOperation(execution_id, T.EXECUTION, S.STARTED, start)
        }

    # -------------------------------------------------------------------------- checkpoints

    def check(self, updates: Sequence[OperationUpdate], now: _dt.datetime) -> Outcome:
        """The outcome of a checkpoint call, without changing anything."""
        call_reasons: set[Reason] = set()
        if not self.is_open:
            call_reasons.add(Reason.CLOSED_EXECUTION)
        if len(updates) > MAX_UPDATES_PER_CALL:
            call_reasons.add(Reason.LIMITS)
        if sum(len((u.payload or "").encode("utf-8")) for u in updates) > MAX_REQUEST_BYTES:
            call_reasons.add(Reason.LIMITS)
        if call_reasons:
            return Rejected(None, frozenset(call_reasons))

        view: dict[str, ModelOperation] = {}
        events: list[tuple[ModelEvent, ...]] = []
        effects: list[ModelEffect] = []
        previous: list[ModelOperation | None] = []
        closed = False
        for index, update in enumerate(updates):
            reasons = self._reasons(update, view, closed_in_batch=closed)
            if reasons:
                return Rejected(index, frozenset(reasons))
            current = self._get(update, view)
            previous.append(current)
            op, op_events, op_effects = self._apply(update, current, now)
            view[op.id] = op
            events.append(op_events)
            effects.extend(op_effects)
            closed = closed or update.type is T.EXECUTION
        return Accepted(
            dict(view),
            tuple(events),
            closes_execution=closed,
            effects=tuple(effects),
            previous=tuple(previous),
        )

    def checkpoint(self, updates: Sequence[OperationUpdate], now: _dt.datetime) -> Outcome:
        """:meth:`check`, then commit the batch if it is accepted."""
        outcome = self.check(updates, now)
        if isinstance(outcome, Accepted):
            self.operations.update(outcome.operations)
            if outcome.closes_execution:
                self.is_open = False
        return outcome

    def _target(self, update: OperationUpdate) -> str:
        return self.execution_id if update.type is T.EXECUTION else update.id

    def _get(
        self, update: OperationUpdate, view: Mapping[str, ModelOperation]
    ) -> ModelOperation | None:
        target = self._target(update)
        return view.get(target) or self.operations.get(target)

    def _reasons(
        self, update: OperationUpdate, view: Mapping[str, ModelOperation], *, closed_in_batch: bool
    ) -> set[Reason]:
        reasons = shape_reasons(update)
        if closed_in_batch:
            reasons.add(Reason.CLOSED_EXECUTION)
        if update.parent_id is not None:
            parent = view.get(update.parent_id) or self.operations.get(update.parent_id)
            if update.type is T.EXECUTION or parent is None or parent.type is not T.CONTEXT:
                reasons.add(Reason.PARENT)
        current = self._get(update, view)
        if current is not None and current.type is not update.type:
            reasons.add(Reason.TYPE_MISMATCH)
        elif (current.status if current else None) not in TRANSITIONS.get(
            (update.type, update.action), frozenset()
        ):
            reasons.add(Reason.TRANSITION)
        if _required_options_missing(update):
            reasons.add(Reason.OPTIONS)
        return reasons

    def _apply(
        self, update: OperationUpdate, current: ModelOperation | None, now: _dt.datetime
    ) -> tuple[ModelOperation, tuple[ModelEvent, ...], tuple[ModelEffect, ...]]:
        action, op_type = update.action, update.type
        if current is None:
            op = self._create(update, now)
        else:
            attempt = current.attempt
            if op_type is T.STEP and action in _FINISHES_ATTEMPT:
                attempt = (attempt or 0) + 1
            next_attempt = None
            if action is A.RETRY:
                next_attempt = now + _dt.timedelta(seconds=_delay(update))
            result, error, replay = current.result, current.error, current.replay_children
            if op_type in (T.STEP, T.CONTEXT) and action in _FINISHES_ATTEMPT:
                # A finished attempt (or context) records what it produced, and only that.
                result = update.payload if action is not A.FAIL else None
                error = update.error if action is not A.SUCCEED else None
                if op_type is T.CONTEXT:
                    replay = (
                        update.context_options.replay_children if update.context_options else None
                    )
            op = dataclasses.replace(
                current,
                status=_RESULT[action],
                end=now if action in _ENDS else current.end,
                attempt=attempt,
                next_attempt=next_attempt,
                result=result,
                error=error,
                replay_children=replay,
            )
        event_type = _EVENT.get((op_type, action))
        if op_type is T.STEP and action is A.RETRY and update.error is None:
            event_type = EventType.STEP_SUCCEEDED  # a poll with new state, not a failure
        events = () if event_type is None else (ModelEvent(event_type, op.id, _facts(update, op)),)
        return op, events, self._effects(update, op, now)

    def _create(self, update: OperationUpdate, now: _dt.datetime) -> ModelOperation:
        op_type = update.type
        seconds = update.wait_options.wait_seconds if update.wait_options else None
        return ModelOperation(
            id=update.id,
            type=op_type,
            status=_RESULT[update.action],
            start=now,
            parent_id=update.parent_id,
            name=update.name,
            sub_type=update.sub_type,
            attempt=0 if op_type is T.STEP else None,
            scheduled_end=now + _dt.timedelta(seconds=seconds or 0) if op_type is T.WAIT else None,
            callback_id=self.new_callback_id(update.id) if op_type is T.CALLBACK else None,
        )

    @staticmethod
    def _effects(
        update: OperationUpdate, op: ModelOperation, now: _dt.datetime
    ) -> tuple[ModelEffect, ...]:
        action, op_type = update.action, update.type
        if op_type is T.EXECUTION:
            return (("close", action is A.SUCCEED, update.payload, update.error),)
        if action is A.CANCEL:
            return (("cancel_invoke" if op_type is T.CHAINED_INVOKE else "cancel_timers", op.id),)
        if op_type is T.WAIT and action is A.START:
            return (("timer", "wait", op.id, op.scheduled_end),)
        if op_type is T.STEP and action is A.RETRY:
            return (("timer", "retry", op.id, op.next_attempt),)
        if op_type is T.CALLBACK and action is A.START:
            timeout, heartbeat = _callback_timeouts(update)
            out: list[ModelEffect] = [("register_callback", op.callback_id, op.id)]
            if timeout:
                out.append(
                    ("timer", "callback_timeout", op.id, now + _dt.timedelta(seconds=timeout))
                )
            if heartbeat:
                out.append(
                    ("timer", "callback_heartbeat", op.id, now + _dt.timedelta(seconds=heartbeat))
                )
            return tuple(out)
        if op_type is T.CHAINED_INVOKE and action is A.START:
            options = update.chained_invoke_options
            assert options is not None
            return (("invoke", op.id, options.function_name, update.payload, options.tenant_id),)
        return ()

    # --------------------------------------------------------------------- service transitions

    def due(self, now: _dt.datetime) -> list[str]:
        """Ids whose service-side timer is due at ``now``, sorted."""
        due = []
        for op in self.operations.values():
            at = self._due_at(op)
            if at is not None and at <= now:
                due.append(op.id)
        return sorted(due)

    def next_due(self) -> _dt.datetime | None:
        times = [t for t in map(self._due_at, self.operations.values()) if t is not None]
        return min(times, default=None)

    @staticmethod
    def _due_at(op: ModelOperation) -> _dt.datetime | None:
        if op.type is T.WAIT and op.status is S.STARTED:
            return op.scheduled_end
        if op.type is T.STEP and op.status is S.PENDING:
            return op.next_attempt
        return None

    def fire(self, op_id: str, now: _dt.datetime) -> tuple[ModelOperation, tuple[ModelEvent, ...]]:
        """Apply the service's own transition of a due operation (and commit it)."""
        current = self.operations[op_id]
        status = SERVICE_TRANSITIONS[(current.type, current.status)]
        if current.type is T.WAIT:
            op = dataclasses.replace(current, status=status, end=now)
            duration = _whole_seconds(current.start, current.scheduled_end)
            events: tuple[ModelEvent, ...] = (
                ModelEvent(EventType.WAIT_SUCCEEDED, op_id, (("Duration", duration),)),
            )
        else:
            op = dataclasses.replace(current, status=status)
            events = ()
        self.operations[op_id] = op
        return op, events

    def snapshot(self) -> dict[str, ModelOperation]:
        return dict(self.operations)


def _delay(update: OperationUpdate) -> int:
    delay = update.step_options.next_attempt_delay_seconds if update.step_options else None
    return delay or 0


def _callback_timeouts(update: OperationUpdate) -> tuple[int, int]:
    options = update.callback_options
    if options is None:
        return 0, 0
    return options.timeout_seconds or 0, options.heartbeat_timeout_seconds or 0


def _whole_seconds(start: _dt.datetime, end: _dt.datetime | None) -> int:
    return 0 if end is None else round((end - start).total_seconds())


def _error_payload(error: ErrorObject | None) -> dict[str, Any]:
    # EventError.Payload is the ErrorObject as the model's wire shape; an empty one when absent.
    return (error or ErrorObject()).to_dict()


def _facts(update: OperationUpdate, op: ModelOperation) -> tuple[Fact, ...]:
    """The details the model asserts for the event ``update`` records (the history's event
    shapes of the service model; RetryDetails as the conformance requirements show them).
    The emulator never truncates: every ``Truncated`` is false."""
    action, op_type = update.action, update.type
    if op_type is T.STEP:
        if action is A.START:
            return ()
        facts: list[Fact] = [("RetryDetails.CurrentAttempt", op.attempt)]
        if action is A.SUCCEED or (action is A.RETRY and update.error is None):
            facts += [("Result.Payload", update.payload), ("Result.Truncated", False)]
        else:
            facts += [("Error.Payload", _error_payload(update.error)), ("Error.Truncated", False)]
        delay = _delay(update) if action is A.RETRY else None
        facts.append(("RetryDetails.NextAttemptDelaySeconds", delay))
        return tuple(facts)
    if op_type is T.WAIT:
        if action is A.START:
            return (
                ("Duration", _whole_seconds(op.start, op.scheduled_end)),
                ("ScheduledEndTimestamp", op.scheduled_end),
            )
        return (("Error.Payload", update.error.to_dict() if update.error else None),)
    if op_type is T.CONTEXT:
        if action is A.SUCCEED:
            return (("Result.Payload", update.payload), ("Result.Truncated", False))
        if action is A.FAIL:
            return (("Error.Payload", _error_payload(update.error)), ("Error.Truncated", False))
        return ()
    if op_type is T.CALLBACK:
        timeout, heartbeat = _callback_timeouts(update)
        return (
            ("CallbackId", op.callback_id),
            ("Timeout", timeout or None),
            ("HeartbeatTimeout", heartbeat or None),
        )
    if op_type is T.CHAINED_INVOKE:
        options = update.chained_invoke_options
        assert options is not None
        return (
            ("FunctionName", options.function_name),
            ("TenantId", options.tenant_id),
            ("Input.Payload", update.payload or ""),
            ("Input.Truncated", False),
        )
    return ()


def reasons_text(reasons: Iterable[Reason]) -> str:
    return ", ".join(sorted(r.value for r in reasons))
