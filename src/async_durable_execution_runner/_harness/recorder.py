"""An observer that records everything the oracles judge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from async_durable_execution_runner._models import Event, Operation, OperationUpdate
from async_durable_execution_runner._service.observer import ExecutionObserver
from async_durable_execution_runner._service.seams import (
    InvocationInfo,
    OperationRequest,
    StepAttempt,
)
from async_durable_execution_runner.errors import DurableServiceError


@dataclass(frozen=True)
class Transition:
    execution_arn: str
    update: OperationUpdate
    previous: Operation | None
    operation: Operation


@dataclass(frozen=True)
class Rejection:
    execution_arn: str
    updates: tuple[OperationUpdate, ...]
    error: DurableServiceError


@dataclass
class Recorder(ExecutionObserver):
    root_arn: str | None = None
    executions: list[str] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    events: dict[str, list[Event]] = field(default_factory=dict)
    requests: list[OperationRequest] = field(default_factory=list)
    step_attempts: list[StepAttempt] = field(default_factory=list)
    invocations: list[InvocationInfo] = field(default_factory=list)

    def on_execution_started(self, execution_arn: str) -> None:
        if self.root_arn is None:
            self.root_arn = execution_arn
        self.executions.append(execution_arn)

    def on_transition(
        self,
        execution_arn: str,
        update: OperationUpdate,
        previous: Operation | None,
        operation: Operation,
    ) -> None:
        self.transitions.append(Transition(execution_arn, update, previous, operation))

    def on_checkpoint_rejected(
        self,
        execution_arn: str,
        updates: Sequence[OperationUpdate],
        error: DurableServiceError,
    ) -> None:
        self.rejections.append(Rejection(execution_arn, tuple(updates), error))

    def on_history_event(self, execution_arn: str, event: Event) -> None:
        self.events.setdefault(execution_arn, []).append(event)

    def on_operation_requested(self, request: OperationRequest) -> None:
        self.requests.append(request)

    def on_step_attempt(self, attempt: StepAttempt) -> None:
        self.step_attempts.append(attempt)

    def on_invocation_completed(self, invocation: InvocationInfo) -> None:
        self.invocations.append(invocation)
