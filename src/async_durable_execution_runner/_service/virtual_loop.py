"""An event loop whose time is virtual: when nothing is ready to run, it jumps to its next timer.

The SDK sometimes waits for time inside an invocation: a ``parallel``/``map`` branch whose
retry is due in five seconds is resumed in-process after ``asyncio.sleep(5)`` while other
branches still run. With the runner's virtual clock that wait must cost no real time, and
the service must see the same five seconds pass (so the retry timer fires). This loop makes
``asyncio`` sleeps virtual and reports every jump, so the invoker can move the runner's clock
and the handler's ``time.time()`` with it.

Real waits are kept where the loop waits for something outside it: while work submitted to
an executor thread is in flight, or when no timer is scheduled at all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import selectors
from collections.abc import Callable
from typing import Any


class _JumpingSelector(selectors.DefaultSelector):
    """The platform's selector, but an idle timed wait becomes a jump in time.

    A subclass rather than a wrapper: the loop selects on every turn, and a delegating layer
    costs a Python call per turn.
    """

    def __init__(self, loop: VirtualTimeEventLoop) -> None:
        super().__init__()
        self._loop = loop
        # Whether anything is ready, asked of epoll itself (level-triggered, as asyncio
        # registers every descriptor): most turns find nothing ready and need no timeout
        # arithmetic or key lookups. Elsewhere, always ask the platform's selector.
        epoll = getattr(self, "_selector", None)
        self._poll: Callable[[float, int], object] = (
            epoll.poll
            if isinstance(self, selectors.EpollSelector) and epoll is not None
            else _anything_ready
        )

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        # The loop's every turn with work ready comes here: the shortest path first.
        if timeout == 0 and not loop._in_flight:
            busy = loop.busy_turns + 1
            if busy < BUSY_TURNS:
                loop.busy_turns = busy
                # With nothing registered but the loop's self-pipe, a busy turn need not ask
                # the kernel (a system call per turn): the self-pipe only wakes a sleeping
                # loop, as ``call_soon_threadsafe`` queues its callback before writing to it,
                # and it is drained on the next turn that may wait (the slow path below).
                if len(self._fd_to_key) < 2 or not self._poll(0, 1):  # type: ignore[attr-defined]
                    return []
                return _select(self, 0)
            return self._pass_busy_time()
        loop.busy_turns = 0
        if timeout is None or loop._in_flight:
            # A real wait: for the work in flight in other threads, or with no timer at all.
            return _select(self, timeout)
        ready = _select(self, 0)
        if ready or timeout <= 0:
            return ready
        loop.jump(timeout)
        return []

    def _pass_busy_time(self) -> list[tuple[selectors.SelectorKey, int]]:
        """The loop has been busy for ``BUSY_TURNS`` turns in a row: let the time that a real
        clock would have seen pass, up to the next timer (see ``BUSY_TURNS``)."""
        loop = self._loop
        loop.busy_turns = 0
        ready = _select(self, 0)
        # asyncio's timer heap; it drops cancelled timers at the head before it selects.
        scheduled: list[asyncio.TimerHandle] = loop._scheduled  # type: ignore[attr-defined]
        if scheduled:
            delay = scheduled[0].when() - loop.time()
            if delay > 0:
                loop.jump(delay)
        return ready


#: Consecutive turns with work ready (never idle) after which the loop lets virtual time pass
#: up to its next timer. Real time passes while a loop is busy; virtual time otherwise moves
#: only when the loop is idle, so a handler that busy-waits for a time (the SDK's ``parallel``
#: resubmits a branch whose step is PENDING, immediately and forever, until a service response
#: says READY, while the other branch sleeps in its step body) would spin without end. Far
#: above what a normal invocation runs in a row (a 100-step invocation runs about 700 turns
#: in all).
BUSY_TURNS = 10_000


_select = selectors.DefaultSelector.select

#: The code of the loop's selector wait: where a deadline alarm finds a loop idle between turns
#: (``safe_points``).
idle_wait_code = _JumpingSelector.select.__code__


def _anything_ready(timeout: float, max_events: int) -> bool:
    return True


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """``time()`` starts at 0 and moves only by jumps to the next scheduled callback."""

    def __init__(self) -> None:
        self._virtual = 0.0
        self._in_flight = 0
        #: Consecutive turns with work ready (see ``BUSY_TURNS``); the invoker resets it.
        self.busy_turns = 0
        self.on_jump: Callable[[float], None] | None = None
        # ``time()`` is read on every turn of the loop: a C callable, not a Python method.
        self.time = functools.partial(getattr, self, "_virtual")  # type: ignore[method-assign]
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual

    @property
    def waiting_on_threads(self) -> bool:
        return self._in_flight > 0

    def jump(self, seconds: float) -> None:
        self._virtual += seconds
        if self.on_jump is not None:
            self.on_jump(seconds)

    def interrupt_at_next_turn(self, error: Callable[[], BaseException]) -> None:
        """Raise ``error()`` out of ``run_until_complete`` at the loop's next turn, before it
        takes anything from its queues, until ``clear_interrupt``: a place where nothing the
        loop or the tasks on it are doing is cut in half."""

        def select(timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            raise error()

        # An instance attribute shadows the method only while an interrupt is pending: the
        # loop's every turn looks ``select`` up, and must not pay for a flag test.
        self._selector.select = select  # type: ignore[attr-defined]

    def clear_interrupt(self) -> None:
        vars(self._selector).pop("select", None)  # type: ignore[attr-defined]

    def run_in_executor(  # type: ignore[override]
        self, executor: concurrent.futures.Executor | None, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        # Work in another thread takes real time: no jumping while it is in flight.
        future = super().run_in_executor(executor, func, *args)
        self._in_flight += 1

        def done(_: asyncio.Future[Any]) -> None:
            self._in_flight -= 1

        future.add_done_callback(done)
        return future
