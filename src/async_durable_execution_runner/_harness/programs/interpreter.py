"""Run a generated ``Program`` with the real SDK: ``program_handler``.

``program_handler(event)`` takes ``{"program": <Program.to_json()>, "input": <any JSON>}`` and
runs the program with the SDK's public operations (see ``nodes.py`` for what each node
means). It is deterministic across replays: it reads no clock and no randomness; the only
per-attempt information a step body uses is ``get_step_context().attempt``.

Register the handler for chained invokes under the name ``"program"``::

    DurableFunctionTestRunner(handler=program_handler, functions={"program": program_handler})
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from async_durable_execution import (
    CompletionConfig,
    CompletionReason,
    InvocationError,
    JitterStrategy,
    RetryStrategy,
    StepSemantics,
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

from async_durable_execution_runner._harness.programs import partner
from async_durable_execution_runner._harness.programs.nodes import (
    Callback,
    Catch,
    Child,
    Completion,
    Invoke,
    Map,
    Node,
    Outcome,
    Parallel,
    Retry,
    Step,
    SucceedInput,
    Unawaited,
    Wait,
    WaitForCondition,
    from_json,
)

# The SDK is untyped for mypy (see pyproject): give its decorators the types they have.
_durable_callable: Callable[
    [Callable[..., Awaitable[Any]]], Callable[..., Callable[[], Awaitable[Any]]]
] = durable_callable
_durable_execution: Callable[[Callable[[dict[str, Any]], Awaitable[Any]]], Any] = durable_execution

#: The function name chained invokes of generated programs use.
PROGRAM_FUNCTION = "program"


class StepBodyError(Exception):
    """Raised by a step body whose outcome says this attempt fails."""


class BatchFailedError(Exception):
    """A batch completed with ``FAILURE_TOLERANCE_EXCEEDED`` but ``throw_if_error`` did not
    raise (it should: the reference evaluator expects ``CallableRuntimeError``)."""


@dataclass
class _Scope:
    """What a body can see: its input, and the tasks it started without awaiting."""

    input: Any
    detached: list[asyncio.Task[Any]] = field(default_factory=list)


def _retry_strategy(retry: Retry) -> RetryStrategy:
    return RetryStrategy(
        max_attempts=retry.max_attempts,
        initial_delay=retry.delay,
        max_delay=max(retry.delay, 1),
        backoff_rate=1,
        jitter_strategy=JitterStrategy.NONE,
    )


def _completion_config(completion: Completion) -> CompletionConfig:
    return CompletionConfig(
        min_successful=completion.min_successful,
        tolerated_failure_count=completion.tolerated_failures,
    )


@_durable_callable
async def _step_body(outcome: Outcome, scope_input: Any) -> Any:
    attempt = get_step_context().attempt or 1
    # It waits once (for a partner's answer), as most real bodies do: where a sandbox can
    # die inside it (``body_crash``); and it calls AWS once, as real bodies do, synchronously:
    # where a sandbox can die right after the call (``aws_call_crash``), or the call's
    # answer time out (``aws_call_timeout``: the body lets the error out, and the attempt
    # fails, as the reference evaluator's ``step_timeouts`` say).
    await asyncio.sleep(0)
    partner.record(f"{outcome!r}#{attempt}")
    if outcome.fails_on(attempt):
        msg = f"{outcome!r} fails on attempt {attempt}"
        raise StepBodyError(msg)
    if isinstance(outcome, SucceedInput):
        return scope_input
    if outcome.kind == "fail_first":
        return attempt
    return getattr(outcome, "value", None)


@_durable_callable
async def _constant(value: Any) -> Any:
    return value


@_durable_callable
async def _run_body(body: Sequence[Node], scope: _Scope) -> list[Any]:
    results = []
    for node in body:
        value = await _run_node(node, scope)
        if not isinstance(node, Unawaited):
            results.append(value)
    return results


def _batch_value(batch: Any) -> dict[str, Any]:
    if batch.completion_reason is CompletionReason.FAILURE_TOLERANCE_EXCEEDED:
        batch.throw_if_error()
        msg = "the batch exceeded its failure tolerance"
        raise BatchFailedError(msg)
    items = []
    for item in batch.all:
        status = item.status.value
        if status == "SUCCEEDED":
            value = item.result
        elif status == "FAILED":
            value = item.error.type if item.error is not None else None
        else:
            value = None
        items.append([status, value])
    return {"reason": batch.completion_reason.value, "items": items}


def _map_function(body: Sequence[Node], scope: _Scope) -> Callable[[Any], Awaitable[Any]]:
    async def run_item(item: Any) -> list[Any]:
        results: list[Any] = await _run_body(body, _Scope(item, scope.detached))()
        return results

    return run_item


async def _run_catch(node: Catch, scope: _Scope) -> Any:
    try:
        return await _run_node(node.node, scope)
    except InvocationError:
        raise  # the SDK's own retryable failures are not the program's to catch
    except Exception as error:
        return type(error).__name__


async def _run_step(node: Step, scope: _Scope) -> Any:
    return await step(
        _step_body(node.outcome, scope.input),
        name=node.name,
        retry_strategy=_retry_strategy(node.retry),
        step_semantics=(
            StepSemantics.AT_MOST_ONCE_PER_RETRY
            if node.at_most_once
            else StepSemantics.AT_LEAST_ONCE_PER_RETRY
        ),
    )


async def _run_wait(node: Wait, scope: _Scope) -> Any:
    await wait(node.seconds, name=node.name)


async def _run_child(node: Child, scope: _Scope) -> Any:
    return await run_in_child_context(_run_body(node.body, scope), name=node.name)


async def _run_callback(node: Callback, scope: _Scope) -> Any:
    callback = await create_callback(
        name=node.name, timeout=node.timeout_seconds, heartbeat_timeout=node.heartbeat_seconds
    )
    payload = await callback.result()
    return json.loads(payload) if payload is not None else None


async def _run_parallel(node: Parallel, scope: _Scope) -> Any:
    batch = await parallel(
        [_run_body(branch, scope) for branch in node.branches],
        name=node.name,
        completion_config=_completion_config(node.completion),
    )
    return _batch_value(batch)


async def _run_map(node: Map, scope: _Scope) -> Any:
    batch = await map(
        _map_function(node.body, scope),
        list(node.items),
        name=node.name,
        completion_config=_completion_config(node.completion),
    )
    return _batch_value(batch)


async def _run_wait_for_condition(node: WaitForCondition, scope: _Scope) -> Any:
    target = node.polls_until_done

    async def check(state: int | None) -> int:
        return (state or 0) + 1

    def polling(state: int, _attempts: int) -> int | None:
        return None if state >= target else 1

    return await wait_for_condition(
        check, name=node.name, initial_state=0, polling_strategy=polling
    )


async def _run_unawaited(node: Unawaited, scope: _Scope) -> Any:
    scope.detached.append(step(_constant(node.value), name=node.name))


async def _run_invoke(node: Invoke, scope: _Scope) -> Any:
    payload = {"program": node.program.to_json(), "input": scope.input}
    return await invoke(PROGRAM_FUNCTION, payload, name=node.name)


#: How each node type runs with the SDK (every type of ``NODE_TYPES`` has an entry).
RUNNERS: dict[type[Node], Callable[[Any, _Scope], Awaitable[Any]]] = {
    Step: _run_step,
    Wait: _run_wait,
    Child: _run_child,
    Callback: _run_callback,
    Parallel: _run_parallel,
    Map: _run_map,
    WaitForCondition: _run_wait_for_condition,
    Invoke: _run_invoke,
    Unawaited: _run_unawaited,
    Catch: _run_catch,
}


async def _run_node(node: Node, scope: _Scope) -> Any:
    run = RUNNERS.get(type(node))
    if run is None:
        msg = f"the interpreter cannot run {node!r}: add a runner for it to RUNNERS"
        raise TypeError(msg)
    return await run(node, scope)


@_durable_execution
async def program_handler(event: dict[str, Any]) -> list[Any]:
    """Run ``event["program"]`` on ``event["input"]``; the result is the body's result list."""
    program = from_json(event["program"])
    results: list[Any] = await _run_body(program.body, _Scope(event.get("input")))()
    return results


def program_event(program: Any, input: Any = None) -> dict[str, Any]:
    """The execution input that runs ``program`` (a ``Program``) on ``input``."""
    return {"program": program.to_json(), "input": input}


__all__ = ["PROGRAM_FUNCTION", "RUNNERS", "StepBodyError", "program_event", "program_handler"]
