"""Per-operation processors: (current operation, update) -> new operation, events, effects."""

from __future__ import annotations

from async_durable_execution_runner._models import OperationType
from async_durable_execution_runner._service.checkpoint.processors.base import (
    Effect,
    OperationProcessor,
    PendingEvent,
    ProcessContext,
    Processed,
)
from async_durable_execution_runner._service.checkpoint.processors.callback import (
    CallbackProcessor,
)
from async_durable_execution_runner._service.checkpoint.processors.context import (
    ContextProcessor,
)
from async_durable_execution_runner._service.checkpoint.processors.execution import (
    ExecutionProcessor,
)
from async_durable_execution_runner._service.checkpoint.processors.invoke import (
    ChainedInvokeProcessor,
)
from async_durable_execution_runner._service.checkpoint.processors.step import StepProcessor
from async_durable_execution_runner._service.checkpoint.processors.wait import WaitProcessor

PROCESSORS: dict[OperationType, OperationProcessor] = {
    OperationType.EXECUTION: ExecutionProcessor(),
    OperationType.STEP: StepProcessor(),
    OperationType.WAIT: WaitProcessor(),
    OperationType.CONTEXT: ContextProcessor(),
    OperationType.CALLBACK: CallbackProcessor(),
    OperationType.CHAINED_INVOKE: ChainedInvokeProcessor(),
}

__all__ = [
    "PROCESSORS",
    "Effect",
    "OperationProcessor",
    "PendingEvent",
    "ProcessContext",
    "Processed",
]
