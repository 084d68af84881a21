"""A ``time.sleep`` that blocks the invocation's thread passes as much time on the virtual
clocks as it really took: the handler's ``time.time()``, the runner's clock (and with it the
history and the function's timeout) and the loop's own timers. Before, the handler's clock
stood still while its loop was blocked, and a poll bounded by ``time.time()`` never ended
(``docs/findings.md``, runner bug 28)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from tests.integration import blocking_sleep_handlers as h
from tests.integration.test_isolation import invocation_errors

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._service.execution import ExecutionStatus
from async_durable_execution_runner.errors import ExecutionNotFinishedError


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_blocking_sleep_moves_the_handler_s_clock_and_the_runner_s(isolation: str) -> None:
    with DurableFunctionTestRunner(h.naps, isolation=isolation) as runner:
        result = runner.run({"seconds": 0.05}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED
    value = result.result_value
    assert value["napped"] == pytest.approx(0.05, abs=1e-6)
    # Another thread's sleep, which the loop waits for, passes as much on the clocks.
    assert value["in_a_thread"] == pytest.approx(0.05, abs=1e-6)
    # The service's clock moved with both: the execution ended 0.1 s after it started.
    events = result.history
    started, ended = events[0]["EventTimestamp"], events[-1]["EventTimestamp"]
    assert (ended - started).total_seconds() == pytest.approx(0.1, abs=1e-3)


def test_a_timer_due_while_the_loop_was_blocked_is_overdue_when_it_ends() -> None:
    with DurableFunctionTestRunner(h.timer_due_during_a_block) as runner:
        result = runner.run({}, timeout=30)
    assert result.result_value == ["blocked on MainThread", "timer", "after"]


def test_blocking_sleeps_count_towards_the_function_timeout() -> None:
    runner = DurableFunctionTestRunner(h.naps_past_the_function_timeout, function_timeout=0.25)
    try:
        started = time.monotonic()
        result = runner.run({}, timeout=30)
    finally:
        runner.close()
    assert result.execution_status is ExecutionStatus.FAILED
    assert set(invocation_errors(result)) == {"Sandbox.Timedout"}
    assert time.monotonic() - started < 10


def test_outside_an_invocation_a_sleep_is_a_sleep() -> None:
    started = time.monotonic()
    time.sleep(0.01)
    assert time.monotonic() - started >= 0.01


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_poll_by_the_clock_in_a_thread_ends(isolation: str) -> None:
    """While the loop waits for a thread, that thread's sleeps move the handler's clock: a
    poll there bounded by ``time.time()`` ends, after as many polls on every run, and the
    runner's clock has moved as far (before, the clock stood still while the loop waited,
    and the run was reported hung)."""
    with DurableFunctionTestRunner(h.polls_by_the_clock_in_a_thread, isolation=isolation) as r:
        result = r.run({"seconds": 0.05}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    value = result.result_value
    assert value["polls"] == 5
    assert value["took"] == pytest.approx(0.05, abs=1e-6)
    events = result.history
    started, ended = events[0]["EventTimestamp"], events[-1]["EventTimestamp"]
    assert (ended - started).total_seconds() == pytest.approx(0.05, abs=1e-3)


def test_the_function_timeout_stops_an_invocation_waiting_for_a_thread() -> None:
    """The wait for a thread counts towards the function's timeout: a poll that outlasts it
    ends the invocation as Lambda ends the sandbox, in about the timeout's real time."""
    runner = DurableFunctionTestRunner(h.polls_by_the_clock_in_a_thread, function_timeout=0.2)
    try:
        started = time.monotonic()
        result = runner.run({"seconds": 0.6}, timeout=30)
        spent = time.monotonic() - started
    finally:
        runner.close()
    errors = invocation_errors(result)
    assert errors[0] == "Sandbox.Timedout", errors
    # Every attempt waits out its own timeout, not the thread's poll.
    assert spent < 0.6 * len(errors)


def test_a_hang_in_a_thread_the_loop_waits_for_is_reported_with_that_thread() -> None:
    """A task awaiting ``asyncio.to_thread`` says only that it waits: the report adds where
    the thread is."""
    try:
        with (
            DurableFunctionTestRunner(h.blocked_in_a_thread) as runner,
            pytest.raises(ExecutionNotFinishedError) as raised,
        ):
            runner.run({}, timeout=1)
    finally:
        h.release.set()
    message = str(raised.value)
    assert "(the loop waits for work in a thread) at:" in message
    assert "in _blocked\n    release.wait()" in message
    assert "parked.py" not in message  # the runner's wrapper of Condition.wait says nothing


