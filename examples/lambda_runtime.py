"""Correct handlers that lean on the Lambda runtime's conventions and on the shapes of its
event sources, as code ported from ordinary Lambda functions does (the session-24 false-flag
audit J).

- the Lambda context object: with ``@durable_execution`` (2.5) the handler receives the event
  only, and reaches the context through the durable context (``get_durable_context().
  lambda_context``, ``get_step_context().lambda_context`` in a step): its ``aws_request_id``
  in structured log lines (outside steps), recorded by a step as the request that did the
  work, and read outside steps into metadata that steps stamp on the records they store;
  ``function_name``, ``invoked_function_arn`` (the region and account parsed from it),
  ``function_version`` and ``memory_limit_in_mb`` deciding a name and a batch size outside
  steps; ``get_remaining_time_in_millis()`` sizing a batch inside a step and logged outside;
- the runtime's environment variables read with a fallback (``AWS_REGION`` or the region in
  the invoked ARN, ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` or the context's memory, the
  per-invocation ``_X_AMZN_TRACE_ID`` for the logs only);
- event sources: an SQS batch mapped per record with a partial-batch response
  (``{"batchItemFailures": [...]}``) for a malformed body and a refused order; an API
  Gateway proxy event (a correlation id from the headers, a JSON string body, an idempotency
  key derived from the event and claimed by the execution, a ``statusCode``/``headers``/
  ``body`` response); an EventBridge event's ``detail`` with a wait until its ``time``
  plus a minute; S3 notifications whose keys are URL-encoded (``+`` for a space, ``%C3%A9``),
  each object in a child context; DynamoDB stream records with typed attribute values
  (``S``, ``N``, ``BOOL``, ``NULL``, ``L``, ``M``, ``SS``) turned into plain values, INSERT,
  MODIFY and REMOVE in a ``parallel`` of child contexts;
- results near the edges: a JSON string, a number, a list, ``None``, unicode text with a
  line separator, and an API response of about 1.2 MB built outside steps from small step
  results.

Why these are correct: the context's function name, ARN, version and memory are the same on
every invocation of a function, so code outside steps may decide with them; the request id
and the remaining time belong to one invocation, so the handler's own decisions read them
only inside a step (whose result is then durable) and otherwise only writes them to its
logs; an event is the execution's input, the same on every replay, so whatever is derived
from it (a correlation id, an idempotency key, a decoded key, a typed value) may be derived
outside steps; the idempotency record is claimed by the execution's ARN, so a step that a
crash runs twice finds its own claim. What is not done here: naming a step or deciding a
branch with the request id outside a step (``tests/harness/lambda_runtime_handlers.py``),
``os.environ["AWS_REGION"]`` without a fallback (the runner sets none of the runtime's
variables: ``docs/findings.md``), a step result over about 750 KB (SDK finding 2).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import urllib.parse
from datetime import datetime
from decimal import Decimal
from typing import Any

import lambda_runtime_services as services
from async_durable_execution import (
    CompletionConfig,
    RetryStrategy,
    durable_execution,
    get_durable_context,
    get_step_context,
    now,
    parallel,
    run_in_child_context,
    step,
    wait,
)
from async_durable_execution import map as durable_map

log = logging.getLogger("lambda_runtime")

#: A cold start: module code runs once per sandbox (Powertools' ``cold_start`` key).
_COLD_START = [True]


def _context() -> Any:
    """The Lambda context of the invocation that runs now (outside a step)."""
    return get_durable_context().lambda_context


def _log_json(message: str, **keys: Any) -> None:
    """A structured log line in the manner of Powertools' logger: the request id, the
    function and the cold-start flag on every line (logs only: never read back)."""
    context = _context()
    cold, _COLD_START[0] = _COLD_START[0], False
    line = {
        "message": message,
        "function_name": context.function_name,
        "function_request_id": context.aws_request_id,
        "cold_start": cold,
        "xray_trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        **keys,
    }
    services.LOG_LINES.append(json.dumps(line, sort_keys=True, default=str))
    log.info(message, extra={"request_id": context.aws_request_id})


async def _value(value: Any) -> Any:
    return value


# --- the context object: request id, function identity, remaining time -----------------------


async def _audited_charge(order_id: str, cents: int) -> dict[str, Any]:
    context = get_step_context().lambda_context
    return {
        "order": order_id,
        "cents": cents,
        # The request that did the work, for the audit trail: durable once the step ends.
        "processed_by": context.aws_request_id,
        "function": context.function_name,
    }


@durable_execution
async def request_id_audit_trail(event: Any) -> dict[str, Any]:
    """Logs the request id of every invocation outside steps, and records in a step the
    request id of the invocation that charged (an audit trail); a wait makes the replay
    another invocation with another request id."""
    _log_json("charging", order=event["order"])
    charge = await step(lambda: _audited_charge(event["order"], event["cents"]), name="charge")
    await wait(30, name="settle")
    _log_json("settled", order=event["order"], charged_by=charge["processed_by"])
    receipt = await step(
        lambda: _value(f"receipt-{charge['order']}-{len(charge['processed_by'])}"),
        name="receipt",
    )
    return {
        "receipt": receipt,
        "cents": charge["cents"],
        "function": charge["function"],
        "processed_by": charge["processed_by"],
    }


async def _ingest(record: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    stored = {**record, **metadata}
    services.put_order(record["id"], stored)
    return stored


@durable_execution
async def request_id_stamped_on_records(event: Any) -> dict[str, Any]:
    """Builds Powertools-style metadata outside steps (the request id, the function, the
    correlation id from the input) and hands it to the steps that store each record: a
    record is stamped with the request of the invocation that stored it, and replays, which
    store nothing, stamp nothing."""
    context = _context()
    metadata = {
        "ingested_by": context.aws_request_id,
        "function": context.function_name,
        "correlation_id": event["correlation_id"],
    }
    stored = []
    for n, record in enumerate(event["records"]):
        stored.append(await step(lambda r=record: _ingest(r, metadata), name=f"ingest-{n}"))
        await wait(5, name=f"pace-{n}")
    return {
        "ids": [s["id"] for s in stored],
        "requests": len({s["ingested_by"] for s in stored}),
        "correlation": {s["correlation_id"] for s in stored} == {event["correlation_id"]},
    }


@durable_execution
async def function_identity(event: Any) -> dict[str, Any]:
    """Reads the function's name, ARN (region and account), version and memory outside
    steps, the same on every invocation, and derives a table name and a batch size."""
    context = _context()
    arn = context.invoked_function_arn.split(":")
    region, account = arn[3], arn[4]
    table = f"{context.function_name}-exports-{region}"
    memory = int(context.memory_limit_in_mb)
    batch_size = 10 if memory <= 256 else 50
    items = list(range(1, 24))
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    sums = []
    for n, batch in enumerate(batches):
        sums.append(await step(lambda b=batch: _value(sum(b)), name=f"export-{n}"))
        await wait(2, name=f"throttle-{n}")
    return {
        "table": table,
        "account": account,
        "version": context.function_version,
        "batches": len(batches),
        "sums": sums,
    }


async def _take_batch(pending: list[int]) -> list[int]:
    """Processes as many items as the time left in this invocation allows (real time: a
    batch sized inside the step, whose result is then durable)."""
    remaining = get_step_context().lambda_context.get_remaining_time_in_millis()
    size = 20 if remaining > 5_000 else 5
    return [n * n for n in pending[:size]]


@durable_execution
async def remaining_time_batches(event: Any) -> dict[str, Any]:
    """Drains 45 items in batches whose size a step decides from
    ``get_remaining_time_in_millis()``; the remaining time is also logged outside steps."""
    pending = list(range(45))
    done: list[int] = []
    rounds = 0
    while pending:
        _log_json("batch", remaining_ms=_context().get_remaining_time_in_millis())
        squares = await step(lambda p=pending: _take_batch(p), name=f"batch-{rounds}")
        done.extend(squares)
        pending = pending[len(squares) :]
        rounds += 1
        await wait(1, name=f"cool-{rounds}")
    return {"processed": len(done), "sum": sum(done)}


# --- the runtime's environment variables, with fallbacks --------------------------------------


async def _quote(region: str, memory: str) -> dict[str, Any]:
    return {"region": region, "memory": memory, "cents": 1_250}


@durable_execution
async def environment_with_fallbacks(event: Any) -> dict[str, Any]:
    """Reads ``AWS_REGION`` (else the invoked ARN's region), ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``
    (else the context's memory), ``AWS_LAMBDA_FUNCTION_NAME`` (else the context's name),
    ``TZ`` and the per-invocation ``_X_AMZN_TRACE_ID`` (logged only)."""
    context = _context()
    region = os.environ.get("AWS_REGION") or context.invoked_function_arn.split(":")[3]
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or context.memory_limit_in_mb
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or context.function_name
    zone = os.environ.get("TZ", ":UTC").lstrip(":")
    _log_json("quoting", trace=os.environ.get("_X_AMZN_TRACE_ID", "untraced"))
    quote = await step(lambda: _quote(region, memory), name="quote")
    await wait(10, name="hold")
    return {"function": name, "zone": zone, "quote": quote}


# --- SQS: a batch mapped per record, a partial-batch response ---------------------------------


class OrderRefused(Exception):
    """The business refuses the order (a permanent failure of its record)."""


async def _store_order(order: dict[str, Any]) -> dict[str, Any]:
    if order["quantity"] <= 0:
        msg = f"order {order['id']} has quantity {order['quantity']}"
        raise OrderRefused(msg)
    return services.put_order(order["id"], {"sku": order["sku"], "quantity": order["quantity"]})


@durable_execution
async def sqs_partial_batch(event: Any) -> dict[str, Any]:
    """Maps an SQS batch's records to steps (two at a time); a malformed body and a refused
    order fail their record only, and the response names them as ``batchItemFailures`` so
    that SQS redelivers just those."""
    records = event["Records"]

    async def handle(record: dict[str, Any]) -> str:
        order = json.loads(record["body"])  # the event is the input: the same on replay
        stored = await step(
            lambda: _store_order(order),
            name=f"store-{record['messageId'][:8]}",
            retry_strategy=RetryStrategy.none(),
        )
        return f"{order['id']}:{stored['quantity']}"

    batch = await durable_map(
        handle,
        records,
        name="records",
        max_concurrency=2,
        completion_config=CompletionConfig.thresholds(tolerated_failure_count=len(records)),
        item_namer=lambda record, index: f"record-{record['messageId'][:8]}",
    )
    failures = [{"itemIdentifier": records[item.index]["messageId"]} for item in batch.failed()]
    stored = [item.result for item in batch.succeeded()]
    _log_json("batch done", stored=len(stored), failed=len(failures))
    return {"batchItemFailures": failures, "stored": stored}


# --- API Gateway: correlation id, JSON body, idempotency key, proxy response -----------------


async def _claim(key: str, owner: str) -> dict[str, Any]:
    return services.claim(key, owner)


async def _create(order: dict[str, Any], correlation: str) -> dict[str, Any]:
    return {"id": f"ord-{order['sku']}-{order['quantity']}", "correlation": correlation}


async def _complete(key: str, owner: str, response: Any) -> bool:
    services.complete(key, owner, response)
    return True


@durable_execution
async def api_gateway_proxy(event: Any) -> dict[str, Any]:
    """An API Gateway (REST, proxy) ``POST /orders``: the correlation id from the headers
    (any case), the body a JSON string (base64 when ``isBase64Encoded``), an idempotency key
    from the path and the body claimed by this execution's ARN, a wait for the warehouse, and
    a proxy response whose body is a JSON string."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    correlation = headers.get("x-correlation-id") or event["requestContext"]["requestId"]
    raw = event["body"] or "{}"
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    order = json.loads(raw)
    key = hashlib.sha256(f"{event['httpMethod']} {event['path']} {raw}".encode()).hexdigest()
    owner = get_durable_context().durable_execution_arn
    _log_json("request", correlation_id=correlation, idempotency_key=key[:12])
    claim = await step(lambda: _claim(key, owner), name=f"claim-{key[:12]}")
    if claim["status"] == "completed":
        created = claim["response"]
    elif claim["status"] == "in_progress_elsewhere":
        return {
            "statusCode": 409,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"message": "request already in progress"}),
        }
    else:
        created = await step(lambda: _create(order, correlation), name="create-order")
        await wait(5, name="warehouse")
        await step(lambda: _complete(key, owner, created), name="complete-idempotency")
    return {
        "statusCode": 201,
        "headers": {
            "Content-Type": "application/json",
            "X-Correlation-Id": correlation,
            "Location": f"/orders/{created['id']}",
        },
        "body": json.dumps({"order": created, "query": event.get("queryStringParameters")}),
        "isBase64Encoded": False,
    }


