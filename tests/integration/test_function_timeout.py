"""Lambda's function timeout, in-process, on the virtual clock.

An invocation that waits in-process (an ``asyncio.sleep``, an await that nothing completes)
past the function's timeout is stopped as Lambda stops the sandbox: ``Sandbox.Timedout``, a
failed invocation that the service re-invokes. The default is Lambda's maximum, 900 s, and
nothing here takes that long: the wait is virtual.
"""

from __future__ import annotations

import math
import re

import pytest
from tests.integration import handlers as h
from tests.integration import recorded

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionStatus,
    SandboxPolicy,
)


def _run(handler: object, **options: object) -> object:
    with DurableFunctionTestRunner(handler=handler, **options) as runner:  # type: ignore[arg-type]
        return runner.run(timeout=60)


def test_an_invocation_waiting_past_the_timeout_is_stopped_and_re_invoked() -> None:
    result = _run(h.sleeps_past_the_timeout)
    assert result.execution_status is ExecutionStatus.FAILED  # type: ignore[attr-defined]
    invocations = result.invocations  # type: ignore[attr-defined]
    assert len(invocations) == 3  # the runner's max_invocation_attempts
    for info in invocations:
        assert info.error_type == "Sandbox.Timedout"
        assert info.error_message.startswith(f"RequestId: {info.request_id} Error: Task timed out")
        assert "Task timed out after 900.00 seconds" in info.error_message
        assert "asyncio.sleep(1000)" in info.error_message  # where it was waiting
        assert 900 < (info.end - info.start).total_seconds() < 901
    # The step before the sleep was checkpointed by the first invocation and replayed by the
    # others; the one after it never ran.
    assert result.get_step("before").result == '"a"'  # type: ignore[attr-defined]
    assert [op.name for op in result.operations] == ["before"]  # type: ignore[attr-defined]
    assert result.error.error_type == "Sandbox.Timedout"  # type: ignore[attr-defined]


def test_the_timeout_is_the_functions_own() -> None:
    # ``sleeps_between_steps`` waits ten minutes in-process between its two steps.
    assert _run(h.sleeps_between_steps).result == '"ab"'  # type: ignore[attr-defined]
    result = _run(h.sleeps_between_steps, function_timeout=300)
    assert result.execution_status is ExecutionStatus.FAILED  # type: ignore[attr-defined]
    assert "Task timed out after 300.00 seconds" in result.error.error_message  # type: ignore[attr-defined]


def test_math_inf_means_no_function_timeout() -> None:
    result = _run(h.sleeps_past_the_timeout, function_timeout=math.inf)
    assert result.result == '"ab"'  # type: ignore[attr-defined]


def test_an_await_that_nothing_completes_ends_at_the_timeout_not_at_the_runners_deadline() -> None:
    # The SDK's checkpoint batcher polls its queue every 0.1 s: the loop is never idle, and
    # virtual time moves on until the function's timeout stops the invocation.
    result = _run(h.awaits_what_never_comes)
    assert result.execution_status is ExecutionStatus.FAILED  # type: ignore[attr-defined]
    assert "never_set.wait()" in result.error.error_message  # type: ignore[attr-defined]


def test_a_long_step_body_within_the_timeout_succeeds() -> None:
    assert _run(h.slow_step_body).result == '"quote"'  # type: ignore[attr-defined]


@pytest.mark.parametrize("sandboxes", [("warm",), ("cold",)])
def test_the_context_counts_each_invocations_time_and_names_its_log_stream(
    sandboxes: tuple[str, ...],
) -> None:
    recorded.CONTEXTS.clear()
    policy = SandboxPolicy() if sandboxes == ("warm",) else _Cold()
    result = _run(h.reads_its_context, function_timeout=300, sandbox_policy=policy)
    assert result.result == '"done"'  # type: ignore[attr-defined]
    (before1, after1, group1, stream1), (before2, after2, group2, stream2) = recorded.CONTEXTS
    # Each invocation starts with the whole timeout, and the in-process sleep uses it up. The
    # context counts real time too: a few seconds of slack for a machine that stalls the test.
    for before, after in ((before1, after1), (before2, after2)):
        assert 295_000 < before <= 300_000
        assert 195_000 < after <= 200_000
    assert group1 == group2 == "/aws/lambda/test-function"
    assert re.fullmatch(r"2025/01/01/\[\$LATEST\][0-9a-f]{32}", stream1)
    # One stream per execution environment: a cold invocation starts another.
    assert (stream1 == stream2) is (sandboxes == ("warm",))


class _Cold(SandboxPolicy):
    def environment(self, execution_arn: str, invocation_index: int) -> str:
        return "cold"
