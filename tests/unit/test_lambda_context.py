"""The invoker's cheap Lambda context is the dataclass's own object."""

from __future__ import annotations

import dataclasses

import pytest

from async_durable_execution_runner._sandbox.lambda_context import (
    LocalLambdaContext,
    lambda_context,
)


@pytest.mark.parametrize("deadline", [None, 12.5])
def test_lambda_context_equals_the_dataclass_built_one(deadline: float | None) -> None:
    stream = "2025/01/01/[$LATEST]0123456789abcdef0123456789abcdef"
    built = lambda_context(
        "req-1", "fn", "arn:aws:lambda:us-east-1:1:function:fn", deadline, stream
    )
    expected = LocalLambdaContext(
        aws_request_id="req-1",
        function_name="fn",
        invoked_function_arn="arn:aws:lambda:us-east-1:1:function:fn",
        deadline=deadline,
        log_group_name="/aws/lambda/fn",
        log_stream_name=stream,
    )
    assert type(built) is LocalLambdaContext
    assert built == expected
    # Every field, in the dataclass's order, and nothing else.
    assert list(vars(built)) == [f.name for f in dataclasses.fields(LocalLambdaContext)]
    assert vars(built) == vars(expected)
    assert repr(built) == repr(expected)


def test_each_context_has_its_own_log() -> None:
    first = lambda_context("a", "fn", "arn", None)
    second = lambda_context("b", "fn", "arn", None)
    first.log("hello")
    assert first.logs == ["hello"]
    assert second.logs == []
