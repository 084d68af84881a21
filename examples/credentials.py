"""Correct handlers that carry credentials the way production Lambda code does (the session-44
false-flag audit, round two): JWTs with expiry and not-before claims (``PyJWT``), data sealed
with ``cryptography``'s Fernet between steps, requests signed with an Ed25519 key, receipts
signed with HMAC and checked against a tolerance, idempotency keys derived with HMAC.

Each of these reads the wall clock where the handler cannot see it: PyJWT checks ``exp`` and
``nbf`` against ``time.time()``, Fernet stamps a token with it and refuses one from more than a
minute in the future, a receipt's tolerance is counted from it. The partners read the same
clock (the runner's virtual clock in an invocation), so the clock must run on through the
service's waits and a step's own sleeps, never go back between sandboxes, and agree between
the handler and the partners:

- ``jwt_cached_across_waits``: a module-level cache of a service token (5 minutes), reused
  while it has more than a minute left by its own ``exp`` claim; calls before and after an
  hour's wait, in a ``map``, and after 250 s more (when the cached token has 50 s left);
- ``nbf_upload_token``: an upload token valid two seconds from its issue (``nbf``), used after
  the step sleeps 2.5 s;
- ``fernet_sealed_between_steps``: card data sealed with Fernet in a step (a random IV: a new
  ciphertext every attempt, checkpointed), opened an hour later in another step with a
  six-hour ``ttl``;
- ``signed_receipt_checked_on_arrival``: two charges in ``parallel``, each with an idempotency
  key derived with HMAC from the durable execution ARN and the charge's purpose, each receipt's
  signature and five-minute tolerance checked in the step that received it;
- ``ed25519_signed_vault_reads``: a public key registered with a vault (the private key is the
  deployment's, not drawn at import), then secrets read with signed requests before and after
  a wait.

Every one is correct durable code: the partners answer by what they are asked (the payments
API deduplicates by idempotency key), so what a handler returns is a function of its input
only. No oracle may flag any of them under any fault plan or timing
(``tests/harness/test_credentials_corpus.py``; ``benchmarks/same_world.py --corpus
credentials`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import credentials_services as services
import jwt
from async_durable_execution import durable_execution, get_durable_context, parallel, step, wait
from async_durable_execution import map as durable_map
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["CORPUS", "reset"]

#: Service tokens by client, this sandbox's (a cold sandbox starts with none).
_TOKENS: dict[str, str] = {}
#: How much life a cached token must have left to be used (seconds).
REFRESH_BEFORE = 60

#: The deployment's data key (from a secret, not drawn at import: every sandbox shares it).
DATA_KEY = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"orders-data-key").digest()))
#: The deployment's signing key for the vault (likewise).
VAULT_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"orders-vault-key").digest())
#: The secret idempotency keys are derived with.
IDEMPOTENCY_SECRET = b"orders-idempotency-not-a-real-secret"


def reset() -> None:
    """A fresh deployment of the partners, and of the sandbox's token cache."""
    services.reset()
    _TOKENS.clear()


# --- a cached service token, refreshed by its own expiry --------------------------------------


def _service_token(client: str) -> str:
    token = _TOKENS.get(client)
    if token is not None:
        claims = jwt.decode(token, options={"verify_signature": False})
        if claims["exp"] - time.time() > REFRESH_BEFORE:
            return token
    token = _TOKENS[client] = services.issue_token(client)
    return token


@durable_execution
async def jwt_cached_across_waits(event: Any) -> dict[str, Any]:
    client = event["client"]

    def call(request: str) -> Any:
        async def body() -> str:
            return services.call(_service_token(client), request)

        return body

    answers = [await step(call("orders"), name="orders")]
    await wait(3600, name="an-hour")
    answers.append(await step(call("invoices"), name="invoices"))

    async def ship(region: str) -> str:
        return await step(call(f"ship-{region}"), name=f"ship-{region}")

    shipped = await durable_map(ship, event["regions"], name="ship", max_concurrency=2)
    answers.extend(shipped.get_results())
    await wait(250, name="nearly-expired")
    answers.append(await step(call("refunds"), name="refunds"))
    return {"answers": answers}


# --- a token not valid before its start -------------------------------------------------------


@durable_execution
async def nbf_upload_token(event: Any) -> dict[str, Any]:
    name = event["name"]

    async def put() -> str:
        token = services.issue_token("uploader", not_before_in=2)
        await asyncio.sleep(2.5)  # the token becomes valid meanwhile
        return services.upload(token, f"{name}.csv")

    location = await step(put, name="upload")
    await wait(60, name="processing")

    async def put_report() -> str:
        token = services.issue_token("uploader", not_before_in=1)
        await asyncio.sleep(1.5)
        return services.upload(token, f"{name}-report.json")

    report = await step(put_report, name="upload-report")
    return {"data": location, "report": report}


