"""Handlers for the chained-invoke requirements (``requirements/invoke``, ids 5-N).

The invoked functions live here too; ``FUNCTIONS`` maps each requirement id to the functions its
handler calls by name.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    SerDes,
    durable_callable,
    durable_execution,
    invoke,
    run_in_child_context,
    step,
    wait,
)

logger = logging.getLogger(__name__)

ECHO = "echo-function"
SECOND_ECHO = "second-echo-function"
FAILING = "failing-function"
MEASURING = "measuring-function"

# Close to, but under, the 256 KiB payload limit of an asynchronous Lambda invocation.
LARGE_PAYLOAD_CHARS = 250 * 1024


# Invoked functions


@durable_execution
async def echo_target(event: Any) -> Any:
    return event


@durable_execution
async def failing_target(_event: Any) -> None:
    msg = "target function error"
    raise RuntimeError(msg)


@durable_execution
async def measuring_target(event: str) -> dict[str, int]:
    return {"receivedChars": len(event)}


# 5-1 .. 5-4, 5-8


@durable_execution
async def invoke_echo(event: Any) -> Any:
    return await invoke(ECHO, event)


@durable_execution
async def invoke_with_name(event: dict[str, str]) -> Any:
    return await invoke(ECHO, event["payload"], name=event["name"])


@durable_execution
async def invoke_with_tenant_id(event: dict[str, str]) -> Any:
    return await invoke(ECHO, event["payload"], tenant_id=event["tenantId"])


# 5-5, 5-6, 5-10


@durable_execution
async def invoke_failing(event: Any) -> Any:
    return await invoke(FAILING, event)


@durable_execution
async def invoke_failing_caught(event: Any) -> str:
    try:
        await invoke(FAILING, event)
    except CallableRuntimeError:
        return "fallback"
    return "target succeeded"


@durable_execution
async def invoke_failure_replayed(event: Any) -> str:
    try:
        await invoke(FAILING, event)
        outcome = "target succeeded"
    except CallableRuntimeError as error:
        outcome = f"caught: {error}"
    await wait(1)
    return outcome


# 5-7


@durable_execution
async def invoke_large_payload(_event: Any) -> Any:
    return await invoke(MEASURING, "x" * LARGE_PAYLOAD_CHARS)


# 5-9


@durable_execution
async def invoke_then_wait(event: Any) -> Any:
    result = await invoke(ECHO, event)
    await wait(1)
    return result


# 5-11, 5-12


async def produce() -> str:
    return "step result"


@durable_callable
async def process(value: Any) -> str:
    return f"processed {value}"


@durable_execution
async def step_then_invoke(_event: Any) -> Any:
    value = await step(produce)
    return await invoke(ECHO, value)


@durable_execution
async def invoke_then_step(_event: Any) -> str:
    result = await invoke(ECHO, "invoke result")
    return await step(process(result))


# 5-13


@durable_callable
async def invoking_child(payload: Any) -> Any:
    return await invoke(ECHO, payload)


@durable_execution
async def invoke_in_child_context(event: Any) -> Any:
    return await run_in_child_context(invoking_child(event))


# 5-14


@durable_execution
async def sequential_invokes(_event: Any) -> list[Any]:
    first = await invoke(ECHO, "first")
    second = await invoke(SECOND_ECHO, "second")
    return [first, second]


# 5-15, 5-16


def uppercase_strings(value: Any) -> Any:
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, list):
        return [uppercase_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: uppercase_strings(item) for key, item in value.items()}
    return value


class UppercasePayloadSerDes(SerDes[Any]):
    """Sends the payload as JSON with every string value uppercased."""

    async def serialize(self, value: Any) -> str:
        return json.dumps(uppercase_strings(value))

    async def deserialize(self, data: str) -> Any:
        return json.loads(data)


class UppercaseResultSerDes(SerDes[str]):
    """Reads the result as its raw JSON text, uppercased."""

    async def serialize(self, value: str) -> str:
        return value

    async def deserialize(self, data: str) -> str:
        return data.upper()


@durable_execution
async def invoke_custom_payload_serdes(event: Any) -> Any:
    return await invoke(ECHO, event, serdes_payload=UppercasePayloadSerDes())


@durable_execution
async def invoke_custom_result_serdes(event: Any) -> Any:
    return await invoke(ECHO, event, serdes_result=UppercaseResultSerDes())


HANDLERS = {
    "5-1": invoke_echo,
    "5-2": invoke_with_name,
    "5-3": invoke_echo,
    "5-4": invoke_echo,
    "5-5": invoke_failing,
    "5-6": invoke_failing_caught,
    "5-7": invoke_large_payload,
    "5-8": invoke_with_tenant_id,
    "5-9": invoke_then_wait,
    "5-10": invoke_failure_replayed,
    "5-11": step_then_invoke,
    "5-12": invoke_then_step,
    "5-13": invoke_in_child_context,
    "5-14": sequential_invokes,
    "5-15": invoke_custom_payload_serdes,
    "5-16": invoke_custom_result_serdes,
}

FUNCTIONS: dict[str, dict[str, Any]] = {
    "5-1": {ECHO: echo_target},
    "5-2": {ECHO: echo_target},
    "5-3": {ECHO: echo_target},
    "5-4": {ECHO: echo_target},
    "5-5": {FAILING: failing_target},
    "5-6": {FAILING: failing_target},
    "5-7": {MEASURING: measuring_target},
    "5-8": {ECHO: echo_target},
    "5-9": {ECHO: echo_target},
    "5-10": {FAILING: failing_target},
    "5-11": {ECHO: echo_target},
    "5-12": {ECHO: echo_target},
    "5-13": {ECHO: echo_target},
    "5-14": {ECHO: echo_target, SECOND_ECHO: echo_target},
    "5-15": {ECHO: echo_target},
    "5-16": {ECHO: echo_target},
}

CRASHES: set[str] = set()
