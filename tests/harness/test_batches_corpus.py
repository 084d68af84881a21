"""The session-31 false-flag audit Q: correct handlers that use the batch options no other
corpus uses (``examples/batches.py``: ``CompletionConfig.custom()`` deciding a replica quorum
and a damage budget, ``first_successful()`` racing mirrors, ``all_successful()`` over
reservations cancelled on failure, ``get_map_item_context()``, a custom completion that waits
for every item) are flagged by no oracle, warm or cold, under every fault kind.

The corpus runs a few examples per entry here; ``DURABLE_BATCHES_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus batches --plans all``, which also counts the
faults that landed).
"""

from __future__ import annotations

import os
from typing import Any

import batches
import batches_services as services
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios

from async_durable_execution_runner.scenarios import Scenario, crash, step_exception
from async_durable_execution_runner.strategies import fault_plans

CORPUS = batches.CORPUS

#: What each entry returns without faults (a function of its input only).
EXPECTED: dict[str, Any] = {
    "replica_quorum": {"durable": True, "reason": "CUSTOM_COMPLETION_SUCCEEDED"},
    "replica_quorum_lost": {"durable": False, "reason": "CUSTOM_COMPLETION_FAILED"},
    "shipments_with_damage_budget": {"round_ok": True},
    "shipments_over_budget": {"round_ok": False},
    "fastest_mirror": {"mirror": "eu", "digest": "0c71d37ced6c4e42"},
    "reservations_all_or_none": {"booked": False, "failed": "show", "why": "CallableRuntimeError"},
    "reservations_all_booked": {"booked": True, "cancelled": 0},
    "neighbour_deltas": {"deltas": [0, 12, 18, 1, 19, 30], "total": 80},
    "fleet_health": {"healthy": 4, "unreachable": ["d3", "d5"]},
}


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])


# --- what the options do, pinned -------------------------------------------------------------


def test_a_custom_quorum_completes_before_the_far_replica_answers() -> None:
    # Three acknowledgements decide the write in the first invocation; the far replica's
    # minute-long wait is left open, as the SDK abandons branches a completed batch no longer
    # needs (the open-operations oracle lets them be).
    outcome = fault_free(CORPUS["replica_quorum"]).run()
    writes = [e["Name"] for e in outcome.history if e["EventType"] == "StepSucceeded"]
    assert {"write-r1", "write-r3", "write-r4"} <= set(writes)
    assert "write-r5" not in writes
    assert len(outcome.invocations) == 1
    assert services.OUTCOMES and set(services.OUTCOMES.values()) == {"committed"}
    outcome.check()


def test_the_nearest_mirror_wins_and_the_others_stay_open() -> None:
    outcome = fault_free(CORPUS["fastest_mirror"]).run()
    downloads = [e["Name"] for e in outcome.history if e["EventType"] == "StepSucceeded"]
    assert downloads == ["download-eu"]
    waits = {e["Name"] for e in outcome.history if e["EventType"] == "WaitStarted"}
    assert waits == {"eu-latency", "us-latency", "ap-latency"}
    outcome.check()


def test_a_failed_all_or_none_batch_cancels_every_reservation_it_made() -> None:
    outcome = fault_free(CORPUS["reservations_all_or_none"]).run()
    assert outcome.value["booked"] is False
    assert services.RESERVATIONS
    assert set(services.RESERVATIONS.values()) == {"cancelled"}
    outcome.check()


def test_a_crash_inside_the_sweep_still_waits_for_every_ping() -> None:
    # The sandbox dies while the far devices' waits are pending: the sweep resumes from its
    # checkpoints and the custom completion still waits for all six pings.
    outcome = Scenario(
        handler=CORPUS["fleet_health"]["handler"],
        faults=(crash(invocation=1, call=2),),
        before_run=services.reset,
    ).run()
    assert outcome.faults_applied == (crash(invocation=1, call=2),)
    assert outcome.value == EXPECTED["fleet_health"]
    outcome.check()


def test_an_injected_failure_can_tip_the_damage_budget() -> None:
    # Not masked: a third damaged parcel (the first step, failed on both attempts) makes
    # the round fail, and no oracle calls that a false outcome.
    outcome = Scenario(
        handler=CORPUS["shipments_with_damage_budget"]["handler"],
        faults=(step_exception(step=1, attempt=1, times=2),),
    ).run()
    assert outcome.applied("step_exception")
    assert outcome.value["round_ok"] is False
    outcome.check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_BATCHES_EXAMPLES", "0"))


# A crash that lands after a batch under max_concurrency was decided, before its result was
# checkpointed, meets SDK finding 17, which check() labels and warns about: accepted here.
@pytest.mark.filterwarnings("default::async_durable_execution_runner.oracles.KnownSdkIssueWarning")
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_a_batch_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
