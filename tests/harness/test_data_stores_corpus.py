"""The session-27 false-flag audit O: correct handlers whose system of record is a real store
(``examples/data_stores.py``: sqlite upserts keyed by the step, a transactional outbox,
configuration read in steps, a reserved sequence number, a migration at cold start,
optimistic concurrency, a chunked CSV export committed by rename, a double-entry ledger, a
callback id recorded by the submitter, a saga compensated by deletes, WAL with a second
connection, ``flock`` around an append, a cursor over ``wait_for_condition``, JSON documents
replaced by rename, a ``shelve`` cache, a CSV reconciliation) are flagged by no oracle; their
wrong twins (``data_stores_handlers.py``) are flagged, or fail, in the world that exposes them.

The corpus runs a few examples per handler here; ``DURABLE_DATA_STORES_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus data-stores --plans all``, which also counts
the faults that landed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import data_stores
import data_stores_services as services
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios
from tests.harness import data_stores_handlers as wrong

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner.oracles import FaultNotMasked, ReplayDivergence
from async_durable_execution_runner.scenarios import (
    Outcome,
    Scenario,
    Timings,
    crash,
    duplicate_invocation,
    invocation_lost,
)
from async_durable_execution_runner.strategies import fault_plans

CORPUS = data_stores.CORPUS

#: What each entry returns without faults (a function of its input only).
EXPECTED: dict[str, Any] = {
    "callback_id_recorded": {"status": "approved", "cents": 12000, "recorded": True},
    "chunked_export": {
        "parts": [
            {"part": "part-00000.csv", "rows": 5, "sha": "71302c116234e450"},
            {"part": "part-00005.csv", "rows": 5, "sha": "fadcd6904c37f041"},
            {"part": "part-00010.csv", "rows": 5, "sha": "0e87705721d0f664"},
            {"part": "part-00015.csv", "rows": 5, "sha": "5fb6f368993fb5ef"},
            {"part": "part-00020.csv", "rows": 3, "sha": "80f84938789dc9aa"},
        ],
        "rows": 23,
        "sha": "b473c7a7f4486281",
        "leftovers": [],
    },
    "config_in_steps": {"threshold": 5000, "routes": {"p1": "acme-pay", "p2": "review"}},
    "csv_reconciliation": {
        "loaded": 4,
        "mismatches": [["inv-2", 500, 450], ["inv-4", 300, None], ["inv-9", None, 75]],
        "sha": "9a2d2c9a907488b6",
    },
    "connection_per_sandbox": {"saved": {"s-4/lang": "pt", "s-4/theme": "dark", "s-4/tz": "UTC"}},
    "database_timestamps": {
        "ticket": "tk-8",
        "subject": "refund not received",
        "status": "closed",
        "in_order": True,
    },
    "double_entry_ledger": {
        "posted": ["t1", "t2", "t3", "t4"],
        "entries": 8,
        "balances": {"cash": 22500, "payroll": 40000, "rent": 90000, "sales": -152500},
    },
    "flock_append": {
        "trail": ["ada/export", "ada/login", "bo/login", "cy/delete", "cy/undo"],
        "lines": 5,
    },
    "idempotent_upsert": {"awarded": [12, 8, 3], "totals": {"ada": 15, "bo": 8}},
    "journal_under_flock": {"journal": ["a", "b"]},
    "json_documents": {
        "applied": ["change-0", "change-1", "change-2"],
        "fields": {"email": "ada@example.com", "name": "Ada", "tier": "gold"},
    },
    "migrated_at_cold_start": {
        "schema": 2,
        "notes": [["n0", "call the bank", "urgent"], ["n1", "renew the lease", ""]],
    },
    "optimistic_stock": {
        "holds": [
            {"sku": "lamp", "held": 3, "left": 5},
            {"sku": "desk", "held": 4, "left": 0},
            {"sku": "rug", "held": 1, "left": 6},
        ],
        "stock": {"desk": 0, "lamp": 5, "rug": 6},
    },
    "paged_condition": {"pages": 3, "total": 2448, "cursor": 11},
    "reserved_sequence": {
        "issued": ["INV-1001", "INV-1002", "INV-1003"],
        "invoices": [["INV-1001", "ada", 1900], ["INV-1002", "bo", 2900], ["INV-1003", "cy", 900]],
    },
    "saga_trip": {
        "trips": [
            {"trip": "t-1", "status": "booked"},
            {"trip": "t-2", "status": "cancelled", "undone": ["car", "hotel"], "why": "SoldOut"},
        ],
        "kept": {"t-1": ["car-Lisbon", "flight-Lisbon", "hotel-Lisbon"]},
    },
    "shelve_rates": {
        "rates": {"EUR": 10965, "GBP": 9848, "JPY": 9860},
        "converted": {"EUR": 10965, "JPY": 246500, "GBP": 3939},
    },
    "transaction_across_await": {
        "paid": [1500, 700],
        "rows": [["ada", 1500, "ada:1500"], ["bo", 700, "bo:700"]],
    },
    "transactional_outbox": {
        "after_place": ["o-7/placed"],
        "after_ship": ["o-7/placed", "o-7/shipped"],
        "orders": {"o-7": "shipped"},
        "consumed": ["o-7/placed", "o-7/shipped"],
    },
    "wal_second_connection": {
        "ingested": [6, 4, 6],
        "mode": "wal",
        "batches": {"clicks": 6, "views": 4},
    },
}


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])


def _faulted(name: str, *faults: Any) -> Outcome:
    spec = CORPUS[name]
    return Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=faults,
        timings=Timings(),
        callback_payloads={k: (v,) for k, v in spec.get("callbacks", {}).items()},
        before_run=spec["before_run"],
    ).run()


@pytest.mark.parametrize(
    ("name", "fault"),
    [
        # A crash on the first step's checkpoint: its body ran, and runs again.
        ("idempotent_upsert", crash(invocation=1, call=1)),
        ("transactional_outbox", crash(invocation=1, call=2)),
        ("reserved_sequence", crash(invocation=1, call=1)),
        ("optimistic_stock", crash(invocation=1, call=1)),
        ("json_documents", crash(invocation=1, call=1)),
        ("flock_append", duplicate_invocation(invocation=1, after_call=1)),
        # The duplicate's body waits for the first's transaction, then finds its row.
        ("transaction_across_await", duplicate_invocation(invocation=1, after_call=1)),
        ("journal_under_flock", duplicate_invocation(invocation=1, after_call=1)),
    ],
)
def test_a_body_run_twice_changes_nothing_in_the_store(name: str, fault: Any) -> None:
    outcome = _faulted(name, fault)
    assert outcome.faults_applied == (fault,)
    assert outcome.value == EXPECTED[name]
    outcome.check()


def test_the_outbox_message_may_be_delivered_twice_and_is_consumed_once() -> None:
    # A crash after the relay published and marked the row sent: the broker kept one
    # delivery of each message (the relay's re-run finds nothing unsent), and the consumer
    # dedupes by message id whatever the broker kept.
    outcome = _faulted("transactional_outbox", crash(invocation=1, call=2))
    assert outcome.value["consumed"] == ["o-7/placed", "o-7/shipped"]
    assert len(services.BROKER.deliveries) >= 2


def test_the_stale_read_is_a_step_retry() -> None:
    outcome = fault_free(CORPUS["optimistic_stock"]).run()
    assert outcome.result.get_step("hold-lamp").attempt == 2  # the clerk's edit: StaleVersion
    assert outcome.result.get_step("hold-desk").attempt == 1


def test_the_callback_id_the_desk_read_is_the_callbacks() -> None:
    outcome = fault_free(CORPUS["callback_id_recorded"]).run()
    outcome.check()
    [callback_id] = services.DESK.tickets.values()
    assert callback_id == outcome.result.get_callback("approval-callback").callback_id


def test_the_migration_runs_once_per_sandbox_and_applies_once() -> None:
    fault_free(CORPUS["migrated_at_cold_start"], ("cold",) * 4).run().check()
    with services.connect(data_stores.NOTES) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (len(data_stores.MIGRATIONS),)


def test_warm_invocations_share_the_sandboxs_connection() -> None:
    outcome = fault_free(CORPUS["connection_per_sandbox"]).run()
    assert len(outcome.invocations) == 3  # every save in an invocation of its own, all warm
    [(path, _conn)] = data_stores._CONNECTION
    assert path == services.path("kv.db")


def test_the_export_leaves_no_temporary_file() -> None:
    fault_free(CORPUS["chunked_export"]).run()
    assert sorted(p.name for p in services.ROOT.iterdir()) == [
        "export.csv",
        *(f"part-{n:05d}.csv" for n in range(0, 23, 5)),
        "warehouse.db",
    ]
    assert services.path("export.csv").read_text().count("\n") == 24


def test_the_cancelled_trip_leaves_no_booking() -> None:
    outcome = fault_free(CORPUS["saga_trip"]).run()
    assert "t-2" not in outcome.value["kept"]


def test_the_document_is_always_whole_json() -> None:
    fault_free(CORPUS["json_documents"]).run()
    assert json.loads(services.path("profile-c-5.json").read_text())["fields"]["tier"] == "gold"
    assert not list(services.ROOT.glob("*.tmp"))


def _next_second() -> None:
    time.sleep(1.01 - time.time() % 1)


def test_a_row_stamped_by_the_databases_clock_is_not_flagged_across_a_second() -> None:
    # Oracle bug 26: the run in one second, its baselines (both) in the next. sqlite's
    # CURRENT_TIMESTAMP is read by its own C code, which the harness does not watch, and both
    # baselines stamped the same second, so the step looked reproducible and the lost
    # invocation looked like what changed it. Run again with the fault, the step stamps the
    # new second too: the time changed it, not the fault.
    _next_second()
    outcome = _faulted("database_timestamps", invocation_lost(invocation=1))
    assert outcome.faults_applied == (invocation_lost(invocation=1),)
    _next_second()
    outcome.check()
    assert outcome.value == EXPECTED["database_timestamps"]


def test_a_step_that_reads_what_a_crash_repeated_is_still_flagged_across_a_second() -> None:
    # The same time gap does not hide a true positive: run again with the crash, the lamp
    # line is inserted twice again, and the units step reads 5 again.
    _next_second()
    crashed = _run(wrong.insert_without_key, LINES, crash(invocation=1, call=1))
    _next_second()
    with pytest.raises(FaultNotMasked, match="ran its body once and produced value 5"):
        crashed.check()


# --- the wrong twins, flagged (or failing) in the worlds that expose them ----------------------


def _run(handler: Any, event: Any, *faults: Any, before_run: Any = services.reset) -> Outcome:
    return Scenario(
        handler=handler, input=event, faults=faults, timings=Timings(), before_run=before_run
    ).run()


LINES = {"order": "o-1", "lines": [["lamp", 2], ["rug", 1]]}


def test_a_non_idempotent_insert_is_flagged_after_a_crash() -> None:
    clean = _run(wrong.insert_without_key, LINES)
    clean.check()  # each body ran once: no harm seen
    assert clean.value == {"units": 3}
    crashed = _run(wrong.insert_without_key, LINES, crash(invocation=1, call=1))
    assert crashed.value == {"units": 5}  # the lamp line inserted twice
    with pytest.raises(FaultNotMasked, match="ran its body once and produced value 5"):
        crashed.check()


def test_a_non_idempotent_insert_in_a_retried_step_doubles_the_line() -> None:
    # The partner after the insert refuses once: the step's retry inserts again. The same in
    # every world (no oracle can see it); the test's own assertion does.
    outcome = _run(wrong.insert_without_key, LINES, before_run=wrong.arm_refusal)
    assert outcome.result.get_step("add-lamp").attempt == 2
    assert outcome.value == {"units": 5}


def test_a_write_outside_any_step_is_flagged_after_a_crash() -> None:
    clean = _run(wrong.write_outside_step, {"order": "o-1"})
    clean.check()
    assert clean.value == {"audit_rows": 2}  # one per invocation, every run alike
    crashed = _run(wrong.write_outside_step, {"order": "o-1"}, crash(invocation=1, call=1))
    assert crashed.value == {"audit_rows": 3}
    with pytest.raises(FaultNotMasked):
        crashed.check()


def test_state_read_outside_a_step_deciding_the_step_is_a_replay_divergence() -> None:
    event = CORPUS["config_in_steps"]["input"]
    outcome = _run(wrong.state_read_outside_step, event, before_run=data_stores.arm_settings)
    # Fault-free: the replay after the wait reads the lowered threshold.
    with pytest.raises(ReplayDivergence, match="'review-p1'"):
        outcome.check()


def test_a_counter_read_back_outside_a_step_is_flagged_after_a_crash() -> None:
    clean = _run(wrong.counter_read_back, {"pages": ["home", "cart"]})
    clean.check()
    crashed = _run(
        wrong.counter_read_back, {"pages": ["home", "cart"]}, crash(invocation=1, call=1)
    )
    assert (clean.value, crashed.value) == ({"visits": 2}, {"visits": 3})
    with pytest.raises(FaultNotMasked, match=r'"visits": 3'):
        crashed.check()


def test_a_temporary_file_per_attempt_is_left_behind_by_a_failed_attempt() -> None:
    # The attempt that fails after its write leaves its temporary file; the retry writes
    # another. The same in every world (the test's assertion sees it, no oracle); the
    # corpus's _commit_file removes its temporary file on the way out.
    outcome = _run(wrong.temp_left_behind, {"rows": ["a,1"]}, before_run=wrong.arm_refusal)
    assert outcome.result.get_step("export").attempt == 2
    assert outcome.value == {"rows": 1, "leftovers": 1}


def test_a_rename_step_that_is_not_idempotent_fails_after_a_crash() -> None:
    clean = _run(wrong.rename_not_idempotent, {"rows": ["a,1"]})
    assert clean.execution_status is ExecutionStatus.SUCCEEDED
    clean.check()
    # The crash on the rename's checkpoint: its body runs again and finds no temporary file.
    # The same-world baseline replays the failure the faults checkpointed, so no oracle
    # flags it: the execution's FAILED status is how the harness shows it.
    crashed = _run(wrong.rename_not_idempotent, {"rows": ["a,1"]}, crash(invocation=1, call=2))
    assert crashed.execution_status is ExecutionStatus.FAILED
    assert crashed.error is not None
    assert "No such file or directory" in (crashed.error.error_message or "")


TRIPS = {"trips": [{"id": "t-1", "to": "Lisbon"}, {"id": "t-2", "to": "Atlantis"}]}


def test_a_compensation_that_deletes_is_undone_by_a_stale_duplicate() -> None:
    """The duplicate of invocation 2, delivered after the first delivery undid the car, is
    sent the state invocation 2 started with: it books the car again before its checkpoint
    bounces. ``saga_trip`` leaves a tombstone instead and is clean in the same world."""
    faults = (crash(invocation=1, call=6), duplicate_invocation(invocation=2, after_call=3))
    outcome = _run(wrong.saga_undone_by_delete, TRIPS, *faults)
    assert outcome.faults_applied == faults
    assert outcome.value["kept"] == {
        "t-1": ["car-Lisbon", "flight-Lisbon", "hotel-Lisbon"],
        "t-2": ["car-Atlantis"],
    }
    with pytest.raises(FaultNotMasked, match="step 'bookings'"):
        outcome.check()
    right = _run(data_stores.saga_trip, TRIPS, *faults)
    assert right.faults_applied == faults
    assert right.value == EXPECTED["saga_trip"]
    right.check()


# --- runner bug 31 (fixed): a duplicate delivery ran while the first was frozen -------------

#: The duplicate's run, in a process of its own: should runner bug 31 come back, the
#: duplicate's thread, blocked in flock for good, would outlive the run and take the
#: runner's locks in later tests of this process.
_BESIDE = """
import data_stores
import data_stores_services as services
from async_durable_execution_runner.scenarios import Scenario, Timings, duplicate_invocation
fault = duplicate_invocation(invocation=1, after_call=1)
outcome = Scenario(
    handler=data_stores.journal_under_flock,
    input={"keys": ["a", "b"]},
    faults=(fault,),
    timings=Timings(),
    before_run=services.reset,
    timeout=5,
).run()
print(outcome.faults_applied == (fault,), flush=True)
print([(i.environment, i.error_type) for i in outcome.result.invocations], flush=True)
print("hung" if outcome.hang is not None else outcome.execution_status.value, flush=True)
print(outcome.value, flush=True)
"""


def test_a_duplicate_delivery_waits_for_a_lock_the_first_delivery_holds() -> None:
    """The first delivery holds the journal's flock across an await when its step's first
    checkpoint brings the duplicate; the duplicate's step waits in flock. It used to run
    while the first delivery was frozen in that checkpoint call: neither moved, and the run
    was reported hung (runner bug 31). Now the first delivery goes on beside it."""
    ran = subprocess.run(
        [sys.executable, "-c", _BESIDE],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert ran.stdout.strip().splitlines()[-4:] == [
        "True",
        "[('warm', None), ('duplicate', 'CheckpointError'), ('warm', None)]",
        "SUCCEEDED",
        "{'journal': ['a', 'b']}",
    ], ran.stdout + ran.stderr


# --- the corpus: correct handlers are never flagged -------------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_DATA_STORES_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_a_data_stores_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
