"""Fake external services for ``processes.py``: a travel partner whose bookings can be
cancelled (idempotently, by booking id), a paged export API, a ledger that deduplicates on
idempotency keys, and a deployment target.

They live in a module of their own because an external service outlives the Lambda sandbox:
a cold re-invocation re-imports the handler's module, not the world it talks to.
"""

from __future__ import annotations

import random
from typing import Any

#: Bookings: booking id -> "booked" or "cancelled".
BOOKINGS: dict[str, str] = {}
#: How many times each booking was asked to be cancelled (the partner counts every request).
CANCEL_REQUESTS: dict[str, int] = {}
#: Exports: export id -> its rows, drawn once when the export is first asked for.
EXPORTS: dict[str, list[int]] = {}
#: The ledger: idempotency key -> the amount posted under it (a key is posted once).
LEDGER: dict[str, int] = {}
#: How many times a post was asked for, duplicates included.
POST_REQUESTS: dict[str, int] = {}

PAGE_SIZE = 4


def reset() -> None:
    """A fresh deployment of every fake service."""
    BOOKINGS.clear()
    CANCEL_REQUESTS.clear()
    EXPORTS.clear()
    LEDGER.clear()
    POST_REQUESTS.clear()


def book(booking: str) -> str:
    """Booking is idempotent on the id the caller chose."""
    BOOKINGS.setdefault(booking, "booked")
    return booking


def cancel(booking: str) -> str:
    """Cancelling is idempotent: a second request for a cancelled booking changes nothing."""
    CANCEL_REQUESTS[booking] = CANCEL_REQUESTS.get(booking, 0) + 1
    if booking in BOOKINGS:
        BOOKINGS[booking] = "cancelled"
    return f"cancelled-{booking}"


def page(export: str, cursor: int) -> dict[str, Any]:
    """Page ``cursor`` of an export; the export's size is drawn when it is first read (the
    data exists before the handler pages through it, and stays put)."""
    rows = EXPORTS.setdefault(
        export, [random.randint(0, 999) for _ in range(random.randint(0, 17))]
    )
    chunk = rows[cursor * PAGE_SIZE : (cursor + 1) * PAGE_SIZE]
    more = (cursor + 1) * PAGE_SIZE < len(rows)
    return {"rows": chunk, "next": cursor + 1 if more else None}


def post(key: str, amount: int) -> int:
    """Posts ``amount`` under ``key`` once; a repeated key is acknowledged, not posted again.
    Returns the ledger's total."""
    POST_REQUESTS[key] = POST_REQUESTS.get(key, 0) + 1
    LEDGER.setdefault(key, amount)
    return sum(LEDGER.values())


def posted(prefix: str) -> int:
    return sum(v for k, v in LEDGER.items() if k.startswith(prefix))
