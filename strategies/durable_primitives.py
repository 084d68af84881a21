"""Handlers the primitive suites test: one small ``@durable_execution`` handler per primitive.

They live here, in an importable module of their own, because a *cold* re-invocation drops
the handler's module from ``sys.modules``, imports it afresh and re-resolves the handler by
its qualified name (``strategies/conftest.py`` puts this directory on ``sys.path``). Each
handler is deterministic across replays: everything it reads that could change (the clock,
the attempt number) is read inside a step body, and its result is a pure function of its
input, the callback payloads and the faults (and, for a ``parallel`` or ``map`` that stops
early, of which item finished first), which is what the suites assert.

Copy one with its suite, and replace the step bodies with your own code.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    JitterStrategy,
    PollingStrategy,
    RetryStrategy,
    StepSemantics,
    create_callback,
    durable_callable,
    durable_execution,
    get_map_item_context,
    get_step_context,
    invoke,
    map,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
    wait_for_condition,
)

#: The function name ``invoke_handler`` invokes (register it with ``functions=``).
DOUBLE = "double"


class PlannedFailure(Exception):
    """A step body failing on purpose (the input says so)."""


def retries(max_attempts: int) -> RetryStrategy:
    """``max_attempts`` attempts, 1 s apart, no jitter (so the expected outcome is exact)."""
    return RetryStrategy(
        max_attempts=max_attempts,
        initial_delay=1,
        max_delay=1,
        backoff_rate=1,
        jitter_strategy=JitterStrategy.NONE,
    )


# --- step --------------------------------------------------------------------------------


@durable_callable
async def flaky_double(value: int, fail_first: int) -> dict[str, int]:
    """Fails its first ``fail_first`` attempts, then returns ``2 * value`` and the attempt."""
    attempt = get_step_context().attempt or 1
    if attempt <= fail_first:
        msg = f"attempt {attempt} fails (the first {fail_first} do)"
        raise PlannedFailure(msg)
    return {"value": 2 * value, "attempt": attempt}


@durable_execution
async def step_handler(event: dict[str, Any]) -> dict[str, int]:
    """``{"value", "fail_first", "max_attempts", "semantics"}``: one retried step."""
    return await step(
        flaky_double(event["value"], event["fail_first"]),
        name="flaky",
        retry_strategy=retries(event["max_attempts"]),
        step_semantics=StepSemantics[event["semantics"]],
    )


# --- wait --------------------------------------------------------------------------------


@durable_callable
async def read_clock() -> float:
    # Inside a step: the reading is checkpointed, so replays see the same value.
    return time.time()


@durable_execution
async def wait_handler(event: dict[str, Any]) -> dict[str, bool]:
    """``{"waits": [seconds, ...], "concurrent": bool}``: waits between two clock readings.

    The result says whether the waits took at least as long as they should (the longest one
    if concurrent, their sum if not), not how long they took: the exact time depends on when
    the service re-invokes the function, which faults legitimately change.
    """
    before = await step(read_clock(), name="before")
    waits = event["waits"]
    if event["concurrent"]:
        # wait() starts a task at once: create them all, then await them together.
        await asyncio.gather(*(wait(s, name=f"wait-{i}") for i, s in enumerate(waits)))
    else:
        for i, seconds in enumerate(waits):
            await wait(seconds, name=f"wait-{i}")
    after = await step(read_clock(), name="after")
    least = max(waits) if event["concurrent"] else sum(waits)
    return {"on_time": after - before >= least}


# --- run_in_child_context ------------------------------------------------------------------


@durable_callable
async def add(a: int, b: int) -> int:
    return a + b


@durable_callable
async def increment_then_scale(x: int) -> int:
    incremented = await step(add(x, 1), name="increment")
    await wait(1, name="breathe")  # suspends inside the child: replays run through it
    return await step(add(incremented * 9, incremented), name="scale")  # 10 * (x + 1)


@durable_callable
async def fold(xs: list[int]) -> int:
    total = 0
    for i, x in enumerate(xs):
        total += await run_in_child_context(increment_then_scale(x), name=f"item-{i}")
    return total


@durable_execution
async def child_handler(event: dict[str, Any]) -> dict[str, int]:
    """``{"xs": [...]}``: a child context of child contexts; ``total = sum(10 * (x + 1))``."""
    total = await run_in_child_context(fold(event["xs"]), name="fold")
    checked = await step(add(total, 0), name="after-fold")
    return {"total": checked}


# --- create_callback / wait_for_callback -----------------------------------------------------


async def notify_approver() -> None:
    # In production: send get_wait_for_callback_context().callback_id to the approver.
    return None


def _decoded(payload: Any) -> Any:
    return json.loads(payload) if isinstance(payload, str) else payload


@durable_execution
async def callback_handler(event: dict[str, Any]) -> dict[str, Any]:
    """``{"timeout": seconds}``: a ``create_callback`` ("payment"), then a
    ``wait_for_callback`` ("approval"); a failed or timed-out callback is reported, not raised."""
    outcome: dict[str, Any] = {}
    payment = await create_callback(name="payment", timeout=event["timeout"])
    try:
        outcome["payment"] = {"ok": _decoded(await payment.result())}
    except CallbackError as error:
        outcome["payment"] = {"error": str(error)}
    try:
        answer = await wait_for_callback(notify_approver, name="approval", timeout=event["timeout"])
        outcome["approval"] = {"ok": _decoded(answer)}
    except CallbackError as error:
        outcome["approval"] = {"error": str(error)}
    return outcome


# --- invoke ----------------------------------------------------------------------------------


@durable_execution
async def double_handler(n: int) -> int:
    """The invoked function: a durable function of its own."""
    return await step(add(n, n), name="double")


@durable_execution
async def invoke_handler(event: dict[str, Any]) -> dict[str, Any]:
    """``{"n", "hops"}``: ``hops`` chained invokes of ``double``, each fed the last result."""
    value = event["n"]
    for hop in range(event["hops"]):
        try:
            value = await invoke(DOUBLE, value, name=f"hop-{hop}")
        except CallableRuntimeError as error:  # the invoked function failed or timed out
            return {"value": value, "failed_hop": hop, "error": error.error_type}
    return {"value": value, "failed_hop": None, "error": None}


# --- parallel / map --------------------------------------------------------------------------


@durable_callable
async def square(value: int) -> int:
    if value < 0:
        msg = f"{value} is negative"
        raise PlannedFailure(msg)
    return value * value


def batch_summary(batch: Any) -> dict[str, Any]:
    """A ``BatchResult`` as JSON: its completion reason, and ``[index, status, value]`` per
    item (the value is the result, or the error type of a failed item). Branches that never
    started are absent from ``batch.all`` (the 2.5 SDK skips them), hence the index."""
    items = []
    for item in batch.all:
        status = item.status.value
        if status == "SUCCEEDED":
            value = item.result
        elif status == "FAILED":
            value = item.error.type if item.error else None
        else:
            value = None
        items.append([item.index, status, value])
    return {"reason": batch.completion_reason.value, "items": items}


def completion(event: dict[str, Any]) -> CompletionConfig | None:
    if event.get("min_successful") is None and event.get("tolerated") is None:
        return None
    return CompletionConfig(
        min_successful=event.get("min_successful"),
        tolerated_failure_count=event.get("tolerated"),
    )


@durable_callable
async def square_branch(value: int) -> int:
    # Three attempts: up to two injected step exceptions are absorbed by the retries, so a
    # branch fails exactly when its value is negative.
    return await step(square(value), name="square", retry_strategy=retries(3))


@durable_execution
async def parallel_handler(event: dict[str, Any]) -> dict[str, Any]:
    """``{"values", "tolerated", "min_successful", "max_concurrency"}``: one branch per value,
    each squaring it in a step (negative values fail)."""
    batch = await parallel(
        [square_branch(v) for v in event["values"]],
        name="fan-out",
        completion_config=completion(event),
        max_concurrency=event.get("max_concurrency"),
    )
    return batch_summary(batch)


async def square_item(value: int) -> list[int]:
    index = get_map_item_context().index
    squared = await step(square(value), name="square", retry_strategy=retries(3))
    return [index, squared]


@durable_execution
async def map_handler(event: dict[str, Any]) -> dict[str, Any]:
    """``{"values", "tolerated", "min_successful", "max_concurrency"}``: ``map`` squaring each
    value in a step; each item returns ``[its index, its square]``."""
    batch = await map(
        square_item,
        event["values"],
        name="squares",
        completion_config=completion(event),
        max_concurrency=event.get("max_concurrency"),
    )
    return batch_summary(batch)


# --- wait_for_condition ----------------------------------------------------------------------


async def count_poll(state: int | None) -> int:
    return (state or 0) + 1


@durable_execution
async def condition_handler(event: dict[str, Any]) -> int:
    """``{"target", "max_polls", "delay"}``: poll a counter until it reaches ``target``, at
    most ``max_polls`` times, ``delay`` seconds apart (the SDK's ``PollingStrategy``)."""
    target = event["target"]
    strategy: PollingStrategy[bool] = PollingStrategy(
        max_attempts=event["max_polls"],
        initial_delay=event["delay"],
        max_delay=event["delay"],
        backoff_rate=1,
        jitter_strategy=JitterStrategy.NONE,
    )
    return await wait_for_condition(
        count_poll,
        name="poll",
        initial_state=0,
        polling_strategy=lambda state, attempts: strategy(state >= target, attempts),
    )
