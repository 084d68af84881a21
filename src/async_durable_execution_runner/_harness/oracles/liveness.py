"""The liveness oracle: the execution finishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import ExecutionHung, oracle

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome

#: How Lambda words a sandbox stopped at the function's timeout (the emulator words it so too).
_TIMED_OUT = "Task timed out after"


@oracle("liveness")
def check_liveness(outcome: Outcome) -> None:
    """The execution finishes: every invocation returns within the function's timeout and
    nothing waits forever.

    An invocation that waited in-process past the function's timeout (Lambda's 900 s at
    most, counted on the virtual clock) is a hang on Lambda however the execution ended:
    a correct handler suspends (a durable ``wait``, a callback) rather than sleep that long.
    """
    if outcome.hang is not None:
        msg = f"the execution did not finish within the scenario's timeout: {outcome.hang}"
        raise ExecutionHung(msg)
    for info in outcome.invocations:
        if info.error_type == "Sandbox.Timedout" and _TIMED_OUT in (info.error_message or ""):
            msg = (
                f"invocation {info.index} ran past the function's timeout, as Lambda would "
                f"stop it: {info.error_message}"
            )
            raise ExecutionHung(msg)
