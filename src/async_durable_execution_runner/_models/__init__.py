"""Wire shapes of the durable service, in AWS field names.

Frozen dataclasses with explicit ``to_dict``/``from_dict``; ``to_dict`` gives the shape
boto3 returns (timestamps as aware ``datetime``), ``to_json_dict`` the shape on the wire.
"""

from async_durable_execution_runner._models.events import Event, EventType
from async_durable_execution_runner._models.operations import (
    CallbackDetails,
    CallbackOptions,
    ChainedInvokeDetails,
    ChainedInvokeOptions,
    ContextDetails,
    ContextOptions,
    ErrorObject,
    ExecutionDetails,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    StepOptions,
    WaitDetails,
    WaitOptions,
)

__all__ = [
    "CallbackDetails",
    "CallbackOptions",
    "ChainedInvokeDetails",
    "ChainedInvokeOptions",
    "ContextDetails",
    "ContextOptions",
    "ErrorObject",
    "Event",
    "EventType",
    "ExecutionDetails",
    "Operation",
    "OperationAction",
    "OperationStatus",
    "OperationType",
    "OperationUpdate",
    "StepDetails",
    "StepOptions",
    "WaitDetails",
    "WaitOptions",
]
