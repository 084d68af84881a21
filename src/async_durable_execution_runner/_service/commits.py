"""The checkpoint API: a checkpoint is validated, committed all or nothing, and its effects
applied; and the state pages ``GetDurableExecutionState`` returns."""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Callable, Sequence

from async_durable_execution_runner._models import EventType, Operation, OperationUpdate
from async_durable_execution_runner._service.checkpoint.processor import (
    CheckpointProcessor,
    Decision,
)
from async_durable_execution_runner._service.checkpoint.processors.base import (
    CancelInvoke,
    CancelTimers,
    CloseExecution,
    Effect,
    ProcessContext,
    RegisterCallback,
    RequestInvoke,
    StartTimer,
)
from async_durable_execution_runner._service.execution import ClosedByCheckpoint, Execution
from async_durable_execution_runner._service.ledger import LedgerEntry, checkpoint_fingerprint
from async_durable_execution_runner._service.names import callback_id
from async_durable_execution_runner._service.scheduler import DueKind
from async_durable_execution_runner._service.state import DEFAULT_PAGE_SIZE, ServiceState
from async_durable_execution_runner._service.tokens import check_token
from async_durable_execution_runner.errors import InvalidParameterValueException


class Commits:
    """``CheckpointDurableExecution`` and ``GetDurableExecutionState``.

    The effects a commit has elsewhere in the service go through the callables it is given:
    ``catch_up`` (fire the execution's due timers first; it answers the clock's time then),
    ``register_callback``, ``start_invoke`` and ``cancel_invoke``.
    """

    def __init__(
        self,
        state: ServiceState,
        processor: CheckpointProcessor,
        *,
        catch_up: Callable[[Execution], _dt.datetime],
        register_callback: Callable[[Execution, str, str], None],
        start_invoke: Callable[[Execution, RequestInvoke], None],
        cancel_invoke: Callable[[Execution, str], None],
    ) -> None:
        self.state = state
        self.processor = processor
        self.catch_up = catch_up
        self.register_callback = register_callback
        self.start_invoke = start_invoke
        self.cancel_invoke = cancel_invoke
        self._ctx: ProcessContext | None = None

    def checkpoint(
        self,
        arn: str,
        token: str,
        updates: Sequence[OperationUpdate],
        client_token: str | None = None,
    ) -> tuple[str, list[Operation]]:
        """Apply a checkpoint atomically; return the new token and the changed operations.

        With a ``client_token``, once: a retry gets the first answer from the execution's
        ledger and changes nothing (see ``_service.ledger``)."""
        state = self.state
        execution = state.executions.get(arn)
        if execution is None:  # ``state.get`` says what is wrong (a call only then)
            execution = state.get(arn)
        if client_token is not None:
            return self._once(execution, token, updates, client_token)
        # The commit itself, in this frame rather than one more (every checkpoint): see
        # ``_once`` for the same with a client token.
        # One instant for the whole checkpoint: its operations' timestamps and its events'.
        now = self.catch_up(execution)
        try:
            if token != execution.current_token():
                # Only a bad token is parsed: to say exactly what is wrong with it.
                check_token(
                    token,
                    execution_id=execution.execution_id,
                    current_sequence=execution.token_sequence,
                )
            # Immutable, and the same for every checkpoint of an execution until the clock
            # moves (the virtual clock stands still while a handler runs): made again only then.
            ctx = self._ctx
            if ctx is None or ctx.now is not now or ctx.execution_arn is not execution.arn:
                ctx = self._ctx = self._process_context(execution, now)
            decided, effects = self.processor.decide(
                execution.operations, updates, ctx, execution.is_open
            )
        except InvalidParameterValueException as error:
            state.notifier.checkpoint_rejected(arn, updates, error)
            raise
        changed = self._commit(execution, decided, effects, now)
        new_token = execution.next_token()
        dirty = state.dirty[arn]
        if dirty:
            operations = execution.operations
            for op_id in dirty:
                if op_id not in changed:
                    changed[op_id] = operations[op_id]
            dirty.clear()
        return new_token, list(changed.values())

    def _once(
        self,
        execution: Execution,
        token: str,
        updates: Sequence[OperationUpdate],
        client_token: str,
    ) -> tuple[str, list[Operation]]:
        """``checkpoint`` with a client token: the ledger's first answer, or the commit's."""
        arn = execution.arn
        fingerprint = checkpoint_fingerprint(token, updates)
        seen = execution.client_tokens.get(client_token)
        if seen is not None:
            if seen.fingerprint == fingerprint:
                return seen.checkpoint_token, list(seen.operations)
            msg = (
                f"ClientToken {client_token!r} was already used for a different checkpoint of "
                f"{arn}; a retry must send the same request, a new checkpoint a new token"
            )
            error = InvalidParameterValueException(msg)
            self.state.notifier.checkpoint_rejected(arn, updates, error)
            raise error
        new_token, changed = self.checkpoint(arn, token, updates)
        execution.client_tokens.remember(
            LedgerEntry(client_token, fingerprint, new_token, tuple(changed))
        )
        return new_token, changed

    def get_execution_state(
        self, arn: str, token: str, marker: str, max_items: int = DEFAULT_PAGE_SIZE
    ) -> tuple[list[Operation], str | None]:
        execution = self.state.get(arn)
        check_token(
            token, execution_id=execution.execution_id, current_sequence=execution.token_sequence
        )
        # MaxItems is an upper bound: the service's own page size caps it.
        if not 0 < max_items <= DEFAULT_PAGE_SIZE:
            max_items = DEFAULT_PAGE_SIZE
        return self.page(execution, marker, min(max_items, self.state.page_size))

    def page(
        self, execution: Execution, marker: str | None, max_items: int
    ) -> tuple[list[Operation], str | None]:
        if marker is None and 0 < max_items <= DEFAULT_PAGE_SIZE:
            # An invocation's first page (every invocation): usually all of it.
            operations = execution.operations
            if len(operations) <= max_items:
                return list(operations.values()), None
        ops = list(execution.operations.values())
        try:
            start = int(marker) if marker else 0
        except ValueError:
            start = -1
        if not 0 <= start <= len(ops):
            msg = f"Marker {marker!r} is not one this service returned for {execution.arn}"
            raise InvalidParameterValueException(msg)
        if not 0 < max_items <= DEFAULT_PAGE_SIZE:
            max_items = DEFAULT_PAGE_SIZE
        end = start + max_items
        return ops[start:end], (str(end) if end < len(ops) else None)

    @staticmethod
    def _process_context(execution: Execution, now: _dt.datetime) -> ProcessContext:
        execution_id = execution.execution_id
        return ProcessContext(
            now, execution.arn, execution_id, functools.partial(callback_id, execution_id)
        )

    def _commit(
        self,
        execution: Execution,
        decided: list[Decision],
        effects: list[Effect],
        now: _dt.datetime,
    ) -> dict[str, Operation]:
        """Store the accepted updates' operations, record their events, apply the effects,
        tell the observers; return the changed operations by id, in the order first changed."""
        state = self.state
        operations = execution.operations
        record = execution.history.record
        changed: dict[str, Operation] = {}
        for _update, _previous, (op, events, _effects) in decided:
            op_id = op.id
            operations[op_id] = changed[op_id] = op
            for pending in events:
                event_type, details = pending
                if event_type is _CHAINED_INVOKE_STARTED:
                    state.append_event(execution, op, pending, now)
                else:  # ``state.append_event``, without a call per event
                    record(event_type, now, op_id, op.name, op.parent_id, op.sub_type, details)
        for effect in effects:
            self._apply_effect(execution, effect)
        notifier = state.notifier
        if notifier.has_observers:
            arn = execution.arn
            for update, previous, result in decided:
                notifier.update_accepted(arn, update, previous, result.operation)
        return changed

    def _apply_effect(self, execution: Execution, effect: Effect) -> None:
        scheduler = self.state.scheduler
        if isinstance(effect, StartTimer):
            kind = effect.kind
            # ``DueKind(kind)`` for a kind it lacks: the enum's own error.
            due_kind = _DUE_KINDS.get(kind) or DueKind(kind)
            scheduler.schedule(effect.due, due_kind, execution.arn, effect.operation_id)
        elif isinstance(effect, CancelTimers):
            scheduler.cancel_where(execution.arn, effect.operation_id)
        elif isinstance(effect, CloseExecution):
            execution.closed_by_checkpoint = ClosedByCheckpoint(
                effect.succeeded, effect.result, effect.error
            )
        elif isinstance(effect, RegisterCallback):
            self.register_callback(execution, effect.callback_id, effect.operation_id)
        elif isinstance(effect, RequestInvoke):
            self.start_invoke(execution, effect)
        elif isinstance(effect, CancelInvoke):
            self.cancel_invoke(execution, effect.operation_id)


#: ``DueKind(kind)`` for each of its values, without the enum's two Python-level calls (one
#: timer for every WAIT, retry and callback).
_DUE_KINDS: dict[str, DueKind] = {kind.value: kind for kind in DueKind}

# ``state.append_event`` adds to this event's details: it alone goes through it.
_CHAINED_INVOKE_STARTED = EventType.CHAINED_INVOKE_STARTED
