"""A handler whose module raises at import when ``init_failures`` says so (its list, in this
process; a marker file, in a worker process): a sandbox whose initialisation fails
(``test_sandbox_reset.py``)."""

from __future__ import annotations

from typing import Any

from async_durable_execution import durable_execution, wait
from tests.integration import init_failures

if init_failures.NEXT_IMPORTS_RAISE:
    raise init_failures.NEXT_IMPORTS_RAISE.pop(0)
init_failures.fail_once_by_marker()


@durable_execution
async def pauses(event: Any) -> str:
    await wait(1, name="pause")
    return "done"
