"""Property: chained ``invoke``s return what the invoked durable function returns, and a
failed or timed-out invoke raises at exactly the hop the fault plan says, under every
fault plan.

The handler (``durable_primitives.invoke_handler``) invokes ``double`` (registered with
``functions={"double": double_handler}``, which runs as an execution of its own, with its
own steps and checkpoints) ``hops`` times, feeding each result into the next invoke, and
reports the first hop that failed. Without an invoke fault the value is ``n * 2**hops``;
with ``invoke_failure`` / ``invoke_timeout`` on the k-th invoke (k <= hops), the handler
stops at hop k - 1 holding ``n * 2**(k - 1)`` and sees the error type the service reported.
Every invoke that ran started exactly one execution of ``double``, and crashes of the
caller never start a second one.

To adapt: register your invoked functions in ``functions=`` by the names your handler
invokes, and replace ``expected`` with what your chain computes.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import InvocationStatus
from durable_primitives import DOUBLE, double_handler, invoke_handler
from fault_effects import failed_by_service_error
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from async_durable_execution_runner.scenarios import Scenario
from async_durable_execution_runner.strategies import (
    durable_scenarios,
    fault_plans,
    scenario_settings,
)

# ``run_scenario`` is function-scoped, but it only keeps the last outcome for the failure
# report, so sharing it across Hypothesis's examples is deliberate.
SHARED_FIXTURE = scenario_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

EVENTS = st.fixed_dictionaries({"n": st.integers(-1000, 1000), "hops": st.integers(1, 3)})
FAULTS = fault_plans(
    kinds={
        "crash",
        "invocation_lost",
        "checkpoint_error",
        "lost_response",
        "duplicate_invocation",
        "invoke_failure",
        "invoke_timeout",
    },
    max_faults=3,
    max_ordinal=3,
)
ERROR_TYPES = {"invoke_failure": "InjectedInvokeFailure", "invoke_timeout": "Execution.TimedOut"}


def expected(scenario: Scenario) -> dict[str, Any]:
    n, hops = scenario.input["n"], scenario.input["hops"]
    faults: dict[int, Any] = {}
    for f in scenario.faults:  # the first fault planned for an invoke is the one that fires
        if f.kind.startswith("invoke"):
            faults.setdefault(f.invoke, f)
    for hop in range(hops):
        fault = faults.get(hop + 1)
        if fault is not None:
            return {"value": n * 2**hop, "failed_hop": hop, "error": ERROR_TYPES[fault.kind]}
    return {"value": n * 2**hops, "failed_hop": None, "error": None}


@SHARED_FIXTURE
@given(
    scenario=durable_scenarios(
        invoke_handler, inputs=EVENTS, faults=FAULTS, functions={DOUBLE: double_handler}
    )
)
def test_chained_invokes_return_the_invoked_result(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    want = expected(scenario)
    assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
    assert outcome.value == want
    # One execution of `double` per invoke that ran (a faulted invoke runs none), and one
    # chained-invoke operation per invoke the handler made.
    ran = want["failed_hop"] if want["failed_hop"] is not None else scenario.input["hops"]
    invoked = [arn for arn in outcome.recorder.executions if f":function:{DOUBLE}:" in arn]
    assert len(invoked) == ran, invoked
    made = ran + (want["failed_hop"] is not None)
    started = [e for e in outcome.history if e["EventType"] == "ChainedInvokeStarted"]
    assert len(started) == made, [e["Name"] for e in started]
