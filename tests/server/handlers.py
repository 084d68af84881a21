"""Durable functions the server tests run (module level: worker processes import them)."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import json
import time
from pathlib import Path
from typing import Any

from async_durable_execution import (
    JitterStrategy,
    RetryStrategy,
    create_callback,
    durable_execution,
    get_step_context,
    invoke,
    run_in_child_context,
    step,
    wait,
)

RETRY_AFTER_5S = RetryStrategy(
    max_attempts=3, initial_delay=5, backoff_rate=1, jitter_strategy=JitterStrategy.NONE
)


async def _double(value: int) -> int:
    return 2 * value


async def _flaky(key: str) -> str:
    # The first attempt fails: the second comes after a checkpointed RETRY and its back-off.
    if get_step_context().attempt <= 1:
        msg = f"first attempt of {key} fails"
        raise RuntimeError(msg)
    return f"{key} ok"


@durable_execution
async def pricing(event: dict[str, Any]) -> int:
    return int(await step(lambda: _double(int(event.get("quantity", 1))), name="double"))


@durable_execution
async def workflow(event: dict[str, Any]) -> dict[str, Any]:
    """A wait, a callback, a chained invoke and a retried step."""
    await wait(30, name="cool-off")
    callback = await create_callback(name="approval")
    decision = json.loads(await callback.result() or "{}")
    price = await invoke("pricing", {"quantity": event.get("quantity", 1)}, name="price")
    flaky = await step(
        lambda: _flaky(str(event.get("id"))), name="flaky", retry_strategy=RETRY_AFTER_5S
    )
    return {"approved": bool(decision.get("approved")), "price": price, "flaky": flaky}


@durable_execution
async def approval(_event: Any) -> Any:
    callback = await create_callback(name="approval")
    return await callback.result()


@durable_execution
async def waiter(event: dict[str, Any]) -> str:
    await wait(int(event.get("seconds", 60)), name="pause")
    return "waited"


@durable_execution
async def failing(_event: Any) -> None:
    msg = "this function always fails"
    raise ValueError(msg)


@durable_execution
async def short_approval(event: Any) -> Any:
    """A callback that times out after ``event["timeout"]`` seconds (default 1)."""
    timeout = int(event.get("timeout", 1)) if isinstance(event, dict) else 1
    callback = await create_callback(name="approval", timeout=timeout)
    return await callback.result()


async def _new_year() -> Any:
    import datetime as _dt
    from decimal import Decimal

    return {"when": _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC), "amount": Decimal("9.95")}


async def _inner() -> Any:
    doubled = await step(lambda: _double(2), name="inner-double")
    dated = await step(_new_year, name="inner-dated")
    return {"doubled": doubled, **dated}


@durable_execution
async def nested(_event: Any) -> Any:
    """Steps inside a child context, values JSON cannot carry (a datetime, a Decimal)."""
    inner = await run_in_child_context(_inner, name="outer")
    await step(lambda: _double(3), name="top")
    await wait(1, name="pause")
    return {"doubled": inner["doubled"], "day": inner["when"].day}


async def _journal(directory: str, key: str) -> str:
    with open(f"{directory}/journal.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other delivery's worker holding it: wait
        try:
            # An upload in a thread, under the lock: real time, which the duplicate's worker,
            # waiting for the lock meanwhile, lets pass in its flock.
            await asyncio.to_thread(time.sleep, 0.3)
            path = Path(directory, "journal.txt")
            kept = path.read_text().splitlines() if path.exists() else []
            if key not in kept:
                with path.open("a") as out:
                    out.write(key + "\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return key


@durable_execution
async def journal(event: dict[str, Any]) -> list[str]:
    """Each key appended to a journal file by a step holding an exclusive flock across an
    await (a duplicate delivery's worker waits for the first delivery's)."""
    return [
        await step(functools.partial(_journal, event["dir"], key), name=f"journal-{key}")
        for key in event["keys"]
    ]
