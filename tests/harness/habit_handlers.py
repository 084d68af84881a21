"""Handlers that read the clock for their logs in ways the nondeterminism-sources oracle must
still flag (module-level, so cold sandboxes can re-import)."""

from __future__ import annotations

import logging
import time
from typing import Any

from async_durable_execution import durable_execution, wait

log = logging.getLogger("habit_handlers")


def _started_at() -> float:
    return time.time()


@durable_execution
async def clock_read_for_a_log_argument(event: Any) -> dict[str, Any]:
    """The handler's own code reads the clock to build a log argument: the value could as well
    reach a durable decision, so it is flagged like any other read outside a step."""
    log.info("started at %s", time.time())
    await wait(5, name="pause")
    return {"ok": True}


@durable_execution
async def module_helper_called_at_run_time(event: Any) -> dict[str, Any]:
    """A module-level helper, called by the handler (not at import): an ordinary read."""
    started = _started_at()
    await wait(5, name="pause")
    return {"late": started > 0}
