"""Fake external systems the buggy examples talk to.

They live in a module of their own because an external service outlives the Lambda sandbox:
a cold re-invocation re-imports the handler's module, not the world it talks to.
"""

from __future__ import annotations

from collections import Counter

#: An e-mail service: confirmations sent per order.
SENT: Counter[str] = Counter()
#: A payment service: charges per order, and the idempotency keys it has honoured.
CHARGES: Counter[str] = Counter()
SEEN_KEYS: set[str] = set()
#: A carrier: shipments booked per order.
BOOKINGS: Counter[str] = Counter()
#: A warehouse: stock held per order, until it ships or is released.
HELD: Counter[str] = Counter()
#: An idempotency store: key -> (status, when an INPROGRESS record expires, the result).
IDEMPOTENCY: dict[str, tuple[str, float | None, object]] = {}


def reset() -> None:
    """A fresh world for the next run."""
    SENT.clear()
    CHARGES.clear()
    SEEN_KEYS.clear()
    BOOKINGS.clear()
    HELD.clear()
    IDEMPOTENCY.clear()
