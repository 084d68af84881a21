"""Handlers for the child-context requirements (``requirements/child``, ids 3-N).

``ExpectedLogs`` (3-11, 3-17) are not checked; the child bodies still log the input through stdlib
logging. The SDK's log filter drops records while replaying, so the "replay logging enabled" part of
those requirements has no counterpart here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    JitterStrategy,
    RetryStrategy,
    SerDes,
    durable_callable,
    durable_execution,
    get_durable_context,
    get_step_context,
    run_in_child_context,
    step,
    wait,
)

logger = logging.getLogger(__name__)

NO_RETRY = RetryStrategy.none()


def retry_every_second(max_attempts: int) -> RetryStrategy:
    return RetryStrategy(
        max_attempts=max_attempts,
        initial_delay=1,
        backoff_rate=1,
        jitter_strategy=JitterStrategy.NONE,
    )


@durable_callable
async def echo(value: Any) -> Any:
    return value


async def fail() -> None:
    msg = "step failed inside the child context"
    raise RuntimeError(msg)


# 3-1, 3-2, 3-9


@durable_callable
async def single_step_child(value: str) -> str:
    return await step(echo(value))


@durable_execution
async def child_basic(event: str) -> str:
    return await run_in_child_context(single_step_child(event))


@durable_execution
async def child_with_name(event: dict[str, str]) -> str:
    return await run_in_child_context(single_step_child(event["value"]), name=event["name"])


@durable_execution
async def child_replay(event: str) -> str:
    result = await run_in_child_context(single_step_child(event))
    await wait(1)
    return result


# 3-3


@durable_callable
async def two_step_child(value: str) -> str:
    first = await step(echo(value))
    return await step(echo(first))


@durable_execution
async def child_multiple_steps(event: str) -> str:
    return await run_in_child_context(two_step_child(event))


# 3-4, 3-5


async def failing_step_child() -> None:
    await step(fail, retry_strategy=NO_RETRY)


@durable_execution
async def child_error(_event: Any) -> None:
    await run_in_child_context(failing_step_child)


@durable_execution
async def child_error_caught(event: str) -> str:
    try:
        await run_in_child_context(failing_step_child)
    except CallableRuntimeError:
        logger.info("child context failure caught")
    return await step(echo(event))


# 3-6


@durable_callable
async def outer_child(value: str) -> str:
    await step(echo(value))
    return await run_in_child_context(single_step_child(value))


@durable_execution
async def nested_children(event: str) -> str:
    return await run_in_child_context(outer_child(event))


# 3-7, 3-8


@durable_callable
async def fail_on_first_attempt(value: str) -> str:
    if get_step_context().attempt == 1:
        msg = "failed on the first attempt"
        raise RuntimeError(msg)
    return value


@durable_callable
async def retrying_child(value: str) -> str:
    return await step(fail_on_first_attempt(value), retry_strategy=retry_every_second(3))


@durable_execution
async def child_step_retry(event: str) -> str:
    return await run_in_child_context(retrying_child(event))


async def exhausting_child() -> None:
    await step(fail, retry_strategy=retry_every_second(2))


@durable_execution
async def child_retry_exhaustion(_event: Any) -> None:
    await run_in_child_context(exhausting_child)


# 3-10, 3-18


@durable_callable
async def step_and_wait_child(value: str) -> str:
    result = await step(echo(value))
    await wait(1)
    return result


@durable_execution
async def child_step_and_wait(event: str) -> str:
    return await run_in_child_context(step_and_wait_child(event))


@durable_execution
async def child_then_step_and_wait(event: str) -> str:
    await run_in_child_context(step_and_wait_child(event))
    result = await step(echo(event))
    await wait(1)
    return result


# 3-11: the child's result is over the 256 KiB checkpoint limit, so the SDK checkpoints
# ContextSucceeded with ReplayChildren and rebuilds the result by re-running the child on replay.

LARGE_RESULT_BYTES = 300 * 1024


@durable_callable
async def large_result_child(value: str) -> str:
    logger.info("building a large result from %s", value)
    small = await step(echo(value))
    return small * (LARGE_RESULT_BYTES // len(small) + 1)


@durable_execution
async def child_large_payload(event: str) -> int:
    large = await run_in_child_context(large_result_child(event))
    await wait(1)
    return len(large)


# 3-12: the sandbox dies inside the step, after ContextStarted and StepStarted are recorded.


@durable_callable
async def crash_then_echo(value: str, *, crash: bool) -> str:
    if crash:
        # At-least-once step and child-context STARTs are queued, not sent; an empty synchronous
        # checkpoint flushes them so the service records both before the process exits.
        await get_step_context().execution_state.create_checkpoint()
        os._exit(1)
    return value


@durable_callable
async def interrupted_child(value: str, *, crash: bool) -> str:
    return await step(crash_then_echo(value, crash=crash))


@durable_execution
async def child_interrupted(event: str) -> str:
    # Only the first invocation crashes: a re-invocation replays the checkpointed operations.
    first_invocation = not get_durable_context().is_replaying()
    return await run_in_child_context(interrupted_child(event, crash=first_invocation))


# 3-13


@durable_callable
async def waiting_child(value: str) -> str:
    await wait(1)
    return value


@durable_execution
async def child_wait_replay(event: str) -> str:
    await run_in_child_context(waiting_child(event))
    return await step(echo(event))


# 3-14


class UppercaseSerDes(SerDes[str]):
    """Stores a string result uppercased, as raw text rather than JSON."""

    async def serialize(self, value: str) -> str:
        return value.upper()

    async def deserialize(self, data: str) -> str:
        return data


@durable_execution
async def child_custom_serdes(event: str) -> str:
    return await run_in_child_context(single_step_child(event), serdes=UppercaseSerDes())


# 3-15, 3-16, 3-17


async def raising_child() -> None:
    msg = "error thrown directly in the child body"
    raise ValueError(msg)


@durable_execution
async def child_error_without_step(_event: Any) -> None:
    await run_in_child_context(raising_child)


async def null_child() -> None:
    return None


@durable_execution
async def child_null_result(_event: Any) -> None:
    return await run_in_child_context(null_child)


@durable_callable
async def logging_child(value: str) -> str:
    logger.info("child context received %s", value)
    return value


@durable_execution
async def child_logger_only(event: str) -> str:
    result = await run_in_child_context(logging_child(event))
    await wait(1)
    return result


HANDLERS = {
    "3-1": child_basic,
    "3-2": child_with_name,
    "3-3": child_multiple_steps,
    "3-4": child_error,
    "3-5": child_error_caught,
    "3-6": nested_children,
    "3-7": child_step_retry,
    "3-8": child_retry_exhaustion,
    "3-9": child_replay,
    "3-10": child_step_and_wait,
    "3-11": child_large_payload,
    "3-12": child_interrupted,
    "3-13": child_wait_replay,
    "3-14": child_custom_serdes,
    "3-15": child_error_without_step,
    "3-16": child_null_result,
    "3-17": child_logger_only,
    "3-18": child_then_step_and_wait,
}

CRASHES = {"3-12"}
