"""The checkpoint processor: validate a whole batch, then commit all of it or nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from async_durable_execution_runner._models import Operation, OperationType, OperationUpdate
from async_durable_execution_runner._models._frozen import cheap_frozen
from async_durable_execution_runner._service.checkpoint.processors import (
    PROCESSORS,
    Effect,
    OperationProcessor,
    PendingEvent,
    ProcessContext,
    Processed,
)
from async_durable_execution_runner._service.checkpoint.validators import (
    OPERATION_VALIDATORS,
    CheckpointValidator,
    TransitionsValidator,
    UpdateFieldsValidator,
    ValidationContext,
)


@cheap_frozen
@dataclass(frozen=True, slots=True)
class AppliedUpdate:
    update: OperationUpdate
    operation: Operation
    events: tuple[PendingEvent, ...]
    previous: Operation | None = None


@cheap_frozen
@dataclass(frozen=True, slots=True)
class CheckpointPlan:
    """Everything one accepted checkpoint changes, computed before anything is changed."""

    applied: tuple[AppliedUpdate, ...]
    effects: tuple[Effect, ...]

    @property
    def operations(self) -> dict[str, Operation]:
        """Final state of every operation the batch touched."""
        return {a.operation.id: a.operation for a in self.applied}


class CheckpointProcessor:
    """Pure: turns (current operations, updates) into a ``CheckpointPlan`` or raises.

    Raises ``InvalidParameterValueException`` naming the first rejected update; in that case
    the caller must change nothing, so the batch is atomic by construction.
    """

    def __init__(
        self,
        *,
        checkpoint_validator: CheckpointValidator | None = None,
        transitions_validator: TransitionsValidator | None = None,
        processors: Mapping[OperationType, OperationProcessor] | None = None,
    ) -> None:
        self._checkpoint_validator = checkpoint_validator or CheckpointValidator()
        self._transitions = transitions_validator or TransitionsValidator()
        self._fields = UpdateFieldsValidator()
        self._processors = dict(processors or PROCESSORS)

    def plan(
        self,
        *,
        operations: Mapping[str, Operation],
        updates: Sequence[OperationUpdate],
        ctx: ProcessContext,
        execution_open: bool = True,
    ) -> CheckpointPlan:
        decided, effects = self.decide(operations, updates, ctx, execution_open)
        return CheckpointPlan(
            tuple(AppliedUpdate(u, p.operation, p.events, c) for u, c, p in decided),
            tuple(effects),
        )

    def decide(
        self,
        operations: Mapping[str, Operation],
        updates: Sequence[OperationUpdate],
        ctx: ProcessContext,
        execution_open: bool,
    ) -> tuple[list[Decision], list[Effect]]:
        """``plan`` as the service commits it: each accepted update as ``(update, the
        operation it found, what its processor made of it)``, and the effects in order.

        The service calls this for every checkpoint, so it builds no ``AppliedUpdate`` or
        ``CheckpointPlan`` (``plan`` wraps the same answer in them); the same validators,
        transition table and processors run either way."""
        self._checkpoint_validator.validate(
            execution_arn=ctx.execution_arn, execution_open=execution_open, updates=updates
        )
        # Later updates of a batch see what earlier ones did (START then SUCCEED in one call).
        scratch: dict[str, Operation] = {}
        vctx = ValidationContext(scratch, operations)
        decided: list[Decision] = []
        effects: list[Effect] = []
        # Bound once: the loop runs for every update of every checkpoint.
        check_fields = self._fields.validate
        check_transition = self._transitions.validate
        processors = self._processors
        validators = OPERATION_VALIDATORS
        execution = OperationType.EXECUTION
        closing_execution = False
        for update in updates:
            if closing_execution:
                from async_durable_execution_runner.errors import InvalidParameterValueException

                msg = (
                    f"update for {update.type.value} operation {update.id!r} follows the update "
                    "that closed the execution in the same checkpoint; nothing may follow it"
                )
                raise InvalidParameterValueException(msg)
            check_fields(update, vctx)
            op_type = update.type
            if op_type is execution:
                target_id = ctx.execution_id
                current = vctx.lookup(target_id)
                # An absent EXECUTION operation is rejected by the table like any other.
                check_transition(_retarget(update, target_id), current)
                closing_execution = True
            else:
                current = scratch.get(update.id) or operations.get(update.id)
                check_transition(update, current)
            validators[op_type].validate(update, vctx)
            result = processors[op_type].process(update, current, ctx)
            operation = result.operation
            scratch[operation.id] = operation
            decided.append((update, current, result))
            if result.effects:
                effects.extend(result.effects)
        return decided, effects


#: One accepted update: the update, the operation it found (``None`` if new), the result.
Decision = tuple[OperationUpdate, Operation | None, Processed]


def _retarget(update: OperationUpdate, target_id: str) -> OperationUpdate:
    # The SDK gives EXECUTION updates ids of its own ("execution-result-<ms>"); they always
    # address the execution's operation, so check the transition against that one.
    if update.id == target_id:
        return update
    from async_durable_execution_runner._models._frozen import replace

    return replace(update, id=target_id)
