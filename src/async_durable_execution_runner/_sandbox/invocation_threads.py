"""The threads invocations run on: a worker thread that a drive or a duplicate delivery is
handed to, the event loop each thread keeps across invocations (as a warm Lambda runtime
keeps its process), and the sweep of the tasks an invocation leaves on it."""

from __future__ import annotations

import asyncio
import atexit
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from async_durable_execution_runner._sandbox.thread_end import SandboxEnded, raise_into
from async_durable_execution_runner._sandbox.virtual_loop import VirtualTimeEventLoop
from async_durable_execution_runner._service.clock import real_monotonic

_T = TypeVar("_T")


class HandlerInterrupted(BaseException):
    """Raised into a handler running on the calling thread when the runner's wall-clock
    deadline passes (``InProcessInvoker._drive_here``). A ``BaseException``, so that neither
    the SDK nor a handler's ``except Exception`` takes it for a failure to checkpoint."""


class Sweeping(Protocol):
    """What ``settle`` marks of the invocation whose leftovers it cancels: a hang while they
    are cancelled is the handler's (``in_handler``), on ``loop``."""

    in_handler: bool
    loop: asyncio.AbstractEventLoop | None


class Job(Generic[_T]):
    """A call handed to a worker thread: ``concurrent.futures.Future``'s ``result(timeout)``
    on one lock, which is all a worker needs (every ``run()`` hands one over; a ``Future``
    builds a condition and its own lock for it)."""

    __slots__ = ("_done", "_error", "_fn", "_value")

    def __init__(self, fn: Callable[[], _T]) -> None:
        self._fn = fn
        self._done = threading.Lock()
        self._done.acquire()  # released once the call has returned or raised
        self._value: _T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the waiting caller, as a pool would
            self._error = exc
        finally:
            self._fn = _done_job  # the call and what it holds are not kept alive by the job
            self._done.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the call has returned (or raised), waiting at most ``timeout`` seconds."""
        if not self._done.acquire(timeout=-1 if timeout is None else timeout):
            return False
        self._done.release()
        return True

    def result(self, timeout: float | None = None) -> _T:
        """The call's value (or its exception); ``TimeoutError`` if it is not done in time."""
        if not self._done.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError
        self._done.release()
        if self._error is not None:
            raise self._error
        return cast(_T, self._value)


#: How long a hung invocation's thread that is inside a service call is waited for to leave
#: it, so that it can be ended (``WorkerThread.end``), and how often it is looked at.
ENDING_SECONDS = 10.0
_ENDING_POLL = 0.01


def _done_job() -> Any:
    raise AssertionError


