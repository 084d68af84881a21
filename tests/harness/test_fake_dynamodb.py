"""``examples/fake_dynamodb.py`` answers as DynamoDB does, for the condition and update
expressions the corpora and Powertools' persistence layer send: a fake that answered wrong
would make correct handlers look broken (or broken ones look correct)."""

from __future__ import annotations

import asyncio
from typing import Any

import fake_dynamodb
import pytest
from botocore.exceptions import ClientError

TABLE = fake_dynamodb.client()


def _put(item: dict[str, Any], condition: str | None = None, **extra: Any) -> None:
    options = {"ConditionExpression": condition} if condition is not None else {}
    TABLE.put_item(TableName="t", Item=item, **options, **extra)


def _refused(item: dict[str, Any], condition: str, **extra: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        _put(item, condition, **extra)
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    return raised.value


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    fake_dynamodb.reset()


def _item(key: str, **attributes: Any) -> dict[str, Any]:
    return {"pk": {"S": key}, **attributes}


def test_conditions_are_read_as_dynamodb_reads_them() -> None:
    stored = _item("a", n={"N": "5"}, s={"S": "INPROGRESS"})
    _put(stored)
    names = {"ExpressionAttributeNames": {"#n": "n", "#s": "s"}}
    values = {":four": {"N": "4"}, ":ten": {"N": "10"}, ":busy": {"S": "INPROGRESS"}}
    holds = [
        "attribute_exists(pk)",
        "attribute_not_exists(missing)",
        "#n > :four AND #n < :ten",
        "#n >= :four",
        "NOT #n = :ten",
        "#n <> :ten",
        "attribute_not_exists(pk) OR (#s = :busy AND #n <= :ten)",
    ]
    fails = [
        "attribute_not_exists(pk)",
        "#n < :four",
        "#n = :busy",  # another type: false, as DynamoDB says
        "missing < :ten",  # a missing attribute: false
        "NOT (#n > :four)",
        "attribute_not_exists(pk) OR #n > :ten",
    ]
    for condition in holds:
        _put(stored, condition, **names, ExpressionAttributeValues=values)
    for condition in fails:
        _refused(stored, condition, **names, ExpressionAttributeValues=values)


def test_a_refused_write_hands_back_the_old_item_when_asked() -> None:
    _put(_item("a", v={"N": "1"}))
    plain = _refused(_item("a"), "attribute_not_exists(pk)")
    assert "Item" not in plain.response
    asked = _refused(
        _item("a"), "attribute_not_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD"
    )
    assert asked.response["Item"] == _item("a", v={"N": "1"})  # type: ignore[typeddict-item]


def test_update_sets_values_and_makes_a_missing_item() -> None:
    TABLE.update_item(
        TableName="t",
        Key={"pk": {"S": "b"}},
        UpdateExpression="SET #v = :v, w = :w",
        ExpressionAttributeNames={"#v": "v"},
        ExpressionAttributeValues={":v": {"N": "2"}, ":w": {"S": "x"}},
    )
    assert fake_dynamodb.TABLES["t"]["b"] == _item("b", v={"N": "2"}, w={"S": "x"})
    with pytest.raises(ClientError):
        TABLE.update_item(
            TableName="t",
            Key={"pk": {"S": "b"}},
            UpdateExpression="SET v = :v",
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeValues={":v": {"N": "3"}},
        )
    assert fake_dynamodb.TABLES["t"]["b"]["v"] == {"N": "2"}


@pytest.mark.parametrize(
    "condition", ["size(pk) > :one", "pk IN (:one)", "attribute_exists(pk) AND", "(pk = :one"]
)
def test_what_it_cannot_read_is_said_not_guessed(condition: str) -> None:
    with pytest.raises(ValueError, match="this fake table"):
        _put(_item("c"), condition, ExpressionAttributeValues={":one": {"N": "1"}})


def test_the_async_client_is_answered_the_same() -> None:
    async def go() -> None:
        async with fake_dynamodb.aio_client() as table:
            await table.put_item(TableName="t", Item=_item("d"))
            with pytest.raises(ClientError):
                await table.put_item(
                    TableName="t", Item=_item("d"), ConditionExpression="attribute_not_exists(pk)"
                )
            assert (await table.get_item(TableName="t", Key={"pk": {"S": "d"}}))["Item"] == (
                _item("d")
            )

    asyncio.run(go())
