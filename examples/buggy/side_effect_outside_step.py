"""Bug: a side effect outside a step runs again whenever the function is re-invoked.

Sending the confirmation outside a step looks harmless until the sandbox crashes (or the
invocation's response is lost): the service re-invokes, the handler replays from the top,
and the customer gets a second e-mail. The fix moves the send into a step.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import durable_callable, durable_execution, step

from buggy.fakes import SENT, reset

__all__ = ["buggy", "fixed", "reset"]


def send_confirmation(order_id: str) -> None:
    SENT[order_id] += 1


@durable_callable
async def count_sent(order_id: str) -> int:
    return SENT[order_id]


@durable_callable
async def send_in_step(order_id: str) -> None:
    # Idempotent by order id: a retried step must not send twice either.
    if SENT[order_id] == 0:
        send_confirmation(order_id)


@durable_execution
async def buggy(order: dict[str, Any]) -> int:
    send_confirmation(order["id"])  # BUG: outside a step, so every replay sends again
    return await step(count_sent(order["id"]), name="count")


@durable_execution
async def fixed(order: dict[str, Any]) -> int:
    await step(send_in_step(order["id"]), name="send")
    return await step(count_sent(order["id"]), name="count")
