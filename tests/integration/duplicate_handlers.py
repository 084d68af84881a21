"""Handlers run under a duplicate delivery (``tests/integration/test_duplicate_deliveries.py``)."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from async_durable_execution import durable_execution, step
from tests.integration import duplicate_world as world

from async_durable_execution_runner import _sdk_adapter as adapter

#: How long a step body waits for the other delivery's hold on the lock before giving up.
LOCK_PATIENCE = 10.0


async def _hold_across_await() -> str:
    waited = not world.LOCK.acquire(blocking=False)
    if waited and not world.LOCK.acquire(timeout=LOCK_PATIENCE):
        world.LOG.append(("gave up", LOCK_PATIENCE))
        raise TimeoutError("the other delivery never let go of the lock")
    try:
        world.LOG.append(("held", "after waiting" if waited else "at once"))
        await asyncio.sleep(2)  # an async call to a partner, under the lock
    finally:
        world.LOCK.release()
    return "written"


@durable_execution
async def lock_held_across_await(event: Any) -> dict[str, Any]:
    """Correct on Lambda: a lock held across an ``await`` inside one step. A duplicate
    delivery's run of the step waits for the first delivery's to let go of it."""
    return {"wrote": await step(_hold_across_await, name="write")}


async def _busy(seconds: float) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    world.LOG.append(("busy", seconds))
    return "done"


async def _after() -> str:
    return "after"


@durable_execution
async def busy_then_step(event: Any) -> dict[str, Any]:
    """A first step whose body keeps its thread busy (``event["seconds"]`` of real time),
    then a second step."""
    first = await step(functools.partial(_busy, event["seconds"]), name="busy")
    second = await step(_after, name="after")
    return {"first": first, "second": second}


async def _endless_in_the_duplicate() -> str:
    world.RUNS.append("started")
    if threading.current_thread() is not threading.main_thread():
        # The duplicate's run (the first delivery runs on the test's thread, a duplicate on
        # a thread of its own): a loop with no end and no await, as the SDK's own ``map``
        # can spin from Python 3.12 on (SDK finding 19).
        while world.RUNS:
            pass
    return "done"


@durable_execution
async def computes_without_end_in_a_duplicate(event: Any) -> dict[str, Any]:
    """Wrong in the duplicate's sandbox only: its run of the step never returns, nor lets
    its event loop take another turn."""
    return {"step": await step(_endless_in_the_duplicate, name="compute")}


def _at_the_sdks_batch_completion_loop() -> Callable[[list[str]], None]:
    """A loop compiled to sit in the SDK's ``ParallelExecutor.execute``, at the first line
    of its completion loop (``batch_completion_loop``): where SDK finding 19 spins on
    Python 3.12 and later, as the runner finds it on a stack, on any Python. It spins
    while ``running`` is not empty."""
    filename, lines = adapter.batch_completion_loop()
    source = "\n" * (min(lines) - 2) + "def execute(running):\n    while running: pass\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), namespace)
    spin: Callable[[list[str]], None] = namespace["execute"]
    return spin


_SPIN_WHERE_THE_SDK_DOES = _at_the_sdks_batch_completion_loop()


async def _spins_where_the_sdk_does_in_the_duplicate() -> str:
    world.RUNS.append("started")
    if threading.current_thread() is not threading.main_thread():
        _SPIN_WHERE_THE_SDK_DOES(world.RUNS)  # (the duplicate's run, as above)
    return "done"


@durable_execution
async def spins_where_the_sdk_does_in_a_duplicate(event: Any) -> dict[str, Any]:
    """``computes_without_end_in_a_duplicate``, its loop in SDK finding 19's lines."""
    return {"step": await step(_spins_where_the_sdk_does_in_the_duplicate, name="compute")}
