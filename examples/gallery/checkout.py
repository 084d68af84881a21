"""Checkout: authorize the card, have a person approve large orders, then capture or void.

The order is ``{"id": "order-7", "customer": "ada", "lines": [{"sku": ..., "quantity": 2,
"unit_price": 1250}]}`` (prices in cents). Orders of 100.00 or more wait, up to twelve hours, for
an approver's answer ``{"approved": true}``; no answer (a failed or timed-out callback) is a
rejection. A rejected order's authorization is voided; an approved one is captured and the
customer gets one receipt. The void, the capture and the receipt are retried in rounds an
hour apart, for half a day, so that a payment partner's outage does not leave an
authorization held.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    RetryStrategy,
    durable_callable,
    durable_execution,
    get_step_context,
    get_wait_for_callback_context,
    step,
    wait_for_callback,
)

from gallery import services
from gallery.patience import until_done

APPROVAL_THRESHOLD = 100_00  # cents
APPROVAL_TIMEOUT = 12 * 3600  # seconds: well within the execution's own timeout (a day)


#: Transient errors are retried (the SDK's default policy); a declined card is final.
_TRANSIENT = RetryStrategy(max_attempts=6, initial_delay=2)


def retry_unless_declined(error: Exception, attempts_made: int) -> float | None:
    if isinstance(error, services.PaymentDeclined):
        return None
    return _TRANSIENT(error, attempts_made)


async def new_payment_key() -> str:
    return str(uuid.uuid4())  # drawn in a step: the same key on every replay


@durable_callable
async def authorize(customer: str, amount: int, key: str) -> str:
    return services.payments.authorize(customer, amount, idempotency_key=key)


@durable_callable
async def ask_approver(order_id: str) -> None:
    services.approvals.ask(order_id, get_wait_for_callback_context().callback_id)


@durable_callable
async def capture(authorization: str) -> dict[str, Any]:
    return services.payments.capture(authorization)


@durable_callable
async def void(authorization: str) -> None:
    services.payments.void(authorization)


@durable_callable
async def send_receipt(customer: str, order_id: str) -> None:
    # The step's operation id is the same on every attempt and replay: a stable key.
    key = get_step_context().operation_identifier.operation_id
    services.mailer.send(customer, f"Receipt for {order_id}", idempotency_key=key)


def order_total(order: dict[str, Any]) -> int:
    return sum(line["quantity"] * line["unit_price"] for line in order["lines"])


@durable_execution
async def checkout(order: dict[str, Any]) -> dict[str, Any]:
    total = order_total(order)
    key = await step(new_payment_key, name="payment-key")
    try:
        authorization = await step(
            authorize(order["customer"], total, key),
            name="authorize",
            retry_strategy=retry_unless_declined,
        )
    except CallableRuntimeError as error:
        reason = error.error_type
        return {"status": "declined", "order": order["id"], "total": total, "reason": reason}
    if total >= APPROVAL_THRESHOLD:
        try:
            answer = await wait_for_callback(
                ask_approver(order["id"]), name="approval", timeout=APPROVAL_TIMEOUT
            )
            decision = json.loads(answer) if answer else None
            approved = isinstance(decision, dict) and decision.get("approved") is True
        except CallbackError:
            approved = False  # nobody answered in time: do not take the money
        except CallableRuntimeError:
            approved = False  # the approver could not even be asked
        if not approved:
            await until_done(lambda: void(authorization), "void")
            return {"status": "rejected", "order": order["id"], "total": total}
    # Once the money's fate is decided, it must happen however long the partner is down
    # (``gallery/patience.py``).
    payment = await until_done(lambda: capture(authorization), "capture")
    await until_done(lambda: send_receipt(order["customer"], order["id"]), "receipt")
    return {"status": "paid", "order": order["id"], "total": total, "payment": payment}
