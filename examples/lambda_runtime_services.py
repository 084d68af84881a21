"""Fake external services for ``lambda_runtime.py``: an order table, an idempotency table in
the manner of Powertools' (a record per key, claimed by its owner, then completed), an
object store holding the objects an S3 notification names, a search index a DynamoDB stream
feeds, and the structured log lines the handlers write.

They live in a module of their own because an external service outlives the Lambda sandbox:
a cold re-invocation re-imports the handler's module, not the world it talks to.
"""

from __future__ import annotations

from typing import Any

#: Orders stored, by id (a put of the same row again is idempotent).
ORDERS: dict[str, dict[str, Any]] = {}
#: Idempotency records, by key: ``{"owner": ..., "status": "IN_PROGRESS"|"COMPLETED",
#: "response": ...}``.
IDEMPOTENCY: dict[str, dict[str, Any]] = {}
#: The object store's objects: key -> size in bytes.
OBJECTS: dict[str, int] = {}
#: The search index a stream keeps: document id -> document (a put overwrites).
INDEX: dict[str, dict[str, Any]] = {}
#: Structured log lines (JSON text), in order; written, never read back by a handler.
LOG_LINES: list[str] = []


def reset() -> None:
    """A fresh deployment of every fake service."""
    ORDERS.clear()
    IDEMPOTENCY.clear()
    OBJECTS.clear()
    INDEX.clear()
    LOG_LINES.clear()
    OBJECTS.update(
        {
            "reports/2026/Q4 summary.csv": 1_024,
            "uploads/caf\u00e9 menu+specials.pdf": 20_480,
            "raw/a&b=c/part 0001.json": 77,
        }
    )


def put_order(order_id: str, row: dict[str, Any]) -> dict[str, Any]:
    ORDERS[order_id] = dict(row)
    return dict(row)


def claim(key: str, owner: str) -> dict[str, Any]:
    """Claim an idempotency key for ``owner`` (an execution): a key already claimed by the
    same owner is this owner's again (its earlier attempt died); one completed before is
    answered from its record; one another owner holds is refused."""
    record = IDEMPOTENCY.get(key)
    if record is None:
        IDEMPOTENCY[key] = {"owner": owner, "status": "IN_PROGRESS", "response": None}
        return {"status": "claimed"}
    if record["status"] == "COMPLETED":
        return {"status": "completed", "response": record["response"]}
    if record["owner"] == owner:
        return {"status": "claimed"}
    return {"status": "in_progress_elsewhere"}


def complete(key: str, owner: str, response: Any) -> None:
    record = IDEMPOTENCY.setdefault(key, {"owner": owner, "status": "IN_PROGRESS"})
    record.update(status="COMPLETED", response=response)


def head_object(key: str) -> int:
    """The object's size; a ``KeyError`` for a key the store does not hold (a key the
    handler failed to URL-decode)."""
    return OBJECTS[key]


def index_document(doc_id: str, document: dict[str, Any]) -> None:
    INDEX[doc_id] = dict(document)


def remove_document(doc_id: str) -> None:
    INDEX.pop(doc_id, None)