class WorkerThread:
    """One thread that runs invocations; replaced when an invocation hangs.

    A daemon thread, not a ``ThreadPoolExecutor``: the pool's threads are joined at
    interpreter exit, so an abandoned handler stuck in ``time.sleep(30)`` would keep the test
    process alive for the rest of its sleep.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Job[Any] | None] = queue.SimpleQueue()
        self._abandoned = False
        self.thread_ident: int | None = None
        self._thread = threading.Thread(target=self._loop, name="durable-invocation", daemon=True)
        self._thread.runner_internal = True  # type: ignore[attr-defined]  # not the handler's
        self._thread.start()
        self.thread_ident = self._thread.ident  # (set once it has started: known from here)

    def _loop(self) -> None:
        self.thread_ident = threading.get_ident()
        try:
            while (job := self._jobs.get()) is not None:
                job.run()
                del job  # nothing of the last call stays referenced while the thread waits
        except SandboxEnded:
            pass  # (``end`` raised it after the job it was meant for had returned)
        # The thread's event loops die with it (else their sockets warn when collected).
        for name in ("loop", "virtual"):
            loop: asyncio.AbstractEventLoop | None = getattr(_loops, name, None)
            if loop is not None and not loop.is_closed():
                settle(loop)
                loop.close()

    def submit(self, fn: Callable[[], _T]) -> Job[_T]:
        job = Job(fn)
        self._jobs.put(job)
        return job

    def stack(self) -> str:
        frame = sys._current_frames().get(self.thread_ident or -1)
        if frame is None:
            return "(stack unavailable)"
        return "".join(traceback.format_stack(frame)[-6:])

    def abandon(self) -> None:
        self._abandoned = True
        self._jobs.put(None)  # the thread ends after its current job, if it ever returns

    def end(self, safe: Callable[[FrameType | None], bool]) -> None:
        """Abandon this worker and end the call it loops in (an invocation stuck inside one
        turn of its loop, whose sandbox Lambda would stop): ``SandboxEnded`` is raised in it
        once ``safe`` says of its innermost frame that it may be (not in a service call).
        Left running, an endless loop (SDK finding 19) keeps a core busy for the rest of the
        test process and makes every later duplicate delivery look busy. A thread that is not
        safe to end is looked at again, from a thread of its own, for ``ENDING_SECONDS``."""
        self.abandon()
        if self._end_if(safe):
            return
        threading.Thread(
            target=self._ending, args=(safe,), name="durable-ending", daemon=True
        ).start()

    def _end_if(self, safe: Callable[[FrameType | None], bool]) -> bool:
        """End the thread if it is safe now; whether there is nothing more to do."""
        thread = self._thread
        if not thread.is_alive():
            return True
        if not safe(sys._current_frames().get(thread.ident or -1)):
            return False
        raise_into(thread)
        return True

    def _ending(self, safe: Callable[[FrameType | None], bool]) -> None:
        stop = real_monotonic() + ENDING_SECONDS
        while not self._end_if(safe) and real_monotonic() < stop:
            time.sleep(_ENDING_POLL)

    # Starting a thread costs more than a short execution; idle workers are kept for the
    # next runner (a test suite makes thousands of runners).
    _idle: ClassVar[list[WorkerThread]] = []
    _idle_lock: ClassVar[threading.Lock] = threading.Lock()
    _MAX_IDLE: ClassVar[int] = 4

    @classmethod
    def acquire(cls) -> WorkerThread:
        with cls._idle_lock:
            if cls._idle:
                return cls._idle.pop()
        return cls()

    def release(self) -> None:
        if self._abandoned:
            return  # its thread ends once the call it is stuck in returns
        with self._idle_lock:
            if len(self._idle) < self._MAX_IDLE:
                self._idle.append(self)
                return
        self.abandon()

    @classmethod
    def end_idle(cls) -> None:
        """End the idle workers, at exit: a daemon thread is stopped dead at shutdown, before
        it can close its event loops, which then warn ``unclosed event loop`` when collected
        (every process that ran a duplicate delivery, which runs on a pooled worker)."""
        with cls._idle_lock:
            idle, cls._idle[:] = list(cls._idle), []
        for worker in idle:
            worker.abandon()
        for worker in idle:
            worker._thread.join(timeout=1.0)


atexit.register(WorkerThread.end_idle)


_loops = threading.local()


def thread_loop(*, virtual: bool = False) -> asyncio.AbstractEventLoop:
    """The worker thread's event loop, kept across invocations (as a warm Lambda runtime
    keeps its process); every invocation leaves it with no task running. With ``virtual``,
    a loop whose sleeps take virtual time (see ``virtual_loop``)."""
    name = "virtual" if virtual else "loop"
    loop: asyncio.AbstractEventLoop | None = getattr(_loops, name, None)
    if loop is None or loop.is_closed():
        loop = VirtualTimeEventLoop() if virtual else asyncio.new_event_loop()
        setattr(_loops, name, loop)
        if threading.current_thread() is threading.main_thread():
            # A worker's loops are closed when its thread ends; the main thread's at exit
            # (an unclosed loop warns when it is collected).
            atexit.register(loop.close)
    return loop


def is_invocation_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` is one this thread runs invocations on (``thread_loop``)."""
    return loop is getattr(_loops, "virtual", None) or loop is getattr(_loops, "loop", None)


def settle(loop: asyncio.AbstractEventLoop, running: Sweeping | None = None) -> None:
    """Cancel whatever the invocation left running, until nothing remains."""
    for _ in range(100):
        pending = (
            loop.pending_tasks()
            if isinstance(loop, VirtualTimeEventLoop)
            else [t for t in asyncio.all_tasks(loop) if not t.done()]
        )
        if not pending:
            return
        for task in pending:
            task.cancel()
        if running is not None:
            running.in_handler = True  # the handler's own code: a hang here is its hang
            running.loop = loop
        try:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        except HandlerInterrupted:
            break  # it hung while being cancelled, and was given up on
        finally:
            if running is not None:
                running.in_handler = False
                running.loop = None
            if isinstance(loop, VirtualTimeEventLoop):
                loop.clear_interrupt()
    # Tasks that refuse to die would haunt the next invocation: start it on a fresh loop.
    if isinstance(loop, VirtualTimeEventLoop):
        loop.discarded = True
    loop.close()
