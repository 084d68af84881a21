"""Durable handlers for ``test_sdk_features.py``: one per SDK feature the runner must carry.

Module level, as the runner requires. Every delay is fixed (no jitter) so the virtual clock's
timestamps in the history are exact.
"""

from __future__ import annotations

import datetime as dt
import random as stdlib_random
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    DurableTerminalActions,
    JitterStrategy,
    PollingStrategy,
    RetryStrategy,
    create_callback,
    durable_callable,
    durable_execution,
    get_wait_for_condition_check_context,
    get_with_retry_context,
    invoke,
    map,
    now,
    parallel,
    random,
    recurse,
    step,
    terminal_scope,
    uuid,
    wait,
    wait_for_condition,
    with_retry,
)

NO_RETRY = RetryStrategy.none()


@durable_callable
async def produce(value: Any) -> Any:
    return value


async def boom(message: str) -> None:
    raise ValueError(message)


@durable_callable
async def failing(message: str) -> None:
    await boom(message)


# --- parallel with a completion config ---------------------------------------------------


@durable_callable
async def timed_branch(label: str, seconds: int) -> str:
    await wait(seconds, name=f"wait-{label}")
    return await step(produce(label.upper()), name=f"step-{label}")


@durable_callable
async def failing_branch(label: str) -> str:
    await step(failing(f"branch {label} failed"), name=f"step-{label}", retry_strategy=NO_RETRY)
    return "unreachable"


def _branches() -> list[Any]:
    return [
        timed_branch("a", 1),
        failing_branch("b"),
        timed_branch("c", 2),
        timed_branch("d", 50),  # still waiting when two branches have succeeded
    ]


def _batch_summary(batch: Any) -> dict[str, Any]:
    return {
        "reason": batch.completion_reason.value,
        "results": batch.get_results(),
        "errors": [e.message for e in batch.get_errors()],
        "statuses": [item.status.value for item in batch.all],
    }


@durable_execution
async def parallel_min_successful(_event: Any) -> dict[str, Any]:
    """Two successes are enough; one failure is tolerated; the slow branch is abandoned."""
    config = CompletionConfig.thresholds(min_successful=2, tolerated_failure_count=1)
    batch = await parallel(_branches(), name="fan-out", completion_config=config)
    return _batch_summary(batch)


@durable_execution
async def parallel_failure_not_tolerated(_event: Any) -> dict[str, Any]:
    """No failure tolerated: the first failure ends the batch."""
    config = CompletionConfig.thresholds(min_successful=3, tolerated_failure_count=0)
    batch = await parallel(_branches(), name="fan-out", completion_config=config)
    return _batch_summary(batch)


# --- map over 20 items, one failure tolerated ---------------------------------------------

FAILING_ITEM = 7


async def cube(item: int) -> int:
    if item == FAILING_ITEM:
        await step(failing(f"item {item} is cursed"), name=f"cube-{item}", retry_strategy=NO_RETRY)
    await wait(item % 3 + 1, name=f"settle-{item}")
    return await step(produce(item**3), name=f"cube-{item}")


@durable_execution
async def map_twenty(event: list[int]) -> dict[str, Any]:
    config = CompletionConfig.thresholds(tolerated_failure_count=1)
    batch = await map(cube, event, name="cubes", completion_config=config)
    return _batch_summary(batch)


# --- wait_for_condition with a polling strategy ------------------------------------------

#: 5 s after the first poll, then 10 s (backoff rate 2), no jitter.
POLLING = PollingStrategy[Any](
    max_attempts=5, initial_delay=5, backoff_rate=2, jitter_strategy=JitterStrategy.NONE
)


async def job_status(state: Any) -> Any:
    """Not ready (falsy) until the third poll; the polling strategy stops on a truthy state."""
    attempt = get_wait_for_condition_check_context().attempt
    return f"ready on poll {attempt}" if attempt >= 3 else None


@durable_execution
async def poll_job(_event: Any) -> Any:
    return await wait_for_condition(
        job_status, initial_state=None, name="job", polling_strategy=POLLING
    )


# --- with_retry ----------------------------------------------------------------------------

#: Waits of 3 s, then 6 s between attempts of the whole block, no jitter.
BLOCK_RETRY = RetryStrategy(
    max_attempts=4, initial_delay=3, backoff_rate=2, jitter_strategy=JitterStrategy.NONE
)


async def charge_block() -> str:
    attempt = get_with_retry_context().attempt
    reserved = await step(produce(f"reservation-{attempt}"), name=f"reserve-{attempt}")
    if attempt < 3:
        await step(failing(f"card declined on attempt {attempt}"), name=f"charge-{attempt}",
                   retry_strategy=NO_RETRY)  # fmt: skip
    return f"charged with {reserved}"


@durable_execution
async def retried_block(_event: Any) -> str:
    return await with_retry(charge_block, name="charge", retry_strategy=BLOCK_RETRY)


async def always_declined() -> str:
    attempt = get_with_retry_context().attempt
    await step(failing(f"declined {attempt}"), name=f"try-{attempt}", retry_strategy=NO_RETRY)
    return "unreachable"


@durable_execution
async def retried_block_gives_up(_event: Any) -> str:
    strategy = RetryStrategy(max_attempts=2, initial_delay=1, jitter_strategy=JitterStrategy.NONE)
    return await with_retry(always_declined, name="hopeless", retry_strategy=strategy)


# --- chained invokes -----------------------------------------------------------------------


@durable_execution
async def slow_doubler(event: int) -> int:
    """A chained-invoke target that takes two invocations (a 30 s wait)."""
    await wait(30, name="think")
    return await step(produce(event * 2), name="double")


