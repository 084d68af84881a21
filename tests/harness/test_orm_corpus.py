"""The session-45 false-flag audit, round two: correct handlers that keep their records with
SQLAlchemy (``examples/orm.py``: a pooled engine in module state reused by warm invocations,
a version column whose conflict the step's retry strategy retries, ``ON CONFLICT`` inserts
over a ``map``, server-side and Python-side timestamps, a ``before_flush`` listener's audit
trail, thread-local sessions in ``asyncio.to_thread``, the asyncio extension on aiosqlite)
are flagged by no oracle, warm or cold, under every fault kind.

``DURABLE_ORM_EXAMPLES=300`` runs the campaign (or ``benchmarks/same_world.py --corpus orm
--plans all``).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import orm
import orm_services as services
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios

from async_durable_execution_runner.scenarios import Scenario, crash
from async_durable_execution_runner.strategies import DEFAULT_KINDS, fault_plans

CORPUS = orm.CORPUS

#: Python 3.13's ``sqlite3`` warns when the collector finds a connection nobody closed. A
#: crash, emulated by cancelling the invocation's tasks, cancels SQLAlchemy's close of the
#: asyncio engine's pooled aiosqlite connections; the exceptions that unwind it keep those
#: connections in their tracebacks, which log records and the harness's records hold past
#: any burial of the dead sandbox. On Lambda the process dies and nothing is said
#: (``docs/findings.md``, the traps: "A crash leaves ...").
_CRASH_RESIDUE = pytest.mark.filterwarnings("ignore:unclosed database:ResourceWarning")


def _entries(*names: str) -> list[Any]:
    """``names`` as parameters, the asyncio engine's marked with ``_CRASH_RESIDUE``."""
    return [
        pytest.param(name, marks=_CRASH_RESIDUE) if name == "async_orm_module_engine" else name
        for name in names
    ]


_LINES = CORPUS["orm_line_items_map"]["input"]["lines"]
_LINE_CENTS = sum(line["qty"] * line["cents"] for line in _LINES)

#: What each entry returns without faults (a function of its input only).
EXPECTED: dict[str, Any] = {
    "orm_order_lifecycle": {
        "created": {"id": "o-1", "status": "new", "cents": 4200, "note": ""},
        "shipped": {"id": "o-1", "status": "shipped", "cents": 4200, "note": "edited by the desk"},
    },
    "orm_line_items_map": {"cents": _LINE_CENTS, "lines": len(_LINES), "items": _LINE_CENTS},
    "orm_server_timestamps": {
        "ticket": "t-7",
        "status": "closed",
        "touched_in_order": True,
        "same_opening": True,
    },
    "orm_audit_listener": {"trail": ["o-10:created", "o-10:status:approved", "o-11:created"]},
    "scoped_sessions_in_threads": {"totals": [2 * 100 + 250, 3 * 40]},
    "async_orm_module_engine": {"confirmed": ["12A", "12B", "12C"]},
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])


def test_the_clerk_s_edit_is_a_version_conflict_the_step_retries() -> None:
    outcome = fault_free(CORPUS["orm_order_lifecycle"]).run()
    assert outcome.value == EXPECTED["orm_order_lifecycle"]
    assert services.EDITED == ["o-1"]
    ship = [e for e in outcome.history if e.get("Name") == "ship"]
    assert [e["EventType"] for e in ship].count("StepFailed") == 1, ship
    assert "StaleDataError" in str(ship)
    outcome.check()


def test_an_approval_run_twice_writes_one_audit_row() -> None:
    """The sandbox dies as the approval is checkpointed, after its transaction committed: the
    step runs again, finds the order approved already, and the listener writes nothing."""
    spec = CORPUS["orm_audit_listener"]
    for call in (1, 2, 3):
        outcome = Scenario(
            handler=spec["handler"],
            input=spec["input"],
            faults=(crash(invocation=2, call=call),),
            before_run=spec["before_run"],
        ).run()
        assert outcome.value == EXPECTED["orm_audit_listener"], call
        outcome.check()


def test_the_module_engine_is_reused_by_warm_invocations_and_made_afresh_per_world() -> None:
    spec = CORPUS["orm_line_items_map"]
    fault_free(spec).run().check()
    made = orm._ENGINE[0][1]
    fault_free(spec).run().check()
    # A new world (``reset``): a new database, so a new engine; the last one was disposed.
    assert orm._ENGINE[0][1] is not made
    assert orm._ENGINE[0][0] == services.url(orm.DB)


def test_aiosqlite_s_connection_threads_do_not_pile_up() -> None:
    """Each aiosqlite connection has a thread of its own; the engines of earlier worlds are
    let go, and their connections' threads end as the connections are collected."""
    spec = CORPUS["async_orm_module_engine"]
    for _ in range(3):
        fault_free(spec).run().check()
    import gc

    gc.collect()
    before = threading.active_count()
    for _ in range(10):
        fault_free(spec).run().check()
    gc.collect()
    # (A pool of at most a few connections per engine: the current world's engine's.)
    assert threading.active_count() <= before + 5


@pytest.mark.parametrize("name", _entries("orm_order_lifecycle", "async_orm_module_engine"))
def test_every_crash_point_passes(name: str) -> None:
    spec = CORPUS[name]
    Scenario(
        handler=spec["handler"], input=spec["input"], before_run=spec["before_run"]
    ).crash_points(budget=None).check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_ORM_EXAMPLES", "0"))


@pytest.mark.parametrize("name", _entries(*sorted(CORPUS)))
def test_no_fault_plan_flags_a_handler_that_keeps_records_with_an_orm(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans(kinds={*DEFAULT_KINDS, "outage"}))
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
