"""Wrong twins of ``examples/scale.py``: habits that are not correct durable code at any
size."""

from __future__ import annotations

import datetime as dt
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
