"""The session-25 false-flag audit M: correct handlers that keep state in their module the way
Lambda code does (``examples/sandbox_lifecycle.py``: lazy caches and clients, configuration
read at import with an init error the service retries, per-invocation logger keys, a metrics
buffer flushed per invocation, an "in progress" flag, a module-level semaphore, an async
client bound to its loop, finalizers, a runtime exit and a bounded stall) are flagged by no
oracle; their wrong twins (``sandbox_lifecycle_handlers.py``) are, in the worlds Lambda
makes: a crash's cold re-invocation, a drawn cold sandbox, a warm re-invocation.

The corpus runs a few examples per handler here; ``DURABLE_LIFECYCLE_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus sandbox-lifecycle --plans all``, which also
counts the faults that landed).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from typing import Any

import pytest
import sandbox_lifecycle
import sandbox_lifecycle_services as services
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios
from tests.harness import sandbox_lifecycle_handlers as wrong
from tests.sdk_order import EAGER_TASKS

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner.oracles import (
    ExecutionHung,
    FaultNotMasked,
    KnownSdkIssueWarning,
    ReplayDivergence,
)
from async_durable_execution_runner.scenarios import (
    Outcome,
    Scenario,
    Timings,
    crash,
    duplicate_invocation,
)
from async_durable_execution_runner.strategies import fault_plans

CORPUS = sandbox_lifecycle.CORPUS

#: What each entry returns without faults.
EXPECTED: dict[str, Any] = {
    "async_client_reused": {
        "etags": ["8a5edab2", "26315ce1", "edf54f1e", "c6ba053c", "979bddc4"],
        "recheck": "8a5edab2",
    },
    "bounded_partner": {"scores": [33, 24, 30, 37, 37, 48], "again": [33, 24, 30]},
    "bounded_stall": {
        "report": {"key": "q4-report", "report": "73339d90f070"},
        "published": "published-73339d90f070",
    },
    "cached_config": {"net": 3697, "gross": 4399, "currency": "EUR"},
    "compiled_rules": {"valid": ["ABC-123", "XYZ-900"], "coupon": True, "total": 920},
    "config_at_import": {"lines": 2, "taxed": 2380, "currency": "EUR"},
    "exits_once": {"priced": 1000, "invoice": "pdf-o-9-4", "mailed": "mailed-pdf-o-9-4"},
    "finalizers": {"audited": ["audit-e1", "audit-e2"]},
    "in_progress_flag": {"rows": {"orders": 6000, "refunds": 7000}},
    "memoised_rates": {"converted": {"USD": 12030, "GBP": 10450, "JPY": 7580}, "recheck": 1.203},
    "metrics_flushed": {"priced": [300, 300, 500], "settled": 1100},
    "pooled_connection": {"stock": [6, 10, 6, 6, 10], "recheck": 6},
    "sandbox_identity": {"parts": ["X", "Y", "Z"]},
    "structured_logger": {"reserved": ["res-o-7-a", "res-o-7-b"], "shipped": "ship-o-7-2"},
    "tmp_file_cache": {"costs": [450, 1200, 900, 450], "total": 3000},
    "token_cache": {"posted": ["posted-rent-90000", "posted-power-7000", "posted-water-3000"]},
}


def _sandboxes(outcome: Outcome) -> list[tuple[str, str | None]]:
    return [(info.environment, info.error_type) for info in outcome.invocations]


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])


def test_an_outage_at_import_is_an_init_error_the_service_retries_cold() -> None:
    warm = fault_free(CORPUS["config_at_import"]).run()
    assert _sandboxes(warm) == [("warm", None), ("warm", None)]  # no import, no outage
    cold = fault_free(CORPUS["config_at_import"], ("cold",)).run()
    assert _sandboxes(cold) == [
        ("warm", None),
        ("cold", "ParameterStoreUnavailable"),
        ("cold", None),
    ]


def test_a_runtime_exit_in_a_step_ends_the_sandbox_and_the_step_runs_again_cold() -> None:
    renders = services.RENDERER.renders
    outcome = fault_free(CORPUS["exits_once"]).run()
    assert _sandboxes(outcome) == [("warm", "Runtime.ExitError"), ("cold", None)]
    assert services.RENDERER.renders - renders == 2  # the render that took it down, and again


def test_a_bounded_stall_is_a_step_retry_within_the_function_timeout() -> None:
    outcome = fault_free(CORPUS["bounded_stall"]).run()
    assert "Sandbox.Timedout" not in {error for _, error in _sandboxes(outcome)}
    assert outcome.result.get_step("report").attempt == 2


def test_a_cold_sandbox_starts_its_metrics_and_logger_keys_over() -> None:
    outcome = fault_free(CORPUS["metrics_flushed"], ("cold",)).run()
    batches = [[m["name"] for m in batch["metrics"]] for batch in services.METRICS]
    assert len(batches) == len(outcome.invocations) == 2
    assert batches[1][0] == "ColdStart"  # the cold sandbox's first metric
    outcome = fault_free(CORPUS["metrics_flushed"]).run()
    assert "ColdStart" not in [m["name"] for m in services.METRICS[1]["metrics"]]

    outcome = fault_free(CORPUS["structured_logger"], ("cold",)).run()
    requests = [info.request_id for info in outcome.invocations]
    lines = [json.loads(line["message"]) for line in services.LOG_LINES]
    assert [line["request_id"] for line in lines] == [requests[0]] * 3 + [requests[1]] * 3
    assert lines[0]["sandbox"] != lines[-1]["sandbox"]


def test_a_function_timeout_once_recovers_cold_and_the_liveness_oracle_flags_it() -> None:
    # The partner stalls for 1,200 s with no bound on the call: Lambda stops the sandbox at
    # 900 s, the next invocation is cold and goes on. The liveness oracle flags the timeout
    # by policy (a handler with an unbounded call into a partner that can stall);
    # bounded_stall is the handler written to survive it.
    outcome = Scenario(
        handler=wrong.times_out_once, input={"key": "k"}, before_run=sandbox_lifecycle.arm_stall
    ).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED
    assert _sandboxes(outcome)[:2] == [("warm", "Sandbox.Timedout"), ("cold", None)]
    with pytest.raises(ExecutionHung, match="ran past the function's timeout"):
        outcome.check()


# --- the wrong twins, flagged in the worlds Lambda makes ---------------------------------------


def _run(handler: Any, event: Any, *faults: Any, sandboxes: tuple[str, ...] = ()) -> Outcome:
    return Scenario(
        handler=handler,
        input=event,
        faults=faults,
        timings=Timings(sandboxes=sandboxes),
        before_run=services.reset,
    ).run()


def test_a_module_cache_that_skips_a_step_is_flagged_on_a_warm_replay() -> None:
    event = {"order": f"o-{uuid.uuid4().hex[:8]}", "cents": 500}
    with pytest.raises(ReplayDivergence, match="checkpoint holds STEP/Step 'charge'"):
        _run(wrong.skips_cached_step, event).check()


@pytest.mark.parametrize(
    ("faults", "sandboxes"),
    [((crash(invocation=1, call=2),), ()), ((), ("cold",))],
    ids=["a crash's cold re-invocation", "a drawn cold sandbox"],
)
def test_a_cold_start_flag_deciding_a_step_is_flagged(
    faults: tuple[Any, ...], sandboxes: tuple[str, ...]
) -> None:
    outcome = _run(wrong.cold_start_step, {"order": "o-1"}, *faults, sandboxes=sandboxes)
    with pytest.raises(ReplayDivergence, match="prime-cache"):
        outcome.check()


def test_a_sent_flag_in_module_state_mails_again_in_a_new_sandbox() -> None:
    # No oracle sees a mail sent outside a step: the test's own assertion does, in the worlds
    # the harness makes (the runs are not check()ed: the baseline would reset the mailer).
    def mails(*faults: Any, sandboxes: tuple[str, ...] = ()) -> int:
        event = {"order": f"o-{uuid.uuid4().hex[:8]}", "cents": 5, "to": "ada@example.com"}
        _run(wrong.sent_flag, event, *faults, sandboxes=sandboxes)
        return len(services.MAILER.sent)

    assert mails() == 1
    assert mails(crash(invocation=1, call=2)) == 2
    assert mails(sandboxes=("cold",)) == 2
    # A duplicate delivery of the warm second invocation runs in a sandbox of its own, as on
    # Lambda, which mails again (it used to share the running sandbox's module, and the
    # harness could not show that double mail).
    assert mails(duplicate_invocation(invocation=2, after_call=1)) == 2


def test_a_batch_id_drawn_at_import_is_flagged_after_a_crash() -> None:
    outcome = _run(wrong.batch_at_import, {"items": ["x", "y"]}, crash(invocation=1, call=2))
    assert outcome.execution_status is ExecutionStatus.FAILED
    with pytest.raises(FaultNotMasked, match="unknown batch"):
        outcome.check()
    cold = _run(wrong.batch_at_import, {"items": ["x", "y"]}, sandboxes=("cold",))
    assert cold.execution_status is ExecutionStatus.FAILED  # the test's own assertion fails


# --- runner bug 27: the sandbox after a duplicate delivery -----------------------------------


@pytest.mark.parametrize(("name", "call"), [("bounded_partner", 2), ("async_client_reused", 1)])
def test_a_loop_bound_object_in_module_state_survives_a_duplicate_delivery(
    name: str, call: int
) -> None:
    spec = CORPUS[name]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(crash(invocation=1, call=1), duplicate_invocation(invocation=2, after_call=call)),
        before_run=spec["before_run"],
    ).run()
    if name == "bounded_partner" and EAGER_TASKS:
        # With eager tasks the duplicate's map loops for ever waiting for its branches'
        # completion handlers (SDK finding 19): the runner stops it after
        # ``STUCK_CPU_SECONDS`` inside one turn, the first delivery goes on, and the
        # liveness oracle's flag is the SDK's.
        assert outcome.execution_status.value == "SUCCEEDED"
        stopped = outcome.invocations[2]
        assert (stopped.environment, stopped.error_type) == ("duplicate", "Sandbox.Timedout")
        with pytest.warns(KnownSdkIssueWarning, match="SDK finding 19"):
            outcome.check()
        return
    outcome.check()


def test_no_module_copy_runs_on_two_event_loops() -> None:
    outcome = _run(
        wrong.probe, {}, duplicate_invocation(invocation=2, after_call=1), sandboxes=("cold",)
    )
    assert [env for env, _ in _sandboxes(outcome)] == ["warm", "cold", "duplicate", "warm"]
    loops: dict[str, set[int]] = {}
    for record in services.PROBES:
        loops.setdefault(record["sandbox"], set()).add(record["loop"])
    assert all(len(used) == 1 for used in loops.values()), services.PROBES


# --- measured differences from Lambda's sandboxes (traps in docs/findings.md) ----------------


def test_tmp_survives_a_cold_sandbox_and_a_duplicate_has_a_sandbox_of_its_own() -> None:
    shutil.rmtree(services.SANDBOX_TMP, ignore_errors=True)
    _run(
        wrong.probe,
        {},
        duplicate_invocation(invocation=1, after_call=1),
        sandboxes=("warm", "cold"),
    )
    first, duplicate, second, _third = services.PROBES
    # A duplicate of a warm delivery runs in a copy of the module of its own (another
    # sandbox, as on Lambda, where the first is busy), on another thread's event loop; it
    # used to run in the paused first delivery's copy, having seen that invocation.
    assert duplicate["sandbox"] != first["sandbox"]
    assert duplicate["runs_before"] == 0
    assert duplicate["loop"] != first["loop"]
    # A cold sandbox starts its module over, but finds the files the old one left in /tmp;
    # Lambda gives a new sandbox an empty /tmp.
    assert second["sandbox"] != first["sandbox"]
    assert second["runs_before"] == 0
    assert second["tmp_marker"]


def test_a_duplicate_does_not_see_the_first_deliverys_in_progress_flag() -> None:
    spec = CORPUS["in_progress_flag"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(duplicate_invocation(invocation=1, after_call=1),),
        before_run=spec["before_run"],
    ).run()
    [duplicate] = [i for i in outcome.invocations if i.environment == "duplicate"]
    # In a sandbox of its own it gets as far as its first checkpoint, which the service
    # refuses (its token is stale); it used to find the first's flag and stop there.
    assert duplicate.error_type == "CheckpointError"
    assert "already running in this sandbox" not in (duplicate.error_message or "")
    outcome.check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_LIFECYCLE_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_a_sandbox_lifecycle_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
