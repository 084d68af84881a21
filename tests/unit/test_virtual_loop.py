"""The virtual-time event loop: sleeps jump, the runner's clock follows, real waits stay real."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from async_durable_execution_runner._sandbox import parked
from async_durable_execution_runner._sandbox.virtual_loop import VirtualTimeEventLoop


def test_an_idle_sleep_jumps_virtual_time_and_reports_it() -> None:
    loop = VirtualTimeEventLoop()
    jumps: list[float] = []
    loop.on_jump = jumps.append
    try:
        started = time.monotonic()
        loop.run_until_complete(asyncio.sleep(3600))
        assert time.monotonic() - started < 1.0
        assert loop.time() >= 3600
        assert sum(jumps) >= 3600
    finally:
        loop.close()


def test_work_in_an_executor_thread_takes_real_time() -> None:
    loop = VirtualTimeEventLoop()
    jumps: list[float] = []
    loop.on_jump = jumps.append

    async def main() -> str:
        # A pending timer must not be jumped to while a thread is still working.
        racer = asyncio.ensure_future(asyncio.sleep(30))
        result = await loop.run_in_executor(None, lambda: (time.sleep(0.05), "done")[1])
        racer.cancel()
        return str(result)

    try:
        assert loop.run_until_complete(main()) == "done"
        assert sum(jumps) < 30
    finally:
        loop.close()


def test_the_runner_clock_follows_a_sleeping_handler() -> None:
    from tests.integration.handlers import sleeps_between_steps

    from async_durable_execution_runner import DurableFunctionTestRunner

    with DurableFunctionTestRunner(sleeps_between_steps) as runner:
        started = time.monotonic()
        result = runner.run(input=None, timeout=120)
    # The handler sleeps ten minutes; far less than that (even on a loaded machine) means the
    # sleep was virtual.
    assert time.monotonic() - started < 120
    assert result.result == '"ab"'
    before = result.get_step("before").end_timestamp
    after = result.get_step("after").start_timestamp
    assert before is not None
    assert (after - before).total_seconds() >= 600


def test_a_callback_from_another_thread_runs_while_the_loop_is_busy_and_when_it_sleeps() -> None:
    # Busy turns skip asking the kernel when only the self-pipe is registered: a callback from
    # another thread is queued before the pipe is written, so it still runs on the next turn,
    # and the pipe is drained once the loop may wait.
    import threading

    loop = VirtualTimeEventLoop()
    seen: list[str] = []

    async def main() -> None:
        arrived = asyncio.Event()
        thread = threading.Thread(
            target=lambda: loop.call_soon_threadsafe(lambda: (seen.append("busy"), arrived.set()))
        )
        thread.start()
        while not arrived.is_set():  # busy: every turn has work ready
            await asyncio.sleep(0)
        thread.join()
        # Now idle: a sleeping loop is woken by the pipe alone.
        woken = loop.create_future()
        threading.Timer(0.05, lambda: loop.call_soon_threadsafe(woken.set_result, "idle")).start()
        seen.append(await woken)

    try:
        loop.run_until_complete(main())
        assert seen == ["busy", "idle"]
    finally:
        loop.close()


class _Stop(BaseException):
    pass


def test_an_interrupt_raises_at_the_next_turn_and_leaves_the_queues_whole() -> None:
    loop = VirtualTimeEventLoop()
    ran: list[str] = []

    async def main() -> None:
        loop.interrupt_at_next_turn(_Stop)
        # Queued for the next turn, which the interrupt cuts off before anything runs.
        loop.call_soon(ran.append, "queued")
        await asyncio.sleep(0)
        ran.append("resumed")

    try:
        task = loop.create_task(main())
        try:
            loop.run_until_complete(task)
        except _Stop:
            pass
        else:
            raise AssertionError("the interrupt did not raise")
        assert ran == []
        loop.clear_interrupt()
        loop.run_until_complete(task)  # the same queues, run on: nothing was lost
        assert ran == ["queued", "resumed"]
    finally:
        loop.close()


def test_pending_tasks_are_this_loops_unfinished_ones_only() -> None:
    loop = VirtualTimeEventLoop()
    other = VirtualTimeEventLoop()
    never = loop.create_future()

    async def waits() -> None:
        await never

    async def quick() -> None:
        return None

    try:
        stuck = loop.create_task(waits())
        done = loop.create_task(quick())
        other.create_task(quick())
        loop.run_until_complete(done)
        assert loop.pending_tasks() == [stuck]
        assert loop.created_tasks == [stuck]  # the finished ones are let go
        stuck.cancel()
        loop.run_until_complete(asyncio.gather(stuck, return_exceptions=True))
        assert loop.pending_tasks() == []
        other.run_until_complete(asyncio.sleep(0))
        assert other.pending_tasks() == []
    finally:
        loop.close()
        other.close()


# --- run_until_complete: asyncio's outcome, in fewer steps --------------------------------


class _Fatal(BaseException):
    pass


async def _returns_and_leaves_a_callback(log: list[str]) -> str:
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_soon(log.append, "callback")
    log.append("returned")
    return "result"


async def _raises(error: BaseException) -> None:
    await asyncio.sleep(0)
    raise error


async def _stops_its_loop() -> None:
    asyncio.get_running_loop().stop()
    await asyncio.sleep(10)


async def _nests() -> None:
    loop = asyncio.get_running_loop()
    coro = asyncio.sleep(0)
    try:
        loop.run_until_complete(coro)
    finally:
        coro.close()


async def _an_async_generator_left_open(log: list[str]) -> None:
    async def numbers() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
        finally:
            log.append("finalised")

    async for _ in numbers():
        break


def _run_case(run: Callable[..., Any], case: Callable[[list[str]], Any]) -> tuple[Any, list[str]]:
    """``case`` run by ``run`` on a fresh virtual loop: its outcome and its log, after the
    loop ran again to finish what the first run left."""
    loop = VirtualTimeEventLoop()
    log: list[str] = []
    try:
        outcome = _outcome(run, loop, case(log))
        assert asyncio.events._get_running_loop() is None
        loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(loop.shutdown_asyncgens())
        return outcome, log
    finally:
        for task in loop.pending_tasks():
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


def _outcome(
    run: Callable[[Any, Any], Any], loop: asyncio.AbstractEventLoop, coro: Any
) -> tuple[str, Any]:
    try:
        return ("value", run(loop, coro))
    except BaseException as exc:  # the outcome is what is compared
        return ("raised", (type(exc), str(exc)))


def test_the_lean_run_has_asyncios_outcome_in_every_case() -> None:
    # The loop's own run against asyncio's, on the same loop, case by case.
    from async_durable_execution_runner._sandbox import virtual_loop

    assert virtual_loop._LEAN_RUN  # this interpreter takes the lean path
    cases: list[Callable[[list[str]], Any]] = [
        _returns_and_leaves_a_callback,
        lambda log: _raises(ValueError("bad")),
        lambda log: _raises(_Fatal("fatal")),
        lambda log: _stops_its_loop(),
        lambda log: _nests(),
        _an_async_generator_left_open,
    ]
    for case in cases:
        seen = []
        for run in (
            VirtualTimeEventLoop.run_until_complete,
            asyncio.SelectorEventLoop.run_until_complete,
        ):
            seen.append(_run_case(run, case))
        assert seen[0] == seen[1], case


def test_a_callback_queued_as_the_coroutine_returns_runs_before_the_run_returns() -> None:
    loop = VirtualTimeEventLoop()
    log: list[str] = []
    try:
        assert loop.run_until_complete(_returns_and_leaves_a_callback(log)) == "result"
        assert log == ["returned", "callback"]
    finally:
        loop.close()


@pytest.mark.usefixtures("earlier_garbage_collected")
def test_a_base_exception_out_of_the_run_leaves_nothing_unretrieved() -> None:
    loop = VirtualTimeEventLoop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        try:
            loop.run_until_complete(_raises(_Fatal("fatal")))
        except _Fatal:
            pass
        else:
            raise AssertionError("expected the BaseException out of the run")
        gc.collect()
        assert reported == []
        assert sys.get_asyncgen_hooks() == (None, None)
    finally:
        loop.close()


# --- the lean turn and call_soon: asyncio's behaviour, in fewer calls ----------------------


def _turn_outcomes(lean: bool, monkeypatch: Any) -> list[tuple[tuple[str, Any], list[str]]]:
    from async_durable_execution_runner._sandbox import virtual_loop

    monkeypatch.setattr(virtual_loop, "_LEAN_TURN", lean)
    cases: list[Callable[[list[str]], Any]] = [
        _returns_and_leaves_a_callback,
        lambda log: _raises(ValueError("bad")),
        lambda log: _raises(_Fatal("fatal")),
        lambda log: _stops_its_loop(),
        _sleeps_past_a_cancelled_timer,
        _cancels_a_ready_callback,
        _an_async_generator_left_open,
    ]
    seen = []
    for case in cases:
        seen.append(_run_case(VirtualTimeEventLoop.run_until_complete, case))
    return seen


async def _sleeps_past_a_cancelled_timer(log: list[str]) -> None:
    loop = asyncio.get_running_loop()
    early = loop.call_later(1, log.append, "cancelled timer ran")
    loop.call_later(2, log.append, "timer")
    early.cancel()
    await asyncio.sleep(3)
    log.append(f"woke at {loop.time():g}")


async def _cancels_a_ready_callback(log: list[str]) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: log.append(context["message"]))
    loop.call_soon(log.append, "cancelled callback ran").cancel()
    loop.call_soon(log.append, "callback")
    await asyncio.sleep(0)


def test_the_lean_turn_has_asyncios_outcome_in_every_case(monkeypatch: Any) -> None:
    from async_durable_execution_runner._sandbox import virtual_loop

    assert virtual_loop._LEAN_TURN  # this interpreter takes the lean path
    assert _turn_outcomes(True, monkeypatch) == _turn_outcomes(False, monkeypatch)


def test_a_raising_callback_is_reported_as_asyncio_reports_it() -> None:
    def fails() -> None:
        raise ValueError("from a callback")

    reports = []
    for turn in (VirtualTimeEventLoop._run_once, asyncio.SelectorEventLoop._run_once):  # type: ignore[attr-defined]
        loop = VirtualTimeEventLoop()
        reported: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _, context, into=reported: into.append(context))
        try:
            handle = loop.call_soon(fails)
            turn(loop)
            (context,) = reported
            assert context["handle"] is handle
            reports.append(
                (context["message"], type(context["exception"]), str(context["exception"]))
            )
        finally:
            loop.close()
    assert reports[0] == reports[1]
    assert reports[0][0].startswith("Exception in callback ")


def test_call_soon_makes_the_handle_asyncio_makes() -> None:
    import contextvars

    loop = VirtualTimeEventLoop()
    try:
        context = contextvars.copy_context()
        ours = loop.call_soon(print, 1, 2, context=context)
        theirs = asyncio.BaseEventLoop.call_soon(loop, print, 1, 2, context=context)
        assert type(ours) is type(theirs) is asyncio.Handle
        for name in ("_callback", "_args", "_cancelled", "_loop", "_source_traceback", "_repr"):
            assert getattr(ours, name) == getattr(theirs, name), name
        assert ours._context is theirs._context is context  # type: ignore[attr-defined]
        assert list(loop._ready) == [ours, theirs]  # type: ignore[attr-defined]
        assert isinstance(loop.call_soon(print)._context, contextvars.Context)  # type: ignore[attr-defined]
    finally:
        loop.close()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.call_soon(print)


def test_call_at_and_call_later_make_the_timers_asyncio_makes() -> None:
    import contextvars

    loop = VirtualTimeEventLoop()
    try:
        loop._virtual = 10.0
        context = contextvars.copy_context()
        made = [
            loop.call_at(15.0, print, 1, context=context),
            asyncio.BaseEventLoop.call_at(loop, 15.0, print, 1, context=context),
            loop.call_later(5.0, print, 1, context=context),
            asyncio.BaseEventLoop.call_later(loop, 5.0, print, 1, context=context),
        ]
        fields = ("_callback", "_args", "_cancelled", "_loop", "_source_traceback", "_repr")
        for timer in made:
            assert type(timer) is asyncio.TimerHandle
            assert timer.when() == 15.0
            assert timer._scheduled  # type: ignore[attr-defined]
            assert timer._context is context  # type: ignore[attr-defined]
            assert [getattr(timer, name) for name in fields] == [
                getattr(made[0], name) for name in fields
            ]
        assert sorted(loop._scheduled, key=id) == sorted(made, key=id)  # type: ignore[attr-defined]
        with pytest.raises(TypeError):
            loop.call_at(None, print)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            loop.call_later(None, print)  # type: ignore[arg-type]
    finally:
        loop.close()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.call_later(1.0, print)


def test_tasks_go_through_a_task_factory_when_one_is_set() -> None:
    loop = VirtualTimeEventLoop()
    made: list[asyncio.Task[Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    async def answer() -> int:
        return 42

    try:
        plain = loop.create_task(answer(), name="plain")
        assert plain.get_name() == "plain"
        loop.run_until_complete(plain)
        loop.set_task_factory(factory)
        assert loop.run_until_complete(answer()) == 42
        loop.run_until_complete(loop.create_task(answer()))
        assert len(made) == 2
        assert isinstance(loop.create_future(), asyncio.Future)
        assert loop.create_future().get_loop() is loop
    finally:
        loop.close()


def test_aligning_the_clock_carries_scheduled_timers_along() -> None:
    loop = VirtualTimeEventLoop()
    jumps: list[float] = []
    loop.on_jump = jumps.append
    fired: list[float] = []
    try:
        loop.call_later(5, lambda: fired.append(loop.time()))
        loop.call_later(2, lambda: fired.append(loop.time()))
        loop.align_time(1000.0)
        assert loop.time() == 1000.0
        loop.run_until_complete(asyncio.sleep(10))
        # Each timer came as far after the alignment as it was due before it, in order.
        assert fired == [1002.0, 1005.0]
        assert sum(jumps) == pytest.approx(10)
        loop.align_time(10.0)  # back: nothing scheduled, nothing to carry
        assert loop.time() == 10.0
    finally:
        loop.close()


def _finishing_in_reverse(count: int, log: list[int]) -> list[Callable[[], int]]:
    """Jobs that end in the reverse of the order they are submitted in, 20 ms apart."""
    import threading

    ended = [threading.Event() for _ in range(count + 1)]
    ended[count].set()

    def job(index: int) -> int:
        ended[index + 1].wait(5)
        time.sleep(0.02)
        log.append(index)
        ended[index].set()
        return index

    return [lambda index=index: job(index) for index in range(count)]  # type: ignore[misc]


def test_thread_results_reach_the_loop_in_the_order_it_asked_for_them() -> None:
    import concurrent.futures

    loop = VirtualTimeEventLoop()
    ended: list[int] = []
    resumed: list[int] = []

    async def wait_for(job: Callable[[], int], pool: concurrent.futures.Executor) -> None:
        resumed.append(await loop.run_in_executor(pool, job))

    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            await asyncio.gather(*(wait_for(job, pool) for job in _finishing_in_reverse(4, ended)))

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert ended == [3, 2, 1, 0]
    assert resumed == [0, 1, 2, 3]
    assert loop.holds_expired == 0


def test_each_thread_result_is_taken_when_the_loop_is_idle_one_at_a_time() -> None:
    """The turns a result is acted on in do not depend on when its thread ended: each is
    taken when everything the one before it set going has run."""
    import concurrent.futures

    loop = VirtualTimeEventLoop()
    trace: list[str] = []

    async def after(job: Callable[[], int], pool: concurrent.futures.Executor) -> None:
        index = await loop.run_in_executor(pool, job)
        trace.append(f"got {index}")
        for turn in range(3):
            await asyncio.sleep(0)
            trace.append(f"{index} turn {turn}")

    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            jobs = _finishing_in_reverse(3, [])
            await asyncio.gather(*(after(job, pool) for job in jobs))

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert trace == [
        line
        for index in range(3)
        for line in (f"got {index}", *(f"{index} turn {t}" for t in range(3)))
    ]


def test_a_result_held_for_a_job_that_waits_on_it_is_taken_after_the_hold() -> None:
    """A consumer thread asked for first blocks until a coroutine hands it what a later
    thread's result says: holding that result for the consumer's would deadlock."""
    import queue

    loop = VirtualTimeEventLoop()
    handed: queue.Queue[str] = queue.Queue()

    async def main() -> tuple[str, str]:
        consumer = asyncio.ensure_future(
            asyncio.to_thread(lambda: "consumed " + handed.get(timeout=5))
        )
        await asyncio.sleep(0)
        fetched = await asyncio.to_thread(lambda: "item")
        handed.put(fetched)
        return fetched, await consumer

    try:
        assert loop.run_until_complete(main()) == ("item", "consumed item")
    finally:
        loop.close()
    assert loop.holds_expired == 1


def test_a_cancelled_wait_for_a_thread_holds_back_no_later_result() -> None:
    import threading

    loop = VirtualTimeEventLoop()
    release = threading.Event()

    async def main() -> str:
        stuck = asyncio.ensure_future(asyncio.to_thread(release.wait, 5))
        await asyncio.sleep(0)
        stuck.cancel()
        return await asyncio.to_thread(lambda: "later")

    try:
        assert loop.run_until_complete(main()) == "later"
    finally:
        release.set()
        loop.close()
    assert loop.holds_expired == 0


def test_a_job_an_earlier_invocation_left_running_holds_back_nothing() -> None:
    import threading

    loop = VirtualTimeEventLoop()
    release = threading.Event()
    left: list[asyncio.Future[Any]] = []

    async def first() -> None:
        left.append(asyncio.ensure_future(asyncio.to_thread(release.wait, 5)))
        await asyncio.sleep(0)

    async def second() -> str:
        return await asyncio.to_thread(lambda: "next")

    try:
        loop.run_until_complete(first())
        loop.forget_threads()
        assert loop.run_until_complete(second()) == "next"
        assert loop.holds_expired == 0
    finally:
        release.set()
        loop.run_until_complete(left[0])
        loop.close()


def test_a_thread_result_keeps_its_outcome_and_a_cancelled_wait_cancels_the_job() -> None:
    import concurrent.futures
    import threading

    loop = VirtualTimeEventLoop()
    started = threading.Event()

    def fails() -> None:
        raise LookupError("from the thread")

    async def main() -> None:
        with pytest.raises(LookupError, match="from the thread"):
            await asyncio.to_thread(fails)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            blocker = pool.submit(lambda: (started.set(), time.sleep(0.05)))
            queued = pool.submit(lambda: "never")
            wrapped = asyncio.wrap_future(queued)
            started.wait(5)
            wrapped.cancel()
            with pytest.raises(asyncio.CancelledError):
                await wrapped
            await asyncio.wrap_future(blocker)
            assert queued.cancelled()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_loop_that_spins_until_a_thread_result_comes_gets_it() -> None:
    """A coroutine that polls a thread's future without ever letting the loop idle (as the
    SDK's ``parallel`` resubmits a PENDING branch) is given the result after a stretch of
    busy turns; held for an idle turn, it would spin forever."""
    loop = VirtualTimeEventLoop()

    async def main() -> tuple[bool, int]:
        job = asyncio.ensure_future(asyncio.to_thread(lambda: "came"))
        spins = 0
        while not job.done() and spins < 200_000:  # (bounded: a regression fails, not hangs)
            spins += 1
            await asyncio.sleep(0)
        done = job.done()
        await job
        return done, spins

    try:
        done, spins = loop.run_until_complete(main())
    finally:
        loop.close()
    assert done, f"still waiting after {spins} busy turns"


def test_thread_results_follow_the_ranks_an_interleaving_gives_them() -> None:
    """Ranks reorder what the threads' race would: a result of a lower rank comes first,
    whatever order the threads end in; equal ranks keep the order asked."""
    import concurrent.futures

    loop = VirtualTimeEventLoop()
    ranks = {0: 2, 1: 0, 2: 1, 3: 0}
    loop.thread_rank = ranks.__getitem__
    resumed: list[int] = []

    async def wait_for(job: Callable[[], int], pool: concurrent.futures.Executor) -> None:
        resumed.append(await loop.run_in_executor(pool, job))

    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            jobs = _finishing_in_reverse(4, [])
            await asyncio.gather(*(wait_for(job, pool) for job in jobs))

    try:
        loop.run_until_complete(main())
        assert resumed == [1, 3, 2, 0]
        loop.forget_threads()  # a new invocation: no ranks until its interleaving says
        assert loop.thread_rank is None
    finally:
        loop.close()


def test_a_pool_future_runs_its_done_callbacks_through_its_own_invoke_callbacks() -> None:
    """The loop learns that a job handed to a pool (``ThreadPoolExecutor.submit``) has
    reported by wrapping that one future's ``_invoke_callbacks`` (``note_job``): the standard
    library's private name, which ``set_result``, ``set_exception`` and ``cancel`` must all
    still go through, with the done callbacks run inside it. A Python release that changes
    this fails here."""
    import concurrent.futures

    settle: dict[str, Callable[[concurrent.futures.Future[Any]], object]] = {
        "set_result": lambda f: f.set_result(1),
        "set_exception": lambda f: f.set_exception(LookupError()),
        "cancel": lambda f: f.cancel(),
    }
    for how, act in settle.items():
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        seen: list[str] = []
        future.add_done_callback(lambda _, seen=seen: seen.append("callback"))
        invoke = future._invoke_callbacks  # type: ignore[attr-defined]

        def wrapped(invoke: Callable[[], None] = invoke, seen: list[str] = seen) -> None:
            seen.append("enter")
            invoke()
            seen.append("exit")

        future._invoke_callbacks = wrapped  # type: ignore[attr-defined]
        act(future)
        assert seen == ["enter", "callback", "exit"], how


class _CountedOutside:
    """The least ``OutsideTime``: waits for the world outside the loop count no time."""

    def outside_wait_started(self) -> float | None:
        return None

    def outside_time_moved(self, seconds: float) -> None:
        pass

    def outside_wait_ended(self, seconds: float) -> None:
        pass


def test_a_pool_job_is_waited_for_until_its_callbacks_ran_then_forgotten() -> None:
    """Until its done callbacks have run, not only until it is done; and a job an earlier
    invocation left running holds no timer of the next."""
    import concurrent.futures
    import threading

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()
    release = threading.Event()
    reported: list[str] = []

    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            quick = pool.submit(lambda *, word: word, word="kept")
            done = asyncio.Event()
            quick.add_done_callback(
                lambda _: (time.sleep(0.02), loop.call_soon_threadsafe(done.set))
            )
            # A 30 s bound: jumped to at once if the loop did not wait for the callback.
            await asyncio.wait_for(done.wait(), 30)
            assert quick.result() == "kept"
            assert loop.time() < 30
            stuck = pool.submit(release.wait)
            assert loop.waiting_on_threads
            loop.forget_threads()  # what the next invocation's start does
            assert not loop.waiting_on_threads
            await asyncio.sleep(60)  # a jump, though the earlier invocation's job still runs
            assert not stuck.done()
            release.set()
            reported.append(str(stuck.result(timeout=5)))

    try:
        loop.run_until_complete(main())
    finally:
        release.set()
        loop.close()
    assert reported == ["True"]

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        outside = pool.submit(lambda *, word: word, word="plain")
        assert outside.result(timeout=5) == "plain"
        assert "_invoke_callbacks" not in vars(outside)  # no loop's invocation: not noted


def _pool_reports(
    loop: VirtualTimeEventLoop, pool: Any, jobs: list[Callable[[], int]]
) -> asyncio.Event:
    """Submit ``jobs`` to ``pool`` from the loop; each reports its result through a done
    callback's ``call_soon_threadsafe``, into ``loop.reported``."""
    done = asyncio.Event()
    reported: list[int] = []
    loop.reported = reported  # type: ignore[attr-defined]

    def report(index: int) -> None:
        reported.append(index)
        if len(reported) == len(jobs):
            done.set()

    for job in jobs:
        pool.submit(job).add_done_callback(
            lambda future: loop.call_soon_threadsafe(report, future.result())
        )
    return done


