"""A wall-clock deadline for code running on the main thread: ``SIGALRM`` at the deadline.

The in-process invoker runs invocations on the thread that called the runner when it can
(see ``InProcessInvoker.drive``): handing every ``run()`` to a worker thread and back costs
more CPU than the rest of a short execution's emulation. A handler that hangs there, even in
blocking code (``time.sleep``, a socket read), must still be given up on at the runner's
deadline. A signal does that: the kernel interrupts the blocking call, and the Python
handler runs on the main thread, where it can raise into the hung code (as pytest-timeout's
``signal`` method does).

Only the main thread of the main interpreter runs Python signal handlers, and only where
``setitimer`` exists: ``usable()`` says whether this thread can have a deadline alarm.

Another ``ITIMER_REAL`` timer that was running when the alarm was set (pytest-timeout's, a
user's ``signal.alarm``) is kept: its handler is called when it comes due meanwhile, and
what is left of it is put back afterwards. A handler that sets a time limit of its own while
the alarm is set (``signal.signal`` and ``setitimer`` around a slow call, both put back
afterwards) leaves the alarm's handler in place but its timer stopped: ``keep_armed()``,
called at every checkpoint, sets the timer again.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from async_durable_execution_runner._sandbox import blocking_sleep
from async_durable_execution_runner._service.clock import real_monotonic

#: How soon the alarm calls again once it has been called at the deadline: ``on_deadline``
#: may be in no position to act yet (the service's own code is running) or may be ignored
#: (a handler that catches what it raises and blocks again).
RETRY_SECONDS = 0.05

#: How often an alarm with an ``on_tick`` calls it while entered (seconds of real time). A
#: drive shorter than this (most are) takes no signal at all.
TICK_SECONDS = 0.1

#: How soon the kernel sends the alarm's signal again if its handler has not set the timer
#: anew meanwhile (the timer's interval). A signal can be lost to the Python handler: one
#: that lands after CPython has run the handlers and before an interrupted ``time.sleep``
#: sleeps again is only noted, and its handler waits for the sleep to end (a hung handler's
#: ``time.sleep(30)`` slept on, under load, on Python 3.12). The next one interrupts it.
RESEND_SECONDS = 0.1

_SIGNALS = hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM") and sys.platform != "win32"

if _SIGNALS:
    _SIGALRM = int(signal.SIGALRM)
    _ITIMER_REAL = signal.ITIMER_REAL
    _setitimer = signal.setitimer
    _getitimer = signal.getitimer
try:
    # ``signal.signal`` without its wrapper, which turns numbers into enums and back: the
    # alarm is set and taken down on every drive, and the wrapper costs several times the
    # system calls (it tries, and fails, to make an enum of the handler it returns).
    from _signal import (  # type: ignore[import-not-found]
        getsignal as _get_handler,
    )
    from _signal import signal as _set_handler
except ImportError:  # pragma: no cover - an interpreter without the C module
    _set_handler = signal.signal
    _get_handler = signal.getsignal

#: The alarm entered on this process's main thread, if any (alarms do not nest in time: an
#: inner drive's alarm is entered and left while the outer one waits).
_current: list[DeadlineAlarm | None] = [None]


def keep_armed() -> None:
    """Set the entered alarm's timer again if the handler's own code stopped it (a time limit
    of its own, put back afterwards): the deadline must outlive it. Cheap when no alarm is
    entered; one system call when one is.

    Only with the alarm's handler in place: a handler that keeps its own installed, or its
    own timer running, is left to it. (Here, not in a method: it runs at every checkpoint.)"""
    alarm = _current[0]
    if (
        alarm is not None
        and alarm._active
        and _getitimer(_ITIMER_REAL)[0] == 0
        and _get_handler(_SIGALRM) == alarm._on_signal
    ):
        alarm._arm()


def ticking() -> bool:
    """Whether the calling thread is the main thread with an alarm entered that ticks
    (``on_tick``)."""
    alarm = _current[0]
    return (
        alarm is not None
        and alarm._on_tick is not None
        and threading.get_ident() == threading.main_thread().ident
    )


def usable() -> bool:
    """Whether a ``DeadlineAlarm`` can interrupt the calling thread: it is the main thread
    (the only one that runs Python signal handlers) on a platform with ``setitimer``."""
    return _SIGNALS and threading.current_thread() is threading.main_thread()


OnDeadline = Callable[[FrameType | None], None]


class DeadlineAlarm:
    """While entered (on the main thread), calls ``on_deadline(frame)`` on this thread once
    ``real_monotonic()`` reaches ``deadline``, and again every ``RETRY_SECONDS`` until exit;
    with ``on_tick``, also ``on_tick(frame)`` every ``TICK_SECONDS`` until then.

    ``frame`` is the frame the main thread was executing; whatever ``on_deadline`` (or
    ``on_tick``) raises is raised there. Entering replaces the ``SIGALRM`` handler and the
    ``ITIMER_REAL`` timer; exiting puts both back (see the module's docstring for a timer
    that was already set).
    """

    __slots__ = (
        "_active",
        "_deadline",
        "_entering",
        "_next_tick",
        "_on_deadline",
        "_on_tick",
        "_outer",
        "_previous_due",
        "_previous_handler",
        "_previous_interval",
    )

    def __init__(
        self, deadline: float, on_deadline: OnDeadline, on_tick: OnDeadline | None = None
    ) -> None:
        self._deadline = deadline
        self._on_deadline = on_deadline
        self._on_tick = on_tick
        self._next_tick = math.inf
        self._active = False
        self._entering = False
        self._previous_handler: Any = None
        # When the timer that was set before ours comes due (``real_monotonic()``), if any.
        self._previous_due: float | None = None
        self._previous_interval = 0.0
        self._outer: DeadlineAlarm | None = None

    def __enter__(self) -> DeadlineAlarm:
        self._entering = True
        self._previous_handler = _set_handler(_SIGALRM, self._on_signal)
        self._active = True
        self._outer = _current[0]
        _current[0] = self
        try:
            # Set ours and read what it replaced in one system call (one drive, one alarm);
            # a timer that was due sooner than our deadline is set again below.
            now = real_monotonic()
            if self._on_tick is not None:
                self._next_tick = now + TICK_SECONDS
            remaining, interval = _setitimer(
                _ITIMER_REAL,
                max(min(self._deadline, self._next_tick) - now, 1e-6),
                RESEND_SECONDS,
            )
            if remaining > 0:
                self._previous_due = now + remaining
                self._previous_interval = interval
                self._arm()
            # A signal the timer set before ours sent as ours replaced its handler has only
            # been noted by CPython's C handler, and would run ours: run it now, as theirs.
            _run_noted_handlers()
        except BaseException:
            self._entering = False
            self.__exit__(None, None, None)
            raise
        self._entering = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._active = False
        _current[0] = self._outer
        _setitimer(_ITIMER_REAL, 0)
        # A signal the kernel delivered just before the timer was stopped has only been noted
        # by CPython's C handler; a Python call runs the noted handlers (ours, now inactive)
        # before the previous handler is put back, which must not see our alarm.
        _run_noted_handlers()
        _set_handler(_SIGALRM, self._previous_handler)
        if self._previous_due is not None:
            left = self._previous_due - real_monotonic()
            _setitimer(_ITIMER_REAL, max(left, 1e-6), self._previous_interval)

    def _arm(self) -> None:
        due = min(self._deadline, self._next_tick)
        if self._previous_due is not None:
            due = min(due, self._previous_due)
        _setitimer(_ITIMER_REAL, max(due - real_monotonic(), 1e-6), RESEND_SECONDS)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._entering:
            # Sent by the timer that was set before ours (pytest-timeout's, which fails the
            # test from its handler) as it came due while ours took over: it was theirs.
            # Lost, their time-out never came (seen once, under load, in
            # ``test_a_timer_set_before_it_that_comes_due_meanwhile_calls_its_own_handler``).
            if callable(self._previous_handler):
                self._previous_handler(signum, frame)
            return
        if not self._active:
            return  # noted before exit stopped the timer: not for anyone any more
        now = real_monotonic()
        previous = self._previous_due
        if previous is not None and now >= previous:
            self._previous_due = (
                previous + self._previous_interval if self._previous_interval > 0 else None
            )
            self._arm()
            _call(self._previous_handler, signum, frame)
            return
        if now < self._deadline:
            if now >= self._next_tick:
                self._next_tick = now + TICK_SECONDS
                self._arm()
                assert self._on_tick is not None
                self._on_tick(frame)
                return
            self._arm()  # early (a timer's granularity): wait for the rest
            return
        self._deadline = now + RETRY_SECONDS
        if self._next_tick <= now:
            # (A tick due with the deadline is skipped, not sent at once: a tick measures
            # from the last one.)
            self._next_tick = now + TICK_SECONDS
        self._arm()
        # Interrupted in ``time.sleep``: the frame that matters is the sleep's caller.
        self._on_deadline(blocking_sleep.caller(frame))


def _run_noted_handlers() -> None:
    """Nothing: calling a Python function is what makes CPython run the signal handlers its
    C handler has noted (the interpreter checks for them on entering a function)."""


def _call(handler: Any, signum: int, frame: FrameType | None) -> None:
    """Call a handler that ``signal.signal`` returned, as the process would have."""
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_IGN:
        return
    else:  # SIG_DFL, or a handler installed outside Python: the default action, termination
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
