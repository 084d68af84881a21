"""The real time an invocation's thread spends blocked inside one turn of its virtual loop.

The virtual clocks stand still while the loop works, so that a run is the same on every
replay; ``time.sleep`` (``blocking_sleep``) and the loop's waits for threads and sockets
(``virtual_loop.OutsideTime``) pass the time they take. A thread blocked anywhere else
(``queue.Queue.get`` or ``threading.Event.wait`` with a time-out, ``select``, a socket's read,
a C library's poll) takes real time that the handler's ``time.time()`` never showed, and a
poll bounded by it never ended (runner bug 36).

A ``BlockedTime`` is asked at regular ticks of real time (the drive's deadline alarm,
``hang_alarm.DeadlineAlarm``'s ``on_tick``, on the thread itself) how much of the time
since the last tick was such a wait. An interval counts when the loop stayed inside one
turn, the thread was in the handler's own code (not the service's, not a sleep, which counts
itself, not the loop's own wait) and it ran on a core for less than a fifth of the interval:
work keeps the clocks still, waiting moves them. The first tick of a block only marks it.
"""

from __future__ import annotations

import time
from types import FrameType
from typing import TYPE_CHECKING

from async_durable_execution_runner._service import blocking_sleep, safe_points
from async_durable_execution_runner._service.handler_clock import real_monotonic

if TYPE_CHECKING:
    from async_durable_execution_runner._service.virtual_loop import VirtualTimeEventLoop

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

    def tick(self, loop: VirtualTimeEventLoop, frame: FrameType | None) -> float:
        """The seconds since the last tick that the thread spent blocked in the handler's
        code inside one turn of ``loop``, to pass on the clocks (``0.0``: none).
        ``frame`` is where the tick found the thread."""
        mark: _Mark = (loop.turn_mark(), real_monotonic(), time.thread_time(), self.slept)
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
