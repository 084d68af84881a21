"""An order workflow: reserve stock, wait for approval (a callback), price it through a chained
invoke, charge, and ship after a wait."""

from __future__ import annotations

import json
from typing import Any

from async_durable_execution import (
    durable_callable,
    durable_execution,
    invoke,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
)


@durable_callable
async def reserve(order: dict[str, Any]) -> str:
    return f"reservation-{order['id']}"


@durable_callable
async def charge(order: dict[str, Any], price: int) -> dict[str, Any]:
    return {"order": order["id"], "charged": price}


@durable_callable
async def ship(order: dict[str, Any]) -> str:
    return f"shipped-{order['id']}"


@durable_execution
async def pricing_handler(event: dict[str, Any]) -> int:
    return int(await step(lambda: _price(event), name="price"))


async def _price(event: dict[str, Any]) -> int:
    return 10 * int(event.get("quantity", 1))


async def _submit() -> None:
    # In production this would e-mail an approver the callback id
    # (get_wait_for_callback_context().callback_id).
    return None


@durable_callable
async def approve_and_price(order: dict[str, Any]) -> dict[str, Any]:
    # Callback results arrive as the JSON text the approver sent.
    decision = json.loads(await wait_for_callback(_submit, name="approval") or "{}")
    price = await invoke("pricing", {"quantity": order["quantity"]}, name="price")
    return {"approved": bool((decision or {}).get("approved", True)), "price": price}


@durable_execution
async def order_workflow(order: dict[str, Any]) -> dict[str, Any]:
    reservation = await step(reserve(order), name="reserve")
    review = await run_in_child_context(approve_and_price(order), name="review")
    if not review["approved"]:
        return {"status": "rejected", "reservation": reservation}
    receipt = await step(charge(order, review["price"]), name="charge")
    await wait(3600, name="cool-off")
    tracking = await step(ship(order), name="ship")
    return {"status": "shipped", "receipt": receipt, "tracking": tracking}
