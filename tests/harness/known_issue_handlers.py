"""Handlers that meet a behaviour pinned as the SDK's in docs/findings.md."""

from __future__ import annotations

from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    CompletionConfig,
    JitterStrategy,
    PollingStrategy,
    durable_execution,
    step,
    wait,
    wait_for_condition,
)
from async_durable_execution import map as durable_map


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


# --- SDK finding 17: a batch assembled again on a replay ------------------------------------

#: How long each item waits before its step: item 0 ends last, items 2 and 3 (started as the
#: first two slots free up) end before it.
_ITEM_WAITS = {0: 10, 1: 1, 2: 1, 3: 1}


def _never_retry(error: Exception, attempt: int) -> int | None:
    return None


async def _settle_item(item: int) -> int:
    if item in (0, 1):
        msg = f"item {item} failed"
        raise RuntimeError(msg)
    return item


async def _run_items(max_concurrency: int | None) -> Any:
    async def item(n: int) -> int:
        await wait(_ITEM_WAITS[n], name=f"item-{n}-wait")
        return await step(lambda: _settle_item(n), name=f"item-{n}", retry_strategy=_never_retry)

    return await durable_map(
        item,
        [0, 1, 2, 3],
        name="items",
        max_concurrency=max_concurrency,
        completion_config=CompletionConfig.thresholds(tolerated_failure_count=1),
    )


@durable_execution
async def batch_decided_on_replay(event: Any) -> dict[str, Any]:
    """Four items, two at a time, one failure tolerated: live, items 1, 2 and 3 end before
    item 0 fails and decides the batch (two successes). If that invocation dies before the
    batch's result is checkpointed, the replay starts items 0 and 1, both failed, decides at
    once and never starts 2 and 3: no success (SDK finding 17)."""
    batch = await _run_items(max_concurrency=2)
    return {"succeeded": batch.success_count, "failed": batch.failure_count}


#: Invocations of ``batch_beside_a_count`` in this process (module state: a bug).
RUNS: list[int] = []


def reset_runs() -> None:
    RUNS.clear()


@durable_execution
async def batch_beside_a_count(event: Any) -> dict[str, Any]:
    """The same items without a concurrency limit (the replay assembles the same batch),
    and a count of invocations kept in module state outside any step: the handler's own
    bug, which a crash shows."""
    RUNS.append(1)
    batch = await _run_items(max_concurrency=None)
    return {"succeeded": batch.success_count, "runs": len(RUNS)}
