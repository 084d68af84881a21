"""Bug: a hedged request raced outside a step decides which step runs.

The handler asks two mirrors at once, each on a thread of its own, and keeps whichever
answers first, then records the answer in a step named after that mirror. Outside a step,
nothing keeps the winner: on the replay after the wait, the race is run again, and when the
other mirror answers first the replay asks for a step "record-us" where "record-eu" was
checkpointed. In-process the race has one outcome unless the threads' order is drawn
(``Timings.thread_order``, which ``timings()`` draws): a run on the emulator with the order
the loop asked in, every time, never shows it. The fix races the mirrors inside the step,
whose result is checkpointed and replayed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from async_durable_execution import durable_callable, durable_execution, step, wait

__all__ = ["buggy", "fixed"]


def ask_mirror(region: str) -> str:
    time.sleep(0.001)  # the network
    return region


async def first_answer() -> str:
    loop = asyncio.get_running_loop()
    asks = {loop.run_in_executor(None, ask_mirror, region) for region in ("eu", "us")}
    done, pending = await asyncio.wait(asks, return_when=asyncio.FIRST_COMPLETED)
    for slower in pending:
        slower.cancel()
    return done.pop().result()  # type: ignore[no-any-return]


@durable_callable
async def record(region: str) -> str:
    return f"price from {region}"


@durable_execution
async def buggy(event: Any) -> str:
    region = await first_answer()  # BUG: raced again, maybe otherwise, on every replay
    price = await step(record(region), name=f"record-{region}")
    await wait(30, name="pause")
    return price


@durable_callable
async def hedged() -> str:
    return await first_answer()


@durable_execution
async def fixed(event: Any) -> str:
    region = await step(hedged(), name="fastest-mirror")
    price = await step(record(region), name=f"record-{region}")
    await wait(30, name="pause")
    return price
