"""Where invocations run: on the thread that called the runner when it is the main thread
(no hand-off to a worker and back), on the invoker's worker thread otherwise. Either way a
handler that hangs, even in blocking code, is given up on at the runner's deadline, and a
hang is never interrupted inside the service's own code."""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import threading
import time
from typing import Any

import pytest
from async_durable_execution import InvocationStatus, durable_execution, step, wait
from tests.integration import handlers as h

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionNotFinishedError,
    ExecutionObserver,
)
from async_durable_execution_runner._sandbox import hang_alarm, invoker

needs_alarm = pytest.mark.skipif(not hang_alarm.usable(), reason="needs SIGALRM on the main thread")


class _Threads(ExecutionObserver):
    """The thread each invocation starts on."""

    def __init__(self) -> None:
        self.idents: list[int] = []

    def on_invocation_started(self, invocation: Any) -> None:
        self.idents.append(threading.get_ident())


def _run_seed(runner: DurableFunctionTestRunner) -> InvocationStatus:
    return runner.run({"block": False}, timeout=10).status


@needs_alarm
def test_invocations_run_on_the_main_thread_that_called_the_runner() -> None:
    threads = _Threads()
    with DurableFunctionTestRunner(handler=h.blocks_after_a_wait, observers=[threads]) as runner:
        assert _run_seed(runner) is InvocationStatus.SUCCEEDED
    assert threads.idents == [threading.get_ident()] * 2


def test_invocations_run_on_a_worker_for_any_other_thread() -> None:
    threads = _Threads()
    statuses: list[InvocationStatus] = []
    with DurableFunctionTestRunner(handler=h.blocks_after_a_wait, observers=[threads]) as runner:
        caller = threading.Thread(target=lambda: statuses.append(_run_seed(runner)))
        caller.start()
        caller.join()
    assert statuses == [InvocationStatus.SUCCEEDED]
    assert len(set(threads.idents)) == 1
    assert caller.ident not in threads.idents
    assert threading.get_ident() not in threads.idents


@needs_alarm
def test_invocations_run_on_the_main_thread_under_a_running_event_loop() -> None:
    # An async test calling the synchronous ``run``: its loop is blocked in the call anyway,
    # so the handler runs on the main thread, as Lambda's runtime calls it (runner bug 37),
    # and the test's loop is its thread's running loop again afterwards.
    threads = _Threads()

    async def an_async_test() -> tuple[InvocationStatus, bool]:
        outer = asyncio.get_running_loop()
        with DurableFunctionTestRunner(handler=h.blocks_after_a_wait, observers=[threads]) as r:
            status = _run_seed(r)
        await asyncio.sleep(0)
        return status, asyncio.get_running_loop() is outer

    assert asyncio.run(an_async_test()) == (InvocationStatus.SUCCEEDED, True)
    assert threads.idents == [threading.get_ident()] * 2


class _Overrun(Exception):
    pass


def _raise_overrun(signum: int, frame: Any) -> None:
    raise _Overrun


async def _within_a_signal_time_limit(limit: float, work: float) -> dict[str, Any]:
    """A parse under a ``SIGALRM`` time limit of its own: a Lambda idiom (the runtime calls
    the handler on its main thread, where signals work)."""
    previous = signal.signal(signal.SIGALRM, _raise_overrun)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        time.sleep(work)
        return {"parsed": True}
    except _Overrun:
        return {"parsed": False}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@durable_execution
async def _signal_time_limits(event: Any) -> dict[str, Any]:
    quick = await step(lambda: _within_a_signal_time_limit(2.0, 0.005), name="quick")
    await wait(30, name="pause")
    slow = await step(lambda: _within_a_signal_time_limit(0.02, 0.5), name="slow")
    return {"quick": quick, "slow": slow}


@needs_alarm
def test_a_handler_keeping_a_signal_time_limit_works_in_an_async_test() -> None:
    # Runner bug 37: on a worker thread ``signal.signal`` raises ValueError, so the handler
    # failed only when the test was async (the fault-tolerance oracle flagged it as well:
    # the scenario drawn outside the test's loop, its baseline run inside it).
    async def an_async_test() -> Any:
        with DurableFunctionTestRunner(handler=_signal_time_limits) as runner:
            return runner.run(timeout=10)

    for result in (asyncio.run(an_async_test()), _run_plain(_signal_time_limits)):
        assert result.status is InvocationStatus.SUCCEEDED, result.error
        assert result.result_value == {"quick": {"parsed": True}, "slow": {"parsed": False}}


