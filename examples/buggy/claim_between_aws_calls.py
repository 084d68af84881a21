"""Bug: a claim written to DynamoDB before the request it guards blocks every retry once a
sandbox dies between the two calls.

The step's body claims the order's key in a table with a conditional ``PutItem``
(INPROGRESS), books the shipment with a second call, then marks the claim COMPLETED with the
booking. A re-run of the body finds the claim: it answers with the booking, or refuses while
the claim is INPROGRESS ("another request is in flight"). boto3's calls are synchronous: the
body never waits between them, so neither a crash at a checkpoint call (before the body or
after it) nor one at a wait of the body (``body_crash``) falls between the claim and the
booking. A sandbox can die there all the same (its memory limit, its host): the claim stays
INPROGRESS for good, every retry is refused and the order fails. Only ``aws_call_crash``
reaches it. The fix gives the claim an expiry (as Powertools' idempotency does, from the
function's remaining time), after which a retry takes the claim over.
"""

from __future__ import annotations

import time
from typing import Any

import fake_dynamodb
from async_durable_execution import RetryStrategy, durable_callable, durable_execution, step
from botocore.exceptions import ClientError
from fake_dynamodb import reset

__all__ = ["buggy", "fixed", "reset"]

RETRY = RetryStrategy(max_attempts=3, initial_delay=5)
TABLE = fake_dynamodb.client()


class BookingInProgress(Exception):
    """Another request for this order is in flight."""


@durable_callable
async def book_once(order_id: str, in_progress_for: float | None) -> str:
    key = {"pk": {"S": f"booking-{order_id}"}}
    # The handler's clock, read in the step, and only where claims expire.
    now = time.time() if in_progress_for is not None else 0.0
    claim = {**key, "status": {"S": "INPROGRESS"}}
    if in_progress_for is not None:
        claim["expires"] = {"N": str(now + in_progress_for)}
    try:
        TABLE.put_item(
            TableName="claims", Item=claim, ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        found = TABLE.get_item(TableName="claims", Key=key)["Item"]
        if found["status"]["S"] == "COMPLETED":
            return str(found["booking"]["S"])
        expires = found.get("expires")
        if expires is None or now < float(expires["N"]):
            raise BookingInProgress(order_id) from None
        TABLE.put_item(TableName="claims", Item=claim)  # expired: this attempt takes it over
    booking = f"shipment-{order_id}"
    TABLE.put_item(TableName="shipments", Item={"pk": {"S": booking}})
    TABLE.put_item(
        TableName="claims", Item={**key, "status": {"S": "COMPLETED"}, "booking": {"S": booking}}
    )
    return booking


@durable_execution
async def buggy(order: dict[str, Any]) -> str:
    # BUG: an INPROGRESS claim never expires
    return await step(book_once(order["id"], None), name="book", retry_strategy=RETRY)


@durable_execution
async def fixed(order: dict[str, Any]) -> str:
    return await step(book_once(order["id"], 2.0), name="book", retry_strategy=RETRY)