def test_a_busy_poll_by_the_clock_in_a_thread_ends() -> None:
    """A poll by ``time.time()`` in a thread that never sleeps ends too: the loop waiting for
    it lets its next timer come due when as much real time has passed (the SDK's checkpoint
    batcher always has one, a tenth of a second away), and the handler's clock moves with
    it."""
    try:
        with DurableFunctionTestRunner(h.polls_by_the_clock_in_a_thread) as runner:
            result = runner.run({"seconds": 0.3, "busy": True}, timeout=30)
    finally:
        h.stop_polling.set()
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value["took"] >= 0.3 - 1e-6


def test_a_process_pool_s_job_runs_as_before() -> None:
    with DurableFunctionTestRunner(h.squares_in_a_process_pool) as runner:
        result = runner.run({}, timeout=60)
    assert result.result_value == 49


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
@pytest.mark.parametrize("kind", ["queue", "event", "select"])
def test_a_poll_by_the_clock_blocking_in_other_calls_ends(kind: str, isolation: str) -> None:
    """``queue.Queue.get``, ``threading.Event.wait`` and ``select.select`` with a time-out,
    on the invocation's own thread, in a loop bounded by ``time.time()``: the time they block
    passes on the handler's clock too, so the loop ends after about its second, as on Lambda.
    Before, only ``time.sleep`` passed time there: the loop never ended and the run was
    reported hung at the runner's timeout (runner bug 36)."""
    started = time.monotonic()
    with DurableFunctionTestRunner(
        h.polls_blocking_until_a_deadline,
        isolation=isolation,  # type: ignore[arg-type]
    ) as runner:
        result = runner.run({"kind": kind}, timeout=20)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    # About twenty polls of 50 ms; the first tenth of a second of a block is not counted.
    assert 15 <= result.result_value <= 40
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_work_on_a_core_keeps_the_handler_s_clock_still(isolation: str) -> None:
    """Only waiting passes time: a step that works for 0.3 s of CPU reads the same instant
    before and after, on every run (the clocks move while the loop is busy only by what it
    waits for, so that a run can be replayed)."""
    with DurableFunctionTestRunner(
        h.works_on_a_core,
        isolation=isolation,  # type: ignore[arg-type]
    ) as runner:
        result = runner.run({"seconds": 0.3}, timeout=20)
    before, after = result.result_value
    assert after == before


def test_a_blocking_poll_ends_off_the_main_thread_too() -> None:
    """No signal reaches a thread other than the main one: a run from a test's own thread
    (and ``run_async``, whose drive is handed to a worker thread) is ticked by the runner's
    ticker thread instead (runner bug 36)."""
    outcomes: list[Any] = []

    def run() -> None:
        with DurableFunctionTestRunner(h.polls_blocking_until_a_deadline) as runner:
            outcomes.append(runner.run({"kind": "queue"}, timeout=20))

    started = time.monotonic()
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)

    async def run_async() -> Any:
        async with DurableFunctionTestRunner(h.polls_blocking_until_a_deadline) as runner:
            return await runner.run_async({"kind": "event"}, timeout=20)

    outcomes.append(asyncio.run(run_async()))
    for result in outcomes:
        assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
        assert 15 <= result.result_value <= 40
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("main_thread", [True, False], ids=["main-thread", "other-thread"])
def test_a_blocking_wait_counts_towards_the_function_timeout(main_thread: bool) -> None:
    """A step blocked in ``threading.Event.wait(1.6)`` under a one-second function timeout is
    stopped as Lambda stops it (``Sandbox.Timedout``), whichever thread runs it; before
    runner bug 36 the wait took its 1.6 seconds unseen and the step returned."""
    outcomes: list[Any] = []

    def run() -> None:
        with DurableFunctionTestRunner(
            h.waits_past_the_function_timeout, function_timeout=1.0
        ) as runner:
            outcomes.append(runner.run({"seconds": 1.6}, timeout=30))

    if main_thread:
        run()
    else:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(60)
    (result,) = outcomes
    assert result.execution_status is ExecutionStatus.FAILED
    assert "Sandbox.Timedout" in set(invocation_errors(result))
