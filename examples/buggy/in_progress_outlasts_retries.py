"""Bug: Powertools' idempotency in a step whose retries all fall inside the window in which
an INPROGRESS record blocks them.

The step books a payment through an ``@idempotent_function`` whose records live in DynamoDB
(Powertools' own ``DynamoDBPersistenceLayer``): the record is written INPROGRESS before the
payment and COMPLETED with the result after it. If the sandbox dies between the two writes
(its memory limit, its host), the record stays INPROGRESS until its in-progress expiry, the
function's remaining time when it was written (Powertools reads it from the Lambda context
registered with ``register_lambda_context``: up to the function's timeout, 15 minutes here).
Every attempt before then is refused with ``IdempotencyAlreadyInProgressError``. The buggy
step retries twice, a second apart, all inside that window: the order fails and the payment
is never made. Powertools' writes are boto3 calls, which never wait: no crash at a wait or
at a checkpoint call falls between them, only ``aws_call_crash`` does. The fix retries for
longer than the function's timeout, so that an attempt comes after the record expires.
"""

from __future__ import annotations

from typing import Any

import fake_dynamodb
from async_durable_execution import (
    JitterStrategy,
    RetryStrategy,
    durable_execution,
    get_durable_context,
    step,
)
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

__all__ = ["buggy", "fixed", "reset"]

#: Payments as the provider books them: one per call.
PAYMENTS: list[str] = []

RECORDS = DynamoDBPersistenceLayer(
    table_name="idempotency", key_attr="pk", boto3_client=fake_dynamodb.client()
)
CONFIG = IdempotencyConfig(event_key_jmespath="payment_id")

#: Two retries a second apart: over long before a stuck INPROGRESS record expires.
SHORT = RetryStrategy(max_attempts=3, initial_delay=1, jitter_strategy=JitterStrategy.NONE)
#: Retries ten minutes apart: the third attempt comes after the function's timeout.
OUTLASTING = RetryStrategy(
    max_attempts=4,
    initial_delay=600,
    max_delay=600,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)


def reset() -> None:
    PAYMENTS.clear()
    fake_dynamodb.reset()


@idempotent_function(data_keyword_argument="payment", persistence_store=RECORDS, config=CONFIG)
def pay(payment: dict[str, Any]) -> dict[str, Any]:
    PAYMENTS.append(payment["payment_id"])
    return {"paid": payment["payment_id"], "cents": payment["cents"]}


async def _pay(payment: dict[str, Any]) -> dict[str, Any]:
    return pay(payment=payment)


async def _pay_order(order: dict[str, Any], retries: RetryStrategy) -> dict[str, Any]:
    # Powertools wants the context for the in-progress record's expiry: every invocation.
    CONFIG.register_lambda_context(get_durable_context().lambda_context)
    payment = {"payment_id": f"pay-{order['id']}", "cents": order["cents"]}
    return await step(lambda: _pay(payment), name="pay", retry_strategy=retries)


@durable_execution
async def buggy(order: dict[str, Any]) -> dict[str, Any]:
    # BUG: every retry comes before a stuck INPROGRESS record expires
    return await _pay_order(order, SHORT)


@durable_execution
async def fixed(order: dict[str, Any]) -> dict[str, Any]:
    return await _pay_order(order, OUTLASTING)
