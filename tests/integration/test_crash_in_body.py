"""``StepAttempt.crash_sandbox``: a fault hook kills the sandbox while a step body runs,
between two of its awaits, and the service re-invokes from what it had acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from async_durable_execution import durable_execution, step
from tests.integration.partner_world import CALLS as PARTNER

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionStatus,
    NoFaults,
    WrapBody,
)

# The harness's watch over a body's waits (what ``body_crash`` runs the body through).
from async_durable_execution_runner._harness.faults.kinds import watch_waits
from async_durable_execution_runner._service.seams import StepAttempt


async def _two_calls() -> str:
    PARTNER.append("reserve")
    await asyncio.sleep(0)  # the reservation's answer comes back
    PARTNER.append("confirm")
    return "confirmed"


@durable_execution
async def two_calls(event: Any) -> str:
    return await step(_two_calls, name="book")


class _CrashAtFirstAwait(NoFaults):
    """Kills the sandbox the first time the first attempt's body waits."""

    def __init__(self) -> None:
        self.crashed = 0

    def on_step_attempt(self, attempt: StepAttempt) -> WrapBody | None:
        if self.crashed:
            return None
        crash = attempt.crash_sandbox
        assert crash is not None

        def at_wait(wait: int) -> None:
            if wait == 1:
                self.crashed += 1
                crash("killed between the two calls")

        return watch_waits(at_wait)


def test_a_crash_inside_the_body_leaves_what_it_did_and_re_invokes() -> None:
    PARTNER.clear()
    faults = _CrashAtFirstAwait()
    with DurableFunctionTestRunner(two_calls, faults=faults) as runner:
        result = runner.run({}, timeout=10)
    assert faults.crashed == 1
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "confirmed"
    # The first body made its first call only; the re-invocation ran the attempt again.
    assert PARTNER == ["reserve", "reserve", "confirm"]
    first, second = result.invocations
    assert first.error_type == "Runtime.ExitError"
    assert "killed between the two calls" in (first.error_message or "")
    assert second.error_type is None
    started = [e for e in result.history if e["EventType"] == "StepStarted"]
    assert len(started) == 1  # the first attempt's START was acknowledged, its end never came
    assert [e["EventType"] for e in result.history if e.get("Name") == "book"] == [
        "StepStarted",
        "StepSucceeded",
    ]


def test_a_worker_process_offers_no_crash_from_inside_a_body() -> None:
    # The body runs in another process, out of the hooks' reach: a WrapBody cannot cross.
    seen: list[Callable[[str], None] | None] = []

    class Watch(NoFaults):
        def on_step_attempt(self, attempt: StepAttempt) -> None:
            seen.append(attempt.crash_sandbox)

    PARTNER.clear()
    with DurableFunctionTestRunner(two_calls, faults=Watch(), isolation="process") as runner:
        result = runner.run({}, timeout=60)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert seen == [None]
