"""A duplicate delivery, run beside the delivery it duplicates.

Lambda delivers a duplicate to a sandbox of its own while the first delivery's sandbox is
still busy: both run at once. Here the duplicate starts inside one of the first delivery's
service calls (``DeliverDuplicate``), on a thread of its own, and the first delivery waits in
that call for as long as the duplicate keeps working: the usual case (a duplicate that
replays, runs a step and bounces off the stale token) then runs start to end before the
first delivery moves on, the same way on every run, which Hypothesis needs to replay and
shrink a failing example. A duplicate can also wait for the first delivery: a lock the
first holds across an ``await`` (an ``fcntl.flock``, a database write lock), which the
duplicate's step then asks for. Waiting for it there would never end. So when the duplicate
stops working (no thread of this process, or of its worker processes, is running or
waiting for a core for a while), the first delivery goes on, and the two run at once, as on
Lambda; the service takes the duplicate's outcome when the first delivery ends.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from async_durable_execution_runner._service.clock import real_monotonic

_T = TypeVar("_T")

#: How long every other thread must have been idle before the duplicate counts as waiting
#: (seconds), and how often to look. Blocking I/O a working duplicate does (a file read, a
#: socket to a peer that answers) is far shorter than this; a test's fake partner that
#: sleeps to play a slow one may not be, and then the two deliveries' order can differ
#: from run to run (as on Lambda): long enough for the usual fakes, short enough that a
#: duplicate that does wait for the first delivery costs a run little.
QUIET_SECONDS = 0.1
_POLL_SECONDS = 0.005

_PROC_TASKS = Path("/proc/self/task")


class Delivery(Generic[_T]):
    """``call`` run on a daemon thread of its own; its value (or exception) once it returns."""

    def __init__(self, call: Callable[[], _T], name: str) -> None:
        self._call: Callable[[], _T] | None = call
        self._done = threading.Event()
        self._value: _T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        # Not a thread of the handler's: an invocation's loop does not wait for it.
        self._thread.runner_internal = True  # type: ignore[attr-defined]
        self._thread.start()

    def _run(self) -> None:
        try:
            call, self._call = self._call, None
            assert call is not None
            self._value = call()
        except BaseException as exc:  # handed to whoever takes the outcome
            self._error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def join(self, deadline: float | None) -> bool:
        """Wait until it returns or ``deadline`` (``real_monotonic()``) passes: whether it
        returned."""
        timeout = None if deadline is None else max(0.0, deadline - real_monotonic())
        return self._done.wait(timeout)

    def wait_while_busy(self, deadline: float | None) -> bool:
        """Wait until it returns, ``deadline`` passes, or the process has nothing running
        but this thread for ``QUIET_SECONDS`` (the duplicate waits for something, maybe for
        the caller): whether it returned."""
        quiet_since: float | None = None
        activity = Activity()
        while not self._done.wait(_POLL_SECONDS):
            now = real_monotonic()
            if deadline is not None and now >= deadline:
                return False
            if activity.since_last_look():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= QUIET_SECONDS:
                return self._done.is_set()
        return True

    def outcome(self) -> _T:
        """What the call returned (it has), or the exception it raised."""
        if self._error is not None:
            raise self._error
        assert self._done.is_set()
        return self._value  # type: ignore[return-value]


class Activity:
    """Whether anything but the thread that made it has worked since its last look.

    Two signs, either enough. Another thread of this process spent CPU time between the
    looks: a Python thread that spins holds the interpreter lock whenever the looking thread
    waits, and waits for it (and shows as sleeping in ``/proc``) whenever the looking thread
    looks, so its state alone can miss it for a second and more on a loaded machine. Or a
    thread is running or ready to run at the look (``R``, or ``D`` in I/O, in ``/proc``):
    one blocked in I/O spends no CPU time, and a worker process (``isolation="process"``)
    spends its CPU time outside this process's count. Make and use it on one thread."""

    __slots__ = ("_me", "_others_cpu")

    def __init__(self) -> None:
        self._me = threading.get_native_id()
        self._others_cpu = _others_cpu_seconds()

    def since_last_look(self) -> bool:
        others_cpu = _others_cpu_seconds()
        spent = others_cpu - self._others_cpu
        self._others_cpu = others_cpu
        return spent > _CPU_SPENT_SECONDS or others_running(self._me)


#: Other threads' CPU time between two looks that counts as work: a spinning thread takes
#: all of a 5 ms wait; idle ones (a pool's thread that wakes to check a queue) take
#: microseconds.
_CPU_SPENT_SECONDS = _POLL_SECONDS / 5


def _others_cpu_seconds() -> float:
    return time.process_time() - time.thread_time()


def others_running(me: int) -> bool:
    """Whether a thread of this process other than ``me`` (a native thread id), or of one of
    its descendant processes (a worker process, forked by the forkserver, is a grandchild),
    is running or ready to run (``R``, or ``D`` in I/O, in ``/proc``) right now. A thread
    starved of a core by other processes is ready to run, so a loaded machine does not make
    a working duplicate look idle. Without ``/proc``, nothing is seen: ``Activity`` counts
    CPU time as well."""
    try:
        tasks = os.listdir(_PROC_TASKS)
    except OSError:
        return False
    mine = str(me)
    return any(task != mine and _runnable(f"/proc/self/task/{task}/stat") for task in tasks) or any(
        _descendant_running(child, _MAX_DEPTH)
        for task in tasks
        for child in _children("self", task)
    )


#: How far down the process tree to look (this process, the forkserver, its workers).
_MAX_DEPTH = 3


def _descendant_running(pid: str, depth: int) -> bool:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False  # ended meanwhile
    if any(_runnable(f"/proc/{pid}/task/{task}/stat") for task in tasks):
        return True
    return depth > 1 and any(
        _descendant_running(child, depth - 1) for task in tasks for child in _children(pid, task)
    )


def _runnable(stat_path: str) -> bool:
    try:
        with open(stat_path, "rb") as stat:
            text = stat.read()
    except OSError:
        return False  # ended meanwhile
    # "pid (comm) S ...": the name may hold spaces and parentheses; the state follows the last.
    state = text.rfind(b")") + 2
    return text[state : state + 1] in (b"R", b"D")


def _children(pid: str, task: str) -> list[str]:
    try:
        with open(f"/proc/{pid}/task/{task}/children", "rb") as children:
            return children.read().decode().split()
    except OSError:
        return []
