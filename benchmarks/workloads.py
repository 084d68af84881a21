"""The benchmark workloads: module-level ``@durable_execution`` handlers.

Each workload is described by a :class:`Workload` entry in :data:`WORKLOADS`, which
names the handler, the input it is run with and the result every runner must return
(checked before timing, so a broken runner cannot look fast).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from async_durable_execution import (
    JitterStrategy,
    RetryStrategy,
    durable_callable,
    durable_execution,
    get_step_context,
    map,
    run_in_child_context,
    step,
    wait,
)

# --- (1) the seed workflow (examples/seed.py) ------------------------------------------


@durable_callable
async def join(*parts: str) -> str:
    return " ".join(parts)


@durable_callable
async def both_halves() -> str:
    left = await step(join("3", "4"), name="three-four")
    right = await step(join("4", "3"), name="four-three")
    return f"{left} {right}"


@durable_execution
async def seed(event: Any) -> list[str]:
    one = await step(join("1", "2"), name="one")
    two = await run_in_child_context(both_halves(), name="two")
    await wait(1, name="pause")
    three = await step(join("5", "6"), name="three")
    return [one, two, three]


# --- (2) 100 sequential steps ------------------------------------------------------------


@durable_callable
async def add_one(value: int) -> int:
    return value + 1


@durable_execution
async def sequential_steps(event: Any) -> int:
    total = 0
    for i in range(100):
        total = await step(add_one(total), name=f"step-{i}")
    return total


# --- (3) a 20-item map ------------------------------------------------------------------


async def square(item: int) -> int:
    return item * item


@durable_execution
async def map_20(event: Any) -> list[int]:
    batch = await map(square, list(range(20)), name="squares")
    return batch.get_results()


# --- (4) ten one-hour waits -------------------------------------------------------------


@durable_execution
async def ten_hour_waits(event: Any) -> int:
    for i in range(10):
        await wait(3600, name=f"hour-{i}")
    return 10


# --- (5) a step that fails twice, then succeeds -----------------------------------------

RETRY = RetryStrategy(
    max_attempts=5,
    initial_delay=1,
    max_delay=1,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)


def fail_twice() -> int:
    """The step's attempt number, from the third attempt on; the first two raise."""
    attempt = get_step_context().attempt or 0
    if attempt < 3:
        msg = f"attempt {attempt} fails on purpose"
        raise RuntimeError(msg)
    return attempt


@durable_callable
async def flaky() -> int:
    return fail_twice()


@durable_execution
async def retry_twice(event: Any) -> int:
    return await step(flaky(), name="flaky", retry_strategy=RETRY)


# --- registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    handler: Callable[..., Any]
    input: Any
    expected: Any


WORKLOADS: list[Workload] = [
    Workload(
        "seed",
        "seed workflow: step, child context (2 steps), 1 s wait, step",
        seed,
        {"n": 1},
        ["1 2", "3 4 4 3", "5 6"],
    ),
    Workload("steps_100", "100 sequential steps", sequential_steps, {"n": 1}, 100),
    Workload("map_20", "map over 20 items", map_20, {"n": 1}, [i * i for i in range(20)]),
    Workload("waits_10h", "ten one-hour waits", ten_hour_waits, {"n": 1}, 10),
    Workload(
        "retry_2",
        "a step that fails twice, then succeeds (1 s retry delay)",
        retry_twice,
        {"n": 1},
        3,
    ),
]

BY_NAME = {w.name: w for w in WORKLOADS}
