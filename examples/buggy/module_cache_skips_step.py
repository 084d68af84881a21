"""Bug: caching a step's result in a module global skips the step on warm re-invocations.

Operation ids are positional, so when a warm sandbox skips the "fetch-token" step, every
later operation shifts onto the wrong checkpoint: the wait asks for the step's id. The SDK
already caches step results; the fix always calls the step.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import durable_callable, durable_execution, step, wait

_TOKEN_CACHE: dict[str, str] = {}


def reset() -> None:
    _TOKEN_CACHE.clear()


@durable_callable
async def fetch_token() -> str:
    return "token-123"


@durable_callable
async def use_token(token: str) -> str:
    return f"used {token}"


@durable_execution
async def buggy(event: Any) -> str:
    if "token" not in _TOKEN_CACHE:  # BUG: a warm sandbox skips the step on replay
        _TOKEN_CACHE["token"] = await step(fetch_token(), name="fetch-token")
    await wait(60, name="pause")
    return await step(use_token(_TOKEN_CACHE["token"]), name="use-token")


@durable_execution
async def fixed(event: Any) -> str:
    token = await step(fetch_token(), name="fetch-token")
    await wait(60, name="pause")
    return await step(use_token(token), name="use-token")
