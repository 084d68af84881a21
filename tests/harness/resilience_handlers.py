"""Handlers for ``test_resilience_corpus.py`` that are not in the corpus of correct ones: their
verdict depends on the fault plan (module level: cold sandboxes import them afresh)."""

from __future__ import annotations

from typing import Any

import resilience_services as services
from async_durable_execution import durable_execution, step, wait

#: The partner's client, made on first use and kept by the sandbox (a cold one makes its own).
_CONNECTIONS: dict[str, str] = {}


def _connection(client: str) -> str:
    connection = _CONNECTIONS.get(client)
    if connection is None:
        connection = _CONNECTIONS[client] = services.connect(client)
    return connection


@durable_execution
async def records_the_connection_it_used(event: Any) -> dict[str, Any]:
    """An audit step records which connection served it: the sandbox's, made by the first
    step in a warm sandbox, or a new one in a cold sandbox (both are right: the step's value
    is checkpointed)."""
    client = event["client"]

    async def orders() -> str:
        return services.query(_connection(client), "orders")

    async def audit() -> dict[str, str]:
        connection = _connection(client)
        return {"connection": connection, "answer": services.query(connection, "audit")}

    first = await step(orders, name="orders")
    await wait(60, name="a-minute")
    return {"orders": first, "audit": await step(audit, name="audit")}


def reset() -> None:
    """A fresh partner, and a fresh client in the test process (one sandbox for every run)."""
    services.reset()
    _CONNECTIONS.clear()
