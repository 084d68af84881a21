"""The expected-outcome oracle: a generated program ends as the reference evaluator says."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.faults.kinds import ReferenceFacts, StepFault
from async_durable_execution_runner._harness.oracles.base import (
    UnexpectedOutcome,
    _interrupted_at_most_once,
    oracle,
)
from async_durable_execution_runner._harness.programs.reference import (
    UnsupportedScenario,
    expected_outcome,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


@oracle("expected-outcome")
def check_expected_outcome(outcome: Outcome) -> None:
    """A generated program ends as the reference evaluator says it must."""
    program = outcome.scenario.program
    if program is None or _interrupted_at_most_once(outcome):
        return
    if outcome.scenario.timings.window and any(f.masked for f in outcome.faults_applied):
        # The evaluator takes re-invocations after masked faults to be immediate; with a
        # delivery window a re-invocation may come after later timers.
        return
    if not all(f.modelled for f in outcome.faults_applied):
        return  # e.g. a service error the SDK does not retry: the evaluator does not model it
    if any(not f.masked and getattr(f, "execution", 0) for f in outcome.faults_applied):
        # The evaluator numbers steps in the root alone: a step fault inside an invoked
        # sub-program's execution is not one it knows.
        return
    fired_once = (f for f in outcome.faults_applied if isinstance(f, StepFault) and f.once)
    if any(not f.masked for f in fired_once) and any(f.masked for f in outcome.faults_applied):
        # A fault that fires once inside a body (an AWS call's time-out) does not fire again
        # when a masked fault makes the SDK run that attempt again, while the evaluator has
        # the attempt fail whenever it runs.
        return
    # Every planned fault tells the evaluator what it does (the first planned fault for an
    # ordinal is the one that fires, as in the hooks).
    facts = ReferenceFacts()
    for fault in outcome.scenario.faults:
        if not getattr(fault, "execution", 0):  # (see above: the root's alone)
            fault.describe_to(facts)
    payloads = outcome.scenario.callback_payloads
    try:
        expected = expected_outcome(
            program,
            input=outcome.scenario.input.get("input"),
            callback_results={name: json.dumps(values[0]) for name, values in payloads.items()},
            step_exceptions=facts.step_exceptions,
            step_timeouts=facts.step_timeouts,
            callback_faults=facts.callback_faults,
            invoke_faults=facts.invoke_faults,
            window=outcome.scenario.timings.window,
            callback_delays=outcome.scenario.timings.callback_delays,
            callback_heartbeats=facts.callback_heartbeats,
        )
    except UnsupportedScenario:
        return
    problems = expected.mismatches(outcome.result)
    if problems:
        listing = "; ".join(problems[:5])
        msg = f"the program did not end as the reference evaluator says it must: {listing}"
        raise UnexpectedOutcome(msg)
