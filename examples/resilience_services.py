"""Fake partners for ``resilience.py``: a flaky pricing API, a partner that is down for a
while, a token issuer whose tokens expire, a partner that names the connections opened to
it, and a report job that takes a few polls.

They live in a module of their own because a partner outlives the Lambda sandbox (a cold
re-invocation re-imports the handler's module, not the world it talks to). Each answers by
what it is asked (a price is a function of the key, a report of the job), so a step that runs
again asks again and gets the same answer. The token issuer reads the wall clock, as a real
partner does: in an invocation that is the runner's virtual clock, which the handler reads
too.
"""

from __future__ import annotations

import hashlib
import time


class TransientError(Exception):
    """A partner's 503: worth trying again."""


class ExpiredToken(Exception):
    """A partner's 401 for a token past its expiry."""


#: Key -> the calls the flaky API has seen for it.
CALLS: dict[str, int] = {}
#: Token -> (the client it was issued to, the wall-clock instant it expires).
TOKENS: dict[str, tuple[str, float]] = {}
#: Client -> tokens issued.
ISSUED: dict[str, int] = {}
#: Client -> connections opened.
CONNECTIONS: dict[str, int] = {}
#: Job -> polls answered.
POLLS: dict[str, int] = {}
#: Every call a partner answered with a refusal, for the tests to look at: (partner, key).
REFUSED: list[tuple[str, str]] = []

#: How long a token is valid, in seconds of the wall clock.
TOKEN_LIFETIME = 300.0


def reset() -> None:
    """A fresh deployment of every fake partner."""
    CALLS.clear()
    TOKENS.clear()
    ISSUED.clear()
    CONNECTIONS.clear()
    POLLS.clear()
    REFUSED.clear()


def price(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:6], 16) % 900 + 100


def flaky_price(key: str, fails: int) -> int:
    """The price of ``key``, after refusing the first ``fails`` calls for it with a 503."""
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] <= fails:
        REFUSED.append(("prices", key))
        raise TransientError(f"503 from the pricing API for {key} (call {CALLS[key]})")
    return price(key)


def issue_token(client: str) -> str:
    ISSUED[client] = ISSUED.get(client, 0) + 1
    token = f"{client}-token-{ISSUED[client]}"
    TOKENS[token] = (client, time.time() + TOKEN_LIFETIME)
    return token


def call_with_token(token: str, request: str) -> str:
    """The partner's answer to ``request``, if ``token`` is still valid."""
    client, expires = TOKENS[token]
    if time.time() >= expires:
        REFUSED.append(("tokens", request))
        raise ExpiredToken(f"401: {token} expired {time.time() - expires:.0f} s ago")
    return f"{request}:{price(client + request)}"


def connect(client: str) -> str:
    """A new connection to the partner, named by the partner."""
    CONNECTIONS[client] = CONNECTIONS.get(client, 0) + 1
    return f"{client}-conn-{CONNECTIONS[client]}"


def query(connection: str, request: str) -> str:
    return f"{request}:{price(connection.partition('-conn-')[0] + request)}"


def start_report(job: str) -> str:
    POLLS.setdefault(job, 0)
    return job


def report_ready(job: str, after: int) -> bool:
    """Whether the report ``job`` is ready: from its ``after``-th poll on."""
    POLLS[job] = POLLS.get(job, 0) + 1
    return POLLS[job] >= after


def report(job: str) -> dict[str, int]:
    return {"job": price(job), "rows": price(job + "rows") % 50}
