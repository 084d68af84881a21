"""Scenarios without Hypothesis: what a ``to_pytest()`` reproducer imports.

``from async_durable_execution_runner.scenarios import *`` gives ``Scenario``, ``Timings``,
``Outcome`` and the fault constructors (``crash(invocation=1, call=2)``, ...).
"""

from async_durable_execution_runner._harness.faults.errors import SERVICE_ERRORS, InjectedStepError
from async_durable_execution_runner._harness.faults.kinds import (
    FAULT_KINDS,
    FaultKind,
    aws_call_crash,
    aws_call_timeout,
    body_crash,
    callback_failure,
    callback_timeout,
    checkpoint_error,
    crash,
    duplicate_invocation,
    heartbeat_then_timeout,
    heartbeat_timeout,
    invocation_lost,
    invoke_failure,
    invoke_timeout,
    lost_response,
    lost_then_duplicated,
    outage,
    step_exception,
)
from async_durable_execution_runner._harness.scenario.crash_points import (
    CrashPointFailure,
    CrashPointReport,
    CrashPointsFailed,
)
from async_durable_execution_runner._harness.scenario.outcome import Outcome
from async_durable_execution_runner._harness.scenario.scenario import Scenario
from async_durable_execution_runner._harness.scenario.timings import Timings

__all__ = [
    "FAULT_KINDS",
    "SERVICE_ERRORS",
    "CrashPointFailure",
    "CrashPointReport",
    "CrashPointsFailed",
    "FaultKind",
    "InjectedStepError",
    "Outcome",
    "Scenario",
    "Timings",
    "aws_call_crash",
    "aws_call_timeout",
    "body_crash",
    "callback_failure",
    "callback_timeout",
    "checkpoint_error",
    "crash",
    "duplicate_invocation",
    "heartbeat_then_timeout",
    "heartbeat_timeout",
    "invocation_lost",
    "invoke_failure",
    "invoke_timeout",
    "lost_response",
    "lost_then_duplicated",
    "outage",
    "step_exception",
]
