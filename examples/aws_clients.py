"""Correct handlers whose step bodies call AWS through boto3, synchronously, as Lambda code
does, or through aiobotocore's async clients (the session-32 false-flag audit R, for the
``aws_call_crash`` fault, widened in session 33).

A boto3 call blocks until AWS answers; a step body that makes several never waits between
them. A sandbox that dies between two of them (``aws_call_crash``) leaves the first done and
the rest not, and the SDK runs the attempt again. These bodies are written to be run again
from any such point, in the ways users write them, against a DynamoDB table behind a real
boto3 client (``examples/fake_dynamodb.py``):

- ``create_once``: a record created with a conditional ``PutItem``; a re-run that finds it
  (``ConditionalCheckFailedException``) reads it back and answers with it;
- ``claim_with_expiry``: a claim written INPROGRESS, naming the attempt that made it and
  with an expiry, before the request it guards, then marked COMPLETED with the result; a
  re-run answers with a completed claim, carries on with its own attempt's claim, waits out
  (by a retry) another's live one, and takes over an expired one;
- ``write_then_verify``: a write read back in the same body before it is trusted;
- ``fan_out_writes``: many items written by key in one body (a re-run writes them again, to
  the same keys), then counted by a second step after a wait;
- ``move_record``: a record moved from one key to another (delete, then put), a re-run
  finding either or both halves done;
- ``ledger_per_item``: a ``map`` whose items each book an entry exactly once by key, two at a
  time, the total read from what the items return;
- ``register_async``: a record created once through aiobotocore's async client (as aioboto3
  code does), then two writes sent at once (``asyncio.gather``), each keyed by what it writes;
- ``export_on_threads``: rows written one by one through ``asyncio.to_thread`` (boto3's calls
  kept off the event loop), then the last one read back;
- ``client_per_invocation``: one aiobotocore client opened by the handler outside its steps
  (each invocation opens its own), used by steps on both sides of a wait;
- ``export_in_executor``: the same rows written through ``loop.run_in_executor`` on the
  loop's default executor, then the last one read back;
- ``upload_with_pool``: parts uploaded at once by a ``ThreadPoolExecutor`` the body makes
  (``pool.map``, as synchronous Lambda code parallelises its calls), then a manifest written
  by a thread of the body's own, keyed by the upload;
- ``map_through_shared_pool``: a ``map`` whose items' steps, two at a time, each write and
  read back their row through ``run_in_executor`` on one pool made at module level and shared
  by every body (the pool's threads take turns working for the items that run at once).

Every one is correct durable code: its writes are keyed by what they write, so running a body
again from any of its calls ends in the same table and the same result, a function of the
input only. No oracle may flag any of them under any fault plan or timing
(``tests/harness/test_aws_clients_corpus.py`` at CI size; ``benchmarks/same_world.py --corpus
aws-clients`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fake_dynamodb
from async_durable_execution import (
    RetryStrategy,
    durable_execution,
    get_step_context,
    step,
    wait,
)
from async_durable_execution import map as durable_map
from botocore.exceptions import ClientError
from fake_dynamodb import reset

__all__ = ["CORPUS", "reset"]

#: Module-level, as Lambda code makes its clients (outside the handler, reused warm).
DYNAMODB = fake_dynamodb.client()

RETRY = RetryStrategy(max_attempts=4, initial_delay=5, max_delay=5, backoff_rate=1)


def _key(value: str) -> dict[str, Any]:
    return {"pk": {"S": value}}


def _conflict(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


def _create_or_read(table: str, key: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """Create the item ``key`` with a conditional ``PutItem``; if it exists (an earlier run of
    this body created it before its sandbox died), the stored item is the answer."""
    item = {**_key(key), **attributes}
    try:
        DYNAMODB.put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if not _conflict(error):
            raise
        item = DYNAMODB.get_item(TableName=table, Key=_key(key))["Item"]
    return item


# --- a record created once ---------------------------------------------------------------------


async def _create_order(order_id: str, total: int) -> dict[str, Any]:
    attributes = {"total": {"N": str(total)}, "state": {"S": "NEW"}}
    item = _create_or_read("orders", f"order-{order_id}", attributes)
    return {"order": order_id, "total": int(item["total"]["N"]), "state": item["state"]["S"]}


@durable_execution
async def create_once(event: Any) -> dict[str, Any]:
    order = await step(lambda: _create_order(event["id"], event["total"]), name="create")
    await wait(60, name="cooling-off")
    return order


# --- a claim with an expiry ---------------------------------------------------------------------


class ClaimInProgress(Exception):
    """Another run holds a live claim on this key."""


async def _claimed_booking(order_id: str) -> str:
    key = _key(f"booking-{order_id}")
    # The claim names the attempt that made it: the same attempt run again (its sandbox died
    # after the claim) carries on with its own claim; another one waits until it expires.
    owner = f"attempt-{get_step_context().attempt}"
    now = time.time()  # the handler's clock, read in the step
    claim = {
        **key,
        "status": {"S": "INPROGRESS"},
        "owner": {"S": owner},
        "expires": {"N": str(now + 2.0)},
    }
    try:
        DYNAMODB.put_item(
            TableName="claims", Item=claim, ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if not _conflict(error):
            raise
        found = DYNAMODB.get_item(TableName="claims", Key=key)["Item"]
        if found["status"]["S"] == "COMPLETED":
            return str(found["booking"]["S"])
        if found["owner"]["S"] != owner and now < float(found["expires"]["N"]):
            raise ClaimInProgress(order_id) from None
        DYNAMODB.put_item(TableName="claims", Item=claim)  # its own, or expired: taken over
    booking = f"shipment-{order_id}"
    DYNAMODB.put_item(TableName="shipments", Item=_key(booking))
    DYNAMODB.put_item(
        TableName="claims", Item={**key, "status": {"S": "COMPLETED"}, "booking": {"S": booking}}
    )
    return booking


@durable_execution
async def claim_with_expiry(event: Any) -> dict[str, Any]:
    booking = await step(lambda: _claimed_booking(event["id"]), name="book", retry_strategy=RETRY)
    return {"booking": booking}


# --- a write read back ------------------------------------------------------------------------


async def _store_profile(user: str, email: str) -> dict[str, Any]:
    DYNAMODB.put_item(
        TableName="profiles", Item={**_key(f"user-{user}"), "email": {"S": email.lower()}}
    )
    stored = DYNAMODB.get_item(TableName="profiles", Key=_key(f"user-{user}"))["Item"]
    return {"user": user, "email": stored["email"]["S"]}


@durable_execution
async def write_then_verify(event: Any) -> dict[str, Any]:
    return await step(lambda: _store_profile(event["user"], event["email"]), name="profile")


# --- many writes in one body ----------------------------------------------------------------


async def _write_lines(batch: str, lines: list[str]) -> int:
    for number, line in enumerate(lines):
        DYNAMODB.put_item(
            TableName="lines", Item={**_key(f"{batch}#{number}"), "text": {"S": line}}
        )
    return len(lines)


async def _count_lines(batch: str, expected: int) -> int:
    found = 0
    for number in range(expected):
        if "Item" in DYNAMODB.get_item(TableName="lines", Key=_key(f"{batch}#{number}")):
            found += 1
    return found


@durable_execution
async def fan_out_writes(event: Any) -> dict[str, Any]:
    lines = list(event["lines"])
    written = await step(lambda: _write_lines(event["batch"], lines), name="write-lines")
    await wait(1, name="settle")
    counted = await step(lambda: _count_lines(event["batch"], written), name="count-lines")
    return {"written": written, "counted": counted}


# --- a record moved --------------------------------------------------------------------------


async def _move(source: str, target: str, payload: str) -> dict[str, Any]:
    DYNAMODB.delete_item(TableName="records", Key=_key(source))
    DYNAMODB.put_item(TableName="records", Item={**_key(target), "payload": {"S": payload}})
    moved = DYNAMODB.get_item(TableName="records", Key=_key(target))["Item"]
    gone = "Item" not in DYNAMODB.get_item(TableName="records", Key=_key(source))
    return {"at": target, "payload": moved["payload"]["S"], "source_gone": gone}


@durable_execution
async def move_record(event: Any) -> dict[str, Any]:
    return await step(
        lambda: _move(event["from"], event["to"], json.dumps(event["payload"], sort_keys=True)),
        name="move",
    )


# --- an entry per map item, exactly once -------------------------------------------------------


async def _book_entry(ledger: str, index: int, amount: int) -> int:
    item = _create_or_read("ledger", f"{ledger}#{index}", {"amount": {"N": str(amount)}})
    return int(item["amount"]["N"])


@durable_execution
async def ledger_per_item(event: Any) -> dict[str, Any]:
    ledger = event["ledger"]
    amounts = list(event["amounts"])

    async def book(amount: int) -> int:
        index = amounts.index(amount)
        return await step(
            lambda: _book_entry(ledger, index, amount),
            name=f"entry-{index}",
            retry_strategy=RETRY,
        )

    batch = await durable_map(book, amounts, name="entries", max_concurrency=2)
    return {"total": sum(batch.get_results()), "entries": len(batch.get_results())}


#: Made at module level, as Lambda code keeps one pool warm: every body's work goes through it.
SHARED_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shared-pool")


async def _row_through_pool(table: str, key: str, value: str) -> str:
    loop = asyncio.get_running_loop()
    item = {**_key(key), "value": {"S": value}}
    await loop.run_in_executor(SHARED_POOL, lambda: DYNAMODB.put_item(TableName=table, Item=item))
    read = await loop.run_in_executor(
        SHARED_POOL, lambda: DYNAMODB.get_item(TableName=table, Key=_key(key))
    )
    return str(read["Item"]["value"]["S"])


@durable_execution
async def map_through_shared_pool(event: Any) -> dict[str, Any]:
    batch_id = event["batch"]

    async def write(indexed: tuple[int, str]) -> str:
        index, value = indexed
        return await step(
            lambda: _row_through_pool("rows", f"{batch_id}#{index}", value),
            name=f"row-{index}",
            retry_strategy=RETRY,
        )

    batch = await durable_map(
        write, list(enumerate(event["values"])), name="rows", max_concurrency=2
    )
    return {"values": batch.get_results()}


# --- the same through aiobotocore's async client ------------------------------------------------


async def _register_device(device: str, owner: str) -> dict[str, Any]:
    key = _key(f"device-{device}")
    async with fake_dynamodb.aio_client() as table:
        item = {**key, "owner": {"S": owner}}
        try:
            await table.put_item(
                TableName="devices", Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if not _conflict(error):
                raise
            item = (await table.get_item(TableName="devices", Key=key))["Item"]
        # Two writes at once, each keyed by what it writes: either may be answered first.
        await asyncio.gather(
            table.put_item(
                TableName="audit", Item={**_key(f"registered-{device}"), "owner": item["owner"]}
            ),
            table.put_item(
                TableName="owners", Item={**_key(f"owner-{owner}"), "device": {"S": device}}
            ),
        )
    return {"device": device, "owner": item["owner"]["S"]}


@durable_execution
async def register_async(event: Any) -> dict[str, Any]:
    registered = await step(
        lambda: _register_device(event["device"], event["owner"]), name="register"
    )
    await wait(5, name="propagate")
    return registered


# --- boto3 kept off the event loop --------------------------------------------------------------


async def _export_rows(export: str, rows: list[str]) -> dict[str, Any]:
    for number, row in enumerate(rows):
        await asyncio.to_thread(
            DYNAMODB.put_item,
            TableName="exports",
            Item={**_key(f"{export}#{number}"), "row": {"S": row}},
        )
    last = await asyncio.to_thread(
        DYNAMODB.get_item, TableName="exports", Key=_key(f"{export}#{len(rows) - 1}")
    )
    return {"rows": len(rows), "last": last["Item"]["row"]["S"]}


@durable_execution
async def export_on_threads(event: Any) -> dict[str, Any]:
    return await step(lambda: _export_rows(event["export"], list(event["rows"])), name="export")


async def _export_rows_in_executor(export: str, rows: list[str]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    for number, row in enumerate(rows):
        item = {**_key(f"{export}#{number}"), "row": {"S": row}}
        # (``run_in_executor`` passes no keywords: a closure over the row's item.)
        await loop.run_in_executor(
            None, lambda item=item: DYNAMODB.put_item(TableName="exports", Item=item)
        )
    last = await loop.run_in_executor(
        None,
        lambda: DYNAMODB.get_item(TableName="exports", Key=_key(f"{export}#{len(rows) - 1}")),
    )
    return {"rows": len(rows), "last": last["Item"]["row"]["S"]}


@durable_execution
async def export_in_executor(event: Any) -> dict[str, Any]:
    return await step(
        lambda: _export_rows_in_executor(event["export"], list(event["rows"])), name="export"
    )


def _upload(upload: str, parts: list[str]) -> dict[str, Any]:
    def put_part(numbered: tuple[int, str]) -> int:
        number, body = numbered
        DYNAMODB.put_item(
            TableName="parts", Item={**_key(f"{upload}#{number}"), "body": {"S": body}}
        )
        return len(body)

    with ThreadPoolExecutor(max_workers=3) as pool:
        sizes = list(pool.map(put_part, enumerate(parts)))
    manifest = {**_key(upload), "parts": {"N": str(len(parts))}, "size": {"N": str(sum(sizes))}}
    # The manifest from a thread of the body's own (as a library's writer thread would).
    writer = threading.Thread(
        target=DYNAMODB.put_item, kwargs={"TableName": "manifests", "Item": manifest}
    )
    writer.start()
    writer.join()
    stored = DYNAMODB.get_item(TableName="manifests", Key=_key(upload))["Item"]
    return {"parts": int(stored["parts"]["N"]), "size": int(stored["size"]["N"])}


async def _upload_blocking(upload: str, parts: list[str]) -> dict[str, Any]:
    # Blocks the loop's thread while it uploads, as synchronous Lambda code does.
    return _upload(upload, parts)


@durable_execution
async def upload_with_pool(event: Any) -> dict[str, Any]:
    return await step(
        lambda: _upload_blocking(event["upload"], list(event["parts"])), name="upload"
    )


# --- one async client per invocation, opened outside the steps -------------------------------


@durable_execution
async def client_per_invocation(event: Any) -> dict[str, Any]:
    # Async code opens its clients in the handler, outside its steps, and closes them when it
    # returns or suspends: each invocation (replays included) opens its own.
    batch = event["batch"]
    async with fake_dynamodb.aio_client() as table:

        async def put(key: str) -> str:
            await table.put_item(TableName="batches", Item=_key(f"{batch}#{key}"))
            return key

        async def count(keys: list[str]) -> int:
            found = 0
            for key in keys:
                answer = await table.get_item(TableName="batches", Key=_key(f"{batch}#{key}"))
                found += "Item" in answer
            return found

        first = await step(lambda: put("first"), name="put-first")
        await wait(30, name="pause")
        second = await step(lambda: put("second"), name="put-second")
        counted = await step(lambda: count([first, second]), name="count")
    return {"keys": [first, second], "counted": counted}


CORPUS: dict[str, dict[str, Any]] = {
    "create_once": {
        "handler": create_once,
        "input": {"id": "o-7", "total": 42},
        "before_run": reset,
    },
    "claim_with_expiry": {
        "handler": claim_with_expiry,
        "input": {"id": "o-9"},
        "before_run": reset,
    },
    "write_then_verify": {
        "handler": write_then_verify,
        "input": {"user": "ada", "email": "Ada@Example.com"},
        "before_run": reset,
    },
    "fan_out_writes": {
        "handler": fan_out_writes,
        "input": {"batch": "b-1", "lines": ["alpha", "beta", "gamma", "delta"]},
        "before_run": reset,
    },
    "move_record": {
        "handler": move_record,
        "input": {"from": "draft-3", "to": "final-3", "payload": {"title": "Q3", "pages": 12}},
        "before_run": reset,
    },
    "ledger_per_item": {
        "handler": ledger_per_item,
        "input": {"ledger": "l-1", "amounts": [5, 11, 17, 23]},
        "before_run": reset,
    },
    "register_async": {
        "handler": register_async,
        "input": {"device": "d-4", "owner": "grace"},
        "before_run": reset,
    },
    "client_per_invocation": {
        "handler": client_per_invocation,
        "input": {"batch": "b-5"},
        "before_run": reset,
    },
    "export_on_threads": {
        "handler": export_on_threads,
        "input": {"export": "e-2", "rows": ["id,total", "1,10", "2,20"]},
        "before_run": reset,
    },
    "export_in_executor": {
        "handler": export_in_executor,
        "input": {"export": "e-3", "rows": ["id,total", "3,30", "4,40"]},
        "before_run": reset,
    },
    "map_through_shared_pool": {
        "handler": map_through_shared_pool,
        "input": {"batch": "m-1", "values": ["north", "east", "south", "west"]},
        "before_run": reset,
    },
    "upload_with_pool": {
        "handler": upload_with_pool,
        "input": {"upload": "u-1", "parts": ["alpha", "beta", "gamma", "delta"]},
        "before_run": reset,
    },
}
