"""Bug: the first of two threads to report, kept outside a step, decides which step runs.

The handler asks two mirrors at once, each through a client that starts a thread of its own
and hands the loop its answer (``loop.call_soon_threadsafe``), keeps whichever answer comes
first, then records it in a step named after the mirror. Outside a step, nothing keeps the
winner: on the replay after the wait, the threads race again, and when the other one
reports first the replay asks for a step "record-us" where "record-eu" was checkpointed.
In-process the threads' reports reach the loop in the order the threads were started unless
the threads' order is drawn (``Timings.thread_order``, which ``timings()`` draws). The fix
races them inside the step. (``first_callback_outside_step`` is the same race through a
thread pool's done callbacks.)
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from async_durable_execution import durable_callable, durable_execution, step, wait

__all__ = ["buggy", "fixed"]


def _ask_mirror(loop: asyncio.AbstractEventLoop, region: str, answer: Any) -> None:
    time.sleep(0.001)  # the network
    loop.call_soon_threadsafe(answer, region)


async def first_to_report() -> str:
    loop = asyncio.get_running_loop()
    first: asyncio.Future[str] = loop.create_future()

    def keep(region: str) -> None:
        if not first.done():
            first.set_result(region)

    for region in ("eu", "us"):
        threading.Thread(target=_ask_mirror, args=(loop, region, keep), daemon=True).start()
    return await first


@durable_callable
async def record(region: str) -> str:
    return f"price from {region}"


@durable_execution
async def buggy(event: Any) -> str:
    region = await first_to_report()  # BUG: raced again, maybe otherwise, on every replay
    price = await step(record(region), name=f"record-{region}")
    await wait(30, name="pause")
    return price


@durable_callable
async def fastest() -> str:
    return await first_to_report()


@durable_execution
async def fixed(event: Any) -> str:
    region = await step(fastest(), name="fastest-mirror")
    price = await step(record(region), name=f"record-{region}")
    await wait(30, name="pause")
    return price
