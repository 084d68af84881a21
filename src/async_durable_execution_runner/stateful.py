"""Model-based tests of the emulator, as Hypothesis rule-based state machines.

``CheckpointProcessorMachine``
    The checkpoint processor against an independent reference model of the service's
    checkpoint semantics.
``DurableExecutionMachine``
    The base to subclass for a handler of your own: its rules start executions, advance the
    virtual clock, answer callbacks and inject faults; the built-in oracles run after every
    step.

Run a machine as a test by exposing its ``TestCase``::

    from hypothesis import settings
    from async_durable_execution_runner.stateful import CheckpointProcessorMachine

    TestCheckpointProcessor = CheckpointProcessorMachine.TestCase
    TestCheckpointProcessor.settings = settings(max_examples=100, stateful_step_count=30)
"""

from async_durable_execution_runner._harness.checkpoint_model.machine import (
    EXECUTION_ARN,
    EXECUTION_ID,
    START_TIME,
    CheckpointProcessorMachine,
    classify_rejection,
    project_effect,
    project_operation,
)
from async_durable_execution_runner._harness.durable_machine import DurableExecutionMachine

__all__ = [
    "EXECUTION_ARN",
    "EXECUTION_ID",
    "START_TIME",
    "CheckpointProcessorMachine",
    "DurableExecutionMachine",
    "classify_rejection",
    "project_effect",
    "project_operation",
]