def _run_plain(handler: Any) -> Any:
    with DurableFunctionTestRunner(handler=handler) as runner:
        return runner.run(timeout=10)


async def _run_another_execution() -> int:
    with DurableFunctionTestRunner(handler=h.two_steps) as runner:
        result: int = runner.run({"a": 1, "b": 2}, timeout=10).result_value
        return result


@durable_execution
async def _runs_an_execution_in_a_step(event: Any) -> int:
    nested = await step(_run_another_execution, name="nested")
    await wait(5, name="pause")
    return nested + await step(_run_another_execution, name="nested-again")


def test_a_run_started_inside_an_invocation_drives_on_a_worker() -> None:
    # The invocation's loop runs on this thread and the next invocation needs it: it is not
    # set aside as an async test's is; the inner run drives on a worker.
    result = _run_plain(_runs_an_execution_in_a_step)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert result.result_value == 8


def _assert_hang_reported(runner: DurableFunctionTestRunner, started: float, error: str) -> None:
    assert time.monotonic() - started < 10
    assert "did not return within" in error
    assert "time.sleep(30)" in error  # the blocked line, from the handler's stack
    (arn,) = runner.executor.executions
    stopped = runner.get_result(arn)
    assert stopped.error is not None
    assert stopped.error.type == "Sandbox.Timedout"


def test_a_hang_on_a_worker_is_given_up_on_at_the_deadline() -> None:
    errors: list[str] = []

    def call(runner: DurableFunctionTestRunner) -> None:
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run({"block": True}, timeout=0.5)
        errors.append(str(info.value))

    with DurableFunctionTestRunner(handler=h.blocks_the_thread) as runner:
        started = time.monotonic()
        caller = threading.Thread(target=call, args=(runner,))
        caller.start()
        caller.join()
        (error,) = errors
        _assert_hang_reported(runner, started, error)


@needs_alarm
def test_a_hang_in_an_async_test_is_interrupted_at_the_deadline() -> None:
    # The drive runs on the main thread with the test's loop set aside: the deadline alarm
    # interrupts the handler there, and the test's loop runs on afterwards.
    errors: list[str] = []

    async def an_async_test() -> None:
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run({"block": True}, timeout=0.5)
        errors.append(str(info.value))
        await asyncio.sleep(0)

    with DurableFunctionTestRunner(handler=h.blocks_the_thread) as runner:
        started = time.monotonic()
        asyncio.run(an_async_test())
        (error,) = errors
        _assert_hang_reported(runner, started, error)


@needs_alarm
def test_a_handler_that_swallows_the_interrupt_and_blocks_again_is_interrupted_again() -> None:
    with DurableFunctionTestRunner(handler=h.shrugs_off_the_first_interrupt) as runner:
        started = time.monotonic()
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run(timeout=0.5)
        _assert_hang_reported(runner, started, str(info.value))
        # The runner stays usable, on this thread.
        with DurableFunctionTestRunner(handler=h.blocks_the_thread) as next_runner:
            assert _run_seed(next_runner) is InvocationStatus.SUCCEEDED


class _SlowObserver(ExecutionObserver):
    """Service code that outlives the deadline: called under the service's lock, inside a
    checkpoint the handler is waiting for."""

    def __init__(self) -> None:
        self.slept = False
        self.events: list[str] = []

    def on_history_event(self, execution_arn: str, event: Any) -> None:
        self.events.append(event.event_type.value)
        if event.event_type.value == "StepStarted" and not self.slept:
            self.slept = True
            time.sleep(0.6)
            self.events.append("(slept)")


@needs_alarm
def test_the_deadline_never_interrupts_the_services_own_code() -> None:
    slow = _SlowObserver()
    with DurableFunctionTestRunner(handler=h.blocks_after_a_wait, observers=[slow]) as runner:
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run({"block": False}, timeout=0.3)
        # The checkpoint ran to its end, with every event it records, whatever came after.
        assert slow.events[:3] == ["ExecutionStarted", "StepStarted", "(slept)"]
        (arn,) = runner.executor.executions
        history = [event["EventType"] for event in runner.get_history(arn)]
        assert history == [e for e in slow.events if e != "(slept)"]
        assert history[:3] == ["ExecutionStarted", "StepStarted", "StepSucceeded"]
        if "did not return within" in str(info.value):
            # The alarm caught the handler in its own code after the checkpoint: given up on.
            assert history[-1] == "ExecutionStopped"
        else:
            # The handler reached its wait first (a loaded machine delays the alarm's next
            # call): the invocation ended, and the drive stopped at its deadline.
            assert "RUNNING after 1 invocation(s)" in str(info.value)
            assert history[-2:] == ["WaitStarted", "InvocationCompleted"]


