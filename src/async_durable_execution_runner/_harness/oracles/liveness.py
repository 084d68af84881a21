"""The liveness oracle: the execution finishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import ExecutionHung, oracle

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


@oracle("liveness")
def check_liveness(outcome: Outcome) -> None:
    """The execution finishes: every invocation returns and nothing waits forever."""
    if outcome.hang is not None:
        msg = f"the execution did not finish within the scenario's timeout: {outcome.hang}"
        raise ExecutionHung(msg)
