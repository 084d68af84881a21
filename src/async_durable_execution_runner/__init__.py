"""Test durable functions written with ``async-durable-execution`` before you deploy them.

::

    from async_durable_execution import InvocationStatus

    with DurableFunctionTestRunner(handler=my_handler) as runner:
        result = runner.run(input={"order": 1}, timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED

The runner emulates the Lambda durable service in-process, on a virtual clock. What is here:
the runner and its result types, the seams for property-based testing (clock, scheduler
policy, fault hooks, interleaving, sandbox policy, observers), the service's main wire
models, the transition table, the REST API server and the exception tree.

Elsewhere: ``runner`` (the seed's import path for the runner, with the emulator's components
its architecture names), ``models`` (every wire shape, for building ``OperationUpdate``\\ s),
``strategies`` / ``scenarios`` / ``oracles`` / ``stateful`` (the Hypothesis harness, the only
part that imports Hypothesis).
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
from async_durable_execution_runner._replay.corpus import Triage, save_history, save_outcome
from async_durable_execution_runner._replay.gate import (
    Divergence,
    ReplayDivergenceError,
    ReplayReport,
    replay,
)
from async_durable_execution_runner._runner.child import DurableChildContextTestRunner
from async_durable_execution_runner._runner.cloud import (
    DurableFunctionCloudTestRunner,
    cloud_runner_from_env,
    cloud_skip_reason,
)
from async_durable_execution_runner._runner.differential import (
    DifferentialReport,
    FidelityError,
    FidelityFinding,
    compare_histories,
    run_differential,
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
from async_durable_execution_runner._sandbox.runtime_environment import lambda_environment
from async_durable_execution_runner._server import DurableServiceServer
from async_durable_execution_runner._service.checkpoint.transitions import TRANSITIONS
from async_durable_execution_runner._service.clock import RealClock, VirtualClock
from async_durable_execution_runner._service.execution import ExecutionStatus
from async_durable_execution_runner._service.observer import ExecutionObserver
from async_durable_execution_runner._service.scheduler import DueItem, DueKind, EarliestFirst
from async_durable_execution_runner._service.seams import (
    Clock,
    Crash,
    DeliverDuplicate,
    FailCall,
    Fault,
    FaultHooks,
    Interleaving,
    InvocationInfo,
    InvokeResult,
    LoseResponse,
    NoFaults,
    NoInterleaving,
    OperationRequest,
    SandboxPolicy,
    SchedulerPolicy,
    ServiceCall,
    StepAttempt,
    WrapBody,
)
from async_durable_execution_runner._store import SqliteStore, StoreInUseError
from async_durable_execution_runner.errors import (
    CallbackTimeoutException,
    DurableExecutionAlreadyStartedException,
    DurableRunnerError,
    DurableServiceError,
    ExecutionNotFinishedError,
    HandlerNotDurableError,
    InvalidParameterValueException,
    InvalidRequestContentException,
    OperationLookupError,
    RequestTooLargeException,
    ResourceNotFoundException,
    SerializedRequestEntityTooLargeException,
    ServiceException,
    TooManyRequestsException,
    UnknownOperationException,
)

__version__ = "0.1.0"

__all__ = [
    "TRANSITIONS",
    "CallbackOperation",
    "CallbackTimeoutException",
    "Clock",
    "ContextOperation",
    "Crash",
    "DeliverDuplicate",
    "DifferentialReport",
    "Divergence",
    "DueItem",
    "DueKind",
    "DurableChildContextTestRunner",
    "DurableExecutionAlreadyStartedException",
    "DurableFunctionCloudTestRunner",
    "DurableFunctionTestResult",
    "DurableFunctionTestRunner",
    "DurableRunnerError",
    "DurableServiceError",
    "DurableServiceServer",
    "EarliestFirst",
    "ErrorObject",
    "Event",
    "EventType",
    "ExecutionNotFinishedError",
    "ExecutionObserver",
    "ExecutionStatus",
    "FailCall",
    "Fault",
    "FaultHooks",
    "FidelityError",
    "FidelityFinding",
    "HandlerNotDurableError",
    "Interleaving",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "InvocationInfo",
    "InvokeOperation",
    "InvokeResult",
    "LoseResponse",
    "NoFaults",
    "NoInterleaving",
    "Operation",
    "OperationAction",
    "OperationLookupError",
    "OperationRequest",
    "OperationStatus",
    "OperationType",
    "OperationUpdate",
    "OperationView",
    "RealClock",
    "ReplayDivergenceError",
    "ReplayReport",
    "RequestTooLargeException",
    "ResourceNotFoundException",
    "SandboxPolicy",
    "SchedulerPolicy",
    "SerializedRequestEntityTooLargeException",
    "ServiceCall",
    "ServiceException",
    "SqliteStore",
    "StepAttempt",
    "StepOperation",
    "StoreInUseError",
    "TooManyRequestsException",
    "Triage",
    "UnknownOperationException",
    "VirtualClock",
    "WaitOperation",
    "WrapBody",
    "__version__",
    "cloud_runner_from_env",
    "cloud_skip_reason",
    "compare_histories",
    "lambda_environment",
    "replay",
    "run_differential",
    "save_history",
    "save_outcome",
]
