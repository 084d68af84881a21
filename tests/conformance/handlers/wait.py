"""Handlers for the wait requirements (``requirements/wait``, ids 2-N)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from async_durable_execution import durable_execution, wait


@durable_execution
async def wait_basic(_event: Any) -> None:
    await wait(timedelta(seconds=2))


@durable_execution
async def wait_with_name(_event: Any) -> None:
    await wait(timedelta(seconds=2), name="custom_wait_name")


@durable_execution
async def sequential_waits(_event: Any) -> dict[str, int]:
    await wait(timedelta(seconds=2), name="wait-1")
    await wait(timedelta(seconds=2), name="wait-2")
    return {"completedWaits": 2}


@durable_execution
async def wait_minutes(_event: Any) -> None:
    await wait(timedelta(minutes=1))


@durable_execution
async def wait_hours(_event: Any) -> None:
    await wait(timedelta(hours=1))


HANDLERS = {
    "2-1": wait_basic,
    "2-2": wait_with_name,
    "2-3": sequential_waits,
    "2-4": wait_minutes,
    "2-5": wait_hours,
}

CRASHES: set[str] = set()
