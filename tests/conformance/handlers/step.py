"""Handlers for the step requirements (``requirements/step``, ids 1-N).

``ExpectedLogs`` (1-7, 1-17, 1-18) are not checked; the handlers still log what the requirement
says, through stdlib logging (SDK 2.5 has no ``step_context.logger``; its replay-aware log filter
plays that role). Attempts are counted with the step context's attempt number, not with an external
table.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import timedelta
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    JitterStrategy,
    RetryStrategy,
    SerDes,
    StepSemantics,
    durable_callable,
    durable_execution,
    get_step_context,
    step,
    wait,
)

logger = logging.getLogger(__name__)

NO_RETRY = RetryStrategy.none()
# Without jitter the recorded NextAttemptDelaySeconds is exactly 1.
RETRY_EVERY_SECOND = RetryStrategy(
    max_attempts=3, initial_delay=1, backoff_rate=1, jitter_strategy=JitterStrategy.NONE
)


def current_attempt() -> int:
    """The attempt number of the step that is running (1 for the first)."""
    return get_step_context().attempt or 1


class TransientError(Exception):
    """An error worth retrying."""


# 1-1, 1-2, 1-7


@durable_callable
async def greet(name: str) -> str:
    logger.info("Greeting step started for: %s", name)
    greeting = f"Hello, {name}!"
    logger.info("Greeting step completed with: %s", greeting)
    return greeting


@durable_execution
async def step_basic(event: str) -> str:
    return await step(greet(event))


@durable_execution
async def step_with_name(event: str) -> str:
    return await step(greet(event), name="custom_step_name")


# 1-3


async def step_one() -> str:
    return "first"


@durable_callable
async def step_two(previous: str) -> str:
    return f"{previous}_second"


@durable_execution
async def sequential_steps(_event: Any) -> str:
    first = await step(step_one)
    return await step(step_two(first))


# 1-4


@durable_callable
async def build_response(event: dict[str, Any]) -> dict[str, Any]:
    return {"user": {"name": event["name"], "tags": event["tags"]}, "count": len(event["tags"])}


@durable_execution
async def complex_result(event: dict[str, Any]) -> dict[str, Any]:
    return await step(build_response(event))


# 1-5


async def do_nothing() -> None:
    return None


@durable_execution
async def null_result(_event: Any) -> None:
    return await step(do_nothing)


# 1-6


def uppercase_strings(value: Any) -> Any:
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, list):
        return [uppercase_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: uppercase_strings(item) for key, item in value.items()}
    return value


class UppercaseSerDes(SerDes[Any]):
    """JSON serdes that uppercases every string value it serializes."""

    async def serialize(self, value: Any) -> str:
        return json.dumps(uppercase_strings(value))

    async def deserialize(self, data: str) -> Any:
        return json.loads(data)


@durable_callable
async def return_input(value: str) -> str:
    return value


@durable_execution
async def custom_serdes(event: str) -> str:
    return await step(return_input(event), serdes=UppercaseSerDes())


# 1-8, 1-9


async def compute() -> str:
    return "computed"


@durable_execution
async def step_then_wait(_event: Any) -> str:
    value = await step(compute)
    await wait(2)
    return value


async def cacheable() -> str:
    logger.info("step executed")
    return "cached_value"


@durable_execution
async def replay_skips_succeeded_step(_event: Any) -> str:
    value = await step(cacheable)
    await wait(1)
    return value


# 1-10, 1-19, 1-20


async def fail_permanently() -> str:
    logger.info("step executed")
    msg = "permanent failure"
    raise RuntimeError(msg)


@durable_execution
async def replay_rethrows_failed_step(_event: Any) -> None:
    try:
        await step(fail_permanently, retry_strategy=NO_RETRY)
    except CallableRuntimeError:
        logger.info("step failure caught")
    await wait(1)


@durable_execution
async def step_fails_permanently(_event: Any) -> str:
    return await step(fail_permanently, retry_strategy=NO_RETRY)


@durable_callable
async def finish_with(value: str) -> str:
    return value


@durable_execution
async def error_caught(_event: Any) -> str:
    try:
        value = await step(fail_permanently, retry_strategy=NO_RETRY)
    except CallableRuntimeError:
        value = "fallback_result"
    return await step(finish_with(value))


# 1-11


async def unreliable() -> str:
    if current_attempt() == 1:
        msg = "failed on the first attempt"
        raise RuntimeError(msg)
    return "Operation succeeded"


@durable_execution
async def retry_then_succeed(_event: Any) -> str:
    return await step(unreliable, retry_strategy=RETRY_EVERY_SECOND)


# 1-12


async def always_fail() -> str:
    msg = f"attempt {current_attempt()} failed"
    raise RuntimeError(msg)


@durable_execution
async def retry_exhaustion(_event: Any) -> str:
    four_attempts = RetryStrategy(
        max_attempts=4, initial_delay=1, backoff_rate=1, jitter_strategy=JitterStrategy.NONE
    )
    return await step(always_fail, retry_strategy=four_attempts)


# 1-13, 1-14


async def fail_twice() -> str:
    if current_attempt() <= 2:
        msg = f"attempt {current_attempt()} failed"
        raise RuntimeError(msg)
    return "succeeded on the third attempt"


@durable_execution
async def default_retry(_event: Any) -> str:
    return await step(fail_twice)


@durable_execution
async def custom_retry(_event: Any) -> str:
    backoff = RetryStrategy(
        max_attempts=5,
        initial_delay=timedelta(seconds=2),
        backoff_rate=3,
        jitter_strategy=JitterStrategy.NONE,
    )
    return await step(fail_twice, retry_strategy=backoff)


# 1-15, 1-16


async def transient_on_first_attempt() -> str:
    if current_attempt() == 1:
        msg = "temporarily unavailable"
        raise TransientError(msg)
    return "succeeded after a transient error"


@durable_execution
async def retry_specific_exception(_event: Any) -> str:
    retry_on_transient = RetryStrategy(
        max_attempts=3,
        initial_delay=1,
        jitter_strategy=JitterStrategy.NONE,
        retryable_error_types=[TransientError],
    )
    return await step(transient_on_first_attempt, retry_strategy=retry_on_transient)


def no_retry_on_transient_error(error: Exception, _attempts_made: int) -> int | None:
    return None if isinstance(error, TransientError) else 1


@durable_execution
async def non_retryable_exception(_event: Any) -> str:
    return await step(transient_on_first_attempt, retry_strategy=no_retry_on_transient_error)


# 1-17, 1-18: the sandbox dies inside the step (Lambda reports os._exit as Runtime.ExitError).
# An at-most-once step's START is checkpointed synchronously, so StepStarted is recorded first.


@durable_callable
async def at_most_once_flaky_step(value: str) -> str:
    logger.info("at_most_once_flaky_step input: %s", value)
    os._exit(1)


@durable_execution
async def at_most_once_without_retry(event: str) -> str:
    return await step(
        at_most_once_flaky_step(event),
        name="at_most_once_flaky_step",
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        retry_strategy=NO_RETRY,
    )


@durable_callable
async def crash_on_first_attempt(value: str) -> str:
    logger.info("crash_on_first_attempt input: %s", value)
    if current_attempt() == 1:
        os._exit(1)
    return "succeeded on second attempt"


@durable_execution
async def at_most_once_with_retry(event: str) -> str:
    return await step(
        crash_on_first_attempt(event),
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        retry_strategy=RETRY_EVERY_SECOND,
    )


HANDLERS = {
    "1-1": step_basic,
    "1-2": step_with_name,
    "1-3": sequential_steps,
    "1-4": complex_result,
    "1-5": null_result,
    "1-6": custom_serdes,
    "1-7": step_basic,
    "1-8": step_then_wait,
    "1-9": replay_skips_succeeded_step,
    "1-10": replay_rethrows_failed_step,
    "1-11": retry_then_succeed,
    "1-12": retry_exhaustion,
    "1-13": default_retry,
    "1-14": custom_retry,
    "1-15": retry_specific_exception,
    "1-16": non_retryable_exception,
    "1-17": at_most_once_without_retry,
    "1-18": at_most_once_with_retry,
    "1-19": step_fails_permanently,
    "1-20": error_caught,
}

CRASHES = {"1-17", "1-18"}
