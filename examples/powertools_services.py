"""The AWS services behind ``powertools.py``'s handlers, as a unit test fakes them: an
idempotency table with DynamoDB's conditional-write rules (the persistence layer a test
swaps in for ``DynamoDBPersistenceLayer``), a parameter store (a ``BaseProvider`` in place
of ``SSMProvider``), a payments ledger, a shipments table and a warehouse whose first call
for a poison message fails.

It lives in a module of its own, which a cold sandbox does not re-import: the tables carry
on across sandboxes, as DynamoDB outlives Lambda's. ``reset()`` (each entry's
``before_run``) empties them. Every table takes a lock: a duplicate delivery runs beside
the first on a thread of its own, as another sandbox would.
"""

from __future__ import annotations

import copy
import datetime as _dt
import threading
from typing import Any

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.parameters import BaseProvider

_LOCK = threading.RLock()

#: Idempotency records by key: what ``DynamoDBPersistenceLayer`` keeps in its table.
IDEMPOTENCY: dict[str, DataRecord] = {}
#: Charges as the payment provider books them (one per successful call).
LEDGER: list[dict[str, Any]] = []
#: Shipments by message id (a conditional put: a redelivered message books nothing new).
SHIPMENTS: dict[str, dict[str, Any]] = {}
#: Parameters by name, and how often each was fetched (a cache's misses).
PARAMETERS: dict[str, str] = {}
FETCHES: dict[str, int] = {}


def reset() -> None:
    """A fresh deployment of every fake service."""
    with _LOCK:
        IDEMPOTENCY.clear()
        LEDGER.clear()
        SHIPMENTS.clear()
        FETCHES.clear()
        PARAMETERS.clear()
        PARAMETERS.update(
            {
                "/shop/fraud-threshold": "5000",
                "/shop/carrier": "acme-freight",
                "/shop/routes/eu": "eu-west-1",
                "/shop/routes/us": "us-east-1",
            }
        )


reset()


class IdempotencyTable(BasePersistenceLayer):
    """``DynamoDBPersistenceLayer``'s rules over a dict: a record is put only where none is,
    or where the one there expired, or is in progress past its in-progress expiry."""

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with _LOCK:
            record = IDEMPOTENCY.get(idempotency_key)
            if record is None:
                raise IdempotencyItemNotFoundError
            return copy.copy(record)

    def _put_record(self, data_record: DataRecord) -> None:
        now = _dt.datetime.now()
        with _LOCK:
            old = IDEMPOTENCY.get(data_record.idempotency_key)
            if old is not None and not (
                (old.expiry_timestamp or 0) < int(now.timestamp())
                or (
                    old.status == "INPROGRESS"
                    and old.in_progress_expiry_timestamp is not None
                    and old.in_progress_expiry_timestamp < int(now.timestamp() * 1000)
                )
            ):
                raise IdempotencyItemAlreadyExistsError(old_data_record=copy.copy(old))
            IDEMPOTENCY[data_record.idempotency_key] = copy.copy(data_record)

    def _update_record(self, data_record: DataRecord) -> None:
        with _LOCK:
            IDEMPOTENCY[data_record.idempotency_key] = copy.copy(data_record)

    def _delete_record(self, data_record: DataRecord) -> None:
        with _LOCK:
            IDEMPOTENCY.pop(data_record.idempotency_key, None)


def book_charge(payment_id: str, cents: int) -> dict[str, Any]:
    """The payment provider: every call books a charge (it is the caller's job not to call
    twice)."""
    with _LOCK:
        LEDGER.append({"payment_id": payment_id, "cents": cents})
        return {"payment_id": payment_id, "cents": cents, "charge": f"ch-{payment_id}"}


def charges_for(payment_id: str) -> int:
    with _LOCK:
        return sum(1 for charge in LEDGER if charge["payment_id"] == payment_id)


class PoisonMessage(ValueError):
    """A message the warehouse can never ship (the batch reports it as failed)."""


def ship(message_id: str, sku: str, quantity: int) -> dict[str, Any]:
    """Books a shipment once per message id (a conditional put): a redelivery gets the
    shipment booked the first time."""
    if quantity <= 0:
        raise PoisonMessage(f"message {message_id}: quantity {quantity} cannot ship")
    with _LOCK:
        booked = SHIPMENTS.setdefault(
            message_id, {"sku": sku, "quantity": quantity, "parcel": f"p-{message_id}"}
        )
        return dict(booked)


class ParameterStore(BaseProvider):
    """SSM Parameter Store as a test fakes it: the values of ``PARAMETERS``, counting each
    fetch (the provider caches for ``max_age`` seconds of ``datetime.now()``)."""

    def _get(self, name: str, **sdk_options: Any) -> str:
        with _LOCK:
            FETCHES[name] = FETCHES.get(name, 0) + 1
            return PARAMETERS[name]

    def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, str]:
        with _LOCK:
            prefix = path.rstrip("/") + "/"
            FETCHES[path] = FETCHES.get(path, 0) + 1
            return {k[len(prefix) :]: v for k, v in PARAMETERS.items() if k.startswith(prefix)}
