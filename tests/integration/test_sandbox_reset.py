"""After an invocation that ends its execution environment (the runtime process exits, or
the function times out), Lambda runs the function's next invocation in a new one: module
state starts over. The runner used to re-invoke warm in-process, so module state a crashed
invocation left behind (a half-filled cache) was still there, which Lambda never shows
(``docs/findings.md``, runner bug 25)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from async_durable_execution import durable_execution
from tests.integration import sandbox_reset_handlers as h
from tests.integration.test_isolation import invocation_errors

from async_durable_execution_runner import (
    DeliverDuplicate,
    DurableFunctionTestRunner,
    Fault,
    NoFaults,
    SandboxPolicy,
    ServiceCall,
)
from async_durable_execution_runner._service.execution import ExecutionStatus


def _run(how: str, tmp_path: Path, **options: object) -> tuple[object, list[str]]:
    runner = DurableFunctionTestRunner(h.ends_its_sandbox_once, **options)  # type: ignore[arg-type]
    try:
        result = runner.run({"marker_dir": str(tmp_path), "how": how}, timeout=30)
    finally:
        runner.close()
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    return result, [info.environment for info in result.invocations]


@pytest.mark.parametrize(
    ("how", "error"), [("exit", "Runtime.ExitError"), ("timeout", "Sandbox.Timedout")]
)
def test_the_invocation_after_one_that_ended_its_sandbox_is_cold(
    how: str, error: str, tmp_path: Path
) -> None:
    result, environments = _run(how, tmp_path)
    assert invocation_errors(result) == [error, None]  # type: ignore[arg-type]
    assert environments == ["warm", "cold"]
    # The module the second invocation ran was imported afresh: it saw one invocation.
    assert result.result_value == {"seen": 1}  # type: ignore[attr-defined]


def test_a_suspended_invocation_leaves_its_sandbox_warm(tmp_path: Path) -> None:
    result, environments = _run("wait", tmp_path)
    assert environments == ["warm", "warm"]
    assert result.result_value["seen"] >= 2  # type: ignore[attr-defined]


def test_a_sandbox_policy_asking_warm_is_overridden_after_a_crash(tmp_path: Path) -> None:

    class AlwaysWarm(SandboxPolicy):
        def environment(self, execution_arn: str, invocation_index: int) -> str:
            return "warm"

    result, environments = _run("exit", tmp_path, sandbox_policy=AlwaysWarm())
    assert environments == ["warm", "cold"]
    assert result.result_value == {"seen": 1}  # type: ignore[attr-defined]


def test_the_process_isolation_records_its_new_worker_as_cold(tmp_path: Path) -> None:
    runner = DurableFunctionTestRunner(h.ends_its_sandbox_once, isolation="process")
    try:
        result = runner.run({"marker_dir": str(tmp_path), "how": "exit"}, timeout=60)
        workers = runner.invoker.workers_started  # type: ignore[attr-defined]
    finally:
        runner.close()
    assert [info.environment for info in result.invocations] == ["warm", "cold"]
    assert result.result_value == {"seen": 1}
    assert workers == 2


def test_a_handler_that_cannot_be_imported_again_stays_warm(tmp_path: Path) -> None:
    """A handler defined in a test function has no name a re-import could find it by: the
    runner cannot start it cold, and re-invokes it warm (as before) rather than refuse."""
    marker = tmp_path / "exited"

    @durable_execution
    async def local(event: dict[str, str]) -> str:
        if not marker.exists():
            marker.touch()
            raise SystemExit(3)
        return "done"

    runner = DurableFunctionTestRunner(local)
    try:
        result = runner.run({}, timeout=30)
    finally:
        runner.close()
    assert result.result_value == "done"
    assert [info.environment for info in result.invocations] == ["warm", "warm"]


class _ColdAfterTheFirst(SandboxPolicy):
    def environment(self, execution_arn: str, invocation_index: int) -> str:
        return "cold" if invocation_index > 1 else "warm"


@pytest.mark.parametrize(
    ("raised", "error_type", "message"),
    [
        (RuntimeError("config service unreachable"), "RuntimeError", "config service unreachable"),
        (
            ModuleNotFoundError("No module named 'vendored'"),
            "Runtime.ImportModuleError",
            "Unable to import module 'tests.integration.init_failure_handlers': No module named",
        ),
        (SystemExit(2), "Runtime.ExitError", "Runtime exited with error"),
    ],
)
def test_a_cold_sandbox_whose_import_raises_fails_the_invocation_and_is_retried(
    raised: BaseException, error_type: str, message: str
) -> None:
    """On Lambda an init error fails the invocation (the runtime reports it and exits) and
    the service retries in a new sandbox; the runner let the exception out of ``run()``."""
    from tests.integration import init_failure_handlers, init_failures

    init_failures.NEXT_IMPORTS_RAISE[:] = [raised]
    runner = DurableFunctionTestRunner(
        init_failure_handlers.pauses, sandbox_policy=_ColdAfterTheFirst()
    )
    try:
        result = runner.run({}, timeout=30)
    finally:
        runner.close()
        init_failures.NEXT_IMPORTS_RAISE.clear()
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    assert result.result_value == "done"
    assert [(i.environment, i.error_type) for i in result.invocations] == [
        ("warm", None),
        ("cold", error_type),
        ("cold", None),
    ]
    assert message in (result.invocations[1].error_message or "")


def test_an_init_failure_every_time_fails_the_execution_after_the_service_s_attempts() -> None:
    from tests.integration import init_failure_handlers, init_failures

    init_failures.NEXT_IMPORTS_RAISE[:] = [RuntimeError(f"down {i}") for i in range(10)]
    runner = DurableFunctionTestRunner(
        init_failure_handlers.pauses, sandbox_policy=_ColdAfterTheFirst()
    )
    try:
        result = runner.run({}, timeout=30)
        # The test's own module is back in place: its handler runs warm on the next run.
        init_failures.NEXT_IMPORTS_RAISE.clear()
        again = runner.run({}, timeout=30)
    finally:
        runner.close()
        init_failures.NEXT_IMPORTS_RAISE.clear()
    assert result.execution_status is ExecutionStatus.FAILED
    assert {i.error_type for i in result.invocations[1:]} == {"RuntimeError"}
    assert again.execution_status is ExecutionStatus.SUCCEEDED


def test_a_report_names_each_invocation_s_sandbox(tmp_path: Path) -> None:
    """A report says the invocation after the crash ran cold, whatever the timings drew: a
    reader must not take the re-invocation's fresh module state for warm."""
    from async_durable_execution_runner.scenarios import Scenario, Timings, crash

    outcome = Scenario(
        handler=h.ends_its_sandbox_once,
        input={"marker_dir": str(tmp_path), "how": "wait"},
        faults=(crash(invocation=1, call=1),),
        timings=Timings(sandboxes=("warm", "warm")),
    ).run()
    report = outcome.report()
    assert "Invocations: 1 warm (Runtime.ExitError), 2 cold, 3 warm\n" in report


