"""The session-32 false-flag audit R: correct handlers whose step bodies call AWS through boto3
synchronously, through ``asyncio.to_thread`` or through aiobotocore's async client
(``examples/aws_clients.py``: a record created once, a claim naming its attempt with an
expiry, a write read back, many writes in one body, a record moved, an entry per map item, a
record created once and two writes sent at once, rows written from threads and from the
loop's executor, parts uploaded by a thread pool, map items writing through one shared pool,
one async client per invocation) are flagged by no oracle, warm or cold, under every fault
kind, ``aws_call_crash`` (a sandbox dying between two of a body's AWS calls) included.

The corpus runs a few examples per entry here; ``DURABLE_AWS_CLIENTS_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus aws-clients --plans all``, which also counts
the faults that landed).
"""

from __future__ import annotations

import os
from typing import Any

import aws_clients
import fake_dynamodb
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios

from async_durable_execution_runner.scenarios import Scenario, aws_call_crash
from async_durable_execution_runner.strategies import fault_plans

CORPUS = aws_clients.CORPUS

#: What each entry returns without faults (a function of its input only).
EXPECTED: dict[str, Any] = {
    "create_once": {"order": "o-7", "total": 42, "state": "NEW"},
    "claim_with_expiry": {"booking": "shipment-o-9"},
    "write_then_verify": {"user": "ada", "email": "ada@example.com"},
    "fan_out_writes": {"written": 4, "counted": 4},
    "move_record": {
        "at": "final-3",
        "payload": '{"pages": 12, "title": "Q3"}',
        "source_gone": True,
    },
    "ledger_per_item": {"total": 56, "entries": 4},
    "register_async": {"device": "d-4", "owner": "grace"},
    "export_on_threads": {"rows": 3, "last": "2,20"},
    "client_per_invocation": {"keys": ["first", "second"], "counted": 2},
    "export_in_executor": {"rows": 3, "last": "4,40"},
    "upload_with_pool": {"parts": 4, "size": 19},
    "map_through_shared_pool": {"values": ["north", "east", "south", "west"]},
}


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


def test_a_record_created_before_the_sandbox_died_is_read_back() -> None:
    outcome = _run("create_once", aws_call_crash(step=1, call=1))
    assert outcome.faults_applied == (aws_call_crash(step=1, call=1),)
    # The re-run's conditional put is refused: the record from the dead sandbox is the answer.
    operations = [op for op, _, _ in fake_dynamodb.REQUESTS]
    assert operations == ["PutItem", "PutItem", "GetItem"]
    assert outcome.value == EXPECTED["create_once"]
    outcome.check()


def test_the_same_attempt_carries_on_with_its_own_claim() -> None:
    # The sandbox dies once the claim is written: the attempt, run again, finds its own claim
    # and books without waiting for it to expire (no retry spent).
    outcome = _run("claim_with_expiry", aws_call_crash(step=1, call=1))
    assert outcome.value == EXPECTED["claim_with_expiry"]
    attempts = [e for e in outcome.history if e["EventType"] == "StepFailed"]
    assert attempts == []
    assert fake_dynamodb.TABLES["claims"]["booking-o-9"]["status"] == {"S": "COMPLETED"}
    outcome.check()


def test_a_move_half_done_is_finished_by_the_re_run() -> None:
    outcome = _run("move_record", aws_call_crash(step=1, call=1))  # deleted, not yet put
    assert outcome.value == EXPECTED["move_record"]
    assert set(fake_dynamodb.TABLES["records"]) == {"final-3"}
    outcome.check()


def test_an_async_client_record_made_before_the_sandbox_died_is_read_back() -> None:
    outcome = _run("register_async", aws_call_crash(step=1, call=1))
    assert outcome.faults_applied == (aws_call_crash(step=1, call=1),)
    operations = [op for op, _, _ in fake_dynamodb.REQUESTS]
    assert operations[:3] == ["PutItem", "PutItem", "GetItem"]  # created, refused, read back
    assert sorted(operations[3:]) == ["PutItem", "PutItem"]  # the two writes sent at once
    assert outcome.value == EXPECTED["register_async"]
    outcome.check()


def test_rows_written_from_threads_before_the_sandbox_died_are_written_again() -> None:
    outcome = _run("export_on_threads", aws_call_crash(step=1, call=2))
    assert outcome.faults_applied == (aws_call_crash(step=1, call=2),)
    keys = [key for _, table, key in fake_dynamodb.REQUESTS if table == "exports"]
    assert keys == ["e-2#0", "e-2#1", "e-2#0", "e-2#1", "e-2#2", "e-2#2"]
    assert outcome.value == EXPECTED["export_on_threads"]
    outcome.check()


def test_rows_written_from_the_executor_before_the_sandbox_died_are_written_again() -> None:
    outcome = _run("export_in_executor", aws_call_crash(step=1, call=2))
    assert outcome.faults_applied == (aws_call_crash(step=1, call=2),)
    keys = [key for _, table, key in fake_dynamodb.REQUESTS if table == "exports"]
    assert keys == ["e-3#0", "e-3#1", "e-3#0", "e-3#1", "e-3#2", "e-3#2"]
    assert outcome.value == EXPECTED["export_in_executor"]
    outcome.check()


def test_a_manifest_written_by_the_bodys_own_thread_is_a_crash_point() -> None:
    # Four parts from the pool, then the manifest from the body's own thread: call 5.
    outcome = _run("upload_with_pool", aws_call_crash(step=1, call=5))
    assert outcome.faults_applied == (aws_call_crash(step=1, call=5),)
    tables = [table for _, table, _ in fake_dynamodb.REQUESTS]
    assert tables == ["parts"] * 4 + ["manifests"] + ["parts"] * 4 + ["manifests"] * 2
    assert outcome.value == EXPECTED["upload_with_pool"]
    outcome.check()


def test_every_aws_call_is_a_crash_point_and_none_fails() -> None:
    for name, spec in CORPUS.items():
        report = Scenario(
            handler=spec["handler"], input=spec["input"], before_run=spec["before_run"]
        ).crash_points()
        assert any(p.kind == "aws_call_crash" for p in report.points), name
        report.check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_AWS_CLIENTS_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_an_aws_client_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_crash_between_aws_calls_flags_an_aws_client_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans(kinds={"aws_call_crash", "crash"}))
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)


def test_a_fault_free_run_leaves_the_table_as_the_input_says() -> None:
    fault_free(CORPUS["fan_out_writes"]).run()
    assert sorted(fake_dynamodb.TABLES["lines"]) == [f"b-1#{n}" for n in range(4)]


def test_items_sharing_a_pool_count_their_own_calls() -> None:
    # Two items run at once, their work interleaved on the shared pool's two threads: each
    # body's calls are its own (a put and a get each), so call 2 of item 3's body is its
    # read-back, whichever item the pool worked for in between.
    outcome = _run("map_through_shared_pool", aws_call_crash(step=3, call=2))
    assert outcome.faults_applied == (aws_call_crash(step=3, call=2),)
    assert outcome.value == EXPECTED["map_through_shared_pool"]
    outcome.check()
    report = Scenario(
        handler=CORPUS["map_through_shared_pool"]["handler"],
        input=CORPUS["map_through_shared_pool"]["input"],
        before_run=fake_dynamodb.reset,
    ).crash_points()
    calls = [p for p in report.points if p.kind == "aws_call_crash"]
    assert len(calls) == 8, calls  # four bodies, two calls each
    report.check()
