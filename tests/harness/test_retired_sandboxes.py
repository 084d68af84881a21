"""Runner bug 58: a sandbox the runner retires, or that dies mid-request, is let go of as
Lambda lets go of one, without a word.

A handler that keeps an HTTP client in module state (``httpx``'s clients, ``openai``'s,
``aiohttp``'s session: what their documentation recommends for Lambda) holds pooled
keep-alive connections. A cold start retires the sandbox's copy of the module, and a sandbox
that crashes mid-request leaves the connection in flight to the pool that forgot it. Both
were collected whenever the collector next ran, each saying it was never closed
(``ResourceWarning``), in whatever test was running then; under ``filterwarnings = error``
that test failed. On Lambda the sandbox's process is killed and the kernel closes its
sockets: nothing is said (``_sandbox/retired.py``).
"""

from __future__ import annotations

import gc
import logging
import socket
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import connection_handlers as h
import connection_registry
import http_clients_services as service
import pytest
from async_durable_execution import durable_execution

from async_durable_execution_runner._sandbox import retired
from async_durable_execution_runner.scenarios import Scenario, Timings, body_crash

EXPECTED = {"first": service.price("lamp"), "second": service.price("desk")}
#: Enough retired copies for the runner to let go of them at least once.
RUNS = retired.KEPT + 1
#: More handlers than the runner keeps bound to its client.
OTHERS = 70


class _Said(logging.Handler):
    """What asyncio's exception handler logged (``aiohttp`` reports an unclosed session to
    the loop's exception handler too)."""

    def __init__(self, caught: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.caught = caught

    def emit(self, record: logging.LogRecord) -> None:
        self.caught.append(record.getMessage())


@contextmanager
def _unraisable() -> Iterator[list[str]]:
    """What finalisers raised meanwhile (a ``ResourceWarning`` made an error) or reported to
    asyncio's exception handler, with every earlier piece of garbage collected first."""
    gc.collect()
    caught: list[str] = []
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        caught.append(repr(unraisable.exc_value))

    said = _Said(caught)
    logging.getLogger("asyncio").addHandler(said)
    sys.unraisablehook = hook
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            yield caught
            gc.collect()
    finally:
        sys.unraisablehook = previous
        logging.getLogger("asyncio").removeHandler(said)


HANDLERS: list[Callable[..., Any]] = [h.async_client, h.sync_client, h.aiohttp_session]


@pytest.fixture(scope="module", autouse=True)
def _own_session_closed() -> Iterator[None]:
    """The test process's own copy of ``connection_handlers`` (the warm sandbox's) keeps its
    ``aiohttp`` session for the rest of the process, as a module-level client does: closed
    here, or the interpreter's exit said "Unclosed client session" after every suite run."""
    yield
    for session in h._SESSIONS:
        session._loop.run_until_complete(session.close())
    h._SESSIONS.clear()


def _other_handlers(count: int) -> None:
    """Run ``count`` other handlers once each, as a test suite goes on to other tests: the
    runner binds each to its client and, past a few dozen, forgets the oldest bindings (the
    retired copies' among them, which then become garbage)."""
    for index in range(count):

        @durable_execution
        async def other(event: Any, index: int = index) -> int:
            return index

        assert Scenario(handler=other).run().value == index


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda f: f.__name__)
def test_retired_sandboxes_say_nothing_of_their_module_level_clients(
    handler: Callable[..., Any],
) -> None:
    """Every run's second invocation starts cold: its copy of the module makes its own
    client, which the run's end retires with a pooled connection open. Later, whenever the
    runner lets go of the copies, none says anything."""
    with _unraisable() as caught:
        for _ in range(RUNS):
            outcome = Scenario(handler=handler, timings=Timings(sandboxes=("cold",))).run()
            assert outcome.value == EXPECTED
            assert [i.environment for i in outcome.recorder.invocations] == ["warm", "cold"]
        del outcome
        _other_handlers(OTHERS)
    assert caught == []


@pytest.mark.parametrize("suspension", [1, 3, 5])
def test_a_sandbox_that_dies_mid_request_says_nothing_either(suspension: int) -> None:
    """The sandbox dies while the first step's body waits for the server (a long poll); the
    next invocation is cold, and its copy is retired at the run's end."""
    with _unraisable() as caught:
        for _ in range(RUNS):
            outcome = Scenario(
                handler=h.async_client,
                faults=(body_crash(step=1, attempt=1, suspension=suspension),),
            ).run()
            assert outcome.value == EXPECTED
            assert outcome.faults_applied
        del outcome
        _other_handlers(OTHERS)
    assert caught == []


def test_a_copy_held_past_its_burial_is_let_go_of_at_a_later_one() -> None:
    """Something outside the sandbox holds each copy's module state (a function it
    registered; the harness's record of a step's error does the same through its
    traceback's frames) while the runner lets go of the copies: they wait for the next
    burial, and are collected there in silence once nothing holds them."""
    with _unraisable() as caught:
        for _ in range(RUNS):
            outcome = Scenario(
                handler=h.async_client_recorded, timings=Timings(sandboxes=("cold",))
            ).run()
            assert outcome.value == EXPECTED
        assert len(connection_registry.SEEN) == RUNS + 1  # the test's module and each copy
        connection_registry.SEEN.clear()
        for _ in range(RUNS):
            Scenario(handler=h.async_client, timings=Timings(sandboxes=("cold",))).run()
        del outcome
        _other_handlers(OTHERS)
    assert caught == []


def test_a_leak_of_the_test_s_own_is_still_reported() -> None:
    """Only what a retired sandbox left is collected in silence: a socket the test itself
    let go of unclosed (in a reference cycle, so that only the collector frees it) is
    reported when a burial collects it, as the collector would have reported it."""
    with _unraisable() as caught:
        leaked = socket.socket()
        cycle: list[Any] = [leaked]
        cycle.append(cycle)
        del leaked, cycle
        for _ in range(RUNS):
            Scenario(handler=h.async_client, timings=Timings(sandboxes=("cold",))).run()
    assert any("unclosed <socket.socket" in c for c in caught), caught
