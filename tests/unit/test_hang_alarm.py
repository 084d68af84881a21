"""``DeadlineAlarm``: a wall-clock deadline for code on the main thread (``SIGALRM``).

It must interrupt blocking calls, call again while the code it interrupts keeps running,
and leave a timer and handler that were set before it (pytest-timeout's, a user's) as they
were, calling that handler if its timer comes due meanwhile."""

from __future__ import annotations

import itertools
import signal
import threading
import time
from types import FrameType
from typing import Any

import pytest

from async_durable_execution_runner._sandbox import hang_alarm
from async_durable_execution_runner._sandbox.hang_alarm import DeadlineAlarm

pytestmark = pytest.mark.skipif(not hang_alarm.usable(), reason="needs SIGALRM on the main thread")


class Interrupted(BaseException):
    pass


def _raise(frame: FrameType | None) -> None:
    raise Interrupted


def test_it_interrupts_a_blocking_call_at_the_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(Interrupted), DeadlineAlarm(started + 0.2, _raise):
        time.sleep(20)
    assert 0.15 < time.monotonic() - started < 5


def test_it_hands_on_deadline_the_frame_it_interrupted() -> None:
    seen: list[str] = []

    def record(frame: FrameType | None) -> None:
        assert frame is not None
        seen.append(frame.f_code.co_name)
        raise Interrupted

    def blocked_here() -> None:
        time.sleep(20)

    with pytest.raises(Interrupted), DeadlineAlarm(time.monotonic() + 0.1, record):
        blocked_here()
    assert seen == ["blocked_here"]


def test_it_calls_again_while_the_interrupted_code_carries_on() -> None:
    calls: list[float] = []

    def note_then_raise(frame: FrameType | None) -> None:
        calls.append(time.monotonic())
        if len(calls) == 3:
            raise Interrupted

    def sleep_on() -> None:
        for _ in range(200):
            time.sleep(0.1)  # a sleep resumes after a signal handler that does not raise

    with pytest.raises(Interrupted), DeadlineAlarm(time.monotonic() + 0.05, note_then_raise):
        sleep_on()
    assert len(calls) == 3


def test_nothing_fires_once_it_is_left() -> None:
    calls: list[FrameType | None] = []
    with DeadlineAlarm(time.monotonic() + 0.1, calls.append):
        pass
    time.sleep(0.3)
    assert calls == []
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_the_handler_and_timer_set_before_it_are_put_back() -> None:
    fired: list[int] = []

    def theirs(signum: int, frame: FrameType | None) -> None:
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, theirs)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        with DeadlineAlarm(time.monotonic() + 30, _raise):
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGALRM) is theirs
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0.3 < left <= 0.6  # what was left of it, not restarted and not lost
        time.sleep(1.2)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_timer_set_before_it_that_comes_due_meanwhile_calls_its_own_handler() -> None:
    class TheirTimeout(Exception):
        pass

    def theirs(signum: int, frame: FrameType | None) -> None:
        raise TheirTimeout  # as pytest-timeout's signal method fails the test

    previous = signal.signal(signal.SIGALRM, theirs)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        ours: list[FrameType | None] = []
        with pytest.raises(TheirTimeout), DeadlineAlarm(time.monotonic() + 30, ours.append):
            time.sleep(20)
        assert ours == []
        assert signal.getsignal(signal.SIGALRM) is theirs
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # it fired: nothing left
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_it_is_not_usable_off_the_main_thread() -> None:
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: seen.append(hang_alarm.usable()))
    thread.start()
    thread.join()
    assert seen == [False]


def test_it_ticks_until_the_deadline_when_asked_to() -> None:
    ticks: list[float] = []
    event = threading.Event()
    with DeadlineAlarm(time.monotonic() + 60, _raise, lambda frame: ticks.append(time.monotonic())):
        started = time.monotonic()
        while time.monotonic() - started < 0.35:
            event.wait(0.02)  # blocking calls, interrupted and resumed by each tick
    assert 2 <= len(ticks) <= 4
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert all(gap >= hang_alarm.TICK_SECONDS * 0.9 for gap in gaps)
    # Left: no tick after exit.
    count = len(ticks)
    time.sleep(0.15)
    assert len(ticks) == count


def test_a_timer_set_before_it_that_fires_as_it_is_entered_calls_its_own_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Their timer comes due while ours takes over (the signal is noted by CPython's C
    handler, and the Python handler that then runs is ours): it is theirs all the same.
    Simulated by raising the signal from inside the system call that replaces the timer and
    answering that nothing was left of theirs, as under load it happens for real."""

    class TheirTimeout(Exception):
        pass

    def theirs(signum: int, frame: FrameType | None) -> None:
        raise TheirTimeout

    real_setitimer = hang_alarm._setitimer
    calls = itertools.count()

    def setitimer_as_theirs_fires(which: int, seconds: float, interval: float = 0.0) -> Any:
        real_setitimer(which, seconds, interval)
        if next(calls) == 0:
            signal.raise_signal(signal.SIGALRM)
            return (0.0, 0.0)
        return (0.0, 0.0)

    previous = signal.signal(signal.SIGALRM, theirs)
    try:
        monkeypatch.setattr(hang_alarm, "_setitimer", setitimer_as_theirs_fires)
        ours: list[FrameType | None] = []
        started = time.monotonic()
        with pytest.raises(TheirTimeout), DeadlineAlarm(time.monotonic() + 30, ours.append):
            time.sleep(3)
        assert time.monotonic() - started < 2  # their handler ran as ours took over
        assert ours == []
        assert signal.getsignal(signal.SIGALRM) is theirs  # put back by the failed entry
        assert hang_alarm._current[0] is None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_signal_that_is_lost_is_sent_again() -> None:
    """A ``SIGALRM`` that lands after CPython's handler has run and before an interrupted
    ``time.sleep`` sleeps again is only noted by the C handler: the Python handler waits for
    the sleep to end, which a hung handler's ``time.sleep(30)`` did (under load, on Python
    3.12). The kernel sends the alarm again until the Python handler has seen it. Simulated
    by a handler that swallows the first signal (an ignored one is never sent again: the
    kernel sets an interval timer again only as it delivers the signal)."""

    def lose_one_then_sleep() -> None:
        ours = signal.signal(signal.SIGALRM, lambda signum, frame: None)
        try:
            time.sleep(0.1)  # the deadline's signal comes, and is lost
        finally:
            signal.signal(signal.SIGALRM, ours)
        time.sleep(20)

    started = time.monotonic()
    with pytest.raises(Interrupted), DeadlineAlarm(started + 0.05, _raise):
        lose_one_then_sleep()
    assert time.monotonic() - started < 2
