"""``_sandbox/parked.py``: which threads are parked, and until when at the least."""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from types import FrameType

import pytest

from async_durable_execution_runner._sandbox import parked
from async_durable_execution_runner._service.clock import real_monotonic


def _until_parked(thread: threading.Thread) -> None:
    """Wait (5 s at most) until ``thread`` is parked."""
    deadline = real_monotonic() + 5
    while parked.parked_until(thread.ident) is None and real_monotonic() < deadline:
        time.sleep(0.001)


def _parked_while(
    idle: Callable[[], object], wake: Callable[[], object]
) -> tuple[float | None, float | None]:
    """Run ``idle`` in a thread until ``wake`` ends it; what ``parked_until`` says of that
    thread while it idles, and once it has stopped."""
    thread = threading.Thread(target=idle, daemon=True)
    thread.start()
    _until_parked(thread)
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


def _waiting(condition: threading.Condition, count: int) -> list[threading.Thread]:
    """``count`` threads waiting on ``condition`` (for good), each parked before the next
    starts: the order they wait in."""
    threads = []
    for _ in range(count):

        def wait() -> None:
            with condition:
                condition.wait()

        thread = threading.Thread(target=wait, daemon=True)
        thread.start()
        _until_parked(thread)
        threads.append(thread)
    return threads


@pytest.fixture
def woken_heard(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], str]]:
    """What ``parked.on_wake`` hears meanwhile from the test's own thread: the ids woken, and
    the calling function. (A thread an earlier test of the same worker process left running
    may notify meanwhile: under load one did, 64 times, in a 3.13 run.)"""
    heard: list[tuple[list[int], str]] = []
    mine = threading.get_ident()

    def on_wake(idents: list[int], frame: FrameType) -> None:
        if threading.get_ident() == mine:
            heard.append((idents, frame.f_code.co_name))

    monkeypatch.setattr(parked, "on_wake", on_wake)
    return heard


def test_a_woken_thread_is_parked_no_longer_before_it_runs() -> None:
    """Before it has run (the notifier still holds the lock it must take back): a loop that
    looked meanwhile took a worker just handed a job for idle, and jumped over its report's
    timer (runner bug 48)."""
    condition = threading.Condition()
    (thread,) = _waiting(condition, 1)
    with condition:
        assert parked.parked_until(thread.ident) == math.inf
        condition.notify()
        assert parked.parked_until(thread.ident) is None
    thread.join(5)
    assert not thread.is_alive()


def test_notify_tells_which_threads_it_woke_first_in_first_out(
    woken_heard: list[tuple[list[int], str]],
) -> None:
    condition = threading.Condition()
    threads = _waiting(condition, 3)

    def hand_over() -> None:
        with condition:
            condition.notify(2)
            condition.notify_all()

    woken_heard.clear()  # (each ``Thread.start`` waits to hear the thread has started)
    hand_over()
    for thread in threads:
        thread.join(5)
    assert woken_heard == [
        ([threads[0].ident, threads[1].ident], "hand_over"),
        ([threads[2].ident], "notify_all"),
    ]


def test_a_waiter_that_timed_out_is_not_woken(woken_heard: list[tuple[list[int], str]]) -> None:
    condition = threading.Condition()
    with condition:
        assert condition.wait(0.01) is False
        condition.notify()
    assert woken_heard == []
    assert not condition.__dict__.get("_parked_idents")


def test_a_notify_that_wakes_no_one_tells_of_the_busy_consumers(
    woken_heard: list[tuple[list[int], str]],
) -> None:
    """A queue's consumer busy with the last item when the next is put: it takes that one
    next, so the put is heard as for it (and not for the putter, a waiter there before)."""
    jobs: queue.Queue[threading.Event] = queue.Queue()
    started, release = threading.Event(), threading.Event()

    def consume() -> None:
        job = jobs.get()
        started.set()
        job.wait(5)  # busy (elsewhere) with the first item
        jobs.get(timeout=5)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    _until_parked(consumer)
    with jobs.mutex:
        jobs.not_empty.wait(0.001)  # the putter has waited here too
    jobs.put(release)
    assert started.wait(5)
    woken_heard.clear()

    def put_next() -> None:
        jobs.put(threading.Event())

    put_next()
    release.set()
    consumer.join(5)
    assert not consumer.is_alive()
    assert woken_heard[0] == ([consumer.ident], "put")


def test_a_short_pause_is_not_idle_and_a_long_one_is() -> None:
    """Idle for a timer only when parked past it and for longer than a short pause."""
    for seconds, timer, idle in ((0.3, 0.1, False), (30, 0.1, True), (30, 60, False)):
        event = threading.Event()
        thread = threading.Thread(target=event.wait, args=(seconds,), daemon=True)
        thread.start()
        _until_parked(thread)
        assert parked.idle_for(thread.ident, timer) is idle, (seconds, timer)
        event.set()
        thread.join(5)
    assert not parked.idle_for(threading.get_ident(), 0)  # not parked: working


