"""``aws_call_crash``: the sandbox dies right after a step body's n-th AWS call is answered,
between two calls the body makes without waiting, where no other fault kind reaches."""

from __future__ import annotations

import asyncio
from typing import Any

import fake_dynamodb
import pytest
from async_durable_execution import durable_callable, durable_execution, step
from botocore.exceptions import ClientError

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner._harness.faults.aws_calls import watch_aws_calls
from async_durable_execution_runner.scenarios import Scenario, aws_call_crash

TABLE = fake_dynamodb.client()


def _put(key: str) -> None:
    TABLE.put_item(TableName="t", Item={"pk": {"S": key}})


@durable_callable
async def three_puts(prefix: str) -> str:
    for n in (1, 2, 3):
        _put(f"{prefix}-{n}")
    return prefix


@durable_execution
async def writes_three(event: Any) -> str:
    return await step(three_puts("a"), name="writes")


def test_the_sandbox_dies_once_the_nth_call_is_answered() -> None:
    outcome = Scenario(
        handler=writes_three,
        faults=(aws_call_crash(step=1, call=2),),
        before_run=fake_dynamodb.reset,
    ).run()
    assert outcome.faults_applied == (aws_call_crash(step=1, call=2),)
    # The first invocation made two calls and died; the second ran the attempt again.
    assert [("PutItem", "t", f"a-{n}") for n in (1, 2, 1, 2, 3)] == fake_dynamodb.REQUESTS
    first = outcome.invocations[0]
    assert first.error_type == "Runtime.ExitError"
    assert "injected aws_call_crash(step=1, attempt=1, call=2)" in (first.error_message or "")
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED
    outcome.check()


def test_a_body_with_fewer_calls_is_no_point_for_it() -> None:
    outcome = Scenario(
        handler=writes_three,
        faults=(aws_call_crash(step=1, call=4),),
        before_run=fake_dynamodb.reset,
    ).run()
    assert outcome.faults_applied == ()
    assert len(outcome.invocations) == 1


def _watched(body: Any, at_call: Any) -> Any:
    return watch_aws_calls(at_call).wrap(body)


def test_calls_are_counted_in_the_watched_body_only() -> None:
    seen: list[int] = []

    async def body() -> None:
        _put("inside-1")
        with pytest.raises(ClientError):  # an error answer is an answer: counted
            TABLE.put_item(
                TableName="t",
                Item={"pk": {"S": "inside-1"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        # A call made on another thread is not counted: no fault could stop that thread.
        await asyncio.to_thread(_put, "thread")

    fake_dynamodb.reset()
    asyncio.run(_watched(body, seen.append)())
    _put("outside")
    assert seen == [1, 2]
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == [
        "inside-1",
        "inside-1",
        "thread",
        "outside",
    ]


def test_what_the_watcher_raises_replaces_the_answer() -> None:
    class Died(BaseException):
        pass

    def at_call(n: int) -> None:
        if n == 1:
            raise Died

    async def body() -> str:
        _put("first")
        _put("second")  # never made
        return "done"

    fake_dynamodb.reset()
    with pytest.raises(Died):
        asyncio.run(_watched(body, at_call)())
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == ["first"]
