"""Wrong twins of ``examples/errors.py``: error handling that is not correct durable code."""

from __future__ import annotations

from typing import Any

from async_durable_execution import durable_execution, step, wait

#: Cleanups the service below heard, in order.
CLEANED: list[str] = []


def reset() -> None:
    CLEANED.clear()


async def _work() -> int:
    return 1


async def _clean() -> int:
    CLEANED.append("cleaned")
    return len(CLEANED)


@durable_execution
async def cleanup_in_finally(event: Any) -> dict[str, Any]:
    """A cleanup step in ``finally`` around a wait: the SDK suspends by raising through the
    handler, so the cleanup runs at the suspension, before ``work-2``, and again at the end."""
    try:
        await step(_work, name="work-1")
        await wait(60, name="between")
        await step(_work, name="work-2")
    finally:
        await step(_clean, name="cleanup")
    return {"cleaned": len(CLEANED)}
