"""Handlers for ``test_processes_corpus.py``: what the SDK does not support (``asyncio.TaskGroup``
around durable operations, SDK finding 10) and deliberately wrong twin of a corpus handler,
which the oracles must still flag."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import processes_services as services
from async_durable_execution import (
    CallableRuntimeError,
    RetryStrategy,
    durable_execution,
    step,
    wait,
)

NO_RETRY = RetryStrategy.none()


async def _new_id() -> str:
    return str(uuid.uuid4())


async def _awaited(task: asyncio.Future[Any]) -> Any:
    # TaskGroup.create_task takes a coroutine; a durable operation is already a task.
    return await task


@durable_execution
async def task_group_with_a_wait(event: Any) -> dict[str, Any]:
    """A step and a wait started together in an ``asyncio.TaskGroup``: correct asyncio, and
    the durable calls are made in a fixed order. The wait suspends the invocation, and the
    SDK's suspension reaches the SDK as a ``BaseExceptionGroup``."""
    async with asyncio.TaskGroup() as group:
        token = group.create_task(_awaited(step(_new_id, name="token")))
        group.create_task(_awaited(wait(5, name="cool-off")))
    return {"token": len(token.result())}


@durable_execution
async def task_group_of_steps(event: Any) -> dict[str, Any]:
    """Two steps (one a two-step coroutine) in an ``asyncio.TaskGroup``, then a wait: fine
    until something inside the group must end the invocation (a retry's back-off, a
    throttled checkpoint)."""

    async def pair() -> str:
        first = await step(_new_id, name="first")
        second = await step(_new_id, name="second")
        return first[:4] + second[:4]

    async with asyncio.TaskGroup() as group:
        both = group.create_task(pair())
        one = group.create_task(_awaited(step(_new_id, name="one")))
    await wait(3, name="after")
    return {"both": len(both.result()), "one": len(one.result())}


@durable_execution
async def gather_returning_exceptions(event: Any) -> dict[str, Any]:
    """A step and a wait gathered with ``return_exceptions=True`` (to keep what succeeded):
    the wait's suspension comes back as a value instead of ending the invocation, and the
    handler carries on before the wait has elapsed."""
    results = await asyncio.gather(
        step(_new_id, name="token"), wait(5, name="cool-off"), return_exceptions=True
    )
    return {"kinds": [type(r).__name__ for r in results]}


class Invalid(ValueError):
    """An item that fails validation."""


async def _check(item: int) -> int:
    if item == 1:
        msg = f"item {item} has no price"
        raise Invalid(msg)
    return item


async def _echo(value: Any) -> Any:
    return value


@durable_execution
async def step_inside_except_star(event: Any) -> dict[str, Any]:
    """``processes.validated_batch`` as first written: the quarantine step inside the
    ``except*`` clause. When another failure stays unhandled and the step must retry, its
    suspension is merged with that failure into a ``BaseExceptionGroup``."""
    errors: list[Exception] = []
    for item in range(3):
        try:
            await step(lambda i=item: _check(i), name=f"check-{item}", retry_strategy=NO_RETRY)
        except CallableRuntimeError as error:
            errors.append(Invalid(error.message) if error.error_type == "Invalid" else error)
    try:
        if errors:
            raise ExceptionGroup("items failed validation", errors)
    except* Invalid as group:
        invalid = len(group.exceptions)
        await step(lambda: _echo(invalid), name="quarantine")
    return {"errors": len(errors)}


# --- wrong twins ----------------------------------------------------------------------------


async def _count_cancels() -> int:
    return sum(services.CANCEL_REQUESTS.values())


@durable_execution
async def saga_compensating_outside_steps(event: Any) -> dict[str, Any]:
    """``processes.trip_saga`` with the compensation made in the handler's own code, not in a
    step: every replay cancels again."""
    booking = f"{event['trip']}-flight"
    await step(lambda: _book(booking), name="book-flight")
    # The car is never available: undo the flight.
    services.cancel(booking)  # WRONG: a side effect outside a step, repeated on every replay
    await wait(10, name="tell-the-customer")
    requests = await step(_count_cancels, name="count-cancels")
    return {"cancel_requests": requests}


async def _book(booking: str) -> str:
    return services.book(booking)
