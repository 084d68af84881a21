"""How a virtual-time loop hears of the work threads do for its invocation: ``asyncio``'s
``wrap_future``, ``threading.Thread.start`` and ``ThreadPoolExecutor.submit``, wrapped once,
process-wide, as ``blocking_sleep`` wraps ``time.sleep`` and ``parked`` a ``Condition``'s
waits. Outside an invocation on a virtual loop each wrapper is the call it wraps.

A future a thread settles, a thread the handler starts and a job it gives a pool of its own
may each report to the loop (``call_soon_threadsafe``) under a timer the loop would otherwise
jump over; each takes a place in the order of thread results the loop keeps
(``VirtualTimeEventLoop.ask_reports``), so that threads racing to report reach the loop in
the same order on every run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from asyncio import events
from collections.abc import Callable
from typing import Any

from async_durable_execution_runner._sandbox import blocking_sleep, handler_clock, parked
from async_durable_execution_runner._sandbox.virtual_loop import (
    ThreadReports,
    VirtualTimeEventLoop,
    as_reports,
    in_run_in_executor,
    is_pool_worker,
    tracked,
)

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
    if isinstance(future, concurrent.futures.Future):
        owner = events.get_event_loop() if loop is None else loop
        if isinstance(owner, VirtualTimeEventLoop) and not owner.get_debug():
            return owner.wrap_thread_future(future)
    return _wrap_future(future, loop=loop)


# Process-wide, once (both names: ``run_in_executor`` looks it up in ``asyncio.futures``,
# handlers call ``asyncio.wrap_future``); outside a virtual loop it is ``wrap_future``.
asyncio.futures.wrap_future = asyncio.wrap_future = _wrap_future_in_real_time


_thread_start = threading.Thread.start


def _start_noted(thread: threading.Thread) -> None:
    """``Thread.start``; a thread started during an invocation by code running on a virtual
    loop, or by a job the loop gave a thread (``run_in_executor``, ``asyncio.to_thread``: a
    client whose ``start()`` spawns its own I/O thread and returns), is noted by that loop
    (``started_threads``), unless it is a thread pool's worker (its jobs are counted as they
    are submitted) or the runner's own.

    One the loop's own thread starts also takes a place in the order of thread results, as
    a job it gives a pool does (``note_job``): what the thread hands the loop
    (``call_soon_threadsafe``) is taken in its place, so that threads that report in a race
    report in the same order on every run, or in the order ``thread_rank`` draws. Without
    it, a ``map`` whose items each started a thread recorded a new order of events on
    almost every run, and a first-to-answer race between two threads outside a step (a bug)
    always went the way the machine's timing sent it."""
    if is_pool_worker(thread) or getattr(thread, "runner_internal", False):
        _thread_start(thread)
        return
    loop = loop_worked_for()
    if loop is None:
        _thread_start(thread)
        return
    # An attribute of this one instance (``_bootstrap_inner`` calls ``self.run()``), as
    # ``note_job`` wraps one future's ``_invoke_callbacks``.
    reports = None
    if loop is events._get_running_loop() and not loop.get_debug():
        reports = loop.ask_reports(thread)
    clock = handler_clock.context_clock.get()
    thread.run = functools.partial(_noted_run, loop, reports, thread, thread.run, clock)  # type: ignore[method-assign]
    try:
        _thread_start(thread)
    except BaseException:
        del thread.run
        if reports is not None:
            loop.let_go(reports.seq, reports)
        raise
    loop.started_threads.append(thread)


def _noted_run(
    loop: VirtualTimeEventLoop,
    reports: ThreadReports | None,
    thread: threading.Thread,
    run: Callable[[], object],
    clock: handler_clock.HandlerClock | None,
) -> None:
    """A started thread's ``run``; with ``reports``, what it hands ``loop`` taken as theirs,
    and its end as the end of them. Once ``run`` has returned, the thread, still alive for a
    moment, can report nothing more: the loop stops waiting for it
    (``VirtualTimeEventLoop.threads_working``), and is woken to look again, since a loop
    that looked just before would wait out its whole timer in real time.

    The thread reads the clock of the invocation that started it, as a pool's job does
    (``tracked``): a new thread starts with an empty context, and a deadline the handler
    measured with ``time.monotonic()`` and handed to it (``time.monotonic() + 0.3``) lay
    as far ahead of the machine's clock as the handler's runs ahead, an hour after an
    hour's wait."""
    if clock is not None:
        handler_clock.context_clock.set(clock)  # this thread's own context
    parked.began()
    try:
        if reports is None:
            run()
        else:
            as_reports(reports, run)
    finally:
        thread._run_over = True  # type: ignore[attr-defined]
        if reports is not None:
            loop.report(reports, None)
        else:
            loop.wake()