def test_reports_of_jobs_given_to_a_pool_reach_the_loop_in_the_order_they_were_given() -> None:
    """A job the loop's thread gave a pool (``submit``) reports through its done callback:
    its report is taken in the order the jobs were given, whatever order their threads end
    in (runner bug 45), and an interleaving's ranks reorder them as they do results."""
    import concurrent.futures

    for ranks, expected in ((None, [0, 1, 2, 3]), ({0: 2, 1: 0, 2: 1, 3: 0}, [1, 3, 2, 0])):
        loop = VirtualTimeEventLoop()
        loop.outside_time = _CountedOutside()
        if ranks is not None:
            loop.thread_rank = ranks.__getitem__
        ended: list[int] = []

        async def main(loop: VirtualTimeEventLoop = loop, ended: list[int] = ended) -> None:
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                done = _pool_reports(loop, pool, _finishing_in_reverse(4, ended))
                await asyncio.wait_for(done.wait(), 30)

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
        assert ended == [3, 2, 1, 0]
        assert loop.reported == expected  # type: ignore[attr-defined]
        assert loop.holds_expired == 0
        assert loop.time() < 30


def test_a_job_s_reports_are_taken_one_per_idle_turn() -> None:
    """Two reports a job's body hands the loop (``asyncio.run_coroutine_threadsafe``) are
    taken in two idle turns, each after what the one before set going has run."""
    import concurrent.futures

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()
    trace: list[str] = []

    async def note(word: str) -> None:
        trace.append(f"got {word}")
        for turn in range(2):
            await asyncio.sleep(0)
            trace.append(f"{word} turn {turn}")

    async def main() -> None:
        running = asyncio.get_running_loop()

        def work() -> None:
            first = asyncio.run_coroutine_threadsafe(note("first"), running)
            second = asyncio.run_coroutine_threadsafe(note("second"), running)
            first.result(5), second.result(5)

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            job = pool.submit(work)
            while not job.done():
                await asyncio.sleep(0.01)

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert trace == [
        "got first",
        "first turn 0",
        "first turn 1",
        "got second",
        "second turn 0",
        "second turn 1",
    ]


