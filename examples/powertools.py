"""Correct durable handlers built on Powertools for AWS Lambda (Python), the library most
Lambda code in Python leans on, used as its documentation shows (the session-30 audit P).

- ``observed_order``: Logger's ``inject_lambda_context`` (logging the event Lambda sent,
  the execution's ARN as the correlation id) and Metrics' ``log_metrics`` (with the
  cold-start metric) above ``@durable_execution``; keys appended per execution, logs and
  metrics in steps and between them, a ``single_metric`` outside every step;
- ``idempotent_charge``: a payment booked by an ``@idempotent_function`` (its idempotency
  key from the payment id, the Lambda context registered for the in-progress expiry)
  inside a retried step, then the ledger read in another;
- ``idempotent_charge_in_dynamodb``: the same charge with its records in DynamoDB through
  Powertools' own ``DynamoDBPersistenceLayer`` (over ``fake_dynamodb``'s table), retried ten
  minutes apart, so that an attempt comes after a record a dead sandbox left INPROGRESS
  expires (``examples/buggy/in_progress_outlasts_retries.py`` is the twin that retries too
  soon);
- ``idempotent_refunds``: the same idempotent function over a ``map`` of refunds, each item
  its own step, after an hour's wait;
- ``parsed_order``: the input validated into pydantic models (a pure function of the
  input, so outside a step), step results dumped to JSON and validated back into models
  (pydantic directly, not through Powertools' Parser, whose lazily imported models
  pydantic cannot build while freezegun patches ``datetime``: a freezegun test anywhere
  after the Parser's import fails, as ``tests/harness/test_tooling_corpus.py``'s did);
- ``parameters_across_waits``: parameters read through a ``BaseProvider`` with a five
  minute ``max_age``, in steps before and after an hour's wait (the cache expires on the
  handler's clock), ``get_multiple`` by path;
- ``sqs_batch_in_a_step``: Batch's ``process_partial_response`` over an SQS batch carried in
  the input, one poison message reported in ``batchItemFailures``, shipments booked by a
  conditional put;
- ``envelopes_and_data_classes``: JMESPath ``query`` with the EventBridge envelope and the
  ``EventBridgeEvent`` data class, in and around steps;
- ``metrics_in_map``: metrics and logs from every item of a ``map`` with dimensions set by
  default, flushed by ``log_metrics`` at each invocation's end.

Logger and Metrics keep their keys, metrics and cold-start flag in module state, as on
Lambda; the service's tables live in ``powertools_services`` (a cold sandbox does not
re-import it), reset by each entry's ``before_run``.
"""

from __future__ import annotations

import datetime as _dt
import os
from decimal import Decimal
from typing import Any

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "shop")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Shop")

import fake_dynamodb
import powertools_services as services
from async_durable_execution import (
    JitterStrategy,
    RetryStrategy,
    durable_execution,
    get_durable_context,
    step,
    wait,
)
from async_durable_execution import map as durable_map
from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.jmespath_utils import envelopes, query
from pydantic import BaseModel, Field

logger = Logger()
metrics = Metrics()

#: Retried steps: three attempts a second apart (a transient failure does not fail them).
RETRIED = RetryStrategy(max_attempts=3, initial_delay=1, backoff_rate=1)


def _lambda_context() -> Any:
    """The Lambda context of the invocation that runs now (outside a step)."""
    return get_durable_context().lambda_context


# --- Logger and Metrics above the durable handler ------------------------------------------


async def _reserve(order_id: str, skus: list[str]) -> dict[str, Any]:
    logger.info("reserving", extra={"skus": skus})
    metrics.add_metric(name="ItemsReserved", unit=MetricUnit.Count, value=len(skus))
    return {"order_id": order_id, "reserved": sorted(skus)}


async def _invoice(order_id: str, cents: int) -> dict[str, Any]:
    logger.info("invoicing", extra={"cents": cents})
    metrics.add_metric(name="Revenue", unit=MetricUnit.NoUnit, value=cents / 100)
    return {"order_id": order_id, "invoice": f"inv-{order_id}", "cents": cents}


