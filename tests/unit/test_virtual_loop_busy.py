"""A loop that is never idle still sees virtual time pass (as a real clock would)."""

from __future__ import annotations

import asyncio

from async_durable_execution_runner._sandbox.virtual_loop import BUSY_TURNS, VirtualTimeEventLoop


def test_a_busy_wait_for_a_timer_ends_when_the_timer_is_due() -> None:
    # The shape of the SDK's parallel resubmitting a branch whose step is PENDING while the
    # other branch sleeps in its step body: a task that yields forever until another, asleep
    # on a timer, sets a flag. Virtual time moves only when the loop is idle, and this loop
    # never is: without letting busy time pass it would spin for ever.
    loop = VirtualTimeEventLoop()
    jumps: list[float] = []
    loop.on_jump = jumps.append
    turns = 0

    async def sleeper(done: asyncio.Event) -> None:
        await asyncio.sleep(3)
        done.set()

    async def busy(done: asyncio.Event) -> int:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)
        return turns

    async def main() -> float:
        done = asyncio.Event()
        sleeping = asyncio.ensure_future(sleeper(done))
        await busy(done)
        await sleeping
        return loop.time()

    try:
        assert loop.run_until_complete(main()) == 3.0
    finally:
        loop.close()
    assert jumps == [3.0]
    assert BUSY_TURNS - 2 <= turns <= BUSY_TURNS + 2


def test_a_short_burst_of_work_does_not_move_time() -> None:
    loop = VirtualTimeEventLoop()

    async def main() -> float:
        timer = asyncio.ensure_future(asyncio.sleep(5))
        for _ in range(BUSY_TURNS // 2):
            await asyncio.sleep(0)
        at = loop.time()
        await timer
        return at

    try:
        assert loop.run_until_complete(main()) == 0.0
        assert loop.time() == 5.0
    finally:
        loop.close()
