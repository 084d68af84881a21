"""Correct handlers built on the SDK's declarative workflows: ``flow()`` over a
``@durable_dag`` of ``@durable_node``s.

A flow runs each node in a child context of its own, starts a node once its dependencies
settle (``a | b``: whichever succeeds first; ``.completed``: success or failure), records
failed nodes instead of failing at once, and carries the SDK's control errors (a failed or
timed-out callback's ``CallbackError``) out of its contexts without checkpointing them.
These handlers draw ids and random numbers in their steps, race a slow branch against a
fast one, wait, retry and take a callback: every one is correct durable code, so no oracle
may flag any of them under any fault plan or timing (``tests/harness/test_flow_corpus.py``
runs them at CI size; ``DURABLE_FLOW_EXAMPLES=300`` runs the campaign).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from async_durable_execution import (
    JitterStrategy,
    RetryStrategy,
    create_callback,
    durable_callable,
    durable_dag,
    durable_execution,
    durable_node,
    flow,
    node,
    step,
    wait,
)

#: Three attempts, two seconds apart: a declined charge is final after them.
CHARGE_RETRIES = RetryStrategy(
    max_attempts=3, initial_delay=2, backoff_rate=1, jitter_strategy=JitterStrategy.NONE
)


# --- an order: load, then pay after a cooling-off wait; a declined payment is handled ------


@durable_callable
async def _load_stock(item: str) -> dict[str, Any]:
    return {"item": item, "stock": random.randint(0, 10), "ref": str(uuid.uuid4())}


@durable_callable
async def _charge(amount: int) -> str:
    if amount > 100:
        msg = f"card declined for {amount}"
        raise ValueError(msg)
    return f"receipt-{uuid.uuid4().hex[:8]}"


@durable_node
async def load(item: str) -> dict[str, Any]:
    return await step(_load_stock(item), name="load-stock")


@durable_node
async def pay(stock: dict[str, Any], amount: int) -> str:
    await wait(60, name="cooling-off")
    receipt: str = await step(_charge(amount), name="charge", retry_strategy=CHARGE_RETRIES)
    return receipt


@durable_node
async def explain(error: Any) -> str:
    return f"not charged: {getattr(error, 'message', error)}"


@durable_dag
def order(item: str, amount: int) -> Any:
    loaded = node(load(item), name="load")
    paid = node(pay(loaded.outcome, amount), name="pay")
    declined = node(explain(paid.error), name="declined")
    return paid.result, declined.result


@durable_execution
async def order_flow(event: dict[str, Any]) -> dict[str, str]:
    """Pays for an order; a declined card routes to the ``declined`` node instead."""
    result = await flow(order(event["item"], event["amount"]), name="order")
    paid, declined = result.outputs
    return {"pay": paid.status.value, "declined": declined.status.value}


# --- sourcing: the first of two vendors to quote wins, then a person audits the pick -------


@durable_callable
async def _quote(vendor: str) -> dict[str, Any]:
    if vendor == "slow" and random.random() < 0.5:
        msg = f"vendor {vendor} is busy"
        raise RuntimeError(msg)
    return {"vendor": vendor, "price": random.randint(10, 99), "quote": uuid.uuid4().hex}


@durable_node
async def ask(vendor: str) -> dict[str, Any]:
    if vendor == "slow":
        await wait(30, name="slow-vendor")
    return await step(_quote(vendor), name=f"quote-{vendor}")


@durable_callable
async def _pick() -> str:
    return f"pick-{uuid.uuid4().hex[:6]}"


@durable_node
async def pick() -> str:
    return await step(_pick(), name="pick")


@durable_node
async def audit() -> Any:
    callback = await create_callback(name="audit", timeout=120)
    return await callback.result()


@durable_dag
def sourcing() -> Any:
    fast = node(ask("fast"), name="fast")
    slow = node(ask("slow"), name="slow")
    chosen = node(pick(), name="pick", dependency=fast | slow)
    audited = node(audit(), name="audit", dependency=chosen.completed)
    return chosen.result, audited.result


@durable_execution
async def sourcing_flow(_event: Any) -> list[str]:
    """A callback failure or time-out in ``audit`` fails the execution (a control error)."""
    result = await flow(sourcing(), name="sourcing")
    return [output.status.value for output in result.outputs]


CORPUS: dict[str, dict[str, Any]] = {
    "order_flow_paid": {"handler": order_flow, "input": {"item": "lamp", "amount": 40}},
    "order_flow_declined": {"handler": order_flow, "input": {"item": "sofa", "amount": 900}},
    "sourcing_flow": {"handler": sourcing_flow, "callbacks": {"audit": "approved"}},
}
