"""Handlers for ``test_structures_corpus.py``: a deliberately wrong twin of a corpus handler,
which the oracles must still flag."""

from __future__ import annotations

import datetime
import functools
import json
from typing import Any

from async_durable_execution import durable_execution, step, wait


class CompensateOnAnyExit:
    """``structures.UnitOfWork`` gone wrong: it compensates whenever the block ends with an
    exception, ``SuspendExecution`` (a wait) included, so every suspension cancels what was
    booked and records a compensation step where the replay books the next thing."""

    def __init__(self) -> None:
        self.undo: list[str] = []

    async def __aenter__(self) -> CompensateOnAnyExit:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> bool:
        if exc_type is not None:
            for booking in reversed(self.undo):

                async def cancel(booking: str = booking) -> str:
                    return f"cancelled {booking}"

                await step(cancel, name=f"undo-{booking}")
        return False


@durable_execution
async def unit_of_work_compensating_on_suspension(event: Any) -> dict[str, Any]:
    booked: list[str] = []
    async with CompensateOnAnyExit() as uow:
        for kind in ("flight", "hotel"):

            async def book(kind: str = kind) -> str:
                return kind

            booked.append(await step(book, name=f"book-{kind}"))
            uow.undo.append(kind)
            await wait(2, name=f"after-{kind}")
    return {"booked": booked}


#: What ``lambda_level_metrics`` saw: one entry per invocation it wrapped.
INVOCATIONS_SEEN: list[str] = []


def lambda_level_metrics(handler: Any) -> Any:
    """A decorator of the Lambda entry point ``(event, context)``, stacked above
    ``@durable_execution`` as Powertools' ``@logger.inject_lambda_context`` or
    ``@metrics.log_metrics`` are: on Lambda it runs around every invocation."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        INVOCATIONS_SEEN.append("invocation")
        return handler(event, context)

    return wrapper


@lambda_level_metrics
@durable_execution
async def wrapped_at_the_lambda_level(event: Any) -> dict[str, Any]:
    async def one() -> int:
        return 1

    first = await step(one, name="one")
    await wait(5, name="pause")
    return {"first": first}


#: What ``log_raw_event`` wrote: each invocation's event and response, as JSON text.
RAW_LOG: list[str] = []


def log_raw_event(handler: Any) -> Any:
    """A layer of the Lambda entry point that logs the raw event and response as JSON, as
    teams do to see what Lambda sent (``json.dumps(event)``, Powertools'
    ``log_event=True``)."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        RAW_LOG.append(json.dumps(event))
        response = handler(event, context)
        RAW_LOG.append(json.dumps(response))
        return response

    return wrapper


@log_raw_event
@durable_execution
async def raw_event_logged(event: Any) -> dict[str, Any]:
    async def one() -> int:
        return 1

    first = await step(one, name="one")
    await wait(5, name="pause")
    return {"first": first}


def stamps_the_response(handler: Any) -> Any:
    """A layer that adds when it answered to the SDK's response, as a ``datetime``: Lambda's
    runtime cannot write that as JSON (``Runtime.MarshalError``)."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        response = dict(handler(event, context))
        response["AnsweredAt"] = datetime.datetime.now(datetime.UTC)
        return response

    return wrapper


@stamps_the_response
@durable_execution
async def response_stamped_by_a_layer(event: Any) -> dict[str, Any]:
    async def one() -> int:
        return 1

    return {"first": await step(one, name="one")}


def returns_nothing_useful(handler: Any) -> Any:
    """A layer of the Lambda entry point that drops what the SDK's handler returned."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        handler(event, context)
        return "ok"

    return wrapper


@returns_nothing_useful
@durable_execution
async def output_swallowed_by_a_layer(event: Any) -> int:
    return 1
