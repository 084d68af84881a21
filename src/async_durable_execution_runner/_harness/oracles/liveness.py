"""The liveness oracle: the execution finishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import ExecutionHung, oracle

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


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
        # (An invocation given up on at the scenario's deadline is a Sandbox.Timedout too,
        # and reported above.)
        if info.error_type == "Sandbox.Timedout":
            msg = (
                f"invocation {info.index} ran past the function's timeout, as Lambda would "
                f"stop it: {info.error_message}"
            )
            raise ExecutionHung(msg)
