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
"""

from __future__ import annotations

import math
import threading

from async_durable_execution_runner._service.handler_clock import real_monotonic

#: Thread id -> the real ``monotonic()`` instant until which the thread is parked at the
#: least (``math.inf``: until something wakes it), while it is.
_parked: dict[int, float] = {}
_get_ident = threading.get_ident


def parked_until(ident: int | None) -> float | None:
    """Until when thread ``ident`` stays parked at the least (``None``: it is not parked)."""
    return None if ident is None else _parked.get(ident)


def mark(seconds: float | None) -> int:
    """The calling thread parks for ``seconds`` (``None``: until woken); returns its id, to
    ``unmark`` with."""
    ident = _get_ident()
    _parked[ident] = math.inf if seconds is None else real_monotonic() + seconds
    return ident


def unmark(ident: int) -> None:
    _parked.pop(ident, None)


_condition_wait = threading.Condition.wait


def _parked_wait(self: threading.Condition, timeout: float | None = None) -> bool:
    """``Condition.wait``, with the thread marked parked meanwhile."""
    if timeout is not None and timeout <= 0:
        return _condition_wait(self, timeout)
    ident = mark(timeout)
    try:
        return _condition_wait(self, timeout)
    finally:
        _parked.pop(ident, None)


#: The code of the wrapper: a frame of it is the standard library's ``Condition.wait`` for
#: whoever asks whose code a thread is in (``safe_points``).
wrapper_codes = frozenset({_parked_wait.__code__})

# Once, process-wide, as ``time.sleep`` is replaced (``blocking_sleep``).
threading.Condition.wait = _parked_wait  # type: ignore[method-assign]
