"""Test durable functions written with ``async-durable-execution`` before you deploy them.

::

    from async_durable_execution import InvocationStatus

    with DurableFunctionTestRunner(handler=my_handler) as runner:
        result = runner.run(input={"order": 1}, timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED

The runner emulates the Lambda durable service in-process, on a virtual clock. The
property-based harness lives in ``async_durable_execution_runner.strategies`` (it is the
only part that imports Hypothesis).
"""

from async_durable_execution_runner._models import (
    ErrorObject,
    Event,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._runner.result import (
    CallbackOperation,
    ContextOperation,
    DurableFunctionTestResult,
    InvokeOperation,
    OperationView,
    StepOperation,
    WaitOperation,
)
from async_durable_execution_runner._server import DurableServiceServer
from async_durable_execution_runner._service.checkpoint.processor import CheckpointProcessor
from async_durable_execution_runner._service.checkpoint.transitions import TRANSITIONS
from async_durable_execution_runner._service.clock import RealClock, VirtualClock
from async_durable_execution_runner._service.execution import Execution, ExecutionStatus
from async_durable_execution_runner._service.executor import Executor
from async_durable_execution_runner._service.invoker import InProcessInvoker
from async_durable_execution_runner._service.observer import ExecutionNotifier, ExecutionObserver
from async_durable_execution_runner._service.scheduler import DueItem, DueKind, EarliestFirst
from async_durable_execution_runner._service.seams import (
    Clock,
    Crash,
    FailCall,
    Fault,
    FaultHooks,
    InvocationInfo,
    InvokeResult,
    LoseResponse,
    NoFaults,
    OperationRequest,
    SandboxPolicy,
    SchedulerPolicy,
    ServiceCall,
    StepAttempt,
)
from async_durable_execution_runner._service.service_client import InMemoryServiceClient
from async_durable_execution_runner.errors import (
    CallbackTimeoutException,
    DurableRunnerError,
    DurableServiceError,
    ExecutionNotFinishedError,
    HandlerNotDurableError,
    InvalidParameterValueException,
    OperationLookupError,
    ResourceNotFoundException,
    ServiceException,
    TooManyRequestsException,
)

__version__ = "0.1.0"

__all__ = [
    "TRANSITIONS",
    "CallbackOperation",
    "CallbackTimeoutException",
    "CheckpointProcessor",
    "Clock",
    "ContextOperation",
    "Crash",
    "DueItem",
    "DueKind",
    "DurableFunctionTestResult",
    "DurableFunctionTestRunner",
    "DurableRunnerError",
    "DurableServiceError",
    "DurableServiceServer",
    "EarliestFirst",
    "ErrorObject",
    "Event",
    "EventType",
    "Execution",
    "ExecutionNotFinishedError",
    "ExecutionNotifier",
    "ExecutionObserver",
    "ExecutionStatus",
    "Executor",
    "FailCall",
    "Fault",
    "FaultHooks",
    "HandlerNotDurableError",
    "InMemoryServiceClient",
    "InProcessInvoker",
    "InvalidParameterValueException",
    "InvocationInfo",
    "InvokeOperation",
    "InvokeResult",
    "LoseResponse",
    "NoFaults",
    "Operation",
    "OperationAction",
    "OperationLookupError",
    "OperationRequest",
    "OperationStatus",
    "OperationType",
    "OperationUpdate",
    "OperationView",
    "RealClock",
    "ResourceNotFoundException",
    "SandboxPolicy",
    "SchedulerPolicy",
    "ServiceCall",
    "ServiceException",
    "StepAttempt",
    "StepOperation",
    "TooManyRequestsException",
    "VirtualClock",
    "WaitOperation",
    "__version__",
]
