"""The virtual clock, the scheduler, the ``SchedulerPolicy`` seam and ``runner.advance()``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from async_durable_execution import (
    InvocationStatus,
    create_callback,
    durable_callable,
    durable_execution,
    parallel,
    wait,
)

from async_durable_execution_runner import (
    DueItem,
    DueKind,
    DurableFunctionTestRunner,
    EarliestFirst,
    EventType,
    ExecutionObserver,
    ExecutionStatus,
    OperationStatus,
    VirtualClock,
)
from async_durable_execution_runner._models import Event
from async_durable_execution_runner._service.clock import DEFAULT_START
from async_durable_execution_runner._service.scheduler import Scheduler

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# --- VirtualClock ------------------------------------------------------------------------


def test_virtual_clock_starts_at_the_default_instant() -> None:
    clock = VirtualClock()
    assert clock.now() == DEFAULT_START == T0
    assert clock.is_virtual
    assert clock.now() == clock.now()  # it does not move by itself


def test_virtual_clock_advance() -> None:
    clock = VirtualClock(at(0))
    assert clock.advance(5) == at(5)
    assert clock.advance(dt.timedelta(minutes=1)) == at(65)
    assert clock.advance(0.5) == at(65.5)
    assert clock.advance(0) == at(65.5)
    assert clock.now() == at(65.5)


def test_virtual_clock_never_goes_backwards() -> None:
    clock = VirtualClock(at(100))
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(dt.timedelta(seconds=-0.001))
    assert clock.now() == at(100)
    clock.advance_to(at(50))  # an earlier instant is a no-op
    assert clock.now() == at(100)
    clock.advance_to(at(150))
    assert clock.now() == at(150)


def test_virtual_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        VirtualClock(dt.datetime(2025, 1, 1))
    other_zone = dt.datetime(2025, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert VirtualClock(other_zone).now() == T0
    assert VirtualClock(other_zone).now().tzinfo is dt.UTC


# --- Scheduler ---------------------------------------------------------------------------


def test_scheduler_orders_by_deadline_then_by_scheduling_order() -> None:
    s = Scheduler()
    late = s.schedule(at(10), DueKind.WAIT, "arn", "late")
    first_at_5 = s.schedule(at(5), DueKind.WAIT, "arn", "a")
    second_at_5 = s.schedule(at(5), DueKind.RETRY, "arn", "b")
    early = s.schedule(at(1), DueKind.INVOCATION, "arn")
    assert s.pending() == [early, first_at_5, second_at_5, late]
    assert s.next_due() == early
    assert len(s) == 4
    assert first_at_5.seq < second_at_5.seq


def test_scheduler_due_by_is_inclusive_and_sorted() -> None:
    s = Scheduler()
    b = s.schedule(at(5), DueKind.WAIT, "arn", "b")
    a = s.schedule(at(3), DueKind.WAIT, "arn", "a")
    s.schedule(at(6), DueKind.WAIT, "arn", "c")
    assert s.due_by(at(2)) == []
    assert s.due_by(at(3)) == [a]
    assert s.due_by(at(5)) == [a, b]


def test_scheduler_cancel_and_take() -> None:
    s = Scheduler()
    a = s.schedule(at(1), DueKind.WAIT, "arn", "a")
    b = s.schedule(at(2), DueKind.WAIT, "arn", "b")
    c = s.schedule(at(3), DueKind.WAIT, "arn", "c")
    s.cancel(b)
    assert s.pending() == [a, c]
    assert s.due_by(at(10)) == [a, c]
    s.take(a)
    assert s.next_due() == c
    s.cancel(c)
    assert s.next_due() is None
    assert s.pending() == []
    assert len(s) == 0


def test_scheduler_cancel_where() -> None:
    s = Scheduler()
    timeout = s.schedule(at(9), DueKind.CALLBACK_TIMEOUT, "arn-1", "cb")
    heartbeat = s.schedule(at(3), DueKind.CALLBACK_HEARTBEAT, "arn-1", "cb")
    wait_item = s.schedule(at(4), DueKind.WAIT, "arn-1", "w")
    other = s.schedule(at(4), DueKind.WAIT, "arn-2", "w")
    s.cancel_where("arn-1", "cb", {DueKind.CALLBACK_HEARTBEAT})
    assert s.pending("arn-1") == [wait_item, timeout]
    s.cancel_where("arn-1", "cb")
    assert s.pending("arn-1") == [wait_item]
    s.cancel_where("arn-1")
    assert s.pending("arn-1") == []
    assert s.pending() == [other]
    assert heartbeat not in s.pending()


def test_earliest_first_is_the_default_policy() -> None:
    s = Scheduler()
    b = s.schedule(at(5), DueKind.WAIT, "arn", "b")
    a = s.schedule(at(5), DueKind.WAIT, "arn", "a")
    policy = EarliestFirst()
    assert policy.window == dt.timedelta(0)
    assert policy.choose(s.due_by(at(5))) == b  # same instant: scheduled first goes first
    assert policy.choose([a, b]) == b


# --- the policy seam, through the runner -------------------------------------------------


@durable_callable
async def nap(name: str, seconds: int) -> str:
    await wait(seconds, name=name)
    return name


@durable_execution
async def two_parallel_waits(_event: object) -> list[str]:
    batch = await parallel([nap("first", 5), nap("second", 5)], name="naps")
    return batch.get_results()


@durable_execution
async def waits_of_five_and_six(_event: object) -> list[str]:
    batch = await parallel([nap("five", 5), nap("six", 6)], name="naps")
    return batch.get_results()


class LastCandidate:
    """Delivers the last of the due candidates (the most recently scheduled)."""

    def __init__(self, window: dt.timedelta = dt.timedelta(0)) -> None:
        self.window = window
        self.offered: list[list[DueItem]] = []

    def choose(self, candidates: Sequence[DueItem]) -> DueItem:
        self.offered.append(list(candidates))
        return candidates[-1]


class EventLog(ExecutionObserver):
    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_history_event(self, execution_arn: str, event: Event) -> None:
        self.events.append(event)


def names_of(events: Sequence[Event], event_type: EventType) -> list[str | None]:
    return [e.name for e in events if e.event_type is event_type]


def test_default_policy_delivers_simultaneous_timers_in_scheduling_order() -> None:
    log = EventLog()
    with DurableFunctionTestRunner(handler=two_parallel_waits, observers=[log]) as runner:
        result = runner.run(timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == ["first", "second"]
    started = names_of(result.events, EventType.WAIT_STARTED)
    assert started == ["first", "second"]
    assert names_of(result.events, EventType.WAIT_SUCCEEDED) == started
    assert log.events == list(result.events)


def test_a_policy_that_picks_the_last_candidate_reverses_them() -> None:
    policy = LastCandidate()
    log = EventLog()
    with DurableFunctionTestRunner(
        handler=two_parallel_waits, scheduler_policy=policy, observers=[log]
    ) as runner:
        result = runner.run(timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == ["first", "second"]  # the outcome does not depend on it
    assert names_of(result.events, EventType.WAIT_STARTED) == ["first", "second"]
    assert names_of(result.events, EventType.WAIT_SUCCEEDED) == ["second", "first"]
    assert names_of(log.events, EventType.WAIT_SUCCEEDED) == ["second", "first"]
    both = [c for c in policy.offered if {i.kind for i in c} == {DueKind.WAIT}]
    assert both, "the two timers were never offered together"
    # Both completions happen at the same virtual instant, 5 s in.
    done = [e for e in result.events if e.event_type is EventType.WAIT_SUCCEEDED]
    assert {e.event_timestamp for e in done} == {at(5)}


def test_a_policy_window_lets_near_deadlines_be_permuted() -> None:
    with DurableFunctionTestRunner(handler=waits_of_five_and_six) as runner:
        default = runner.run(timeout=10)
    assert names_of(default.events, EventType.WAIT_SUCCEEDED) == ["five", "six"]

    policy = LastCandidate(window=dt.timedelta(seconds=1))
    with DurableFunctionTestRunner(
        handler=waits_of_five_and_six, scheduler_policy=policy
    ) as runner:
        result = runner.run(timeout=10)
    assert result.status is InvocationStatus.SUCCEEDED
    assert names_of(result.events, EventType.WAIT_SUCCEEDED) == ["six", "five"]
    # Time never runs backwards: the 5 s wait is delivered at 6 s, after the 6 s one.
    done = {
        e.name: e.event_timestamp for e in result.events if e.event_type is EventType.WAIT_SUCCEEDED
    }
    assert done == {"six": at(6), "five": at(6)}
    stamps = [e.event_timestamp for e in result.events]
    assert stamps == sorted(stamps)


def test_a_policy_must_choose_one_of_the_candidates() -> None:
    class Rogue:
        window = dt.timedelta(0)

        def choose(self, candidates: Sequence[DueItem]) -> DueItem:
            return DueItem(at(0), 10_000, DueKind.EXTERNAL, "nowhere")

    with (
        DurableFunctionTestRunner(handler=two_parallel_waits, scheduler_policy=Rogue()) as runner,
        pytest.raises(ValueError, match="not one of the candidates"),
    ):
        runner.run(timeout=10)


# --- runner.advance() --------------------------------------------------------------------


@durable_execution
async def one_long_wait(_event: object) -> str:
    await wait(60, name="minute")
    return "awake"


@durable_execution
async def callback_with_timeout(_event: object) -> object:
    callback = await create_callback(name="approval", timeout=100)
    return await callback.result()


def test_start_does_not_move_the_clock_and_advance_delivers_due_timers() -> None:
    with DurableFunctionTestRunner(handler=one_long_wait) as runner:
        arn = runner.start()
        assert runner.clock.now() == T0
        assert runner.get_status(arn) is InvocationStatus.PENDING
        assert runner.get_result(arn).get_wait("minute").status is OperationStatus.STARTED

        assert runner.advance(59) == at(59)
        assert runner.get_result(arn).get_wait("minute").status is OperationStatus.STARTED
        assert runner.get_status(arn) is InvocationStatus.PENDING

        assert runner.advance(dt.timedelta(seconds=1)) == at(60)
        result = runner.get_result(arn)
        assert result.status is InvocationStatus.SUCCEEDED
        assert result.result_value == "awake"
        wait_done = result.events_of(EventType.WAIT_SUCCEEDED)
        assert [e.event_timestamp for e in wait_done] == [at(60)]
        assert runner.clock.now() == at(60)


def test_advance_past_a_deadline_delivers_it_at_its_own_instant() -> None:
    with DurableFunctionTestRunner(handler=one_long_wait) as runner:
        arn = runner.start()
        assert runner.advance(3600) == at(3600)
        result = runner.get_result(arn)
        assert result.status is InvocationStatus.SUCCEEDED
        # The wait completed at 60 s, not at the end of the advance.
        assert [e.event_timestamp for e in result.events_of(EventType.WAIT_SUCCEEDED)] == [at(60)]


def test_advance_rejects_negative_durations() -> None:
    with DurableFunctionTestRunner(handler=one_long_wait) as runner:
        runner.start()
        with pytest.raises(ValueError, match="non-negative"):
            runner.advance(-1)
        assert runner.clock.now() == T0


def test_advance_times_out_a_callback_on_the_virtual_clock() -> None:
    with DurableFunctionTestRunner(handler=callback_with_timeout) as runner:
        arn = runner.start()
        runner.advance(99)
        assert runner.get_status(arn) is InvocationStatus.PENDING
        assert runner.get_result(arn).get_callback("approval").status is OperationStatus.STARTED
        runner.advance(1)
        result = runner.get_result(arn)
        assert result.get_callback("approval").status is OperationStatus.TIMED_OUT
        assert result.execution_status is ExecutionStatus.FAILED
        (timed_out,) = result.events_of(EventType.CALLBACK_TIMED_OUT)
        assert timed_out.event_timestamp == at(100)
        assert timed_out.details["Error"]["Payload"]["ErrorType"] == "Callback.Timeout"


def test_custom_start_time() -> None:
    start = dt.datetime(2030, 6, 1, 12, tzinfo=dt.UTC)
    with DurableFunctionTestRunner(handler=one_long_wait, start_time=start) as runner:
        result = runner.run(timeout=10)
    assert result.events[0].event_timestamp == start
    assert result.events[-1].event_timestamp == start + dt.timedelta(seconds=60)
