"""Fake external services for ``batches.py``: five storage replicas, an outcome log, artifact
mirrors, a booking partner and a fleet of devices.

They live in a module of their own because an external service outlives the Lambda sandbox
(a cold re-invocation re-imports the handler's module, not the world it talks to). Every one
is idempotent on the key its caller chose, so a step that runs twice asks twice and changes
the world once.
"""

from __future__ import annotations

import hashlib

#: Replicas: (replica, record key) -> the version it stored (a key is stored once).
WRITES: dict[tuple[str, str], int] = {}
#: Record key -> "committed" or "aborted" (the first outcome recorded stays).
OUTCOMES: dict[str, str] = {}
#: Reservation key -> "held" or "cancelled".
RESERVATIONS: dict[str, str] = {}
#: Device -> how many pings it answered.
PINGS: dict[str, int] = {}


def reset() -> None:
    """A fresh deployment of every fake service."""
    WRITES.clear()
    OUTCOMES.clear()
    RESERVATIONS.clear()
    PINGS.clear()


def write(replica: str, key: str) -> str:
    WRITES.setdefault((replica, key), 1)
    return replica


def record(key: str, outcome: str) -> str:
    return OUTCOMES.setdefault(key, outcome)


def digest(artifact: str) -> str:
    return hashlib.sha256(artifact.encode()).hexdigest()[:16]


def reserve(key: str) -> str:
    RESERVATIONS.setdefault(key, "held")
    return key


def cancel(key: str) -> str:
    if key in RESERVATIONS:
        RESERVATIONS[key] = "cancelled"
    return key


def ping(device: str) -> str:
    PINGS[device] = PINGS.get(device, 0) + 1
    return device
