"""Handlers that measure time with ``time.monotonic()`` (module level: worker processes
import them)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from async_durable_execution import durable_execution, step


async def _poll_until_the_deadline() -> int:
    # A job that never finishes, polled every second until ten monotonic seconds passed:
    # Lambda gives up after ten polls.
    deadline = time.monotonic() + 10
    polls = 0
    while time.monotonic() < deadline:
        polls += 1
        await asyncio.sleep(1)
    return polls


@durable_execution
async def polls_until_a_monotonic_deadline(event: Any) -> int:
    return await step(_poll_until_the_deadline, name="poll")


async def _elapsed_over_a_minute() -> list[float]:
    started = time.monotonic(), time.perf_counter()
    await asyncio.sleep(60)
    return [time.monotonic() - started[0], time.perf_counter() - started[1]]


@durable_execution
async def measures_a_minute(event: Any) -> list[float]:
    return await step(_elapsed_over_a_minute, name="measure")
