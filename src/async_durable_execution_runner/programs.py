"""Durable programs as data, and the handler that runs them: what a reproducer of a random
program scenario imports (no Hypothesis needed). The strategy that draws programs is
``strategies.durable_programs``.

::

    from async_durable_execution_runner.programs import *
    from async_durable_execution_runner.scenarios import *

    program = Program([Step("s1", succeed(1)), Wait("w1", 60)])
    scenario = Scenario(
        handler=program_handler,
        input=program_event(program),
        program=program,
        functions={PROGRAM_FUNCTION: program_handler},
    )
    scenario.run().check()
"""

from async_durable_execution_runner._harness.programs.interpreter import (
    PROGRAM_FUNCTION,
    program_event,
    program_handler,
)
from async_durable_execution_runner._harness.programs.nodes import (
    Callback,
    Catch,
    Child,
    Completion,
    Invoke,
    Map,
    Node,
    Parallel,
    Program,
    Retry,
    Step,
    Unawaited,
    Wait,
    WaitForCondition,
    fail_always,
    fail_first,
    from_json,
    succeed,
    succeed_input,
)

__all__ = [
    "PROGRAM_FUNCTION",
    "Callback",
    "Catch",
    "Child",
    "Completion",
    "Invoke",
    "Map",
    "Node",
    "Parallel",
    "Program",
    "Retry",
    "Step",
    "Unawaited",
    "Wait",
    "WaitForCondition",
    "fail_always",
    "fail_first",
    "from_json",
    "program_event",
    "program_handler",
    "succeed",
    "succeed_input",
]