def test_a_report_held_for_a_job_that_waits_on_it_is_taken_after_the_hold() -> None:
    """The job given first is a consumer that waits for what the loop makes of a later
    job's report: holding that report for the consumer's would deadlock."""
    import concurrent.futures
    import queue

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()
    handed: queue.Queue[str] = queue.Queue()

    async def main() -> str:
        running = asyncio.get_running_loop()
        fetched = asyncio.Event()
        consumed = asyncio.Event()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            pool.submit(lambda: "consumed " + handed.get(timeout=5)).add_done_callback(
                lambda _: running.call_soon_threadsafe(consumed.set)
            )
            pool.submit(lambda: "item").add_done_callback(
                lambda _: running.call_soon_threadsafe(fetched.set)
            )
            await asyncio.wait_for(fetched.wait(), 30)
            handed.put("item")
            await asyncio.wait_for(consumed.wait(), 30)
        return "both"

    try:
        assert loop.run_until_complete(main()) == "both"
    finally:
        loop.close()
    assert loop.holds_expired == 1


def test_a_job_an_earlier_invocation_gave_a_pool_reports_straight_away() -> None:
    import concurrent.futures
    import threading

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()
    release = threading.Event()
    reported = threading.Event()

    async def main() -> bool:
        running = asyncio.get_running_loop()
        got = asyncio.Event()

        def report(_: object) -> None:
            running.call_soon_threadsafe(got.set)
            reported.set()

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            try:
                pool.submit(release.wait).add_done_callback(report)
                loop.forget_threads()  # what the next invocation's start does
                assert not loop.waiting_on_threads
            finally:
                release.set()  # (the pool's exit waits for the job)
            assert reported.wait(5)
            await asyncio.sleep(0)  # a busy turn: a report taken in order would wait
            return got.is_set()

    try:
        assert loop.run_until_complete(main())
    finally:
        release.set()
        loop.close()