# --- EventBridge: detail, a wait until the event's time plus a minute -------------------------


async def _ship(detail: dict[str, Any]) -> dict[str, Any]:
    return {"shipment": f"shp-{detail['orderId']}", "items": len(detail["items"])}


@durable_execution
async def eventbridge_detail(event: Any) -> dict[str, Any]:
    """An EventBridge ``Order Placed`` event: the ``detail`` drives the steps; the handler
    waits until a minute after the event's ``time`` (computed against the SDK's durable
    ``now()``, never the wall clock) before it ships."""
    detail = event["detail"]
    if event["detail-type"] != "Order Placed" or event["source"] != "shop.orders":
        return {"ignored": event["detail-type"]}
    placed = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    current = await now()
    delay = max(1, int((placed - current).total_seconds()) + 60)
    await wait(min(delay, 3600), name="cooling-off")
    shipment = await step(lambda: _ship(detail), name="ship")
    return {"shipment": shipment, "resources": len(event["resources"]), "account": event["account"]}


# --- S3: URL-encoded keys, one child context per object ---------------------------------------


async def _head(key: str) -> int:
    return services.head_object(key)


async def _thumbnail(key: str, size: int) -> str:
    return f"thumbs/{hashlib.sha1(key.encode()).hexdigest()[:10]}-{size // 1024}k"


