"""Bug: a bare `except:` around a durable call swallows the SDK's suspension.

To wait for an approval without holding a Lambda sandbox, the SDK ends the invocation by
raising `SuspendExecution` (a `BaseException`) out of the awaiting code; the service
re-invokes the function when the answer arrives. A bare `except:` (or `except
BaseException:`) written as "treat any problem as no answer" catches that too: the handler
runs on at once, the approval nobody waited for counts as missing, and the execution
SUCCEEDS with its callback still open, so the approver's answer is refused later. The
open-operations oracle flags it without any fault. The fix catches only the callback's own
failure (`CallbackError`).
"""

from __future__ import annotations

import json
from typing import Any

from async_durable_execution import CallbackError, durable_execution, wait_for_callback


async def notify_approver() -> None:
    return None


@durable_execution
async def buggy(request: Any) -> dict[str, bool]:
    try:
        answer = await wait_for_callback(notify_approver, name="approval", timeout=3600)
    except:  # noqa: E722  BUG: also catches SuspendExecution, which must end the invocation
        return {"approved": False}
    return {"approved": json.loads(answer or "null") is True}


@durable_execution
async def fixed(request: Any) -> dict[str, bool]:
    try:
        answer = await wait_for_callback(notify_approver, name="approval", timeout=3600)
    except CallbackError:
        return {"approved": False}
    return {"approved": json.loads(answer or "null") is True}
