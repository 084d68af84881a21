"""The transitions oracle: every applied update is allowed by the transition table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import (
    TransitionViolation,
    _label,
    oracle,
)
from async_durable_execution_runner._service.checkpoint.transitions import (
    describe_allowed,
    is_allowed,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


@oracle("transitions")
def check_transitions(outcome: Outcome) -> None:
    """Every applied update is allowed by the transition table from the status it met."""
    for t in outcome.recorder.transitions:
        previous = t.previous.status if t.previous is not None else None
        if not is_allowed(t.update.type, t.update.action, previous):
            seen = previous.value if previous else "absent"
            msg = (
                f"{t.update.action.value} was applied to {t.update.type.value} "
                f"{_label(t.update.id, t.update.name)} while it was {seen}; "
                f"{describe_allowed(t.update.type, t.update.action)}"
            )
            raise TransitionViolation(msg)
