"""A DynamoDB table in memory behind a real boto3 client (or aiobotocore's async one): the
client builds, validates and sends its requests as it does against AWS, and botocore's own
``before-call`` event answers them here instead of over the network (as botocore's
``Stubber`` does), so code under test keeps its ``boto3`` calls, ``ClientError``s included.

``PutItem`` (with ``ConditionExpression="attribute_not_exists(<key>)"`` or none), ``GetItem``
and ``DeleteItem`` on any table, keyed by the attribute named ``pk``. The tables outlive a
sandbox, as DynamoDB outlives Lambda's: ``reset()`` empties them (a scenario's
``before_run``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

#: Items by table and key (``pk``'s value): attribute-value maps, as the API carries them.
TABLES: dict[str, dict[str, dict[str, Any]]] = {}
#: Every request answered, in order: (operation, table, key).
REQUESTS: list[tuple[str, str, str]] = []


def reset() -> None:
    TABLES.clear()
    REQUESTS.clear()


def client() -> Any:
    """A boto3 DynamoDB client whose requests this module answers."""
    dynamodb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    dynamodb.meta.events.register("before-call.dynamodb.*", _answer)
    return dynamodb


_aio_session: Any = None


@contextlib.asynccontextmanager
async def aio_client() -> AsyncIterator[Any]:
    """An aiobotocore DynamoDB client whose requests this module answers, for ``async with``
    (aiobotocore's clients are made and closed on the event loop that uses them)."""
    global _aio_session  # noqa: PLW0603 - made once: a session loads the service's model
    if _aio_session is None:
        from aiobotocore.session import get_session

        _aio_session = get_session()
    async with _aio_session.create_client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as dynamodb:
        dynamodb.meta.events.register("before-call.dynamodb.*", _answer)
        yield dynamodb


def _key(request: dict[str, Any]) -> str:
    attribute = (request.get("Item") or request.get("Key") or {}).get("pk")
    if not attribute or "S" not in attribute:
        msg = "this fake table is keyed by a string attribute named pk"
        raise ValueError(msg)
    return str(attribute["S"])


def _answer(model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    # ``params`` is the request as serialised for the wire: DynamoDB's JSON body.
    request = json.loads(params["body"])
    operation, table_name = model.name, request["TableName"]
    table = TABLES.setdefault(table_name, {})
    key = _key(request)
    REQUESTS.append((operation, table_name, key))
    if operation == "PutItem":
        condition = request.get("ConditionExpression")
        if condition is not None:
            if condition.replace(" ", "") != "attribute_not_exists(pk)":
                msg = f"this fake table understands attribute_not_exists(pk) only, not {condition}"
                raise ValueError(msg)
            if key in table:
                return _error("ConditionalCheckFailedException", "The conditional request failed")
        table[key] = dict(request["Item"])
        return _ok({})
    if operation == "GetItem":
        item = table.get(key)
        return _ok({} if item is None else {"Item": dict(item)})
    if operation == "DeleteItem":
        table.pop(key, None)
        return _ok({})
    msg = f"this fake table does not answer {operation}"
    raise ValueError(msg)


def _ok(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    parsed["ResponseMetadata"] = {"HTTPStatusCode": 200}
    return AWSResponse(None, 200, {}, None), parsed  # type: ignore[arg-type]


def _error(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return AWSResponse(None, 400, {}, None), parsed  # type: ignore[arg-type]
