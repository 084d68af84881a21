"""Property: ``parallel`` gives every branch its own result at its own index, and stops for
the reason its ``CompletionConfig`` documents, under every fault plan and every
interleaving of the branches.

The handler (``durable_primitives.parallel_handler``) runs one branch per input value; each
squares its value in a step that fails for negative values and is allowed three attempts
(so up to two injected step exceptions are absorbed, and a branch fails exactly when its
value is negative). With the completion config drawn (default, a failure tolerance, a
success threshold) and any ``max_concurrency``, each item of the batch sits at its own
branch's index (branches it never started are absent: the 2.5 SDK leaves them out of
``BatchResult.all``, although its docs promise one item per branch); a succeeded item holds its own
value's square; a failed item had a negative value; the completion reason agrees with
``CompletionConfig``'s documented rules applied to the final counts; and a batch stops early
only when a threshold says so. When every failure is tolerated, the whole result is exact.
The SDK records one documented case wrongly (pinned as a strict xfail below).

To adapt: replace the branches with yours; keep ``check_completion``, which holds for any
batch.
"""

from __future__ import annotations

from typing import Any

import pytest
from async_durable_execution import InvocationStatus
from durable_primitives import parallel_handler
from fault_effects import failed_by_service_error
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from async_durable_execution_runner import (
    ExecutionStatus,
)
from async_durable_execution_runner.scenarios import Scenario
from async_durable_execution_runner.strategies import (
    durable_scenarios,
    fault_plans,
    scenario_settings,
)

# ``run_scenario`` is function-scoped, but it only keeps the last outcome for the failure
# report, so sharing it across Hypothesis's examples is deliberate.
SHARED_FIXTURE = scenario_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

VALUES = st.lists(st.integers(-3, 9), min_size=1, max_size=4)


@st.composite
def events(draw: st.DrawFn, *, tolerate_all: bool = False) -> dict[str, Any]:
    values = draw(VALUES)
    event: dict[str, Any] = {
        "values": values,
        "max_concurrency": draw(st.none() | st.integers(1, len(values))),
    }
    if tolerate_all:
        event["tolerated"] = len(values)
        return event
    event["tolerated"] = draw(st.none() | st.integers(0, len(values)))
    event["min_successful"] = draw(st.none() | st.integers(1, len(values)))
    return event


FAULTS = fault_plans(
    kinds={
        "crash",
        "invocation_lost",
        "checkpoint_error",
        "lost_response",
        "duplicate_invocation",
        "step_exception",
    },
    max_faults=2,
    # An outage of at most two attempts per step: fewer than the steps' three attempts.
    max_attempt=2,
    max_ordinal=4,
)


def sdk_reports_all_completed_after_a_stopping_failure(event: dict[str, Any], failed: int) -> bool:
    """The 2.5 SDK's known deviation (pinned by
    ``test_a_failure_before_the_success_threshold_fails_the_batch``): with ``min_successful``
    set and no ``tolerated_failure_count``, a failure stops the batch, as documented, but the
    reason it records is ``ALL_COMPLETED`` instead of ``FAILURE_TOLERANCE_EXCEEDED``."""
    return event.get("min_successful") is not None and event.get("tolerated") is None and failed > 0


def check_completion(event: dict[str, Any], summary: dict[str, Any]) -> None:
    """Each item sits at its own index, and the reason follows ``CompletionConfig``'s rules."""
    values, items, reason = event["values"], summary["items"], summary["reason"]
    indexes = [index for index, _, _ in items]
    assert indexes == sorted(set(indexes)), f"items out of order or repeated: {indexes}"
    assert set(indexes) <= set(range(len(values))), indexes
    for index, status, result in items:
        value = values[index]
        if status == "SUCCEEDED":
            assert value >= 0, (index, value, status)
            assert result == value * value, (index, value, result)
        elif status == "FAILED":
            assert value < 0, (index, value, status)
            assert result == "CallableRuntimeError", (index, value, result)
        else:
            assert status in {"CANCELLED", "STARTED"}, status
    succeeded = sum(1 for _, status, _ in items if status == "SUCCEEDED")
    failed = sum(1 for _, status, _ in items if status == "FAILED")
    finished = succeeded + failed == len(values)
    tolerated, threshold = event.get("tolerated"), event.get("min_successful")
    too_many_failures = failed > (tolerated if tolerated is not None else 0)
    if reason == "MIN_SUCCESSFUL_REACHED":
        assert threshold is not None, summary
        assert succeeded >= threshold, summary
    elif reason == "FAILURE_TOLERANCE_EXCEEDED":
        assert too_many_failures, summary
    elif sdk_reports_all_completed_after_a_stopping_failure(event, failed):
        assert reason == "ALL_COMPLETED", summary
    else:
        assert reason == "ALL_COMPLETED", summary
        assert finished, f"ALL_COMPLETED with unfinished items: {summary}"
        assert not too_many_failures, summary
    if threshold is not None and succeeded >= threshold:
        return
    if not too_many_failures:
        # Neither threshold was reached, so nothing could stop the batch early.
        assert finished, f"stopped early without a reason: {summary}"


@SHARED_FIXTURE
@given(scenario=durable_scenarios(parallel_handler, inputs=events(), faults=FAULTS))
def test_parallel_completes_for_its_documented_reason(run_scenario, scenario):
    outcome = run_scenario(scenario)
    # A batch that stops early depends on which branch finishes first (two failures due
    # at the same instant: one FAILED, one CANCELLED), and faults legitimately reorder
    # them, so this test drops the fault-tolerance oracle; the exact test below keeps it.
    outcome.check(skip=("fault-tolerance",))
    if failed_by_service_error(outcome):
        return
    assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
    check_completion(scenario.input, outcome.value)


@SHARED_FIXTURE
@given(
    scenario=durable_scenarios(parallel_handler, inputs=events(tolerate_all=True), faults=FAULTS)
)
def test_parallel_tolerating_every_failure_is_exact(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
    assert outcome.value == {
        "reason": "ALL_COMPLETED",
        "items": [
            [i, "SUCCEEDED", v * v] if v >= 0 else [i, "FAILED", "CallableRuntimeError"]
            for i, v in enumerate(scenario.input["values"])
        ],
    }


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="SDK 2.5: min_successful without tolerated_failure_count stops on a failure but "
    "records ALL_COMPLETED (BatchResult._get_completion_reason ignores rule 3 of "
    "CompletionConfig's docs once any threshold is set)",
)
def test_a_failure_before_the_success_threshold_fails_the_batch():
    # CompletionConfig.first_successful(): "If a failure is observed before any success, the
    # operation completes as failed."
    outcome = Scenario(
        handler=parallel_handler,
        input={"values": [-1], "min_successful": 1, "tolerated": None},
        faults=(),
    ).run()
    assert outcome.value["reason"] == "FAILURE_TOLERANCE_EXCEEDED", outcome.value


@pytest.mark.xfail(
    strict=True,
    reason="SDK 2.5 finding: an unretryable checkpoint error inside parallel is lost when "
    "another branch suspends (the invocation returns PENDING); see docs/findings.md",
)
def test_an_unretryable_checkpoint_error_inside_parallel_fails_the_execution():
    from async_durable_execution_runner.scenarios import Scenario, checkpoint_error

    outcome = Scenario(
        handler=parallel_handler,
        input={"values": [0, -1], "max_concurrency": None, "tolerated": 2},
        faults=(checkpoint_error(invocation=1, call=2, error="ValidationException"),),
    ).run()
    assert outcome.faults_applied
    assert outcome.execution_status is ExecutionStatus.FAILED