# --- data sealed between steps ----------------------------------------------------------------

#: How old a sealed token may be when opened (seconds).
SEAL_TTL = 6 * 3600


@durable_execution
async def fernet_sealed_between_steps(event: Any) -> dict[str, Any]:
    card = event["card"]

    async def seal() -> str:
        return DATA_KEY.encrypt(json.dumps(card).encode()).decode()

    sealed = await step(seal, name="seal")
    await wait(3600, name="fraud-review")

    async def open_sealed() -> str:
        opened = json.loads(DATA_KEY.decrypt(sealed.encode(), ttl=SEAL_TTL))
        return f"{opened['brand']} ending {opened['number'][-4:]}"

    described = await step(open_sealed, name="open")
    return {"card": described}


# --- signed receipts, checked on arrival ------------------------------------------------------


def _idempotency_key(purpose: str) -> str:
    arn = get_durable_context().durable_execution_arn
    return hmac.new(IDEMPOTENCY_SECRET, f"{arn}:{purpose}".encode(), hashlib.sha256).hexdigest()


def _verified(receipt: dict[str, Any]) -> str:
    """The receipt's charge id, once its signature and age are checked (as webhook libraries
    check theirs)."""
    stamp_part, signature_part = receipt["signature"].split(",")
    stamp = int(stamp_part.removeprefix("t="))
    expected = hmac.new(
        services.RECEIPT_SECRET, f"{stamp}.{receipt['body']}".encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature_part.removeprefix("v1=")):
        msg = "the receipt's signature does not match"
        raise ValueError(msg)
    if abs(time.time() - stamp) > services.RECEIPT_TOLERANCE:
        msg = f"the receipt is {time.time() - stamp:.0f} s old"
        raise ValueError(msg)
    return str(receipt["charge"])


@durable_execution
async def signed_receipt_checked_on_arrival(event: Any) -> dict[str, Any]:
    order = event["order"]

    def pay(purpose: str, amount: int) -> Any:
        async def branch() -> str:
            key = _idempotency_key(purpose)

            async def charge() -> str:
                return _verified(services.charge(order, amount, key))

            return await step(charge, name=f"charge-{purpose}")

        return branch

    charged = await parallel(
        [pay("deposit", event["deposit"]), pay("fee", event["fee"])], name="charges"
    )
    deposit, fee = charged.get_results()
    await wait(120, name="settlement")

    async def confirm() -> str:
        return f"confirmed-{deposit}-{fee}"

    return {"deposit": deposit, "fee": fee, "confirmed": await step(confirm, name="confirm")}


# --- requests signed with the deployment's key ------------------------------------------------


def _read(client: str, name: str) -> Any:
    async def body() -> str:
        signature = VAULT_KEY.sign(f"{client}:{name}".encode())
        return services.read_secret(client, name, signature)

    return body


@durable_execution
async def ed25519_signed_vault_reads(event: Any) -> dict[str, Any]:
    client = event["client"]

    async def register() -> str:
        services.register_key(client, VAULT_KEY.public_key())
        return client

    await step(register, name="register-key")
    first = [await step(_read(client, name), name=f"read-{name}") for name in event["first"]]
    await wait(600, name="rotation-window")
    later = [await step(_read(client, name), name=f"read-{name}") for name in event["later"]]
    return {"first": first, "later": later}


CORPUS: dict[str, dict[str, Any]] = {
    "jwt_cached_across_waits": {
        "handler": jwt_cached_across_waits,
        "input": {"client": "billing", "regions": ["eu", "us", "ap"]},
        "before_run": reset,
    },
    "nbf_upload_token": {
        "handler": nbf_upload_token,
        "input": {"name": "sales-2026-12"},
        "before_run": reset,
    },
    "fernet_sealed_between_steps": {
        "handler": fernet_sealed_between_steps,
        "input": {"card": {"brand": "visa", "number": "4242424242424242"}},
        "before_run": reset,
    },
    "signed_receipt_checked_on_arrival": {
        "handler": signed_receipt_checked_on_arrival,
        "input": {"order": "o-55", "deposit": 5000, "fee": 250},
        "before_run": reset,
    },
    "ed25519_signed_vault_reads": {
        "handler": ed25519_signed_vault_reads,
        "input": {"client": "orders", "first": ["db", "smtp"], "later": ["db", "api"]},
        "before_run": reset,
    },
}
