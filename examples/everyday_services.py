"""Fake services for ``everyday.py``: a mailbox for approval requests, a card processor with an
idempotency ledger and an audit log.

They live in a module of their own because an external service outlives the Lambda sandbox:
a cold re-invocation re-imports the handler's module, not the world it talks to.
"""

from __future__ import annotations

from typing import Any

#: Approval requests sent to a manager: request id -> callback id to answer.
OUTBOX: dict[str, str] = {}
#: Charges made: idempotency key -> charge id (a retried charge with the same key is one).
LEDGER: dict[str, str] = {}
#: Declines and other events the business wants on record.
AUDIT: list[dict[str, Any]] = []


def reset() -> None:
    """A fresh deployment of every fake service."""
    OUTBOX.clear()
    LEDGER.clear()
    AUDIT.clear()


def charge(key: str, amount: int) -> str:
    """The processor honours idempotency keys: the same key charges once."""
    if key not in LEDGER:
        LEDGER[key] = f"ch-{len(LEDGER) + 1}-{amount}"
    return LEDGER[key]


def find_charge(key: str) -> str | None:
    return LEDGER.get(key)
