"""Bug: an idempotency record left INPROGRESS by a sandbox that died mid-request blocks every
retry.

The step's body marks its key INPROGRESS, sends the charge, then stores the receipt under the
key; a re-run of the body finds the key and answers with the stored receipt, or refuses while
the record is INPROGRESS ("another request is in flight"). If the sandbox dies while the
charge is on the wire (its memory limit, its host), the record stays INPROGRESS for good:
every retry is refused and the order fails. Only a crash inside the body reaches that state
(``body_crash``): at a checkpoint call the body has already completed the record. The fix
gives an INPROGRESS record an expiry (as Powertools' idempotency does, from the function's
remaining time), after which a retry takes the record over.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from async_durable_execution import RetryStrategy, durable_execution, step

from buggy.fakes import CHARGES, IDEMPOTENCY, SEEN_KEYS, reset

__all__ = ["buggy", "fixed", "reset"]

RETRY = RetryStrategy(max_attempts=3, initial_delay=5)


class PaymentInProgress(Exception):
    """Another request with this key is in flight."""


async def _send_charge(order_id: str, key: str) -> str:
    """The payment service, idempotent on ``key``; the request and its answer take a while."""
    await asyncio.sleep(0)  # the request travels
    if key not in SEEN_KEYS:
        SEEN_KEYS.add(key)
        CHARGES[order_id] += 1
    await asyncio.sleep(0)  # the answer travels back
    return f"receipt-{order_id}"


async def _charge_once(order_id: str, in_progress_for: float | None) -> Any:
    key = f"charge-{order_id}"
    # The handler's clock, read in the step, and only where records expire.
    now = time.time() if in_progress_for is not None else 0.0
    record = IDEMPOTENCY.get(key)
    if record is not None:
        status, expires, receipt = record
        if status == "COMPLETED":
            return receipt
        if expires is None or now < expires:
            raise PaymentInProgress(key)
    expiry = None if in_progress_for is None else now + in_progress_for
    IDEMPOTENCY[key] = ("INPROGRESS", expiry, None)
    receipt = await _send_charge(order_id, key)
    IDEMPOTENCY[key] = ("COMPLETED", None, receipt)
    return receipt


@durable_execution
async def buggy(order: dict[str, Any]) -> str:
    # BUG: an INPROGRESS record never expires
    return await step(lambda: _charge_once(order["id"], None), name="charge", retry_strategy=RETRY)


@durable_execution
async def fixed(order: dict[str, Any]) -> str:
    return await step(lambda: _charge_once(order["id"], 2.0), name="charge", retry_strategy=RETRY)