def test_a_wrapped_job_given_to_a_pool_takes_one_place_in_the_order() -> None:
    """``asyncio.wrap_future(pool.submit(job))`` is one wait: its rank is the job's place,
    as it was before jobs given to a pool took places of their own."""
    import concurrent.futures

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()
    loop.thread_rank = {0: 1, 1: 0}.__getitem__  # (a third place would be a KeyError)
    resumed: list[int] = []

    async def wait_for(job: Callable[[], int], pool: concurrent.futures.Executor) -> None:
        resumed.append(await asyncio.wrap_future(pool.submit(job)))

    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            jobs = _finishing_in_reverse(2, [])
            await asyncio.gather(*(wait_for(job, pool) for job in jobs))

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert resumed == [1, 0]


def test_a_job_s_late_signal_for_a_report_already_taken_changes_nothing() -> None:
    """A reporting thread signals each report after queueing it; the loop may take a report
    with an earlier signal, and then meet the later signal with nothing left to take."""
    loop = VirtualTimeEventLoop()
    try:
        reports = loop.ask_reports()
        ran: list[str] = []
        for word in ("first", "second"):
            assert loop.report(reports, asyncio.Handle(ran.append, (word,), loop, None))
        assert loop._deliver_thread_result()  # the first, at one idle turn
        assert loop._deliver_thread_result()  # the second, at the next
        loop._arrivals.append((reports.seq, None))  # a signal whose report was taken
        assert not loop._deliver_thread_result()
        assert loop._hold_left() is None
        assert loop._in_flight == 1  # the job is not over: still waited for
        assert loop.report(reports, None)  # now it is
        assert not loop._deliver_thread_result()  # its end takes no turn
        assert loop._in_flight == 0
        loop._run_once()
        assert ran == ["first", "second"]
    finally:
        loop.close()


