"""Trip booking, a saga: book a flight, a hotel and a car; if one cannot be booked, cancel
what was booked, in reverse order, and report why.

The input is ``{"traveller": "ada", "flight": "LHR-JFK", "hotel": "NYC-1", "car": "NYC"}``;
a destination starting with ``sold-out`` cannot be booked. Every booking carries the trip's
reference (drawn once, in a step) so the partner books each leg once however often it is
asked; a cancellation can be asked twice. Bookings are retried on transient errors, never on
``SoldOut``; compensations are retried on every error, in rounds an hour apart for half a
day, so that a partner's outage does not leave a leg booked (a leg still booked then is
reported for a person to cancel).
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
from gallery.patience import until_done

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


async def cancel_until_done(kind: str, confirmation: str) -> bool:
    """Cancel a booking however long its partner is down (``gallery/patience.py``); whether
    it was cancelled."""
    try:
        await until_done(lambda: cancel(confirmation), f"cancel-{kind}")
    except CallableRuntimeError:
        return False
    return True


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
            cancelled: list[str] = []
            not_cancelled: list[str] = []
            for done_kind, done in reversed(booked):
                if await cancel_until_done(done_kind, done):
                    cancelled.append(done)
                else:
                    not_cancelled.append(done)
            outcome = {
                "status": "cancelled",
                "reference": reference,
                "failed": kind,
                "reason": error.error_type,
                "cancelled": cancelled,
            }
            if not_cancelled:  # for a person to cancel
                outcome["not_cancelled"] = not_cancelled
            return outcome
        booked.append((kind, confirmation))
    return {"status": "booked", "reference": reference, "confirmations": dict(booked)}
