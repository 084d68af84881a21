"""A handler that meets a behaviour pinned as the SDK's in docs/findings.md."""

from __future__ import annotations

from typing import Any

from async_durable_execution import (
    JitterStrategy,
    PollingStrategy,
    durable_execution,
    wait_for_condition,
)


async def _count(state: int | None) -> int:
    return (state or 0) + 1


@durable_execution
async def poll_once(event: Any) -> int:
    """Polls a counter once; a step_exception fault fails the check (SDK finding 8)."""
    strategy: PollingStrategy[bool] = PollingStrategy(
        max_attempts=1,
        initial_delay=1,
        max_delay=1,
        backoff_rate=1,
        jitter_strategy=JitterStrategy.NONE,
    )
    result: int = await wait_for_condition(
        _count,
        name="poll",
        initial_state=0,
        polling_strategy=lambda state, attempts: strategy(state >= 1, attempts),
    )
    return result
