"""The session-41 false-flag audit: correct handlers whose steps talk HTTP to a real server on
loopback (``examples/http_clients.py``: a pooled ``requests`` session whose adapter retries,
``aiohttp`` sessions in map items and an idempotent ``POST``, a thread pool of blocking
requests and one through ``asyncio.to_thread``, long polls under time-outs) are flagged by no
oracle, warm or cold, under every fault kind.

The runner's virtual-time loop meets real sockets here, served by real threads: a time-out
around a request must wait for the answer in real time, not be jumped over because the
server's thread is asleep.

The corpus runs a few examples per entry here (the long poll, 2.2 s of real time per run,
only fault-free: the campaign draws its plans); ``DURABLE_HTTP_CLIENTS_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus http-clients --plans all``).
"""

from __future__ import annotations

import os
from typing import Any

import http_clients
import http_clients_services as service
import pytest
from corpus import check_every, returns_fault_free_warm_and_cold, scenarios, step_events

from async_durable_execution_runner.scenarios import Scenario, body_crash, crash
from async_durable_execution_runner.strategies import fault_plans

CORPUS = http_clients.CORPUS

#: What each entry returns without faults (a function of its input only).
EXPECTED: dict[str, Any] = {
    "session_with_retries": {
        "total": sum(map(service.price, ["lamp", "sofa", "mug"])),
        "answered": True,
    },
    "aiohttp_map_then_post": {
        "amounts": [
            service.price("north") + 100,
            service.price("east") + 200,
            service.price("south") + 300,
        ],
        "order": "order-17",
        "total": sum(map(service.price, ["north", "east", "south"])) + 600,
    },
    "pool_and_thread_fetches": {
        "prices": [service.price(item) for item in ["pen", "ink", "pad", "cap"]],
        "slept": 300,
    },
    "long_poll_under_timeouts": {"polled": 2200, "by_hand": 300},
}

#: Entries whose runs take seconds of real time: judged fault-free here, under drawn plans by
#: the campaign.
SLOW = {"long_poll_under_timeouts"}


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])


def _run(name: str, *faults: Any) -> Any:
    spec = CORPUS[name]
    return Scenario(
        handler=spec["handler"], input=spec["input"], faults=faults, before_run=spec["before_run"]
    ).run()


def test_the_adapter_retries_the_503s_inside_one_attempt() -> None:
    outcome = _run("session_with_retries")
    # Two 503s, then the answer: urllib3's back-off slept between them on the loop's thread,
    # and the step saw one call that succeeded.
    assert service.FLAKY_SEEN == {"stock-feed": 3}
    assert step_events(outcome, "flaky") == ["StepStarted", "StepSucceeded"]
    outcome.check()


def test_a_long_poll_is_waited_for_not_timed_out() -> None:
    outcome = _run("long_poll_under_timeouts")
    # The server's thread sleeps 2.2 s before it answers; the 5 s time-outs around the request
    # are the loop's timers, which must not come due while the socket is waited on.
    assert step_events(outcome, "long-poll") == ["StepStarted", "StepSucceeded"]
    assert step_events(outcome, "by-hand") == ["StepStarted", "StepSucceeded"]
    assert outcome.value == EXPECTED["long_poll_under_timeouts"]


@pytest.mark.parametrize(
    "fault",
    [
        # The sandbox dies once the POST is answered, before the step's result is
        # checkpointed: the re-run posts again with the same key.
        crash(invocation=2, call=1),
        # It dies inside the body, the POST sent: the same.
        body_crash(step=4, attempt=1, suspension=3),
    ],
)
def test_an_order_posted_again_by_a_re_run_is_created_once(fault: Any) -> None:
    outcome = _run("aiohttp_map_then_post", fault)
    assert outcome.faults_applied == (fault,)
    assert [r for r in service.REQUESTS if r[0] == "POST"] == [("POST", "/orders")] * 2
    assert list(service.ORDERS) == ["order-17"]
    assert outcome.value == EXPECTED["aiohttp_map_then_post"]
    outcome.check()


@pytest.mark.parametrize("name", ["session_with_retries", "pool_and_thread_fetches"])
def test_every_crash_point_of_a_quick_entry_passes(name: str) -> None:
    spec = CORPUS[name]
    Scenario(
        handler=spec["handler"], input=spec["input"], before_run=spec["before_run"]
    ).crash_points(budget=None).check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_HTTP_CLIENTS_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(set(CORPUS) - SLOW))
def test_no_default_fault_plan_flags_an_http_client_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
