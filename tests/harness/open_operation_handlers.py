"""Handlers for the open-operations oracle: correct ones that leave operations open on
purpose (or by the SDK's design), and the two usual bugs that leave them open by mistake."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    FlowExecutionError,
    JitterStrategy,
    NestingType,
    RetryStrategy,
    create_callback,
    durable_dag,
    durable_execution,
    durable_node,
    flow,
    invoke,
    map,
    node,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
)

SLOW_RETRY = RetryStrategy(
    max_attempts=3,
    initial_delay=30,
    max_delay=30,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
)
NO_RETRY = RetryStrategy(max_attempts=1)


async def _value(x: Any) -> Any:
    return x


async def _boom(x: Any) -> Any:
    msg = f"{x} failed"
    raise ValueError(msg)


async def _fast() -> Any:
    return await step(lambda: _value(1), name="fast")


async def _slow() -> Any:
    await wait(60, name="slow-wait")
    return await step(lambda: _value(2), name="slow")


async def _retrying() -> Any:
    return await step(lambda: _boom(3), name="retrying", retry_strategy=SLOW_RETRY)


# --- correct ---------------------------------------------------------------------------------


@durable_execution
async def first_successful(event: Any) -> Any:
    """parallel with min_successful=1: the slow and the retrying branch are left running."""
    nesting = NestingType[event or "NESTED"]
    batch = await parallel(
        [_fast, _slow, _retrying],
        name="race",
        completion_config=CompletionConfig(min_successful=1),
        nesting_type=nesting,
    )
    return batch.success_count


async def _item(x: Any, *_: Any) -> Any:
    if x == 0:
        return await step(lambda: _value(0), name="instant")
    await wait(60 * x, name=f"item-wait-{x}")
    return x


@durable_execution
async def map_first_successful(event: Any) -> Any:
    batch = await map(
        _item, [0, 1, 2], name="m", completion_config=CompletionConfig(min_successful=1)
    )
    return batch.success_count


@durable_execution
async def gather_with_fallback(event: Any) -> Any:
    """The first failure ends the gather while the other step waits for its retry."""
    try:
        await asyncio.gather(
            step(lambda: _boom(1), name="quick-fail", retry_strategy=NO_RETRY),
            step(lambda: _boom(2), name="slow-fail", retry_strategy=SLOW_RETRY),
        )
    except CallableRuntimeError:
        return "fallback"
    return "both"


@durable_execution
async def gather_fails(event: Any) -> Any:
    """The execution fails with a step while a concurrent wait is still running."""
    await asyncio.gather(
        step(lambda: _boom(1), name="quick-fail", retry_strategy=NO_RETRY),
        wait(60, name="pause"),
    )
    return "never"


async def _failing_child() -> Any:
    return await step(lambda: _boom(1), name="child-a-fail", retry_strategy=NO_RETRY)


async def _unhurried(x: Any) -> Any:
    for _ in range(20):
        await asyncio.sleep(0)
    return x


async def _waiting_child() -> Any:
    await step(lambda: _unhurried(2), name="child-b-ok")
    await wait(60, name="child-b-pause")
    return "b"


@durable_execution
async def gathered_child_contexts_fail(event: Any) -> Any:
    """One of two gathered child contexts fails for good while the other one's wait runs:
    the wait is left open inside a context that its sibling's failure abandoned."""
    return await asyncio.gather(
        run_in_child_context(_failing_child, name="child-a"),
        run_in_child_context(_waiting_child, name="child-b"),
    )


@durable_execution
async def gather_after_waits(event: Any) -> Any:
    """A callback made first, two waits, then the callback's answer gathered with a step
    that retries 30 s apart. A callback that failed during the first wait fails the gather
    when it runs, two invocations later (its failure replayed), at once, while the step the
    gather started there is in flight: the execution fails with the callback's error."""
    callback = await create_callback(name="go-ahead", timeout=600)
    await wait(60, name="cool-off")
    await wait(60, name="settle")
    return await asyncio.gather(callback.result(), _retrying())


async def _submit() -> None:
    return None


@durable_execution
async def approval(event: Any) -> Any:
    """wait_for_callback answered, failed or timed out: reported, not raised."""
    try:
        answer = await wait_for_callback(_submit, name="approval", timeout=event or 60)
    except CallbackError:
        return "no answer"
    return json.loads(answer or "null")


# --- buggy -----------------------------------------------------------------------------------


@durable_node
async def _audited(_: Any) -> Any:
    callback = await create_callback(name="audit", timeout=120)
    return await callback.result()


@durable_node
async def _slow_vendor(_: Any) -> Any:
    await wait(30, name="slow-vendor")
    return "quoted"


@durable_dag
def _sourcing() -> Any:
    audit = node(_audited(None), name="audit")
    vendor = node(_slow_vendor(None), name="vendor")
    return audit.result, vendor.result


@durable_execution
async def flow_with_an_audit(event: Any) -> Any:
    # A failed callback's CallbackError is one of the SDK's control errors: flow() carries it out
    # of its node contexts without checkpointing them, so the flow's contexts and the other
    # node's wait stay open when the execution fails (or when the handler catches it here).
    try:
        result = await flow(_sourcing(), name="sourcing")
    except (CallbackError, FlowExecutionError) as error:
        if event == "CATCH":
            return f"audit failed: {type(error).__name__}"
        raise
    return [output.status.value for output in result.outputs]


@durable_execution
async def swallows_suspension(event: Any) -> Any:
    try:
        await wait(60, name="cool-off")
    except BaseException:  # swallows SuspendExecution
        return "went on"
    return "waited"


@durable_execution
async def forgets_a_wait(event: Any) -> Any:
    wait(60, name="forgotten")  # a task, never awaited
    return await step(lambda: _value(1), name="work")


@durable_execution
async def forgets_a_wait_after_a_failure(event: Any) -> Any:
    """A step that failed for good, its error caught; later a wait started and never
    awaited, and the execution fails with an error of its own (not the step's)."""
    with contextlib.suppress(CallableRuntimeError):
        await step(lambda: _boom("probe"), name="probe", retry_strategy=NO_RETRY)
    await wait(60, name="pause")
    wait(60, name="forgotten")  # a task, never awaited
    await step(lambda: _value(1), name="work")
    msg = "gave up"
    raise RuntimeError(msg)


@durable_execution
async def forgets_an_invoke(event: Any) -> Any:
    invoke("callee", 1, name="forgotten-invoke")  # a task, never awaited
    return await step(lambda: _value(1), name="work")


@durable_execution
async def forgets_a_callback(event: Any) -> Any:
    callback = await create_callback(name="payment", timeout=300)
    await step(lambda: _value(callback.callback_id), name="send-id")
    return "sent"


@durable_execution
async def callee(n: Any) -> Any:
    await wait(10, name="callee-wait")
    return n
