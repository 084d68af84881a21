"""Wrong twins of ``examples/asyncio_ecosystem.py``'s handlers: realistic asyncio mistakes in
and around durable operations (``test_asyncio_ecosystem_corpus.py`` shows each flagged, or
failing, in the world that exposes it).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any

import asyncio_ecosystem_services as services
from async_durable_execution import durable_execution, step, wait
from asyncio_ecosystem import CORRELATION, FLAKY


async def _value(value: Any) -> Any:
    return value


async def _charge(cents: int) -> str:
    # The correlation id doubles as the partner's idempotency key.
    return f"charged {cents} under {CORRELATION.get()}"


@durable_execution
async def correlation_drawn(event: Any) -> dict[str, Any]:
    """Wrong: a caller that sends no correlation id gets one drawn at the handler's start,
    outside a step, so every invocation (every replay) draws another, and the charge's
    idempotency key changes under a retry."""
    header = event.get("headers", {}).get("x-correlation-id")
    CORRELATION.set(header or f"gen-{uuid.uuid4().hex[:12]}")
    charged = await step(functools.partial(_charge, event["cents"]), name="charge")
    await wait(30, name="settle")
    receipt = await step(lambda: _value(f"receipt for {CORRELATION.get()}"), name="receipt")
    return {"charged": charged, "receipt": receipt}


@durable_execution
async def cursor_in_closure(event: Any) -> dict[str, Any]:
    """Wrong: one step per page, the cursor advanced from inside the step body (``nonlocal``).
    A replayed step hands back its page without running its body, so after a re-invocation
    the cursor is where it started and the next live step fetches the first page again."""
    cursor: int | None = 0
    items: list[str] = []

    async def fetch() -> list[str]:
        nonlocal cursor
        assert cursor is not None
        page = await services.LISTING.page(event["listing"], cursor)
        cursor = page["next"]
        return list(page["items"])

    number = 0
    while cursor is not None:
        items.extend(await step(fetch, name=f"page-{number}"))
        number += 1
    return {"items": items}


def _transform(row: str) -> str:
    if row.endswith("-4"):
        msg = f"malformed row {row}"
        raise ValueError(msg)
    return row.upper()


async def _join_pipeline(listing: str) -> list[str]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    out: list[str] = []

    async def worker() -> None:
        while True:
            row = await queue.get()
            out.append(_transform(row))  # a malformed row kills the worker here ...
            queue.task_done()  # ... before it marks the row done

    workers = [asyncio.create_task(worker()) for _ in range(2)]
    page = await services.LISTING.page(listing, 0, size=6, pages=1)
    for row in page["items"]:
        queue.put_nowait(row)
    await queue.join()  # the docs' pattern: waits for a task_done per row, for ever
    for task in workers:
        task.cancel()
    return sorted(out)


@durable_execution
async def join_without_task_done(event: Any) -> dict[str, Any]:
    """Wrong: workers in a step mark each row done after transforming it, and the step waits
    for ``queue.join()``; a malformed row kills its worker (an exception in a task nobody
    awaits is only logged) before ``task_done()``, and the join waits for ever: on Lambda the
    invocation runs into the function's timeout, every time."""
    rows = await step(functools.partial(_join_pipeline, event["listing"]), name="transform")
    await wait(30, name="publish-window")
    return {"rows": rows}


async def _quote_within(sku: str) -> int:
    async with asyncio.timeout(30_000):  # meant 30,000 ms: it is 30,000 s
        return await services.PARTNERS.quote("acme", sku)


def arm_long_stall() -> None:
    services.reset()
    services.PARTNERS.slow_first = {"desk"}
    services.PARTNERS.stall = 1200.0


@durable_execution
async def timeout_in_milliseconds(event: Any) -> dict[str, Any]:
    """Wrong: the partner call's bound was carried over from a configuration in milliseconds
    (``timeoutMs: 30000``), so a partner that stalls for 20 minutes outlasts the function's
    timeout (900 s) instead of failing the step at 30 s."""
    quote = await step(functools.partial(_quote_within, event["sku"]), name="quote")
    await wait(45, name="hold")
    return {"quote": quote}


async def _three_quotes_grouped(sku: str) -> dict[str, int]:
    async with asyncio.TaskGroup() as group:
        tasks = {
            partner: group.create_task(services.PARTNERS.quote(partner, sku))
            for partner in ("acme", "globex", "initech")
        }
    return {partner: task.result() for partner, task in tasks.items()}


@durable_execution
async def taskgroup_not_unwrapped(event: Any) -> dict[str, Any]:
    """Wrong: ``asyncio_ecosystem.taskgroup_fanout`` without the ``except*``: a partner's
    refusal reaches the step as an ``ExceptionGroup``, which a retry strategy that retries
    ``ConnectionError`` does not retry, so one 503 fails the execution."""
    offers = {}
    for sku in event["skus"]:
        offers[sku] = await step(
            functools.partial(_three_quotes_grouped, sku),
            name=f"quotes-{sku}",
            retry_strategy=FLAKY,
        )
    return {"offers": offers}
