"""Property: the README's seed workflow (``examples/seed.py``) returns
``["1 2", "3 4 4 3", "5 6"]`` under every fault plan, and checkpoints each operation once.

``function_under_test`` runs a step, a child context of two steps, a one-second wait and a
last step. Every fault kind is drawn (callback and invoke faults find nothing to hit);
crashes, lost invocations, duplicate deliveries and retryable service errors are masked;
injected step exceptions are absorbed by the SDK's default retry strategy (six attempts,
more than a plan's faults). So the execution succeeds with the same result, and each named
operation succeeds exactly once, the child's steps inside the child -- unless an
unretryable service error failed it (``fault_effects.py``).

To adapt: swap in your handler and its expected result; the "each operation succeeds once,
under its parent" assertions hold for any workflow whose operation names are unique.
"""

from __future__ import annotations

from collections import Counter

from async_durable_execution import InvocationStatus
from fault_effects import failed_by_service_error
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from seed import function_under_test

from async_durable_execution_runner.strategies import (
    durable_scenarios,
    fault_plans,
    scenario_settings,
)

# ``run_scenario`` is function-scoped, but it only keeps the last outcome for the failure
# report, so sharing it across Hypothesis's examples is deliberate.
SHARED_FIXTURE = scenario_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

EXPECTED = ["1 2", "3 4 4 3", "5 6"]
#: Operation name -> the name of its parent context (None: the execution's top level).
PARENTS = {
    "one": None,
    "two": None,
    "three-four": "two",
    "four-three": "two",
    "pause": None,
    "three": None,
}
SUCCEEDED = ("StepSucceeded", "ContextSucceeded", "WaitSucceeded")


@SHARED_FIXTURE
@given(
    scenario=durable_scenarios(
        function_under_test, inputs=st.text(max_size=10), faults=fault_plans(max_ordinal=5)
    )
)
def test_seed_workflow_result_survives_every_fault(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
    assert outcome.value == EXPECTED

    ids = {e["Name"]: e["Id"] for e in outcome.history if e["EventType"].endswith("Started")}
    succeeded = Counter(e["Name"] for e in outcome.history if e["EventType"] in SUCCEEDED)
    assert succeeded == Counter(list(PARENTS)), succeeded
    for e in outcome.history:
        if e["EventType"] in SUCCEEDED:
            parent = PARENTS[e["Name"]]
            assert e.get("ParentId") == (ids[parent] if parent else None), e
