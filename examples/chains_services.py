"""Fake external services for ``chains.py``: an inventory that holds stock under a key, a
card processor that charges once per key, and a sign-off desk that hears callback ids.

They live in a module of their own because an external service outlives the Lambda sandbox
(a cold re-invocation re-imports the handler's module, not the world it talks to), and
because every function of a chain (the orchestrator and the functions it invokes) talks to
the same world.
"""

from __future__ import annotations

#: Inventory holds: hold key -> "held" or "released".
HOLDS: dict[str, str] = {}
#: Charges: payment key -> amount charged (a key is charged once).
CHARGES: dict[str, int] = {}
#: How many times each hold was asked to be released (the inventory counts every request).
RELEASE_REQUESTS: dict[str, int] = {}
#: The sign-off desk's inbox: callback ids it was handed, in order.
DESK: list[str] = []


def hand_over(callback_id: str) -> int:
    """The desk takes a callback id to answer (once: it is the desk's key for the request, so
    a step that hands it over again changes nothing) and says how many it holds."""
    if callback_id not in DESK:
        DESK.append(callback_id)
    return len(DESK)


#: The card's limit: a charge over it is declined (a business answer, not an outage).
CARD_LIMIT = 500


class CardDeclined(Exception):
    """The processor refused the charge; retrying does not help."""


def reset() -> None:
    """A fresh deployment of every fake service."""
    HOLDS.clear()
    CHARGES.clear()
    RELEASE_REQUESTS.clear()
    DESK.clear()


def hold(key: str) -> str:
    """Holding is idempotent on the key the caller chose."""
    HOLDS.setdefault(key, "held")
    return key


def release(key: str) -> bool:
    """Releasing is idempotent: a second request for a released hold changes nothing."""
    RELEASE_REQUESTS[key] = RELEASE_REQUESTS.get(key, 0) + 1
    if key in HOLDS:
        HOLDS[key] = "released"
        return True
    return False


def charge(key: str, amount: int) -> int:
    """Charges ``amount`` under ``key`` once; over the card's limit it is declined."""
    if amount > CARD_LIMIT:
        msg = f"charge of {amount} declined: over the card's limit of {CARD_LIMIT}"
        raise CardDeclined(msg)
    return CHARGES.setdefault(key, amount)