@durable_execution
async def s3_encoded_keys(event: Any) -> dict[str, Any]:
    """S3 ``ObjectCreated`` notifications whose keys are URL-encoded as S3 sends them (a
    space as ``+``, ``é`` as ``%C3%A9``, ``&`` and ``=`` escaped): each key decoded with
    ``unquote_plus`` and processed in a child context named from the key's digest (operation
    names must be printable ASCII: SDK finding 9)."""

    async def process(key: str) -> dict[str, Any]:
        size = await step(lambda: _head(key), name="head")
        thumb = await step(lambda: _thumbnail(key, size), name="thumbnail")
        return {"key": key, "size": size, "thumb": thumb}

    results = []
    for record in event["Records"]:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        digest = hashlib.sha1(key.encode()).hexdigest()[:10]
        results.append(await run_in_child_context(lambda k=key: process(k), name=f"obj-{digest}"))
    return {"objects": results, "bucket": event["Records"][0]["s3"]["bucket"]["name"]}


# --- DynamoDB streams: typed attribute values, a parallel per event name ----------------------


def _plain(value: dict[str, Any]) -> Any:
    """A DynamoDB typed attribute value as a plain JSON value (numbers as ``int`` or
    ``float`` through ``Decimal``; string sets sorted)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return inner
    if kind == "N":
        number = Decimal(inner)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "L":
        return [_plain(v) for v in inner]
    if kind == "M":
        return {k: _plain(v) for k, v in inner.items()}
    if kind in ("SS", "NS"):
        return sorted(inner)
    msg = f"unsupported attribute type {kind}"
    raise ValueError(msg)


def _image(image: dict[str, Any] | None) -> dict[str, Any]:
    return {k: _plain(v) for k, v in (image or {}).items()}


async def _index(doc_id: str, document: dict[str, Any]) -> str:
    services.index_document(doc_id, document)
    return f"indexed {doc_id}"


async def _unindex(doc_id: str) -> str:
    services.remove_document(doc_id)
    return f"removed {doc_id}"


@durable_execution
async def dynamodb_stream(event: Any) -> dict[str, Any]:
    """DynamoDB stream records (``INSERT``, ``MODIFY``, ``REMOVE``) whose images hold typed
    attribute values; the upserts and the removals run as two branches of a ``parallel``,
    each record in its own step."""
    upserts = []
    removals = []
    for record in event["Records"]:
        keys = _image(record["dynamodb"]["Keys"])
        doc_id = f"{keys['pk']}#{keys['sk']}"
        if record["eventName"] == "REMOVE":
            removals.append(doc_id)
        else:
            upserts.append((doc_id, _image(record["dynamodb"]["NewImage"])))

    async def index_all() -> list[str]:
        done = []
        for n, (doc_id, document) in enumerate(upserts):
            done.append(await step(lambda d=doc_id, doc=document: _index(d, doc), name=f"up-{n}"))
        return done

    async def remove_all() -> list[str]:
        return [
            await step(lambda d=doc_id: _unindex(d), name=f"rm-{n}")
            for n, doc_id in enumerate(removals)
        ]

    batch = await parallel([index_all, remove_all], name="apply-stream")
    indexed, removed = batch.get_results()
    return {"indexed": indexed, "removed": removed, "documents": [doc for _, doc in upserts]}


# --- results near the edges -----------------------------------------------------------------


_EDGES: dict[str, Any] = {
    "json-string": json.dumps({"ok": True, "note": "a JSON document as a string"}),
    "number": 1234.5,
    "list": [1, "two", None, {"three": [3.0]}, True],
    "none": None,
    "unicode": "Gr\u00fc\u00dfe, \u4e16\u754c \U0001f30d \u2028 next line\ttab \u00e9\u0301",
}


@durable_execution
async def edge_result(event: Any) -> Any:
    """Returns the input's kind of result, after a step and a wait: a JSON string, a number,
    a list, ``None`` or unicode text (the SDK sends ``json.dumps`` of it)."""
    kind = event["kind"]
    value = await step(lambda: _value(_EDGES[kind]), name="compute")
    await wait(3, name="pause")
    return value


@durable_execution
async def large_api_response(event: Any) -> dict[str, Any]:
    """An API Gateway response whose JSON string body is about 1.2 MB of unicode rows,
    built outside steps from small step results (each step's result stays far below the
    SDK's batching limit)."""
    pages = []
    for page in range(4):
        pages.append(await step(lambda p=page: _value({"page": p, "rows": 5_000}), name=f"p{page}"))
    await wait(2, name="assemble")
    rows = [
        {"id": f"{p['page']}-{r}", "name": f"Caf\u00e9 M\u00fcller \u2615 {r}", "qty": r % 7}
        for p in pages
        for r in range(p["rows"])
    ]
    body = json.dumps({"rows": rows, "count": len(rows)}, ensure_ascii=False)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json; charset=utf-8"},
        "body": body,
    }


