"""Canary: fails loudly, naming the symbol, when an SDK release moves the internals we use."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest
from packaging.specifiers import SpecifierSet

from async_durable_execution_runner import _sdk_adapter as adapter


def test_installed_sdk_is_in_the_supported_range() -> None:
    installed = version(adapter.SDK_DISTRIBUTION)
    assert installed in SpecifierSet(adapter.SUPPORTED_SDK), (
        f"async-durable-execution {installed} is outside the tested range "
        f"{adapter.SUPPORTED_SDK}; re-run this suite against it and widen the pin in pyproject.toml"
    )


@pytest.mark.parametrize(("module", "name"), adapter.PRIVATE_NAMES)
def test_private_sdk_name_still_exists(module: str, name: str) -> None:
    mod = importlib.import_module(module)
    assert hasattr(mod, name), (
        f"{module}.{name} is gone in async-durable-execution {adapter.sdk_version()}; "
        "update src/async_durable_execution_runner/_sdk_adapter.py"
    )


def test_hooked_methods_keep_their_signatures() -> None:
    import inspect

    from async_durable_execution._core.state import CheckpointBatcherConfig, ExecutionState
    from async_durable_execution._primitive.base import OperationExecutor
    from async_durable_execution._primitive.step import StepOperationExecutor

    assert "batcher_config" in inspect.signature(ExecutionState.__init__).parameters
    assert "max_batch_time_seconds" in set(CheckpointBatcherConfig.__dataclass_fields__)
    assert list(inspect.signature(OperationExecutor.process).parameters) == ["self"]
    assert list(inspect.signature(StepOperationExecutor.execute).parameters) == [
        "self",
        "operation",
    ]
    from async_durable_execution._primitive.step import StatefulStepOperationExecutor

    stateful = StatefulStepOperationExecutor
    assert list(inspect.signature(stateful._execute).parameters) == ["self", "operation"]
    assert callable(stateful._attempt)
    # The nondeterminism detector recognises a retry strategy by the SDK method calling it.
    assert list(inspect.signature(StepOperationExecutor.retry_handler).parameters) == [
        "self",
        "error",
        "operation",
    ]
    assert "error" in inspect.signature(stateful._handle_failure).parameters
    assert len(adapter.delay_deciders()) == 2


def test_operation_round_trip_through_sdk_models() -> None:
    import datetime as dt

    from async_durable_execution_runner import Operation, OperationStatus, OperationType
    from async_durable_execution_runner._models import StepDetails

    op = Operation(
        id="abc",
        type=OperationType.STEP,
        status=OperationStatus.PENDING,
        start_timestamp=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        name="s",
        sub_type="Step",
        step_details=StepDetails(
            attempt=2, next_attempt_timestamp=dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
        ),
    )
    sdk_op = adapter.operation_to_sdk(op)
    assert sdk_op.operation_id == "abc"
    assert sdk_op.step_details.attempt == 2
    # The SDK's own wire form decodes back to the same operation.
    assert Operation.from_dict(sdk_op.to_dict()) == op
