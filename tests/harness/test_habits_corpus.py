"""The session-16 false-flag audit: correct handlers written with everyday Python habits
(``examples/habits.py``: logging, configuration read outside steps, asyncio inside step
bodies, unusual step results, big maps, failures caught and carried past, ties between a
callback time-out and a wait, reused step names, early returns) are flagged by no oracle,
and the false flags the audit found stay fixed (each test is the shrunk scenario of one).

The corpus runs a few examples per handler here; ``DURABLE_HABITS_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus habits --plans all``, which also counts the
faults that landed).
"""

from __future__ import annotations

import os

import habits
import pytest
from corpus import check_every, scenarios
from habit_handlers import clock_read_for_a_log_argument, module_helper_called_at_run_time
from tests.sdk_order import EAGER_TASKS

from async_durable_execution_runner.oracles import NondeterminismSource
from async_durable_execution_runner.scenarios import (
    Scenario,
    Timings,
    callback_failure,
    crash,
    invocation_lost,
    step_exception,
)
from async_durable_execution_runner.strategies import fault_plans

# --- the false flags, shrunk ------------------------------------------------------------


def test_a_log_formatter_may_stamp_its_lines_with_the_clock() -> None:
    # The handler logs outside its steps (on every replay), through a JSON formatter that
    # stamps each line with datetime.now(): the formatter's read of the clock was taken for
    # the handler's own (NondeterminismSource on a fault-free run). It reaches the logs only.
    outcome = Scenario(handler=habits.logged_checkout, before_run=habits.reset).run()
    assert habits.services.lines_matching('"at": "')  # the formatter did read the clock
    assert outcome.nondeterministic_calls == ()
    outcome.check()


def test_a_sandbox_id_drawn_at_import_is_not_a_replay_draw() -> None:
    # A cold sandbox re-imports the handler's module, whose top level draws a sandbox id for
    # its log lines (uuid4() at import): taken for a draw outside a step, though it runs once
    # per sandbox, not on every replay (and the warm run, which imported it before the run,
    # was not flagged at all).
    outcome = Scenario(handler=habits.odd_results, timings=Timings(sandboxes=("cold",))).run()
    assert [i.environment for i in outcome.invocations[:2]] == ["warm", "cold"]
    assert outcome.nondeterministic_calls == ()
    outcome.check()


def test_the_handlers_own_reads_for_its_logs_are_still_flagged() -> None:
    # The exemptions are narrow: a read in the handler's own code (a log argument, a
    # module-level helper called at run time) may reach a durable decision.
    for handler in (clock_read_for_a_log_argument, module_helper_called_at_run_time):
        outcome = Scenario(handler=handler, timings=Timings(sandboxes=("cold",))).run()
        with pytest.raises(NondeterminismSource, match=r"habit_handlers\.py"):
            outcome.check()


def test_two_failures_racing_in_a_gather_are_not_an_unmasked_fault() -> None:
    # The handler gathers a callback and a poll; both fail. Without faults the invocation
    # suspends on the callback before the poll's first check runs, and at 30 s the
    # callback's CallbackError reaches the handler first. The lost invocation makes the
    # service re-invoke at once, the check runs (and fails) then, and at 30 s its replayed
    # failure comes first (CallableRuntimeError). FaultNotMasked called the race unmasked,
    # and the SDK finding 8 recogniser, which only asked for a CallableRuntimeError and a
    # failed check, labelled it a known SDK issue (a warning, an error under pytest's
    # filterwarnings=error).
    outcome = Scenario(
        handler=habits.export_with_callback,
        faults=(
            callback_failure(callback=1),
            step_exception(step=2, attempt=1),
            invocation_lost(invocation=1),
        ),
        timings=Timings(callback_delays=(30.0,)),
        callback_payloads={"go-ahead": ({"go": True},)},
        before_run=habits.reset,
    ).run()
    baseline = outcome.baseline()
    assert baseline is not None
    assert outcome.error is not None and outcome.error.type == "CallableRuntimeError"
    # With eager tasks (``sdk_order``) the poll's first check runs as the gather starts it,
    # before the invocation suspends on the callback: its failure comes first in both runs.
    first = "CallableRuntimeError" if EAGER_TASKS else "CallbackError"
    assert baseline.error is not None and baseline.error.type == first
    outcome.check(strict=True)


def test_a_callback_time_out_racing_a_failed_poll_is_not_an_unmasked_fault() -> None:
    # The same race with the callback timing out (600 s) rather than failing: the handler
    # sees the SDK's wording of the time-out ("callback timed out: Callback.Timeout"), not
    # the recorded message; found under strict_replay=True.
    outcome = Scenario(
        handler=habits.export_with_callback,
        faults=(step_exception(step=2, attempt=1), invocation_lost(invocation=1)),
        timings=Timings(callback_delays=(3600.0,)),
        callback_payloads={"go-ahead": ({"go": True},)},
        strict_replay=True,
        before_run=habits.reset,
    ).run()
    baseline = outcome.baseline()
    assert baseline is not None and baseline.error is not None
    if EAGER_TASKS:  # (the check fails first, as above)
        assert baseline.error.message.startswith("injected by step_exception(step=2")
    else:
        assert baseline.error.message == "callback timed out: Callback.Timeout"
    outcome.check(strict=True)


def test_a_poll_started_beside_a_replayed_callback_failure_is_not_left_open() -> None:
    # Oracle bug 35 (session 41, --plans all --seed 4155): the callback fails while the
    # first invocation's sandbox is dying and the second's dies at its first checkpoint call
    # (the poll's start); the third meets the failure replayed, the gather raises at once,
    # and the poll it started beside it is in flight when the execution fails with the
    # callback's error. The open-operations oracle excused only siblings that failed in the
    # invocation the poll started, and called it OperationsLeftOpen.
    outcome = Scenario(
        handler=habits.export_with_callback,
        faults=(callback_failure(callback=1), crash(invocation=1, call=3, times=2)),
        callback_payloads={"go-ahead": ({"go": True},)},
        before_run=habits.reset,
    ).run()
    assert outcome.execution_status.value == "FAILED"
    assert outcome.error is not None and outcome.error.type == "CallbackError"
    assert [e["EventType"] for e in outcome.history][-3:] == [
        # With eager tasks (``sdk_order``) the poll's check runs before the gather meets the
        # failure, and ends.
        "StepSucceeded" if EAGER_TASKS else "StepStarted",
        "InvocationCompleted",
        "ExecutionFailed",
    ]
    outcome.check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_HABITS_EXAMPLES", "0"))


# A poll that a step_exception fails can meet SDK finding 8 (export_with_callback: 5 runs in
# 300), which check() labels and warns about: accepted here, as in the everyday corpus.
@pytest.mark.filterwarnings("default::async_durable_execution_runner.oracles.KnownSdkIssueWarning")
@pytest.mark.parametrize("name", sorted(habits.CORPUS))
def test_no_default_fault_plan_flags_a_habits_handler(name: str) -> None:
    strategy = scenarios(habits.CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
