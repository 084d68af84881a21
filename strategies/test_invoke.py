"""Property: chained ``invoke``s return what the invoked durable function returns, and a
failed or timed-out invoke raises at exactly the hop the fault plan says, under every
fault plan.

The handler (``durable_primitives.invoke_handler``) invokes ``double`` (registered with
``functions={"double": double_handler}``, which runs as an execution of its own, with its
own steps and checkpoints) ``hops`` times, feeding each result into the next invoke, and
reports the first hop that failed. Without an invoke fault the value is ``n * 2**hops``;
with ``invoke_failure`` / ``invoke_timeout`` on the k-th invoke (k <= hops), the handler
stops at hop k - 1 holding ``n * 2**(k - 1)`` and sees the error type the service reported.
An unretryable service error inside the k-th invoked execution (a fault's ``execution=k``)
fails that execution, and the handler stops at hop k - 1 the same way, seeing
``CheckpointError``. Every invoke that ran started exactly one execution of ``double``, and
crashes of the caller never start a second one.

To adapt: register your invoked functions in ``functions=`` by the names your handler
invokes, and replace ``expected`` with what your chain computes.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import InvocationStatus
from durable_primitives import DOUBLE, double_handler, invoke_handler
from fault_effects import failed_by_service_error, invoked_executions_failed_by_service_errors
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from async_durable_execution_runner.scenarios import Scenario, checkpoint_error, crash
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


def expected(scenario: Scenario, failed_executions: set[int]) -> dict[str, Any]:
    n, hops = scenario.input["n"], scenario.input["hops"]
    faults: dict[int, Any] = {}
    for f in scenario.faults:  # the first fault planned for an invoke is the one that fires
        if f.kind.startswith("invoke"):
            faults.setdefault(f.invoke, f)
    for hop in range(hops):
        fault = faults.get(hop + 1)
        if fault is not None:
            return {"value": n * 2**hop, "failed_hop": hop, "error": ERROR_TYPES[fault.kind]}
        if hop + 1 in failed_executions:
            return {"value": n * 2**hop, "failed_hop": hop, "error": "CheckpointError"}
    return {"value": n * 2**hops, "failed_hop": None, "error": None}


def _refused_in_the_first_invoked_execution(*also: Any) -> Scenario:
    # (Found with a random seed: the suite took such a fault for one that fails the
    # caller's own execution.)
    return Scenario(
        handler=invoke_handler,
        input={"n": 3, "hops": 2},
        faults=(
            *also,
            checkpoint_error(invocation=1, call=1, error="ValidationException", execution=1),
        ),
        functions={DOUBLE: double_handler},
    )


@SHARED_FIXTURE
@given(
    scenario=durable_scenarios(
        invoke_handler, inputs=EVENTS, faults=FAULTS, functions={DOUBLE: double_handler}
    )
)
@example(scenario=_refused_in_the_first_invoked_execution())
@example(scenario=_refused_in_the_first_invoked_execution(crash(invocation=1, call=1)))
def test_chained_invokes_return_the_invoked_result(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    want = expected(scenario, invoked_executions_failed_by_service_errors(outcome))
    assert outcome.status is InvocationStatus.SUCCEEDED, outcome.report()
    assert outcome.value == want
    # One chained-invoke operation per invoke the handler made, and one execution of
    # `double` per invoke that ran (a faulted invoke runs none; one that a service error
    # failed inside ran).
    made = want["failed_hop"] + 1 if want["failed_hop"] is not None else scenario.input["hops"]
    ran = made - (want["error"] in ERROR_TYPES.values())
    invoked = [arn for arn in outcome.recorder.executions if f":function:{DOUBLE}:" in arn]
    assert len(invoked) == ran, invoked
    started = [e for e in outcome.history if e["EventType"] == "ChainedInvokeStarted"]
    assert len(started) == made, [e["Name"] for e in started]
