"""Differential mode with a cloud leg chosen by configuration.

The order test of ``examples/orders.py`` runs in-process, through the local server (always),
and against a deployed function when ``DURABLE_CLOUD_FUNCTION`` names one (with
``DURABLE_CLOUD_REGION`` or ``DURABLE_CLOUD_ENDPOINT``); without it the cloud leg is skipped,
saying what to set. To run it against AWS, deploy ``examples/orders.py``'s
``order_workflow`` as a durable function (its chained ``pricing`` target too) and::

    DURABLE_CLOUD_FUNCTION=orders:live DURABLE_CLOUD_REGION=eu-west-1 \\
        .venv/bin/python -m pytest tests/server/test_differential_cloud.py
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from orders import order_workflow, pricing_handler  # examples/ is importable in the tests

from async_durable_execution_runner import (
    DurableFunctionCloudTestRunner,
    DurableFunctionTestRunner,
    DurableServiceServer,
    cloud_runner_from_env,
    cloud_skip_reason,
    run_differential,
)
from async_durable_execution_runner._runner.cloud import CLOUD_ENDPOINT_ENV, CLOUD_FUNCTION_ENV

FUNCTIONS = {"pricing": pricing_handler}


def approve_order(runner: Any) -> Any:
    # A fresh name per run: a deployed function keeps its executions from earlier runs.
    arn = runner.start({"id": 1, "quantity": 2}, execution_name=f"order-{uuid.uuid4().hex[:12]}")
    runner.send_callback_success(
        runner.wait_for_callback(arn, name="approval"), '{"approved": true}'
    )
    return runner.wait_for_result(arn, timeout=120)


@pytest.fixture
def backends() -> Iterator[dict[str, Any]]:
    """The in-process runner and the local server, always."""
    with (
        DurableFunctionTestRunner(
            order_workflow, function_name="orders", functions=FUNCTIONS
        ) as local,
        DurableFunctionTestRunner(
            order_workflow, function_name="orders", functions=FUNCTIONS
        ) as served,
        DurableServiceServer(served, drive=True) as server,
        DurableFunctionCloudTestRunner(
            function_name="orders", endpoint_url=server.url, region="us-east-1"
        ) as remote,
    ):
        yield {"in-process": local, "server": remote}


def test_in_process_and_local_server_agree(backends: dict[str, Any]) -> None:
    report = run_differential(approve_order, backends)
    assert report.agreed
    assert report.results["server"].result_value["receipt"]["charged"] == 20


def test_and_the_cloud_when_configured(backends: dict[str, Any]) -> None:
    reason = cloud_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    cloud = cloud_runner_from_env()
    assert cloud is not None
    with cloud:
        report = run_differential(approve_order, {**backends, "cloud": cloud})
    assert report.agreed, "\n".join(str(f) for f in report.findings)


def test_the_configuration_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLOUD_FUNCTION_ENV, raising=False)
    reason = cloud_skip_reason()
    assert reason is not None and CLOUD_FUNCTION_ENV in reason
    assert cloud_runner_from_env() is None
    # Configured, here with a second local server standing in for the deployed function: the
    # cloud leg is built from the environment and takes part in the comparison.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with (
        DurableFunctionTestRunner(
            order_workflow, function_name="orders", functions=FUNCTIONS
        ) as local,
        DurableFunctionTestRunner(
            order_workflow, function_name="orders", functions=FUNCTIONS
        ) as far,
        DurableServiceServer(far, drive=True) as stand_in,
    ):
        monkeypatch.setenv(CLOUD_FUNCTION_ENV, "orders")
        monkeypatch.setenv(CLOUD_ENDPOINT_ENV, stand_in.url)
        monkeypatch.setenv("DURABLE_CLOUD_REGION", "us-east-1")
        assert cloud_skip_reason() is None
        cloud = cloud_runner_from_env()
        assert cloud is not None
        with cloud:
            assert cloud.function_name == "orders"
            report = run_differential(approve_order, {"in-process": local, "cloud": cloud})
    assert report.agreed