@needs_alarm
def test_a_handler_awaiting_what_never_comes_is_given_up_on_at_the_deadline() -> None:
    # (No function timeout: the SDK's checkpoint batcher polls its queue every 0.1 s of
    # virtual time, and at the default 900 s the runner would stop the invocation first.)
    with DurableFunctionTestRunner(
        handler=h.awaits_what_never_comes, function_timeout=math.inf
    ) as runner:
        started = time.monotonic()
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run(timeout=0.3)
        assert time.monotonic() - started < 5  # not FORCE_INTERRUPT_AFTER: an idle loop is safe
        assert "did not return within" in str(info.value)
        assert "never_set.wait()" in str(info.value)
        # The runner stays usable, on this thread, and nothing was left half-done.
        with DurableFunctionTestRunner(handler=h.blocks_after_a_wait) as next_runner:
            assert _run_seed(next_runner) is InvocationStatus.SUCCEEDED


@needs_alarm
def test_a_hang_outside_the_handlers_own_code_is_interrupted_after_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(invoker, "FORCE_INTERRUPT_AFTER", 0.5)
    with DurableFunctionTestRunner(handler=h.blocks_in_a_loop_callback) as runner:
        started = time.monotonic()
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run(timeout=1.0)
        elapsed = time.monotonic() - started
        # Not at the deadline (the alarm found asyncio's frame), but once the grace was over.
        assert 1.0 + 0.5 <= elapsed < 10
        assert "did not return within" in str(info.value)
        (arn,) = runner.executor.executions
        stopped = runner.get_result(arn)
        assert stopped.error is not None
        assert stopped.error.type == "Sandbox.Timedout"


@needs_alarm
def test_an_endless_loop_in_the_sdks_code_is_stopped_long_before_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inside one turn of the loop and in the SDK's code (SDK finding 19's loop, on Python
    3.12), the deadline alarm cannot raise at a safe point: it used to wait for the whole
    deadline and ``FORCE_INTERRUPT_AFTER``. A thread that has spent
    ``ENGINE_STUCK_CPU_SECONDS`` of CPU time there is stopped, as a duplicate delivery on a
    thread of its own is after ``STUCK_CPU_SECONDS``."""
    monkeypatch.setattr(invoker, "ENGINE_STUCK_CPU_SECONDS", 0.5)
    with DurableFunctionTestRunner(handler=h.spins_in_the_sdk) as runner:
        started = time.monotonic()
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run(timeout=30)
        assert time.monotonic() - started < 10  # not the 30 s deadline
        message = str(info.value)
        assert "0.5 s of CPU time inside one turn of its event loop" in message
        assert "in spin" in message and "parallel.py" in message  # where it was running
        (arn,) = runner.executor.executions
        stopped = runner.get_result(arn)
        assert stopped.error is not None
        assert stopped.error.type == "Sandbox.Timedout"
        # The runner stays usable, on this thread.
        with DurableFunctionTestRunner(handler=h.blocks_after_a_wait) as next_runner:
            assert _run_seed(next_runner) is InvocationStatus.SUCCEEDED


def test_an_endless_loop_in_the_sdks_code_driven_from_a_thread_is_stopped_before_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Called from a thread of the test's own, the runner drives on a worker that no signal
    reaches, so no deadline alarm ticks there: the thread that waits for the drive watches
    it instead. The endless loop was found only at the 30 s deadline, as a hang "blocked" in
    the SDK's code (a corpus handler's ``parallel`` under SDK finding 19, on 3.13 from a
    thread, was flagged by the liveness oracle without the known issue's label)."""
    monkeypatch.setattr(invoker, "ENGINE_STUCK_CPU_SECONDS", 0.5)
    errors: list[BaseException] = []
    elapsed: list[float] = []

    def call(runner: DurableFunctionTestRunner) -> None:
        started = time.monotonic()
        try:
            runner.run(timeout=30)
        except BaseException as error:  # (handed to the test's thread)
            errors.append(error)
        elapsed.append(time.monotonic() - started)

    with DurableFunctionTestRunner(handler=h.spins_in_the_sdk) as runner:
        caller = threading.Thread(target=call, args=(runner,))
        caller.start()
        caller.join(timeout=40)
        (error,) = errors
        assert isinstance(error, ExecutionNotFinishedError)
        assert elapsed[0] < 10  # not the 30 s deadline
        message = str(error)
        assert "0.5 s of CPU time inside one turn of its event loop" in message
        assert "the thread was running at:" in message  # what SDK finding 19's label reads
        assert "in spin" in message and "parallel.py" in message
        (arn,) = runner.executor.executions
        stopped = runner.get_result(arn)
        assert stopped.error is not None
        assert stopped.error.type == "Sandbox.Timedout"
        # The worker unwound out of the loop (interrupted, not left spinning on a core).
        assert _cpu_seconds_of_runner_threads(over=0.3) < 0.1
        # The runner stays usable, from a thread as from this one.
        statuses: list[InvocationStatus] = []
        with DurableFunctionTestRunner(handler=h.blocks_after_a_wait) as next_runner:
            again = threading.Thread(target=lambda: statuses.append(_run_seed(next_runner)))
            again.start()
            again.join(timeout=20)
            assert statuses == [InvocationStatus.SUCCEEDED]
            assert _run_seed(next_runner) is InvocationStatus.SUCCEEDED


