"""``time.sleep`` on a thread running an invocation passes virtual time too.

The virtual-time loop (``virtual_loop``) moves its clock only when it is idle. A handler that
blocks its loop's thread in ``time.sleep`` (``while time.time() < deadline: time.sleep(0.01)``,
a blocking client's retry back-off) takes real time that a virtual clock standing still
would never show it: ``time.time()`` would never reach the deadline. So ``time.sleep`` is
replaced, process-wide and once (as ``virtual_loop`` replaces ``wrap_future``), by a sleep that
really sleeps (threads and processes the handler waits on need the time) and then, on a
thread an invoker registered in ``sleepers``, hands the time slept to the invoker, which
passes as much on the virtual clocks. On another thread it tells the ``watchers`` (the
virtual-time loops) when it began and how long it slept: a loop waiting for that thread's
work counts it (``virtual_loop.OutsideTime``). Elsewhere it is ``time.sleep`` and a few
tests.

Code that bound ``time.sleep`` to a name of its own before this module was imported
(``from time import sleep`` at its import) keeps the plain sleep; the pytest plugin imports
the runner before test modules, and a cold sandbox re-imports after it.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from async_durable_execution_runner._sandbox import parked


class SleepWatcher(Protocol):
    def sleep_starts(self) -> float | None:
        """(On the thread about to sleep.) A mark to hand back when it has slept, or
        ``None`` if this sleep is none of the watcher's business."""

    def sleep_ended(self, began: float, seconds: float) -> None:
        """(On the thread.) It slept ``seconds`` since ``began``."""


#: Thread id -> what a sleep on that thread does to the virtual clocks (``seconds`` slept),
#: for each thread running an invocation on a virtual-time loop.
sleepers: dict[int, Callable[[float], None]] = {}

#: What watches the sleeps of the other threads (each virtual-time loop, for the threads
#: working for its invocation: ``virtual_loop.OutsideTime``).
watchers: weakref.WeakSet[SleepWatcher] = weakref.WeakSet()

_real_sleep = time.sleep


def blocking_sleep(seconds: float) -> None:
    """``time.sleep(seconds)``; then, on a registered thread, ``sleepers[thread](seconds)``;
    on another, each watcher hears how far its clock stood when the sleep began. Another
    thread is parked meanwhile (``parked``)."""
    if seconds > 0:
        if sleepers:
            slept = sleepers.get(threading.get_ident())
            if slept is not None:
                _real_sleep(seconds)
                slept(seconds)
                return
        ident = parked.mark(seconds)
        try:
            if watchers:
                marks = [(w, m) for w in list(watchers) if (m := w.sleep_starts()) is not None]
                _real_sleep(seconds)
                for watcher, began in marks:
                    watcher.sleep_ended(began, seconds)
                return
            _real_sleep(seconds)
        finally:
            parked.unmark(ident)
        return
    _real_sleep(seconds)


def caller(frame: FrameType | None) -> FrameType | None:
    """``frame``, or its caller when ``frame`` is this sleep's own: where a signal that
    interrupted the sleep finds the code that called ``time.sleep``."""
    if frame is not None and frame.f_code is blocking_sleep.__code__:
        return frame.f_back
    return frame


time.sleep = blocking_sleep  # type: ignore[assignment]  # (typeshed: float | SupportsIndex)
