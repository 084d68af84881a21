"""Runner bug 59: a retired sandbox's own threads end with it, as they die with the sandbox's
process on Lambda.

Telemetry and client libraries start a thread when the module is imported, or on first use,
that wakes every second or so for the life of the process (OpenTelemetry's batch span
processor and periodic metric reader, a log shipper's flusher). In-process every cold start
imports the module afresh and started another, and the retired sandboxes' threads lived on:
a campaign over a handler instrumented with OpenTelemetry ran thousands of them, and its
examples got slower and slower (most of the time in the kernel, switching between them). The
test process's own module keeps its threads, and so does a library's worker that every
sandbox shares (``_sandbox/retired.py``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import thread_handlers as h
import thread_registry

from async_durable_execution_runner.scenarios import Scenario, Timings

#: Cold executions: each imports the handler's module afresh in its second invocation.
RUNS = 12
EXPECTED = {"first": "LAMP", "second": "DESK"}


def _named(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def _settled(name: str, at_most: int, seconds: float = 5.0) -> list[threading.Thread]:
    """The threads called ``name`` once at most ``at_most`` are left (or ``seconds`` passed):
    an ended thread stops at its next wake-up."""
    deadline = time.perf_counter() + seconds
    while len(_named(name)) > at_most and time.perf_counter() < deadline:
        time.sleep(0.01)
    return _named(name)


def _cold_runs(handler: Any, expected: dict[str, Any]) -> None:
    for _ in range(RUNS):
        outcome = Scenario(handler=handler, timings=Timings(sandboxes=("cold",))).run()
        assert outcome.value == expected
        outcome.check()


def test_a_thread_a_retired_sandbox_started_at_import_ends_with_it() -> None:
    _cold_runs(h.imported_flusher, EXPECTED)
    # One flusher per sandbox before the fix: the test's own and one per cold start.
    assert _settled("imported-flusher", 1) == [h.FLUSHER.thread]
    assert h.FLUSHER.thread.is_alive()


def test_a_thread_a_retired_sandbox_started_on_first_use_ends_with_it() -> None:
    _cold_runs(h.lazy_flusher, EXPECTED)
    # The test's own module started one in the first invocation of the first run; each cold
    # sandbox started its own in the second.
    left = _settled("lazy-flusher", 1)
    assert len(left) == 1
    assert h._LAZY and left == [h._LAZY[0].thread]


def test_a_library_worker_every_sandbox_shares_lives_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's worker is first needed in a cold sandbox, which starts it; the test's
    own module holds the library's client too: the worker is the process's, not the
    sandbox's, and later sandboxes go on using it."""
    registry = thread_registry.Registry()
    monkeypatch.setattr(thread_registry, "REGISTRY", registry)
    monkeypatch.setattr(h, "REGISTRY", registry)
    for _ in range(3):
        outcome = Scenario(handler=h.shared_worker, timings=Timings(sandboxes=("cold",))).run()
        assert outcome.value == {"first": "LAMP"}
        outcome.check()
    worker = registry.worker
    assert worker is not None
    time.sleep(10 * h.FLUSH_EVERY)  # several of its wake-ups
    assert worker.is_alive()
    deadline = time.perf_counter() + 5
    while len(registry.done) < 3 and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert registry.done == ["lamp", "lamp", "lamp"]


def test_an_ended_thread_is_not_reported_as_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ended as a process's death ends it: nothing reaches ``threading.excepthook`` (pytest's
    reports any exception a thread ends with, and would fail the test that runs then)."""
    reported: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", reported.append)
    before = len(_named("imported-flusher"))
    _cold_runs(h.imported_flusher, EXPECTED)
    assert len(_settled("imported-flusher", before)) == before
    assert reported == []
