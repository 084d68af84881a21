"""Observers: the public seam through which tests (and the harness) watch the service.

Subclass ``ExecutionObserver`` and override what you need; every method is a no-op here.
Observers are called synchronously, in order, after the service has committed the change
they describe, so an observer never sees a half-applied checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from async_durable_execution_runner._models import Event, Operation, OperationUpdate
    from async_durable_execution_runner._service.seams import (
        InvocationInfo,
        OperationRequest,
        StepAttempt,
    )
    from async_durable_execution_runner.errors import DurableServiceError


class ExecutionObserver:
    """Base class for observers; override the callbacks you need."""

    def on_execution_started(self, execution_arn: str) -> None:
        """A new execution exists (its ``ExecutionStarted`` event is recorded)."""

    def on_chained_execution_started(
        self, execution_arn: str, parent_arn: str, operation_id: str
    ) -> None:
        """The execution ``execution_arn``, just started (``on_execution_started`` came
        first), runs the function that the chained invoke ``operation_id`` of execution
        ``parent_arn`` asked for."""

    def on_update_accepted(
        self, execution_arn: str, update: OperationUpdate, operation: Operation
    ) -> None:
        """An update was applied; ``operation`` is the state it produced."""

    def on_transition(
        self,
        execution_arn: str,
        update: OperationUpdate,
        previous: Operation | None,
        operation: Operation,
    ) -> None:
        """Like ``on_update_accepted``, with the operation as it was before the update."""

    def on_checkpoint_rejected(
        self,
        execution_arn: str,
        updates: Sequence[OperationUpdate],
        error: DurableServiceError,
    ) -> None:
        """A checkpoint call was refused as a whole; nothing of it was applied."""

    def on_history_event(self, execution_arn: str, event: Event) -> None:
        """An event was appended to the execution's history."""

    def on_invocation_started(self, invocation: InvocationInfo) -> None:
        """The service is about to invoke the handler."""

    def on_invocation_completed(self, invocation: InvocationInfo) -> None:
        """An invocation ended (returned, failed, crashed or was lost)."""

    def on_operation_requested(self, request: OperationRequest) -> None:
        """The handler asked for an operation (first run or replay)."""

    def on_execution_completed(self, execution_arn: str, status: str) -> None:
        """The execution reached a terminal status."""

    def on_step_attempt(self, attempt: StepAttempt) -> None:
        """A step body is about to run (attempt numbers count from 1)."""


class ExecutionNotifier:
    """Fans every notification out to the registered observers, in registration order."""

    #: Whether any observer is registered (the service skips building what none would read).
    #: A class default until one is: most executors never have one.
    has_observers = False

    def __init__(self) -> None:
        self._observers: list[ExecutionObserver] = []

    def add(self, observer: ExecutionObserver) -> None:
        self._observers.append(observer)
        self.has_observers = True

    def remove(self, observer: ExecutionObserver) -> None:
        self._observers.remove(observer)
        self.has_observers = bool(self._observers)

    @property
    def observers(self) -> tuple[ExecutionObserver, ...]:
        return tuple(self._observers)

    def execution_started(self, arn: str, parent: tuple[str, str] | None = None) -> None:
        for o in self._observers:
            o.on_execution_started(arn)
            if parent is not None:
                # (Observers written before this method existed may lack it.)
                chained = getattr(o, "on_chained_execution_started", None)
                if chained is not None:
                    chained(arn, *parent)

    def update_accepted(
        self,
        arn: str,
        update: OperationUpdate,
        previous: Operation | None,
        operation: Operation,
    ) -> None:
        for o in self._observers:
            o.on_transition(arn, update, previous, operation)
            o.on_update_accepted(arn, update, operation)

    def checkpoint_rejected(
        self, arn: str, updates: Sequence[OperationUpdate], error: DurableServiceError
    ) -> None:
        for o in self._observers:
            o.on_checkpoint_rejected(arn, updates, error)

    def history_event(self, arn: str, event: Event) -> None:
        for o in self._observers:
            o.on_history_event(arn, event)

    def invocation_started(self, invocation: InvocationInfo) -> None:
        for o in self._observers:
            o.on_invocation_started(invocation)

    def invocation_completed(self, invocation: InvocationInfo) -> None:
        for o in self._observers:
            o.on_invocation_completed(invocation)

    def operation_requested(self, request: OperationRequest) -> None:
        for o in self._observers:
            o.on_operation_requested(request)

    def execution_completed(self, arn: str, status: str) -> None:
        for o in self._observers:
            o.on_execution_completed(arn, status)

    def step_attempt(self, attempt: StepAttempt) -> None:
        for o in self._observers:
            o.on_step_attempt(attempt)
