"""A handler that lets out something Lambda's Python runtime does not catch (``SystemExit``, a
``BaseExceptionGroup`` such as an ``asyncio.TaskGroup`` raises around the SDK's suspension)
ends its runtime process: the invocation ends as ``Runtime.ExitError`` and the service
re-invokes, in every isolation. The runner used to let the exception out of ``run()`` in
process (found by the session-18 audit A, ``docs/findings.md`` runner bug 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration import crash_handlers as h
from tests.integration.test_isolation import invocation_errors

from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._service.execution import ExecutionStatus


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
@pytest.mark.parametrize("kind", ["exit", "group"])
def test_a_base_exception_ends_the_runtime_and_is_retried(
    isolation: str, kind: str, tmp_path: Path
) -> None:
    runner = DurableFunctionTestRunner(h.lets_out_a_base_exception_once, isolation=isolation)
    try:
        result = runner.run({"marker_dir": str(tmp_path), "kind": kind})
    finally:
        runner.close()
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    assert invocation_errors(result) == ["Runtime.ExitError", None]
    died = next(e for e in result.history if e["EventType"] == "InvocationCompleted")
    message = died["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorMessage"]
    assert "Runtime exited with error" in message
    if isolation == "inprocess":  # the worker process's own exit says nothing more
        assert ("SystemExit" if kind == "exit" else "BaseExceptionGroup") in message


def test_keyboard_interrupt_still_stops_the_test_run() -> None:
    runner = DurableFunctionTestRunner(h.interrupts)
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run({})
    finally:
        runner.close()