def _threads_reporting(loop: VirtualTimeEventLoop, count: int) -> asyncio.Event:
    """Start ``count`` threads from the loop, the later ones reporting sooner (10 ms apart):
    each hands its index to the loop through ``call_soon_threadsafe``, into
    ``loop.reported``."""
    import threading

    done = asyncio.Event()
    reported: list[int] = []
    loop.reported = reported  # type: ignore[attr-defined]

    def report(index: int) -> None:
        reported.append(index)
        if len(reported) == count:
            done.set()

    def work(index: int) -> None:
        time.sleep(0.01 * (count - index))
        loop.call_soon_threadsafe(report, index)

    for index in range(count):
        threading.Thread(target=work, args=(index,), daemon=True).start()
    return done


def test_reports_of_threads_the_loop_started_reach_it_in_the_order_they_were_started() -> None:
    """A thread the loop's thread started reports in its place, as a job given to a pool
    does, whatever order the threads report in; an interleaving's ranks reorder them."""
    for ranks, expected in ((None, [0, 1, 2, 3]), ({0: 2, 1: 0, 2: 1, 3: 0}, [1, 3, 2, 0])):
        loop = VirtualTimeEventLoop()
        loop.outside_time = _CountedOutside()
        if ranks is not None:
            loop.thread_rank = ranks.__getitem__

        async def main(loop: VirtualTimeEventLoop = loop) -> None:
            done = _threads_reporting(loop, 4)
            await asyncio.wait_for(done.wait(), 30)

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
        assert loop.reported == expected  # type: ignore[attr-defined]
        assert loop.holds_expired == 0
        assert loop.time() < 30


