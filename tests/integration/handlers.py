"""Durable handlers shared by the end-to-end tests (module level, as the runner requires)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    JitterStrategy,
    PollingStrategy,
    RetryStrategy,
    create_callback,
    durable_callable,
    durable_execution,
    get_step_context,
    invoke,
    map,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_condition,
)

NO_RETRY = RetryStrategy.none()


# --- steps -------------------------------------------------------------------------------


@durable_callable
async def add(a: int, b: int) -> int:
    return a + b


@durable_execution
async def two_steps(event: dict[str, int]) -> int:
    total = await step(add(event["a"], event["b"]), name="add")
    return await step(add(total, 1), name="increment")


async def explode() -> None:
    msg = "the step blew up"
    raise ValueError(msg)


@durable_execution
async def failing_step(_event: Any) -> None:
    await step(explode, name="explode", retry_strategy=NO_RETRY)


@durable_execution
async def failing_step_caught(_event: Any) -> str:
    try:
        await step(explode, name="explode", retry_strategy=NO_RETRY)
    except CallableRuntimeError as error:
        return f"caught: {error}"
    return "not caught"


async def fail_twice() -> str:
    attempt = get_step_context().attempt or 1
    if attempt <= 2:
        msg = f"attempt {attempt} failed"
        raise RuntimeError(msg)
    return f"succeeded on attempt {attempt}"


#: Delays of 2 s then 4 s, no jitter: the retry timestamps are exact.
BACKOFF = RetryStrategy(
    max_attempts=5, initial_delay=2, backoff_rate=2, jitter_strategy=JitterStrategy.NONE
)


@durable_execution
async def flaky_step(_event: Any) -> str:
    return await step(fail_twice, name="flaky", retry_strategy=BACKOFF)


@durable_execution
async def same_names(_event: Any) -> None:
    await step(add(1, 1), name="twin")
    await step(add(2, 2), name="twin")
    await wait(1, name="pause")


# --- waits -------------------------------------------------------------------------------


@durable_execution
async def ten_hours(_event: Any) -> int:
    for hour in range(10):
        await wait(3600, name=f"hour-{hour}")
    return 10


@durable_execution
async def sleeps_too_long(_event: Any) -> str:
    await wait(120, name="long")
    return "never"


# --- contexts, parallel, map, polling ----------------------------------------------------


@durable_callable
async def inner(value: int) -> int:
    doubled = await step(add(value, value), name="double")
    await wait(2, name="inner-wait")
    return await step(add(doubled, 1), name="plus-one")


@durable_execution
async def child_context(event: int) -> int:
    return await run_in_child_context(inner(event), name="child")


@durable_callable
async def child_fails() -> None:
    await step(explode, name="explode", retry_strategy=NO_RETRY)


@durable_execution
async def failing_child_context(_event: Any) -> str:
    try:
        await run_in_child_context(child_fails(), name="child")
    except CallableRuntimeError as error:
        return f"child failed: {type(error).__name__}"
    return "no failure"


@durable_callable
async def branch(label: str, seconds: int) -> str:
    await wait(seconds, name=f"wait-{label}")
    return await step(echo_label(label), name=f"step-{label}")


@durable_callable
async def echo_label(label: str) -> str:
    return label.upper()


@durable_execution
async def fan_out(_event: Any) -> list[str]:
    batch = await parallel([branch("a", 3), branch("b", 1), branch("c", 2)], name="fan-out")
    return batch.get_results()


async def square(item: int) -> int:
    return await step(add(item * item, 0), name=f"square-{item}")


@durable_execution
async def squares(event: list[int]) -> list[int]:
    batch = await map(square, event, name="squares")
    return batch.get_results()


async def count_up(state: int | None) -> int:
    return (state or 0) + 1


def poll_every_ten_seconds(state: int, attempts: int) -> int | None:
    return None if state >= 3 else 10


@durable_execution
async def poll_until_three(_event: Any) -> int:
    return await wait_for_condition(
        count_up, initial_state=0, name="poll", polling_strategy=poll_every_ten_seconds
    )


async def count_up_then_fail(state: int | None) -> int:
    if (state or 0) >= 1:
        msg = f"the service being polled answered 503 at state {state}"
        raise RuntimeError(msg)
    return (state or 0) + 1


@durable_execution
async def poll_check_raises(_event: Any) -> int:
    return await wait_for_condition(
        count_up_then_fail, initial_state=0, name="poll", polling_strategy=poll_every_ten_seconds
    )


@durable_execution
async def poll_with_strategy(_event: Any) -> int:
    strategy = PollingStrategy[int](
        max_attempts=2, initial_delay=1, jitter_strategy=JitterStrategy.NONE
    )

    async def never(state: int | None) -> int:
        return 0

    return await wait_for_condition(never, initial_state=0, name="never", polling_strategy=strategy)


# --- callbacks ---------------------------------------------------------------------------


@durable_execution
async def approval(_event: Any) -> Any:
    callback = await create_callback(name="approval", heartbeat_timeout=60)
    return await callback.result()


@durable_execution
async def approval_or_reason(_event: Any) -> str:
    callback = await create_callback(name="approval")
    try:
        return f"approved: {await callback.result()}"
    except CallbackError as error:
        return f"refused: {error}"


@durable_execution
async def approval_with_timeout(_event: Any) -> Any:
    callback = await create_callback(name="approval", timeout=30)
    return await callback.result()


# --- chained invokes ---------------------------------------------------------------------


@durable_execution
async def doubler(event: int) -> int:
    return await step(add(event, event), name="double")


@durable_execution
async def calls_doubler(event: int) -> int:
    return await invoke("doubler", event, name="call-doubler")


@durable_execution
async def calls_canned(_event: Any) -> Any:
    return await invoke("pricing", {"sku": "A-1"}, name="price")


@durable_execution
async def calls_canned_failure(_event: Any) -> str:
    try:
        await invoke("broken", {}, name="broken-call")
    except CallableRuntimeError as error:
        return f"invoke failed: {error}"
    return "no failure"


@durable_execution
async def calls_unknown(_event: Any) -> Any:
    return await invoke("no-such-function", {}, name="lost")


# --- failures of the handler itself ------------------------------------------------------


@durable_execution
async def raises(_event: Any) -> None:
    msg = "the handler itself failed"
    raise KeyError(msg)


class NotJson:
    def __repr__(self) -> str:
        return "NotJson()"


@durable_execution
async def returns_an_object(_event: Any) -> NotJson:
    await step(add(1, 2), name="fine")
    return NotJson()


@durable_execution
async def blocks_the_thread(event: dict[str, bool]) -> str:
    if event["block"]:
        time.sleep(30)  # blocking code: the event loop cannot even be cancelled
    return await step(echo_label("unblocked"), name="after")


@durable_execution
async def blocks_after_a_wait(event: dict[str, bool]) -> str:
    first = await step(echo_label("before"), name="before")
    await wait(5, name="pause")
    if event["block"]:
        time.sleep(30)  # blocking code in the second invocation, after the first one's wait
    return first + await step(echo_label("after"), name="after")


@durable_execution
async def sleeps_between_steps(event: Any) -> str:
    import asyncio

    first = await step(lambda: _const("a"), name="before")
    await asyncio.sleep(600)  # not a durable wait: the invocation itself takes ten minutes
    second = await step(lambda: _const("b"), name="after")
    return f"{first}{second}"


async def _const(value: str) -> str:
    return value


@durable_execution
async def awaits_what_never_comes(_event: Any) -> str:
    import asyncio

    never_set = asyncio.Event()
    await never_set.wait()  # no timer, no thread: an idle loop, forever
    return await step(echo_label("never"), name="after")


@durable_execution
async def blocks_in_a_loop_callback(_event: Any) -> str:
    import asyncio

    # A blocking call the event loop itself makes: asyncio's frame is the innermost Python
    # frame, where a deadline alarm does not raise at first.
    asyncio.get_running_loop().call_soon(time.sleep, 30)
    await asyncio.sleep(0)
    return await step(echo_label("never"), name="after")


def _in_the_sdks_code(source: str, name: str) -> Any:
    """A function whose code is the SDK's by its file (where the deadline alarm finds the
    engine, not the handler): what an endless loop inside the SDK looks like to the runner."""
    import async_durable_execution._operation.parallel as sdk_module

    namespace: dict[str, Any] = {}
    exec(compile(source, sdk_module.__file__, "exec"), namespace)
    return namespace[name]


#: ``while True: pass``, as the SDK's ``parallel`` can loop on Python 3.12 (SDK finding 19).
SPIN_IN_THE_SDK = _in_the_sdks_code("def spin():\n    while True:\n        pass\n", "spin")


#: Computes for ``seconds`` of its thread's CPU time, in code that is the SDK's by its file:
#: what the SDK's own work after a step body returns (serialising a large result, building
#: the checkpoint) looks like to the runner, stretched out so that a deadline alarm's tick
#: lands in it.
SDK_WORK = _in_the_sdks_code(
    "import time\n"
    "def work(seconds):\n"
    "    end = time.thread_time() + seconds\n"
    "    while time.thread_time() < end:\n"
    "        pass\n",
    "work",
)


def _compute_for(seconds: float) -> None:
    """``seconds`` of the thread's CPU time in the handler's own code, without an await."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


