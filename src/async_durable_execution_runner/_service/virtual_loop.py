"""An event loop whose time is virtual: when nothing is ready to run, it jumps to its next timer.

The SDK sometimes waits for time inside an invocation: a ``parallel``/``map`` branch whose
retry is due in five seconds is resumed in-process after ``asyncio.sleep(5)`` while other
branches still run. With the runner's virtual clock that wait must cost no real time, and
the service must see the same five seconds pass (so the retry timer fires). This loop makes
``asyncio`` sleeps virtual and reports every jump, so the invoker can move the runner's clock
and the handler's ``time.time()`` with it.

Real waits are kept where the loop waits for something outside it: while a future that a
thread settles is pending (``run_in_executor``, ``asyncio.to_thread``, ``asyncio.wrap_future``
of a pool's future), while the handler's own descriptors are registered (a socket, a child
process's pipes) or a child process it started runs, and when no timer is scheduled at all.
While it waits for a thread, that thread's sleeps pass virtual time (``ThreadTime``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import selectors
import sys
import threading
import weakref
from asyncio import events
from collections.abc import Callable
from typing import Any, Protocol

from async_durable_execution_runner._service import blocking_sleep


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
        if loop._in_flight and timeout != 0 and loop.thread_time is not None:
            # Waiting for work in other threads: their sleeps pass time on the handler's
            # clock meanwhile, and on the loop's and the runner's when the wait ends (see
            # ``ThreadTime``). (Inline, not a helper: the hang alarm knows this frame as the
            # loop's idle wait between turns.)
            clock = loop.thread_time
            wait = _ThreadWait(loop, clock, clock.started())
            waits = blocking_sleep.thread_waits
            waits[id(wait)] = wait.slept
            try:
                ready = _select(self, timeout)
            finally:
                del waits[id(wait)]
            if wait.passed > 0:
                loop._virtual += wait.passed
                clock.ended(wait.passed)  # may raise the function's timeout, as a jump's does
            return ready
        if timeout is None or loop._in_flight:
            # A real wait: for the work in flight in other threads, or with no timer at all.
            return _select(self, timeout)
        ready = _select(self, 0)
        if ready or timeout <= 0:
            return ready
        if len(self._fd_to_key) > 1 or loop.children_running():  # type: ignore[attr-defined]
            # The handler's own I/O is pending (a socket, a child process's pipes, the child
            # itself): it answers in real time, under a timer such as ``asyncio.wait_for``'s.
            return _select(self, timeout)
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


class ThreadTime(Protocol):
    """The clocks' side of a wait of the loop for work in other threads (``asyncio.to_thread``,
    ``run_in_executor``), which takes real time the loop cannot measure as its own.

    The time counted is what those threads sleep (``time.sleep``, which ``blocking_sleep``
    reports), as runner bug 28 counts a sleep on the loop's own thread: the amount is the
    handler's to decide, so the same scenario makes the same history and the same checkpoint
    calls on a fast machine and a slow one, and a poll bounded by ``time.time()`` in a thread
    ends as on Lambda. Threads sleep side by side: the time passed is the longest any one of
    them slept during the wait."""

    def started(self) -> float | None:
        """A wait starts: the seconds before the function's timeout (``None``: no limit)."""

    def slept(self, seconds: float) -> None:
        """(On the sleeping thread.) The handler's clock moves ``seconds`` further."""

    def ended(self, seconds: float) -> None:
        """(On the loop's thread.) The wait passed ``seconds`` on the handler's clock: move
        the runner's; past the function's timeout, raise its error."""


class _ThreadWait:
    """One wait of the loop for other threads: how long each of them slept meanwhile."""

    __slots__ = ("_by_thread", "_clock", "_left", "_lock", "_loop", "passed")

    def __init__(self, loop: VirtualTimeEventLoop, clock: ThreadTime, left: float | None) -> None:
        self._loop = loop
        self._clock = clock
        self._left = left
        self._by_thread: dict[int, float] = {}
        self._lock = threading.Lock()
        self.passed = 0.0

    def slept(self, seconds: float) -> None:
        ident = threading.get_ident()
        if ident not in self._loop.executor_threads:
            return  # a thread not working for this invocation (one an earlier one left)
        with self._lock:
            total = self._by_thread.get(ident, 0.0) + seconds
            self._by_thread[ident] = total
            if total <= self.passed:
                return
            self._clock.slept(total - self.passed)
            self.passed = total
            if self._left is not None and total >= self._left:
                # Past the function's timeout: the loop ends its wait to say so, whether or
                # not the thread ever finishes.
                self._left = None
                self._loop.call_soon_threadsafe(_nothing)


def _nothing() -> None:
    pass


