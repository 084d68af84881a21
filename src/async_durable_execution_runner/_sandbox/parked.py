"""Which threads are parked, and until when: asleep in ``time.sleep``, or waiting in a
``threading.Condition`` (so in ``Event.wait``, ``queue.Queue.get``, ``Semaphore.acquire``
with a time-out, a pool future's ``result()``).

The virtual loop waits in real time for a thread the invocation started, since the thread
may report through ``call_soon_threadsafe`` (runner bug 30). A thread that lives on (a
metrics flusher, an exporter's batcher, a heartbeat, made lazily by the first invocation)
then made every timer of that invocation come due in real time: an ``asyncio.sleep(60)`` in
a step took its real minute. A thread parked until after the loop's next timer cannot
report before it, unless something wakes it; what could (the loop's own thread, a job it
gave a thread, another thread the invocation started) is idle, waited for, or itself
parked when the loop asks (``VirtualTimeEventLoop.threads_working``). So the loop asks here
how long each of its threads will stay parked at the least.

``Condition.wait`` is wrapped once, process-wide, as ``time.sleep`` is (``blocking_sleep``,
which marks its sleeps here); outside an invocation's threads the marks are read by no one.

``Condition.notify`` (and so ``notify_all``, ``Event.set``, ``queue.Queue.put``, a
``Semaphore``'s release) is wrapped too: it tells ``on_wake`` which waiting threads it woke,
and where it was called from, so that a thread the handler wakes can be counted as working
for its invocation (``woken``). ``queue.SimpleQueue``, whose wait and wake are in C, is
replaced by a subclass that does the same (``ParkedSimpleQueue``).
"""

from __future__ import annotations

import collections
import contextlib
import math
import queue
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from async_durable_execution_runner._service.clock import real_monotonic

#: Thread id -> the real ``monotonic()`` instant until which the thread is parked at the
#: least (``math.inf``: until something wakes it), while it is.
_parked: dict[int, float] = {}
_get_ident = threading.get_ident


def parked_until(ident: int | None) -> float | None:
    """Until when thread ``ident`` stays parked at the least (``None``: it is not parked)."""
    return None if ident is None else _parked.get(ident)


#: A park no longer than this (real seconds) is a pause in work under way: a thread asleep
#: for a partner's latency or a retry's back-off before it reports, which on Lambda reports
#: before a longer timer of the handler's. Parked longer, or until woken, a thread is idle
#: as far as the loop's timers go (a flusher between rounds): the loop cannot tell the two
#: apart, and would otherwise either jump over the report (its timers run ahead of real
#: time by every jump) or wait out the flusher's rounds in real time.
SHORT_PARK = 2.0


#: The real seconds a thread the invocation started may spend parked, in all, with the loop
#: waiting its parks out in real time whatever its timers (``within_park_budget``).
PARK_BUDGET = 10.0

#: Thread id -> when (real ``monotonic()``) its current park began, while it is parked.
_park_began: dict[int, float] = {}
#: Thread id -> the real seconds it spent in parks it has ended since it began (``unmark``);
#: a thread's own ``run`` forgets it as it begins (``began``), since thread ids are reused.
_parked_for: dict[int, float] = {}


def began() -> None:
    """The calling thread begins its ``run``: it has spent no time parked yet."""
    _parked_for.pop(_get_ident(), None)


def within_park_budget(ident: int | None) -> bool:
    """Whether thread ``ident``, one the invocation started, is in a finite park that, with
    the parks it ended before, keeps it parked for at most ``PARK_BUDGET`` seconds in all:
    a thread asleep for a partner's latency, or backing off between attempts (1 s, 2 s,
    4 s), before it reports, which on Lambda reports before a longer timer of the
    handler's, however long each pause. Once past the budget its parks are idle as
    ``idle_for`` says (a flusher started on first use pays its first rounds, up to the
    budget, in the invocation that started it). Only the first park was waited out before
    (runner bug 54), and a back-off's second pause was jumped over (runner bug 57)."""
    if ident is None:
        return False
    until = _parked.get(ident)
    if until is None or until == math.inf:
        return False
    began_at = _park_began.get(ident, until)
    return _parked_for.get(ident, 0.0) + (until - began_at) <= PARK_BUDGET


def idle_for(ident: int | None, seconds: float) -> bool:
    """Whether thread ``ident`` stays parked more than ``seconds`` longer, and longer than a
    short pause (``SHORT_PARK``): it does nothing before then unless something wakes it."""
    until = parked_until(ident)
    if until is None:
        return False
    left = until - real_monotonic()
    return left > seconds and left > SHORT_PARK