@logger.inject_lambda_context(
    log_event=True, correlation_id_path="DurableExecutionArn", clear_state=True
)
@metrics.log_metrics(capture_cold_start_metric=True)
@durable_execution
async def observed_order(event: dict[str, Any]) -> dict[str, Any]:
    """Keys appended each invocation, logs and metrics in steps and outside them."""
    order_id = event["order_id"]
    logger.append_keys(order_id=order_id)
    # Counted on every invocation, replays included: what the dashboard calls "resumed".
    metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
    reserved = await step(lambda: _reserve(order_id, event["skus"]), name="reserve")
    await wait(15 * 60, name="hold-window")
    with single_metric(name="HoldsEnded", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="channel", value=event.get("channel", "web"))
    invoice = await step(lambda: _invoice(order_id, event["cents"]), name="invoice")
    logger.info("order complete")
    return {"reserved": reserved["reserved"], "invoice": invoice["invoice"]}


# --- Idempotency inside steps ----------------------------------------------------------------

PAYMENTS = IdempotencyConfig(event_key_jmespath="payment_id", expires_after_seconds=24 * 3600)


@idempotent_function(
    data_keyword_argument="payment",
    persistence_store=services.IdempotencyTable(),
    config=PAYMENTS,
)
def charge(payment: dict[str, Any]) -> dict[str, Any]:
    """Books the payment once per payment id, whoever calls and however often."""
    return services.book_charge(payment["payment_id"], payment["cents"])


async def _charge(payment: dict[str, Any]) -> dict[str, Any]:
    return charge(payment=payment)


async def _charges_for(payment_id: str) -> int:
    return services.charges_for(payment_id)


@durable_execution
async def idempotent_charge(event: dict[str, Any]) -> dict[str, Any]:
    """A charge made idempotent by Powertools, in a step that retries."""
    # Powertools wants the context for the in-progress record's expiry: every invocation.
    PAYMENTS.register_lambda_context(_lambda_context())
    payment = {"payment_id": event["payment_id"], "cents": event["cents"]}
    booked = await step(lambda: _charge(payment), name="charge", retry_strategy=RETRIED)
    await wait(60, name="settle")
    charges = await step(lambda: _charges_for(payment["payment_id"]), name="ledger")
    return {"charge": booked["charge"], "charges": charges}


async def _refund(refund: dict[str, Any]) -> dict[str, Any]:
    return charge(payment={"payment_id": refund["refund_id"], "cents": -refund["cents"]})


@durable_execution
async def idempotent_refunds(event: dict[str, Any]) -> dict[str, Any]:
    """Refunds as idempotent negative charges, one step per item of a ``map``."""
    PAYMENTS.register_lambda_context(_lambda_context())
    await wait(3600, name="cooling-off")

    async def refund_one(refund: dict[str, Any]) -> str:
        booked = await step(lambda: _refund(refund), name=f"refund-{refund['refund_id']}")
        return str(booked["charge"])

    result = await durable_map(refund_one, event["refunds"], name="refunds")
    charges = await step(
        lambda: _ledger_for([r["refund_id"] for r in event["refunds"]]), name="ledger"
    )
    return {"refunds": result.get_results(), "charges": charges}


async def _ledger_for(ids: list[str]) -> dict[str, int]:
    return {payment_id: services.charges_for(payment_id) for payment_id in ids}


# --- Idempotency records in DynamoDB, retried past a stuck record -----------------------------

#: Powertools' own DynamoDB persistence layer, over a table in memory behind a real boto3
#: client: its record writes are boto3 calls, between which a sandbox can die
#: (``aws_call_crash``), leaving the record INPROGRESS until its in-progress expiry.
RECORDS = DynamoDBPersistenceLayer(
    table_name="idempotency", key_attr="pk", boto3_client=fake_dynamodb.client()
)
RECORDED_PAYMENTS = IdempotencyConfig(
    event_key_jmespath="payment_id", expires_after_seconds=24 * 3600
)
#: Retries ten minutes apart: one comes after the function's timeout (15 minutes), the
#: longest a dead sandbox's INPROGRESS record refuses them.
PAST_THE_TIMEOUT = RetryStrategy(
    max_attempts=4,
    initial_delay=600,
    max_delay=600,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)


@idempotent_function(
    data_keyword_argument="payment", persistence_store=RECORDS, config=RECORDED_PAYMENTS
)
def charge_recorded(payment: dict[str, Any]) -> dict[str, Any]:
    return services.book_charge(payment["payment_id"], payment["cents"])


async def _charge_recorded(payment: dict[str, Any]) -> dict[str, Any]:
    return charge_recorded(payment=payment)


