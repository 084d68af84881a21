"""Campaign coverage and ``sometimes``: what a property test exercised, and the cases it
must reach.

::

    from async_durable_execution_runner.coverage import observe, sometimes

    @given(durable_scenarios(order_workflow, faults=fault_plans()))
    def test_orders(scenario):
        outcome = scenario.run()
        observe(outcome)                       # features -> event(), target(), the summary
        sometimes(outcome.faults_applied, "a fault landed")
        outcome.check()

``pytest --durable-coverage`` prints, per test, what was exercised and what never happened.
"""

from async_durable_execution_runner._harness.coverage import (
    Campaign,
    campaign,
    features,
    observe,
    sometimes,
    universe,
)

__all__ = ["Campaign", "campaign", "features", "observe", "sometimes", "universe"]
