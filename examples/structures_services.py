"""Fake external services for ``structures.py``: a database and an HTTP API, each reached
through a client object the handler's module makes at import, a payment gateway with two
providers, a notifier, and the sinks a tracing decorator and a metrics middleware write to.

They live in a module of their own because an external service outlives the Lambda sandbox:
a cold re-invocation re-imports the handler's module (and makes new clients), not the world
they talk to.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

#: The database's tables: table -> key -> row.
TABLES: dict[str, dict[str, dict[str, Any]]] = {}
#: Every HTTP request the API served, as ``"METHOD path"``, duplicates included.
REQUESTS: list[str] = []
#: Charges taken, by idempotency key (a key is charged once).
CHARGES: dict[str, int] = {}
#: Notifications sent, in order.
SENT: list[str] = []
#: Spans and metrics the handler's telemetry recorded (names and durations; never read back).
TELEMETRY: list[tuple[str, float]] = []
#: Connections the database served, one per client object made (a cold sandbox makes one).
CONNECTIONS: list[str] = []


def reset() -> None:
    """A fresh deployment of every fake service."""
    TABLES.clear()
    REQUESTS.clear()
    CHARGES.clear()
    SENT.clear()
    TELEMETRY.clear()
    CONNECTIONS.clear()


class Database:
    """A client with a connection of its own, opened when the client is made (at import)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.connection = uuid.uuid4().hex[:8]
        CONNECTIONS.append(self.connection)

    def put(self, table: str, key: str, row: dict[str, Any]) -> dict[str, Any]:
        """Upsert: putting the same key again overwrites (idempotent for the same row)."""
        TABLES.setdefault(table, {})[key] = dict(row)
        return dict(row)

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        row = TABLES.get(table, {}).get(key)
        return None if row is None else dict(row)

    def scan(self, table: str) -> list[dict[str, Any]]:
        return [dict(TABLES.get(table, {})[k]) for k in sorted(TABLES.get(table, {}))]


class HttpError(Exception):
    """The API answered 5xx."""


class HttpClient:
    """A client for the inventory API; about one call in ten fails with a 503."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def get(self, path: str) -> dict[str, Any]:
        REQUESTS.append(f"GET {path}")
        if random.random() < 0.1:
            msg = f"503 from {self.base_url}{path}"
            raise HttpError(msg)
        sku = path.rsplit("/", 1)[-1]
        return {"sku": sku, "stock": 3 + len(sku) % 5, "etag": uuid.uuid4().hex[:6]}

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        REQUESTS.append(f"POST {path}")
        return {"accepted": True, "id": uuid.uuid4().hex[:10], "echo": sorted(body)}


def charge(provider: str, key: str, cents: int) -> str:
    """Charges once per idempotency key; a repeated request gets the first charge's id."""
    CHARGES.setdefault(key, cents)
    return f"{provider}:{key[:8]}"


def notify(who: str, text: str) -> str:
    SENT.append(f"{who}: {text}")
    return f"msg-{len(SENT)}"


#: What ``structures.log_metrics`` flushed, one batch per invocation (as Powertools' EMF
#: metrics are printed at the end of each invocation): here, where a cold sandbox's
#: re-import of the handler's module does not replace it.
FLUSHED_METRICS: list[dict[str, Any]] = []
