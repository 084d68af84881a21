"""Trip booking, a saga: book a flight, a hotel and a car; if one cannot be booked, cancel
what was booked, in reverse order, and report why.

The input is ``{"traveller": "ada", "flight": "LHR-JFK", "hotel": "NYC-1", "car": "NYC"}``;
a destination starting with ``sold-out`` cannot be booked. Every booking carries the trip's
reference (drawn once, in a step) so the partner books each leg once however often it is
asked; a cancellation can be asked twice. Bookings are retried on transient errors, never on
``SoldOut``; compensations are retried on every error, as long as the SDK's default allows.
"""

from __future__ import annotations

import uuid
from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    RetryStrategy,
    durable_callable,
    durable_execution,
    step,
)

from gallery import services

LEGS = ("flight", "hotel", "car")

_TRANSIENT = RetryStrategy(max_attempts=6, initial_delay=3)


def retry_unless_sold_out(error: Exception, attempts_made: int) -> float | None:
    if isinstance(error, services.SoldOut):
        return None
    return _TRANSIENT(error, attempts_made)


async def new_reference() -> str:
    return f"trip-{uuid.uuid4().hex[:12]}"


@durable_callable
async def book(kind: str, reference: str, what: str) -> str:
    return services.reservations.book(kind, reference, what)


@durable_callable
async def cancel(confirmation: str) -> None:
    services.reservations.cancel(confirmation)


@durable_execution
async def book_trip(trip: dict[str, Any]) -> dict[str, Any]:
    reference = await step(new_reference, name="reference")
    booked: list[tuple[str, str]] = []
    for kind in LEGS:
        try:
            confirmation = await step(
                book(kind, reference, trip[kind]),
                name=f"book-{kind}",
                retry_strategy=retry_unless_sold_out,
            )
        except CallableRuntimeError as error:
            for done_kind, done in reversed(booked):
                await step(cancel(done), name=f"cancel-{done_kind}")
            return {
                "status": "cancelled",
                "reference": reference,
                "failed": kind,
                "reason": error.error_type,
                "cancelled": [done for _, done in reversed(booked)],
            }
        booked.append((kind, confirmation))
    return {"status": "booked", "reference": reference, "confirmations": dict(booked)}
