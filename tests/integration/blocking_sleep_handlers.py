"""Handlers that block their loop's thread with ``time.sleep`` (``test_blocking_sleep.py``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import select
import socket
import threading
import time
from typing import Any

from async_durable_execution import durable_execution, step


def _nap_and_read(seconds: float) -> float:
    started = time.time()
    time.sleep(seconds)
    return time.time() - started


@durable_execution
async def naps(event: Any) -> dict[str, Any]:
    """Sleeps ``event["seconds"]`` in a step's body (a blocking client's back-off), and reports
    what ``time.time()`` and ``time.monotonic()`` said it took, then what another thread's
    sleep does to the handler's clock."""

    async def nap() -> float:
        return _nap_and_read(event["seconds"])

    napped = await step(nap, name="nap")

    async def nap_in_a_thread() -> float:
        return await asyncio.to_thread(_nap_and_read, event["seconds"])

    in_a_thread = await step(nap_in_a_thread, name="nap-in-a-thread")
    return {"napped": napped, "in_a_thread": in_a_thread}


@durable_execution
async def timer_due_during_a_block(event: Any) -> list[str]:
    """A task's one-second ``asyncio.sleep`` falls due while the loop is blocked for two: it
    is overdue when the block ends, and runs before the loop does anything else timed."""
    order: list[str] = []

    async def tick() -> None:
        await asyncio.sleep(1)
        order.append("timer")

    task = asyncio.ensure_future(tick())
    await asyncio.sleep(0)  # the timer is set
    time.sleep(2)
    order.append(f"blocked on {threading.current_thread().name}")
    await asyncio.sleep(1.5)  # later than the overdue timer
    order.append("after")
    await task
    return order


@durable_execution
async def naps_past_the_function_timeout(event: Any) -> str:
    async def nap() -> str:
        for _ in range(4):
            time.sleep(0.1)
        return "rested"

    return await step(nap, name="long-nap")


def _poll_by_the_clock(seconds: float, *, sleep: bool = True) -> int:
    deadline = time.time() + seconds
    polls = 0
    while time.time() < deadline:
        polls += 1
        if sleep:
            time.sleep(0.01)
        elif stop_polling.is_set():
            break  # the test that hung it is over
    return polls


@durable_execution
async def polls_by_the_clock_in_a_thread(event: Any) -> dict[str, Any]:
    """A job polled in a thread the loop waits for, until ``time.time()`` passes a deadline
    (``event["seconds"]`` away), with ``time.sleep`` between polls or (``"busy"``) without;
    then what the handler's clock says the step took."""

    async def body() -> int:
        return await asyncio.to_thread(
            _poll_by_the_clock, event["seconds"], sleep=not event.get("busy")
        )

    started = time.time()
    polls = await step(body, name="poll")
    return {"polls": polls, "took": time.time() - started}


#: Set by the tests that hang ``blocked_in_a_thread`` and a busy poll: the threads the run
#: gave up on end.
release = threading.Event()
stop_polling = threading.Event()


def _blocked() -> str:
    release.wait()
    return "released"


@durable_execution
async def blocked_in_a_thread(event: Any) -> str:
    """A step whose thread waits for an event that never comes while the run lasts."""

    async def body() -> str:
        return await asyncio.to_thread(_blocked)

    return await step(body, name="blocked")


def _square(x: int) -> int:
    return x * x


@durable_execution
async def squares_in_a_process_pool(event: Any) -> int:
    """A job for a process pool through ``run_in_executor``: the loop tracks thread pools'
    jobs only (its wrapper need not be sent to another process)."""

    async def body() -> int:
        with concurrent.futures.ProcessPoolExecutor(1) as pool:
            return await asyncio.get_running_loop().run_in_executor(pool, _square, 7)

    return await step(body, name="square")


# Blocking waits that are not ``time.sleep``, on the invocation's own thread (runner bug 36).
_EMPTY: queue.Queue[int] = queue.Queue()
_NEVER = threading.Event()


def _poll_queue() -> None:
    with contextlib.suppress(queue.Empty):
        _EMPTY.get(timeout=0.05)


def _poll_event() -> None:
    _NEVER.wait(0.05)


def _poll_socket() -> None:
    left, right = socket.socketpair()
    with left, right:
        select.select([left], [], [], 0.05)


_POLLS = {"queue": _poll_queue, "event": _poll_event, "select": _poll_socket}


def _until_the_wall_clock_deadline(kind: str) -> int:
    # A drain loop bounded by the wall clock, waiting in a blocking call each time round: on
    # Lambda it gives up after its second, some twenty polls.
    poll = _POLLS[kind]
    deadline = time.time() + 1.0
    polls = 0
    while time.time() < deadline:
        polls += 1
        poll()
    return polls


@durable_execution
async def polls_blocking_until_a_deadline(event: Any) -> int:
    async def body() -> int:
        return _until_the_wall_clock_deadline(event["kind"])

    return await step(body, name="drain")


def _crunch(seconds: float) -> list[float]:
    # Work on a core for ``seconds`` of real time, reading the clock before and after.
    before = time.time()
    spin_until = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < spin_until:
        total += 1
    return [before, time.time()]


@durable_execution
async def works_on_a_core(event: Any) -> list[float]:
    async def body() -> list[float]:
        return _crunch(event["seconds"])

    return await step(body, name="crunch")


@durable_execution
async def waits_past_the_function_timeout(event: Any) -> str:
    async def wait_for_a_signal() -> str:
        # A blocking client's wait for a reply that takes longer than the function may run.
        _NEVER.wait(event["seconds"])
        return "no reply"

    return await step(wait_for_a_signal, name="wait-for-reply")
