"""Canary: fails loudly, naming the symbol, when an SDK release moves the internals we use."""

from __future__ import annotations

import importlib
import re
import sys
from importlib.metadata import version
from typing import Any

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
    # ... and a serializer by the SDK's ``serialize``, which awaits the SerDes in a closure.
    from async_durable_execution._core import serdes

    assert {c.co_name for c in adapter.serializer_codes()} == {"serialize", "serialize_value"}
    assert "serialize_value" in serdes.serialize.__code__.co_varnames
    # ... and a summary generator by the lines that call it.
    from async_durable_execution._operation.parallel import _FlatReplaySummary
    from async_durable_execution._primitive.child import ChildOperationExecutor

    sites = adapter.summary_call_sites()
    assert {code for code, _ in sites} == {
        ChildOperationExecutor.execute.__code__,
        _FlatReplaySummary.__call__.__code__,
    }
    # Layers above @durable_execution reach the SDK's handler through its sync wrapper, which
    # runs the coroutine entry it carries as ``_async_handler`` with ``_run_on_event_loop``.
    from async_durable_execution._core import execution

    assert list(inspect.signature(execution._run_on_event_loop).parameters) == [
        "loop",
        "async_func",
        "args",
    ]
    assert "_run_on_event_loop" in adapter._sdk_wrapper_code().co_names
    # The replay gate leaves out virtual child contexts (a FLAT map's or parallel's
    # branches), which the SDK marks with ``is_virtual`` and never checkpoints.
    from async_durable_execution._primitive.child import ChildOperationExecutor

    assert "is_virtual" in inspect.signature(ChildOperationExecutor.__init__).parameters
    # A step fault reads what the step retries from its executor's strategy.
    assert {"retry_strategy", "step_semantics"} <= set(
        inspect.signature(StepOperationExecutor.__init__).parameters
    )


def test_what_a_retry_strategy_retries_is_read_without_calling_it() -> None:
    from async_durable_execution import RetryStrategy

    assert adapter.retried_by(None) == ((), ())
    assert adapter.retried_by(RetryStrategy()) == ((), ())
    assert adapter.retried_by(lambda error, attempts: None) == ((), ())
    named = RetryStrategy(retryable_errors=["throttled"], retryable_error_types=[TimeoutError])
    assert adapter.retried_by(named) == ((TimeoutError,), ("throttled",))
    # A regular expression is named by a text it finds; one that finds everything, by none.
    patterned = RetryStrategy(
        retryable_errors=[re.compile(r"HTTP 50[234]"), "busy", re.compile(".*")]
    )
    assert adapter.retried_by(patterned) == ((), ("HTTP 502", "busy"))


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


@pytest.mark.parametrize("cls", adapter.FILLED_MODELS, ids=lambda c: c.__name__)
def test_sdk_models_built_by_filling_their_dict_equal_their_constructors(cls: type) -> None:
    """The adapter builds these SDK models without their frozen ``__init__`` (see
    ``_sdk_adapter._filler``): the result must be the object the constructor makes."""
    import dataclasses

    adapter._check_fillable(cls)  # no __post_init__, no slots, only init fields
    fields = dataclasses.fields(cls)
    values = [f"value-{f.name}" for f in fields]
    built = adapter._filler(cls)(*values)
    expected = cls(**{f.name: v for f, v in zip(fields, values, strict=True)})
    assert type(built) is cls
    assert built == expected
    assert vars(built) == vars(expected)
    assert repr(built) == repr(expected)


