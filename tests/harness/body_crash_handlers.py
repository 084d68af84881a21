"""Handlers whose step bodies wait, for the ``body_crash`` fault (module-level, so cold
sandboxes can re-import them; what the partner saw lives in ``partner_world``, which a
cold sandbox does not re-import)."""

from __future__ import annotations

import asyncio
from typing import Any

from async_durable_execution import RetryStrategy, StepSemantics, durable_execution, step
from tests.integration.partner_world import CALLS


async def _reserve_then_confirm() -> str:
    CALLS.append("reserve")
    await asyncio.sleep(0)  # the reservation's answer travels back
    CALLS.append("confirm")
    await asyncio.sleep(0)  # the confirmation's answer travels back
    return "booked"


@durable_execution
async def two_calls(event: Any) -> str:
    return await step(_reserve_then_confirm, name="book")


@durable_execution
async def two_calls_at_most_once(event: Any) -> str:
    try:
        return await step(
            _reserve_then_confirm,
            name="book",
            step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
            retry_strategy=RetryStrategy(max_attempts=2, initial_delay=1),
        )
    except Exception as error:
        return f"not booked: {type(error).__name__}"


_REFUSED: set[str] = set()


async def _quote(partner: str) -> int:
    if partner == "globex" and partner not in _REFUSED:
        _REFUSED.add(partner)
        msg = f"{partner}: 503"
        raise ConnectionError(msg)
    await asyncio.sleep(0.3)
    return len(partner)


async def _three_quotes() -> list[int]:
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_quote(p)) for p in ("acme", "globex", "initech")]
    except* ConnectionError as refused:
        raise refused.exceptions[0] from None
    return [task.result() for task in tasks]


def reset() -> None:
    CALLS.clear()
    _REFUSED.clear()


@durable_execution
async def task_group_quotes(event: Any) -> list[int]:
    """A ``TaskGroup`` in a step body; one partner refuses its first call, which makes the
    group cancel itself (the step retries)."""
    return await step(
        _three_quotes,
        name="quotes",
        retry_strategy=RetryStrategy(
            max_attempts=3, initial_delay=1, retryable_error_types=[ConnectionError]
        ),
    )
