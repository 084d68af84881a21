"""A payment that looks unusual, with people in the loop and time limits on each of them.

First the customer is asked to confirm it ("was this you?") and has 30 seconds to answer
``{"confirmed": true/false}``. A customer who says no declines it at once. A customer who
does not answer in time (or whose answer never arrives) hands it to a fraud analyst, who has
an hour to answer ``{"approved": true/false}``; without an answer the payment is declined.
Each payment under review gets a case number (drawn once, in a step), and its decision is
recorded once in the audit log, however long the log is down (in rounds an hour apart); a
person who cannot be notified has not answered.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    durable_callable,
    durable_execution,
    get_wait_for_callback_context,
    step,
    wait_for_callback,
)

from gallery import services
from gallery.patience import until_done

CUSTOMER_TIMEOUT = 30  # seconds
ANALYST_TIMEOUT = 3600  # seconds


@durable_callable
async def notify(who: str, payment_id: str) -> None:
    services.approvals.ask(f"{who}:{payment_id}", get_wait_for_callback_context().callback_id)


@durable_callable
async def record(case: str, decision: str, by: str) -> str:
    services.mailer.send("audit@example.com", f"{case}: {decision} by {by}", idempotency_key=case)
    return decision


async def new_case() -> str:
    return f"case-{uuid.uuid4().hex[:8]}"


async def ask(who: str, payment_id: str, timeout: int) -> dict[str, Any] | None:
    """The person's answer, or ``None`` when it did not come in time."""
    try:
        answer = await wait_for_callback(notify(who, payment_id), name=who, timeout=timeout)
    except CallbackError:
        return None
    except CallableRuntimeError:
        return None  # the person could not even be asked (the notifier stayed down)
    decision = json.loads(answer) if answer else None
    return decision if isinstance(decision, dict) else {}


@durable_execution
async def review_payment(payment: dict[str, Any]) -> dict[str, Any]:
    payment_id = payment["id"]
    case = await step(new_case, name="case")
    customer = await ask("customer", payment_id, CUSTOMER_TIMEOUT)
    if customer is not None:
        decision = "approved" if customer.get("confirmed") is True else "declined"
        by = "customer"
    else:
        analyst = await ask("analyst", payment_id, ANALYST_TIMEOUT)
        if analyst is None:
            decision, by = "declined", "timeout"
        else:
            decision = "approved" if analyst.get("approved") is True else "declined"
            by = "analyst"
    # However long the audit log is down (``gallery/patience.py``): a decision is recorded.
    await until_done(lambda: record(case, decision, by), "record")
    return {"payment": payment_id, "case": case, "decision": decision, "by": by}
