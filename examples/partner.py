"""A fake partner service that issues fresh tickets and honours only the tickets it issued.

It lives in a module of its own because an external service outlives the Lambda sandbox: a
cold re-invocation re-imports the handler's module, not the world it talks to.
"""

from __future__ import annotations

import itertools

_TICKETS = itertools.count(1000)
ISSUED: set[int] = set()


def reset() -> None:
    """A fresh deployment of the partner: its ticket counter starts over."""
    global _TICKETS  # noqa: PLW0603 - the fake partner's own state
    _TICKETS = itertools.count(1000)
    ISSUED.clear()


def issue() -> int:
    ticket = next(_TICKETS)
    ISSUED.add(ticket)
    return ticket


def redeem(ticket: int) -> str:
    if ticket not in ISSUED:
        msg = f"ticket {ticket} was never issued"
        raise ValueError(msg)
    return f"redeemed-{ticket}"
