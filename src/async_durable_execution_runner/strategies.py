"""Hypothesis strategies for durable functions (the only public module that needs Hypothesis).

::

    @scenario_settings()  # deadline off: a scenario takes longer than Hypothesis's 200 ms
    @given(durable_scenarios(order_workflow, inputs=st.builds(make_order)))
    def test_order_workflow_survives_faults(scenario):
        outcome = scenario.run()
        outcome.check()
"""

from async_durable_execution_runner._harness.checkpoint_model.updates import (
    checkpoint_batches,
    operation_updates,
)
from async_durable_execution_runner._harness.faults.errors import SERVICE_ERRORS
from async_durable_execution_runner._harness.faults.strategies import DEFAULT_KINDS, fault_plans
from async_durable_execution_runner._harness.programs.nodes import Program
from async_durable_execution_runner._harness.programs.strategies import durable_programs
from async_durable_execution_runner._harness.scenario.outcome import Outcome
from async_durable_execution_runner._harness.scenario.scenario import Scenario
from async_durable_execution_runner._harness.scenario.strategies import (
    durable_scenarios,
    timings,
)
from async_durable_execution_runner._harness.scenario.timings import Timings
from async_durable_execution_runner._harness.settings import scenario_settings

__all__ = [
    "DEFAULT_KINDS",
    "SERVICE_ERRORS",
    "Outcome",
    "Program",
    "Scenario",
    "Timings",
    "checkpoint_batches",
    "durable_programs",
    "durable_scenarios",
    "fault_plans",
    "operation_updates",
    "scenario_settings",
    "timings",
]
