"""The real time an invocation's thread spends blocked inside one turn of its virtual loop.

The virtual clocks stand still while the loop works, so that a run is the same on every
replay; ``time.sleep`` (``blocking_sleep``) and the loop's waits for threads and sockets
(``virtual_loop.OutsideTime``) pass the time they take. A thread blocked anywhere else
(``queue.Queue.get`` or ``threading.Event.wait`` with a time-out, ``select``, a socket's read,
a C library's poll) takes real time that the handler's ``time.time()`` never showed, and a
poll bounded by it never ended (runner bug 36).

A ``BlockedTime`` is asked at regular ticks of real time how much of the time since the last
tick was such a wait: on the main thread by the drive's deadline alarm
(``hang_alarm.DeadlineAlarm``'s ``on_tick``, a signal, on the thread itself); on any other
thread (a duplicate delivery's, a drive handed to a worker thread) by the ``TICKER``, a
thread of the runner's that looks at the others. An interval counts when the loop stayed inside one
turn, the thread was in the handler's own code (not the service's, not a sleep, which counts
itself, not the loop's own wait) and it ran on a core for less than a fifth of the interval:
work keeps the clocks still, waiting moves them. The first tick of a block only marks it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, NamedTuple

from async_durable_execution_runner._sandbox import blocking_sleep, safe_points
from async_durable_execution_runner._service.clock import real_monotonic

if TYPE_CHECKING:
    from async_durable_execution_runner._sandbox.virtual_loop import VirtualTimeEventLoop

#: Below this share of an interval spent on a core, the thread was waiting, not working.
WORKING_SHARE = 0.2

_SLEEP_CODE = blocking_sleep.blocking_sleep.__code__

#: The loop's turn, the real time, the thread's CPU time and the seconds slept, at a tick.
_Mark = tuple[tuple[int, int, float], float, float, float]


class BlockedTime:
    """One invocation's blocked time, tick by tick (on the invocation's own thread)."""

    __slots__ = ("_mark", "slept")

    def __init__(self) -> None:
        self._mark: _Mark | None = None
        #: Seconds the thread slept in ``time.sleep`` so far (``blocking_sleep`` counts them).
        self.slept = 0.0

    def forget(self) -> None:
        """The thread is not in the handler's run now: the next tick starts afresh."""
        self._mark = None

    def tick(
        self, loop: VirtualTimeEventLoop, frame: FrameType | None, cpu: float | None = None
    ) -> float:
        """The seconds since the last tick that the thread spent blocked in the handler's
        code inside one turn of ``loop``, to pass on the clocks (``0.0``: none).
        ``frame`` is where the tick found the thread; ``cpu`` its CPU time (by default the
        calling thread's: the tick runs on it)."""
        if cpu is None:
            cpu = time.thread_time()
        mark: _Mark = (loop.turn_mark(), real_monotonic(), cpu, self.slept)
        last, self._mark = self._mark, mark
        if last is None or last[0] != mark[0]:
            return 0.0  # the loop turned meanwhile: its turns pass time their own way
        if loop.waiting_outside or (frame is not None and frame.f_code is _SLEEP_CODE):
            return 0.0  # each counts its own time
        if safe_points.where(frame) != "user":
            return 0.0
        passed = mark[1] - last[1] - (mark[3] - last[3])
        blocked = passed - (mark[2] - last[2])
        if blocked <= 0 or blocked < (1 - WORKING_SHARE) * passed:
            return 0.0
        # The loop's clock is part of the mark: it moves by what is passed on it now.
        turn = mark[0]
        self._mark = ((turn[0], turn[1], turn[2] + blocked), *mark[1:])
        return blocked


#: How often the ticker looks at the threads it watches (seconds of real time).
TICK_SECONDS = 0.1


class _Watched(NamedTuple):
    blocked: BlockedTime
    clock: int  # the watched thread's CPU-time clock
    loop_now: Callable[[], VirtualTimeEventLoop | None]
    on_blocked: Callable[[float], None]


class Ticker:
    """Ticks for invocations on threads that no signal reaches: every ``TICK_SECONDS``, for
    each watched thread, where it is (``sys._current_frames``) and its CPU time (its own
    clock) go to its ``BlockedTime``, and what that says was blocked to ``on_blocked``, on
    the ticker's thread. The thread runs while anything is watched."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, _Watched] = {}
        self._running = False

    def watch(
        self,
        ident: int,
        blocked: BlockedTime,
        loop_now: Callable[[], VirtualTimeEventLoop | None],
        on_blocked: Callable[[float], None],
    ) -> None:
        """Tick for thread ``ident`` (``threading.get_ident()``) until ``unwatch``:
        ``loop_now()`` is its loop while it runs the handler (``None`` otherwise)."""
        try:
            clock = time.pthread_getcpuclockid(ident)
        except (AttributeError, OSError):  # no per-thread CPU clocks here: no ticks
            return
        with self._lock:
            self._watched[ident] = _Watched(blocked, clock, loop_now, on_blocked)
            if not self._running:
                self._running = True
                thread = threading.Thread(target=self._run, name="durable-ticker", daemon=True)
                # Not a thread of the handler's: an invocation's loop does not wait for it.
                thread.runner_internal = True  # type: ignore[attr-defined]
                thread.start()

    def unwatch(self, ident: int) -> None:
        with self._lock:
            self._watched.pop(ident, None)

    def _run(self) -> None:
        pause = threading.Event()
        while True:
            pause.wait(TICK_SECONDS)
            with self._lock:
                watched = list(self._watched.items())
                if not watched:
                    self._running = False
                    return
            frames = sys._current_frames()
            for ident, entry in watched:
                # A failure here must not end the ticks of every other invocation.
                try:
                    self._tick(entry, frames.get(ident))
                except Exception:
                    continue

    @staticmethod
    def _tick(entry: _Watched, frame: FrameType | None) -> None:
        loop = entry.loop_now()
        if loop is None or frame is None:
            entry.blocked.forget()
            return
        try:
            cpu = time.clock_gettime(entry.clock)
        except OSError:  # the thread ended meanwhile
            return
        seconds = entry.blocked.tick(loop, frame, cpu)
        if seconds:
            entry.on_blocked(seconds)


#: The process's ticker.
TICKER = Ticker()
