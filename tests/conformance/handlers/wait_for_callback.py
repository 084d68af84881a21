"""Handlers for the wait-for-callback requirements (``requirements/wait_for_callback``, ids 7-N).

The submitter stands for handing the callback id to an external system: it reads the id and logs it.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from async_durable_execution import (
    CallbackError,
    JitterStrategy,
    JsonSerDes,
    RetryStrategy,
    durable_callable,
    durable_execution,
    get_wait_for_callback_context,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
)

logger = logging.getLogger(__name__)


async def register_callback() -> None:
    callback_id = get_wait_for_callback_context().callback_id
    logger.info("handing callback %s to the external system", callback_id)


async def failing_submitter() -> None:
    msg = "the external system rejected the callback registration"
    raise RuntimeError(msg)


async def fixed_data() -> dict[str, str]:
    return {"source": "top-level step"}


# 7-1 .. 7-5, 7-12, 7-13, 7-15


@durable_execution
async def wait_for_callback_basic(event: str) -> Any:
    return await wait_for_callback(register_callback, name=event)


@durable_execution
async def wait_for_callback_static_name(_event: Any) -> Any:
    return await wait_for_callback(register_callback, name="approval")


@durable_execution
async def wait_for_callback_anonymous(_event: Any) -> Any:
    # A partial has no __name__, so the operation is recorded without a Name.
    return await wait_for_callback(functools.partial(register_callback))


@durable_execution
async def wait_for_callback_timeout(event: str) -> Any:
    return await wait_for_callback(register_callback, name=event, timeout=3)


@durable_execution
async def wait_for_callback_heartbeat_timeout(event: str) -> Any:
    return await wait_for_callback(register_callback, name=event, heartbeat_timeout=5)


@durable_execution
async def wait_for_callback_heartbeat_then_success(event: str) -> Any:
    return await wait_for_callback(register_callback, name=event, heartbeat_timeout=10)


# 7-6, 7-14


@durable_execution
async def wait_for_callback_failure_caught(event: str) -> str:
    try:
        await wait_for_callback(register_callback, name=event)
    except CallbackError:
        return "recovered"
    return "completed"


@durable_execution
async def wait_for_callback_timeout_caught(event: str) -> str:
    try:
        await wait_for_callback(register_callback, name=event, timeout=3)
    except CallbackError:
        return "timed-out-handled"
    return "completed"


# 7-7


@durable_execution
async def wait_for_callback_submitter_exhausted(event: str) -> Any:
    two_attempts = RetryStrategy(
        max_attempts=2, initial_delay=1, backoff_rate=1, jitter_strategy=JitterStrategy.NONE
    )
    return await wait_for_callback(failing_submitter, name=event, retry_strategy=two_attempts)


# 7-8


@durable_callable
async def wrapper(name: str) -> Any:
    return await wait_for_callback(register_callback, name=name)


@durable_execution
async def wait_for_callback_in_child_context(event: str) -> Any:
    return await run_in_child_context(wrapper(event), name="wrapper")


# 7-9, 7-10, 7-11


@durable_execution
async def two_sequential_wait_for_callbacks(_event: Any) -> Any:
    await wait_for_callback(register_callback, name="first")
    return await wait_for_callback(register_callback, name="second")


@durable_execution
async def wait_step_then_wait_for_callback(event: str) -> Any:
    await wait(1)
    await step(fixed_data)
    return await wait_for_callback(register_callback, name=event)


@durable_execution
async def wait_for_callback_json_result(event: str) -> Any:
    result = await wait_for_callback(register_callback, name=event, serdes=JsonSerDes())
    return result["status"]


HANDLERS = {
    "7-1": wait_for_callback_basic,
    "7-2": wait_for_callback_static_name,
    "7-3": wait_for_callback_anonymous,
    "7-4": wait_for_callback_basic,
    "7-5": wait_for_callback_timeout,
    "7-6": wait_for_callback_failure_caught,
    "7-7": wait_for_callback_submitter_exhausted,
    "7-8": wait_for_callback_in_child_context,
    "7-9": two_sequential_wait_for_callbacks,
    "7-10": wait_step_then_wait_for_callback,
    "7-11": wait_for_callback_json_result,
    "7-12": wait_for_callback_heartbeat_timeout,
    "7-13": wait_for_callback_heartbeat_then_success,
    "7-14": wait_for_callback_timeout_caught,
    "7-15": wait_for_callback_basic,
}

CRASHES: set[str] = set()