@durable_execution
async def idempotent_charge_in_dynamodb(event: dict[str, Any]) -> dict[str, Any]:
    """The charge with its idempotency records in DynamoDB, retried for longer than a record
    a dead sandbox left INPROGRESS can refuse it."""
    RECORDED_PAYMENTS.register_lambda_context(_lambda_context())
    payment = {"payment_id": event["payment_id"], "cents": event["cents"]}
    booked = await step(
        lambda: _charge_recorded(payment), name="charge", retry_strategy=PAST_THE_TIMEOUT
    )
    charges = await step(lambda: _charges_for(payment["payment_id"]), name="ledger")
    return {"charge": booked["charge"], "charges": charges}


def reset_with_records() -> None:
    """Every fake service, and the idempotency records' table."""
    services.reset()
    fake_dynamodb.reset()


# --- pydantic models -----------------------------------------------------------------------


class Line(BaseModel):
    sku: str
    quantity: int = Field(gt=0)
    unit_price: Decimal


class Order(BaseModel):
    order_id: str
    placed_at: _dt.datetime
    lines: list[Line]
    coupon: str | None = None


class Priced(BaseModel):
    order_id: str
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    priced_at: _dt.datetime


async def _price(order: Order) -> dict[str, Any]:
    subtotal = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
    discount = Decimal(0)
    if order.coupon:
        discount = (subtotal * Decimal("0.10")).quantize(Decimal("0.01"))
    priced = Priced(
        order_id=order.order_id,
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        priced_at=order.placed_at,
    )
    return priced.model_dump(mode="json")


async def _confirm(priced: Priced) -> dict[str, Any]:
    return {"order_id": priced.order_id, "charged": str(priced.total)}


@durable_execution
async def parsed_order(event: dict[str, Any]) -> dict[str, Any]:
    """The input parsed into models (outside steps: a pure function of the input)."""
    order = Order.model_validate(event)
    priced = Priced.model_validate(await step(lambda: _price(order), name="price"))
    await wait(600, name="fraud-review")
    confirmed = await step(lambda: _confirm(priced), name="confirm")
    return {"total": str(priced.total), "lines": len(order.lines), **confirmed}


# --- Parameters ------------------------------------------------------------------------------

STORE = services.ParameterStore()


async def _threshold() -> int:
    return int(STORE.get("/shop/fraud-threshold", max_age=300))


async def _routes() -> dict[str, str]:
    routes: dict[str, str] = STORE.get_multiple("/shop/routes", max_age=300)
    return dict(sorted(routes.items()))


async def _carrier() -> str:
    return str(STORE.get("/shop/carrier", max_age=300))


@durable_execution
async def parameters_across_waits(event: dict[str, Any]) -> dict[str, Any]:
    """Parameters cached for five minutes, read in steps on both sides of an hour's wait."""
    threshold = await step(_threshold, name="threshold")
    routes = await step(_routes, name="routes")
    await wait(3600, name="batch-window")
    carrier = await step(_carrier, name="carrier")
    threshold_again = await step(_threshold, name="threshold-again")
    return {
        "review": event["cents"] > threshold,
        "routes": routes,
        "carrier": carrier,
        "same_threshold": threshold == threshold_again,
    }


# --- Batch -----------------------------------------------------------------------------------


def _ship_record(record: SQSRecord) -> dict[str, Any]:
    body = record.json_body
    return services.ship(record.message_id, body["sku"], body["quantity"])


async def _ship_batch(batch: dict[str, Any]) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS)
    response: dict[str, Any] = process_partial_response(
        event=batch, record_handler=_ship_record, processor=processor
    )
    return response


@durable_execution
async def sqs_batch_in_a_step(event: dict[str, Any]) -> dict[str, Any]:
    """A batch shipped in one step; the poison message reported, the rest booked once."""
    response = await step(lambda: _ship_batch(event["batch"]), name="ship-batch")
    await wait(30, name="carrier-pickup")
    failed = sorted(item["itemIdentifier"] for item in response["batchItemFailures"])
    return {"failed": failed, "shipped": len(event["batch"]["Records"]) - len(failed)}


def _sqs_message(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1767225600000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1767225600001",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:shipments",
        "awsRegion": "us-east-1",
    }


