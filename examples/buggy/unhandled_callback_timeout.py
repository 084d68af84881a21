"""Bug: an approval callback that times out (or fails) fails the whole execution.

The workflow promises an answer to every request: rejected if nobody approves within an hour.
The buggy handler never handles the callback's timeout; the fix treats a failed or timed-out
callback as a rejection.
"""

from __future__ import annotations

import json
from typing import Any

from async_durable_execution import CallbackError, durable_execution, wait_for_callback


async def notify_approver() -> None:
    return None


@durable_execution
async def buggy(request: Any) -> dict[str, bool]:
    answer = await wait_for_callback(notify_approver, name="approval", timeout=3600)
    return {"approved": json.loads(answer or "null") is True}


@durable_execution
async def fixed(request: Any) -> dict[str, bool]:
    try:
        answer = await wait_for_callback(notify_approver, name="approval", timeout=3600)
    except CallbackError:
        return {"approved": False}
    return {"approved": json.loads(answer or "null") is True}
