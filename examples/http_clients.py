"""Correct handlers whose steps talk HTTP to a real server (the session-41 false-flag audit).

Most Lambda code calls its partners over HTTP, with ``requests`` (blocking, on the loop's
thread or on threads) or ``aiohttp`` (on the event loop). Here every call crosses a real
socket to a real server on loopback (``http_clients_services.py``, a ``ThreadingHTTPServer``
whose threads serve one connection each), so the runner's virtual-time loop meets real I/O,
real server threads and a client library's own timers and back-off sleeps:

- ``session_with_retries``: a module-level ``requests.Session`` (its pooled keep-alive
  connections outlive the invocation, as in a warm sandbox) whose adapter retries ``503``
  answers with urllib3's ``Retry`` (its back-off a ``time.sleep`` on the loop's thread),
  quotes fetched step by step, an hour's wait, then a flaky endpoint that answers ``503``
  twice before it answers;
- ``aiohttp_map_then_post``: a ``map`` whose items, two at a time, each open an
  ``aiohttp.ClientSession`` under a ``ClientTimeout`` and make two requests (one of them
  a long poll, 100 ms for the first item, 200 for the second, ...: answers that arrive
  close together reach the loop in the order they arrive, which would make the history's
  order a race of the network; see the findings' traps), a half-hour wait, then an order
  ``POST``ed with an ``Idempotency-Key`` (the service creates it once per key: a re-run is
  answered the same order);
- ``pool_and_thread_fetches``: quotes fetched at once by a ``ThreadPoolExecutor`` the body
  makes (``pool.map`` of ``requests.get``), then a 300 ms long poll through
  ``asyncio.to_thread`` under ``asyncio.wait_for``;
- ``long_poll_under_timeouts``: a 2.2 s long poll through ``aiohttp`` under a 5 s
  ``ClientTimeout`` (the server's thread sleeps longer than a short pause of the loop's
  reckoning: the loop must wait for the socket, not jump the time-out), and a request
  written by hand on asyncio's own streams under ``asyncio.wait_for``.

Every one is correct durable code: each request's effect is keyed by what it asks (a price
is a function of the item, an order of its key), so running a body again from any point ends
in the same service state and the same result, a function of the input only. No oracle may
flag any of them under any fault plan or timing (``tests/harness/test_http_clients_corpus.py``
at CI size; ``benchmarks/same_world.py --corpus http-clients`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import http_clients_services as service
import requests
from async_durable_execution import durable_execution, step, wait
from async_durable_execution import map as durable_map
from http_clients_services import reset
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = ["CORPUS", "reset"]

#: Module-level, as Lambda code keeps its HTTP session (and its pool) warm across invocations.
SESSION = requests.Session()
SESSION.mount(
    "http://",
    HTTPAdapter(
        max_retries=Retry(
            total=4, backoff_factor=0.05, status_forcelist=[503], allowed_methods=None
        )
    ),
)


# --- a pooled session whose adapter retries --------------------------------------------------


async def _quote(item: str) -> int:
    answer = SESSION.get(f"{service.base_url()}/quote", params={"item": item}, timeout=5)
    answer.raise_for_status()
    return int(answer.json()["price"])


async def _flaky(key: str) -> bool:
    answer = SESSION.get(f"{service.base_url()}/flaky", params={"key": key, "fail": "2"}, timeout=5)
    answer.raise_for_status()
    return bool(answer.json()["ok"])


@durable_execution
async def session_with_retries(event: Any) -> dict[str, Any]:
    prices = []
    for item in event["items"]:
        prices.append(await step(lambda item=item: _quote(item), name=f"quote-{item}"))
    await wait(3600, name="an-hour")
    answered = await step(lambda: _flaky(event["key"]), name="flaky")
    return {"total": sum(prices), "answered": answered}


# --- aiohttp in map items, then an idempotent POST --------------------------------------------


async def _fetch(item: str, ms: int) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        async with session.get(f"{service.base_url()}/slow", params={"ms": str(ms)}) as answer:
            slept = (await answer.json())["slept"]
        async with session.get(f"{service.base_url()}/quote", params={"item": item}) as answer:
            return int((await answer.json())["price"]) + int(slept)


async def _post_order(key: str, amounts: list[int]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.post(
            f"{service.base_url()}/orders",
            json={"amounts": amounts},
            headers={"Idempotency-Key": key},
        ) as answer,
    ):
        answer.raise_for_status()
        order: dict[str, Any] = await answer.json()
        return order


@durable_execution
async def aiohttp_map_then_post(event: Any) -> dict[str, Any]:
    items = list(event["items"])

    async def fetch(item: str) -> int:
        ms = 100 * (items.index(item) + 1)
        return await step(lambda: _fetch(item, ms), name=f"fetch-{item}")

    batch = await durable_map(fetch, items, name="fetches", max_concurrency=2)
    amounts = batch.get_results()
    await wait(1800, name="half-an-hour")
    order = await step(lambda: _post_order(event["order"], amounts), name="post-order")
    return {"amounts": amounts, "order": order["id"], "total": order["total"]}


# --- a pool of blocking requests, and one through a thread -----------------------------------


async def _fetch_all(items: list[str]) -> list[int]:
    def one(item: str) -> int:
        answer = requests.get(f"{service.base_url()}/quote", params={"item": item}, timeout=5)
        return int(answer.json()["price"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, items))


async def _slow_through_a_thread() -> int:
    answer = await asyncio.wait_for(
        asyncio.to_thread(
            requests.get, f"{service.base_url()}/slow", params={"ms": "300"}, timeout=5
        ),
        10,
    )
    return int(answer.json()["slept"])


@durable_execution
async def pool_and_thread_fetches(event: Any) -> dict[str, Any]:
    prices = await step(lambda: _fetch_all(event["items"]), name="fetch-all")
    slept = await step(_slow_through_a_thread, name="slow")
    return {"prices": prices, "slept": slept}


# --- long polls under time-outs ---------------------------------------------------------------


async def _long_poll(ms: int) -> int:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(f"{service.base_url()}/slow", params={"ms": str(ms)}) as answer,
    ):
        return int((await answer.json())["slept"])


async def _by_hand(ms: int) -> int:
    """A request written on asyncio's own streams, as a minimal client does."""
    host, port = service.base_url().removeprefix("http://").split(":")

    async def exchange() -> int:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(
                f"GET /slow?ms={ms} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
        return int(json.loads(raw.split(b"\r\n\r\n", 1)[1])["slept"])

    return await asyncio.wait_for(exchange(), 5)


@durable_execution
async def long_poll_under_timeouts(event: Any) -> dict[str, Any]:
    polled = await step(lambda: _long_poll(event["poll_ms"]), name="long-poll")
    by_hand = await step(lambda: _by_hand(event["by_hand_ms"]), name="by-hand")
    return {"polled": polled, "by_hand": by_hand}


CORPUS: dict[str, dict[str, Any]] = {
    "session_with_retries": {
        "handler": session_with_retries,
        "input": {"items": ["lamp", "sofa", "mug"], "key": "stock-feed"},
        "before_run": reset,
    },
    "aiohttp_map_then_post": {
        "handler": aiohttp_map_then_post,
        "input": {"items": ["north", "east", "south"], "order": "order-17"},
        "before_run": reset,
    },
    "pool_and_thread_fetches": {
        "handler": pool_and_thread_fetches,
        "input": {"items": ["pen", "ink", "pad", "cap"]},
        "before_run": reset,
    },
    "long_poll_under_timeouts": {
        "handler": long_poll_under_timeouts,
        "input": {"poll_ms": 2200, "by_hand_ms": 300},
        "before_run": reset,
    },
}
