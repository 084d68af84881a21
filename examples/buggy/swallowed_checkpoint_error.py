"""Bug: `except Exception` around a step also swallows the SDK's checkpoint errors.

When the service throttles a checkpoint, the SDK raises `CheckpointError` into the awaiting
code so that the invocation ends and the service retries it. A broad handler turns that into
"payment failed" and the execution succeeds with the wrong answer. The fix catches only the
step's own failure (`CallableRuntimeError`).
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import CallableRuntimeError, durable_callable, durable_execution, step


@durable_callable
async def charge(order: dict[str, Any]) -> str:
    return f"receipt-{order['id']}"


@durable_execution
async def buggy(order: dict[str, Any]) -> dict[str, Any]:
    try:
        receipt = await step(charge(order), name="charge")
    except Exception:  # BUG: also catches CheckpointError, which must end the invocation
        return {"status": "payment-failed"}
    return {"status": "paid", "receipt": receipt}


@durable_execution
async def fixed(order: dict[str, Any]) -> dict[str, Any]:
    try:
        receipt = await step(charge(order), name="charge")
    except CallableRuntimeError:
        return {"status": "payment-failed"}
    return {"status": "paid", "receipt": receipt}
