"""The session-15 false-flag audit: correct handlers using the SDK's less travelled features
(``examples/everyday.py``) are flagged by no oracle, and the false flags the audit found stay
fixed (each test is the shrunk scenario of one).

The corpus runs a few examples per handler here; ``DURABLE_EVERYDAY_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus everyday --plans all``, which also counts the
faults that landed).
"""

from __future__ import annotations

import os

import pytest
from corpus import check_every, scenarios
from everyday import (
    CORPUS,
    authorize_or_decline,
    fastest_supplier,
    manager_approval,
    outlast_an_outage,
    reset,
)

from async_durable_execution_runner.scenarios import (
    Scenario,
    Timings,
    crash,
    step_exception,
)
from async_durable_execution_runner.strategies import fault_plans

# --- the false flags, shrunk ------------------------------------------------------------


def test_a_wait_for_callback_submitter_runs_in_a_step_body() -> None:
    # The submitter of wait_for_callback runs inside the SDK's submitter step, bound to a
    # WaitForCallbackContext rather than a StepContext: its uuid4() was taken for code
    # outside a step (NondeterminismSource on a fault-free run).
    outcome = Scenario(
        handler=manager_approval,
        callback_payloads={"manager": ({"approved": True},)},
        before_run=reset,
    ).run()
    assert outcome.nondeterministic_calls == ()
    assert outcome.nondeterministic_steps  # the submitter step is known to draw
    outcome.check()
    assert outcome.value is not None and outcome.value["decision"] == {"approved": True}


def test_a_retry_strategy_may_draw_its_own_jitter() -> None:
    # The SDK calls a step's retry strategy after the attempt, outside the step's context,
    # and checkpoints the delay: the strategy never runs on replay, so its random draw is as
    # safe as the jitter of the SDK's own RetryStrategy. It was flagged NondeterminismSource.
    outcome = Scenario(
        handler=authorize_or_decline,
        faults=(step_exception(step=2, attempt=1),),
        before_run=reset,
    ).run()
    assert outcome.result.get_step("authorize").attempt >= 2
    assert outcome.nondeterministic_calls == ()
    outcome.check()


def test_an_error_recorded_in_a_cold_sandbox_is_retried_in_the_baseline() -> None:
    # The crash sent invocation 2 to a cold sandbox, which re-imported the handler's module:
    # the step's Unavailable error was of the re-imported class. The baseline (one warm
    # invocation) raised that recorded error into a retry strategy whose
    # retryable_error_types names the original class, so it gave up at once, and the
    # fault-tolerance oracle called the crash unmasked (FaultNotMasked).
    outcome = Scenario(
        handler=outlast_an_outage,
        faults=(crash(invocation=1, call=1),),
        timings=Timings(sandboxes=("cold",)),
    ).run()
    assert outcome.result.get_step("call-partner").attempt > 1
    outcome.check()
    baseline = outcome.baseline()
    assert baseline is not None
    assert baseline.value == outcome.value


def test_a_slow_body_that_a_crash_ran_twice_ends_as_late_in_the_baseline() -> None:
    # The crash lost the slow supplier's answer after its 3 s body had run: it ran again in
    # invocation 2 and answered at 6 s, so the fast supplier's hold ended first. The
    # baseline answered the recorded quote at 3 s, the slow supplier won there, and the
    # fault-tolerance oracle called the crash unmasked. The race is the handler's design; the
    # time a re-run body takes is part of the same world.
    outcome = Scenario(handler=fastest_supplier, faults=(crash(invocation=1, call=3),)).run()
    assert outcome.value == {"winner": ["fast"]}
    assert Scenario(handler=fastest_supplier).run().value == {"winner": ["slow"]}
    outcome.check()
    baseline = outcome.baseline()
    assert baseline is not None
    assert baseline.value == outcome.value


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_EVERYDAY_EXAMPLES", "0"))


@pytest.mark.filterwarnings("default::async_durable_execution_runner.oracles.KnownSdkIssueWarning")
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_an_everyday_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
