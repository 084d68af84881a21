"""Wrong twins of ``examples/races.py``: concurrency around durable calls that is not correct
durable code."""

from __future__ import annotations

import asyncio
from typing import Any

from async_durable_execution import durable_execution, step, wait


async def _value(value: str) -> str:
    return value


async def _sequence(label: str, pause: int) -> str:
    first = await step(lambda: _value(f"{label}-a"), name=f"{label}-a")
    await wait(pause, name=f"{label}-pause")
    second = await step(lambda: _value(f"{label}-b"), name=f"{label}-b")
    return f"{first}+{second}"


@durable_execution
async def sequences_in_one_context(event: Any) -> dict[str, Any]:
    """``races.sequences_in_children`` without its child contexts: the sequences' waits and
    second steps take their ids in the order the sequences resume, which differs between the
    live run (shortest wait first) and a replay (every wait done: in the order they were
    gathered)."""
    results = await asyncio.gather(
        *(_sequence(label, pause) for label, pause in (("x", 30), ("y", 5), ("z", 12)))
    )
    return {"sequences": list(results)}


async def _square(n: int) -> int:
    return n * n


@durable_execution
async def queue_fan_in_waiting_for_values(event: Any) -> dict[str, Any]:
    """``races.queue_fan_in`` as the audit first wrote it: a producer whose step ends the
    invocation (the SDK's suspension for a retry) dies without a word to the consumer, which
    waits on the queue for ever; so does the invocation."""
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def produce(n: int) -> None:
        await queue.put(await step(lambda: _square(n), name=f"produce-{n}"))

    producers = [asyncio.create_task(produce(n)) for n in range(5)]
    total = 0
    for _ in producers:
        total += await queue.get()
    await asyncio.gather(*producers)
    return {"sum": total}
