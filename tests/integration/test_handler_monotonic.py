"""The handler's ``time.monotonic()`` (and ``perf_counter()``) counts the seconds its virtual
loop skips (``_sandbox/handler_clock.py``). time-machine leaves ``time.monotonic()`` alone,
so a deadline measured with it (the right clock for one) never came while
``asyncio.sleep(1)`` took no real time: a poll until ten monotonic seconds passed went on
past the function's timeout, every invocation, and the execution FAILED with
``Sandbox.Timedout`` (``docs/findings.md``, runner bug 34)."""

from __future__ import annotations

import time

import pytest
from tests.integration import monotonic_handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner, ExecutionObserver
from async_durable_execution_runner._sandbox.handler_clock import (
    real_monotonic,
    real_perf_counter,
)
from async_durable_execution_runner._service.execution import ExecutionStatus


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_poll_until_a_monotonic_deadline_gives_up_after_its_ten_seconds(isolation: str) -> None:
    with DurableFunctionTestRunner(
        h.polls_until_a_monotonic_deadline,
        isolation=isolation,  # type: ignore[arg-type]
    ) as runner:
        result = runner.run({}, timeout=60)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value in (10, 11)
    assert len(result.invocations) == 1


def test_a_minute_of_asyncio_sleep_is_a_minute_of_monotonic_time() -> None:
    started = real_monotonic()
    with DurableFunctionTestRunner(h.measures_a_minute) as runner:
        result = runner.run({}, timeout=60)
    assert result.result_value == pytest.approx([60, 60], abs=1)  # monotonic, perf_counter
    # Outside the invocation the process's monotonic clock is the machine's.
    assert abs(time.monotonic() - real_monotonic()) < 0.5
    assert abs(time.perf_counter() - real_perf_counter()) < 0.5
    assert real_monotonic() - started < 30


def test_a_deadline_passed_to_a_run_in_executor_job_means_the_same_there() -> None:
    """``run_in_executor`` does not hand its job the invocation's context: the job read the
    machine's ``time.monotonic()``, ten minutes behind the handler's, and polled for ten
    minutes."""
    started = real_monotonic()
    with DurableFunctionTestRunner(h.passes_a_deadline_to_a_job) as runner:
        result = runner.run({}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert 1 <= result.result_value < 100
    assert real_monotonic() - started < 20


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_the_loop_s_time_is_the_handler_s_monotonic_time(isolation: str) -> None:
    """A deadline taken from ``time.monotonic()`` and given to the loop (``loop.call_at``,
    ``asyncio.timeout_at``) comes when it would on Lambda, before and after a wait of the
    service's. The virtual loop's clock started at 0, so such a deadline lay some hours of
    machine uptime ahead: the callback never fired and the timeout never came (runner bug
    35)."""
    with DurableFunctionTestRunner(
        h.mixes_loop_time_and_monotonic,
        isolation=isolation,  # type: ignore[arg-type]
    ) as runner:
        result = runner.run({}, timeout=60)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    first, second, apart = result.result_value
    assert first == second == ["call_at fired", "timed out at the deadline"]
    assert apart < 1.0


class _Listening(ExecutionObserver):
    """Any observer: with one, every invocation starts a clock of its own."""


@pytest.mark.parametrize("observed", [False, True], ids=["plain", "observed"])
@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_warm_sandbox_s_monotonic_clock_runs_on_through_a_durable_wait(
    isolation: str, observed: bool
) -> None:
    """A warm sandbox's ``time.monotonic()`` runs on while the function waits between
    invocations, and never goes back. The runner showed the second invocation a minute's
    wait as no time at all, and, with an observer (each invocation then has a clock of its
    own), time went back by the 100 s the first invocation's loop skipped (runner bug 55)."""
    key = f"mark-{isolation}-{observed}"
    with DurableFunctionTestRunner(
        h.keeps_a_monotonic_instant_across_a_wait,
        isolation=isolation,  # type: ignore[arg-type]
        observers=[_Listening()] if observed else (),
    ) as runner:
        result = runner.run({"key": key}, timeout=60)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert len(result.invocations) == 2
    assert result.result_value["since"] == pytest.approx(60, abs=1)


def test_a_token_cached_for_five_minutes_is_fetched_again_after_an_hour_s_wait() -> None:
    with DurableFunctionTestRunner(h.uses_a_cached_token_after_an_hour) as runner:
        result = runner.run({"key": "token"}, timeout=60)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == ["token-1", "token-2"]


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_thread_the_step_starts_reads_the_handler_s_monotonic_clock(isolation: str) -> None:
    """A deadline the step measures (``time.monotonic() + 0.3``) and hands to a thread it
    starts means the same there: the thread read the machine's clock, an hour behind the
    handler's after an hour's wait, and polled until it gave up."""
    with DurableFunctionTestRunner(
        h.hands_a_thread_a_deadline_after_an_hour,
        isolation=isolation,  # type: ignore[arg-type]
    ) as runner:
        result = runner.run({}, timeout=60)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert 0.25 < result.result_value < 2


def test_on_the_real_clock_a_wait_counts_once() -> None:
    """With ``clock="real"`` the service's wait is the machine's own time, which its
    ``time.monotonic()`` already counts: it is not added again as a lead."""
    with DurableFunctionTestRunner(h.measures_a_second_s_wait, clock="real") as runner:
        result = runner.run({"key": "real-clock"}, timeout=60)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert 0.9 < result.result_value < 1.9
