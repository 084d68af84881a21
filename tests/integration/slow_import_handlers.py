"""A handler module whose import is slow (Lambda's init phase), for the function-timeout test."""

from __future__ import annotations

import time

from async_durable_execution import durable_execution

IMPORT_SECONDS = 1.0

time.sleep(IMPORT_SECONDS)  # module-level work, as a handler that loads a model or a client


@durable_execution
async def echo(event: str) -> str:
    return event
