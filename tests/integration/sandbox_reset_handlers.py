"""Handlers whose first invocation ends its sandbox, for ``test_sandbox_reset.py``.

Module-level state is the sandbox's: a copy of this module imported afresh (a cold sandbox)
starts with no invocations seen. They live in a module of their own because a cold sandbox
re-imports the handler's module by name.
"""

from __future__ import annotations

import asyncio
from typing import Any

from async_durable_execution import durable_callable, durable_execution, step, wait
from tests.integration.crash_handlers import first_time

#: The invocations this copy of the module (this sandbox) has run, in order.
SEEN: list[str] = []


@durable_callable
async def record(value: str) -> str:
    return value


@durable_execution
async def ends_its_sandbox_once(event: dict[str, Any]) -> dict[str, Any]:
    """Checkpoints a step, then the first time (``event["how"]``): ``exit`` raises
    ``SystemExit`` (the runtime process exits), ``timeout`` sleeps past the function's
    timeout, ``wait`` suspends in a durable wait (the sandbox lives on). Returns how many
    invocations the sandbox that finished the execution had run."""
    SEEN.append("invoked")
    await step(record("before"), name="before")
    if first_time(event["marker_dir"], event["how"]):
        if event["how"] == "exit":
            raise SystemExit(3)
        if event["how"] == "timeout":
            await asyncio.sleep(10_000)
        await wait(1, name="pause")
    return {"seen": len(SEEN)}
