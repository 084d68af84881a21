"""Correct handlers on the SDK's declarative workflows (``flow()`` over a ``@durable_dag``,
``examples/flows.py``) are flagged by no oracle under the default fault plans and timings.

A few examples per handler here; ``DURABLE_FLOW_EXAMPLES=300`` runs the campaign.
"""

from __future__ import annotations

import json
import os

import pytest
from corpus import check_every, scenarios
from flows import CORPUS
from tests.harness import flow_handlers

from async_durable_execution_runner.oracles import NondeterminismSource
from async_durable_execution_runner.scenarios import Scenario, callback_failure
from async_durable_execution_runner.strategies import fault_plans

EXAMPLES = int(os.environ.get("DURABLE_FLOW_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_a_flow_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 6, derandomize=not EXAMPLES)


def test_a_declined_payment_takes_the_failure_route() -> None:
    outcome = Scenario(**_scenario("order_flow_declined")).run()
    outcome.check()
    assert json.loads(outcome.result.result or "null") == {"pay": "FAILED", "declined": "SUCCEEDED"}


def test_a_failed_audit_fails_the_flow_and_is_not_flagged() -> None:
    # The shrunk scenario of the false flag a 300-example fuzz found (OperationsLeftOpen): the
    # callback's CallbackError leaves the flow's contexts and the slow vendor's wait open.
    outcome = Scenario(**_scenario("sourcing_flow"), faults=(callback_failure(callback=1),)).run()
    assert outcome.execution_status.value == "FAILED"
    outcome.check()


def _scenario(name: str) -> dict[str, object]:
    spec = CORPUS[name]
    options: dict[str, object] = {"handler": spec["handler"], "input": spec.get("input")}
    if "callbacks" in spec:
        options["callback_payloads"] = {k: (v,) for k, v in spec["callbacks"].items()}
    return options


def test_a_definition_that_reads_the_clock_runs_as_it_does_without_the_harness() -> None:
    # The SDK refuses to name a durable context while a definition runs; the detector's
    # question raised that refusal into the definition, and the execution failed under the
    # harness only.
    outcome = Scenario(handler=flow_handlers.definition_timed).run()
    assert outcome.value == "SUCCEEDED", outcome.error
    outcome.check()


def test_a_draw_while_a_definition_runs_is_flagged_and_changes_nothing_else() -> None:
    outcome = Scenario(handler=flow_handlers.definition_draws).run()
    assert outcome.value == "SUCCEEDED", outcome.error
    with pytest.raises(NondeterminismSource, match=r"random\.random\(\) at .*flow_handlers"):
        outcome.check()
