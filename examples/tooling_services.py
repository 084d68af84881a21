"""The "real" clients ``tooling.py``'s handlers talk to, which the tests replace with their own
tooling (``unittest.mock``, botocore's ``Stubber``): an in-house payments API, an inventory
API, an async document store, an id factory, and boto3 SQS and DynamoDB clients.

They live in a module of their own, as the other corpora's fakes do: a cold sandbox
re-imports the handler's module, and a client made there at import would be made anew,
without the test's patch (a trap in ``docs/findings.md``). Every method here refuses to run:
a test that forgets to patch one fails loudly instead of reaching a network.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3


class NoNetworkInTests(RuntimeError):
    """A real client was called from a test."""


class PaymentsApi:
    """An in-house payments API; ``charge`` honours idempotency keys in production."""

    def charge(self, key: str, cents: int) -> dict[str, Any]:
        raise NoNetworkInTests(f"PaymentsApi.charge({key!r}, {cents})")

    def refund(self, charge_id: str) -> dict[str, Any]:
        raise NoNetworkInTests(f"PaymentsApi.refund({charge_id!r})")


class InventoryApi:
    def reserve(self, sku: str, quantity: int) -> str:
        raise NoNetworkInTests(f"InventoryApi.reserve({sku!r}, {quantity})")

    def ping(self) -> bool:
        raise NoNetworkInTests("InventoryApi.ping()")


class RatesApi:
    """A rate provider that is sometimes down (``ConnectionError``, ``TimeoutError``)."""

    def quote(self, currency: str) -> dict[str, Any]:
        raise NoNetworkInTests(f"RatesApi.quote({currency!r})")


class DocumentStore:
    async def get(self, key: str) -> dict[str, Any] | None:
        raise NoNetworkInTests(f"DocumentStore.get({key!r})")

    async def put(self, key: str, document: dict[str, Any]) -> None:
        raise NoNetworkInTests(f"DocumentStore.put({key!r}, ...)")


PAYMENTS = PaymentsApi()
INVENTORY = InventoryApi()
RATES = RatesApi()
STORE = DocumentStore()


def new_id() -> str:
    """An id for a new record (patched in tests to give readable ones)."""
    return uuid.uuid4().hex


_CREDENTIALS = {
    "region_name": "eu-west-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
#: Module-level boto3 clients, as Lambda code makes them (outside the handler, reused warm).
SQS: Any = boto3.client("sqs", **_CREDENTIALS)
DYNAMODB: Any = boto3.client("dynamodb", **_CREDENTIALS)
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/shipments"


class Mailer:
    def send(self, to: str, body: str) -> str:
        raise NoNetworkInTests(f"Mailer.send({to!r}, ...)")


MAILER = Mailer()
