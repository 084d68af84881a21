"""Bug: the result is built from state that step bodies mutate, not from the steps' results.

Each step appends the item it reserved to a list the handler returns. That works while every
step body runs, but a step that was already checkpointed is *replayed* on re-invocation: the
SDK hands back its checkpointed result without running the body, so the list misses it.
Re-invocation happens after any crash, lost response or wait, and the customer is told fewer
items were reserved than were. The fix builds the result from what the steps return (which
is what the checkpoint keeps).
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import durable_execution, step


async def _reserve(sku: str, reserved: list[str] | None = None) -> str:
    if reserved is not None:
        reserved.append(sku)  # state outside the step's result
    return f"reserved-{sku}"


@durable_execution
async def buggy(cart: dict[str, Any]) -> dict[str, Any]:
    reserved: list[str] = []
    for sku in cart["skus"]:
        await step(lambda sku=sku: _reserve(sku, reserved), name=f"reserve-{sku}")  # BUG
    return {"reserved": reserved}


@durable_execution
async def fixed(cart: dict[str, Any]) -> dict[str, Any]:
    reserved: list[str] = []
    for sku in cart["skus"]:
        receipt = await step(lambda sku=sku: _reserve(sku), name=f"reserve-{sku}")
        reserved.append(receipt.removeprefix("reserved-"))
    return {"reserved": reserved}
