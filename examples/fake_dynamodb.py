"""A DynamoDB table in memory behind a real boto3 client (or aiobotocore's async one): the
client builds, validates and sends its requests as it does against AWS, and botocore's own
``before-call`` event answers them here instead of over the network (as botocore's
``Stubber`` does), so code under test keeps its ``boto3`` calls, ``ClientError``s included.

``PutItem``, ``GetItem``, ``DeleteItem`` and ``UpdateItem`` (``SET`` of values) on any
table, keyed by the attribute named ``pk``, with condition expressions as DynamoDB reads
them (``attribute_exists``, ``attribute_not_exists``, comparisons, ``AND``, ``OR``, ``NOT``,
parentheses, ``#name`` and ``:value`` placeholders) and ``ReturnValuesOnConditionCheckFailure``:
enough for Powertools' ``DynamoDBPersistenceLayer`` (``key_attr="pk"``) as well as
hand-written conditional writes. The tables outlive a sandbox, as DynamoDB outlives
Lambda's: ``reset()`` empties them (a scenario's ``before_run``).
"""

from __future__ import annotations

import contextlib
import json
import operator
import re
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
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
    if operation == "GetItem":
        item = table.get(key)
        return _ok({} if item is None else {"Item": dict(item)})
    if operation not in ("PutItem", "DeleteItem", "UpdateItem"):
        msg = f"this fake table does not answer {operation}"
        raise ValueError(msg)
    old = table.get(key)
    condition = request.get("ConditionExpression")
    if condition is not None and not _Condition(condition, request).holds(old or {}):
        parsed: dict[str, Any] = {}
        if old is not None and request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
            parsed["Item"] = dict(old)
        return _error("ConditionalCheckFailedException", "The conditional request failed", parsed)
    if operation == "PutItem":
        table[key] = dict(request["Item"])
    elif operation == "DeleteItem":
        table.pop(key, None)
    else:
        table[key] = _updated(old or dict(request["Key"]), request)
    return _ok({})


def _updated(item: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """``item`` after ``UpdateExpression``'s ``SET name = :value, ...``."""
    expression = request["UpdateExpression"].strip()
    if not expression.upper().startswith("SET "):
        msg = f"this fake table understands UpdateExpression SET only, not {expression!r}"
        raise ValueError(msg)
    names = request.get("ExpressionAttributeNames") or {}
    values = request.get("ExpressionAttributeValues") or {}
    updated = dict(item)
    for assignment in expression[4:].split(","):
        target, _, source = (part.strip() for part in assignment.partition("="))
        if not source.startswith(":"):
            msg = f"this fake table sets values (:placeholders) only, not {source!r}"
            raise ValueError(msg)
        updated[names.get(target, target)] = values[source]
    return updated


_TOKEN = re.compile(
    r"\s*(attribute_not_exists|attribute_exists|AND\b|OR\b|NOT\b|<>|<=|>=|[=<>(),]"
    r"|[#:]?[A-Za-z_][A-Za-z0-9_]*)"
)


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class _Condition:
    """A ``ConditionExpression``, parsed by recursive descent and evaluated on an item (``{}``
    for an item that does not exist): ``OR`` of ``AND`` of ``NOT``, functions, comparisons."""

    def __init__(self, expression: str, request: dict[str, Any]) -> None:
        self._names: dict[str, str] = request.get("ExpressionAttributeNames") or {}
        self._values: dict[str, Any] = request.get("ExpressionAttributeValues") or {}
        self._tokens: list[str] = []
        position = 0
        while position < len(expression.rstrip()):
            match = _TOKEN.match(expression, position)
            if match is None:
                msg = f"this fake table cannot read {expression[position:]!r} in {expression!r}"
                raise ValueError(msg)
            self._tokens.append(match.group(1))
            position = match.end()
        self._expression = expression

    def holds(self, item: dict[str, Any]) -> bool:
        self._item, self._at = item, 0
        result = self._or()
        if self._at != len(self._tokens):
            msg = f"this fake table cannot read {self._expression!r}"
            raise ValueError(msg)
        return result

    def _next(self) -> str:
        token = self._tokens[self._at] if self._at < len(self._tokens) else ""
        self._at += 1
        return token

    def _peek(self) -> str:
        return self._tokens[self._at] if self._at < len(self._tokens) else ""

    def _expect(self, token: str) -> None:
        if self._next() != token:
            msg = f"this fake table expected {token!r} in {self._expression!r}"
            raise ValueError(msg)

    def _or(self) -> bool:
        result = self._and()
        while self._peek() == "OR":
            self._next()
            right = self._and()  # (both sides read, so that the parse goes on)
            result = result or right
        return result

    def _and(self) -> bool:
        result = self._not()
        while self._peek() == "AND":
            self._next()
            right = self._not()
            result = result and right
        return result

    def _not(self) -> bool:
        if self._peek() == "NOT":
            self._next()
            return not self._not()
        return self._primary()

    def _primary(self) -> bool:
        token = self._next()
        if token == "(":
            result = self._or()
            self._expect(")")
            return result
        if token in ("attribute_exists", "attribute_not_exists"):
            self._expect("(")
            exists = self._name(self._next()) in self._item
            self._expect(")")
            return exists if token == "attribute_exists" else not exists
        left, comparison, right = self._operand(token), self._next(), self._operand(self._next())
        if comparison not in _COMPARISONS:
            msg = f"this fake table cannot compare with {comparison!r} in {self._expression!r}"
            raise ValueError(msg)
        if left is None or right is None or set(left) != set(right):
            return False  # a missing attribute, or another type: DynamoDB says false
        (kind,) = left
        a, b = left[kind], right[kind]
        if kind == "N":
            a, b = Decimal(a), Decimal(b)
        return bool(_COMPARISONS[comparison](a, b))

    def _name(self, token: str) -> str:
        return self._names.get(token, token)

    def _operand(self, token: str) -> dict[str, Any] | None:
        if token.startswith(":"):
            return dict(self._values[token])
        value = self._item.get(self._name(token))
        return None if value is None else dict(value)


def _ok(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    parsed["ResponseMetadata"] = {"HTTPStatusCode": 200}
    return AWSResponse(None, 200, {}, None), parsed  # type: ignore[arg-type]


def _error(
    code: str, message: str, extra: dict[str, Any] | None = None
) -> tuple[AWSResponse, dict[str, Any]]:
    # (An error's modelled members, such as the old item, sit beside ``Error``, as botocore
    # parses them.)
    parsed = {
        **(extra or {}),
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return AWSResponse(None, 400, {}, None), parsed  # type: ignore[arg-type]
