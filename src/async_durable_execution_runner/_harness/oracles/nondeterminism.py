"""The nondeterminism-sources oracle: no randomness or wall clock outside step bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import NondeterminismSource, oracle

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


@oracle("nondeterminism-sources")
def check_nondeterminism_sources(outcome: Outcome) -> None:
    """The handler's own code reads no randomness or wall clock outside step bodies."""
    allowed = outcome.scenario.allow_nondeterminism
    for call in outcome.nondeterministic_calls:
        if call.source not in allowed:
            msg = (
                f"the handler called {call} outside a step body; that code runs again on "
                f"every replay and gets a different value. Move it into a step (or use the "
                f"SDK's replay-safe now()/random()/uuid()), or allow it with "
                f"allow_nondeterminism={{{call.source!r}}}"
            )
            raise NondeterminismSource(msg)
