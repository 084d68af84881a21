"""``DurableChildContextTestRunner``: one child context tested on its own."""

from __future__ import annotations

import json

import pytest
from async_durable_execution import InvocationStatus
from orders import approve_and_price, pricing_handler

from async_durable_execution_runner import DurableChildContextTestRunner
from async_durable_execution_runner.errors import DurableRunnerError


def test_a_child_context_runs_alone_with_the_runners_api() -> None:
    with DurableChildContextTestRunner(
        approve_and_price, name="review", functions={"pricing": pricing_handler}
    ) as runner:
        arn = runner.start({"id": 4, "quantity": 3})
        callback_id = runner.wait_for_callback(arn, name="approval")
        runner.send_callback_success(callback_id, json.dumps({"approved": False}))
        result = runner.wait_for_result(arn)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == {"approved": False, "price": 30}
    review = result.get_context("review")
    assert review.status.value == "SUCCEEDED"
    assert review.get_invoke("price").result == "30"
    assert [op.name for op in result.operations] == ["review"]  # the only top-level operation


def test_process_isolation_is_refused_with_the_reason() -> None:
    with pytest.raises(DurableRunnerError, match="isolation='process' cannot import it"):
        DurableChildContextTestRunner(approve_and_price, isolation="process")
