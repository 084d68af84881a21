"""Wrong twins of ``examples/scale.py``: habits that are not correct durable code at any
size."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from async_durable_execution import durable_execution, step, wait


async def _value(value: int) -> int:
    return value


@durable_execution
async def daily_job_skipping_weekends_by_the_clock(event: Any) -> dict[str, Any]:
    """``scale.daily_job`` that skips weekends by reading the clock outside a step: live,
    each day reads its own date; a replay reads the date of the invocation replaying it, so
    it skips other days, asks for other operations than were checkpointed, and gets their
    results."""
    reports = 0
    for day in range(int(event["days"])):
        if dt.datetime.now(dt.UTC).weekday() < 5:  # wrong: outside a step
            reports += await step(lambda d=day: _value(d % 3), name=f"report-{day}")
        await wait(86_400, name=f"sleep-{day}")
    return {"reports": reports}


def _slow_partner(i: int) -> int:
    time.sleep(0.02)  # a partner that answers in 20 ms of real time
    return i


@durable_execution
async def steps_of_a_slow_partner(event: Any) -> dict[str, Any]:
    """Correct, and slow at a steady rate: ``n`` steps, each a 20 ms call (a test's
    stand-in for a run too big for its wall-clock budget)."""
    total = 0
    for i in range(int(event["n"])):
        total += await step(lambda i=i: _value(_slow_partner(i)), name=f"call-{i}")
    return {"total": total}
