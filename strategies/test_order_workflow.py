"""Property: the order workflow (``examples/orders.py``) ships an approved order at the price
the pricing function computes, rejects a declined one, and fails only for the reasons the
fault plan gives, under every fault plan.

``order_workflow`` reserves stock, waits for an approval callback and prices the order with
a chained invoke of ``pricing`` (both in a child context), then charges, waits an hour and
ships. The scenario answers the approval with ``{"approved": <drawn>}`` and runs
``pricing_handler`` for the invoke. So:

- approval failed / timed out (a callback fault on callback 1): FAILED with ``CallbackError``;
- otherwise, pricing failed / timed out (an invoke fault on invoke 1; the invoke runs
  whatever the answer, before the decision is read): FAILED with ``CallableRuntimeError``;
- declined: ``{"status": "rejected", "reservation": "reservation-<id>"}``;
- approved: shipped, charged ``10 * quantity``, tracking ``shipped-<id>``;

and the charge and shipping steps run only for approved orders, once each. Masked faults
change nothing; step exceptions are absorbed by the default retries.

To adapt: give ``callbacks=`` a strategy per callback name your workflow creates, register
its invoked functions in ``functions=``, and replace ``expected`` with your business rules.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import InvocationStatus
from fault_effects import failed_by_service_error
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from orders import order_workflow, pricing_handler

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

ORDERS = st.fixed_dictionaries({"id": st.integers(1, 10_000), "quantity": st.integers(1, 20)})
APPROVALS = st.fixed_dictionaries({"approved": st.booleans()})


def expected(scenario: Scenario) -> tuple[ExecutionStatus, Any]:
    """The status, and the result (or the error type) the workflow must end with."""
    order = scenario.input
    callback_kinds = {
        "callback_failure",
        "callback_timeout",
        "heartbeat_timeout",
        "heartbeat_then_timeout",
    }
    callback_fault = any(f.kind in callback_kinds and f.callback == 1 for f in scenario.faults)
    if callback_fault:
        return ExecutionStatus.FAILED, "CallbackError"
    if any(
        f.kind in {"invoke_failure", "invoke_timeout"} and f.invoke == 1 for f in scenario.faults
    ):
        return ExecutionStatus.FAILED, "CallableRuntimeError"
    if not scenario.callback_payload("approval", 0)["approved"]:
        return ExecutionStatus.SUCCEEDED, {
            "status": "rejected",
            "reservation": f"reservation-{order['id']}",
        }
    return ExecutionStatus.SUCCEEDED, {
        "status": "shipped",
        "receipt": {"order": order["id"], "charged": 10 * order["quantity"]},
        "tracking": f"shipped-{order['id']}",
    }


@SHARED_FIXTURE
@given(
    scenario=durable_scenarios(
        order_workflow,
        inputs=ORDERS,
        faults=fault_plans(max_ordinal=2),
        callbacks={"approval": APPROVALS},
        functions={"pricing": pricing_handler},
    )
)
def test_order_workflow_ships_rejects_or_fails_for_a_reason(run_scenario, scenario):
    outcome = run_scenario(scenario)
    outcome.check()
    if failed_by_service_error(outcome):
        return
    status, want = expected(scenario)
    assert outcome.execution_status is status, outcome.report()
    if status is ExecutionStatus.FAILED:
        assert outcome.error is not None
        assert outcome.error.type == want, outcome.error
    else:
        assert outcome.value == want
    succeeded = [e["Name"] for e in outcome.history if e["EventType"] == "StepSucceeded"]
    shipped = outcome.status is InvocationStatus.SUCCEEDED and outcome.value["status"] == "shipped"
    assert succeeded.count("charge") == succeeded.count("ship") == (1 if shipped else 0)
    assert succeeded.count("reserve") == 1
