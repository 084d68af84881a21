"""Bug: the first of two pool jobs to call back, kept outside a step, decides which step runs.

The handler gives two lookups to a thread pool of its own and keeps whichever job's done
callback hands the loop its answer first (``loop.call_soon_threadsafe``), then records the
answer in a step named after it. Outside a step, nothing keeps the winner: on the replay
after the wait, the jobs race again, and when the other one calls back first the replay asks
for a step "record-us" where "record-eu" was checkpointed. In-process the jobs' reports
reach the loop in the order the jobs were given unless the threads' order is drawn
(``Timings.thread_order``, which ``timings()`` draws). The fix races them inside the step.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

from async_durable_execution import durable_callable, durable_execution, step, wait

__all__ = ["buggy", "fixed"]

#: The handler's own pool, made at import.
LOOKUPS = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="lookups")


def ask_mirror(region: str) -> str:
    time.sleep(0.001)  # the network
    return region


async def first_to_call_back() -> str:
    loop = asyncio.get_running_loop()
    first: asyncio.Future[str] = loop.create_future()

    def keep(answer: str) -> None:
        if not first.done():
            first.set_result(answer)

    for region in ("eu", "us"):
        job = LOOKUPS.submit(ask_mirror, region)
        job.add_done_callback(lambda done: loop.call_soon_threadsafe(keep, done.result()))
    return await first


@durable_callable
async def record(region: str) -> str:
    return f"price from {region}"


@durable_execution
async def buggy(event: Any) -> str:
    region = await first_to_call_back()  # BUG: raced again, maybe otherwise, on every replay
    price = await step(record(region), name=f"record-{region}")
    await wait(30, name="pause")
    return price


@durable_callable
async def fastest() -> str:
    return await first_to_call_back()


@durable_execution
async def fixed(event: Any) -> str:
    region = await step(fastest(), name="fastest-mirror")
    price = await step(record(region), name=f"record-{region}")
    await wait(30, name="pause")
    return price
