"""Scenarios whose handler is a random durable program (``durable_scenarios()`` without one).

The program travels in the execution input and runs in ``program_handler``; the reference
evaluator computes, from the program, its payloads and its fault plan alone, the outcome the
service must produce, and the ``expected-outcome`` oracle compares.
"""

from __future__ import annotations

from hypothesis import strategies as st

from async_durable_execution_runner._harness.faults.kinds import FaultKind
from async_durable_execution_runner._harness.programs.interpreter import (
    PROGRAM_FUNCTION,
    program_event,
    program_handler,
)
from async_durable_execution_runner._harness.programs.nodes import callback_names, durable_programs
from async_durable_execution_runner._harness.scenario.scenario import Scenario
from async_durable_execution_runner._harness.scenario.timings import Timings

#: Callback payloads: small JSON values.
PAYLOADS = st.none() | st.booleans() | st.integers(-100, 100) | st.text(max_size=6)


def program_scenarios(
    *,
    faults: st.SearchStrategy[tuple[FaultKind, ...]] | None = None,
    timings: st.SearchStrategy[Timings] | None = None,
) -> st.SearchStrategy[Scenario]:
    from async_durable_execution_runner._harness.scenario.strategies import fault_plans, with_plan
    from async_durable_execution_runner._harness.scenario.strategies import (
        timings as timing_choices,
    )

    fault_strategy = faults if faults is not None else fault_plans()
    timing_strategy = timings if timings is not None else timing_choices()

    @st.composite
    def build(draw: st.DrawFn) -> Scenario:
        program = draw(durable_programs(), label="program")
        payloads = {name: (draw(PAYLOADS),) for name in callback_names(program)}
        scenario = Scenario(
            handler=program_handler,
            input=program_event(program),
            timings=draw(timing_strategy),
            callback_payloads=payloads,
            functions={PROGRAM_FUNCTION: program_handler},
            program=program,
        )
        return with_plan(draw, scenario, fault_strategy)

    return build()
