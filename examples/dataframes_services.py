"""Fake partners for ``dataframes.py``: a warehouse that exports CSV, an object store, a
purchasing API that deduplicates reorders, and a booking desk for quotes.

They live in a module of their own because a partner outlives the Lambda sandbox. Each
answers by what it is asked: an export is a function of its day (or warehouse), a stored
object of its key, a reorder of its (warehouse, SKU, day).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from typing import Any

#: Key -> (body, metadata) of every object stored.
OBJECTS: dict[str, tuple[str, dict[str, str]]] = {}
#: (warehouse, sku, day) -> the purchase order made for it.
REORDERS: dict[tuple[str, str, str], str] = {}
#: How many reorder requests each (warehouse, sku, day) came with.
REORDER_REQUESTS: dict[tuple[str, str, str], int] = {}
#: Order -> the quote booked for it (the first one asked for wins).
BOOKINGS: dict[str, float] = {}
#: Every refusal, for the tests to look at.
REFUSED: list[str] = []
#: Events the clickstream received, with the instant the collector stamped them.
EVENTS: list[dict[str, Any]] = []

REGIONS = ("eu", "us", "ap")
SKUS = ("A-100", "B-200", "C-300", "D-400")


def reset() -> None:
    """A fresh deployment of every fake partner."""
    OBJECTS.clear()
    REORDERS.clear()
    REORDER_REQUESTS.clear()
    BOOKINGS.clear()
    REFUSED.clear()
    EVENTS.clear()


def _digit(*parts: str) -> int:
    return int(hashlib.sha256(":".join(parts).encode()).hexdigest()[:8], 16)


def sales_rows(day: str, rows: int) -> list[dict[str, Any]]:
    """The day's sales, as the warehouse holds them (a function of the day)."""
    out = []
    for n in range(rows):
        d = _digit(day, str(n))
        out.append(
            {
                "order": f"{day}-{n:04d}",
                "region": REGIONS[d % len(REGIONS)],
                "sku": SKUS[(d >> 4) % len(SKUS)],
                "qty": 1 + (d >> 8) % 5,
                "unit_price": round(5 + (d >> 12) % 9500 / 100, 2),
            }
        )
    return out


def export_csv(day: str, rows: int) -> str:
    """The warehouse's CSV export of a day's sales."""
    lines = ["order,region,sku,qty,unit_price"]
    lines += [
        f"{r['order']},{r['region']},{r['sku']},{r['qty']},{r['unit_price']:.2f}"
        for r in sales_rows(day, rows)
    ]
    return "\n".join(lines) + "\n"


def inventory_csv(warehouse: str) -> str:
    """Stock movements of a warehouse (many rows per SKU), a function of the warehouse."""
    lines = ["sku,bin,qty"]
    for n in range(60):
        d = _digit(warehouse, str(n))
        lines.append(f"{SKUS[d % len(SKUS)]},bin-{n % 7},{(d >> 6) % 40 - 12}")
    return "\n".join(lines) + "\n"


def put_object(key: str, body: str, metadata: dict[str, str] | None = None) -> str:
    """Store an object (a later put of the same key replaces it); its ETag."""
    OBJECTS[key] = (body, dict(metadata or {}))
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def get_object(key: str) -> str:
    if key not in OBJECTS:
        REFUSED.append(f"no such key {key}")
        msg = f"NoSuchKey: {key}"
        raise KeyError(msg)
    return OBJECTS[key][0]


def reorder(warehouse: str, sku: str, qty: int, day: str) -> str:
    """A purchase order for ``qty`` of ``sku``: one per (warehouse, SKU, day), however often
    it is asked for (the purchasing API's idempotency)."""
    key = (warehouse, sku, day)
    REORDER_REQUESTS[key] = REORDER_REQUESTS.get(key, 0) + 1
    made = REORDERS.get(key)
    if made is None:
        made = REORDERS[key] = f"po-{warehouse}-{sku}-{qty}"
    return made


def book(order: str, quote: float) -> str:
    """The booking desk: the first quote asked for an order is the one booked."""
    BOOKINGS.setdefault(order, quote)
    return f"bk-{order}"


def collect(events: list[dict[str, Any]]) -> int:
    """The clickstream collector: stamps each event with the instant it arrived (the wall
    clock, the runner's virtual one in an invocation)."""
    now = _dt.datetime.now(_dt.UTC)
    for event in events:
        EVENTS.append({**event, "collected_at": now.isoformat()})
    return len(events)


def collected_between(start: str, end: str) -> list[dict[str, Any]]:
    """The events the collector stamped in ``[start, end)`` (ISO instants)."""
    return [e for e in EVENTS if start <= e["collected_at"] < end]
