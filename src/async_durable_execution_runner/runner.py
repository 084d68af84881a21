"""The runner and what it returns, at the import path the seed's description uses::

    from async_durable_execution import InvocationStatus
    from async_durable_execution_runner.runner import (
        ContextOperation,
        DurableFunctionTestResult,
        DurableFunctionTestRunner,
        StepOperation,
    )

    with DurableFunctionTestRunner(handler=function_under_test) as runner:
        result: DurableFunctionTestResult = runner.run(input="input str", timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED

``result.status`` is the SDK's own ``InvocationStatus`` (a timed-out or stopped execution
reports FAILED there); ``result.execution_status`` is the service's full ``ExecutionStatus``.

The components the seed's architecture names are here too, for those who wire them by hand:
``DurableTestRunner`` (the same class as ``DurableFunctionTestRunner``) drives an
``Executor``, which keeps each ``Execution``; the handler talks to an
``InMemoryServiceClient`` (bound by the ``InProcessInvoker``), whose checkpoints go through
the ``CheckpointProcessor`` (its validators and per-operation processors are its own
business); the ``ExecutionNotifier`` tells ``ExecutionObserver``\\ s what happened.

``lambda_environment()`` gives the environment variables Lambda's runtime sets, for a
``conftest.py`` (or the pytest plugin's ``durable_lambda_environment`` ini key).

This module only re-exports; the implementations live in the private packages.
"""

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
from async_durable_execution_runner._sandbox.invoker import InProcessInvoker
from async_durable_execution_runner._sandbox.runtime_environment import lambda_environment
from async_durable_execution_runner._sandbox.service_client import InMemoryServiceClient
from async_durable_execution_runner._service.checkpoint.processor import CheckpointProcessor
from async_durable_execution_runner._service.execution import Execution, ExecutionStatus
from async_durable_execution_runner._service.executor import Executor
from async_durable_execution_runner._service.observer import ExecutionNotifier, ExecutionObserver
from async_durable_execution_runner._service.seams import InvocationInfo, InvokeResult

#: The seed's architecture calls the runner ``DurableTestRunner``; it is the same class.
DurableTestRunner = DurableFunctionTestRunner

__all__ = [
    "CallbackOperation",
    "CheckpointProcessor",
    "ContextOperation",
    "DurableFunctionTestResult",
    "DurableFunctionTestRunner",
    "DurableTestRunner",
    "Execution",
    "ExecutionNotifier",
    "ExecutionObserver",
    "ExecutionStatus",
    "Executor",
    "InMemoryServiceClient",
    "InProcessInvoker",
    "InvocationInfo",
    "InvokeOperation",
    "InvokeResult",
    "OperationView",
    "StepOperation",
    "WaitOperation",
    "lambda_environment",
]
