"""Property: a retried ``step`` returns its body's value from exactly the attempt its retry
strategy predicts, under every fault plan, with both ``StepSemantics``.

The handler (``durable_primitives.step_handler``) runs one step whose body fails its first
``fail_first`` attempts and is allowed ``max_attempts``. An attempt fails when the body fails
it, when a ``step_exception`` fault is injected on it, or (at-most-once only) when a crash
or lost invocation interrupts it after its START was checkpointed: the SDK then fails that
attempt with ``StepInterruptedError``, as it documents. The first attempt that does not fail
succeeds, and every failure the service records is one of those; if no attempt is left the
execution fails with the SDK's ``CallableRuntimeError``. An unretryable service error
(``ValidationException``) fails the execution with ``CheckpointError``.

An injected exception belongs to its attempt: if a crash discards an attempt it failed, the
re-run of that attempt (same number) raises again.

To adapt: point ``durable_scenarios`` at your handler, and replace ``expected_attempt`` with
what your step's retry strategy promises.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import InvocationStatus
from durable_primitives import step_handler
from fault_effects import failed_by_service_error
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from async_durable_execution_runner import (
    ExecutionStatus,
)
from async_durable_execution_runner.scenarios import Outcome
from async_durable_execution_runner.strategies import (
    durable_scenarios,
    fault_plans,
    scenario_settings,
)

# ``run_scenario`` is function-scoped, but it only keeps the last outcome for the failure
# report, so sharing it across Hypothesis's examples is deliberate.
SHARED_FIXTURE = scenario_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

FAULTS = fault_plans(
    kinds={
        "crash",
        "invocation_lost",
        "checkpoint_error",
        "lost_response",
        "duplicate_invocation",
        "step_exception",
    },
    max_faults=3,
    max_attempt=4,
    max_ordinal=1,
)

EVENTS = st.fixed_dictionaries(
    {
        "value": st.integers(-1000, 1000),
        "fail_first": st.integers(0, 3),
        "max_attempts": st.integers(1, 4),
        "semantics": st.sampled_from(["AT_LEAST_ONCE_PER_RETRY", "AT_MOST_ONCE_PER_RETRY"]),
    }
)


def failed_attempts(outcome: Outcome, error_type: str | None = None) -> set[int]:
    """The attempts the service recorded as failed (with this error type, if given)."""
    return {
        e["StepFailedDetails"]["RetryDetails"]["CurrentAttempt"]
        for e in outcome.history
        if e["EventType"] == "StepFailed"
        and error_type in (None, e["StepFailedDetails"]["Error"]["Payload"]["ErrorType"])
    }


def expected_attempt(event: dict[str, Any], failing: set[int]) -> int | None:
    """The attempt that succeeds, or ``None`` if every allowed attempt fails."""
    for attempt in range(1, event["max_attempts"] + 1):
        if attempt > event["fail_first"] and attempt not in failing:
            return attempt
    return None


@SHARED_FIXTURE
@given(scenario=durable_scenarios(step_handler, inputs=EVENTS, faults=FAULTS))
def test_step_succeeds_on_the_predicted_attempt(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    event = scenario.input
    # A step_exception fails ``times`` consecutive attempts from ``attempt`` (f.attempts).
    injected = {a for f in scenario.faults if f.kind == "step_exception" for a in f.attempts}
    interrupted = failed_attempts(outcome, "StepInterruptedError")
    if event["semantics"] == "AT_LEAST_ONCE_PER_RETRY":
        assert not interrupted, "an at-least-once step is never interrupted: its body re-runs"
    attempt = expected_attempt(event, injected | interrupted)
    recorded = failed_attempts(outcome)
    if attempt is None:
        assert outcome.execution_status is ExecutionStatus.FAILED, outcome.report()
        assert outcome.error is not None
        assert outcome.error.type == "CallableRuntimeError", outcome.error
        assert recorded == set(range(1, event["max_attempts"] + 1)), "every attempt failed"
        ran = set(range(1, event["max_attempts"] + 1))
    else:
        assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
        assert outcome.value == {"value": 2 * event["value"], "attempt": attempt}
        assert recorded == set(range(1, attempt)), "every earlier attempt failed, none later ran"
        ran = set(range(1, attempt))
    # The injected exceptions that fired were planned for attempts that ran; every one
    # planned for an attempt whose body ran (was not interrupted before it) fired.
    fired = {a for f in outcome.applied("step_exception") for a in f.attempts if a in ran}
    assert injected & ran - interrupted <= fired <= injected & ran
