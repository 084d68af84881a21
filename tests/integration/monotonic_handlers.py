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


def _wait_for_the_deadline(deadline: float) -> int:
    # Blocking code given a deadline the handler measured: it polls until it passes.
    polls = 0
    while time.monotonic() < deadline:
        polls += 1
        time.sleep(0.01)
    return polls


async def _after_an_hour_a_job_with_a_deadline() -> int:
    await asyncio.sleep(600)  # ten minutes the loop skips
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _wait_for_the_deadline, time.monotonic() + 0.05)


@durable_execution
async def passes_a_deadline_to_a_job(event: Any) -> int:
    return await step(_after_an_hour_a_job_with_a_deadline, name="job")