@durable_execution
async def computes_then_the_sdk_works(event: dict[str, Any]) -> str:
    async def body() -> str:
        # The step body's own computation, then the SDK's work in the same turn of the loop.
        _compute_for(event["seconds"])
        SDK_WORK(event["sdk_seconds"])
        return "computed"

    return await step(body, name="compute")


@durable_execution
async def spins_in_the_sdk(_event: Any) -> str:
    import asyncio

    asyncio.get_running_loop().call_soon(SPIN_IN_THE_SDK)
    await asyncio.sleep(0)
    return await step(echo_label("never"), name="after")


@durable_execution
async def computes_for(event: dict[str, Any]) -> str:
    async def body() -> str:
        # In the step body's own code, inside one turn of the loop: CPU time, no await.
        _compute_for(event["seconds"])
        return "computed"

    return await step(body, name="compute")


#: What became of the tasks ``leaves_a_task_behind`` left running, per invocation.
LEFT_BEHIND: list[str] = []


@durable_execution
async def leaves_a_task_behind(_event: Any) -> str:
    import asyncio

    async def lingers(label: str) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            LEFT_BEHIND.append(f"{label} cancelled")
            raise
        LEFT_BEHIND.append(f"{label} outlived its invocation")

    # Started and never awaited, through the loop and through asyncio's helpers.
    asyncio.get_running_loop().create_task(lingers("create_task"))
    asyncio.ensure_future(lingers("ensure_future"))  # noqa: RUF006 - left running on purpose
    await wait(5, name="pause")
    return "done"


