"""An event loop whose time is virtual: when nothing is ready to run, it jumps to its next timer.

The SDK sometimes waits for time inside an invocation: a ``parallel``/``map`` branch whose
retry is due in five seconds is resumed in-process after ``asyncio.sleep(5)`` while other
branches still run. With the runner's virtual clock that wait must cost no real time, and
the service must see the same five seconds pass (so the retry timer fires). This loop makes
``asyncio`` sleeps virtual and reports every jump, so the invoker can move the runner's clock
and the handler's ``time.time()`` with it.

Real waits are kept where the loop waits for something outside it: while a future that a
thread settles is pending (``run_in_executor``, ``asyncio.to_thread``, ``asyncio.wrap_future``
of a pool's future), while a job the handler gave a pool (``ThreadPoolExecutor.submit``) has
not run its done callbacks, while a thread it started runs, while the handler's own
descriptors are registered (a socket, a child process's pipes) or a child process it started
runs, and when no timer is scheduled at all. What such real waits pass on the clocks is
``OutsideTime``'s to say. Thread results, and what jobs given to a pool report through
``call_soon_threadsafe``, reach the loop in the order it asked for them, one per idle turn,
whatever order the threads end in (``VirtualTimeEventLoop.wrap_thread_future``,
``note_job``).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import concurrent.futures.thread
import contextlib
import contextvars
import functools
import heapq
import itertools
import math
import operator
import selectors
import sys
import threading
import types
import weakref
from asyncio import events
from asyncio.format_helpers import _format_callback_source
from collections.abc import Callable
from typing import Any, Protocol, TypeVarTuple

from async_durable_execution_runner._sandbox import blocking_sleep, handler_clock, parked, retired
from async_durable_execution_runner._sandbox.cpython_bugs import reset_context_var

_Ts = TypeVarTuple("_Ts")


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
        loop.idle_turns += 1
        if loop._in_flight:
            if timeout != 0:
                # Idle: the next thread result in order is taken now, if it has come.
                if loop._deliver_thread_result():
                    return []
                # Work in other threads (``to_thread``, ``run_in_executor``): a real wait;
                # unless all that is awaited is threads the invocation started, idle past the
                # next timer (looked at below, as any thread it started).
                if not loop._only_idle_threads_awaited(timeout):
                    return self._wait_outside(timeout)
            elif loop._arrivals or loop._held or loop._reports:
                # Busy with a result waiting: a loop that spins until a thread's result
                # comes (a ``parallel`` resubmitting a PENDING branch) must get it.
                loop._busy_holding += 1
                if loop._busy_holding >= BUSY_DELIVERY_TURNS:
                    loop._deliver_thread_result()
        if timeout is None:
            return _select(self, None)  # no timer at all, nothing to wait for: a hang
        ready = _select(self, 0)
        if ready or timeout <= 0:
            return ready
        if (
            len(self._fd_to_key) > 1  # type: ignore[attr-defined]
            or loop.children_running()
            or loop._open_jobs
            or loop.threads_working(timeout)
        ):
            # The handler's own I/O is pending (a socket, a child process's pipes, the child
            # itself, a thread it started or a job it gave a pool that may report through
            # ``call_soon_threadsafe``):
            # it answers in real time, under a timer such as ``asyncio.wait_for``'s.
            return self._wait_outside(timeout)
        loop.jump(timeout)
        return []

    def _wait_outside(self, timeout: float | None) -> list[tuple[selectors.SelectorKey, int]]:
        """Wait in real time for what happens outside the loop (work in other threads, the
        handler's own I/O), and let the clocks say what passed meanwhile (``OutsideTime``):
        when nothing came for as long as the next timer's delay, that timer is due; the
        threads working for the invocation pass time by sleeping. (The hang alarm knows this
        frame, as ``select``'s, as the loop's idle wait between turns.)"""
        loop = self._loop
        clock = loop.outside_time
        left = None if clock is None else clock.outside_wait_started()
        if left is not None and (timeout is None or left < timeout):
            timeout = left  # past it the function has timed out
        # A result held for order wakes the loop when its hold ends; that wake is no sign
        # that a timer is due.
        wait = timeout
        hold = loop._hold_left()
        if hold is not None and (wait is None or hold < wait):
            wait = hold
        if clock is None:
            ready = _select(self, wait)
            if loop._awaited:
                loop._deliver_thread_result()
            return ready
        start = loop._virtual
        loop._window = _Window(start, left)
        timed_out = False
        try:
            ready = _select(self, wait)
            timed_out = not ready and timeout is not None and wait == timeout
        finally:
            with loop._clock_lock:
                loop._window = None
                if timed_out:
                    # Nothing came for as long as the timer's delay: real time says it is due.
                    assert timeout is not None
                    loop._move_to(start + timeout)
        passed = loop._virtual - start
        if passed > 0:
            # May raise the function's timeout, between two turns as a jump's does.
            clock.outside_wait_ended(passed)
        if loop._awaited:
            loop._deliver_thread_result()
        return ready

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

#: Real seconds a thread's result that came before the results the loop asked for earlier is
#: held back for them (see ``VirtualTimeEventLoop._deliver_thread_result``). Past it, the
#: result is taken out of order: the job asked for first may be waiting for the loop to act
#: on this one (a consumer thread blocked on a queue that a coroutine fills from another
#: thread's result).
THREAD_RESULT_HOLD = 0.1

#: Busy turns in a row, with a thread's result waiting, after which the loop takes it without
#: waiting to be idle (see ``_deliver_thread_result``). A normal invocation's busy stretches
#: are far shorter; a loop spinning until a thread's result comes never idles.
BUSY_DELIVERY_TURNS = 1_000


class OutsideTime(Protocol):
    """The clocks' side of the loop's waits for what happens outside it (work in other
    threads, the handler's own sockets and child processes), which take real time the loop
    cannot measure as its own.

    The time counted is deterministic wherever it can be: when nothing came for as long as
    the next timer's delay, that delay (the timer is due, as a real clock would say: an
    ``asyncio.wait_for`` around a stalled call or a silent socket times out); and what the
    threads working for the invocation sleep (``time.sleep``, which ``blocking_sleep``
    reports, as runner bug 28 counts a sleep on the loop's own thread: each sleep takes the
    handler's clock to where it stood when the sleep began, plus the sleep). Not what a wait
    that ends before the next timer really lasted: the same scenario then makes the same
    history and the same checkpoint calls on a fast machine and a slow one."""

    def outside_wait_started(self) -> float | None:
        """A wait starts: the seconds before the function's timeout (``None``: no limit)."""

    def outside_time_moved(self, seconds: float) -> None:
        """(On any thread, under the loop's clock lock.) The handler's clock moves
        ``seconds`` further."""

    def outside_wait_ended(self, seconds: float) -> None:
        """(On the loop's thread.) The wait passed ``seconds`` on the handler's clock: move
        the runner's; past the function's timeout, raise its error."""


class _Window:
    """A wait of the loop for what happens outside it, in progress."""

    __slots__ = ("left", "start")

    def __init__(self, start: float, left: float | None) -> None:
        self.start = start
        self.left = left


def _nothing() -> None:
    pass


def tracked(
    working: set[int],
    clock: handler_clock.HandlerClock | None,
    func: Callable[..., Any],
    /,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """Run an executor's job, known meanwhile as working for the loop (``executor_threads``),
    on the clock of the invocation that submitted it: ``run_in_executor`` does not hand the
    job its context as ``asyncio.to_thread`` does, and a deadline the handler measured with
    ``time.monotonic()`` and passed to the job must mean the same there."""
    ident = threading.get_ident()
    working.add(ident)
    bound = None if clock is None else handler_clock.context_clock.set(clock)
    try:
        return func(*args, **kwargs)
    finally:
        if bound is not None:
            reset_context_var(handler_clock.context_clock, bound)
        working.discard(ident)


_select = selectors.DefaultSelector.select

#: The code of the loop's selector waits: where a deadline alarm finds a loop idle between
#: turns (``safe_points``).
idle_wait_codes = frozenset(
    {_JumpingSelector.select.__code__, _JumpingSelector._wait_outside.__code__}
)


def _anything_ready(timeout: float, max_events: int) -> bool:
    return True


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """``time()`` moves only by jumps to the next scheduled callback (and by real waits for
    the world outside the loop); the invoker aligns it with the handler's ``time.monotonic()``
    at the start of every invocation (``align_time``)."""

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """asyncio's, except while retired sandboxes are collected (``retired.bury``): what
        their finalisers report there (``aiohttp``'s unclosed session) a dead sandbox's
        process would never have said."""
        if retired.burying():
            return
        super().call_exception_handler(context)

    def __init__(self) -> None:
        self._virtual = 0.0
        #: Closed by the runner, not by the handler (``invocation_threads.settle``): what a
        #: thread still sends it is dropped (see ``call_soon_threadsafe``).
        self.discarded = False
        #: Futures a thread will settle, and jobs given to a pool whose reports are taken in
        #: order, that the loop still waits for (``len(_awaited)``, read on every busy turn).
        self._in_flight = 0
        #: Those futures and jobs, by the order they were asked for (``wrap_thread_future``,
        #: ``note_job``).
        self._awaited: dict[int, asyncio.Future[Any] | ThreadReports] = {}
        self._asked = 0
        #: The first of them that the current invocation asked for: earlier ones (a job an
        #: earlier invocation left behind) are taken whenever they come.
        self._ordered_from = 0
        #: Thread results as they came, appended by the threads that settled them (``None``:
        #: a report or the end of a job in ``_reports``).
        self._arrivals: collections.deque[tuple[int, concurrent.futures.Future[Any] | None]] = (
            collections.deque()
        )
        #: Results taken from ``_arrivals`` that wait for their turn, with when they came
        #: (real time).
        self._held: dict[int, tuple[concurrent.futures.Future[Any], float]] = {}
        self._busy_holding = 0
        #: The jobs among ``_awaited`` (a pool's, submitted on the loop's thread) with a report
        #: that came and is not taken yet, or over and not yet taken as over.
        self._reports: dict[int, ThreadReports] = {}
        #: Taken by the threads that report and by the loop that takes their reports.
        self._reports_lock = threading.Lock()
        #: Results taken out of order because their hold ran out (a diagnostic).
        self.holds_expired = 0
        #: The rank of the current invocation's ``n``-th thread job (``n`` from 0): results
        #: are taken by rank, then in the order asked for (``None``: that order alone). An
        #: ``Interleaving``'s ``thread_rank``, set for each invocation.
        self.thread_rank: Callable[[int], int] | None = None
        self._ranks: dict[int, int] = {}
        #: Child processes started on this loop (``asyncio.create_subprocess_exec``): their
        #: exit is reported by another thread, which the loop cannot count as in flight.
        self._children: weakref.WeakSet[asyncio.SubprocessTransport] = weakref.WeakSet()
        #: Tasks created on this loop that may not be done yet (see ``pending_tasks``).
        self.created_tasks: list[asyncio.Task[Any]] = []
        #: Consecutive turns with work ready (see ``BUSY_TURNS``); the invoker resets it.
        self.busy_turns = 0
        #: Turns that found nothing ready (``turn_mark``).
        self.idle_turns = 0
        #: An interrupt is pending (``interrupt_at_next_turn``).
        self._interrupting = False
        self.on_jump: Callable[[float], None] | None = None
        #: What waits for the world outside the loop do to the clocks (``None``: nothing,
        #: their time is not counted).
        self.outside_time: OutsideTime | None = None
        blocking_sleep.watchers.add(self)
        self._window: _Window | None = None
        self._clock_lock = threading.Lock()
        #: The threads running a job ``run_in_executor`` (``asyncio.to_thread``) gave them
        #: for the current invocation: the threads whose sleeps a wait counts. Emptied at
        #: each invocation's start (``forget_executor_threads``), so that a job an earlier
        #: invocation left running does not count.
        self.executor_threads: set[int] = set()
        #: The threads code on this loop started during the current invocation (not a
        #: pool's workers, whose jobs are counted in flight): while one is alive, the loop
        #: waits for it in real time rather than jumping (it may report through
        #: ``call_soon_threadsafe``, which the loop cannot see coming).
        self.started_threads: list[threading.Thread] = []
        #: The jobs a job's thread gave a thread pool during the current invocation
        #: (``ThreadPoolExecutor.submit``, not through ``run_in_executor``), until their done
        #: callbacks have run: the loop waits for them in real time rather than jumping (their
        #: report may be a callback's ``call_soon_threadsafe``, which it cannot see coming).
        #: (The loop's own thread's jobs are in ``_awaited``, their reports taken in order.)
        self._open_jobs: set[concurrent.futures.Future[Any]] = set()
        # ``time()`` is read on every turn of the loop: a C callable, not a Python method.
        self.time = functools.partial(getattr, self, "_virtual")  # type: ignore[method-assign]
        # ``BaseEventLoop.create_future`` is ``Future(loop=self)``: the same, called from C
        # (every ``asyncio.wait_for``, queue wait and event wait of the SDK makes one).
        self.create_future = functools.partial(_Future, loop=self)  # type: ignore[method-assign]
        # Asked by every future and task made on the loop (asyncio's C ``Future.__init__``):
        # ``_debug`` read from C, as ``BaseEventLoop.get_debug`` reads it in Python.
        self.get_debug = functools.partial(getattr, self, "_debug")  # type: ignore[method-assign]
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual

    @property
    def waiting_on_threads(self) -> bool:
        return self._in_flight > 0 or self.threads_running() or bool(self._open_jobs)

    def children_running(self) -> bool:
        """Whether a child process started on this loop has not exited yet."""
        return any(child.get_returncode() is None for child in self._children)

    async def subprocess_exec(
        self, protocol_factory: Callable[[], Any], *args: Any, **kwargs: Any
    ) -> tuple[asyncio.SubprocessTransport, Any]:
        transport, protocol = await super().subprocess_exec(protocol_factory, *args, **kwargs)
        self._children.add(transport)
        return transport, protocol

    async def subprocess_shell(
        self, protocol_factory: Callable[[], Any], cmd: Any, **kwargs: Any
    ) -> tuple[asyncio.SubprocessTransport, Any]:
        transport, protocol = await super().subprocess_shell(protocol_factory, cmd, **kwargs)
        self._children.add(transport)
        return transport, protocol

    def _move_to(self, instant: float) -> None:
        """(Under ``_clock_lock``, in an outside wait.) Take the loop's clock and the
        handler's to ``instant``, if that is later."""
        passed = instant - self._virtual
        if passed > 0:
            self._virtual = instant
            assert self.outside_time is not None
            self.outside_time.outside_time_moved(passed)

    def sleep_starts(self) -> float | None:
        """(On a thread about to sleep.) Where the loop's clock stands, if the thread works
        for the current invocation (``executor_threads``); ``None`` otherwise."""
        if threading.get_ident() in self.executor_threads:
            return self._virtual
        return None

    def sleep_ended(self, began: float, seconds: float) -> None:
        """(On a thread that slept ``seconds`` since the loop's clock stood at ``began``.)
        While the loop waits for it, the clocks move on to ``began + seconds``; past the
        function's timeout, the loop stops waiting to say so."""
        with self._clock_lock:
            window = self._window
            if window is None:
                return  # the loop is busy: its clock moves only between turns
            self._move_to(began + seconds)
            if window.left is not None and self._virtual - window.start >= window.left:
                window.left = None
                self.call_soon_threadsafe(_nothing)

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        if executor is not None and not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            return super().run_in_executor(executor, func, *args)  # a process pool's job
        clock = handler_clock.context_clock.get()
        # Its job's result is counted in flight (``wrap_future``): its ``submit`` is not a
        # job of the handler's own (``outside_work``), whatever wraps ``submit`` meanwhile.
        in_run_in_executor.active = True
        try:
            return super().run_in_executor(
                executor, functools.partial(tracked, self.executor_threads, clock, func), *args
            )
        finally:
            in_run_in_executor.active = False

    def forget_threads(self) -> None:
        """A new invocation starts: the threads an earlier one set working or started are
        none of its business."""
        self._ordered_from = self._asked
        self.thread_rank = None
        if self.executor_threads:
            self.executor_threads = set()
        if self.started_threads:
            self.started_threads = []
        if self._open_jobs:
            self._open_jobs = set()
        if self._in_flight:
            for seq, item in list(self._awaited.items()):
                if type(item) is ThreadReports:
                    self.let_go(seq, item)

    def note_job(
        self, job: concurrent.futures.Future[Any], reports: ThreadReports | None = None
    ) -> None:
        """(On the thread that submitted it.) ``job``, a pool's future, works for the current
        invocation until its done callbacks have run: with ``reports`` (submitted on the
        loop's thread, ``ask_reports``) in ``_awaited``, its reports taken in order; else
        in ``_open_jobs``.

        Not until it is done: a callback that reports to the loop (``call_soon_threadsafe``)
        runs after the future says it is done, and a loop that looked in between would jump
        over the timer the report was due under. The future's own ``_invoke_callbacks`` (set
        by ``set_result``, ``set_exception`` and ``cancel``, all of which call it) is wrapped
        on this one instance to say when they have run, and to have its callbacks' reports
        taken as the job's."""
        invoke = job._invoke_callbacks  # type: ignore[attr-defined]
        if reports is not None:

            def invoke_reporting() -> None:
                try:
                    as_reports(reports, invoke)
                finally:
                    self.report(reports, None)

            job._invoke_callbacks = invoke_reporting  # type: ignore[attr-defined]
            job._loop_reports = reports  # type: ignore[attr-defined]  # (``wrap_thread_future``)
            add = job.add_done_callback

            def add_reporting(callback: Callable[[concurrent.futures.Future[Any]], object]) -> None:
                # A callback added once the job is over runs at once, on the adding thread
                # (the loop's, as a rule): what it reports is still the job's, taken in order.
                if not job.done():
                    add(callback)
                    return
                as_reports(reports, add, callback)

            job.add_done_callback = add_reporting  # type: ignore[method-assign,assignment]
            return
        open_jobs = self._open_jobs
        open_jobs.add(job)

        def invoke_then_close() -> None:
            try:
                invoke()
            finally:
                open_jobs.discard(job)
                self.wake()

        job._invoke_callbacks = invoke_then_close  # type: ignore[attr-defined]

    def ask_reports(self, thread: threading.Thread | None = None) -> ThreadReports:
        """(On the loop's thread, as a job is given to a pool, or ``thread`` is started.) A
        place in the order of thread results for the job's or the thread's reports
        (``ThreadReports``)."""
        seq = self._asked
        self._asked = seq + 1
        reports = ThreadReports(self, seq, thread)
        self._awaited[seq] = reports
        if self.thread_rank is not None:
            self._ranks[seq] = self.thread_rank(seq - self._ordered_from)
        self._in_flight += 1
        return reports

    def call_soon_threadsafe(  # type: ignore[override]
        self,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """``BaseEventLoop.call_soon_threadsafe``; called by a job the loop's thread gave a
        pool (its body or its done callbacks: ``_reporting``), the callback is the job's
        report, taken in the job's order (``_deliver_thread_result``)."""
        if self.discarded and self.is_closed():
            # The runner closed this loop for tasks of a finished invocation that refused to
            # die, and runs the next on a new one. On Lambda the SDK's loop lives as long as
            # the sandbox (a dead sandbox's threads die with it): a library's thread that
            # finishes work for the old loop (aiosqlite's, a driver's) must not die of
            # "Event loop is closed", which pytest reports as the test's failure.
            handle = asyncio.Handle(callback, args, self, context)
            handle.cancel()
            return handle
        reports: ThreadReports | None = getattr(_reporting, "reports", None)
        if reports is None or reports.loop is not self or self.get_debug():
            return super().call_soon_threadsafe(callback, *args, context=context)
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        handle = asyncio.Handle(callback, args, self, context)
        if not self.report(reports, handle):
            self._ready.append(handle)  # type: ignore[attr-defined]
            self._write_to_self()  # type: ignore[attr-defined]
        return handle

    def report(self, reports: ThreadReports, handle: asyncio.Handle | None) -> bool:
        """(On the reporting thread.) ``handle`` came from the job (``None``: the job is over,
        its callbacks run); ``False`` if the job is no longer waited for in order."""
        with self._reports_lock:
            if reports.let_go:
                return False
            if handle is None:
                reports.over = _real_time()
            else:
                reports.handles.append((handle, _real_time()))
            self._arrivals.append((reports.seq, None))
        self.wake()
        return True

    def wake(self) -> None:
        """(From another thread.) Wake the loop if it waits in real time for outside work, to
        look again: a self-pipe write, no callback (nothing runs on the loop for it)."""
        if not self.is_closed():
            with contextlib.suppress(OSError, RuntimeError, AttributeError):
                self._write_to_self()  # type: ignore[attr-defined]

    def let_go(self, seq: int, reports: ThreadReports) -> None:
        """Stop waiting for a job's reports in order: what came is run as asyncio would have
        run it, and what comes later goes straight to the ready queue."""
        with self._reports_lock:
            reports.let_go = True
            came = [handle for handle, _ in reports.handles]
            reports.handles.clear()
        self._ready.extend(came)  # type: ignore[attr-defined]
        if self._awaited.pop(seq, None) is not None:
            self._in_flight -= 1
        self._reports.pop(seq, None)
        self._ranks.pop(seq, None)

    def _only_idle_threads_awaited(self, timeout: float | None) -> bool:
        """Whether all the loop waits for in order is threads the invocation started, with
        nothing come from them, each idle past the next timer, ``timeout`` seconds away
        (``None``: no timer; parked for good): ``parked.idle_for``."""
        if self._arrivals or self._held or self._reports:
            return False
        seconds = math.inf if timeout is None else timeout
        for item in self._awaited.values():
            if type(item) is not ThreadReports or item.thread is None:
                return False
            if item.handles or item.over is not None:
                return False
            ident = item.thread.ident
            if not parked.idle_for(ident, seconds) or parked.within_park_budget(ident):
                return False
        return True

    def note_working(self, thread: threading.Thread) -> None:
        """``thread``, which no code on this loop started, works for the current invocation
        as a thread it started does (``started_threads``), and may report through
        ``call_soon_threadsafe``: the handler's code woke it from a ``threading`` wait
        (``woken``), or the sandbox's import started it just before the invocation. Not the
        loop's own thread, nor one counted otherwise (a pool's worker, the runner's own, the
        main thread: the test's)."""
        if (
            thread.ident == self._thread_id  # type: ignore[attr-defined]
            or thread is threading.main_thread()
            or is_pool_worker(thread)
            or getattr(thread, "runner_internal", False)
            or thread.ident in self.executor_threads
            or thread in self.started_threads
        ):
            return
        self.started_threads.append(thread)

    def threads_working(self, timeout: float) -> bool:
        """Whether a thread started during this invocation may report before the next timer,
        ``timeout`` seconds away: it is alive and not idle past then (``parked.idle_for``:
        asleep, or in a ``threading`` wait no one the invocation knows of is about to end,
        for longer than that and than a short pause). A thread that lives on (a flusher, a
        heartbeat) holds no timer while it idles."""
        if not self.threads_running():
            return False
        for thread in self.started_threads:
            if getattr(thread, "_run_over", False):
                continue  # (ending: it reports nothing more)
            ident = thread.ident
            if not parked.idle_for(ident, timeout) or parked.within_park_budget(ident):
                return True
        return False

    def threads_running(self) -> bool:
        """Whether a thread started during this invocation is still alive."""
        started = self.started_threads
        if not started:
            return False
        alive = [thread for thread in started if thread.is_alive()]
        self.started_threads = alive
        return bool(alive)

    def create_task(  # type: ignore[override]
        self, coro: Any, *, name: str | None = None, context: Any = None
    ) -> asyncio.Task[Any]:
        loop: Any = self
        if loop._task_factory is None and not loop._debug and _LEAN_RUN:
            # ``BaseEventLoop.create_task``'s work without its frame and its closed check's
            # (the SDK makes several tasks per invocation).
            if loop._closed:
                raise RuntimeError("Event loop is closed")
            task = _Task(coro, loop=self, name=name, context=context)
        else:
            task = super().create_task(coro, name=name, context=context)
            created = self.created_tasks
            if created and created[-1] is task:
                return task  # the task factory was asyncio's eager one, which adopted it
        self.created_tasks.append(task)
        return task

    def adopt_task(self, task: asyncio.Task[Any]) -> None:
        """Count ``task``, made for this loop without ``create_task``, among its tasks
        (``pending_tasks``), unless it is done already; one that ended with an exception
        nobody has retrieved yet (an eager task that failed on its first step) is counted
        too, to be reported with the others (``_report_unretrieved``)."""
        if not task.done() or getattr(task, "_log_traceback", False):
            self.created_tasks.append(task)

    def run_until_complete(self, future: Any) -> Any:
        """``BaseEventLoop.run_until_complete``, in fewer steps: every invocation is one run
        (the floor awaits all of an execution's invocations in one).

        asyncio stops the loop from a callback it adds to the future, which costs a handle, a
        call and, when nothing else is ready by then, a whole turn of its own; here the future
        is looked at after each turn instead. When it completes with callbacks ready, one more
        turn runs them, as asyncio's last turn (the one that runs its stop callback) would.
        ``loop.stop()`` from inside ends the run as it does in asyncio.
        """
        # asyncio's loop internals (typeshed leaves them out): ``_LEAN_RUN`` says they are there.
        loop: Any = self
        if loop._debug or not _LEAN_RUN:
            return super().run_until_complete(future)
        if type(future) is _Coroutine and loop._task_factory is None:
            # The invoker's case (a handler's entry, once per invocation): asyncio's checks
            # and ``create_task``'s layers, spelled out; the same task, on the same terms.
            if loop._closed:
                raise RuntimeError("Event loop is closed")
            if loop._thread_id is not None:
                raise RuntimeError("This event loop is already running")
            if events._get_running_loop() is not None:
                raise RuntimeError("Cannot run the event loop while another loop is running")
            new_task = True
            future = _Task(future, loop=self)
            self.created_tasks.append(future)
        else:
            loop._check_closed()
            loop._check_running()
            new_task = not asyncio.isfuture(future)
            if asyncio.iscoroutine(future):
                future = self.create_task(future)
            else:
                future = asyncio.ensure_future(future, loop=self)
        if new_task:
            # (asyncio's own reason:) the caller gets the outcome, or an error if it never
            # came; a task pending at the end need not be logged.
            future._log_destroy_pending = False
        hooks = sys.get_asyncgen_hooks()
        loop._thread_id = threading.get_ident()
        sys.set_asyncgen_hooks(
            firstiter=loop._asyncgen_firstiter_hook, finalizer=loop._asyncgen_finalizer_hook
        )
        events._set_running_loop(self)
        try:
            self._turns(future)
        except BaseException:
            if new_task and future.done() and not future.cancelled():
                future.exception()  # retrieved: the caller sees the exception raised here
            raise
        finally:
            loop._stopping = False
            loop._thread_id = None
            events._set_running_loop(None)
            sys.set_asyncgen_hooks(*hooks)
        if not future.done():
            msg = "Event loop stopped before Future completed."
            raise RuntimeError(msg)
        return future.result()

    def call_soon(
        self,
        callback: Callable[[*_Ts], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """``BaseEventLoop.call_soon`` in one frame instead of four (its closed check,
        ``_call_soon``, and the handle's debug check, each a call): every step of every task
        is scheduled here, the SDK's included. In debug mode, asyncio's own, with its checks
        of the thread and the callback."""
        loop: Any = self
        if loop._debug or not _LEAN_HANDLES:
            return super().call_soon(callback, *args, context=context)
        if loop._closed:
            raise RuntimeError("Event loop is closed")
        # asyncio's ``Handle.__init__``'s stores, without its call and its debug check.
        handle: Any = _new_handle(_Handle)
        handle._context = contextvars.copy_context() if context is None else context
        handle._loop = self
        handle._callback = callback
        handle._args = args
        handle._cancelled = False
        handle._repr = None
        handle._source_traceback = None
        loop._ready.append(handle)
        # (Not ``cast``, a Python call: every step of every task is scheduled here.)
        return handle  # type: ignore[no-any-return]

    def _run_once(self) -> None:
        """``BaseEventLoop._run_once`` (Python 3.11 to 3.13, where it is the same): one turn
        of ``_turns``. In debug mode, asyncio's own, with its slow-callback warnings."""
        loop: Any = self
        if loop._debug or not _LEAN_TURN:
            super()._run_once()  # type: ignore[misc]
            return
        self._turns(None)

    def _turns(self, future: Any) -> None:
        """Turns of asyncio's ``_run_once`` until ``future`` is done, as
        ``BaseEventLoop.run_until_complete`` runs them (one turn more if callbacks are ready
        when it is, and none once the loop is stopping), or one turn for ``None``.

        Each turn is asyncio's, with each callback run in this frame instead of through
        ``Handle._run`` (the same call, and the same report of what it raises) and no
        ``_process_events`` call for a turn with no events (most turns). The turns run in one
        frame, with what stays the same from turn to turn (the ready queue, the selector's
        registrations) looked up once: every turn of an invocation comes here.
        """
        loop: Any = self
        ready = loop._ready
        popleft = ready.popleft
        registered = loop._selector._fd_to_key
        resolution = loop._clock_resolution
        last = future is None
        if not last and future.done():
            if not ready:
                return
            last = True
        while True:
            scheduled = loop._scheduled
            if scheduled:
                sched_count = len(scheduled)
                if (
                    sched_count > _MIN_SCHEDULED_TIMER_HANDLES
                    and loop._timer_cancelled_count / sched_count
                    > _MIN_CANCELLED_TIMER_HANDLES_FRACTION
                ):
                    # Remove delayed calls that were cancelled if their number is too high.
                    kept = []
                    for timer in scheduled:
                        if timer._cancelled:
                            timer._scheduled = False
                        else:
                            kept.append(timer)
                    heapq.heapify(kept)
                    loop._scheduled = scheduled = kept
                    loop._timer_cancelled_count = 0
                else:
                    # Remove delayed calls that were cancelled from head of queue.
                    while scheduled and scheduled[0]._cancelled:
                        loop._timer_cancelled_count -= 1
                        timer = heapq.heappop(scheduled)
                        timer._scheduled = False
            if ready or loop._stopping:
                # A busy turn: ``_JumpingSelector.select(0)``'s shortest path without its
                # call (most turns of an invocation), while no thread's work is in flight,
                # no interrupt is pending and nothing but the self-pipe is registered.
                busy = loop.busy_turns + 1
                if (
                    busy < BUSY_TURNS
                    and not loop._in_flight
                    and not loop._interrupting
                    and len(registered) < 2
                ):
                    loop.busy_turns = busy
                else:
                    event_list = loop._selector.select(0)
                    if event_list:
                        loop._process_events(event_list)
                    event_list = None  # (asyncio's:) to break cycles when an exception occurs
            else:
                timeout = None
                if scheduled:
                    timeout = min(
                        max(0, scheduled[0]._when - self._virtual), _MAXIMUM_SELECT_TIMEOUT
                    )
                event_list = loop._selector.select(timeout)
                if event_list:
                    loop._process_events(event_list)
                event_list = None  # (asyncio's:) to break cycles when an exception occurs
            # Handle 'later' callbacks that are ready.
            if scheduled:
                end_time = self._virtual + resolution
                while scheduled:
                    timer = scheduled[0]
                    if timer._when >= end_time:
                        break
                    timer = heapq.heappop(scheduled)
                    timer._scheduled = False
                    ready.append(timer)
            for _ in range(len(ready)):
                handle = popleft()
                if handle._cancelled:
                    continue
                try:
                    handle._context.run(handle._callback, *handle._args)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    _report_callback_error(handle, exc)
            handle = None  # (asyncio's:) needed to break cycles when an exception occurs
            if last or loop._stopping:
                return
            if future.done():
                if not ready:
                    return
                last = True

    def call_at(
        self,
        when: float,
        callback: Callable[[*_Ts], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        """``BaseEventLoop.call_at`` in one frame instead of four (its closed check, and
        ``TimerHandle.__init__`` with ``Handle.__init__`` and its debug check): the same
        timer, pushed on the same heap. In debug mode, asyncio's own."""
        loop: Any = self
        if loop._debug or not _LEAN_HANDLES:
            return super().call_at(when, callback, *args, context=context)
        if when is None:
            raise TypeError("when cannot be None")
        if loop._closed:
            raise RuntimeError("Event loop is closed")
        timer: Any = _new_handle(_TimerHandle)
        timer._context = contextvars.copy_context() if context is None else context
        timer._loop = self
        timer._callback = callback
        timer._args = args
        timer._cancelled = False
        timer._repr = None
        timer._source_traceback = None
        timer._when = when
        heapq.heappush(loop._scheduled, timer)
        timer._scheduled = True
        return timer  # type: ignore[no-any-return]

    def call_later(
        self,
        delay: float,
        callback: Callable[[*_Ts], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        """``BaseEventLoop.call_later``: ``call_at`` the loop's time plus ``delay``, without
        asyncio's second frame (``asyncio.wait_for`` sets one per call)."""
        if delay is None:
            raise TypeError("delay must not be None")
        return self.call_at(self._virtual + delay, callback, *args, context=context)

    def pending_tasks(self) -> list[asyncio.Task[Any]]:
        """The tasks created on this loop that are not done; the done ones are let go.

        ``asyncio.all_tasks(loop)`` says the same, but it goes through every task of the
        process still in memory: the SDK's ``parallel`` and ``map`` keep their tasks in
        reference cycles, and hundreds of finished tasks wait for the garbage collector
        (150 of them make it cost 27 us instead of 3, at the end of every invocation).
        (A task built as ``asyncio.Task(coro)``, not through the loop, is not seen.)"""
        created = self.created_tasks
        pending = list(_filterfalse(_done, created))
        if len(pending) < len(created):
            self._report_unretrieved(created)
        self.created_tasks = pending[:] if pending else []
        return pending

    def _report_unretrieved(self, tasks: list[asyncio.Task[Any]]) -> None:
        """Report, now, each finished task whose exception nobody retrieved, as its finaliser
        would ("Task exception was never retrieved"), and tell the finaliser it was reported.

        A task whose exception holds the task itself (through its traceback's frames: the
        SDK's ``parallel`` branches, a step's task, anything that kept
        ``asyncio.current_task()``) is a reference cycle, freed only by the collector: its
        report came whenever that ran, often at the interpreter's exit, after the test run
        had ended and outside the log capture of the run that made it (the harness's summary
        of the log records injected faults cause). Here it comes while the invocation that
        made the task ends, in that run's logs."""
        for task in tasks:
            if task.done() and getattr(task, "_log_traceback", False):
                task._log_traceback = False
                self.call_exception_handler(
                    {
                        "message": "Task exception was never retrieved",
                        "exception": task.exception(),
                        "future": task,
                    }
                )

    @property
    def waiting_outside(self) -> bool:
        """Whether the loop is waiting in real time for the world outside it (a thread's
        work, the handler's I/O), whose time ``OutsideTime`` counts."""
        return self._window is not None

    def turn_mark(self) -> tuple[int, int, float]:
        """What changes whenever the loop takes a turn (or its clock moves): the same mark
        twice means the loop's thread has stayed inside one turn, in its callbacks."""
        return (self.busy_turns, self.idle_turns, self._virtual)

    def align_time(self, now: float) -> None:
        """(Between invocations, on the loop's thread.) Set the loop's clock to ``now``, the
        handler's ``time.monotonic()``, carrying any timer still scheduled along with it.

        On a stock loop ``loop.time()`` is ``time.monotonic()``, and handlers mix the two:
        ``loop.call_at(time.monotonic() + 5, ...)``, ``asyncio.timeout_at(time.monotonic()
        + 5)``. This loop's clock moves only by its jumps (and by real waits for the world
        outside it), as the handler's ``time.monotonic()`` does since it counts the skipped
        seconds, so once aligned at the start of an invocation the two differ only by the
        real time the invocation has been busy (runner bug 35)."""
        loop: Any = self  # asyncio's internals (typeshed leaves ``_scheduled`` out)
        with self._clock_lock:
            shift = now - self._virtual
            if shift:
                # The same shift for every timer keeps the heap ordered.
                for timer in loop._scheduled:
                    timer._when += shift
                self._virtual = now

    def jump(self, seconds: float) -> None:
        # Locked: the runner's ticker may pass blocked time on this clock from its thread.
        with self._clock_lock:
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
        # loop's turns that select look ``select`` up, and must not pay for a flag test. The
        # busy turns that do not select (``_run_once``) test ``_interrupting``.
        self._selector.select = select  # type: ignore[attr-defined]
        self._interrupting = True

    def clear_interrupt(self) -> None:
        if self._interrupting:
            self._interrupting = False
            vars(self._selector).pop("select", None)  # type: ignore[attr-defined]

    def wrap_thread_future(self, source: concurrent.futures.Future[Any]) -> asyncio.Future[Any]:
        """``asyncio.wrap_future(source)``: a future of this loop that ``source``'s outcome
        settles, given to the loop in the order the loop asked for it.

        asyncio settles the wrapper from the thread, through ``call_soon_threadsafe``, as the
        thread ends: when four jobs run on a pool, the order their results reach the loop,
        and the turns they reach it in, are the threads' race. The SDK batches checkpoints
        by what is ready on the loop, so the race made a ``map`` whose item results are
        written to disk by a pool record its events in a different order on every run of
        the same scenario, and a fault plan placed by one run aim elsewhere in the next.
        Here a result that came is taken when the loop is idle, one at a time, and only
        after those asked for before it (``_deliver_thread_result``): the same jobs give
        the same turns, and the same history, whatever order the threads end in.
        """
        destination: asyncio.Future[Any] = self.create_future()
        reports: ThreadReports | None = getattr(source, "_loop_reports", None)
        if (
            reports is not None
            and reports.seq == self._asked - 1
            and self._awaited.get(reports.seq) is reports
            and not reports.handles
        ):
            # ``wrap_future(pool.submit(...))``: one wait, in the place the job has just
            # taken (and its rank), not two.
            seq = reports.seq
            with self._reports_lock:
                reports.let_go = True
            self._reports.pop(seq, None)
            self._awaited[seq] = destination
        else:
            seq = self._asked
            self._asked = seq + 1
            self._awaited[seq] = destination
            if self.thread_rank is not None:
                self._ranks[seq] = self.thread_rank(seq - self._ordered_from)
            self._in_flight += 1
        arrivals = self._arrivals
        wake = self._write_to_self  # type: ignore[attr-defined]

        def came(_: concurrent.futures.Future[Any]) -> None:  # on the settling thread
            arrivals.append((seq, source))
            wake()

        def settled(_: asyncio.Future[Any]) -> None:
            if destination.cancelled():
                source.cancel()  # as asyncio's wrapper does
            if self._awaited.pop(seq, None) is not None:  # cancelled before delivery
                self._in_flight -= 1
                self._held.pop(seq, None)
                self._ranks.pop(seq, None)

        destination.add_done_callback(settled)
        source.add_done_callback(came)
        return destination

    def _hold_left(self) -> float | None:
        """Real seconds until the longest-held result's hold runs out (``None``: none held)."""
        self._take_arrivals()
        came = self._earliest_arrival()
        if came is None:
            return None
        return max(0.0, came + THREAD_RESULT_HOLD - _real_time())

    def _earliest_arrival(self) -> float | None:
        """When the longest-waiting result or job report that came arrived (real time)."""
        times = [at for _, at in self._held.values()]
        times.extend(reports.came() for reports in self._reports.values())
        return min(times) if times else None

    def _take_arrivals(self) -> None:
        arrivals = self._arrivals
        if arrivals:
            awaited = self._awaited
            now = _real_time()
            while arrivals:
                seq, source = arrivals.popleft()
                if source is None:  # a job's report, or its end
                    item = awaited.get(seq)
                    # (Nothing left: what this signal said came was taken with an earlier one.)
                    if type(item) is ThreadReports and (item.handles or item.over is not None):
                        self._reports[seq] = item
                elif seq in awaited:
                    self._held[seq] = (source, now)

    def _deliver_thread_result(self) -> bool:
        """Settle the next future a thread's result is for, or run the next report of a job
        given to a pool, if it has come: the one asked for first (of the lowest rank, when
        ``thread_rank`` ranks them), or, past its hold, the first of those that came early.
        A job's report is one callback (one per idle turn, as a result is); its end takes
        no turn. ``False`` if nothing was taken."""
        self._take_arrivals()
        held = self._held
        reports = self._reports
        ranks = self._ranks
        while held or reports:
            seq = -1
            best: tuple[int, int] | None = None
            for asked, item in self._awaited.items():
                if asked < self._ordered_from:
                    if asked in held:  # left by an earlier invocation: whenever it comes
                        seq = asked
                        break
                    continue
                if (
                    type(item) is ThreadReports
                    and item.thread is not None
                    and asked not in reports
                    and item.idle_for(THREAD_RESULT_HOLD)
                ):
                    continue  # a thread that cannot report before the hold is over
                if not ranks:
                    seq = asked
                    break
                key = (ranks.get(asked, 0), asked)
                if best is None or key < best:
                    best, seq = key, asked
            if seq not in held and seq not in reports:
                came = self._earliest_arrival()
                if came is None or _real_time() - came < THREAD_RESULT_HOLD:
                    return False
                seq = min((*held, *reports), key=lambda s: (ranks.get(s, 0), s))
                self.holds_expired += 1
            job = reports.get(seq)
            if job is None:
                ranks.pop(seq, None)
                source, _ = held.pop(seq)
                destination = self._awaited.pop(seq)
                assert not isinstance(destination, ThreadReports)
                self._in_flight -= 1
                self._busy_holding = 0
                if (
                    not destination.done()
                ):  # (settled by hand meanwhile: asyncio would fail a callback)
                    _copy_future_state(source, destination)
                return True
            with self._reports_lock:
                handle = job.handles.popleft()[0] if job.handles else None
                if not job.handles and job.over is None:
                    del reports[seq]  # nothing more has come: taken again when it does
            if handle is not None:
                self._ready.append(handle)  # type: ignore[attr-defined]
                self._busy_holding = 0
                return True
            if job.over is None:
                continue  # (nothing had come after all)
            # Over, with every report taken: no turn of its own. (A callback added later, after
            # an await, reports straight to the ready queue.)
            with self._reports_lock:
                job.let_go = True
            del reports[seq]
            del self._awaited[seq]
            ranks.pop(seq, None)
            self._in_flight -= 1
        return False


class ThreadReports:
    """The reports of a job the loop's thread gave a pool (``call_soon_threadsafe`` calls
    from its body or its done callbacks), or of a thread it started, kept for the loop to
    take in the job's order."""

    __slots__ = ("handles", "let_go", "loop", "over", "seq", "thread")

    def __init__(
        self, loop: VirtualTimeEventLoop, seq: int, thread: threading.Thread | None = None
    ) -> None:
        self.loop = loop
        self.seq = seq
        #: The thread whose reports these are (``None``: a pool's job).
        self.thread = thread
        #: Reports not taken yet, with when each came (real time).
        self.handles: collections.deque[tuple[asyncio.Handle, float]] = collections.deque()
        #: When the job's done callbacks had run (real time), if they have.
        self.over: float | None = None
        #: No longer waited for in order (left by an earlier invocation, or over and taken).
        self.let_go = False

    def came(self) -> float:
        """When what the loop has yet to take of this job came."""
        handles = self.handles
        if handles:
            return handles[0][1]
        return _real_time() if self.over is None else self.over

    def idle_for(self, seconds: float) -> bool:
        """A thread's place with nothing come for it, whose thread is idle for more than
        ``seconds`` (``parked.idle_for``): it cannot report before then unless something
        wakes it, so the results after it need not wait for it (a flusher the invocation
        started, idle between its rounds; a thread blocked on a queue the loop is yet to
        feed)."""
        if self.thread is None or self.handles or self.over is not None:
            return False
        return parked.idle_for(self.thread.ident, seconds)


#: The job (``ThreadReports``) whose body or done callbacks this thread is running, if any.
_reporting = threading.local()
#: ``active`` while this thread's ``run_in_executor`` submits its job.
in_run_in_executor = threading.local()


#: What ``VirtualTimeEventLoop.run_until_complete`` uses of asyncio's loop besides its public
#: API; on an interpreter whose loop lacks any of it, the loop runs asyncio's own.
_LEAN_RUN = all(
    hasattr(asyncio.BaseEventLoop, name)
    for name in (
        "_run_once",
        "_check_running",
        "_asyncgen_firstiter_hook",
        "_asyncgen_finalizer_hook",
    )
) and hasattr(events, "_set_running_loop")

#: The code of an event loop's call into a callback (a task's step): asyncio's
#: ``Handle._run``, or this loop's turn, which calls its callbacks itself. What is below it on
#: a handler's stack ran the loop (a test, a module), not the handler.
LOOP_CALLBACK_CODES = frozenset(
    {asyncio.events.Handle._run.__code__, VirtualTimeEventLoop._turns.__code__}
)

#: Whether ``_run_once`` may run its own copy: the interpreters whose asyncio turn it copies.
_LEAN_TURN = _LEAN_RUN and (3, 11) <= sys.version_info[:2] <= (3, 13)


_Coroutine = types.CoroutineType
_Future = asyncio.Future
_TimerHandle = asyncio.TimerHandle
_MIN_SCHEDULED_TIMER_HANDLES = asyncio.base_events._MIN_SCHEDULED_TIMER_HANDLES  # type: ignore[attr-defined]
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = (
    asyncio.base_events._MIN_CANCELLED_TIMER_HANDLES_FRACTION  # type: ignore[attr-defined]
)
_MAXIMUM_SELECT_TIMEOUT = asyncio.base_events.MAXIMUM_SELECT_TIMEOUT  # type: ignore[attr-defined]


def _report_callback_error(handle: Any, exc: BaseException) -> None:
    """What ``Handle._run`` does when its callback raises: the loop's exception handler."""
    context = {
        "message": "Exception in callback "
        + _format_callback_source(handle._callback, handle._args),
        "exception": exc,
        "handle": handle,
    }
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)


_filterfalse = itertools.filterfalse
_done = operator.methodcaller("done")
_Task = asyncio.Task
_Handle = asyncio.Handle
_new_handle = object.__new__
#: The handles' fields ``call_soon`` and ``call_at`` fill, as asyncio 3.11 to 3.13 have them:
#: with others, asyncio's own.
_LEAN_HANDLES = set(_Handle.__slots__) == {
    "_callback",
    "_args",
    "_cancelled",
    "_loop",
    "_source_traceback",
    "_repr",
    "__weakref__",
    "_context",
} and set(_TimerHandle.__slots__) == {"_scheduled", "_when"}


def adopting(factory: Callable[..., Any]) -> Callable[..., Any]:
    """asyncio's ``eager_task_factory`` (Python 3.12 on), whose tasks a virtual loop adopts.

    The factory builds its task with ``asyncio.Task(..., eager_start=True)``, not through
    the loop's ``create_task``, and the SDK calls it directly for every operation's task
    (``asyncio.eager_task_factory(loop, coro)``): without this a virtual loop never saw
    them, so an invocation that suspended left its operations' tasks pending on the loop,
    uncancelled, and the next invocation's run woke them (or the collector destroyed them
    pending, their clean-up running with no loop)."""

    @functools.wraps(factory)
    def eager_task_factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
        creators = _eager_creators()
        creators.append(asyncio.current_task(loop))
        try:
            task = factory(loop, coro, **kwargs)
        finally:
            creators.pop()
        if isinstance(loop, VirtualTimeEventLoop):
            loop.adopt_task(task)
        return task

    return eager_task_factory


_eager_starts = threading.local()


def _eager_creators() -> list[asyncio.Task[Any] | None]:
    creators: list[asyncio.Task[Any] | None] | None = getattr(_eager_starts, "creators", None)
    if creators is None:
        creators = _eager_starts.creators = []
    return creators


def eager_creator() -> asyncio.Task[Any] | None:
    """While a task that asyncio's eager factory made runs its first step (inside the call
    that made it, on the same stack), the task that made it; else ``None``.

    Nothing awaits such a task yet: its maker awaits it only once that call returns. So what
    looks for the code that awaits the running task (the replay gate's ``handler_line``)
    finds none in the task's done callbacks, where it finds it on Python 3.11; the maker,
    whose frames are below on this stack, is the task to go on from."""
    creators = getattr(_eager_starts, "creators", None)
    return creators[-1] if creators else None


_eager = getattr(asyncio, "eager_task_factory", None)
if _eager is not None:
    asyncio.eager_task_factory = asyncio.tasks.eager_task_factory = adopting(_eager)  # type: ignore[attr-defined]


_copy_future_state = asyncio.futures._copy_future_state  # type: ignore[attr-defined]
_real_time = handler_clock.real_monotonic


def is_pool_worker(thread: threading.Thread) -> bool:
    # (``Thread._target``: the pool adds its worker to its registries only after starting it.)
    return getattr(thread, "_target", None) is concurrent.futures.thread._worker


def as_reports(
    reports: ThreadReports, func: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    """``func(*args, **kwargs)``, with what it hands the loop taken as ``reports``'s."""
    local = _reporting
    outer = getattr(local, "reports", None)
    local.reports = reports
    try:
        return func(*args, **kwargs)
    finally:
        local.reports = outer
