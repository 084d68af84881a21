"""A partner's ticket office, in a module of its own: a cold sandbox re-imports the handler's
module, not this one, so the tickets it has issued outlive sandboxes, as a real partner's do
(the replay gate's tests reset it)."""

from __future__ import annotations

#: Tickets issued so far: each is new.
TICKETS: list[int] = []


def next_ticket() -> int:
    TICKETS.append(len(TICKETS) + 1)
    return TICKETS[-1]
