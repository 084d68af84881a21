"""``DurableFunctionCloudTestRunner`` against the local server (real boto3, loopback HTTP), and
differential mode: the same test through the in-process runner and through the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from async_durable_execution import InvocationStatus
from tests.server import handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._runner.cloud import DurableFunctionCloudTestRunner
from async_durable_execution_runner._runner.differential import (
    FidelityError,
    compare_histories,
    run_differential,
)
from async_durable_execution_runner._server import DurableServiceServer
from async_durable_execution_runner.errors import DurableRunnerError

FUNCTIONS = {"pricing": h.pricing, "approval": h.approval, "failing": h.failing}


@pytest.fixture
def server() -> Iterator[DurableServiceServer]:
    with (
        DurableFunctionTestRunner(h.workflow, function_name="workflow", functions=FUNCTIONS) as r,
        DurableServiceServer(r, drive=True) as running,
    ):
        yield running


def cloud(server: DurableServiceServer, function_name: str) -> DurableFunctionCloudTestRunner:
    return DurableFunctionCloudTestRunner(
        function_name=function_name, endpoint_url=server.url, region="us-east-1"
    )


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # boto3 signs every request; the local server accepts any credentials.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


def order_test(runner: Any) -> Any:
    """A test written once, run on any backend."""
    arn = runner.start({"id": 5, "quantity": 4}, execution_name="order-5")
    callback_id = runner.wait_for_callback(arn, name="approval")
    runner.send_callback_heartbeat(callback_id)
    runner.send_callback_success(callback_id, json.dumps({"approved": True}))
    return runner.wait_for_result(arn, timeout=60)


def test_cloud_runner_drives_a_full_execution(server: DurableServiceServer) -> None:
    with cloud(server, "workflow") as runner:
        result = order_test(runner)
        assert result.status is InvocationStatus.SUCCEEDED
        assert result.result_value == {"approved": True, "price": 8, "flaky": "5 ok"}
        assert result.get_step("flaky").attempt == 2
        assert result.get_invoke("price").result == "8"
        assert result.get_callback("approval").result == '{"approved": true}'
        assert result.get_wait("cool-off").status.value == "SUCCEEDED"
        assert len(result.invocations) == 5
        assert result.history == runner.get_history(result.execution_arn)
        assert runner.get_status(result.execution_arn) is InvocationStatus.SUCCEEDED


def test_cloud_runner_failures_and_stops(server: DurableServiceServer) -> None:
    with cloud(server, "failing") as failing:
        result = failing.run({}, timeout=60)
        assert result.status is InvocationStatus.FAILED
        assert result.error is not None
        assert result.error.error_type == "ValueError"
    with cloud(server, "approval") as approval:
        arn = approval.start("x")
        callback_id = approval.wait_for_callback(arn)
        approval.send_callback_failure(callback_id, {"ErrorType": "Refused", "ErrorMessage": "no"})
        assert approval.wait_for_result(arn).status is InvocationStatus.FAILED
        second = approval.start("y")
        approval.wait_for_callback(second)
        approval.stop_execution(second)
        stopped = approval.get_result(second)
        assert stopped.execution_status.value == "STOPPED"
        assert stopped.get_callback("approval").status.value == "STARTED"
    with cloud(server, "nothing-here") as missing, pytest.raises(Exception, match="not found"):
        missing.start({})


def test_wait_for_callback_on_an_ended_execution_says_so(server: DurableServiceServer) -> None:
    with cloud(server, "failing") as runner:
        arn = runner.start({})
        runner.wait_for_result(arn)
        with pytest.raises(DurableRunnerError, match="no callback pending"):
            runner.wait_for_callback(arn, timeout=5)


def test_differential_local_and_server_agree(server: DurableServiceServer) -> None:
    with (
        DurableFunctionTestRunner(
            h.workflow, function_name="workflow", functions=FUNCTIONS
        ) as local,
        cloud(server, "workflow") as remote,
    ):
        report = run_differential(order_test, {"in-process": local, "server": remote})
    assert report.agreed
    assert set(report.results) == {"in-process", "server"}


def test_a_divergence_is_reported_as_a_fidelity_finding(server: DurableServiceServer) -> None:
    with (
        DurableFunctionTestRunner(
            h.workflow, function_name="workflow", functions=FUNCTIONS
        ) as local,
    ):
        reference = order_test(local).history
    changed = [dict(event) for event in reference]
    index = next(i for i, e in enumerate(changed) if e["EventType"] == "StepFailed")
    changed[index] = {**changed[index], "Name": "renamed"}
    findings = compare_histories(reference, changed[:-1], backend="broken")
    assert [(f.index, f.path) for f in findings] == [
        (index, "Name"),
        (len(reference) - 1, "EventType"),
    ]
    assert "broken: event" in str(findings[0])

    def renamed(runner: Any) -> Any:
        result = order_test(runner)
        if runner is not local_runner:
            object.__setattr__(result, "events", result.events[:-1])
        return result

    with (
        DurableFunctionTestRunner(
            h.workflow, function_name="workflow", functions=FUNCTIONS
        ) as local_runner,
        cloud(server, "workflow") as remote,
        pytest.raises(FidelityError, match="ExecutionSucceeded"),
    ):
        run_differential(renamed, {"in-process": local_runner, "server": remote})
