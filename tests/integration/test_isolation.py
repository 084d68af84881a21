"""``isolation="process"``: a sandbox that dies (``os._exit``) or times out is a failed invocation
the service re-invokes from the last acknowledged checkpoint, and the test process survives.

The crash histories are those of conformance requirements step/1-17, step/1-18 and child/3-12.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from async_durable_execution import InvocationStatus, durable_execution
from tests.integration import crash_handlers as h

from async_durable_execution_runner import ExecutionObserver, NoFaults, NoInterleaving
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._runner.result import DurableFunctionTestResult
from async_durable_execution_runner._service.execution import ExecutionStatus
from async_durable_execution_runner._service.seams import SandboxPolicy
from async_durable_execution_runner.errors import DurableRunnerError, HandlerNotDurableError

EXIT = "Runtime.ExitError"
TIMEOUT = "Sandbox.Timedout"


def event_types(result: DurableFunctionTestResult) -> list[str]:
    return [e["EventType"] for e in result.history]


def invocation_errors(result: DurableFunctionTestResult) -> list[str | None]:
    """The ErrorType of each InvocationCompleted, ``None`` for a clean one."""
    out = []
    for event in result.history:
        if event["EventType"] == "InvocationCompleted":
            error = event["InvocationCompletedDetails"].get("Error")
            out.append(error["Payload"]["ErrorType"] if error else None)
    return out


def events(result: DurableFunctionTestResult, event_type: str) -> list[dict[str, Any]]:
    return [e for e in result.history if e["EventType"] == event_type]


@pytest.fixture
def runner_for() -> Iterator[Any]:
    runners: list[DurableFunctionTestRunner] = []

    def make(handler: Any, **kwargs: Any) -> DurableFunctionTestRunner:
        runner = DurableFunctionTestRunner(handler, isolation="process", **kwargs)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.close()


def test_1_17_at_most_once_step_without_retry_fails_after_the_crash(runner_for: Any) -> None:
    result = runner_for(h.at_most_once_without_retry).run("input-17")

    assert result.execution_status is ExecutionStatus.FAILED
    # The SDK checkpoints StepFailed on the replay, then ends that invocation with the
    # (retryable) StepInterruptedError; the next invocation fails the execution. The
    # requirement's EventIds 2-5 are the first five events after ExecutionStarted.
    assert event_types(result) == [
        "ExecutionStarted",
        "StepStarted",
        "InvocationCompleted",
        "StepFailed",
        "InvocationCompleted",
        "InvocationCompleted",
        "ExecutionFailed",
    ]
    assert invocation_errors(result) == [EXIT, "StepInterruptedError", None]
    crash = events(result, "InvocationCompleted")[0]["InvocationCompletedDetails"]["Error"]
    assert "Runtime exited with error: exit status 1" in crash["Payload"]["ErrorMessage"]
    (failed,) = events(result, "StepFailed")
    assert failed["Name"] == "at_most_once_flaky_step"
    assert failed["StepFailedDetails"]["RetryDetails"]["CurrentAttempt"] == 1


def test_1_18_at_most_once_step_with_retry_succeeds_on_the_second_attempt(
    runner_for: Any,
) -> None:
    result = runner_for(h.at_most_once_with_retry).run("input-18")

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "succeeded on second attempt"
    assert event_types(result) == [
        "ExecutionStarted",
        "StepStarted",
        "InvocationCompleted",
        "StepFailed",
        "InvocationCompleted",
        "StepStarted",
        "StepSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    assert invocation_errors(result) == [EXIT, None, None]
    (failed,) = events(result, "StepFailed")
    assert failed["StepFailedDetails"]["RetryDetails"] == {
        "CurrentAttempt": 1,
        "NextAttemptDelaySeconds": 1,
    }
    (succeeded,) = events(result, "StepSucceeded")
    assert succeeded["StepSucceededDetails"]["RetryDetails"]["CurrentAttempt"] == 2


def test_3_12_interrupted_child_context_step_reruns(runner_for: Any, tmp_path: Path) -> None:
    runner = runner_for(h.child_interrupted)
    result = runner.run({"value": "input-312", "marker_dir": str(tmp_path)})

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "input-312"
    assert event_types(result) == [
        "ExecutionStarted",
        "ContextStarted",
        "StepStarted",
        "InvocationCompleted",
        "StepSucceeded",
        "ContextSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    assert invocation_errors(result) == [EXIT, None]
    context, step = events(result, "ContextStarted")[0], events(result, "StepStarted")[0]
    assert step["ParentId"] == context["Id"]
    (step_done,) = events(result, "StepSucceeded")
    assert step_done["StepSucceededDetails"]["Result"]["Payload"] == '"input-312"'


def test_a_sandbox_that_always_dies_fails_after_max_invocation_attempts(
    runner_for: Any,
) -> None:
    runner = runner_for(h.at_most_once_without_retry, max_invocation_attempts=1)
    result = runner.run("input")

    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == EXIT
    assert event_types(result) == [
        "ExecutionStarted",
        "StepStarted",
        "InvocationCompleted",
        "ExecutionFailed",
    ]


def test_function_timeout_kills_the_worker_and_is_retried(runner_for: Any, tmp_path: Path) -> None:
    # The first invocation blocks for a minute; the re-invocation (a fresh worker) needs a
    # few milliseconds of handler time once its module is imported, which the timeout does
    # not count (Lambda's init phase), so a loaded machine (pytest -n 8) does not time it out.
    runner = runner_for(h.slow_first_invocation, function_timeout=1.0)
    started = time.monotonic()
    result = runner.run({"marker_dir": str(tmp_path), "seconds": 60})
    elapsed = time.monotonic() - started

    assert elapsed < 30  # the blocked worker was killed, not waited for
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "done"
    assert invocation_errors(result) == [TIMEOUT, None]
    timed_out = events(result, "InvocationCompleted")[0]["InvocationCompletedDetails"]["Error"]
    assert "Task timed out after 1.00 seconds" in timed_out["Payload"]["ErrorMessage"]
    assert runner._invoker.workers_started == 2


def test_importing_the_handler_is_not_counted_in_the_function_timeout(runner_for: Any) -> None:
    from tests.integration import slow_import_handlers

    # Its module sleeps longer at import than the whole function timeout; the worker (a fresh
    # process) imports it anew, as a cold Lambda sandbox's init phase does.
    assert slow_import_handlers.IMPORT_SECONDS > 0.5
    runner = runner_for(slow_import_handlers.echo, function_timeout=0.5)
    result = runner.run("hello")

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "hello"
    assert invocation_errors(result) == [None]


def test_chained_invoke_target_crashes_in_its_own_sandbox(runner_for: Any, tmp_path: Path) -> None:
    runner = runner_for(h.invoke_crashing_target, functions={"crashing-target": h.crashing_target})
    result = runner.run({"value": "x", "marker_dir": str(tmp_path)})

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == "target saw x"
    (child_arn,) = [a for a in runner.executor.executions if a != result.execution_arn]
    child = runner.get_result(child_arn)
    assert child.status is InvocationStatus.SUCCEEDED
    assert invocation_errors(child) == [EXIT, None]
    crash = events(child, "InvocationCompleted")[0]["InvocationCompletedDetails"]["Error"]
    assert "exit status 3" in crash["Payload"]["ErrorMessage"]


def test_worker_is_reused_and_the_handler_sees_the_virtual_clock(runner_for: Any) -> None:
    runner = runner_for(h.ten_steps)
    assert runner.run(1).result_value == 11
    assert runner.run(100).result_value == 110
    assert runner._invoker.workers_started == 1

    start = _dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=_dt.UTC)
    clock_runner = runner_for(h.read_clock, start_time=start)
    assert clock_runner.run().result_value == start.timestamp()


def test_a_handler_the_worker_cannot_import_is_refused_up_front() -> None:
    @durable_execution
    async def local_handler(event: Any) -> Any:
        return event

    with pytest.raises(HandlerNotDurableError, match="module level"):
        DurableFunctionTestRunner(local_handler, isolation="process")


class ColdEveryTime(SandboxPolicy):
    def environment(self, execution_arn: str, invocation_index: int) -> str:
        return "cold"


def test_a_cold_reinvocation_gets_a_fresh_worker(runner_for: Any) -> None:
    warm = runner_for(h.step_wait_step)
    assert warm.run(1).result_value == 3
    assert warm._invoker.workers_started == 1

    cold = runner_for(h.step_wait_step, sandbox_policy=ColdEveryTime())
    result = cold.run(1)
    assert result.result_value == 3
    assert len(result.invocations) == 2
    assert cold._invoker.workers_started == 2


def test_strict_replay_fails_a_nondeterministic_replay_in_the_worker(
    runner_for: Any, tmp_path: Path
) -> None:
    runner = runner_for(h.renamed_on_replay, strict_replay=True)
    result = runner.run({"marker_dir": str(tmp_path)})

    assert result.execution_status is ExecutionStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == "NonDeterministicExecutionError"
    assert "'before'" in (result.error.error_message or "")
    assert invocation_errors(result) == [None, "NonDeterministicExecutionError"]


REFUSED_UNDER_ISOLATION = {
    "objects over a pipe": ({"isolation": "process", "wire_format": "objects"}, "cannot cross"),
    "cold module purge": (
        {"isolation": "process", "cold_module_prefixes": ("tests.",)},
        "fresh worker process",
    ),
    "in-process timeout on the real clock": (
        {"function_timeout": 5, "clock": "real"},
        "cannot be stopped when its real time is up",
    ),
    "in-process timeout, handler on the real clock": (
        {"function_timeout": 5, "handler_clock": "real"},
        "cannot be stopped when its real time is up",
    ),
    "no timeout": ({"function_timeout": 0}, "timeout in seconds"),
    "no end to a worker's timeout": (
        {"isolation": "process", "function_timeout": math.inf},
        "in-process, math.inf for none",
    ),
    "unknown wire format": ({"wire_format": "xml"}, "'objects' or 'json'"),
}


@pytest.mark.parametrize("case", list(REFUSED_UNDER_ISOLATION), ids=list(REFUSED_UNDER_ISOLATION))
def test_options_one_isolation_cannot_honour_are_refused(case: str) -> None:
    kwargs, fragment = REFUSED_UNDER_ISOLATION[case]
    with pytest.raises(DurableRunnerError, match=fragment):
        DurableFunctionTestRunner(h.ten_steps, **kwargs)


def test_process_isolation_speaks_json_when_asked_explicitly(runner_for: Any) -> None:
    runner = runner_for(h.ten_steps, wire_format="json")
    assert runner.run(1).result_value == 11


class _Requests(ExecutionObserver):
    def __init__(self) -> None:
        self.requested: list[Any] = []
        self.attempts: list[Any] = []

    def on_operation_requested(self, request: Any) -> None:
        self.requested.append(request)

    def on_step_attempt(self, attempt: Any) -> None:
        self.attempts.append(attempt)


class _FailOneAttempt(NoFaults):
    def __init__(self) -> None:
        self.failed = False

    def on_step_attempt(self, attempt: Any) -> BaseException | None:
        if self.failed:
            return None
        self.failed = True
        return RuntimeError("injected once")


class _SmallPagesAndTurns(NoInterleaving):
    def step_turns(self, attempt: Any) -> int:
        return 2

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        return 1


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_every_other_option_works_alike_in_a_worker_process(isolation: str) -> None:
    # Observers, fault hooks, interleaving, the random seed and per-update checkpoints are
    # honoured in a worker process as in-process: the same run, seen the same way.
    observer, faults = _Requests(), _FailOneAttempt()
    with DurableFunctionTestRunner(
        h.ten_steps,
        isolation=isolation,
        observers=[observer],
        faults=faults,
        interleaving=_SmallPagesAndTurns(),
        random_seed=7,
        checkpoint_batching="per_update",
    ) as runner:
        result = runner.run(1)

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 11
    assert faults.failed
    assert event_types(result).count("StepFailed") == 1  # the injected failure, retried
    assert len(observer.requested) == 11  # ten steps and the one retried
    assert len(observer.attempts) == 11
    assert len(result.invocations) == 2  # the retry's wait suspended it once
