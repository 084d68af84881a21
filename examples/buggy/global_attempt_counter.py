"""Bug: counting attempts in a module global breaks when a retry lands in a cold sandbox.

A fresh Lambda sandbox re-imports the module, so the counter starts over and the step that
"succeeds on the third try" never gets there. The fix reads the attempt number the SDK keeps.
Handlers under test live in an importable module of their own, so that the harness can
re-import it for cold re-invocations.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from async_durable_execution import (
    JitterStrategy,
    RetryStrategy,
    durable_callable,
    durable_execution,
    get_step_context,
    step,
)

_ATTEMPTS: Counter[str] = Counter()
RETRY = RetryStrategy(
    max_attempts=3,
    initial_delay=1,
    max_delay=1,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)


def reset() -> None:
    _ATTEMPTS.clear()


@durable_callable
async def flaky_fetch(key: str) -> str:
    _ATTEMPTS[key] += 1  # BUG: module state, reset by every cold start
    if _ATTEMPTS[key] < 3:
        raise TimeoutError("upstream is slow")
    return "data"


@durable_callable
async def flaky_fetch_fixed(key: str) -> str:
    if get_step_context().attempt < 3:
        raise TimeoutError("upstream is slow")
    return "data"


@durable_execution
async def buggy(event: dict[str, Any]) -> str:
    return await step(flaky_fetch(event["key"]), name="fetch", retry_strategy=RETRY)


@durable_execution
async def fixed(event: dict[str, Any]) -> str:
    return await step(flaky_fetch_fixed(event["key"]), name="fetch", retry_strategy=RETRY)
