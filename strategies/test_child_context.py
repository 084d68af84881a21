"""Property: ``run_in_child_context`` returns what its body computes, exactly once, with its
operations nested under it, under every fault plan.

The handler (``durable_primitives.child_handler``) runs a child context ("fold") holding one
child context per input item ("item-i"), each holding a step, a wait (so the execution
suspends, and replays, inside a child) and another step. Whatever the faults (step
exceptions are absorbed by the SDK's default retries), the total is ``sum(10 * (x + 1))``;
each context succeeds exactly once with the value its parent used; every operation's parent
is the context that ran it.

To adapt: replace the bodies with yours and ``expected_total`` with what they compute; keep
the structural assertions, which hold for any workflow of child contexts.
"""

from __future__ import annotations

import json
from collections import defaultdict

from async_durable_execution import InvocationStatus
from durable_primitives import child_handler
from fault_effects import failed_by_service_error
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from async_durable_execution_runner.strategies import (
    durable_scenarios,
    fault_plans,
    scenario_settings,
)

# ``run_scenario`` is function-scoped, but it only keeps the last outcome for the failure
# report, so sharing it across Hypothesis's examples is deliberate.
SHARED_FIXTURE = scenario_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

EVENTS = st.fixed_dictionaries({"xs": st.lists(st.integers(-50, 50), max_size=3)})
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
    max_ordinal=7,
)


def expected_total(xs: list[int]) -> int:
    return sum(10 * (x + 1) for x in xs)


@SHARED_FIXTURE
@given(scenario=durable_scenarios(child_handler, inputs=EVENTS, faults=FAULTS))
def test_child_contexts_return_their_body_result_once(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    xs = scenario.input["xs"]
    assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
    assert outcome.value == {"total": expected_total(xs)}

    # Each context succeeded once, with the value its body computed.
    ids: dict[str, str] = {}
    results: dict[str, list[str]] = defaultdict(list)
    parents: dict[str, str | None] = {}
    for e in outcome.history:
        if "Id" in e and "Name" in e and e["EventType"] != "ExecutionStarted":
            parents[e["Id"]] = e.get("ParentId")
            if e["EventType"] == "ContextStarted":
                ids[e["Name"]] = e["Id"]
            if e["EventType"] == "ContextSucceeded":
                results[e["Name"]].append(e["ContextSucceededDetails"]["Result"]["Payload"])
    assert [json.loads(r) for r in results.pop("fold")] == [expected_total(xs)]
    for i, x in enumerate(xs):
        assert [json.loads(r) for r in results.pop(f"item-{i}")] == [10 * (x + 1)]
    assert not results, f"unexpected contexts: {sorted(results)}"

    # Nesting: fold at the top, items under fold, their operations under their item.
    assert parents[ids["fold"]] is None
    items = {ids[f"item-{i}"] for i in range(len(xs))}
    assert all(parents[item] == ids["fold"] for item in items)
    inner = {e["Id"] for e in outcome.history if e.get("Name") in {"increment", "breathe", "scale"}}
    assert len(inner) == 3 * len(xs)
    assert all(parents[op] in items for op in inner)
