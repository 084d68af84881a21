"""Correct handlers whose payloads sit at the sizes where the SDK changes behaviour (the
session-18 false-flag audit C: payloads, sizes and serialisation).

Where ``everyday.py`` (``large_report``: a 400,000-character step result; ``money_with_serdes``)
and ``habits.py`` (``odd_results``, ``typed_results``) cover odd values and one large step,
these push on the SDK's thresholds (read from ``async_durable_execution`` 2.5.0):

- a child context result whose serialised form is more than ``CHECKPOINT_SIZE_LIMIT``
  (256 KiB, ``_primitive/child.py``) is not checkpointed: the SDK records an empty payload
  with ``ReplayChildren`` and runs the child again on every replay to rebuild it. A string of
  n ASCII characters serialises to n + 2 (its quotes), so 262,142 characters stay inline and
  262,143 go to ``ReplayChildren`` (``child_result_at_limit``, ``child_result_over_limit``);
- a ``map``/``parallel`` result over the same limit is summarised (``MapSummaryGenerator``,
  ``ParallelSummaryGenerator``) and rebuilt on replay, and so is a branch over it
  (``map_large_items``, ``parallel_large_branches``); a single branch or item over it fails
  (SDK finding 11), so these keep each under it;
- a final result over ``LAMBDA_RESPONSE_SIZE_LIMIT`` (6 MiB - 50 bytes, ``_core/execution.py``)
  is checkpointed by the SDK instead of returned (``large_final_result``); a large execution
  input is read on every replay (``large_input``);
- step results of 700,000 characters, and two of 400,000 together (their updates overflow one
  750 KB checkpoint batch), stay under SDK finding 2's hang (``large_steps_together``);
- custom ``SerDes`` for a dataclass with ``Decimal``, ``datetime``, ``bytes`` and a
  ``frozenset``, on a step and a child context (``serdes_records``), and a ``SerDes`` pipeline
  with a compressing stage that keeps a 1 MB step result small (``compressed_step``);
- a ``wait_for_condition`` whose state grows by 30,000 characters a poll
  (``growing_poll_state``); a callback answered with a 150 KB JSON document (``big_answer``).

Every one is correct durable code: random data and the clock are read inside steps only;
everything a decision outside a step uses comes from a checkpointed result, the input or a
pure function of them; sets are sorted before they reach a result. No oracle may flag any of
them under any fault plan or timing (``tests/harness/test_payloads_corpus.py`` at CI size;
``benchmarks/same_world.py --corpus payloads --plans all`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import random
import zlib
from decimal import Decimal
from typing import Any

from async_durable_execution import (
    CallbackError,
    JsonSerDes,
    SerDes,
    SerDesContext,
    create_callback,
    durable_execution,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_condition,
)
from async_durable_execution import map as durable_map

#: The SDK's child-context checkpoint limit, in characters of the serialised result.
CHILD_LIMIT = 256 * 1024
#: The SDK's Lambda response limit: a final result longer than this is checkpointed.
RESPONSE_LIMIT = 6 * 1024 * 1024 - 50


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _random_hex(chars: int) -> str:
    return os.urandom((chars + 1) // 2).hex()[:chars]


# --- a child context result at and just over the checkpoint limit --------------------------


@durable_execution
async def child_result(event: Any) -> dict[str, Any]:
    """A child context builds a document of exactly ``event["chars"]`` characters from two
    random halves with a wait between them; the handler waits, then digests it in a step.
    Over the limit the child runs again on each replay (its steps replayed), so the document
    is the same one."""
    chars = int(event["chars"])

    async def build() -> str:
        head = await step(lambda: _random_hex(chars // 2), name="head")
        await wait(2, name="between-halves")
        tail = await step(lambda: _random_hex(chars - chars // 2), name="tail")
        return head + tail

    document = await run_in_child_context(build, name="document")
    await wait(5, name="settle")
    digest = await step(lambda: _async(_digest(document)), name="digest")
    return {"chars": len(document), "digest": digest, "matches": digest == _digest(document)}


async def _async(value: Any) -> Any:
    return value


# --- big step results, alone and two at once ----------------------------------------------


@durable_execution
async def large_steps_together(event: Any) -> dict[str, Any]:
    """A 700,000-character export, then two 400,000-character exports started together (their
    SUCCEED updates do not fit one 750 KB batch); each is digested after a wait."""
    first = await step(lambda: _random_hex(700_000), name="export-1")
    await wait(3, name="cool-down")
    second, third = await asyncio.gather(
        step(lambda: _random_hex(400_000), name="export-2"),
        step(lambda: _random_hex(400_000), name="export-3"),
    )
    await wait(3, name="settle")
    digests = [_digest(first), _digest(second), _digest(third)]
    stored = await step(lambda: _async(digests), name="store-digests")
    return {"sizes": [len(first), len(second), len(third)], "digests": stored}


# --- a final result over the Lambda response limit; a large input -------------------------


def _expand(seed: str, chars: int) -> str:
    """A pure, deterministic stretch of ``seed`` to ``chars`` hex characters."""
    blocks: list[str] = []
    block = seed
    total = 0
    while total < chars:
        block = hashlib.sha256(block.encode()).hexdigest()
        blocks.append(block)
        total += len(block)
    return "".join(blocks)[:chars]


@durable_execution
async def large_final_result(event: Any) -> dict[str, Any]:
    """A data export returned whole: its seed comes from a step, the body is stretched from it
    (pure), and the result is just over the response limit, so the SDK checkpoints it."""
    seed = await step(lambda: _random_hex(64), name="seed")
    await wait(1, name="settle")
    body = _expand(seed, int(event["chars"]))
    return {"seed": seed, "body": body}


@durable_execution
async def large_input(event: Any) -> dict[str, Any]:
    """A batch of records in the input (about 900 KB): each record is priced in a step over a
    slice, with a wait between slices; the total comes from the checkpointed prices."""
    records = event["records"]
    totals: list[int] = []
    for start in range(0, len(records), 250):
        chunk = records[start : start + 250]

        async def price(chunk: list[dict[str, Any]] = chunk) -> int:
            return sum(int(r["qty"]) for r in chunk)

        totals.append(await step(price, name=f"price-{start // 250}"))
        await wait(1, name=f"pause-{start // 250}")
    return {"records": len(records), "total": sum(totals), "first": records[0]["sku"]}


def _records(count: int) -> list[dict[str, Any]]:
    return [{"sku": f"SKU-{i:06d}", "qty": i % 7, "note": "n" * 800} for i in range(count)]


# --- custom SerDes for records; a compressing SerDes pipeline -------------------------------


@dataclasses.dataclass(frozen=True)
class Shipment:
    id: str
    value: Decimal
    shipped_at: dt.datetime
    label: bytes
    tags: frozenset[str]


class ShipmentSerDes(SerDes[Shipment]):
    """A shipment as JSON: the value as exact decimal text, the instant as ISO 8601, the label
    as base64, the tags sorted (a set has no order to keep)."""

    async def serialize(self, value: Shipment) -> str:
        return json.dumps(
            {
                "id": value.id,
                "value": str(value.value),
                "shipped_at": value.shipped_at.isoformat(),
                "label": base64.b64encode(value.label).decode(),
                "tags": sorted(value.tags),
            }
        )

    async def deserialize(self, data: str) -> Shipment:
        raw = json.loads(data)
        return Shipment(
            id=raw["id"],
            value=Decimal(raw["value"]),
            shipped_at=dt.datetime.fromisoformat(raw["shipped_at"]),
            label=base64.b64decode(raw["label"]),
            tags=frozenset(raw["tags"]),
        )


class TagSetSerDes(SerDes[frozenset[str]]):
    async def serialize(self, value: frozenset[str]) -> str:
        return json.dumps(sorted(value))

    async def deserialize(self, data: str) -> frozenset[str]:
        return frozenset(json.loads(data))


async def _ship() -> Shipment:
    cents = random.randint(1, 10_000_000)
    return Shipment(
        id=os.urandom(4).hex(),
        value=Decimal(cents) / 100,
        shipped_at=dt.datetime.now(dt.UTC),
        label=os.urandom(2048),
        tags=frozenset(random.sample(["fragile", "cold", "express", "heavy", "gift"], 3)),
    )


@durable_execution
async def serdes_records(event: Any) -> dict[str, Any]:
    """Two shipments through a custom SerDes, a wait between; a child context merges their tags
    into a set returned through another SerDes; the result uses exact decimals and sorted
    tags."""
    first = await step(_ship, name="ship-1", serdes=ShipmentSerDes())
    await wait(30, name="transit")
    second = await step(_ship, name="ship-2", serdes=ShipmentSerDes())

    async def merge() -> frozenset[str]:
        extra = await step(lambda: _async(random.choice(["audited", "insured"])), name="extra")
        return first.tags | second.tags | {extra}

    tags = await run_in_child_context(merge, name="merge-tags", serdes=TagSetSerDes())
    total = (first.value + second.value).quantize(Decimal("0.01"))
    return {
        "ids": [first.id, second.id],
        "total": str(total),
        "apart": round((second.shipped_at - first.shipped_at).total_seconds()),
        "labels": _digest(first.label.hex() + second.label.hex()),
        "tags": sorted(tags),
    }


class ZlibStage:
    """Compress the JSON text: a stage prefixes what it wrote, and leaves text it does not
    recognise unchanged (``SerDesStage``'s contract)."""

    PREFIX = "zlib1:"

    async def serialize(self, value: str, context: SerDesContext) -> str:
        return self.PREFIX + base64.b64encode(zlib.compress(value.encode(), 6)).decode()

    async def deserialize(self, data: str, context: SerDesContext) -> str:
        if not data.startswith(self.PREFIX):
            return data
        return zlib.decompress(base64.b64decode(data[len(self.PREFIX) :])).decode()


async def _inventory_csv() -> str:
    rows = [f"sku-{i % 500:03d},{random.randint(0, 3)},warehouse-{i % 4}" for i in range(45_000)]
    return "\n".join(rows)


@durable_execution
async def compressed_step(event: Any) -> dict[str, Any]:
    """A 1 MB inventory CSV checkpointed through a compressing pipeline, then read again after
    a wait; the counts come from the (decompressed) checkpointed text."""
    csv = await step(_inventory_csv, name="inventory", serdes=JsonSerDes().then(ZlibStage()))
    await wait(10, name="settle")
    lines = csv.split("\n")
    stocked = sum(1 for line in lines if line.split(",")[1] != "0")
    return {"chars": len(csv), "rows": len(lines), "stocked": stocked, "digest": _digest(csv)}


# --- map and parallel with large items ----------------------------------------------------


@durable_execution
async def map_large_items(event: Any) -> dict[str, Any]:
    """Eight items, each a 50,000-character page fetched in a step after a short wait: the
    map's result (about 400 KB) is over the limit and summarised; the handler digests the
    pages in item order."""

    async def fetch(item: int) -> dict[str, Any]:
        await wait(1 + item % 3, name="page-wait")
        page = await step(lambda: _random_hex(50_000), name="page")
        return {"item": item, "page": page}

    result = await durable_map(fetch, list(range(8)), name="pages", max_concurrency=3)
    pages = result.get_results()
    await wait(2, name="settle")
    joined = "".join(p["page"] for p in sorted(pages, key=lambda p: p["item"]))
    return {"items": [p["item"] for p in pages], "chars": len(joined), "digest": _digest(joined)}


@durable_execution
async def parallel_large_branches(event: Any) -> dict[str, Any]:
    """Three reports in parallel, of 200,000 and twice 20,000 characters: the parallel's result
    is over the limit and summarised, each branch's is not (a branch over it meets SDK finding
    11); all are digested after a wait."""

    def report(chars: int, label: str) -> Any:
        async def run() -> dict[str, Any]:
            body = await step(lambda: _random_hex(chars), name=f"{label}-body")
            await wait(2, name=f"{label}-wait")
            return {"label": label, "body": body}

        return run

    result = await parallel(
        [report(200_000, "big"), report(20_000, "small-a"), report(20_000, "small-b")],
        name="reports",
    )
    reports = result.get_results()
    await wait(3, name="settle")
    return {
        "labels": [r["label"] for r in reports],
        "sizes": [len(r["body"]) for r in reports],
        "digests": [_digest(r["body"]) for r in reports],
    }


# --- a poll whose state grows; a big callback answer --------------------------------------


def _every_five_until_done(state: dict[str, Any], attempt: int) -> int | None:
    return None if state["done"] else 5


@durable_execution
async def growing_poll_state(event: Any) -> dict[str, Any]:
    """Collect eight 30,000-character pages of a log, one per poll: the check's state (the
    pages so far) grows to 240,000 characters, and the poll stops when it has all eight."""

    async def collect(state: dict[str, Any] | None) -> dict[str, Any]:
        pages = list((state or {}).get("pages", []))
        pages.append(os.urandom(15_000).hex())
        return {"pages": pages, "done": len(pages) >= 8}

    final = await wait_for_condition(
        collect,
        initial_state={"pages": [], "done": False},
        name="collect-log",
        polling_strategy=_every_five_until_done,
    )
    await wait(1, name="settle")
    log = "".join(final["pages"])
    return {"pages": len(final["pages"]), "chars": len(log), "digest": _digest(log)}


def big_document(rows: int) -> dict[str, Any]:
    return {
        "report": "inventory",
        "rows": [
            {"id": i, "sku": f"SKU-{i:05d}", "count": i % 13, "memo": "m" * 120}
            for i in range(rows)
        ],
    }


@durable_execution
async def big_answer(event: Any) -> dict[str, Any]:
    """A partner answers a callback with a 150 KB JSON report (raw text, SDK finding 5); a step
    totals it. A failed or timed-out callback ends the run with no report."""
    callback = await create_callback(name="report", timeout=dt.timedelta(hours=2))
    try:
        text = await callback.result()
    except CallbackError as error:
        return {"status": "no report", "why": type(error).__name__}
    document = json.loads(text) if isinstance(text, str) and text else text
    total = await step(lambda: _async(sum(r["count"] for r in document["rows"])), name="total")
    await wait(1, name="settle")
    return {"status": "done", "rows": len(document["rows"]), "total": total}


CORPUS: dict[str, dict[str, Any]] = {
    "child_result_at_limit": {"handler": child_result, "input": {"chars": CHILD_LIMIT - 2}},
    "child_result_over_limit": {"handler": child_result, "input": {"chars": CHILD_LIMIT - 1}},
    "large_steps_together": {"handler": large_steps_together},
    "large_final_result": {"handler": large_final_result, "input": {"chars": RESPONSE_LIMIT - 60}},
    "large_input": {"handler": large_input, "input": {"records": _records(1_000)}},
    "serdes_records": {"handler": serdes_records},
    "compressed_step": {"handler": compressed_step},
    "map_large_items": {"handler": map_large_items},
    "parallel_large_branches": {"handler": parallel_large_branches},
    "growing_poll_state": {"handler": growing_poll_state},
    "big_answer": {"handler": big_answer, "callbacks": {"report": big_document(1_000)}},
}
