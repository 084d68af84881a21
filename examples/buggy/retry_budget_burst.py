"""Bug: a retry budget no longer than the partner's outages.

Booking the shipment calls a carrier whose API has short outages. The step retries three
times, a second apart, and then lets the order fail: three failures in a row, an outage of
two seconds, lose an order that was paid for. A single failure, or two, never shows it, so
plans of independent faults miss it; one burst of three finds it. The fix keeps the short
budget (a customer is waiting) but does not let its exhaustion end the order: it waits out
the outage durably and books again, and parks the order for a person if that fails too.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    JitterStrategy,
    RetryStrategy,
    durable_callable,
    durable_execution,
    step,
    wait,
)

from buggy.fakes import BOOKINGS, reset

__all__ = ["buggy", "fixed", "reset"]

THREE_QUICK_TRIES = RetryStrategy(
    max_attempts=3,
    initial_delay=1,
    max_delay=1,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)


@durable_callable
async def book_shipment(order_id: str) -> str:
    BOOKINGS[order_id] += 1
    return f"shipment-{order_id}"


@durable_execution
async def buggy(order: dict[str, Any]) -> dict[str, Any]:
    # BUG: when the carrier is down for three attempts in a row, the order fails.
    shipment = await step(book_shipment(order["id"]), name="book", retry_strategy=THREE_QUICK_TRIES)
    return {"order": order["id"], "shipment": shipment}


@durable_execution
async def fixed(order: dict[str, Any]) -> dict[str, Any]:
    try:
        shipment = await step(
            book_shipment(order["id"]), name="book", retry_strategy=THREE_QUICK_TRIES
        )
    except CallableRuntimeError:
        await wait(600, name="carrier-outage")  # durable: costs nothing while it waits
        try:
            shipment = await step(
                book_shipment(order["id"]), name="book-again", retry_strategy=THREE_QUICK_TRIES
            )
        except CallableRuntimeError:
            return {"order": order["id"], "status": "parked for manual booking"}
    return {"order": order["id"], "shipment": shipment}
