"""A handler that stops inside a step until the test has killed its server (module level:
the served process imports it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from async_durable_execution import durable_execution, step, wait


async def _first() -> str:
    return "first"


async def _gate(fifo: str, marker: str) -> str:
    if not Path(marker).exists():
        Path(marker).touch()
        with open(fifo, "w") as announce:  # blocks until the test opens the FIFO to read
            announce.write("inside step two\n")
        while True:  # the test SIGKILLs the server now
            time.sleep(3600)
    return "second"


@durable_execution
async def gated(event: dict[str, Any]) -> list[str]:
    first = await step(_first, name="first")
    second = await step(lambda: _gate(event["fifo"], event["marker"]), name="second")
    await wait(60, name="pause")
    return [first, second]
