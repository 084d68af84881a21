"""Fake external services for ``errors.py``: a payment gateway that times out, declines and
holds for fraud review, a configuration store, an eventually consistent replica, an HTTP API
that answers with status codes, a ticketing desk that may be down, a booking partner, a
lease manager and a refund ledger.

They live in a module of their own because an external service outlives the Lambda sandbox
(a cold re-invocation re-imports the handler's module, not the world it talks to). Every one
is idempotent on the key its caller chose, so a step that runs twice asks twice and changes
the world once. The exception classes the services raise live in ``errors.py`` (the handler's
code knows them by its own module, as users' client libraries define theirs).
"""

from __future__ import annotations

#: Charges: payment key -> cents charged (a key is charged once).
CHARGES: dict[str, int] = {}
#: Refunds: payment key -> cents refunded (a key is refunded once).
REFUNDS: dict[str, int] = {}
#: Notifications sent, by key (sent once per key).
NOTICES: dict[str, str] = {}
#: The configuration store: region -> its raw settings, as an operator typed them.
CONFIG: dict[str, dict[str, str]] = {
    "eu-west-1": {"endpoint": "https://eu-west-1.example"},
    "eu-central-1": {"endpoint": "https://eu-central-1.example", "timeout": "30s"},
    "us-east-1": {"endpoint": "https://us-east-1.example", "timeout": "45"},
}
#: The replica's records: sku -> its raw record ("" for a record the writer corrupted).
RECORDS: dict[str, str] = {"lamp": "7|EUR|1999", "mug": "40|EUR|899", "vase": "", "sofa": "2|EUR"}
#: Ticketing desk: ticket key -> the callback id handed over.
TICKETS: dict[str, str] = {}
#: Bookings: booking key -> "booked" or "cancelled".
BOOKINGS: dict[str, str] = {}
#: Leases: lease key -> "held" or "released".
LEASES: dict[str, str] = {}


def reset() -> None:
    """A fresh deployment of every fake service."""
    CHARGES.clear()
    REFUNDS.clear()
    NOTICES.clear()
    TICKETS.clear()
    BOOKINGS.clear()
    LEASES.clear()


def charge(key: str, cents: int) -> int:
    """Charges once per key; a repeated request answers with the first charge."""
    return CHARGES.setdefault(key, cents)


def refund(key: str) -> int:
    """Refunds what was charged under ``key``, once."""
    return REFUNDS.setdefault(key, CHARGES.get(key, 0))


def notify(key: str, text: str) -> str:
    """Sends a notification once per key."""
    NOTICES.setdefault(key, text)
    return key


def open_ticket(key: str, callback_id: str) -> str:
    TICKETS.setdefault(key, callback_id)
    return key


def book(key: str) -> str:
    BOOKINGS.setdefault(key, "booked")
    return key


def cancel(key: str) -> str:
    if key in BOOKINGS:
        BOOKINGS[key] = "cancelled"
    return key


def lease(key: str) -> str:
    LEASES.setdefault(key, "held")
    return key


def release(key: str) -> str:
    if key in LEASES:
        LEASES[key] = "released"
    return key
