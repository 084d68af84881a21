"""The session-26 false-flag audit N: correct handlers that use asyncio's own tools inside
step bodies and around durable operations (``examples/asyncio_ecosystem.py``: a correlation id
in a ``ContextVar`` read in steps, branches, items and threads; structlog-style bound keys per
``map`` item; a ``TaskGroup``, ``gather(return_exceptions=True)``, ``asyncio.timeout`` and
``timeout_at``, async generators and iterators, an ``AsyncExitStack``, a queue pipeline, a
blocking poll in a thread, a ``call_later`` debounce, ``shield``, a per-invocation semaphore,
a hedged read with cancellation clean-up and ``as_completed``, all inside step bodies) are
flagged by no oracle; their wrong twins (``asyncio_ecosystem_handlers.py``) are, or fail, in
the world that exposes them.

The corpus runs a few examples per handler here; ``DURABLE_ASYNCIO_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus asyncio-ecosystem --plans all``, which also
counts the faults that landed).
"""

from __future__ import annotations

import os
from typing import Any

import asyncio_ecosystem
import asyncio_ecosystem_services as services
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios
from tests.harness import asyncio_ecosystem_handlers as wrong

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner.oracles import (
    ExecutionHung,
    FaultNotMasked,
    NondeterminismSource,
)
from async_durable_execution_runner.scenarios import Outcome, Scenario, Timings, crash
from async_durable_execution_runner.strategies import fault_plans

CORPUS = asyncio_ecosystem.CORPUS

#: What each entry returns without faults.
EXPECTED: dict[str, Any] = {
    "as_completed_quorum": {
        "prices": [
            {"sku": "lamp", "median": 593, "answers": 3},
            {"sku": "desk", "median": 669, "answers": 3},
        ],
        "confirmed": [593, 669],
    },
    "async_generator_batches": {"totals": [8, 15, 8], "sum": 31},
    "async_pages": {
        "orders": [f"orders-{n}" for n in range(7)],
        "returns": [f"returns-{n}" for n in range(8)],
        "listed": 15,
    },
    "correlation_in_callbacks": {
        "approval": '{"approved": true}',
        "status": "done",
        "by": "req-91c0",
    },
    "correlation_id": {
        "cheapest": "acme",
        "seen": ["req-7f3a"],
        "sent": ["sent-acme", "sent-acme-b"],
    },
    "debounce_call_later": {
        "batches": [["docs/a", "docs/b"], ["docs/c", "docs/d"], ["docs/e"]],
        "published": 5,
    },
    "exit_stack_shards": {
        "orders": {"eu-1": 912, "eu-2": 1, "us-1": 309},
        "refunds": {"eu-1": 967, "eu-2": 277, "us-1": 693},
    },
    "hedged_read": {"balances": {"acct-1": 6995, "acct-2": 2708}, "again": 6995},
    "poll_thread_monotonic": {"rows": {"ledger": 7348, "orders": 7837}},
    "pool_callback_uploads": {"etags": ["etag-22410", "etag-87898", "etag-76366"]},
    "thread_per_item_uploads": {"etags": ["etag-22410", "etag-87898", "etag-76366"]},
    "module_worker_uploads": {"etags": {"big.csv": "etag-22410", "small.csv": "etag-76366"}},
    "legacy_pool_prices": {"prices": {"desk": 961, "lamp": 982}, "same_again": True},
    "producer_deliveries": {
        "receipts": {"order-7": "etag-16823", "order-8": "etag-78920", "done": "etag-87131"}
    },
    "poll_thread_wallclock": {"rows": {"ledger": 7348, "orders": 7837}},
    "thread_call_bounded": {"offices": {"ada": "b", "bo": "a"}},
    "silent_peer_bounded": {"answer": "fallback for stock of lamp"},
    "thread_callback_event": {"etags": {"a.csv": "etag-50175", "b.csv": "etag-72148"}},
    "queue_pipeline": {
        "rows": [f"INVOICES-{n}" for n in range(8)],
        "published": "published 8 rows",
    },
    "scoped_log_context": None,  # checked by its own test below
    "semaphore_per_invocation": {"scores": [89, 47, 5, 95, 46, 3, 48], "again": [89, 47, 5]},
    "session_around_workflow": {"profile": 641, "orders": 171},
    "settled_enrichment": None,  # checked by its own test below
    "shielded_commit": {"committed": {"key": "o-42/settle", "total": 1050}, "balance": 1050},
    "single_flight_token": {"reads": [541, 32, 314, 235], "totals": 246},
    "taskgroup_fanout": {
        "offers": {
            "desk": {"acme": 669, "globex": 448, "initech": 669},
            "sofa": {"acme": 376, "globex": 715, "initech": 321},
        },
        "best": {"desk": "globex", "sofa": "initech"},
    },
    "timeout_retried": {
        "quotes": {"desk": {"initech": 669, "acme": 669}, "lamp": {"initech": 912, "acme": 426}},
        "total": 1095,
    },
    "monotonic_deadlines": {
        "quotes": {
            "desk": {"quotes": {"initech": 669, "acme": 669}, "slow": False},
            "lamp": {"quotes": {"initech": 912, "acme": 426}, "slow": False},
        },
        "total": 1095,
    },
}


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    # (``None``: a result that varies, checked by the entry's own test.)
    returns_fault_free_warm_and_cold(
        CORPUS[name], EXPECTED[name], lambda expected, value: expected is None or value == expected
    )