# --- event inputs ---------------------------------------------------------------------------

_SQS_BODIES = [
    {"id": "o-1", "sku": "lamp", "quantity": 2},
    {"id": "o-2", "sku": "mug", "quantity": 0},  # refused
    "{not json",  # malformed
    {"id": "o-4", "sku": "desk", "quantity": 1},
    {"id": "o-5", "sku": "chair", "quantity": 4},
]

SQS_EVENT: dict[str, Any] = {
    "Records": [
        {
            "messageId": f"{n:08d}-8f1c-4d2e-9a7b-{n:012d}",
            "receiptHandle": f"AQEB{n}...",
            "body": body if isinstance(body, str) else json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764892800000"},
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(str(body).encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
            "awsRegion": "us-east-1",
        }
        for n, body in enumerate(_SQS_BODIES, start=1)
    ]
}

API_EVENT: dict[str, Any] = {
    "resource": "/orders",
    "path": "/orders",
    "httpMethod": "POST",
    "headers": {"Content-Type": "application/json", "X-Correlation-ID": "corr-7f3a"},
    "multiValueHeaders": {"X-Correlation-ID": ["corr-7f3a"]},
    "queryStringParameters": {"dryRun": "false"},
    "pathParameters": None,
    "requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "stage": "prod"},
    "body": base64.b64encode(json.dumps({"sku": "lamp", "quantity": 3}).encode()).decode(),
    "isBase64Encoded": True,
}

EVENTBRIDGE_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Order Placed",
    "source": "shop.orders",
    "account": "123456789012",
    "time": "2026-12-05T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/orders"],
    "detail": {"orderId": "o-99", "items": [{"sku": "lamp"}, {"sku": "mug"}]},
}