# --- queue.SimpleQueue (a wait and a wake in C) ---------------------------------------


def test_a_simple_queue_made_after_the_runner_is_the_parked_one() -> None:
    """``queue.SimpleQueue`` is replaced at import, as ``Condition``'s methods are: a queue
    made since then is one whose waits and wakes are seen (runner bug 52)."""
    assert isinstance(queue.SimpleQueue(), parked.ParkedSimpleQueue)
    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    jobs.put(1)
    jobs.put_nowait(2)
    assert (jobs.get(), jobs.get_nowait(), jobs.qsize(), jobs.empty()) == (1, 2, 0, True)
    with pytest.raises(queue.Empty):
        jobs.get(timeout=0.01)


def test_a_thread_waiting_on_a_simple_queue_is_parked() -> None:
    jobs: queue.SimpleQueue[str] = queue.SimpleQueue()
    during, after = _parked_while(jobs.get, lambda: jobs.put("job"))
    assert during == math.inf
    assert after is None
    bounded, after = _parked_while(lambda: jobs.get(timeout=30), lambda: jobs.put("job"))
    assert bounded is not None and bounded < math.inf
    assert after is None


@pytest.mark.parametrize("how", ["put", "put_nowait"])
def test_a_simple_queue_s_put_tells_which_waiter_it_woke(
    how: str, woken_heard: list[tuple[list[int], str]]
) -> None:
    jobs: queue.SimpleQueue[str] = queue.SimpleQueue()
    consumer = threading.Thread(target=jobs.get, daemon=True)
    consumer.start()
    _until_parked(consumer)

    def hand_over() -> None:
        getattr(jobs, how)("job")

    woken_heard.clear()
    hand_over()
    # Runnable at once, before it has run: not taken for idle meanwhile.
    assert parked.parked_until(consumer.ident) is None
    consumer.join(5)
    assert not consumer.is_alive()
    assert woken_heard == [([consumer.ident], "hand_over")]


def test_a_simple_queue_s_put_with_no_waiter_tells_of_its_busy_consumer(
    woken_heard: list[tuple[list[int], str]],
) -> None:
    jobs: queue.SimpleQueue[threading.Event] = queue.SimpleQueue()
    started = threading.Event()

    def consume() -> None:
        jobs.get().wait(5)  # busy with the first item
        started.set()
        jobs.get(timeout=5)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    _until_parked(consumer)
    release = threading.Event()
    jobs.put(release)
    deadline = real_monotonic() + 5
    while parked.parked_until(consumer.ident) is not None and real_monotonic() < deadline:
        time.sleep(0.001)  # it has taken the first item: busy
    woken_heard.clear()
    jobs.put(threading.Event())
    release.set()
    consumer.join(5)
    assert not consumer.is_alive()
    assert woken_heard[0] == (
        [consumer.ident],
        "test_a_simple_queue_s_put_with_no_waiter_tells_of_its_busy_consumer",
    )


def test_a_simple_queue_waiter_that_timed_out_is_not_woken(
    woken_heard: list[tuple[list[int], str]],
) -> None:
    jobs: queue.SimpleQueue[str] = queue.SimpleQueue()
    with pytest.raises(queue.Empty):
        jobs.get(timeout=0.01)
    assert not jobs.__dict__.get("_parked_idents")
    jobs.put("job")
    # (The one who waited is the putter itself.) Only this put is asked about: a thread left
    # by an earlier test of the same worker process may notify meanwhile.
    mine = "test_a_simple_queue_waiter_that_timed_out_is_not_woken"
    assert [heard for heard in woken_heard if heard[1] == mine] == []


def test_a_simple_queue_loses_nothing_under_racing_producers_and_consumers() -> None:
    """Its waiters are queued without a lock, and the C queue's lock, not the order they
    came in, picks the one a ``put`` wakes: a waiter the ``put`` did not name may leave
    first, and one it named may wait on. Neither may raise or lose the item it took.
    (Blocking gets: a timed ``get`` of CPython 3.11's own ``SimpleQueue`` can wait past its
    time-out for the next ``put`` when another consumer takes the item it was woken for.)"""
    jobs: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    taken: list[int] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            while (item := jobs.get()) is not None:
                taken.append(item)
        except BaseException as error:
            errors.append(error)

    def produce(start: int) -> None:
        for item in range(start, start + 3000):
            (jobs.put if item % 2 else jobs.put_nowait)(item)

    consumers = [threading.Thread(target=consume) for _ in range(4)]
    producers = [threading.Thread(target=produce, args=(n * 3000,)) for n in range(2)]
    for thread in consumers + producers:
        thread.start()
    for thread in producers:
        thread.join(30)
    for _ in consumers:
        jobs.put(None)
    for thread in consumers:
        thread.join(30)
    assert errors == []
    assert not any(thread.is_alive() for thread in consumers)
    assert sorted(taken) == list(range(6000))
