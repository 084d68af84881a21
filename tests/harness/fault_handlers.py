"""Handlers that exercise every fault kind (module-level, so cold sandboxes can re-import)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import fake_dynamodb
from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    JitterStrategy,
    RetryStrategy,
    durable_callable,
    durable_execution,
    get_step_context,
    invoke,
    parallel,
    step,
    wait,
    wait_for_callback,
)


@durable_callable
async def echo(value: Any) -> Any:
    return value


@durable_callable
async def echo_after_waits(value: Any) -> Any:
    """Echoes after waiting three times (for a partner's answers): where a sandbox can die
    inside the body (``body_crash``)."""
    for _ in range(3):
        await asyncio.sleep(0)
    return value


#: A DynamoDB table behind a real boto3 client (``examples/fake_dynamodb.py``).
_TABLE = fake_dynamodb.client()


@durable_callable
async def echo_recorded(value: Any) -> Any:
    """Echoes after writing the value to a table and reading it back, two AWS calls with no
    wait between them: where a sandbox can die between two calls (``aws_call_crash``)."""
    key = {"pk": {"S": f"echo-{value}"}}
    _TABLE.put_item(TableName="echoes", Item={**key, "value": {"S": json.dumps(value)}})
    item = _TABLE.get_item(TableName="echoes", Key=key)["Item"]
    return json.loads(item["value"]["S"])


async def _submit() -> None:
    return None


@durable_execution
async def callee(event: Any) -> Any:
    return await step(echo(event), name="callee-step")


@durable_execution
async def everything(event: Any) -> dict[str, Any]:
    first = await step(echo_after_waits(1), name="first")
    await wait(5, name="pause")
    try:
        answer = json.loads(
            await wait_for_callback(_submit, name="approval", timeout=60, heartbeat_timeout=30)
            or "null"
        )
    except CallbackError as error:
        answer = f"callback: {error}"[:40]
    try:
        invoked = await invoke("callee", {"x": 1}, name="call")
    except Exception as error:
        invoked = type(error).__name__
    second = await step(echo_recorded(2), name="second")
    return {"first": first, "answer": answer, "invoked": invoked, "second": second}


#: Runs counted by ``count_run`` (a scenario's ``before_run``), and the runs whose first step
#: stalls for ``STALL_SECONDS`` of wall-clock time, as a sandbox starved of CPU does.
RUNS: list[int] = []
STALL_RUNS: set[int] = set()
STALL_SECONDS = 4.0


def count_run() -> None:
    RUNS.append(len(RUNS) + 1)


@durable_callable
async def _maybe_stall() -> str:
    import time

    if RUNS and RUNS[-1] in STALL_RUNS:
        STALL_RUNS.discard(RUNS[-1])  # once per run: a re-invocation is not starved again
        time.sleep(STALL_SECONDS)  # blocking, like a thread that gets no CPU
    return "ready"


@durable_execution
async def starved_once(event: Any) -> list[str]:
    first = await step(_maybe_stall(), name="first")
    second = await step(echo("done"), name="second")
    return [first, second]


@durable_execution
async def blocks(event: Any) -> str:
    import time

    time.sleep(1.5)  # blocking: no event loop can skip this
    return "late"


@durable_execution
async def cleans_up_in_finally(event: Any) -> str:
    try:
        await step(echo("work"), name="work")
        await wait(5, name="pause")
    finally:
        # A dying sandbox may run this, but nothing of it may reach the service.
        await step(echo("cleanup"), name="cleanup")
    return "done"


@durable_execution
async def plain_approval(event: Any) -> Any:
    """A callback with the time-outs ``event`` gives (``None``: none of that kind)."""
    try:
        return json.loads(
            await wait_for_callback(
                _submit,
                name="approval",
                timeout=event["timeout"],
                heartbeat_timeout=event["heartbeat_timeout"],
            )
            or "null"
        )
    except CallbackError as error:
        return f"callback: {error}"[:40]


#: Retries connection trouble only, as a client of a flaky partner does.
ONLY_CONNECTION_ERRORS = RetryStrategy(
    max_attempts=3, initial_delay=2, backoff_rate=2, retryable_error_types=[ConnectionError]
)


#: Retries only messages its pattern finds (the SDK calls ``pattern.search(str(error))``).
ONLY_THROTTLING = RetryStrategy(
    max_attempts=3,
    initial_delay=2,
    backoff_rate=2,
    retryable_errors=[re.compile(r"\bthrottl(ed|ing)\b", re.IGNORECASE)],
)


@durable_execution
async def retries_throttling_by_pattern(event: Any) -> dict[str, Any]:
    try:
        quote = await step(echo("quoted"), name="quote", retry_strategy=ONLY_THROTTLING)
    except CallableRuntimeError as error:
        return {"quote": None, "error": error.error_type}
    return {"quote": quote, "error": None}


@durable_execution
async def retries_connection_errors(event: Any) -> dict[str, Any]:
    try:
        quote = await step(echo("quoted"), name="quote", retry_strategy=ONLY_CONNECTION_ERRORS)
    except CallableRuntimeError as error:
        return {"quote": None, "error": error.error_type}
    return {"quote": quote, "error": None}


#: Waits out twenty seconds between attempts, without jitter.
TWENTY_SECONDS_APART = RetryStrategy(
    max_attempts=6,
    initial_delay=20,
    max_delay=20,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)


@durable_execution
async def patient_then_next(event: Any) -> list[Any]:
    """A step whose retries are twenty seconds apart, then one more step: where an outage ends
    decides which attempts it hits."""
    first = await step(echo("first"), name="first", retry_strategy=TWENTY_SECONDS_APART)
    second = await step(echo("second"), name="second", retry_strategy=TWENTY_SECONDS_APART)
    return [first, second]


@durable_execution
async def two_branches(event: Any) -> list[Any]:
    """Two branches calling their partners at the same instant: an outage hits both."""
    result = await parallel(
        [
            lambda: step(echo("left"), name="left", retry_strategy=TWENTY_SECONDS_APART),
            lambda: step(echo("right"), name="right", retry_strategy=TWENTY_SECONDS_APART),
        ],
        name="both",
    )
    return sorted(result.get_results())


#: Body runs of ``counted_retries``'s step, by attempt (reset by ``reset_counted``).
COUNTED: dict[int, int] = {}


def reset_counted() -> None:
    COUNTED.clear()


@durable_callable
async def count_attempt() -> str:
    attempt = get_step_context().attempt
    COUNTED[attempt] = COUNTED.get(attempt, 0) + 1
    return f"ran on attempt {attempt}"


@durable_execution
async def counted_retries(event: Any) -> str:
    """A step whose body counts its runs per attempt (a partner's side effect), retried a
    second apart, after one that does nothing of note."""
    await step(echo("first"), name="first")
    return await step(count_attempt(), name="counted", retry_strategy=ONE_SECOND_APART)


ONE_SECOND_APART = RetryStrategy(
    max_attempts=6,
    initial_delay=1,
    max_delay=1,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)
