"""Handlers that meet a behaviour pinned as the SDK's in docs/findings.md."""

from __future__ import annotations

from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
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


#: Invocations of ``poll_caught_on_the_third_try`` in this process (module state: a bug).
TRIES: list[int] = []


def reset_tries() -> None:
    TRIES.clear()


async def _poll(event: Any) -> int:
    strategy: PollingStrategy[bool] = PollingStrategy(
        max_attempts=1, initial_delay=1, max_delay=1, backoff_rate=1
    )
    result: int = await wait_for_condition(
        _count,
        name="poll",
        initial_state=0,
        polling_strategy=lambda state, attempts: strategy(state >= 1, attempts),
    )
    return result


@durable_execution
async def poll_caught_as_replayed(event: Any) -> int:
    """Catches the check's failure as the SDK raises it on replay (``CallableRuntimeError``)
    only: live, the check's own type fails the execution (SDK finding 8)."""
    try:
        return await _poll(event)
    except CallableRuntimeError:
        return -1


@durable_execution
async def poll_caught_on_the_third_try(event: Any) -> int:
    """Catches every failure of the check, but only from its third invocation in this
    process on (module state counting invocations: the handler's own bug)."""
    TRIES.append(1)
    try:
        return await _poll(event)
    except Exception:
        if len(TRIES) < 3:
            raise
        return -1


class Unreachable(Exception):
    """The status endpoint cannot be reached."""


async def _unreachable(state: int | None) -> int:
    msg = "status endpoint unreachable"
    raise Unreachable(msg)


@durable_execution
async def poll_naming_the_failure(event: Any) -> dict[str, Any]:
    """Catches the check's failure as either type and names the type it caught: the check's
    own live, ``CallableRuntimeError`` replayed (SDK finding 8)."""
    try:
        await wait_for_condition(
            _unreachable, name="poll", initial_state=0, polling_strategy=lambda s, a: None
        )
    except (Unreachable, CallableRuntimeError) as error:
        return {"status": "unknown", "caught": type(error).__name__}
    return {"status": "done"}
