"""Handlers that kill their sandbox (``os._exit``), for ``isolation="process"`` tests.

They live at module level in a module of their own because a worker process imports them by
module and qualified name. Run in-process, they would take the test process down with them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from async_durable_execution import (
    JitterStrategy,
    RetryStrategy,
    StepSemantics,
    durable_callable,
    durable_execution,
    get_step_context,
    invoke,
    run_in_child_context,
    step,
    wait,
)

NO_RETRY = RetryStrategy.none()
RETRY_EVERY_SECOND = RetryStrategy(
    max_attempts=3, initial_delay=1, backoff_rate=1, jitter_strategy=JitterStrategy.NONE
)


def first_time(marker_dir: str, name: str) -> bool:
    """True the first time it is asked (per marker directory and name): the marker is written
    before the caller crashes, so the re-invocation finds it."""
    marker = Path(marker_dir) / name
    if marker.exists():
        return False
    marker.touch()
    return True


# 1-17: an at-most-once step without retries dies; the replay sees it STARTED, the SDK raises
# StepInterruptedError, no retry is left: StepFailed, the execution fails.


@durable_callable
async def exit_in_step(value: str) -> str:
    os._exit(1)


@durable_execution
async def at_most_once_without_retry(event: str) -> str:
    return await step(
        exit_in_step(event),
        name="at_most_once_flaky_step",
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        retry_strategy=NO_RETRY,
    )


# 1-18: the same step with a retry strategy dies on its first attempt only.


@durable_callable
async def exit_on_first_attempt(value: str) -> str:
    if (get_step_context().attempt or 1) == 1:
        os._exit(1)
    return "succeeded on second attempt"


@durable_execution
async def at_most_once_with_retry(event: str) -> str:
    return await step(
        exit_on_first_attempt(event),
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        retry_strategy=RETRY_EVERY_SECOND,
    )


# 3-12: an at-least-once step inside a child context dies after ContextStarted and StepStarted
# are recorded; the re-invocation runs the step again and it succeeds.


@durable_callable
async def echo_or_exit(value: str, marker_dir: str) -> str:
    if first_time(marker_dir, "child-step"):
        # At-least-once step and child-context STARTs are queued, not sent; an empty
        # synchronous checkpoint flushes both before the process dies.
        await get_step_context().execution_state.create_checkpoint()
        os._exit(1)
    return value


@durable_callable
async def interrupted_child(value: str, marker_dir: str) -> str:
    return await step(echo_or_exit(value, marker_dir))


@durable_execution
async def child_interrupted(event: dict[str, str]) -> str:
    return await run_in_child_context(interrupted_child(event["value"], event["marker_dir"]))


# Function timeout: the step body blocks past the function timeout on the first invocation.


@durable_callable
async def block_once(marker_dir: str, seconds: float) -> str:
    if first_time(marker_dir, "block"):
        time.sleep(seconds)  # blocking: only killing the process stops it
    return "done"


@durable_execution
async def slow_first_invocation(event: dict[str, Any]) -> str:
    return await step(block_once(event["marker_dir"], event["seconds"]))


# Plain handlers: a ten-step handler (overhead measurements) and a chained invoke whose target
# crashes once.


@durable_callable
async def add_one(value: int) -> int:
    return value + 1


@durable_execution
async def ten_steps(event: int) -> int:
    value = event
    for _ in range(10):
        value = await step(add_one(value))
    return value


@durable_execution
async def crashing_target(event: dict[str, str]) -> str:
    if first_time(event["marker_dir"], "target"):
        os._exit(3)
    return f"target saw {event['value']}"


@durable_execution
async def invoke_crashing_target(event: dict[str, str]) -> str:
    result: str = await invoke("crashing-target", event)
    return result


@durable_callable
async def current_time() -> float:
    return time.time()


@durable_execution
async def read_clock(_event: Any) -> float:
    return await step(current_time())


# Replay across invocations: a wait ends the first invocation.


@durable_execution
async def step_wait_step(event: int) -> int:
    first = await step(add_one(event))
    await wait(1)
    return await step(add_one(first))


@durable_execution
async def renamed_on_replay(event: dict[str, str]) -> str:
    # Not deterministic: the first step's name changes once the marker exists.
    name = "before" if first_time(event["marker_dir"], "renamed") else "after"
    await step(add_one(1), name=name)
    await wait(1)
    return name


# A handler that lets out what Lambda's Python runtime does not catch (not an Exception), once:
# the runtime process exits; the service re-invokes.


class _Stop(BaseException):
    """Neither an Exception nor one of the runtime's own: as a BaseExceptionGroup is."""


@durable_execution
async def lets_out_a_base_exception_once(event: dict[str, str]) -> str:
    done = await step(add_one(1), name="before")
    if first_time(event["marker_dir"], event["kind"]):
        if event["kind"] == "exit":
            raise SystemExit(3)
        raise BaseExceptionGroup("unhandled errors in a TaskGroup", [_Stop("stop")])
    return f"done {done}"


@durable_execution
async def interrupts(event: dict[str, str]) -> str:
    raise KeyboardInterrupt
