"""The service's wire shapes, for users who build or read them: ``OperationUpdate`` and its
options for a checkpoint, ``Operation`` and its details as the service stores them,
``Event`` and ``EventType`` for the history. Frozen dataclasses in AWS field names:
``to_dict()`` gives boto3's shape, ``from_dict()`` reads it, ``to_json_dict()`` is the wire
JSON.

::

    from async_durable_execution_runner.models import (
        OperationAction,
        OperationType,
        OperationUpdate,
        StepOptions,
    )

    retry = OperationUpdate(
        id="step-1",
        type=OperationType.STEP,
        action=OperationAction.RETRY,
        payload='{"polls": 1}',
        step_options=StepOptions(next_attempt_delay_seconds=5),
    )
"""

from async_durable_execution_runner._models import (
    CallbackDetails,
    CallbackOptions,
    ChainedInvokeDetails,
    ChainedInvokeOptions,
    ContextDetails,
    ContextOptions,
    ErrorObject,
    Event,
    EventType,
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
