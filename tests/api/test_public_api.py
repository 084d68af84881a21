"""What users import: the seed's ``runner`` path, and one ``InvocationStatus`` (the SDK's)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from async_durable_execution import InvocationStatus

import async_durable_execution_runner as package
from async_durable_execution_runner import runner
from async_durable_execution_runner._runner import local, result
from async_durable_execution_runner._service.execution import ExecutionStatus

# The seed's test and architecture sections name these (its architecture calls the runner
# DurableTestRunner).
SEED_NAMES = {
    "ContextOperation",
    "DurableFunctionTestResult",
    "DurableFunctionTestRunner",
    "StepOperation",
    "DurableTestRunner",
    "Executor",
    "Execution",
    "InMemoryServiceClient",
    "InProcessInvoker",
    "CheckpointProcessor",
    "ExecutionNotifier",
    "ExecutionObserver",
}


def _all_modules() -> list[str]:
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith("__main__"):  # importing it runs the CLI
            names.append(info.name)
    return names


def test_the_runner_module_exports_what_the_seed_names() -> None:
    assert set(runner.__all__) >= SEED_NAMES
    for name in runner.__all__:
        assert hasattr(runner, name), name


def test_the_runner_module_is_a_facade_not_a_copy() -> None:
    assert runner.DurableFunctionTestRunner is local.DurableFunctionTestRunner
    assert runner.DurableTestRunner is local.DurableFunctionTestRunner
    assert runner.DurableFunctionTestResult is result.DurableFunctionTestResult
    assert runner.StepOperation is result.StepOperation
    assert runner.ContextOperation is result.ContextOperation
    # It defines nothing of its own: every public name comes from a private module.
    for name in runner.__all__:
        obj = getattr(runner, name)
        assert getattr(obj, "__module__", "").startswith(package.__name__ + "._"), name


def test_no_second_invocation_status_class() -> None:
    for module_name in _all_modules():
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__name__ == "InvocationStatus":
                assert obj is InvocationStatus, f"{module_name}.{name} is a second InvocationStatus"


def test_status_is_the_sdks_enum_and_execution_status_the_full_one() -> None:
    fields = result.DurableFunctionTestResult.__dataclass_fields__
    assert fields["execution_status"].type in ("ExecutionStatus", ExecutionStatus)
    assert set(ExecutionStatus.__members__) == {
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "TIMED_OUT",
        "STOPPED",
    }
    expected = {
        ExecutionStatus.RUNNING: InvocationStatus.PENDING,
        ExecutionStatus.SUCCEEDED: InvocationStatus.SUCCEEDED,
        ExecutionStatus.FAILED: InvocationStatus.FAILED,
        ExecutionStatus.TIMED_OUT: InvocationStatus.FAILED,
        ExecutionStatus.STOPPED: InvocationStatus.FAILED,
    }
    for status, invocation in expected.items():
        assert result.invocation_status(status) is invocation


# --- the root's exports, as httpx checks its own ------------------------------------------

PUBLIC_MODULES = ("", ".runner", ".models", ".errors", ".strategies", ".scenarios", ".oracles")
INTERNALS = {
    "Executor",
    "CheckpointProcessor",
    "InMemoryServiceClient",
    "InProcessInvoker",
    "ExecutionNotifier",
    "Execution",
}
# The seams docs/architecture.md documents, each with its values and defaults.
DOCUMENTED_SEAMS = {
    "Clock",
    "VirtualClock",
    "RealClock",
    "SchedulerPolicy",
    "EarliestFirst",
    "DueItem",
    "DueKind",
    "FaultHooks",
    "NoFaults",
    "Crash",
    "LoseResponse",
    "FailCall",
    "DeliverDuplicate",
    "Fault",
    "ServiceCall",
    "StepAttempt",
    "WrapBody",
    "Interleaving",
    "NoInterleaving",
    "SandboxPolicy",
    "ExecutionObserver",
    "InvocationInfo",
    "OperationRequest",
    "InvokeResult",
}


@pytest.mark.parametrize("suffix", PUBLIC_MODULES)
def test_every_public_module_exports_exactly_its_all(suffix: str) -> None:
    module = importlib.import_module(package.__name__ + suffix)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    for name in exported:
        assert hasattr(module, name), f"{module.__name__}.__all__ names {name!r}, which is missing"
    public = {
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and not inspect.ismodule(obj)
        # names of this package's own (typing helpers and the like are not API)
        and getattr(obj, "__module__", "").startswith(package.__name__)
    }
    assert public <= set(exported), f"public but not exported: {sorted(public - set(exported))}"


def test_the_root_exports_the_documented_api_and_no_internals() -> None:
    exported = set(package.__all__)
    assert exported >= DOCUMENTED_SEAMS, sorted(DOCUMENTED_SEAMS - exported)
    assert not exported & INTERNALS, sorted(exported & INTERNALS)
    # The internals stay importable where the seed's architecture names them.
    assert set(runner.__all__) >= INTERNALS


def test_models_exports_every_wire_shape() -> None:
    from async_durable_execution_runner import _models, models

    assert set(models.__all__) == set(_models.__all__)
    for name in models.__all__:
        assert getattr(models, name) is getattr(_models, name)
