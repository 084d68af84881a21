"""``CheckpointProcessorMachine``: the checkpoint processor against an independent reference
model of the service's checkpoint semantics (``reference_model.py`` beside it), as a Hypothesis
rule-based state machine. Users reach it through ``async_durable_execution_runner.stateful``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from async_durable_execution_runner._harness.checkpoint_model.reference_model import (
    Accepted,
    CheckpointModel,
    ModelEffect,
    ModelEvent,
    ModelOperation,
    Reason,
    Rejected,
    reachable_statuses,
    reasons_text,
)
from async_durable_execution_runner._harness.checkpoint_model.updates import checkpoint_batches
from async_durable_execution_runner._models import (
    ExecutionDetails,
    Operation,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from async_durable_execution_runner._service.checkpoint.processor import (
    CheckpointPlan,
    CheckpointProcessor,
)
from async_durable_execution_runner._service.checkpoint.processors import (
    Effect,
    PendingEvent,
    ProcessContext,
    Processed,
)
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CancelInvoke,
    CancelTimers,
    RegisterCallback,
    RequestInvoke,
    StartTimer,
)
from async_durable_execution_runner._service.checkpoint.processors.wait import complete_wait
from async_durable_execution_runner.errors import InvalidParameterValueException

__all__ = [
    "EXECUTION_ARN",
    "EXECUTION_ID",
    "START_TIME",
    "CheckpointProcessorMachine",
    "classify_rejection",
    "project_effect",
    "project_operation",
]

EXECUTION_ID = "exec-1"
EXECUTION_ARN = (
    "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST"
    f"/durable-execution/run-1/{EXECUTION_ID}"
)
START_TIME = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)

# ------------------------------------------------------------------------------- comparison


def project_operation(op: Operation) -> ModelOperation:
    """What the reference model tracks of a stored operation."""
    step, ctx, cb = op.step_details, op.context_details, op.callback_details
    waiting = op.status in (OperationStatus.PENDING, OperationStatus.READY)
    details = step or ctx
    return ModelOperation(
        id=op.id,
        type=op.type,
        status=op.status,
        start=op.start_timestamp,
        parent_id=op.parent_id,
        name=op.name,
        sub_type=op.sub_type,
        end=op.end_timestamp,
        attempt=step.attempt if step else None,
        scheduled_end=(
            op.wait_details.scheduled_end_timestamp
            if op.type is OperationType.WAIT and op.wait_details
            else None
        ),
        next_attempt=step.next_attempt_timestamp if step is not None and waiting else None,
        result=details.result if details else None,
        error=details.error if details else None,
        replay_children=ctx.replay_children if ctx else None,
        callback_id=cb.callback_id if cb else None,
        has_details=getattr(op, _DETAILS[op.type]) is not None,
    )


_DETAILS = {
    OperationType.EXECUTION: "execution_details",
    OperationType.STEP: "step_details",
    OperationType.WAIT: "wait_details",
    OperationType.CONTEXT: "context_details",
    OperationType.CALLBACK: "callback_details",
    OperationType.CHAINED_INVOKE: "chained_invoke_details",
}


def project_effect(effect: Effect) -> ModelEffect:
    """A processor effect as the reference model writes it."""
    if isinstance(effect, StartTimer):
        return ("timer", effect.kind, effect.operation_id, effect.due)
    if isinstance(effect, CancelTimers):
        return ("cancel_timers", effect.operation_id)
    if isinstance(effect, RegisterCallback):
        return ("register_callback", effect.callback_id, effect.operation_id)
    if isinstance(effect, RequestInvoke):
        return (
            "invoke",
            effect.operation_id,
            effect.function_name,
            effect.payload,
            effect.tenant_id,
        )
    if isinstance(effect, CancelInvoke):
        return ("cancel_invoke", effect.operation_id)
    return ("close", effect.succeeded, effect.result, effect.error)


def _detail(details: Mapping[str, Any], path: str) -> Any:
    value: Any = details
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _check_events(
    actual: Sequence[PendingEvent],
    expected: Sequence[ModelEvent],
    where: str,
    updates: Sequence[OperationUpdate] = (),
) -> None:
    """Same event types in order, and every fact the model states about their details."""
    types = [e.event_type for e in actual]
    assert types == [e.event_type for e in expected], (
        f"{where}: events {[t.value for t in types]}, model "
        f"{[e.event_type.value for e in expected]}\n{_describe(updates)}"
    )
    for pending, model_event in zip(actual, expected, strict=True):
        for path, value in model_event.facts:
            got = _detail(pending.details, path)
            assert got == value, (
                f"{where}: {pending.event_type.value} {path} is {got!r}, model says {value!r}"
                f"\n{_describe(updates)}"
            )


# Problem texts of the validators' "invalid <ACTION> update for <TYPE> operation '<id>': ..."
# messages, by reason class. A rejection matching none of these fails the machine: a new rule
# (or new wording) must be classified here and modelled in the reference model.
_PROBLEMS: tuple[tuple[str, Reason], ...] = (
    ("Id must be", Reason.LIMITS),
    ("Name must be", Reason.LIMITS),
    ("SubType must be", Reason.LIMITS),
    ("Payload is ", Reason.LIMITS),
    ("an EXECUTION update cannot have a ParentId", Reason.PARENT),
    ("ParentId ", Reason.PARENT),
    ("WaitOptions", Reason.OPTIONS),
    ("WaitSeconds", Reason.OPTIONS),
    ("StepOptions", Reason.OPTIONS),
    ("NextAttemptDelaySeconds", Reason.OPTIONS),
    ("CallbackOptions", Reason.OPTIONS),
    ("ChainedInvokeOptions", Reason.OPTIONS),
    ("FunctionName", Reason.OPTIONS),
    ("TenantId", Reason.OPTIONS),
    ("ContextOptions", Reason.OPTIONS),
    ("a FAIL update for the EXECUTION", Reason.OPTIONS),
)
_CALL_PROBLEMS: tuple[tuple[str, Reason], ...] = (
    ("has already finished; it accepts no more checkpoints", Reason.CLOSED_EXECUTION),
    ("a checkpoint may carry at most", Reason.LIMITS),
    ("request limit", Reason.LIMITS),
)


def classify_rejection(
    message: str, update: OperationUpdate | None, *, execution_id: str = EXECUTION_ID
) -> Reason | None:
    """The reason class of the processor's rejection ``message`` for ``update`` (``None``
    for a whole-call rejection), or ``None`` if the message is not one it knows."""
    if update is None:
        return next((r for text, r in _CALL_PROBLEMS if text in message), None)
    target = execution_id if update.type is OperationType.EXECUTION else update.id
    if message.startswith(f"update for {update.type.value} operation {update.id!r} follows"):
        return Reason.CLOSED_EXECUTION
    if message.startswith(f"operation {target!r} is a ") and "keeps its type" in message:
        return Reason.TYPE_MISMATCH
    if message.startswith(f"cannot {update.action.value} {update.type.value} operation {target!r}"):
        return Reason.TRANSITION
    prefix = (
        f"invalid {update.action.value} update for {update.type.value} operation {update.id!r}: "
    )
    if message.startswith(prefix):
        problem = message[len(prefix) :]
        return next((r for text, r in _PROBLEMS if problem.startswith(text)), None)
    return None


def _describe(updates: Sequence[OperationUpdate]) -> str:
    return "\n".join(f"  [{i}] {u!r}" for i, u in enumerate(updates))


def _diff(actual: Mapping[str, ModelOperation], expected: Mapping[str, ModelOperation]) -> str:
    lines = []
    for op_id in sorted(set(actual) | set(expected)):
        a, e = actual.get(op_id), expected.get(op_id)
        if a == e:
            continue
        if a is None or e is None:
            lines.append(f"  {op_id}: processor {a!r}, model {e!r}")
            continue
        for f in dataclasses.fields(ModelOperation):
            av, ev = getattr(a, f.name), getattr(e, f.name)
            if av != ev:
                lines.append(f"  {op_id}.{f.name}: processor {av!r}, model {ev!r}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the machine


def _callback_id(op_id: str) -> str:
    return f"cb-{op_id}"


def _event(value: str) -> None:
    """``hypothesis.event``, also callable outside a Hypothesis test (example-based tests
    drive the machine's checks directly)."""
    with contextlib.suppress(InvalidArgument):
        event(value)


class CheckpointProcessorMachine(RuleBasedStateMachine):
    """The real ``CheckpointProcessor`` against the reference model, batch by batch.

    State: one execution (id ``exec-1``) whose operations live in a plain dict, as the service
    keeps them, a virtual clock that only rules advance, and a
    :class:`~async_durable_execution_runner._harness.checkpoint_model.reference_model.CheckpointModel`.

    Rules:

    * ``checkpoint`` / ``checkpoint_on``: draw a batch from ``checkpoint_batches()`` against the
      current operations (``checkpoint_on`` aims it at an id from the ``op_ids`` bundle), run it
      through ``CheckpointProcessor.plan`` and through the model, and require the same decision.
      On accept: the same resulting operations (type, status, attempt, parent, name, sub-type,
      start/end timestamps, wait end, retry time, result, error, replay-children, callback id,
      the type's details object present), the same events per update in order with the details
      the model states (``RetryDetails``, durations, payloads...), the same effects (timers,
      callback registration, invokes, closing the execution) and the same ``previous`` per
      update; then the machine commits the plan into its dict (and the model commits too). On
      reject: the reason class of the processor's message must be one the model found for the
      same update, the message must name that update (or the finished execution's ARN), and
      nothing is committed. The processor gets a read-only view, so it cannot change the
      stored state. ``check_batch(updates)`` does all this for one batch outside a run.
    * ``advance_clock`` / ``jump_to_next_timer``: move the virtual clock.
    * ``fire_due_timer``: the service's own transitions of a due operation: a wait SUCCEEDS
      (``processors.wait.complete_wait``), a retrying step becomes READY.

    Invariants: every stored status is reachable from creation by the transition table and the
    service's transitions; step attempts never decrease; a terminal status (and its end
    timestamp) never changes; the stored operations, the open flag and the due timers always
    agree with the model.
    """

    op_ids = Bundle("op_ids")

    def __init__(self) -> None:
        super().__init__()
        self.now = START_TIME
        self.processor = CheckpointProcessor()
        self.operations: dict[str, Operation] = {
            EXECUTION_ID: Operation(
                id=EXECUTION_ID,
                type=OperationType.EXECUTION,
                status=OperationStatus.STARTED,
                start_timestamp=START_TIME,
                execution_details=ExecutionDetails(input_payload="{}"),
            )
        }
        self.execution_open = True
        self.model = CheckpointModel(EXECUTION_ID, START_TIME, new_callback_id=_callback_id)
        self._last_accepted = False
        self._attempts: dict[str, int] = {}
        self._terminal: dict[str, tuple[OperationStatus, _dt.datetime | None]] = {}

    # ----------------------------------------------------------------------------- helpers

    def _ctx(self) -> ProcessContext:
        return ProcessContext(
            now=self.now,
            execution_arn=EXECUTION_ARN,
            execution_id=EXECUTION_ID,
            new_callback_id=_callback_id,
        )

    def check_batch(self, updates: list[OperationUpdate]) -> bool:
        """Run one batch through the processor and the model, compare, commit if accepted;
        returns whether it was accepted. (The ``checkpoint`` rules call this; example-based
        tests may too.)"""
        self._run(updates)
        return self._last_accepted

    def _run(self, updates: list[OperationUpdate]) -> MultipleResults[str]:
        self._last_accepted = False
        expected = self.model.check(updates, self.now)
        try:
            plan = self.processor.plan(
                operations=MappingProxyType(self.operations),
                updates=updates,
                ctx=self._ctx(),
                execution_open=self.execution_open,
            )
        except InvalidParameterValueException as error:
            self._check_rejection(updates, expected, error.message)
            return multiple()
        if isinstance(expected, Rejected):
            at = "the call" if expected.index is None else f"update [{expected.index}]"
            msg = (
                f"the processor accepted a batch the model rejects ({at}: "
                f"{reasons_text(expected.reasons)}):\n{_describe(updates)}"
            )
            raise AssertionError(msg)
        self._check_plan(updates, plan, expected)
        _event("checkpoint: accepted")
        for applied in plan.applied:  # which edges of the table the run exercised
            before = applied.previous.status.value if applied.previous else "new"
            _event(
                f"applied: {applied.update.type.value} {applied.update.action.value} from {before}"
            )
        created = [op_id for op_id in plan.operations if op_id not in self.operations]
        self.operations.update(plan.operations)
        self.model.checkpoint(updates, self.now)
        self._last_accepted = True
        if expected.closes_execution:
            self.execution_open = False
        return multiple(*created)

    def _check_rejection(
        self, updates: list[OperationUpdate], expected: Accepted | Rejected, message: str
    ) -> None:
        if isinstance(expected, Accepted):
            msg = (
                f"the processor rejected a batch the model accepts: {message}\n{_describe(updates)}"
            )
            raise AssertionError(msg)
        update = updates[expected.index] if expected.index is not None else None
        reason = classify_rejection(message, update)
        where = "the call" if update is None else f"update [{expected.index}]"
        assert reason is not None, (
            f"unclassified rejection (expected one for {where}: "
            f"{reasons_text(expected.reasons)}): {message!r}\n{_describe(updates)}\n"
            "(a new validator rule? classify it in stateful.classify_rejection and model it)"
        )
        assert reason in expected.reasons, (
            f"the processor rejected {where} for {reason.value}, the model for "
            f"{reasons_text(expected.reasons)}: {message!r}\n{_describe(updates)}"
        )
        # The message names what was refused: the update's id, or the finished execution.
        if update is not None:
            target = EXECUTION_ID if update.type is OperationType.EXECUTION else update.id
            assert repr(update.id) in message or repr(target) in message, message
        elif reason is Reason.CLOSED_EXECUTION:
            assert EXECUTION_ARN in message, message
        _event(f"checkpoint: rejected ({reason.value})")

    def _check_plan(
        self, updates: list[OperationUpdate], plan: CheckpointPlan, expected: Accepted
    ) -> None:
        actual = {op_id: project_operation(op) for op_id, op in plan.operations.items()}
        assert actual == dict(expected.operations), (
            f"resulting operations differ:\n{_diff(actual, expected.operations)}\n"
            f"{_describe(updates)}"
        )
        assert len(plan.applied) == len(expected.events) == len(updates)
        for i, (applied, model_events) in enumerate(
            zip(plan.applied, expected.events, strict=True)
        ):
            _check_events(applied.events, model_events, f"update [{i}]", updates)
        found = tuple(project_operation(a.previous) if a.previous else None for a in plan.applied)
        assert found == expected.previous, (
            f"AppliedUpdate.previous: processor {found}, model {expected.previous}"
        )
        effects = tuple(project_effect(e) for e in plan.effects)
        assert effects == expected.effects, (
            f"effects differ: processor {effects}, model {expected.effects}\n{_describe(updates)}"
        )

    # ------------------------------------------------------------------------------- rules

    @initialize(target=op_ids)
    def the_execution(self) -> str:
        return EXECUTION_ID

    @rule(target=op_ids, data=st.data())
    def checkpoint(self, data: st.DataObject) -> MultipleResults[str]:
        updates = data.draw(checkpoint_batches(dict(self.operations)), label="updates")
        return self._run(updates)

    @rule(target=op_ids, op_id=op_ids, data=st.data())
    def checkpoint_on(self, op_id: str, data: st.DataObject) -> MultipleResults[str]:
        strategy = checkpoint_batches(dict(self.operations), focus=(op_id,), max_size=3)
        return self._run(data.draw(strategy, label="updates"))

    @rule(seconds=st.one_of(st.sampled_from([1, 5, 60, 3600, 31_622_400]), st.integers(0, 10**5)))
    def advance_clock(self, seconds: int) -> None:
        self.now += _dt.timedelta(seconds=seconds)

    @precondition(lambda self: (self.model.next_due() or self.now) > self.now)
    @rule()
    def jump_to_next_timer(self) -> None:
        due = self.model.next_due()
        assert due is not None
        self.now = due

    @precondition(lambda self: self.execution_open and bool(self.model.due(self.now)))
    @rule(data=st.data())
    def fire_due_timer(self, data: st.DataObject) -> None:
        op_id = data.draw(st.sampled_from(self.model.due(self.now)), label="due operation")
        current = self.operations[op_id]
        if current.type is OperationType.WAIT:
            processed = complete_wait(current, self.now)
        else:
            processed = Processed(dataclasses.replace(current, status=OperationStatus.READY))
        expected_op, expected_events = self.model.fire(op_id, self.now)
        actual = project_operation(processed.operation)
        assert actual == expected_op, (
            f"timer of {op_id}:\n{_diff({op_id: actual}, {op_id: expected_op})}"
        )
        _check_events(processed.events, expected_events, f"timer of {op_id}")
        _event(f"timer: {current.type.value}")
        self.operations[op_id] = processed.operation

    # -------------------------------------------------------------------------- invariants

    @invariant()
    def statuses_are_reachable(self) -> None:
        for op in self.operations.values():
            reachable = reachable_statuses(op.type)
            assert op.status in reachable, f"{op.id}: {op.type.value} cannot be {op.status.value}"

    @invariant()
    def attempts_never_decrease(self) -> None:
        for op in self.operations.values():
            if op.type is not OperationType.STEP:
                continue
            attempt = op.step_details.attempt if op.step_details else 0
            assert attempt >= self._attempts.get(op.id, 0), f"{op.id}: attempt went down"
            self._attempts[op.id] = attempt

    @invariant()
    def terminal_status_never_changes(self) -> None:
        for op in self.operations.values():
            seen = self._terminal.get(op.id)
            if seen is not None:
                assert (op.status, op.end_timestamp) == seen, f"{op.id} left {seen[0].value}"
            elif op.status.is_terminal:
                self._terminal[op.id] = (op.status, op.end_timestamp)

    @invariant()
    def agrees_with_the_model(self) -> None:
        actual = {op_id: project_operation(op) for op_id, op in self.operations.items()}
        assert actual == self.model.operations, _diff(actual, self.model.operations)
        assert self.execution_open == self.model.is_open

    @invariant()
    def timers_agree_with_the_model(self) -> None:
        due = sorted(
            op.id
            for op in self.operations.values()
            if (
                op.type is OperationType.WAIT
                and op.status is OperationStatus.STARTED
                and op.wait_details is not None
                and op.wait_details.scheduled_end_timestamp is not None
                and op.wait_details.scheduled_end_timestamp <= self.now
            )
            or (
                op.type is OperationType.STEP
                and op.status is OperationStatus.PENDING
                and op.step_details is not None
                and op.step_details.next_attempt_timestamp is not None
                and op.step_details.next_attempt_timestamp <= self.now
            )
        )
        assert due == self.model.due(self.now)
