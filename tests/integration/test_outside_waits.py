"""While the loop waits for the world outside it (work in a thread, a socket), real time
passes: a timer falls due when nothing came for as long as its delay, so an
``asyncio.wait_for`` around a stalled call or a silent socket times out, as on Lambda (before,
the loop's clock stood still while it waited, and such a run hung: ``docs/findings.md``,
runner bug 29). A wait that ends before the next timer counts no time, so quick jobs make
the same history on every run."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration import outside_wait_handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._service.execution import ExecutionStatus


@pytest.fixture
def silent_partner() -> Iterator[int]:
    """A TCP partner on loopback that accepts and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    done = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        done.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_wait_for_around_a_stalled_call_in_a_thread_times_out(isolation: str) -> None:
    try:
        with DurableFunctionTestRunner(h.stalled_call_bounded, isolation=isolation) as runner:
            result = runner.run({}, timeout=30)
    finally:
        h.release.set()
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value["answer"] == "ada: fallback"
    assert result.result_value["took"] >= 0.5 - 1e-6


def test_a_wait_for_around_a_silent_socket_times_out(silent_partner: int) -> None:
    with DurableFunctionTestRunner(h.silent_partner_bounded) as runner:
        result = runner.run({"port": silent_partner}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value["answer"] == "fallback"
    assert result.result_value["took"] >= 0.5 - 1e-6


def test_quick_jobs_in_a_thread_make_the_same_history_every_time() -> None:
    histories = []
    for _ in range(3):
        with DurableFunctionTestRunner(h.quick_thread_jobs) as runner:
            result = runner.run({}, timeout=30)
        assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
        histories.append(result.history)
    assert histories[0] == histories[1] == histories[2]
    stamps = result.result_value
    assert stamps[0] == stamps[1] == stamps[2]  # no time passed on the clocks


def test_a_thread_the_handler_started_is_waited_for_in_real_time() -> None:
    """A thread reporting only through ``call_soon_threadsafe``: the loop, which cannot see
    the report coming, waits for it in real time while the thread lives instead of jumping
    over the 30 s bound at once (runner bug 30)."""
    started = time.monotonic()
    with DurableFunctionTestRunner(h.thread_reports_through_the_loop) as runner:
        result = runner.run({}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "sent"
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("how", ["to_thread", "run_in_executor"])
def test_a_thread_a_job_started_is_waited_for_in_real_time(how: str) -> None:
    """A client's ``start()`` run in a pool's thread starts the client's own I/O thread and
    returns: the loop waits for that thread too, instead of jumping over the 30 s bound as
    soon as the job is done (runner bug 33)."""
    started = time.monotonic()
    with DurableFunctionTestRunner(h.thread_started_by_a_job) as runner:
        result = runner.run({"how": how}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "uploaded"
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    "handler",
    [
        h.pool_job_reports_through_a_done_callback,
        h.pool_job_reports_through_run_coroutine_threadsafe,
        h.pool_job_with_a_slow_done_callback,
    ],
    ids=["done_callback", "run_coroutine_threadsafe", "slow_done_callback"],
)
@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_job_given_to_the_handler_s_own_pool_is_waited_for(handler: Any, isolation: str) -> None:
    """A job submitted to a pool of the handler's own reports to the loop from its thread:
    the loop waits for it, until its done callbacks have run, instead of jumping over the
    30 s bound at once (runner bug 45: every attempt timed out, and the execution failed)."""
    started = time.monotonic()
    with DurableFunctionTestRunner(handler, isolation=isolation) as runner:
        result = runner.run({}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "uploaded"
    assert [e["EventType"] for e in result.history if e["EventType"].startswith("Step")] == [
        "StepStarted",
        "StepSucceeded",
    ]
    assert time.monotonic() - started < 20


def test_a_pool_job_not_waited_for_holds_no_timer_once_it_is_over() -> None:
    with DurableFunctionTestRunner(h.pool_job_then_five_minutes) as runner:
        result = runner.run({}, timeout=20)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == pytest.approx(300, abs=1)


@pytest.mark.parametrize("how", ["sleep", "event", "queue"])
def test_a_thread_that_idles_for_good_holds_no_timer(how: str) -> None:
    """A client made in a step starts a thread that lives on and idles (in ``time.sleep``,
    an ``Event.wait`` with a time-out, a queue's ``get``): parked past the loop's next
    timer, it cannot report before it, and the step's ten minutes of ``asyncio.sleep`` are
    a jump, not ten real minutes (before, every timer of the invocation came due in real
    time while the thread was alive)."""
    started = time.monotonic()
    with DurableFunctionTestRunner(h.lazy_client_then_ten_minutes) as runner:
        result = runner.run({"how": how}, timeout=10)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == pytest.approx(600, abs=1)
    assert time.monotonic() - started < 10


def test_a_thread_parked_only_until_its_next_poll_is_waited_for() -> None:
    with DurableFunctionTestRunner(h.thread_polls_then_reports) as runner:
        result = runner.run({}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "finished"
    assert [e["EventType"] for e in result.history if e["EventType"].startswith("Step")] == [
        "StepStarted",
        "StepSucceeded",
    ]


def test_a_module_level_client_s_sender_thread_fed_through_a_simple_queue_is_waited_for() -> None:
    """The producer's sender thread, running since import, waits in a ``queue.SimpleQueue``
    (a wait and a wake in C): the handler's ``put`` wakes it, and its report through
    ``call_soon_threadsafe`` under a 10 s bound is waited for; the loop jumped over the
    bound at once before (runner bug 52)."""
    with DurableFunctionTestRunner(h.module_producer_reports_to_the_loop) as runner:
        result = runner.run({}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "delivered"
    assert len(result.invocations) == 1  # no attempt timed out


@pytest.mark.parametrize("how", ["queue", "event"])
def test_a_module_level_worker_the_handler_wakes_is_waited_for(how: str) -> None:
    """A worker thread running since import, woken by the handler (a ``queue.Queue`` put, an
    ``Event`` set), reports through ``call_soon_threadsafe`` under a 10 s bound: the loop
    waits for it (runner bug 48); once it idles again, the step's minute of sleep jumps."""
    started = time.monotonic()
    with DurableFunctionTestRunner(h.module_uploader_reports_to_the_loop) as runner:
        result = runner.run({"how": how}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == {"etags": ["etag-a", "etag-b"]}
    assert len(result.invocations) == 1  # no attempt timed out
    assert time.monotonic() - started < 20


def test_a_worker_a_cold_sandbox_s_import_started_is_waited_for() -> None:
    """The worker a cold sandbox's import starts is still connecting (0.2 s) when the
    handler queues its job: no one waits on the queue yet, and no notify names it. It works
    for the invocation from the start (runner bug 51)."""
    from tests.integration import init_worker_handlers

    from async_durable_execution_runner.scenarios import Scenario, Timings

    outcome = Scenario(
        handler=init_worker_handlers.uploads_through_the_init_worker,
        timings=Timings(sandboxes=("cold",)),
    ).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
    assert outcome.value == ["etag-a"]
    assert len(outcome.invocations) == 2  # the step's attempt did not time out


def test_a_thread_pool_made_by_an_earlier_run_reports_through_the_loop() -> None:
    """The pool's threads were started by the first run; in the second, ``apply_async``
    wakes the pool's task handler, which hands the job to a worker in the pool's own code:
    that worker works for the invocation too, and its result's callback is waited for
    (runner bug 53: every attempt of the second run timed out at once)."""
    try:
        for run in range(2):
            with DurableFunctionTestRunner(h.thread_pool_callbacks) as runner:
                result = runner.run({}, timeout=60)
            assert result.execution_status is ExecutionStatus.SUCCEEDED, (run, result.error)
            assert result.result_value == [4, 9]
            assert len(result.invocations) == 1, run  # no attempt timed out
    finally:
        # (A pool left running writes to its notifier queue at the interpreter's exit.)
        for pool in h.THREAD_POOLS:
            pool.terminate()
        h.THREAD_POOLS.clear()


_WORKER_BEFORE_THE_RUNNER = """
import asyncio, queue, sys, threading, time

jobs = queue.%(queue)s()

def work():
    while True:
        key, done = jobs.get()
        time.sleep(0.01)
        done("etag-" + key)

worker = threading.Thread(target=work, daemon=True)
worker.start()
%(idle)s  # idle on its queue before the runner is imported

from async_durable_execution import durable_execution, step
from async_durable_execution_runner import DurableFunctionTestRunner

async def upload():
    loop = asyncio.get_running_loop()
    uploaded = loop.create_future()
    jobs.put(("a", lambda etag: loop.call_soon_threadsafe(uploaded.set_result, etag)))
    return await asyncio.wait_for(uploaded, timeout=10)

@durable_execution
async def handler(event):
    return await step(upload, name="upload")

with DurableFunctionTestRunner(handler) as runner:
    result = runner.run({}, timeout=30)
print(result.execution_status.value, result.result_value, len(result.invocations))
"""


@pytest.mark.parametrize(
    "queue_type",
    [
        "Queue",
        pytest.param(
            "SimpleQueue",
            marks=pytest.mark.xfail(
                strict=True,
                reason="a trap (docs/explanation/virtual-time.md): a queue.SimpleQueue made "
                "before the runner was imported is the C one, whose wake nothing sees; the "
                "loop jumps over the bound",
            ),
        ),
    ],
)
def test_a_worker_idle_since_before_the_runner_was_imported_is_waited_for(
    tmp_path: Path, queue_type: str
) -> None:
    """A module imported before the runner starts a worker that waits on its queue in the
    standard library's own ``Condition.wait`` (not yet wrapped): the handler's job wakes
    it, and it is waited for as any woken thread (runner bug 51)."""
    import subprocess
    import sys

    script = tmp_path / "worker_first.py"
    idle = {
        "Queue": "while not jobs.not_empty._waiters: time.sleep(0.001)",
        # (A C queue's waiters cannot be seen: it has been waiting for a while.)
        "SimpleQueue": "time.sleep(0.1)",
    }[queue_type]
    script.write_text(_WORKER_BEFORE_THE_RUNNER % {"queue": queue_type, "idle": idle})
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["SUCCEEDED", "etag-a", "1"], done.stdout + done.stderr[-3000:]


@pytest.mark.parametrize("seconds", [0.3, 1.5])
def test_a_thread_that_pauses_before_it_reports_is_waited_for(seconds: float) -> None:
    """Parked in its pause, the thread is parked past the SDK's next 0.1 s timer: the loop
    took it for idle and jumped, timer after timer, over the 30 s bound in milliseconds
    (runner bug 50). A pause this short is work under way."""
    with DurableFunctionTestRunner(h.thread_pauses_then_reports) as runner:
        result = runner.run({"seconds": seconds}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "answered"
    assert len(result.invocations) == 1  # no attempt timed out


@pytest.mark.parametrize("seconds", [3.0, 6.0])
def test_a_thread_that_pauses_longer_before_it_reports_is_waited_for(seconds: float) -> None:
    """A pause longer than a short one (``parked.SHORT_PARK``), the first of the thread's
    life: the loop took the thread for an idle flusher and jumped over the 30 s bound in
    milliseconds; every attempt timed out and the execution FAILED where Lambda waits the
    pause out (runner bug 54). The parks of a thread the invocation started are waited out
    in real time, up to ``parked.PARK_BUDGET`` in all."""
    started = time.monotonic()
    with DurableFunctionTestRunner(h.thread_pauses_then_reports) as runner:
        result = runner.run({"seconds": seconds}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "answered"
    assert len(result.invocations) == 1  # no attempt timed out
    assert time.monotonic() - started >= seconds


def test_a_thread_that_backs_off_twice_before_it_reports_is_waited_for() -> None:
    """Its second pause, longer than a short one, was jumped over as an idle flusher's round
    (only a thread's first park was waited out): every attempt timed out under the 30 s
    bound, and the execution FAILED where Lambda waits 3.5 s (runner bug 57)."""
    started = time.monotonic()
    with DurableFunctionTestRunner(h.thread_backs_off_then_reports) as runner:
        result = runner.run({"pauses": [0.5, 3.0]}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "answered"
    assert len(result.invocations) == 1  # no attempt timed out
    assert time.monotonic() - started >= 3.5


def test_a_module_level_worker_busy_when_the_handler_queues_is_waited_for() -> None:
    """The worker is busy with an item queued before the run (a third of a second) when the
    handler queues its own: no one is woken, yet the worker takes the handler's item next."""
    h.UPLOADERS["queue"].upload("earlier", lambda _: time.sleep(0.3))
    with DurableFunctionTestRunner(h.module_uploader_reports_to_the_loop) as runner:
        result = runner.run({"how": "queue"}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == {"etags": ["etag-a", "etag-b"]}
    assert len(result.invocations) == 1  # no attempt timed out


@pytest.mark.parametrize(
    ("handler", "options"),
    [
        (h.module_producer_reports_to_a_future, {}),
        (h.module_producer_reports_to_the_loop, {"handler_clock": "real"}),
    ],
    ids=["wrap_future", "handler_clock_real"],
)
def test_the_trap_s_two_ways_out(handler: Any, options: dict[str, Any]) -> None:
    """The report settles a future the loop counts as in flight; or the handler runs on a
    real-time loop (its own waits real, the service's still virtual)."""
    with DurableFunctionTestRunner(handler, **options) as runner:
        result = runner.run({}, timeout=30)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == "delivered"


def test_a_pool_s_idle_worker_does_not_make_waits_real() -> None:
    with DurableFunctionTestRunner(h.pool_then_five_minutes) as runner:
        result = runner.run({}, timeout=20)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert result.result_value == pytest.approx(300)
