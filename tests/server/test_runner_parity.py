"""Parity with the AWS testing library's result and runner options, under each isolation and
through the cloud runner: ``get_all_operations()`` with nested operations, results read with
the SDK's serdes next to their raw JSON text, and a page size for the invocation state."""

from __future__ import annotations

import datetime as _dt
import json
from decimal import Decimal
from typing import Any

import pytest
from async_durable_execution import ExtendedTypeSerDes, InvocationStatus
from tests.server import handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._runner.cloud import DurableFunctionCloudTestRunner
from async_durable_execution_runner._runner.result import DurableFunctionTestResult
from async_durable_execution_runner._server import DurableServiceServer
from async_durable_execution_runner._service.seams import NoFaults, ServiceCall
from async_durable_execution_runner.errors import DurableRunnerError

NEW_YEAR = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)


def check_nested_result(result: DurableFunctionTestResult) -> None:
    assert result.status is InvocationStatus.SUCCEEDED
    every = result.get_all_operations()
    assert [(op.type.value, op.name) for op in every] == [
        ("CONTEXT", "outer"),
        ("STEP", "inner-double"),
        ("STEP", "inner-dated"),
        ("STEP", "top"),
        ("WAIT", "pause"),
    ]
    outer = result.get_context("outer")
    assert [op.name for op in result.get_child_operations(outer)] == [
        "inner-double",
        "inner-dated",
    ]
    assert all(op.parent_id == outer.id for op in result.get_child_operations(outer))
    # The raw JSON text, and the value the handler had (the SDK's envelope read back).
    dated = outer.get_step("inner-dated")
    assert json.loads(dated.result or "")["t"] == "m"
    assert dated.deserialized_result() == {"when": NEW_YEAR, "amount": Decimal("9.95")}
    assert result.get_operation_deserialized_result(outer) == {
        "doubled": 4,
        "when": NEW_YEAR,
        "amount": Decimal("9.95"),
    }
    assert result.get_operation_deserialized_result(dated, ExtendedTypeSerDes()) == {
        "when": NEW_YEAR,
        "amount": Decimal("9.95"),
    }
    assert result.get_step("top").deserialized_result() == 6
    assert result.get_wait("pause").deserialized_result() is None
    assert result.result == '{"doubled": 4, "day": 1}'
    assert result.get_deserialized_result() == {"doubled": 4, "day": 1}


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_nested_operations_and_serdes_results(isolation: Any) -> None:
    with DurableFunctionTestRunner(h.nested, function_name="nested", isolation=isolation) as r:
        check_nested_result(r.run(None, timeout=60))


def test_nested_operations_and_serdes_results_through_the_cloud_runner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with (
        DurableFunctionTestRunner(h.nested, function_name="nested") as local,
        DurableServiceServer(local, drive=True) as server,
        DurableFunctionCloudTestRunner(
            function_name="nested", endpoint_url=server.url, region="us-east-1"
        ) as cloud,
    ):
        check_nested_result(cloud.run(None, timeout=60))


class CountStateReads(NoFaults):
    def __init__(self) -> None:
        self.state_reads = 0

    def on_service_call(self, call: ServiceCall) -> None:
        if call.kind == "get_execution_state":
            self.state_reads += 1


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_page_size_pages_the_invocation_state(isolation: Any) -> None:
    def run(page_size: int) -> tuple[DurableFunctionTestResult, int]:
        counter = CountStateReads()
        with DurableFunctionTestRunner(
            h.nested,
            function_name="nested",
            isolation=isolation,
            page_size=page_size,
            faults=counter,
        ) as runner:
            return runner.run(None, timeout=60), counter.state_reads

    paged, reads = run(2)
    whole, no_reads = run(1000)
    # After the wait, the second invocation's state (7 operations) comes in pages of two:
    # the SDK reads the rest with GetDurableExecutionState, and replays the same.
    assert no_reads == 0
    assert reads > 0
    check_nested_result(paged)
    assert paged.history_json() == whole.history_json()


@pytest.mark.parametrize("page_size", [0, 1001, "10", True])
def test_page_size_out_of_range_is_refused(page_size: Any) -> None:
    with pytest.raises(DurableRunnerError, match="page_size"):
        DurableFunctionTestRunner(h.nested, page_size=page_size)
