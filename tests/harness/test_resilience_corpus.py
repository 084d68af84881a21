"""The session-42 false-flag audit: correct handlers built with resilience tools
(``examples/resilience.py``: ``tenacity``, ``backoff``, ``stamina`` under ``aiolimiter``, a
module-level circuit breaker waited out by durable retries, tokens in a
``cachetools.TTLCache``) are flagged by no oracle, warm or cold, under every fault kind.

Each tool keeps time its own way (``time.monotonic()``, ``datetime.now()``, ``loop.time()``,
a monotonic function bound at import), and two of them keep it across invocations at module
level: before runner bug 55 was fixed, a warm sandbox's monotonic clock stood still through
the service's waits, so the breaker was still open when the step's retry came 40 s later and
the cached token was used an hour after it expired. Both executions FAILED where Lambda
succeeds.

``DURABLE_RESILIENCE_EXAMPLES=300`` runs the campaign (or ``benchmarks/same_world.py --corpus
resilience --plans all``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import resilience
import resilience_handlers
import resilience_services as services
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios, step_events

from async_durable_execution_runner.oracles import FaultNotMasked
from async_durable_execution_runner.scenarios import Scenario, crash
from async_durable_execution_runner.strategies import fault_plans

CORPUS = resilience.CORPUS
price = services.price

#: What each entry returns without faults (a function of its input only).
EXPECTED: dict[str, Any] = {
    "tenacity_around_a_flaky_partner": {
        "prices": [price("lamp"), price("desk")],
        "extra": price("chair"),
    },
    "backoff_polls_a_report": {"report": services.report("q3-sales"), "price": price("q3-sales")},
    "stamina_under_a_rate_limit": {
        "first": sum(price(f"skus-{i}") for i in range(10)),
        "second": sum(price(f"skus-b-{i}") for i in range(6)),
    },
    "breaker_waits_out_between_retries": {"price": price("warehouse"), "again": price("warehouse")},
    "token_bucket_between_retries": {"prices": [price(key) for key in "abcdef"]},
    "cached_token_across_waits": {
        "answers": [
            f"{request}:{price('billing' + request)}"
            for request in ("orders", "invoices", "ship-eu", "ship-us", "ship-ap", "refunds")
        ]
    },
}


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name], SAME.get(name))


#: Entries whose value depends on the sandbox (how ``EXPECTED`` is compared): none yet.
SAME: dict[str, Any] = {}


def test_the_breaker_is_waited_out_by_the_step_s_own_retries() -> None:
    """Two failures open the breaker for 30 s; each durable retry, 40 s later, finds it half
    open and makes one trial call; the partner answers the fourth call."""
    outcome = fault_free(CORPUS["breaker_waits_out_between_retries"]).run()
    assert outcome.value == EXPECTED["breaker_waits_out_between_retries"]
    assert step_events(outcome, "partner") == [
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepSucceeded",
    ]
    # No attempt was refused by an open breaker: every one called the partner.
    assert services.CALLS["warehouse"] == 5  # four attempts and the step after
    outcome.check()


def test_a_call_the_bucket_refuses_is_retried_when_a_token_has_refilled() -> None:
    outcome = fault_free(CORPUS["token_bucket_between_retries"]).run()
    assert outcome.value == EXPECTED["token_bucket_between_retries"]
    # Three tokens, then one every 10 s: each later call is refused once, and its retry,
    # 10 s on, finds the token refilled.
    for key in "abc":
        assert step_events(outcome, f"call-{key}") == ["StepStarted", "StepSucceeded"]
    for key in "def":
        assert step_events(outcome, f"call-{key}") == [
            "StepStarted",
            "StepFailed",
            "StepStarted",
            "StepSucceeded",
        ]
    outcome.check()


def test_a_cached_token_is_fetched_again_after_each_wait_and_never_refused() -> None:
    outcome = fault_free(CORPUS["cached_token_across_waits"]).run()
    assert outcome.value == EXPECTED["cached_token_across_waits"]
    # Orders; after the hour, invoices and the map's calls; after 250 s more, refunds.
    assert services.ISSUED == {"billing": 3}
    assert services.REFUSED == []
    outcome.check()


def test_tenacity_retries_inside_one_attempt_on_the_loop_and_on_a_thread() -> None:
    outcome = fault_free(CORPUS["tenacity_around_a_flaky_partner"]).run()
    assert services.CALLS == {"lamp": 3, "desk": 3, "chair": 4}
    for name in ("price-lamp", "price-desk", "extra"):
        assert step_events(outcome, name) == ["StepStarted", "StepSucceeded"]
    outcome.check()


def test_backoff_polls_until_the_report_is_ready() -> None:
    outcome = fault_free(CORPUS["backoff_polls_a_report"]).run()
    assert services.POLLS == {"q3-sales": 4}
    assert step_events(outcome, "ready") == ["StepStarted", "StepSucceeded"]
    outcome.check()


@pytest.mark.parametrize("name", ["breaker_waits_out_between_retries", "cached_token_across_waits"])
def test_every_crash_point_passes(name: str) -> None:
    spec = CORPUS[name]
    Scenario(
        handler=spec["handler"], input=spec["input"], before_run=spec["before_run"]
    ).crash_points(budget=None).check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_RESILIENCE_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_a_resilience_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)


def test_a_breaker_in_module_state_run_over_cold_sandboxes_is_not_flagged() -> None:
    """Three crashes at the first checkpoint call run the step's first attempt in four
    sandboxes (warm, then three cold, each with a fresh breaker): three 503s and then the
    answer. The baseline, running the body four times in one sandbox, meets the breaker open
    on the third and fourth runs; it cannot start a sandbox afresh between two runs of one
    body, so the step is not judged (oracle bug 36)."""
    spec = CORPUS["breaker_waits_out_between_retries"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(crash(invocation=1, call=1, times=3),),
        before_run=spec["before_run"],
    ).run()
    assert [i.environment for i in outcome.recorder.invocations] == [
        "warm",
        "cold",
        "cold",
        "cold",
        "warm",
    ]
    assert outcome.value == EXPECTED["breaker_waits_out_between_retries"]
    outcome.check()


@pytest.mark.parametrize(
    "fault",
    [
        crash(invocation=1, call=2),  # the sandbox dies with the wait: the audit runs cold
        crash(invocation=2, call=1),  # it dies with the audit's start: its body runs twice
    ],
)
def test_a_step_that_records_its_new_sandbox_s_connection_is_not_flagged(fault: Any) -> None:
    """After the crash the audit runs in a cold sandbox, whose client opens a new connection,
    and records it: the warm baseline records the first sandbox's. Lambda starts sandboxes
    cold without any fault too, and a run without faults whose sandboxes are all cold gives
    the same value: the faults changed the module's state, not the world (oracle bug 37)."""
    outcome = Scenario(
        handler=resilience_handlers.records_the_connection_it_used,
        input={"client": "ledger"},
        faults=(fault,),
        before_run=resilience_handlers.reset,
    ).run()
    assert outcome.value["audit"]["connection"] == "ledger-conn-2"
    outcome.check()


def test_a_connection_only_extra_sandboxes_open_is_flagged() -> None:
    """Two crashes at the first call run the first step in three sandboxes, each opening a
    connection: the audit records the third, which no run without faults gives (two
    invocations, two sandboxes at most). The partner's state is the world, and the re-runs
    changed it: flagged, as a non-idempotent step whose effect a later step reads is."""
    outcome = Scenario(
        handler=resilience_handlers.records_the_connection_it_used,
        input={"client": "ledger"},
        faults=(crash(invocation=1, call=1, times=2),),
        before_run=resilience_handlers.reset,
    ).run()
    assert outcome.value["audit"]["connection"] == "ledger-conn-3"
    with pytest.raises(FaultNotMasked, match=r"step 'audit' .*ledger-conn-3.*ledger-conn-1"):
        outcome.check()
