"""Bug: branching on `random` outside a step makes the replay take the other branch.

Each invocation draws a new number, so after the wait the replay may ask for step "right"
where "left" was checkpointed. The 2.5 SDK does not notice (it silently returns "left"'s
result); the harness's replay-determinism oracle does. The fix draws the number in a step.
"""

from __future__ import annotations

import random
from typing import Any

from async_durable_execution import durable_callable, durable_execution, step, wait


@durable_callable
async def label(side: str) -> str:
    return side


@durable_callable
async def draw() -> float:
    return random.random()


@durable_execution
async def buggy(event: Any) -> str:
    if random.random() < 0.5:  # BUG: re-drawn on every replay
        chosen = await step(label("left"), name="left")
    else:
        chosen = await step(label("right"), name="right")
    await wait(10, name="pause")
    return str(chosen)


@durable_execution
async def fixed(event: Any) -> str:
    if await step(draw(), name="draw") < 0.5:
        chosen = await step(label("left"), name="left")
    else:
        chosen = await step(label("right"), name="right")
    await wait(10, name="pause")
    return str(chosen)
