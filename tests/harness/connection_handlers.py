"""Handlers for ``test_retired_sandboxes.py``: correct handlers that keep an HTTP client in
module state, as the clients' own documentation recommends for Lambda (one client per
sandbox, its pooled keep-alive connections reused by every invocation the sandbox serves).

Each calls ``http_clients_services``' loopback server in two invocations (a wait between), so
its sandbox holds an idle pooled connection when a cold start retires it.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import connection_registry
import http_clients_services as service
import httpx
from async_durable_execution import durable_execution, step, wait

__all__ = [
    "ASYNC_CLIENT",
    "SYNC_CLIENT",
    "aiohttp_session",
    "async_client",
    "async_client_recorded",
    "sync_client",
]

#: Made at import: a cold sandbox makes its own.
ASYNC_CLIENT = httpx.AsyncClient(timeout=5)
SYNC_CLIENT = httpx.Client(timeout=5)
#: Made on first use (an ``aiohttp`` session belongs to the loop it is made on).
_SESSIONS: list[aiohttp.ClientSession] = []


async def _quote_async(item: str) -> int:
    response = await ASYNC_CLIENT.get(f"{service.base_url()}/quote", params={"item": item})
    return int(response.json()["price"])


async def _quote_slowly(item: str) -> int:
    # A long poll: a sandbox that dies meanwhile leaves the request in flight.
    await ASYNC_CLIENT.get(f"{service.base_url()}/slow", params={"ms": "30"})
    return await _quote_async(item)


@durable_execution
async def async_client(event: Any) -> dict[str, Any]:
    first = await step(lambda: _quote_slowly("lamp"), name="first")
    await wait(60, name="between")
    second = await step(lambda: _quote_async("desk"), name="second")
    return {"first": first, "second": second}


async def _quote_sync(item: str) -> int:
    response = SYNC_CLIENT.get(f"{service.base_url()}/quote", params={"item": item})
    return int(response.json()["price"])


@durable_execution
async def sync_client(event: Any) -> dict[str, Any]:
    first = await step(lambda: _quote_sync("lamp"), name="first")
    await wait(60, name="between")
    second = await step(lambda: _quote_sync("desk"), name="second")
    return {"first": first, "second": second}


async def _quote_aiohttp(item: str) -> int:
    if not _SESSIONS:
        _SESSIONS.append(aiohttp.ClientSession())
    url = f"{service.base_url()}/quote"
    async with _SESSIONS[0].get(url, params={"item": item}) as response:
        return int((await response.json())["price"])


@durable_execution
async def aiohttp_session(event: Any) -> dict[str, Any]:
    first = await step(lambda: _quote_aiohttp("lamp"), name="first")
    await wait(60, name="between")
    second = await step(lambda: _quote_aiohttp("desk"), name="second")
    return {"first": first, "second": second}


@durable_execution
async def async_client_recorded(event: Any) -> dict[str, Any]:
    """``async_client``, which also registers its quote function with a record outside the
    sandbox (as a callback is registered with a test double): the function holds its
    module's state past the sandbox's retirement, as a traceback's frames do."""
    if _quote_async not in connection_registry.SEEN:
        connection_registry.SEEN.append(_quote_async)
    first = await step(lambda: _quote_slowly("lamp"), name="first")
    await wait(60, name="between")
    second = await step(lambda: _quote_async("desk"), name="second")
    return {"first": first, "second": second}