@durable_execution
async def shrugs_off_the_first_interrupt(_event: Any) -> str:
    with contextlib.suppress(BaseException):  # a handler that swallows everything, on purpose
        time.sleep(30)
    time.sleep(30)  # and blocks again
    return await step(echo_label("never"), name="after")


@durable_execution
async def sleeps_past_the_timeout(_event: Any) -> str:
    import asyncio

    first = await step(lambda: _const("a"), name="before")
    await asyncio.sleep(1000)  # in-process, past Lambda's 900 s maximum function timeout
    second = await step(lambda: _const("b"), name="after")
    return f"{first}{second}"


async def _slow_quote() -> str:
    import asyncio

    await asyncio.sleep(500)  # an API that answers in 500 s: within the function timeout
    return "quote"


@durable_execution
async def slow_step_body(_event: Any) -> str:
    return await step(_slow_quote, name="slow")


@durable_execution
async def reads_its_context(_event: Any) -> str:
    import asyncio

    from async_durable_execution import get_durable_context
    from tests.integration.recorded import CONTEXTS

    context = get_durable_context().lambda_context
    before = context.get_remaining_time_in_millis()
    await asyncio.sleep(100)
    after = context.get_remaining_time_in_millis()
    CONTEXTS.append((before, after, context.log_group_name, context.log_stream_name))
    await wait(5, name="pause")
    return "done"
