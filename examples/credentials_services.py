"""Fake partners for ``credentials.py``: a token issuer whose JWTs expire (and one whose
upload tokens are not valid before a given instant), a payments API that deduplicates charges
by idempotency key and signs its receipts, and a vault that verifies signed requests.

They live in a module of their own because a partner outlives the Lambda sandbox. Each reads
the wall clock as a real partner does (in an invocation that is the runner's virtual clock,
which the handler reads too) and answers by what it is asked: a charge is a function of its
idempotency key, a secret of its name.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Unauthorized(Exception):
    """A partner's 401: a token expired, not yet valid, or a signature that does not match."""


#: The issuer's signing key (HS256): the partners share it, the handler never sees it.
ISSUER_KEY = b"issuer-signing-key-not-a-real-secret-0123456789"
#: How long a service token is valid (seconds of the wall clock).
TOKEN_LIFETIME = 300
#: The payments API's receipt signing secret, which the handler is given (a webhook secret).
RECEIPT_SECRET = b"whsec-test-receipts-not-a-real-secret"
#: How old a receipt may be when verified (seconds), as webhook libraries allow.
RECEIPT_TOLERANCE = 300

#: Client -> tokens issued.
ISSUED: dict[str, int] = {}
#: Every call refused, for the tests to look at: (partner, reason).
REFUSED: list[tuple[str, str]] = []
#: Idempotency key -> the charge made for it (a retried request gets the same charge).
CHARGES: dict[str, dict[str, Any]] = {}
#: How many requests each idempotency key came with.
REQUESTS: dict[str, int] = {}
#: The client -> public key registry of the vault (a key registered once per deployment).
VAULT_KEYS: dict[str, Ed25519PublicKey] = {}
#: Secrets the vault handed out, by name.
READS: list[str] = []


def reset() -> None:
    """A fresh deployment of every fake partner."""
    ISSUED.clear()
    REFUSED.clear()
    CHARGES.clear()
    REQUESTS.clear()
    VAULT_KEYS.clear()
    READS.clear()


def issue_token(client: str, *, not_before_in: float = 0.0) -> str:
    """A service token for ``client``, valid for ``TOKEN_LIFETIME`` seconds from now (from
    ``not_before_in`` seconds from now, if given)."""
    ISSUED[client] = ISSUED.get(client, 0) + 1
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": client,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": f"{client}-{ISSUED[client]}",
    }
    if not_before_in:
        claims["nbf"] = now + not_before_in
    return jwt.encode(claims, ISSUER_KEY, algorithm="HS256")


def _authorize(partner: str, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, ISSUER_KEY, algorithms=["HS256"])
    except jwt.PyJWTError as error:
        REFUSED.append((partner, type(error).__name__))
        msg = f"{partner} refused the token: {error}"
        raise Unauthorized(msg) from error
    return claims


def price(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:6], 16) % 900 + 100


def call(token: str, request: str) -> str:
    """An API that wants a valid service token: the answer is a function of the request."""
    claims = _authorize("api", token)
    return f"{request}:{price(claims['sub'] + request)}"


def upload(token: str, name: str) -> str:
    """A storage API whose upload tokens are valid from their ``nbf`` on."""
    _authorize("storage", token)
    return f"s3://uploads/{name}"


def charge(order: str, amount: int, idempotency_key: str) -> dict[str, Any]:
    """Payments: one charge per idempotency key, whatever the number of requests; the receipt
    is signed (``t=<unix time>,v1=<hex HMAC of "t.body">``) when the charge is made."""
    REQUESTS[idempotency_key] = REQUESTS.get(idempotency_key, 0) + 1
    made = CHARGES.get(idempotency_key)
    if made is None:
        body = f"{order}:{amount}:{idempotency_key[:12]}"
        made = {"charge": f"ch-{hashlib.sha256(body.encode()).hexdigest()[:10]}", "body": body}
        CHARGES[idempotency_key] = made
    stamp = int(time.time())
    signature = hmac.new(
        RECEIPT_SECRET, f"{stamp}.{made['body']}".encode(), hashlib.sha256
    ).hexdigest()
    return {**made, "signature": f"t={stamp},v1={signature}"}


def register_key(client: str, key: Ed25519PublicKey) -> None:
    VAULT_KEYS.setdefault(client, key)


def read_secret(client: str, name: str, signature: bytes) -> str:
    """The vault: a request signed with the client's registered key gets the secret."""
    key = VAULT_KEYS.get(client)
    if key is None:
        REFUSED.append(("vault", "unknown client"))
        msg = f"the vault knows no key for {client}"
        raise Unauthorized(msg)
    try:
        key.verify(signature, f"{client}:{name}".encode())
    except Exception as error:  # cryptography's InvalidSignature
        REFUSED.append(("vault", "bad signature"))
        msg = f"the vault refused {client}'s signature for {name}"
        raise Unauthorized(msg) from error
    READS.append(name)
    return f"secret-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
