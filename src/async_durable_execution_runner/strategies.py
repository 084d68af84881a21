"""Hypothesis strategies for durable functions (the only public module that needs Hypothesis).

::

    @scenario_settings()  # deadline off: a scenario takes longer than Hypothesis's 200 ms
    @given(durable_scenarios(order_workflow, inputs=st.builds(make_order)))
    def test_order_workflow_survives_faults(scenario):
        outcome = scenario.run()
        outcome.check()
"""

from async_durable_execution_runner._harness.faults import SERVICE_ERRORS
from async_durable_execution_runner._harness.programs import Program, durable_programs
from async_durable_execution_runner._harness.scenario import Outcome, Scenario
from async_durable_execution_runner._harness.settings import scenario_settings
from async_durable_execution_runner._harness.strategies import (
    DEFAULT_KINDS,
    durable_scenarios,
    fault_plans,
    timings,
)
from async_durable_execution_runner._harness.timings import Timings
from async_durable_execution_runner._harness.updates import checkpoint_batches, operation_updates

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
