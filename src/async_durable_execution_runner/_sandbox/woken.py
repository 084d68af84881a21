"""A thread the handler's code wakes from a ``threading`` wait works for its invocation.

The virtual loop waits in real time for the threads an invocation starts, since one may
report through ``call_soon_threadsafe``, which the loop cannot see coming (runner bug 30).
A thread that was running before the invocation began is not one of them, yet the handler
may set it working: a module-level uploader whose worker thread is fed through a
``queue.Queue``, a worker waiting on an ``Event``. When that thread reported back through
the loop under an ``asyncio.wait_for``, the loop, knowing of no work under way, jumped over
the bound at once, and a correct step timed out on every attempt (runner bug 48).

``parked`` says which threads a ``Condition.notify`` woke (so a ``queue.Queue.put``, an
``Event.set``, a ``Semaphore.release``), or a ``queue.SimpleQueue``'s ``put`` (runner bug
52). When the notify comes from the handler's own code
(the first frame out of the standard library and installed libraries is neither the
runner's, the SDK's nor asyncio's) on a thread that works for an invocation, the threads it
woke count as started by that invocation until it ends: the loop waits for them while they
work, and not once they are parked past its next timer. A socket, and a
``queue.SimpleQueue`` made before the runner was imported, wake a thread in C, where
nothing can see it: such a thread stays unseen (see ``docs/explanation/virtual-time.md``).
"""

from __future__ import annotations

from asyncio import events
from types import FrameType

from async_durable_execution_runner._sandbox import parked, safe_points
from async_durable_execution_runner._sandbox.outside_work import loop_worked_for


def _by_handler(frame: FrameType | None) -> bool:
    """Whether the code that called ``notify`` (``frame`` and out) is the handler's."""
    while frame is not None:
        code = frame.f_code
        if code not in parked.wrapper_codes:
            kind = safe_points.kind_of(code.co_filename)
            if kind != "through":
                return kind == "user"
        frame = frame.f_back
    return False


def note_woken(idents: list[int], frame: FrameType) -> None:
    """``parked.on_wake``: the threads ``idents`` were woken by the code at ``frame``.

    On the loop's own thread only the handler's code sets a thread working (what the SDK,
    asyncio and the runner wake there is their business). A thread that works for the
    invocation (one it started or woke, a job it gave a pool) passes the work on whatever
    code it is in: a ``multiprocessing.pool.ThreadPool``'s task handler, woken by the
    handler's ``apply_async``, hands the task to a worker in the pool's own code, and that
    worker's result reaches the handler's callback (runner bug 53)."""
    loop = loop_worked_for()
    if loop is None or (events._get_running_loop() is loop and not _by_handler(frame)):
        return
    for ident in idents:
        thread = parked.thread_of(ident)
        if thread is not None:
            loop.note_working(thread)


parked.on_wake = note_woken