S3_EVENT: dict[str, Any] = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "bucket": {"name": "uploads-bucket"},
                "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": size},
            },
        }
        for key, size in (
            ("reports/2026/Q4 summary.csv", 1_024),
            ("uploads/caf\u00e9 menu+specials.pdf", 20_480),
            ("raw/a&b=c/part 0001.json", 77),
        )
    ]
}

DYNAMODB_EVENT: dict[str, Any] = {
    "Records": [
        {
            "eventID": "1",
            "eventName": "INSERT",
            "dynamodb": {
                "Keys": {"pk": {"S": "user#1"}, "sk": {"S": "profile"}},
                "NewImage": {
                    "pk": {"S": "user#1"},
                    "sk": {"S": "profile"},
                    "age": {"N": "42"},
                    "score": {"N": "97.5"},
                    "active": {"BOOL": True},
                    "nickname": {"NULL": True},
                    "tags": {"SS": ["b", "a"]},
                    "address": {"M": {"city": {"S": "Berlin"}, "zip": {"N": "10115"}}},
                    "logins": {"L": [{"N": "1"}, {"S": "two"}]},
                },
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        },
        {
            "eventID": "2",
            "eventName": "MODIFY",
            "dynamodb": {
                "Keys": {"pk": {"S": "user#2"}, "sk": {"S": "profile"}},
                "OldImage": {"pk": {"S": "user#2"}, "sk": {"S": "profile"}, "age": {"N": "30"}},
                "NewImage": {"pk": {"S": "user#2"}, "sk": {"S": "profile"}, "age": {"N": "31"}},
            },
        },
        {
            "eventID": "3",
            "eventName": "REMOVE",
            "dynamodb": {
                "Keys": {"pk": {"S": "user#3"}, "sk": {"S": "profile"}},
                "OldImage": {"pk": {"S": "user#3"}, "sk": {"S": "profile"}},
            },
        },
    ]
}

#: Every handler of this corpus, with what its scenarios need (the shape of
#: ``habits.CORPUS``).
CORPUS: dict[str, dict[str, Any]] = {
    "request_id_audit_trail": {
        "handler": request_id_audit_trail,
        "input": {"order": "o-17", "cents": 4_200},
        "before_run": services.reset,
    },
    "request_id_stamped_on_records": {
        "handler": request_id_stamped_on_records,
        "input": {"correlation_id": "corr-19", "records": [{"id": "r-1"}, {"id": "r-2"}]},
        "before_run": services.reset,
    },
    "function_identity": {"handler": function_identity},
    "remaining_time_batches": {"handler": remaining_time_batches, "before_run": services.reset},
    "environment_with_fallbacks": {
        "handler": environment_with_fallbacks,
        "before_run": services.reset,
    },
    "sqs_partial_batch": {
        "handler": sqs_partial_batch,
        "input": SQS_EVENT,
        "before_run": services.reset,
    },
    "api_gateway_proxy": {
        "handler": api_gateway_proxy,
        "input": API_EVENT,
        "before_run": services.reset,
    },
    "eventbridge_detail": {"handler": eventbridge_detail, "input": EVENTBRIDGE_EVENT},
    "s3_encoded_keys": {
        "handler": s3_encoded_keys,
        "input": S3_EVENT,
        "before_run": services.reset,
    },
    "dynamodb_stream": {
        "handler": dynamodb_stream,
        "input": DYNAMODB_EVENT,
        "before_run": services.reset,
    },
    "result_json_string": {"handler": edge_result, "input": {"kind": "json-string"}},
    "result_number": {"handler": edge_result, "input": {"kind": "number"}},
    "result_list": {"handler": edge_result, "input": {"kind": "list"}},
    "result_none": {"handler": edge_result, "input": {"kind": "none"}},
    "result_unicode": {"handler": edge_result, "input": {"kind": "unicode"}},
    "large_api_response": {"handler": large_api_response},
}