def test_a_worker_process_whose_import_raises_fails_the_invocation_and_is_retried() -> None:
    """The same with ``isolation="process"``: the worker's init error fails the invocation,
    the worker is replaced, and the next one (cold) succeeds. A handler a fresh interpreter
    cannot find at all is still the test's set-up error (``test_isolation.py``)."""
    from tests.integration import init_failure_handlers, init_failures

    init_failures.MARKER.touch()
    runner = DurableFunctionTestRunner(init_failure_handlers.pauses, isolation="process")
    try:
        result = runner.run({}, timeout=60)
        workers = runner.invoker.workers_started  # type: ignore[attr-defined]
    finally:
        runner.close()
        init_failures.MARKER.unlink(missing_ok=True)
    assert result.result_value == "done"
    assert [(i.environment, i.error_type) for i in result.invocations] == [
        ("warm", "RuntimeError"),
        ("cold", None),
        ("warm", None),
    ]
    assert "parameter store unreachable" in (result.invocations[0].error_message or "")
    assert workers == 2


class _DuplicateTheFirstCheckpoint(NoFaults):
    """Delivers invocation 1 again right after its first checkpoint call is applied."""

    __slots__ = ()

    def on_service_call(self, call: ServiceCall) -> Fault | None:
        if call.kind == "checkpoint" and call.invocation_index == 1 and call.call_index == 1:
            return DeliverDuplicate()
        return None


def test_a_worker_process_s_duplicate_delivery_runs_in_a_worker_of_its_own(
    tmp_path: Path,
) -> None:
    """The worker of the first delivery is waiting for its checkpoint's answer: the duplicate
    was sent to it, which took the message for that answer, and the first delivery died with
    a ``TypeError``. A duplicate now gets a worker process of its own (another sandbox, as on
    Lambda), whose stale checkpoints the service refuses."""
    runner = DurableFunctionTestRunner(
        h.ends_its_sandbox_once,
        isolation="process",
        faults=_DuplicateTheFirstCheckpoint(),
    )
    try:
        result = runner.run({"marker_dir": str(tmp_path), "how": "wait"}, timeout=60)
        workers = runner.invoker.workers_started  # type: ignore[attr-defined]
    finally:
        runner.close()
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    assert [(i.environment, i.error_type) for i in result.invocations] == [
        ("warm", None),
        ("duplicate", "CheckpointError"),
        ("warm", None),
    ]
    assert result.result_value == {"seen": 2}  # the first worker ran both of its invocations
    assert workers == 2


def test_the_service_sees_that_the_runners_invoker_can_start_cold() -> None:
    # The service asks ``isinstance(invoker, ColdStarter)`` of the runner's lock-taking
    # wrapper. From Python 3.12 on that looks the method up statically, and the wrapper only
    # forwarded it through ``__getattr__``: the invocation after one that ended its sandbox
    # stayed warm, its module state the crashed one's.
    runner = DurableFunctionTestRunner(h.ends_its_sandbox_once)
    try:
        invoker = runner.executor.invocations.invoker
        assert callable(inspect.getattr_static(invoker, "can_start_cold"))
        assert invoker.can_start_cold(runner.function_name) is True  # type: ignore[attr-defined]
    finally:
        runner.close()