def test_a_started_thread_parked_for_good_holds_back_no_report_and_no_timer() -> None:
    """A flusher started first, idle on an event for good: the report of a thread started
    after it is taken without waiting for its place, and a timer is jumped to."""
    import threading

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()
    stop = threading.Event()

    async def main() -> float:
        flusher = threading.Thread(target=stop.wait, daemon=True)
        flusher.start()
        while parked.parked_until(flusher.ident) is None:  # idle, as the test means it
            time.sleep(0.001)
        done = _threads_reporting(loop, 1)
        await asyncio.wait_for(done.wait(), 30)
        before = loop.time()
        await asyncio.sleep(60)
        assert flusher.is_alive()
        return loop.time() - before

    started = time.monotonic()
    try:
        assert loop.run_until_complete(main()) >= 60
    finally:
        stop.set()
        loop.close()
    assert time.monotonic() - started < 20
    assert loop.holds_expired == 0
    assert loop.reported == [0]  # type: ignore[attr-defined]


def test_a_started_thread_that_ends_gives_up_its_place() -> None:
    import threading

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()

    async def main() -> None:
        thread = threading.Thread(target=time.sleep, args=(0.01,), daemon=True)
        thread.start()
        assert loop._in_flight == 1
        while thread.is_alive():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)  # an idle turn takes its end (no turn of its own)
        assert loop._in_flight == 0
        assert "run" not in vars(threading.Thread(target=time.sleep))  # not started: untouched

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_thread_an_earlier_invocation_started_reports_straight_away() -> None:
    import threading

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()
    release = threading.Event()
    reported = threading.Event()

    async def main() -> bool:
        running = asyncio.get_running_loop()
        got = asyncio.Event()

        def work() -> None:
            release.wait(5)
            running.call_soon_threadsafe(got.set)
            reported.set()

        threading.Thread(target=work, daemon=True).start()
        loop.forget_threads()  # what the next invocation's start does
        assert not loop.waiting_on_threads
        release.set()
        assert reported.wait(5)
        await asyncio.sleep(0)  # a busy turn: a report taken in order would wait
        return got.is_set()

    try:
        assert loop.run_until_complete(main())
    finally:
        release.set()
        loop.close()