def test_operation_to_sdk_equals_the_sdk_constructor() -> None:
    import datetime as dt

    from async_durable_execution._core import models as m

    from async_durable_execution_runner import (
        ErrorObject,
        Operation,
        OperationStatus,
        OperationType,
    )
    from async_durable_execution_runner._models import CallbackDetails, ContextDetails, StepDetails

    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    error = ErrorObject(error_type="Boom", error_message="m", stack_trace=("a", "b"))
    step = Operation(
        id="s",
        type=OperationType.STEP,
        status=OperationStatus.FAILED,
        start_timestamp=now,
        end_timestamp=now,
        parent_id="p",
        name="n",
        sub_type="Step",
        step_details=StepDetails(attempt=3, result='"r"', error=error),
    )
    assert adapter.operation_to_sdk(step) == m.Operation(
        operation_id="s",
        operation_type=m.OperationType.STEP,
        status=m.OperationStatus.FAILED,
        parent_id="p",
        name="n",
        start_timestamp=now,
        end_timestamp=now,
        sub_type=m.OperationSubType.STEP,
        step_details=m.StepDetails(
            attempt=3, result='"r"', error=m.ErrorObject("m", "Boom", None, ["a", "b"])
        ),
    )
    context = Operation(
        id="c",
        type=OperationType.CONTEXT,
        status=OperationStatus.STARTED,
        start_timestamp=now,
        sub_type="Unknown-Sub-Type",
        context_details=ContextDetails(replay_children=True),
    )
    assert adapter.operation_to_sdk(context) == m.Operation(
        operation_id="c",
        operation_type=m.OperationType.CONTEXT,
        status=m.OperationStatus.STARTED,
        start_timestamp=now,
        sub_type="Unknown-Sub-Type",
        context_details=m.ContextDetails(replay_children=True),
    )
    callback = Operation(
        id="cb",
        type=OperationType.CALLBACK,
        status=OperationStatus.STARTED,
        start_timestamp=now,
        callback_details=CallbackDetails(callback_id="id-1"),
    )
    assert adapter.operation_to_sdk(callback) == m.Operation(
        operation_id="cb",
        operation_type=m.OperationType.CALLBACK,
        status=m.OperationStatus.STARTED,
        start_timestamp=now,
        callback_details=m.CallbackDetails(callback_id="id-1"),
    )
    output = adapter.checkpoint_output("t", [adapter.operation_to_sdk(callback)])
    assert output == m.CheckpointOutput(
        checkpoint_token="t",
        new_execution_state=m.CheckpointUpdatedExecutionState(
            operations=[adapter.operation_to_sdk(callback)]
        ),
    )
    assert adapter.state_output([], "7") == m.StateOutput(operations=[], next_marker="7")


def test_the_batch_completion_loop_is_found_where_finding_19_spins() -> None:
    # The known-issue label of SDK finding 19 recognises a thread caught running in these
    # lines; if the SDK moves or rewrites the loop, the label must be looked at again.
    import linecache

    filename, lines = adapter.batch_completion_loop()
    assert lines, (
        "ParallelExecutor.execute no longer has its 'while self._completion_tasks' loop in "
        f"async-durable-execution {adapter.sdk_version()}: check SDK finding 19 in "
        "docs/findings.md and _sdk_adapter.batch_completion_loop"
    )
    text = "".join(linecache.getline(filename, n) for n in sorted(lines))
    assert "while self._completion_tasks" in text
    assert "asyncio.gather" in text


def test_the_batch_completion_loop_is_found_on_a_stack_by_file_function_and_lines() -> None:
    """``in_batch_completion_loop`` finds a frame of ``ParallelExecutor.execute`` at the lines
    of its completion loop (``batch_completion_loop``), however deep the thread is below it
    (the invoker's deadline alarm stops a spin there sooner); the same function elsewhere,
    or another function at those lines, is not it."""
    filename, lines = adapter.batch_completion_loop()
    first = min(lines)
    frames: dict[str, Any] = {}

    def source(name: str, line: int) -> str:
        # A function named ``name`` whose frame is at ``line`` of the SDK's file.
        return (
            "\n" * (line - 2)
            + f"def {name}(frames, key):\n"
            + "    frames[key] = __import__('sys')._getframe(0)\n"
        )

    for key, name, line in (
        ("in the loop", "execute", first),
        ("before it", "execute", first - 2),
        ("another function", "elsewhere", first),
    ):
        namespace: dict[str, Any] = {}
        exec(compile(source(name, line), filename, "exec"), namespace)
        namespace[name](frames, key)
    assert adapter.in_batch_completion_loop(frames["in the loop"])
    assert not adapter.in_batch_completion_loop(frames["before it"])
    assert not adapter.in_batch_completion_loop(frames["another function"])
    assert not adapter.in_batch_completion_loop(sys._getframe(0))