def mark(seconds: float | None) -> int:
    """The calling thread parks for ``seconds`` (``None``: until woken); returns its id, to
    ``unmark`` with."""
    ident = _get_ident()
    now = real_monotonic()
    _park_began[ident] = now
    _parked[ident] = math.inf if seconds is None else now + seconds
    return ident


def unmark(ident: int) -> None:
    _parked.pop(ident, None)
    began_at = _park_began.pop(ident, None)
    if began_at is not None:
        _parked_for[ident] = _parked_for.get(ident, 0.0) + (real_monotonic() - began_at)


#: Called with the ids of the threads a ``Condition.notify`` woke (or, when it woke none,
#: of the threads that waited on the condition lately and are busy now: one of them will
#: take what the notify announced, a queue's item, once it is done) and the frame that
#: called it (set by ``woken``; ``None``: nobody asks).
on_wake: Callable[[list[int], FrameType], object] | None = None

#: How many of the threads that waited on a condition it remembers (its consumers).
RECENT_WAITERS = 8
_current_thread = threading.current_thread

_condition_wait = threading.Condition.wait
_condition_notify = threading.Condition.notify


def _parked_wait(self: threading.Condition, timeout: float | None = None) -> bool:
    """``Condition.wait``, with the thread marked parked meanwhile, and its id queued on
    the condition in the order of the condition's own waiters (under the condition's lock,
    which the caller holds before and after the wait, as ``notify``'s caller does)."""
    if timeout is not None and timeout <= 0:
        return _condition_wait(self, timeout)
    ident = mark(timeout)
    waiting: collections.deque[int] | None = self.__dict__.get("_parked_idents")
    if waiting is None:
        waiting = self._parked_idents = collections.deque()  # type: ignore[attr-defined]
    waiting.append(ident)
    _remember_waiter(self.__dict__, ident)
    try:
        return _condition_wait(self, timeout)
    finally:
        _parked.pop(ident, None)
        if ident in waiting:  # timed out (``notify`` takes those it wakes)
            waiting.remove(ident)


def _noting_notify(self: threading.Condition, n: int = 1) -> None:
    """``Condition.notify``; the threads it woke, the first of its waiters, are no longer
    parked, and their ids go to ``on_wake``; if it woke none, the ids of the condition's
    recent waiters that are busy now do."""
    recent: dict[int, threading.Thread] | None = self.__dict__.get("_parked_recent")
    if not recent:  # no one ever waited here through ``_parked_wait``
        _condition_notify(self, n)
        return
    waiting: collections.deque[int] = self._parked_idents  # type: ignore[attr-defined]
    waiters = self._waiters  # type: ignore[attr-defined]
    before = len(waiters)
    _condition_notify(self, n)  # (raises before waking anyone if the lock is not held)
    woken = min(before - len(waiters), len(waiting))
    _woken([waiting.popleft() for _ in range(woken)], recent, waiting, sys._getframe(1))


_SimpleQueue = queue.SimpleQueue
_T = TypeVar("_T")


class ParkedSimpleQueue(_SimpleQueue[_T]):
    """``queue.SimpleQueue`` (in C, which no wrapper of ``Condition`` sees), whose blocking
    ``get`` marks its thread parked, queued on the queue in the order it began to wait, and
    whose ``put`` names to ``on_wake`` the waiter it takes to be woken (the first; the C
    queue's lock picks the one that really takes the item, so another may; that one is then
    taken for busy until it next waits) or, with no waiter, the queue's busy consumers: what
    ``_parked_wait`` and ``_noting_notify`` do for a ``Condition``. It replaces
    ``queue.SimpleQueue`` process-wide, for the queues made after this module's import: a
    client's sender thread fed through one (runner bug 52)."""

    _parked_idents: collections.deque[int]

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        if not block or (timeout is not None and timeout <= 0):
            return _SimpleQueue.get(self, block, timeout)
        ident = mark(timeout)
        waiting: collections.deque[int] | None = self.__dict__.get("_parked_idents")
        if waiting is None:
            waiting = self._parked_idents = collections.deque()
        waiting.append(ident)
        _remember_waiter(self.__dict__, ident)
        try:
            return _SimpleQueue.get(self, block, timeout)
        finally:
            _parked.pop(ident, None)
            # Timed out, or another was named in its place; no lock is held here (a
            # ``Condition``'s waiter holds its lock), so a ``put`` may take it meanwhile.
            with contextlib.suppress(ValueError):
                waiting.remove(ident)

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        self._put_noted(item, sys._getframe(1))

    def put_nowait(self, item: _T) -> None:
        # (The C queue's ``put_nowait`` does not go through an overridden ``put``.)
        self._put_noted(item, sys._getframe(1))

    def _put_noted(self, item: _T, caller: FrameType) -> None:
        # (A ``SimpleQueue`` is unbounded: its ``put`` never blocks, whatever it is asked.)
        _SimpleQueue.put(self, item)
        recent: dict[int, threading.Thread] | None = self.__dict__.get("_parked_recent")
        if not recent:  # no one ever waited here
            return
        waiting = self._parked_idents
        try:
            idents = [waiting.popleft()]
        except IndexError:
            idents = []
        _woken(idents, recent, waiting, caller)


