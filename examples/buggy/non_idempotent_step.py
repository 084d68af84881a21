"""Bug: a non-idempotent body in an at-least-once step charges the card twice.

A step's body may run again if the sandbox dies after the body ran but before its result was
checkpointed. The fix passes an idempotency key (the step's operation id) to the payment
service, which charges each key once.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import durable_callable, durable_execution, get_step_context, step

from buggy.fakes import CHARGES, SEEN_KEYS, reset

__all__ = ["buggy", "fixed", "reset"]


@durable_callable
async def charge_card(order_id: str) -> None:
    CHARGES[order_id] += 1  # BUG: runs once per attempt *body*, not once per order


@durable_callable
async def charge_card_once(order_id: str) -> None:
    key = get_step_context().operation_identifier.operation_id
    if key not in SEEN_KEYS:
        SEEN_KEYS.add(key)
        CHARGES[order_id] += 1


@durable_callable
async def count_charges(order_id: str) -> int:
    return CHARGES[order_id]


@durable_execution
async def buggy(order: dict[str, Any]) -> int:
    await step(charge_card(order["id"]), name="charge")
    return await step(count_charges(order["id"]), name="count")


@durable_execution
async def fixed(order: dict[str, Any]) -> int:
    await step(charge_card_once(order["id"]), name="charge")
    return await step(count_charges(order["id"]), name="count")
