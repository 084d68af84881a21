"""Bug: a compensation that calls the partner whose outage it compensates for.

The order holds stock, then charges the card through a payment gateway. When the charge
fails for good, it releases the stock: a saga's compensation. Both the charge and the release
go through the same gateway (the warehouse sits behind it), and both retry three times, a
second apart. When the gateway is down for ten seconds, the charge uses up its budget, the
release runs at once, into the same outage, uses up its own, and the order fails holding
stock nobody paid for. One failing step, or a burst on one step, never shows it: the charge's
failure is handled and the release succeeds. Two independent bursts, one on each step, would:
a search drawing step exceptions only found them within 300 examples for five seeds in ten
(after 12 to 297). One outage that spans both steps is the fault as it happens, found within
10 examples for each of those seeds. The fix makes the
compensation outlast any outage: it waits durably between rounds of tries instead of
failing the order.

Another design is sound when one partner is down at a time: ``released_at_the_warehouse``
releases the stock at the warehouse, not through the gateway. An outage of every step at
once (``outage`` without ``steps``) still fails its release; an outage of one partner
(``fault_plans(partners=PARTNERS)``) never does.
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

from buggy.fakes import CHARGES, HELD, reset

__all__ = [
    "PARTNERS",
    "buggy",
    "fixed",
    "no_stock_held_unpaid",
    "released_at_the_warehouse",
    "reset",
]

THREE_QUICK_TRIES = RetryStrategy(
    max_attempts=3,
    initial_delay=1,
    max_delay=1,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)


@durable_callable
async def hold_stock(order_id: str) -> str:
    HELD[order_id] = 1
    return f"hold-{order_id}"


@durable_callable
async def charge(order_id: str) -> str:
    CHARGES[order_id] += 1
    return f"charge-{order_id}"


@durable_callable
async def release_stock(order_id: str) -> None:
    HELD.pop(order_id, None)


@durable_execution
async def buggy(order: dict[str, Any]) -> dict[str, Any]:
    order_id = order["id"]
    await step(hold_stock(order_id), name="hold", retry_strategy=THREE_QUICK_TRIES)
    try:
        receipt = await step(charge(order_id), name="charge", retry_strategy=THREE_QUICK_TRIES)
    except CallableRuntimeError:
        # BUG: the release goes through the gateway that just failed, straight away.
        await step(release_stock(order_id), name="release", retry_strategy=THREE_QUICK_TRIES)
        return {"order": order_id, "status": "declined"}
    return {"order": order_id, "status": "paid", "receipt": receipt}


@durable_execution
async def fixed(order: dict[str, Any]) -> dict[str, Any]:
    order_id = order["id"]
    await step(hold_stock(order_id), name="hold", retry_strategy=THREE_QUICK_TRIES)
    try:
        receipt = await step(charge(order_id), name="charge", retry_strategy=THREE_QUICK_TRIES)
    except CallableRuntimeError:
        # Rounds of quick tries an hour apart (a wait costs nothing while it waits), for a
        # day: longer than the gateway's outages last.
        for round_ in range(24):
            try:
                await step(
                    release_stock(order_id),
                    name=f"release-{round_}",
                    retry_strategy=THREE_QUICK_TRIES,
                )
                break
            except CallableRuntimeError:
                await wait(3600, name=f"gateway-down-{round_}")
        return {"order": order_id, "status": "declined"}
    return {"order": order_id, "status": "paid", "receipt": receipt}


#: Which partner each step calls, by step name (``fault_plans(partners=...)``) in
#: ``released_at_the_warehouse``.
PARTNERS = {"gateway": ["gateway-*"], "warehouse": ["warehouse-*"]}


@durable_execution
async def released_at_the_warehouse(order: dict[str, Any]) -> dict[str, Any]:
    order_id = order["id"]
    await step(hold_stock(order_id), name="warehouse-hold", retry_strategy=THREE_QUICK_TRIES)
    try:
        receipt = await step(
            charge(order_id), name="gateway-charge", retry_strategy=THREE_QUICK_TRIES
        )
    except CallableRuntimeError:
        # The warehouse, not the gateway that failed, releases what it holds.
        await step(
            release_stock(order_id), name="warehouse-release", retry_strategy=THREE_QUICK_TRIES
        )
        return {"order": order_id, "status": "declined"}
    return {"order": order_id, "status": "paid", "receipt": receipt}


def no_stock_held_unpaid(outcome: Any) -> None:
    """The workflow's promise, once it has ended: stock it holds is stock paid for."""
    order_id = outcome.scenario.input["id"]
    assert not (HELD[order_id] and not CHARGES[order_id]), (
        f"order {order_id!r} ended holding stock it never paid for"
    )