def loop_worked_for() -> VirtualTimeEventLoop | None:
    """The virtual loop whose current invocation the calling thread works for, if any: the
    loop running on it, or the one whose job it runs or which started it (or woke it)."""
    loop = events._get_running_loop()
    if not isinstance(loop, VirtualTimeEventLoop):
        loop = _loop_of_job_thread(threading.get_ident())
    if loop is None or loop.outside_time is None or loop.is_closed():
        return None
    return loop


def _loop_of_job_thread(ident: int) -> VirtualTimeEventLoop | None:
    """The virtual loop whose executor job is running on thread ``ident``, or which
    noted ``ident`` as a thread the current invocation started, if any: what that thread
    starts or gives a pool works for the invocation too."""
    for watcher in list(blocking_sleep.watchers):
        if isinstance(watcher, VirtualTimeEventLoop) and (
            ident in watcher.executor_threads
            or any(thread.ident == ident for thread in watcher.started_threads)
        ):
            return watcher
    return None


# Once, process-wide, as ``wrap_future`` above; outside a virtual loop it is ``start``.
threading.Thread.start = _start_noted  # type: ignore[method-assign,assignment]


_pool_submit = concurrent.futures.ThreadPoolExecutor.submit


def _submit_noted(
    pool: concurrent.futures.ThreadPoolExecutor,
    fn: Callable[..., Any],
    /,
    *args: Any,
    **kwargs: Any,
) -> concurrent.futures.Future[Any]:
    """``ThreadPoolExecutor.submit``; a job submitted during an invocation by code running on
    a virtual loop, or by a job the loop gave a thread, runs as ``run_in_executor``'s do
    (known as working for the invocation, on its clock: ``tracked``) and is noted by that
    loop until its done callbacks have run (``note_job``): a handler that submits to a pool
    of its own and hears back through a done callback's ``call_soon_threadsafe`` (or the
    job's ``asyncio.run_coroutine_threadsafe``) under an ``asyncio.wait_for`` was timed out
    at once (runner bug 45). ``run_in_executor``'s own submits (its jobs are counted in
    flight) pass through."""
    if getattr(in_run_in_executor, "active", False):
        return _pool_submit(pool, fn, *args, **kwargs)
    loop = loop_worked_for()
    if loop is None:
        return _pool_submit(pool, fn, *args, **kwargs)
    clock = handler_clock.context_clock.get()
    if loop is not events._get_running_loop():
        # Asked from a job's thread, at a moment of the threads' race: no place in the order.
        job = _pool_submit(
            pool, functools.partial(tracked, loop.executor_threads, clock, fn), *args, **kwargs
        )
        loop.note_job(job)
        return job
    reports = loop.ask_reports()
    job = _pool_submit(
        pool,
        functools.partial(_reporting_job, reports, loop.executor_threads, clock, fn),
        *args,
        **kwargs,
    )
    loop.note_job(job, reports)
    return job


def _reporting_job(
    reports: ThreadReports,
    working: set[int],
    clock: handler_clock.HandlerClock | None,
    func: Callable[..., Any],
    /,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """``tracked``, with what the job hands the loop (``call_soon_threadsafe``, as
    ``asyncio.run_coroutine_threadsafe`` does) taken as its reports."""
    return as_reports(reports, tracked, working, clock, func, *args, **kwargs)


# Once, process-wide; outside an invocation it is ``submit``.
concurrent.futures.ThreadPoolExecutor.submit = _submit_noted  # type: ignore[method-assign,assignment]