def _cpu_seconds_of_runner_threads(*, over: float) -> float:
    """The CPU time the runner's own threads (``durable-*``) spend in ``over`` seconds (a
    thread that ends meanwhile counts for nothing)."""
    before: dict[int, float] = {}
    for thread in threading.enumerate():
        if thread.name.startswith("durable-") and thread.ident is not None:
            with contextlib.suppress(OSError):
                clock = time.pthread_getcpuclockid(thread.ident)
                before[clock] = time.clock_gettime(clock)
    time.sleep(over)
    spent = 0.0
    for clock, used in before.items():
        with contextlib.suppress(OSError):
            spent += time.clock_gettime(clock) - used
    return spent


def test_a_step_body_computing_in_its_own_code_is_left_to_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CPU time in the handler's own code is the user's to bound (Lambda allows a step
    minutes of it): only the deadline stops it, whatever ``ENGINE_STUCK_CPU_SECONDS`` says."""
    monkeypatch.setattr(invoker, "ENGINE_STUCK_CPU_SECONDS", 0.2)
    with DurableFunctionTestRunner(handler=h.computes_for, function_timeout=math.inf) as runner:
        assert runner.run({"seconds": 1.0}, timeout=30).result_value == "computed"


def test_the_sdks_work_after_a_long_step_body_in_the_same_turn_is_not_taken_for_a_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step body that computed for long returns into the SDK, which goes on in the same
    turn (it serialises the result and builds the checkpoint). A deadline alarm's tick that
    lands there finds the engine, in a turn that has used more than
    ``ENGINE_STUCK_CPU_SECONDS``: only the CPU time the engine itself has spent without a
    break counts, else a correct handler with a long step body is stopped, now and then, as
    an endless loop."""
    monkeypatch.setattr(invoker, "ENGINE_STUCK_CPU_SECONDS", 0.5)
    assert _computes_then_the_sdk_works(seconds=0.8, sdk_seconds=0.3) == "computed"


def test_the_sdks_long_work_in_one_turn_is_stopped_sooner_only_in_the_loop_known_to_spin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``KNOWN_SPIN_CPU_SECONDS`` is for the SDK's completion loop that spins on Python 3.12
    (SDK finding 19); anywhere else in the SDK a turn may take longer (a big ``map``'s own
    work, slower under coverage tracing), up to ``ENGINE_STUCK_CPU_SECONDS``."""
    monkeypatch.setattr(invoker, "KNOWN_SPIN_CPU_SECONDS", 0.2)
    monkeypatch.setattr(invoker, "ENGINE_STUCK_CPU_SECONDS", 1.0)
    assert _computes_then_the_sdk_works(seconds=0.0, sdk_seconds=0.5) == "computed"


def _computes_then_the_sdk_works(*, seconds: float, sdk_seconds: float) -> Any:
    """The result of ``computes_then_the_sdk_works``, which must succeed (not be stopped)."""
    with DurableFunctionTestRunner(
        handler=h.computes_then_the_sdk_works, function_timeout=math.inf
    ) as runner:
        result = runner.run({"seconds": seconds, "sdk_seconds": sdk_seconds}, timeout=30)
        assert result.status is InvocationStatus.SUCCEEDED, result.error
        return result.result_value


def test_tasks_an_invocation_leaves_running_are_cancelled_when_it_ends() -> None:
    h.LEFT_BEHIND.clear()
    with DurableFunctionTestRunner(handler=h.leaves_a_task_behind) as runner:
        assert runner.run(timeout=10).status is InvocationStatus.SUCCEEDED
    # Each of the two invocations started two; each invocation's end cancelled its own.
    assert sorted(h.LEFT_BEHIND) == sorted(["create_task cancelled", "ensure_future cancelled"] * 2)