def test_a_thread_started_outside_a_virtual_loop_is_left_alone() -> None:
    import threading

    thread = threading.Thread(target=time.sleep, args=(0,))
    thread.start()
    thread.join()
    assert "run" not in vars(thread)


def test_a_started_thread_whose_run_returned_is_waited_for_no_more() -> None:
    """A thread reports and returns, then takes a while to end (here a second in its
    teardown): the loop, looking in that moment, waited its next timer out in real time."""
    import threading

    class SlowToEnd(threading.Thread):
        def _delete(self) -> None:
            time.sleep(1)
            super()._delete()  # type: ignore[misc]

    loop = VirtualTimeEventLoop()
    loop.outside_time = _CountedOutside()

    async def main() -> float:
        running = asyncio.get_running_loop()
        reported = asyncio.Event()
        thread = SlowToEnd(target=lambda: running.call_soon_threadsafe(reported.set), daemon=True)
        thread.start()
        await asyncio.wait_for(reported.wait(), 30)
        while "_run_over" not in vars(thread):
            await asyncio.sleep(0)  # (busy turns: no time passes)
        assert thread.is_alive()
        before = loop.time()
        await asyncio.sleep(30)
        return loop.time() - before

    started = time.monotonic()
    try:
        assert loop.run_until_complete(main()) >= 30
    finally:
        loop.close()
    assert time.monotonic() - started < 10


