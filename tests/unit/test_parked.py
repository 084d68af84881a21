"""``_service/parked.py``: which threads are parked, and until when at the least."""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable

import pytest

from async_durable_execution_runner._service import parked
from async_durable_execution_runner._service.handler_clock import real_monotonic


def _parked_while(
    idle: Callable[[], object], wake: Callable[[], object]
) -> tuple[float | None, float | None]:
    """Run ``idle`` in a thread until ``wake`` ends it; what ``parked_until`` says of that
    thread while it idles, and once it has stopped."""
    thread = threading.Thread(target=idle, daemon=True)
    thread.start()
    deadline = real_monotonic() + 5
    while parked.parked_until(thread.ident) is None and real_monotonic() < deadline:
        time.sleep(0.001)
    during = parked.parked_until(thread.ident)
    wake()
    thread.join(5)
    assert not thread.is_alive()
    return during, parked.parked_until(thread.ident)


def test_a_sleeping_thread_is_parked_until_its_sleep_ends() -> None:
    asked = real_monotonic()
    during, after = _parked_while(lambda: time.sleep(0.3), lambda: None)
    assert during is not None
    assert asked + 0.3 <= during <= real_monotonic() + 0.3
    assert after is None


@pytest.mark.parametrize("bounded", [False, True], ids=["until_woken", "with_a_time_out"])
def test_a_thread_waiting_for_an_event_is_parked(bounded: bool) -> None:
    event = threading.Event()
    idle = (lambda: event.wait(30)) if bounded else event.wait
    during, after = _parked_while(idle, event.set)
    assert during is not None
    assert (during < math.inf) is bounded
    assert after is None


def test_a_thread_waiting_on_a_queue_is_parked() -> None:
    lines: queue.Queue[str] = queue.Queue()
    during, after = _parked_while(lines.get, lambda: lines.put("line"))
    assert during == math.inf
    assert after is None


def test_a_non_blocking_wait_is_not_parking() -> None:
    condition = threading.Condition()
    with condition:
        assert condition.wait(0) is False
    assert parked.parked_until(threading.get_ident()) is None
    assert parked.parked_until(None) is None
