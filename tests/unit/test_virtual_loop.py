"""The virtual-time event loop: sleeps jump, the runner's clock follows, real waits stay real."""

from __future__ import annotations

import asyncio
import time

from async_durable_execution_runner._service.virtual_loop import VirtualTimeEventLoop


def test_an_idle_sleep_jumps_virtual_time_and_reports_it() -> None:
    loop = VirtualTimeEventLoop()
    jumps: list[float] = []
    loop.on_jump = jumps.append
    try:
        started = time.monotonic()
        loop.run_until_complete(asyncio.sleep(3600))
        assert time.monotonic() - started < 1.0
        assert loop.time() >= 3600
        assert sum(jumps) >= 3600
    finally:
        loop.close()


def test_work_in_an_executor_thread_takes_real_time() -> None:
    loop = VirtualTimeEventLoop()
    jumps: list[float] = []
    loop.on_jump = jumps.append

    async def main() -> str:
        # A pending timer must not be jumped to while a thread is still working.
        racer = asyncio.ensure_future(asyncio.sleep(30))
        result = await loop.run_in_executor(None, lambda: (time.sleep(0.05), "done")[1])
        racer.cancel()
        return str(result)

    try:
        assert loop.run_until_complete(main()) == "done"
        assert sum(jumps) < 30
    finally:
        loop.close()


def test_the_runner_clock_follows_a_sleeping_handler() -> None:
    from tests.integration.handlers import sleeps_between_steps

    from async_durable_execution_runner import DurableFunctionTestRunner

    with DurableFunctionTestRunner(sleeps_between_steps) as runner:
        started = time.monotonic()
        result = runner.run(input=None, timeout=120)
    # The handler sleeps ten minutes; far less than that (even on a loaded machine) means the
    # sleep was virtual.
    assert time.monotonic() - started < 120
    assert result.result == '"ab"'
    before = result.get_step("before").end_timestamp
    after = result.get_step("after").start_timestamp
    assert before is not None
    assert (after - before).total_seconds() >= 600


def test_a_callback_from_another_thread_runs_while_the_loop_is_busy_and_when_it_sleeps() -> None:
    # Busy turns skip asking the kernel when only the self-pipe is registered: a callback from
    # another thread is queued before the pipe is written, so it still runs on the next turn,
    # and the pipe is drained once the loop may wait.
    import threading

    loop = VirtualTimeEventLoop()
    seen: list[str] = []

    async def main() -> None:
        arrived = asyncio.Event()
        thread = threading.Thread(
            target=lambda: loop.call_soon_threadsafe(lambda: (seen.append("busy"), arrived.set()))
        )
        thread.start()
        while not arrived.is_set():  # busy: every turn has work ready
            await asyncio.sleep(0)
        thread.join()
        # Now idle: a sleeping loop is woken by the pipe alone.
        woken = loop.create_future()
        threading.Timer(0.05, lambda: loop.call_soon_threadsafe(woken.set_result, "idle")).start()
        seen.append(await woken)

    try:
        loop.run_until_complete(main())
        assert seen == ["busy", "idle"]
    finally:
        loop.close()


class _Stop(BaseException):
    pass


def test_an_interrupt_raises_at_the_next_turn_and_leaves_the_queues_whole() -> None:
    loop = VirtualTimeEventLoop()
    ran: list[str] = []

    async def main() -> None:
        loop.interrupt_at_next_turn(_Stop)
        # Queued for the next turn, which the interrupt cuts off before anything runs.
        loop.call_soon(ran.append, "queued")
        await asyncio.sleep(0)
        ran.append("resumed")

    try:
        task = loop.create_task(main())
        try:
            loop.run_until_complete(task)
        except _Stop:
            pass
        else:
            raise AssertionError("the interrupt did not raise")
        assert ran == []
        loop.clear_interrupt()
        loop.run_until_complete(task)  # the same queues, run on: nothing was lost
        assert ran == ["queued", "resumed"]
    finally:
        loop.close()


def test_pending_tasks_are_this_loops_unfinished_ones_only() -> None:
    loop = VirtualTimeEventLoop()
    other = VirtualTimeEventLoop()
    never = loop.create_future()

    async def waits() -> None:
        await never

    async def quick() -> None:
        return None

    try:
        stuck = loop.create_task(waits())
        done = loop.create_task(quick())
        other.create_task(quick())
        loop.run_until_complete(done)
        assert loop.pending_tasks() == [stuck]
        assert loop.created_tasks == [stuck]  # the finished ones are let go
        stuck.cancel()
        loop.run_until_complete(asyncio.gather(stuck, return_exceptions=True))
        assert loop.pending_tasks() == []
        other.run_until_complete(asyncio.sleep(0))
        assert other.pending_tasks() == []
    finally:
        loop.close()
        other.close()