def _tracked(working: set[int], func: Callable[..., Any], *args: Any) -> Any:
    """Run an executor's job, known meanwhile as working for the loop (``executor_threads``)."""
    ident = threading.get_ident()
    working.add(ident)
    try:
        return func(*args)
    finally:
        working.discard(ident)


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
        #: Child processes started on this loop (``asyncio.create_subprocess_exec``): their
        #: exit is reported by another thread, which the loop cannot count as in flight.
        self._children: weakref.WeakSet[asyncio.SubprocessTransport] = weakref.WeakSet()
        #: Tasks created on this loop that may not be done yet (see ``pending_tasks``).
        self.created_tasks: list[asyncio.Task[Any]] = []
        #: Consecutive turns with work ready (see ``BUSY_TURNS``); the invoker resets it.
        self.busy_turns = 0
        self.on_jump: Callable[[float], None] | None = None
        #: What sleeps in other threads do to the clocks while the loop waits for work in
        #: them (``None``: nothing, their time is not counted).
        self.thread_time: ThreadTime | None = None
        #: The threads running a job ``run_in_executor`` (``asyncio.to_thread``) gave them
        #: for the current invocation: the threads whose sleeps a wait counts. Emptied at
        #: each invocation's start (``forget_executor_threads``), so that a job an earlier
        #: invocation left running does not count.
        self.executor_threads: set[int] = set()
        # ``time()`` is read on every turn of the loop: a C callable, not a Python method.
        self.time = functools.partial(getattr, self, "_virtual")  # type: ignore[method-assign]
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual

    @property
    def waiting_on_threads(self) -> bool:
        return self._in_flight > 0

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

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        if executor is not None and not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            return super().run_in_executor(executor, func, *args)  # a process pool's job
        return super().run_in_executor(
            executor, functools.partial(_tracked, self.executor_threads, func), *args
        )

    def forget_executor_threads(self) -> None:
        self.executor_threads = set()

    def create_task(  # type: ignore[override]
        self, coro: Any, *, name: str | None = None, context: Any = None
    ) -> asyncio.Task[Any]:
        task = super().create_task(coro, name=name, context=context)
        self.created_tasks.append(task)
        return task

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
        run_once = loop._run_once
        try:
            while not future.done():
                run_once()
                if loop._stopping:
                    break
            else:
                if loop._ready:
                    run_once()
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

    def pending_tasks(self) -> list[asyncio.Task[Any]]:
        """The tasks created on this loop that are not done; the done ones are let go.

        ``asyncio.all_tasks(loop)`` says the same, but it goes through every task of the
        process still in memory: the SDK's ``parallel`` and ``map`` keep their tasks in
        reference cycles, and hundreds of finished tasks wait for the garbage collector
        (150 of them make it cost 27 us instead of 3, at the end of every invocation).
        (A task built as ``asyncio.Task(coro)``, not through the loop, is not seen.)"""
        pending = [task for task in self.created_tasks if not task.done()]
        self.created_tasks = pending[:]
        return pending

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

    def _await_thread(self, future: asyncio.Future[Any]) -> None:
        """``future`` is settled by another thread (``wrap_future``): it takes real time."""
        self._in_flight += 1
        future.add_done_callback(self._thread_done)

    def _thread_done(self, _: asyncio.Future[Any]) -> None:
        self._in_flight -= 1


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


_wrap_future = asyncio.futures.wrap_future


def _wrap_future_in_real_time(
    future: concurrent.futures.Future[Any] | asyncio.Future[Any],
    *,
    loop: asyncio.AbstractEventLoop | None = None,
) -> asyncio.Future[Any]:
    """``asyncio.wrap_future``, telling a virtual loop that a thread will settle the future.

    Every road from a thread's work to a loop goes through it: ``run_in_executor`` (which calls
    it), ``asyncio.to_thread``, and a handler's own ``asyncio.wrap_future(pool.submit(...))``.
    Counted in ``run_in_executor`` alone, the last was not: a loop with a timer pending (an
    ``asyncio.wait_for`` around the pool's 5 ms of work) jumped to it, and the handler timed
    out where it never would.
    """
    wrapped = _wrap_future(future, loop=loop)
    if wrapped is not future and not wrapped.done():
        owner = wrapped.get_loop()
        if isinstance(owner, VirtualTimeEventLoop):
            owner._await_thread(wrapped)
    return wrapped


# Process-wide, once (both names: ``run_in_executor`` looks it up in ``asyncio.futures``,
# handlers call ``asyncio.wrap_future``); outside a virtual loop it is ``wrap_future``.
asyncio.futures.wrap_future = asyncio.wrap_future = _wrap_future_in_real_time
