"""Bug: a step name built from the clock is different on every replay.

The replay asks for "record-000030" where "record-000000" was checkpointed: the handler no
longer replays deterministically (the 2.5 SDK does not check names on replay; the harness
does). The fix names the step after stable data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from async_durable_execution import durable_callable, durable_execution, step, wait


@durable_callable
async def record(event: Any) -> str:
    return "recorded"


@durable_execution
async def buggy(event: Any) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S")  # BUG: differs on replay
    await step(record(event), name=f"record-{stamp}")
    await wait(30, name="pause")
    return "done"


@durable_execution
async def fixed(event: Any) -> str:
    await step(record(event), name="record")
    await wait(30, name="pause")
    return "done"