def test_the_correlation_id_reaches_every_task_and_thread() -> None:
    fault_free(CORPUS["correlation_id"]).run().check()
    assert services.PARTNERS.seen  # every partner call, in steps, branches, items, threads
    assert {correlation for _, correlation in services.PARTNERS.seen} == {"req-7f3a"}


def test_the_correlation_id_reaches_a_callbacks_submitter_and_a_conditions_check() -> None:
    fault_free(CORPUS["correlation_in_callbacks"], ("cold",)).run().check()
    [(_callback_id, correlation)] = services.DESK.tickets.values()
    assert correlation == "req-91c0"
    assert services.DESK.checks == ["req-91c0"] * 3


def test_one_token_per_invocation_that_needs_one() -> None:
    # The parallel's four step bodies share the first invocation's token; the step after the
    # wait, in the second invocation, fetches its own.
    fault_free(CORPUS["single_flight_token"]).run().check()
    assert services.AUTH.issued == ["tok-1", "tok-2"]


def test_every_invocation_opens_its_own_session_and_closes_it() -> None:
    outcome = fault_free(CORPUS["session_around_workflow"]).run()
    assert len(outcome.invocations) == 2
    assert services.HttpSession.opened == services.HttpSession.closed == 2


def test_bound_log_keys_stay_with_their_item_or_branch() -> None:
    outcome = fault_free(CORPUS["scoped_log_context"], ("cold",)).run()
    outcome.check()
    value = outcome.value
    for batch, stage in (("packed", "pack"), ("repacked", "repack")):
        assert [r["logged"] for r in value[batch]] == [
            {"order": "o-12", "sku": sku, "stage": stage} for sku in ("mug", "lamp", "rug")
        ]
    assert value["labels"] == [{"order": "o-12", "parcel": n} for n in range(2)]
    assert value["done"] == {"order": "o-12"}  # nothing an item or branch bound leaks out


def test_best_effort_lookups_keep_not_found_as_none() -> None:
    outcome = fault_free(CORPUS["settled_enrichment"]).run()
    outcome.check()
    assert outcome.value["profiles"]["dax"] is None
    assert outcome.value["profiles"]["ada"] is not None


@pytest.mark.parametrize(
    ("name", "step_name"),
    [
        ("taskgroup_fanout", "quotes-desk"),  # a ConnectionError out of the group, retried
        ("timeout_retried", "quote-desk"),  # a stalled partner: a TimeoutError, retried
        ("monotonic_deadlines", "quote-desk"),  # the same, by a time.monotonic() deadline
        ("async_pages", "orders"),  # a reset connection mid-pagination
        ("exit_stack_shards", "orders"),  # a dropped connection under the exit stack
        ("queue_pipeline", "transform"),  # the producer's failure cancels the consumers
        ("poll_thread_monotonic", "export-ledger"),  # a stuck job: the poll gives up
        ("poll_thread_wallclock", "export-ledger"),  # the same, by time.time()
        ("thread_call_bounded", "office-ada"),  # a stalled lookup: the bound fires
    ],
)
def test_the_armed_failure_is_a_step_retry(name: str, step_name: str) -> None:
    outcome = fault_free(CORPUS[name]).run()
    assert outcome.result.get_step(step_name).attempt == 2
    assert "Sandbox.Timedout" not in {i.error_type for i in outcome.invocations}


def test_every_connection_the_exit_stack_opened_is_closed() -> None:
    fault_free(CORPUS["exit_stack_shards"]).run()
    assert services.POOL.opened > 6  # the failed attempt's connections, and the retry's
    assert services.POOL.open == 0


def test_the_slow_commit_is_waited_for_not_cancelled() -> None:
    fault_free(CORPUS["shielded_commit"]).run()
    assert services.LEDGER.cancelled == 0
    assert services.LEDGER.commits == 1


@pytest.mark.parametrize(
    "name",
    [
        # Pool jobs that report through a done callback (runner bug 45).
        "pool_callback_uploads",
        # A thread per item that reports through the loop (before: about one new order of
        # events per run).
        "thread_per_item_uploads",
    ],
)
def test_a_map_whose_items_hear_back_from_threads_makes_one_history(name: str) -> None:
    """The jobs or threads end in reverse (the larger files first): their reports are taken
    in the order the items gave or started them, and every run records the same history."""
    histories = []
    for _ in range(3):
        outcome = fault_free(CORPUS[name]).run()
        outcome.check()
        histories.append(outcome.history)
    assert histories[0] == histories[1] == histories[2]
    succeeded = [e["Name"] for e in outcome.history if e["EventType"] == "StepSucceeded"]
    assert succeeded == ["upload-big.csv", "upload-mid.csv", "upload-small.csv"]
    assert len(outcome.invocations) == 2  # no attempt timed out


