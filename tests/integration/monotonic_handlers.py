"""Handlers that measure time with ``time.monotonic()`` (module level: worker processes
import them)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from async_durable_execution import durable_execution, step, wait

from async_durable_execution_runner._sandbox.handler_clock import real_monotonic


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


async def _deadlines_in_monotonic_time() -> list[str]:
    # ``loop.time()`` is ``time.monotonic()`` on a stock loop (Lambda's), and code mixes them.
    loop = asyncio.get_running_loop()
    seen = []
    fired: asyncio.Future[str] = loop.create_future()
    loop.call_at(time.monotonic() + 5, fired.set_result, "call_at fired")
    try:
        seen.append(await asyncio.wait_for(fired, 30))
    except TimeoutError:
        seen.append("call_at did not fire in 30 s")
    try:
        async with asyncio.timeout_at(time.monotonic() + 5):
            await asyncio.sleep(10)
        seen.append("slept 10 s past a 5 s deadline")
    except TimeoutError:
        seen.append("timed out at the deadline")
    return seen


@durable_execution
async def mixes_loop_time_and_monotonic(event: Any) -> list[Any]:
    # Twice, the second time after the service's wait moved the clocks an hour on.
    first = await step(_deadlines_in_monotonic_time, name="before")
    await wait(3600, name="an-hour")
    second = await step(_deadlines_in_monotonic_time, name="after")
    loop = asyncio.get_running_loop()
    return [first, second, abs(loop.time() - time.monotonic())]


#: Monotonic instants and fetches kept at module level, as a warm sandbox keeps them between
#: invocations; keyed by the execution's input so that tests do not share them.
_MARKS: dict[str, float] = {}
_TOKENS: dict[str, tuple[str, float]] = {}
_FETCHES: dict[str, int] = {}


@durable_execution
async def keeps_a_monotonic_instant_across_a_wait(event: Any) -> dict[str, float]:
    key = event["key"]

    async def mark() -> None:
        await asyncio.sleep(100)  # a hundred seconds the loop skips
        _MARKS[key] = time.monotonic()

    async def since() -> float:
        return time.monotonic() - _MARKS[key]

    await step(mark, name="mark")
    await wait(60, name="a-minute")
    return {"since": await step(since, name="since")}


def _token(key: str) -> str:
    """A token cached for five minutes of ``time.monotonic()``, as SDK credential caches and
    ``cachetools.TTLCache`` keep them."""
    cached = _TOKENS.get(key)
    if cached is not None and time.monotonic() < cached[1]:
        return cached[0]
    _FETCHES[key] = _FETCHES.get(key, 0) + 1
    token = f"token-{_FETCHES[key]}"
    _TOKENS[key] = (token, time.monotonic() + 300)
    return token


@durable_execution
async def uses_a_cached_token_after_an_hour(event: Any) -> list[str]:
    key = event["key"]

    async def call() -> str:
        return _token(key)

    first = await step(call, name="before")
    await wait(3600, name="an-hour")
    return [first, await step(call, name="after")]


def _poll_until(deadline: float, seen: dict[str, float]) -> None:
    # A thread the step starts, given a deadline the step measured: it polls until it passes
    # (or gives up after 5 s of the machine's time).
    started = real_monotonic()
    while time.monotonic() < deadline and real_monotonic() - started < 5:
        time.sleep(0.01)
    seen["real"] = real_monotonic() - started


@durable_execution
async def hands_a_thread_a_deadline_after_an_hour(event: Any) -> float:
    async def nothing() -> None:
        return None

    async def poll() -> float:
        seen: dict[str, float] = {}
        thread = threading.Thread(target=_poll_until, args=(time.monotonic() + 0.3, seen))
        thread.start()
        await asyncio.to_thread(thread.join)
        return seen["real"]

    await step(nothing, name="before")
    await wait(3600, name="an-hour")
    return await step(poll, name="poll")


@durable_execution
async def measures_a_second_s_wait(event: Any) -> float:
    key = event["key"]

    async def mark() -> None:
        _MARKS[key] = time.monotonic()

    async def since() -> float:
        return time.monotonic() - _MARKS[key]

    await step(mark, name="mark")
    await wait(1, name="a-second")
    return await step(since, name="since")
