"""The at-most-once oracle: an at-most-once step never starts its body twice in one attempt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import (
    AtMostOnceViolation,
    _label,
    oracle,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


@oracle("at-most-once")
def check_at_most_once(outcome: Outcome) -> None:
    """A step with at-most-once semantics never starts its body twice within one attempt."""
    seen: set[tuple[str, str, int]] = set()
    for a in outcome.recorder.step_attempts:
        if a.semantics != "AT_MOST_ONCE_PER_RETRY":
            continue
        key = (a.execution_arn, a.operation_id, a.attempt)
        if key in seen:
            msg = (
                f"at-most-once step {_label(a.operation_id, a.name)} ran its body twice in "
                f"attempt {a.attempt} (invocation {a.invocation_index})"
            )
            raise AtMostOnceViolation(msg)
        seen.add(key)