SQS_BATCH = {
    "Records": [
        _sqs_message("m-1", '{"sku": "sku-1", "quantity": 2}'),
        _sqs_message("m-2", '{"sku": "sku-2", "quantity": 0}'),
        _sqs_message("m-3", '{"sku": "sku-3", "quantity": 1}'),
    ]
}


# --- Envelopes and data classes --------------------------------------------------------------


async def _route(detail: dict[str, Any], source: str) -> dict[str, Any]:
    region = "eu" if detail["country"] in {"DE", "FR", "IE"} else "us"
    return {"customer": detail["customer_id"], "region": region, "source": source}


@durable_execution
async def envelopes_and_data_classes(event: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event read through JMESPath and the data class (pure, outside steps)."""
    detail = query(data=event, envelope=envelopes.EVENTBRIDGE)
    wrapped = EventBridgeEvent(event)
    routed = await step(lambda: _route(detail, wrapped.source), name="route")
    await wait(5, name="debounce")
    return {**routed, "detail_type": wrapped.detail_type, "at": wrapped.time}


EVENTBRIDGE_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "CustomerSignedUp",
    "source": "shop.accounts",
    "account": "123456789012",
    "time": "2026-12-05T10:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"customer_id": "c-42", "country": "DE"},
}


# --- Metrics from map items ------------------------------------------------------------------


async def _pack(sku: str, quantity: int) -> dict[str, Any]:
    logger.info("packing", extra={"sku": sku})
    metrics.add_metric(name="Packed", unit=MetricUnit.Count, value=quantity)
    return {"sku": sku, "boxes": (quantity + 3) // 4}


@metrics.log_metrics
@durable_execution
async def metrics_in_map(event: dict[str, Any]) -> dict[str, Any]:
    """Every item of a ``map`` adds a metric; ``log_metrics`` flushes at each invocation's
    end (the default dimensions set again on each, as the decorator clears them)."""
    metrics.set_default_dimensions(warehouse=event["warehouse"])
    metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)

    async def pack(line: dict[str, Any]) -> dict[str, Any]:
        packed: dict[str, Any] = await step(
            lambda: _pack(line["sku"], line["quantity"]), name=f"pack-{line['sku']}"
        )
        return packed

    packed = await durable_map(pack, event["lines"], name="pack")
    await wait(120, name="pickup")
    return {"boxes": sum(p["boxes"] for p in packed.get_results())}


CORPUS: dict[str, dict[str, Any]] = {
    "observed_order": {
        "handler": observed_order,
        "input": {"order_id": "o-7", "skus": ["sku-2", "sku-1"], "cents": 12_500},
        "before_run": services.reset,
    },
    "idempotent_charge": {
        "handler": idempotent_charge,
        "input": {"payment_id": "pay-9", "cents": 4_200},
        "before_run": services.reset,
    },
    "idempotent_charge_in_dynamodb": {
        "handler": idempotent_charge_in_dynamodb,
        "input": {"payment_id": "pay-12", "cents": 990},
        "before_run": reset_with_records,
    },
    "idempotent_refunds": {
        "handler": idempotent_refunds,
        "input": {
            "refunds": [
                {"refund_id": "rf-1", "cents": 500},
                {"refund_id": "rf-2", "cents": 750},
                {"refund_id": "rf-3", "cents": 125},
            ]
        },
        "before_run": services.reset,
    },
    "parsed_order": {
        "handler": parsed_order,
        "input": {
            "order_id": "o-11",
            "placed_at": "2026-12-05T09:30:00+00:00",
            "lines": [
                {"sku": "sku-1", "quantity": 2, "unit_price": "19.99"},
                {"sku": "sku-2", "quantity": 1, "unit_price": "5.00"},
            ],
            "coupon": "WELCOME",
        },
    },
    "parameters_across_waits": {
        "handler": parameters_across_waits,
        "input": {"cents": 7_500},
        "before_run": services.reset,
    },
    "sqs_batch_in_a_step": {
        "handler": sqs_batch_in_a_step,
        "input": {"batch": SQS_BATCH},
        "before_run": services.reset,
    },
    "envelopes_and_data_classes": {
        "handler": envelopes_and_data_classes,
        "input": EVENTBRIDGE_EVENT,
    },
    "metrics_in_map": {
        "handler": metrics_in_map,
        "input": {
            "warehouse": "dub-1",
            "lines": [{"sku": f"sku-{i}", "quantity": i + 1} for i in range(6)],
        },
    },
}