@durable_execution
async def invokes_two(event: int) -> dict[str, Any]:
    doubled = await invoke("slow-doubler", event, name="double-it")
    quote = await invoke("quotes", {"sku": "A-1"}, name="quote")
    return {"doubled": doubled, "quote": quote}


@durable_execution
async def invokes_unlucky(_event: Any) -> list[str]:
    outcomes = []
    for target in ("times-out", "is-stopped", "fails"):
        try:
            await invoke(target, {}, name=f"call-{target}")
            outcomes.append(f"{target}: ok")
        except CallableRuntimeError as error:
            outcomes.append(f"{target}: {error.error_type}")
    return outcomes


# --- recurse -------------------------------------------------------------------------------


@durable_execution
async def triangle(event: dict[str, int]) -> int:
    """n + (n-1) + ... + 1, one chained self-invoke per level."""
    n = event["n"]
    if n <= 1:
        return await step(produce(1), name="base")
    rest = await recurse({"n": n - 1}, name=f"level-{n - 1}")
    return await step(produce(n + rest), name="add")


@durable_execution
async def depth(event: dict[str, Any]) -> int:
    """Recurse until ``__recursive_level`` (set by the SDK) reaches the target depth."""
    level = event.get("__recursive_level", 0)
    if level >= event["target"]:
        return level
    return await recurse({"target": event["target"]}, with_recursive_level=True, name="deeper")


# --- terminal_scope ------------------------------------------------------------------------


async def book_trip(actions: DurableTerminalActions) -> str:
    await step(produce("hotel-1"), name="book-hotel")
    actions.compensate(step_fn("cancel-hotel"), name="cancel-hotel")
    await step(produce("car-9"), name="book-car")
    actions.compensate(step_fn("cancel-car"), name="cancel-car")
    actions.cleanup(step_fn("release-lock"), name="release-lock")
    await wait(10, name="settle")  # compensation happens after a replay
    await step(failing("no flights left"), name="book-flight", retry_strategy=NO_RETRY)
    return "booked"


def step_fn(label: str) -> Any:
    async def action() -> None:
        return None

    action.__name__ = label
    return action


@durable_execution
async def trip(_event: Any) -> str:
    try:
        return await terminal_scope(book_trip, name="trip")
    except CallableRuntimeError as error:
        return f"trip failed: {error.message}"


async def quiet_trip(actions: DurableTerminalActions) -> str:
    await step(produce("hotel-1"), name="book-hotel")
    actions.compensate(step_fn("cancel-hotel"), name="cancel-hotel")
    actions.cleanup(step_fn("release-lock"), name="release-lock")
    return "booked"


@durable_execution
async def trip_succeeds(_event: Any) -> str:
    return await terminal_scope(quiet_trip, name="trip")


# --- replay-safe helpers -------------------------------------------------------------------


@durable_execution
async def replay_safe_values(_event: Any) -> dict[str, Any]:
    """Read now/random/uuid, wait (the next invocation replays them), read them again.

    ``before`` is checkpointed by a step in the first invocation; ``after`` is computed in the
    second, from the replayed helpers. The unsafe readings show what replay-safety prevents.
    """
    stamp = await now(name="now")
    number = await random(name="random")
    ident = await uuid(name="uuid")
    reading = {
        "now": stamp.isoformat(),
        "random": number,
        "uuid": str(ident),
        "unsafe_now": dt.datetime.now(dt.UTC).isoformat(),
        "unsafe_random": stdlib_random.random(),
    }
    before = await step(produce(reading), name="first-reading")
    await wait(10, name="pause")
    return {"before": before, "after": reading}


# --- limits --------------------------------------------------------------------------------

#: The SDK checkpoints a result whose JSON is over this many characters (6 MiB - 50).
SDK_RESPONSE_LIMIT = 6 * 1024 * 1024 - 50
#: The service's limit for OperationUpdate.Payload (botocore: OperationPayload max).
PAYLOAD_LIMIT = 6_291_456


@durable_execution
async def big_result(event: dict[str, int]) -> str:
    """Return a string whose JSON form is ``event["json_size"]`` characters long."""
    await step(produce("warm-up"), name="warm-up")
    return "x" * (event["json_size"] - 2)  # json.dumps adds the two quotes


@durable_execution
async def big_step_result(event: dict[str, int]) -> str:
    return await step(produce("y" * event["size"]), name="too-big", retry_strategy=NO_RETRY)


@durable_execution
async def big_error(event: dict[str, int]) -> None:
    await step(produce("warm-up"), name="warm-up")
    raise RuntimeError("e" * event["message_size"])


# --- many operations (paging) --------------------------------------------------------------


@durable_execution
async def many_steps(event: dict[str, int]) -> int:
    total = 0
    for i in range(event["before"]):
        total += await step(produce(i), name=f"before-{i}")
    await wait(5, name="pause")
    for i in range(event["after"]):
        total += await step(produce(i), name=f"after-{i}")
    return total


# --- callbacks for the error paths ---------------------------------------------------------


@durable_execution
async def two_callbacks(_event: Any) -> list[Any]:
    first = await create_callback(name="first")
    second = await create_callback(name="second")
    return [await first.result(), await second.result()]


@durable_execution
async def callback_with_fallback(_event: Any) -> str:
    """Survives its callback timing out, then waits for a second one."""
    first = await create_callback(name="first", timeout=30)
    try:
        return f"first: {await first.result()}"
    except CallbackError as error:
        second = await create_callback(name="second")
        return f"first failed ({error}); second: {await second.result()}"


@durable_execution
async def heartbeat_callback(_event: Any) -> Any:
    callback = await create_callback(name="beat", heartbeat_timeout=20)
    return await callback.result()
