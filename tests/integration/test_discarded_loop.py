"""A thread's late delivery to an invocation loop the runner let go of.

When an invocation leaves tasks that refuse to be cancelled, the runner closes its event
loop and runs the next invocation on a new one (``invocation_threads.settle``). On Lambda the
SDK keeps one loop for the sandbox's life: a library's thread that finishes its work later
(aiosqlite's connection thread, a driver's) delivers its result to that loop as usual. Here
the delivery reached a closed loop, ``call_soon_threadsafe`` raised "Event loop is closed" in
the library's thread, and pytest reported the thread's exception as the failure of whichever
test was running (found by the session-45 audit's SQLAlchemy-on-aiosqlite handler under
crash points). A loop the runner discarded now drops what threads send it; a loop closed by
anyone else still refuses, as asyncio's does.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import pytest
from async_durable_execution import durable_execution, step

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._sandbox.virtual_loop import VirtualTimeEventLoop

#: What the handler's late thread saw, and the loop it delivered to.
SEEN: dict[str, Any] = {}
RELEASE = threading.Event()


async def _stubborn() -> None:
    """A task that refuses to die: cancelled, it starts another like itself."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        STUBBORN.append(asyncio.ensure_future(_stubborn()))
        raise


#: The stubborn tasks started (held, so that none is collected while pending).
STUBBORN: list[asyncio.Future[None]] = []


def _worker() -> None:
    """A library's long-lived worker thread (started at import, as aiosqlite's is started per
    connection): it takes jobs from a queue and delivers each result to the job's loop."""
    while True:
        loop, future = JOBS.get()
        RELEASE.wait(10)
        try:
            loop.call_soon_threadsafe(future.set_result, 1)
            SEEN["error"] = None
        except RuntimeError as error:
            SEEN["error"] = error
        DELIVERED.set()


JOBS: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[int]]] = queue.SimpleQueue()
DELIVERED = threading.Event()
threading.Thread(target=_worker, daemon=True, name="library-worker").start()


@durable_execution
async def leaves_a_stubborn_task_and_a_late_thread(event: Any) -> str:
    async def body() -> str:
        loop = asyncio.get_running_loop()
        SEEN["loop"] = loop
        STUBBORN.append(asyncio.ensure_future(_stubborn()))
        JOBS.put((loop, loop.create_future()))
        return "done"

    return await step(body, name="start-work")


def test_a_thread_delivering_to_a_discarded_loop_is_not_failed() -> None:
    SEEN.clear()
    RELEASE.clear()
    DELIVERED.clear()
    results: list[Any] = []

    def run() -> None:
        with DurableFunctionTestRunner(handler=leaves_a_stubborn_task_and_a_late_thread) as runner:
            results.append(runner.run(input={}, timeout=30))

    # Called from a thread of its own, the run drives on a worker thread, whose loop is the
    # one discarded: the main thread's loop, which earlier tests' module-level async clients
    # keep their pooled connections on, is left alone (a discarded loop orphans them).
    caller = threading.Thread(target=run)
    caller.start()
    caller.join(60)
    assert results[0].result_value == "done"
    loop = SEEN["loop"]
    assert loop.is_closed()
    assert loop.discarded
    RELEASE.set()
    assert DELIVERED.wait(10)
    assert SEEN["error"] is None


def test_a_loop_closed_by_its_owner_still_refuses_threads() -> None:
    loop = VirtualTimeEventLoop()
    loop.close()
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            loop.call_soon_threadsafe(lambda: None)
        except RuntimeError as error:
            errors.append(error)

    thread = threading.Thread(target=deliver)
    thread.start()
    thread.join(10)
    assert len(errors) == 1
    assert "closed" in str(errors[0])


@pytest.mark.parametrize("from_a_thread", [False, True])
def test_a_discarded_loop_drops_a_delivery_without_running_it(from_a_thread: bool) -> None:
    loop = VirtualTimeEventLoop()
    loop.discarded = True
    loop.close()
    ran: list[int] = []
    handles: list[asyncio.Handle] = []

    def deliver() -> None:
        handles.append(loop.call_soon_threadsafe(ran.append, 1))

    if from_a_thread:
        thread = threading.Thread(target=deliver)
        thread.start()
        thread.join(10)
    else:
        deliver()
    assert ran == []
    assert handles[0].cancelled()
