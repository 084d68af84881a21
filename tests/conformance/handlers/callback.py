"""Handlers for the create-callback requirements (``requirements/callback``, ids 4-N).

A callback's result is the raw payload string the external system sent (the SDK's default callback
serdes passes it through), unless the requirement configures a deserializer (4-15, 4-16).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from async_durable_execution import (
    CallbackError,
    SerDes,
    create_callback,
    durable_execution,
    step,
    wait,
)

logger = logging.getLogger(__name__)


async def do_work() -> str:
    return "work done"


# 4-1 .. 4-6


@durable_execution
async def callback_basic(event: str) -> Any:
    callback = await create_callback(name=event)
    return await callback.result()


@durable_execution
async def callback_with_name(_event: Any) -> Any:
    callback = await create_callback(name="approval")
    return await callback.result()


@durable_execution
async def callback_timeout(event: str) -> Any:
    callback = await create_callback(name=event, timeout=5)
    return await callback.result()


@durable_execution
async def callback_heartbeat_timeout(event: str) -> Any:
    callback = await create_callback(name=event, heartbeat_timeout=5)
    return await callback.result()


@durable_execution
async def callback_heartbeat_then_success(event: str) -> Any:
    callback = await create_callback(name=event, heartbeat_timeout=10)
    return await callback.result()


# 4-7, 4-8


@durable_execution
async def callback_step_then_result(event: str) -> Any:
    callback = await create_callback(name=event)
    await step(do_work)
    return await callback.result()


@durable_execution
async def callback_timeout_step_then_result(event: str) -> Any:
    callback = await create_callback(name=event, timeout=5)
    await step(do_work)
    return await callback.result()


# 4-9 .. 4-11


@durable_execution
async def callback_wait_then_result(event: str) -> Any:
    callback = await create_callback(name=event)
    await wait(5)
    return await callback.result()


@durable_execution
async def callback_times_out_during_wait(event: str) -> Any:
    callback = await create_callback(name=event, timeout=3)
    await wait(6)
    return await callback.result()


# 4-12 .. 4-14


@durable_execution
async def callback_result_then_wait(event: str) -> Any:
    callback = await create_callback(name=event)
    result = await callback.result()
    await wait(2)
    return result


@durable_execution
async def callback_failure_caught_then_wait(event: str) -> str:
    callback = await create_callback(name=event)
    try:
        await callback.result()
        message = "callback succeeded"
    except CallbackError as error:
        message = f"callback failed: {error}"
    await wait(2)
    return message


@durable_execution
async def callback_timeout_caught_then_wait(event: str) -> str:
    callback = await create_callback(name=event, timeout=3)
    try:
        await callback.result()
        message = "callback succeeded"
    except CallbackError as error:
        message = f"callback timed out: {error}"
    await wait(2)
    return message


# 4-15, 4-16


@dataclass(frozen=True)
class ReceivedMessage:
    id: str
    message: str
    timestamp: datetime


class ReceivedMessageSerDes(SerDes[ReceivedMessage]):
    """Reads the callback's JSON payload into a typed message with a datetime timestamp."""

    async def serialize(self, value: ReceivedMessage) -> str:
        return json.dumps(
            {"id": value.id, "message": value.message, "timestamp": value.timestamp.isoformat()}
        )

    async def deserialize(self, data: str) -> ReceivedMessage:
        raw = json.loads(data)
        return ReceivedMessage(
            id=raw["id"],
            message=raw["message"],
            timestamp=datetime.fromisoformat(raw["timestamp"]),
        )


@durable_execution
async def callback_typed_serdes(event: str) -> dict[str, Any]:
    callback = await create_callback(name=event, serdes=ReceivedMessageSerDes())
    received = await callback.result()
    assert received is not None
    return {
        "received": {
            "id": received.id,
            "message": received.message,
            "timestamp": int(received.timestamp.timestamp()),
        }
    }


class IntegerSerDes(SerDes[int]):
    """Reads the callback's payload as a number."""

    async def serialize(self, value: int) -> str:
        return json.dumps(value)

    async def deserialize(self, data: str) -> int:
        return int(json.loads(data))


@durable_execution
async def callback_numeric_serdes(event: str) -> dict[str, int]:
    callback = await create_callback(name=event, serdes=IntegerSerDes())
    count = await callback.result()
    assert count is not None
    return {"count": count, "doubled": count * 2}


# 4-17 .. 4-19


@durable_execution
async def two_callbacks_sequential(event: list[str]) -> list[Any]:
    first = await create_callback(name=event[0])
    first_result = await first.result()
    second = await create_callback(name=event[1])
    return [first_result, await second.result()]


@durable_execution
async def two_callbacks_in_order(event: list[str]) -> list[Any]:
    first = await create_callback(name=event[0])
    second = await create_callback(name=event[1])
    first_result = await first.result()
    return [first_result, await second.result()]


@durable_execution
async def two_callbacks_in_reverse_order(event: list[str]) -> list[Any]:
    first = await create_callback(name=event[0])
    second = await create_callback(name=event[1])
    second_result = await second.result()
    return [await first.result(), second_result]


HANDLERS = {
    "4-1": callback_basic,
    "4-2": callback_with_name,
    "4-3": callback_timeout,
    "4-4": callback_heartbeat_timeout,
    "4-5": callback_heartbeat_then_success,
    "4-6": callback_basic,
    "4-7": callback_step_then_result,
    "4-8": callback_timeout_step_then_result,
    "4-9": callback_wait_then_result,
    "4-10": callback_wait_then_result,
    "4-11": callback_times_out_during_wait,
    "4-12": callback_result_then_wait,
    "4-13": callback_failure_caught_then_wait,
    "4-14": callback_timeout_caught_then_wait,
    "4-15": callback_typed_serdes,
    "4-16": callback_numeric_serdes,
    "4-17": two_callbacks_sequential,
    "4-18": two_callbacks_in_order,
    "4-19": two_callbacks_in_reverse_order,
}

CRASHES: set[str] = set()