def _remember_waiter(state: dict[str, object], ident: int) -> None:
    """Note the calling thread, ``ident``, among the last ``RECENT_WAITERS`` that waited on
    a condition or a queue (whose ``__dict__`` is ``state``): its consumers."""
    recent: dict[int, threading.Thread] | None = state.get("_parked_recent")  # type: ignore[assignment]
    if recent is None:
        recent = state["_parked_recent"] = {}
    if ident not in recent and len(recent) >= RECENT_WAITERS:
        del recent[next(iter(recent))]
    recent[ident] = _current_thread()


def _woken(
    idents: list[int],
    recent: dict[int, threading.Thread],
    waiting: collections.deque[int],
    frame: FrameType,
) -> None:
    """The threads ``idents`` were woken by the code at ``frame``: they are no longer
    parked, and ``on_wake`` hears of them (of the busy consumers, if none was waiting)."""
    for ident in idents:
        # Runnable from now on, though it may not run for a while: a loop that asked before
        # it did would take it for idle and jump over the timer its report is due under.
        _parked.pop(ident, None)
    hook = on_wake
    if hook is None:
        return
    if not idents:
        # A queue's consumer busy with an earlier item takes this one next.
        me = _get_ident()
        idents = [
            ident
            for ident, thread in recent.items()
            if ident != me and ident not in waiting and thread.is_alive()
        ]
        if not idents:
            return
    hook(idents, frame)


#: The code of the wrappers: a frame of one is the standard library's ``Condition.wait`` or
#: ``notify`` (or a ``SimpleQueue``'s ``get`` or ``put``) for whoever asks whose code a
#: thread is in (``safe_points``).
wrapper_codes = frozenset(
    {
        _parked_wait.__code__,
        _noting_notify.__code__,
        ParkedSimpleQueue.get.__code__,
        ParkedSimpleQueue.put.__code__,
        ParkedSimpleQueue.put_nowait.__code__,
        ParkedSimpleQueue._put_noted.__code__,
    }
)


def _adopt_waiting_threads() -> None:
    """Threads already inside the standard library's ``Condition.wait`` as this module is
    imported (a module-level client's worker, imported before the runner, idle on its
    queue) are queued on their conditions and marked parked as the wrapper would have: a
    notify that wakes one of them names it too. (Found in a campaign script that imports
    the corpus before the runner: the first job a handler gave such a worker was jumped
    over.) Each such thread is blocked in its ``waiter`` lock, so its frame holds still."""
    now = real_monotonic()
    waiting_on: dict[int, tuple[threading.Condition, dict[int, int]]] = {}
    for ident, innermost in sys._current_frames().items():
        frame: FrameType | None = innermost
        while frame is not None and frame.f_code is not _condition_wait.__code__:
            frame = frame.f_back
        if frame is None:
            continue
        local = frame.f_locals
        condition, waiter = local.get("self"), local.get("waiter")
        if not isinstance(condition, threading.Condition) or waiter is None:
            continue
        timeout = local.get("timeout")
        _parked[ident] = math.inf if timeout is None or timeout < 0 else now + timeout
        _, by_lock = waiting_on.setdefault(id(condition), (condition, {}))
        by_lock[id(waiter)] = ident
    for condition, by_lock in waiting_on.values():
        # In the order of the condition's own waiters, which ``notify`` wakes first to last.
        order = [by_lock[id(w)] for w in condition._waiters if id(w) in by_lock]  # type: ignore[attr-defined]
        condition._parked_idents = collections.deque(order)  # type: ignore[attr-defined]
        condition._parked_recent = {  # type: ignore[attr-defined]
            ident: thread
            for ident in order[-RECENT_WAITERS:]
            if (thread := _threads.get(ident)) is not None
        }


#: ``threading``'s registry of running threads by id.
_threads: dict[int, threading.Thread] = getattr(threading, "_active", {})


def thread_of(ident: int) -> threading.Thread | None:
    """The running thread ``ident`` (``threading.enumerate()`` would copy the registry)."""
    return _threads.get(ident)


# Once, process-wide, as ``time.sleep`` is replaced (``blocking_sleep``).
threading.Condition.wait = _parked_wait  # type: ignore[method-assign]
threading.Condition.notify = _noting_notify  # type: ignore[method-assign]
queue.SimpleQueue = ParkedSimpleQueue  # type: ignore[misc]
_adopt_waiting_threads()
