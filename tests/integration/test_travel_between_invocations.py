"""The handler's time travel between the invocations of one ``run()`` (session 27).

Starting and stopping time-machine's travel for every invocation was a measurable share of
an invocation's cost, so the travel an invocation leaves running is moved to the next
invocation's instant instead, while only the service's own code runs in between. These tests
pin what must not change: the handler sees the runner's clock in every invocation, and the
test's own code (an action scheduled with ``runner.schedule``, an observer, the code after
``run()``) never runs under the handler's clock.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest
import time_machine
from async_durable_execution import durable_callable, durable_execution, step, wait

from async_durable_execution_runner import DurableFunctionTestRunner, ExecutionObserver
from async_durable_execution_runner._sandbox import invoker as invoker_module

START = _dt.datetime(2025, 3, 1, 12, 0, tzinfo=_dt.UTC)

#: What each invocation of ``three_waits`` read as it started (outside any step, on purpose:
#: this is the clock an invocation sees, not a durable value).
SEEN: list[_dt.datetime] = []


@durable_callable
async def produce(value: str) -> str:
    return value


@durable_execution
async def three_waits(_event: Any) -> str:
    SEEN.append(_dt.datetime.now(_dt.UTC))
    await step(produce("a"), name="a")
    await wait(3600, name="first")
    await wait(3600, name="second")
    return "done"


def _machine_clock() -> bool:
    """Whether the code calling this reads the machine's clock: no travel is on, and the year
    is not the runner's."""
    return not time_machine.escape_hatch.is_travelling() and (
        _dt.datetime.now(_dt.UTC).year != START.year
    )


@pytest.fixture(autouse=True)
def _clear() -> None:
    SEEN.clear()


def test_each_invocation_sees_the_runners_clock_and_one_travel_serves_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[_dt.datetime] = []
    original = invoker_module._start_travel

    def counted(instant: _dt.datetime) -> tuple[Any, Any]:
        started.append(instant)
        return original(instant)

    monkeypatch.setattr(invoker_module, "_start_travel", counted)
    runner = DurableFunctionTestRunner(handler=three_waits, start_time=START)
    try:
        result = runner.run(input=None, timeout=30)
        after = _machine_clock()
    finally:
        runner.close()
    assert result.result_value == "done"
    assert len(result.invocations) == 3
    # Each invocation saw the runner's clock: the start, then an hour later, twice.
    assert [seen - START for seen in SEEN] == [
        _dt.timedelta(0),
        _dt.timedelta(hours=1),
        _dt.timedelta(hours=2),
    ]
    # One travel started for the run; the later invocations moved it.
    assert started == [START]
    # And it was stopped when run() returned: the test reads the machine's clock.
    assert after


def test_a_scheduled_action_between_invocations_reads_the_machines_clock() -> None:
    read: list[bool] = []
    runner = DurableFunctionTestRunner(handler=three_waits, start_time=START)
    try:
        # Due half an hour in: after the first invocation, while the first wait runs.
        runner.schedule(1800, lambda: read.append(_machine_clock()), label="probe")
        result = runner.run(input=None, timeout=30)
    finally:
        runner.close()
    assert result.result_value == "done"
    assert read == [True]
    # The invocations after it still saw the runner's clock.
    assert [seen - START for seen in SEEN][1:] == [_dt.timedelta(hours=1), _dt.timedelta(hours=2)]


def test_an_observer_between_invocations_reads_the_machines_clock() -> None:
    read: list[bool] = []

    class Clocked(ExecutionObserver):
        def on_invocation_completed(self, invocation: Any) -> None:
            read.append(_machine_clock())

    runner = DurableFunctionTestRunner(handler=three_waits, start_time=START, observers=[Clocked()])
    try:
        result = runner.run(input=None, timeout=30)
    finally:
        runner.close()
    assert result.result_value == "done"
    assert read == [True] * 3
    assert [seen - START for seen in SEEN] == [
        _dt.timedelta(0),
        _dt.timedelta(hours=1),
        _dt.timedelta(hours=2),
    ]
