"""Wrong twins of ``examples/blocking.py`` handlers: what the oracles must still flag."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import uuid
from typing import Any

from async_durable_execution import durable_execution, step, wait


def _draw_ref() -> str:
    return uuid.uuid4().hex[:8]


@durable_execution
async def ref_drawn_in_a_thread_outside_a_step(event: Any) -> dict[str, Any]:
    """Draws its order reference in a thread, outside any step: ``asyncio.to_thread`` carries
    the handler's (root) context there, so the draw is known to be outside a step, and it
    differs on every replay."""
    ref = await asyncio.to_thread(_draw_ref)
    await wait(5, name="settle")

    async def book() -> str:
        return f"booked {ref}"

    return {"ref": ref, "booking": await step(book, name="book")}


_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="refs")


@durable_execution
async def ref_drawn_in_an_executor_outside_a_step(event: Any) -> dict[str, Any]:
    """``ref_drawn_in_a_thread_outside_a_step`` through ``run_in_executor``, which hands the
    thread no context: the draw is still the handler's, outside any step."""
    ref = await asyncio.get_running_loop().run_in_executor(None, _draw_ref)
    await wait(5, name="settle")

    async def book() -> str:
        return f"booked {ref}"

    return {"ref": ref, "booking": await step(book, name="book")}


@durable_execution
async def ref_drawn_in_a_pool_outside_a_step(event: Any) -> dict[str, Any]:
    """The same through a module-level pool's ``submit``, awaited with ``wrap_future``."""
    ref = await asyncio.wrap_future(_POOL.submit(_draw_ref))
    await wait(5, name="settle")

    async def book() -> str:
        return f"booked {ref}"

    return {"ref": ref, "booking": await step(book, name="book")}


async def _poll_for_a_while() -> int:
    deadline = time.time() + 0.05
    polls = 0
    while time.time() < deadline:
        polls += 1
        time.sleep(0.01)
    return polls


@durable_execution
async def polls_until_a_wall_clock_deadline(event: Any) -> int:
    """Correct code: a blocking client polled for 50 ms of wall-clock time in a step. The
    handler's clock is the runner's virtual clock, which stands still while the loop is busy
    (a ``time.sleep`` on its thread is not idle time): ``time.time()`` never reaches the
    deadline."""
    return int(await step(_poll_for_a_while, name="poll"))