def test_threads_that_end_together_make_one_history() -> None:
    """Six transfers of the same 10 ms: before runner bug 47, 19 orders of events in 20
    runs."""
    spec = {
        **CORPUS["thread_per_item_uploads"],
        "input": {"files": [{"key": f"f{n}.csv", "seconds": 0.01} for n in range(6)]},
    }
    histories = [fault_free(spec).run().history for _ in range(3)]
    assert histories[0] == histories[1] == histories[2]


def test_the_hedge_loser_gives_its_lease_back() -> None:
    fault_free(CORPUS["hedged_read"]).run()
    assert services.REPLICAS.leased == 4  # acct-1, acct-2 twice (hedged), acct-1 again
    assert services.REPLICAS.leases == set()


def test_the_per_invocation_semaphore_keeps_the_partner_within_its_limit() -> None:
    fault_free(CORPUS["semaphore_per_invocation"], ("cold",)).run()
    assert services.PARTNERS.peak == 2
    assert services.PARTNERS.refused == 0


def test_a_wallclock_poll_in_a_thread_ends() -> None:
    # The stuck job's poll gives up by time.time() and the step retries (it hung here until
    # runner bug 29: the handler's clock stood still while the loop waited for the thread).
    outcome = fault_free(CORPUS["poll_thread_wallclock"]).run()
    outcome.check()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error


def test_a_wait_for_around_a_stalled_thread_times_out_and_the_step_retries() -> None:
    try:
        outcome = fault_free(CORPUS["thread_call_bounded"]).run()
        outcome.check()
    finally:
        services.reset()  # the lookup left stalled in a thread ends
    assert outcome.result.get_step("office-ada").attempt == 2


def test_a_wait_for_around_a_silent_socket_times_out() -> None:
    outcome = fault_free(CORPUS["silent_peer_bounded"]).run()
    outcome.check()
    assert outcome.value == {"answer": "fallback for stock of lamp"}


def test_a_thread_reporting_through_call_soon_threadsafe_is_waited_for() -> None:
    # The transfer takes 50 ms in a thread the handler starts; the loop waits for it in real
    # time instead of jumping over the 30 s bound (runner bug 30).
    outcome = fault_free(CORPUS["thread_callback_event"]).run()
    outcome.check()
    assert outcome.result.get_step("upload-a.csv").attempt == 1


# --- the wrong twins, flagged in the worlds that expose them ---------------------------------


def _run(handler: Any, event: Any, *faults: Any, before_run: Any = services.reset) -> Outcome:
    return Scenario(
        handler=handler, input=event, faults=faults, timings=Timings(), before_run=before_run
    ).run()


def test_a_correlation_id_drawn_at_the_handlers_start_is_flagged() -> None:
    outcome = _run(wrong.correlation_drawn, {"cents": 500})
    charged, receipt = outcome.value["charged"], outcome.value["receipt"]
    assert charged.split()[-1] != receipt.split()[-1]  # two invocations, two ids
    with pytest.raises(NondeterminismSource, match=r"uuid\.uuid4"):
        outcome.check()


def test_a_cursor_advanced_inside_a_step_body_is_flagged_after_a_crash() -> None:
    clean = _run(wrong.cursor_in_closure, {"listing": "orders"})
    clean.check()  # one invocation: no replay, no harm
    assert len(clean.value["items"]) == 12
    crashed = _run(wrong.cursor_in_closure, {"listing": "orders"}, crash(invocation=1, call=2))
    assert crashed.value["items"][:6] == ["orders-0", "orders-1", "orders-2"] * 2
    with pytest.raises(FaultNotMasked):
        crashed.check()


def test_a_queue_join_whose_worker_died_is_flagged_as_a_hang() -> None:
    outcome = _run(wrong.join_without_task_done, {"listing": "rows"})
    assert outcome.execution_status is ExecutionStatus.FAILED
    with pytest.raises(ExecutionHung, match="ran past the function's timeout"):
        outcome.check()


def test_a_timeout_in_milliseconds_meets_the_function_timeout() -> None:
    outcome = _run(wrong.timeout_in_milliseconds, {"sku": "desk"}, before_run=wrong.arm_long_stall)
    assert outcome.invocations[0].error_type == "Sandbox.Timedout"
    with pytest.raises(ExecutionHung, match="ran past the function's timeout"):
        outcome.check()
    # The handler written to survive it: the same stall, bounded at 2 s, is a step retry.
    fault_free(CORPUS["timeout_retried"]).run().check()


def test_a_task_group_not_unwrapped_is_not_retried() -> None:
    # No oracle sees it (the execution fails the same way in every world): the test's own
    # assertion does. taskgroup_fanout unwraps the group and succeeds.
    outcome = _run(
        wrong.taskgroup_not_unwrapped,
        {"skus": ["desk"]},
        before_run=asyncio_ecosystem.arm_taskgroup,
    )
    assert outcome.execution_status is ExecutionStatus.FAILED
    assert "unhandled errors in a TaskGroup" in (outcome.error.error_message or "")
    assert outcome.result.get_step("quotes-desk").attempt == 1


# --- the corpus: correct handlers are never flagged -------------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_ASYNCIO_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_an_asyncio_ecosystem_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
