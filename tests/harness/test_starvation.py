"""A run starved of CPU is not a hung run (docs' finding, session 14: correct handlers flagged
ExecutionHung and FaultNotMasked on a loaded machine). A run that outlives its wall-clock
budget runs once more with six times the budget before the liveness oracle calls it hung,
and the fault-tolerance oracle never compares with a baseline that did not finish.

The stall is a step that blocks for four seconds in the runs the test picks, as a sandbox
that gets no CPU does; nothing here measures time."""

from __future__ import annotations

import pytest
from tests.harness import fault_handlers
from tests.harness.fault_handlers import count_run, starved_once

from async_durable_execution_runner.scenarios import Scenario, crash

# Past the budget of a first run (0.5 s) and the rerun's (3 s) for a run that stalls; a
# run that does not stall finishes well within the first, even on a machine whose cores
# are all busy (at 0.25 s, a run of the suite beside three CPU-bound processes on two cores
# once took longer, and ran again).
BUDGET = 0.5


@pytest.fixture(autouse=True)
def _fresh_runs() -> None:
    fault_handlers.RUNS.clear()
    fault_handlers.STALL_RUNS.clear()


def scenario(name: str, *faults: object) -> Scenario:
    # An input of its own: baselines are remembered across scenarios by their content.
    return Scenario(
        handler=starved_once,
        input=name,
        faults=tuple(faults),  # type: ignore[arg-type]
        before_run=count_run,
        timeout=BUDGET,
    )


def test_a_run_starved_past_its_budget_is_run_again_and_not_flagged() -> None:
    fault_handlers.STALL_RUNS.add(1)
    outcome = scenario("starved run").run()
    assert fault_handlers.RUNS == [1, 2]  # the starved run, then the one judged
    assert outcome.hang is None
    assert outcome.value == ["ready", "done"]
    outcome.check()


def test_a_starved_baseline_is_run_again_before_the_fault_tolerance_oracle_compares() -> None:
    fault_handlers.STALL_RUNS.add(2)  # run 1: the faulted run; run 2: its baseline, starved
    outcome = scenario("starved baseline", crash(invocation=1, call=1)).run()
    outcome.check()
    assert fault_handlers.RUNS == [1, 2, 3]
    baseline = outcome.baseline()
    assert baseline is not None and baseline.hang is None


def test_a_baseline_that_never_finishes_makes_the_comparison_inconclusive() -> None:
    fault_handlers.STALL_RUNS.update({2, 3})  # the baseline is starved twice
    outcome = scenario("hung baseline", crash(invocation=1, call=1)).run()
    outcome.check()  # no FaultNotMasked against a baseline that ended STOPPED
    baseline = outcome.baseline()
    assert baseline is not None and baseline.hang is not None
    assert fault_handlers.RUNS == [1, 2, 3]
