"""Wrong twins of ``examples/lambda_runtime.py`` (the request id of one invocation deciding
what the handler does outside a step), and handlers that use what Lambda's runtime provides
and the runner does not (its environment variables, the context's log group and stream)."""

from __future__ import annotations

import os
from typing import Any

from async_durable_execution import (
    durable_execution,
    get_durable_context,
    get_step_context,
    step,
    wait,
)


async def _value(value: Any) -> Any:
    return value


@durable_execution
async def request_id_names_a_step(event: Any) -> dict[str, Any]:
    """``lambda_runtime.request_id_audit_trail`` with the request id read outside the step
    and put in the step's name: the replay (another invocation, another request id) asks for
    a step of another name where the first was checkpointed."""
    request_id = get_durable_context().lambda_context.aws_request_id
    charge = await step(lambda: _value(4_200), name=f"charge-{request_id[:8]}")
    await wait(30, name="settle")
    receipt = await step(lambda: _value(f"receipt-{charge}"), name="receipt")
    return {"receipt": receipt}


@durable_execution
async def request_id_decides_a_branch(event: Any) -> dict[str, Any]:
    """Samples "one request in two" for a debug snapshot by the request id's first digit,
    outside a step: the invocation that replays decides again, with its own request id, and
    asks for a wait where the snapshot step was checkpointed (or the other way round)."""
    request_id = get_durable_context().lambda_context.aws_request_id
    if request_id < "c":
        await step(lambda: _value("snapshot"), name="debug-snapshot")
    else:
        await wait(1, name="no-snapshot")
    await wait(30, name="settle")
    done = await step(lambda: _value("done"), name="finish")
    return {"done": done}


@durable_execution
async def region_from_environment(event: Any) -> dict[str, Any]:
    """Ported as is from an ordinary Lambda function: the region and the function's name from
    the variables Lambda's runtime always sets, without a fallback."""
    region = os.environ["AWS_REGION"]
    function = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    memory = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    quote = await step(lambda: _value({"region": region, "memory": memory}), name="quote")
    await wait(10, name="hold")
    return {"function": function, "quote": quote}


@durable_execution
async def log_location(event: Any) -> dict[str, Any]:
    """Links a report to the invocation's CloudWatch log stream, from the context's
    ``log_group_name`` and ``log_stream_name`` (always strings on Lambda)."""
    context = get_durable_context().lambda_context
    group = context.log_group_name.removeprefix("/aws/lambda/")
    stream = context.log_stream_name.split("]", 1)[-1]
    link = await step(lambda: _value(f"logs/{group}/{len(stream)}"), name="link")
    return {"link": link}


async def _drain(items: list[int]) -> list[int]:
    """Processes items while more than 30 s of the invocation remain (the margin Lambda
    batch processors keep to stop cleanly before the function's time-out)."""
    context = get_step_context().lambda_context
    done = []
    for item in items:
        if context.get_remaining_time_in_millis() < 30_000:
            break
        done.append(item)
    return done


@durable_execution
async def drain_while_time_remains(event: Any) -> dict[str, Any]:
    """Each invocation starts with the function's whole time-out on Lambda (up to 15
    minutes), so one step drains the eight items; the rest would go to the next step."""
    items = list(range(8))
    rounds = 0
    while items and rounds < 3:
        done = await step(lambda i=items: _drain(i), name=f"drain-{rounds}")
        items = items[len(done) :]
        rounds += 1
        await wait(1, name=f"pause-{rounds}")
    return {"left": len(items), "rounds": rounds}
