"""Fake partners for ``observability.py``: an inventory that reserves stock, a payments API
that takes the caller's trace headers, and a collector that receives exported telemetry and
log lines.

They live in a module of their own because a partner outlives the Lambda sandbox (a cold
re-invocation re-imports the handler's module, not the world it talks to). Each answers by
what it is asked (a reservation is a function of the order, a charge of its amount), so a step
that runs again asks again and gets the same answer. What they are sent besides (a
``traceparent`` header, exported spans and metric points) is recorded for the tests to look
at, never answered with.
"""

from __future__ import annotations

import hashlib
from typing import Any


class TransientError(Exception):
    """A partner's 503: worth trying again."""


#: Order -> reservations made for it (a retried step reserves again: the same answer).
RESERVATIONS: dict[str, int] = {}
#: Every ``traceparent`` header the payments API was sent, in order.
TRACEPARENTS: list[str] = []
#: Key -> calls the flaky API has seen for it.
CALLS: dict[str, int] = {}
#: Span names the collector received (every sandbox's exporter sends here).
SPANS: list[str] = []
#: Metric points the collector received: (metric name, attributes as a sorted tuple, value).
POINTS: list[tuple[str, tuple[tuple[str, Any], ...], float]] = []
#: Log lines the collector received (structlog's event dictionaries).
LINES: list[dict[str, Any]] = []


def reset() -> None:
    """A fresh deployment of every fake partner."""
    RESERVATIONS.clear()
    TRACEPARENTS.clear()
    CALLS.clear()
    SPANS.clear()
    POINTS.clear()
    LINES.clear()


def price(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:6], 16) % 900 + 100


def reserve(order: str, items: int) -> str:
    RESERVATIONS[order] = RESERVATIONS.get(order, 0) + 1
    return f"res-{order}-{items}"


def charge(order: str, amount: int, headers: dict[str, str]) -> str:
    """Payments: the charge id is a function of the order and amount; the trace header the
    caller sent is recorded (a real API logs it), not answered with."""
    traceparent = headers.get("traceparent")
    if traceparent is not None:
        TRACEPARENTS.append(traceparent)
    return f"ch-{hashlib.sha256(f'{order}:{amount}'.encode()).hexdigest()[:10]}"


def flaky_price(key: str, fails: int) -> int:
    """The price of ``key``, after refusing the first ``fails`` calls for it with a 503."""
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] <= fails:
        msg = f"pricing is unavailable for {key} (call {CALLS[key]})"
        raise TransientError(msg)
    return price(key)
