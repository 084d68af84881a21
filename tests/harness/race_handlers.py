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
