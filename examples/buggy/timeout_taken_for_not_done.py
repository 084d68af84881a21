"""Bug: a write whose answer timed out is taken for one never done.

The step's body reserves the order's seat with a conditional ``PutItem`` (the seat's key,
``attribute_not_exists``): a conflict means the seat is taken, by this order's earlier
attempt or another order. When boto3 gives up on the answer (``ReadTimeoutError``, once its
own retries ran out), the buggy body reports the seat as not reserved and the order is
declined; but AWS may well have written the reservation, which now holds a seat for an order
that was declined. No crash reaches this: only a body that sees the error does
(``aws_call_timeout``). The fix lets the time-out out of the body: the step retries, and
the retry's conditional put finds the reservation made by this order and keeps it.
"""

from __future__ import annotations

from typing import Any

import fake_dynamodb
from async_durable_execution import RetryStrategy, durable_callable, durable_execution, step
from botocore.exceptions import BotoCoreError, ClientError
from fake_dynamodb import reset

__all__ = ["buggy", "fixed", "reset"]

RETRY = RetryStrategy(max_attempts=3, initial_delay=1)
TABLE = fake_dynamodb.client()


@durable_callable
async def reserve(order_id: str, seat: str, timeouts_are_refusals: bool) -> bool:
    key = {"pk": {"S": f"seat-{seat}"}}
    try:
        TABLE.put_item(
            TableName="seats",
            Item={**key, "order": {"S": order_id}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        holder = TABLE.get_item(TableName="seats", Key=key)["Item"]["order"]["S"]
        return holder == order_id  # taken: by this order's earlier attempt, or another's
    except BotoCoreError:
        if timeouts_are_refusals:
            return False  # BUG: the write may have been done
        raise
    return True


async def _order(order: dict[str, Any], timeouts_are_refusals: bool) -> dict[str, Any]:
    reserved = await step(
        reserve(order["id"], order["seat"], timeouts_are_refusals),
        name="reserve",
        retry_strategy=RETRY,
    )
    return {"order": order["id"], "status": "CONFIRMED" if reserved else "DECLINED"}


@durable_execution
async def buggy(order: dict[str, Any]) -> dict[str, Any]:
    return await _order(order, timeouts_are_refusals=True)


@durable_execution
async def fixed(order: dict[str, Any]) -> dict[str, Any]:
    return await _order(order, timeouts_are_refusals=False)


def seat_held_only_by_a_confirmed_order(outcome: Any) -> None:
    """The workflow's promise: a declined order holds no seat."""
    held = {item["order"]["S"] for item in fake_dynamodb.TABLES.get("seats", {}).values()}
    value = outcome.value or {}
    if value.get("status") == "DECLINED":
        assert value["order"] not in held, f"order {value['order']} was declined but holds a seat"