def _task_without_create_task(
    loop: asyncio.AbstractEventLoop, coro: Any, **options: Any
) -> asyncio.Task[Any]:
    # What asyncio's ``eager_task_factory`` (Python 3.12 on) does: build the task itself.
    return asyncio.Task(coro, loop=loop, **options)


def test_a_task_an_eager_factory_builds_is_the_loops_to_settle() -> None:
    # From Python 3.12 on the SDK starts every operation's task with
    # ``asyncio.eager_task_factory(loop, coro)``, which builds it with ``asyncio.Task``: the
    # loop's ``create_task`` never sees it. An invocation that suspended left such tasks
    # pending and uncancelled, to wake in the next invocation's run.
    from async_durable_execution_runner._sandbox.invocation_threads import settle
    from async_durable_execution_runner._sandbox.virtual_loop import adopting

    factory = adopting(_task_without_create_task)
    loop = VirtualTimeEventLoop()
    try:

        async def main() -> asyncio.Task[Any]:
            return factory(asyncio.get_running_loop(), asyncio.sleep(3600), name="operation")

        left = loop.run_until_complete(main())
        assert loop.pending_tasks() == [left]
        settle(loop)
        assert left.cancelled()
        assert loop.pending_tasks() == []
    finally:
        loop.close()


def test_a_task_started_eagerly_knows_its_maker_while_its_first_step_runs() -> None:
    # An eagerly started task runs its first step inside the call that makes it, before its
    # maker can await it: the replay gate goes on from the maker to find the handler's line
    # (on Python 3.11 it found the awaiting task in the operation task's done callbacks).
    from async_durable_execution_runner._sandbox.virtual_loop import adopting, eager_creator

    seen: list[object] = []

    def first_step_inside(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        seen.append(eager_creator())
        if not seen[-1] or len(seen) > 1:
            return _task_without_create_task(loop, coro)
        nested = factory(loop, asyncio.sleep(0))  # a task its first step starts, eagerly too
        seen.append(eager_creator())  # the outer maker again once the nested start returned
        nested.cancel()
        return _task_without_create_task(loop, coro)

    def failing(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        coro.close()
        raise RuntimeError("no task")

    factory = adopting(first_step_inside)
    loop = VirtualTimeEventLoop()
    try:

        async def maker() -> None:
            factory(asyncio.get_running_loop(), asyncio.sleep(0))
            with pytest.raises(RuntimeError, match="no task"):
                adopting(failing)(asyncio.get_running_loop(), asyncio.sleep(0))

        made = loop.create_task(maker())
        loop.run_until_complete(made)
        assert seen[0] is made and seen[1] is made and seen[2] is made
        assert eager_creator() is None  # (also after a factory that raised)
    finally:
        settle_and_close(loop)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory is 3.12's")
def test_asyncios_eager_task_factory_is_adopted_by_a_virtual_loop() -> None:
    from async_durable_execution_runner._sandbox import virtual_loop

    eager = asyncio.eager_task_factory  # type: ignore[attr-defined]
    loop = VirtualTimeEventLoop()
    try:

        async def main() -> asyncio.Task[Any]:
            # (Eager: it runs to its first await here, and is pending from there.)
            return eager(asyncio.get_running_loop(), asyncio.sleep(3600))

        left = loop.run_until_complete(main())
        assert loop.pending_tasks() == [left]
        assert eager is virtual_loop.asyncio.eager_task_factory
    finally:
        settle_and_close(loop)


def settle_and_close(loop: VirtualTimeEventLoop) -> None:
    from async_durable_execution_runner._sandbox.invocation_threads import settle

    settle(loop)
    loop.close()
