"""Scenarios without Hypothesis: what a ``to_pytest()`` reproducer imports.

``from async_durable_execution_runner.scenarios import *`` gives ``Scenario``, ``Timings``,
``Outcome`` and the fault constructors (``crash(invocation=1, call=2)``, ...).
"""

from async_durable_execution_runner._harness.faults import (
    FAULT_KINDS,
    SERVICE_ERRORS,
    FaultKind,
    InjectedStepError,
    callback_failure,
    callback_timeout,
    checkpoint_error,
    crash,
    duplicate_invocation,
    heartbeat_timeout,
    invocation_lost,
    invoke_failure,
    invoke_timeout,
    lost_response,
    step_exception,
)
from async_durable_execution_runner._harness.scenario import Outcome, Scenario
from async_durable_execution_runner._harness.timings import Timings

__all__ = [
    "FAULT_KINDS",
    "SERVICE_ERRORS",
    "FaultKind",
    "InjectedStepError",
    "Outcome",
    "Scenario",
    "Timings",
    "callback_failure",
    "callback_timeout",
    "checkpoint_error",
    "crash",
    "duplicate_invocation",
    "heartbeat_timeout",
    "invocation_lost",
    "invoke_failure",
    "invoke_timeout",
    "lost_response",
    "step_exception",
]
