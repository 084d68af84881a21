"""Genuine hangs in blocking and threaded code (the session-20 audit E): given up on at the
runner's deadline on the calling thread, reported at the blocked line, and the runner stays
usable. ``examples/blocking.py`` holds the correct twins of these."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import blocking
import pytest
from async_durable_execution import InvocationStatus
from tests.integration import blocking_hangs as h

from async_durable_execution_runner import DurableFunctionTestRunner, ExecutionNotFinishedError
from async_durable_execution_runner._sandbox import hang_alarm

pytestmark = pytest.mark.skipif(not hang_alarm.usable(), reason="needs SIGALRM on the main thread")


@pytest.fixture(autouse=True)
def _release_hung_threads() -> Iterator[None]:
    h.RELEASE.clear()
    yield
    h.RELEASE.set()


def _hang(handler: object, timeout: float = 0.5) -> str:
    with DurableFunctionTestRunner(handler=handler) as runner:  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(ExecutionNotFinishedError) as info:
            runner.run(timeout=timeout)
        assert time.monotonic() - started < 5
        (arn,) = runner.executor.executions
        error = runner.get_result(arn).error
        assert error is not None and error.type == "Sandbox.Timedout"
    h.RELEASE.set()
    # The runner stays usable on this thread: a correct handler that blocks and uses threads.
    with DurableFunctionTestRunner(handler=blocking.executor_digests) as runner:
        assert runner.run(timeout=30).status is InvocationStatus.SUCCEEDED
    return str(info.value)


def test_a_hang_after_the_handlers_own_alarm_is_still_given_up_on() -> None:
    # The step's time limit replaced the SIGALRM handler and set, then cleared, the interval
    # timer: the runner's deadline alarm went with it, and the later hang ran its 30 s.
    error = _hang(h.hangs_after_its_own_alarm)
    assert "did not return within" in error
    assert "time.sleep(30)" in error
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL


def test_a_hang_joining_a_thread_names_the_join() -> None:
    error = _hang(h.hangs_joining_a_thread)
    assert "worker.join()" in error


def test_a_hang_on_a_silent_socket_names_the_read() -> None:
    error = _hang(h.hangs_on_a_silent_socket)
    assert "conn.recv(4096)" in error


def test_a_hang_awaiting_a_thread_names_the_await() -> None:
    error = _hang(h.hangs_in_to_thread)
    assert "asyncio.to_thread(RELEASE.wait)" in error
