"""Bug: a deadline computed from the wall clock outside a step moves on every replay.

After the two-hour wait the handler is re-invoked, recomputes "now + 1 h", and concludes the
partner answered in time. The fix records the deadline in a step (the SDK's replay-safe
`now()` would do too).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from async_durable_execution import durable_callable, durable_execution, step, wait


@durable_callable
async def deadline_in_one_hour() -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()


@durable_callable
async def current_time() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@durable_execution
async def buggy(event: Any) -> str:
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # BUG: recomputed on replay
    await wait(7200, name="slow-partner")
    return "escalate" if dt.datetime.now(dt.UTC) > deadline else "on-time"


@durable_execution
async def fixed(event: Any) -> str:
    deadline = dt.datetime.fromisoformat(await step(deadline_in_one_hour(), name="deadline"))
    await wait(7200, name="slow-partner")
    now = dt.datetime.fromisoformat(await step(current_time(), name="now"))
    return "escalate" if now > deadline else "on-time"
