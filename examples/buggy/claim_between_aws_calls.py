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
function's remaining time), after which a retry takes the claim over. ``buggy_async`` and
``fixed_async`` are the same handlers calling DynamoDB through aiobotocore's async client.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import fake_dynamodb
from async_durable_execution import RetryStrategy, durable_callable, durable_execution, step
from botocore.exceptions import ClientError
from fake_dynamodb import reset

__all__ = ["buggy", "buggy_async", "fixed", "fixed_async", "reset"]

RETRY = RetryStrategy(max_attempts=3, initial_delay=5)
TABLE = fake_dynamodb.client()


class BookingInProgress(Exception):
    """Another request for this order is in flight."""


#: How a body calls DynamoDB: ``await call("put_item", TableName=..., ...)``.
Call = Callable[..., Awaitable[dict[str, Any]]]


async def _booked(order_id: str, in_progress_for: float | None, call: Call) -> str:
    key = {"pk": {"S": f"booking-{order_id}"}}
    # The handler's clock, read in the step, and only where claims expire.
    now = time.time() if in_progress_for is not None else 0.0
    claim = {**key, "status": {"S": "INPROGRESS"}}
    if in_progress_for is not None:
        claim["expires"] = {"N": str(now + in_progress_for)}
    try:
        await call(
            "put_item",
            TableName="claims",
            Item=claim,
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        found = (await call("get_item", TableName="claims", Key=key))["Item"]
        if found["status"]["S"] == "COMPLETED":
            return str(found["booking"]["S"])
        expires = found.get("expires")
        if expires is None or now < float(expires["N"]):
            raise BookingInProgress(order_id) from None
        await call("put_item", TableName="claims", Item=claim)  # expired: taken over
    booking = f"shipment-{order_id}"
    await call("put_item", TableName="shipments", Item={"pk": {"S": booking}})
    await call(
        "put_item",
        TableName="claims",
        Item={**key, "status": {"S": "COMPLETED"}, "booking": {"S": booking}},
    )
    return booking


@durable_callable
async def book_once(order_id: str, in_progress_for: float | None) -> str:
    async def call(operation: str, **params: Any) -> dict[str, Any]:
        # boto3's call blocks until AWS answers: the body never waits between two of them.
        answer: dict[str, Any] = getattr(TABLE, operation)(**params)
        return answer

    return await _booked(order_id, in_progress_for, call)


@durable_callable
async def book_once_async(order_id: str, in_progress_for: float | None) -> str:
    async with fake_dynamodb.aio_client() as table:

        async def call(operation: str, **params: Any) -> dict[str, Any]:
            answer: dict[str, Any] = await getattr(table, operation)(**params)
            return answer

        return await _booked(order_id, in_progress_for, call)


@durable_execution
async def buggy(order: dict[str, Any]) -> str:
    # BUG: an INPROGRESS claim never expires
    return await step(book_once(order["id"], None), name="book", retry_strategy=RETRY)


@durable_execution
async def fixed(order: dict[str, Any]) -> str:
    return await step(book_once(order["id"], 2.0), name="book", retry_strategy=RETRY)


# The same bug with aiobotocore's async client (as aioboto3 code writes it): the body waits
# for each answer, and still dies between the claim and the booking only after a call.


@durable_execution
async def buggy_async(order: dict[str, Any]) -> str:
    # BUG: an INPROGRESS claim never expires
    return await step(book_once_async(order["id"], None), name="book", retry_strategy=RETRY)


@durable_execution
async def fixed_async(order: dict[str, Any]) -> str:
    return await step(book_once_async(order["id"], 2.0), name="book", retry_strategy=RETRY)
