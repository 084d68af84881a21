"""``outage``: a partner every step depends on is down for a while, across steps."""

from __future__ import annotations

from typing import Any

import pytest
from buggy import compensation_in_outage as saga
from gallery import services
from gallery.checkout import checkout
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from tests.harness.fault_handlers import (
    callee,
    everything,
    patient_then_next,
    two_branches,
)

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner._harness.faults.hooks import FaultPlanHooks
from async_durable_execution_runner._harness.faults.kinds import OUTAGE_SECONDS
from async_durable_execution_runner._service.seams import StepAttempt
from async_durable_execution_runner.scenarios import (
    Outcome,
    Scenario,
    crash,
    duplicate_invocation,
    outage,
)
from async_durable_execution_runner.strategies import durable_scenarios, fault_plans


def _failed_attempts(outcome: Outcome) -> dict[str, list[int]]:
    """Each step's attempts that failed with an injected error, by step name."""
    names = {e["Id"]: e.get("Name") for e in outcome.history if e["EventType"] == "StepStarted"}
    failed: dict[str, list[int]] = {}
    for event in outcome.history:
        if event["EventType"] != "StepFailed":
            continue
        details = event["StepFailedDetails"]
        message = details["Error"]["Payload"]["ErrorMessage"]
        assert "injected by outage(" in message, message
        attempt = details["RetryDetails"]["CurrentAttempt"]
        failed.setdefault(names[event["Id"]], []).append(attempt)
    return failed


def test_an_outage_hits_every_step_attempt_that_starts_before_it_ends() -> None:
    # Retries 20 s apart: a 10 s outage costs "first" one attempt; a 60 s one costs it three
    # (at 0, 20 and 40 s; the fourth, at 60 s, is after the outage); "second" comes later.
    short = Scenario(handler=patient_then_next, faults=(outage(step=1, seconds=10),)).run()
    assert _failed_attempts(short) == {"first": [1]}
    assert short.value == ["first", "second"]
    long = Scenario(handler=patient_then_next, faults=(outage(step=1, seconds=60),)).run()
    assert _failed_attempts(long) == {"first": [1, 2, 3]}
    assert long.result.get_step("first").attempt == 4
    # Started at the second step: the first is not touched.
    later = Scenario(handler=patient_then_next, faults=(outage(step=2, seconds=30),)).run()
    assert _failed_attempts(later) == {"second": [1, 2]}
    for outcome in (short, long, later):
        assert len(outcome.faults_applied) == 1, "one fault, however many attempts it hit"
        outcome.check()


def test_an_outage_spans_the_steps_that_run_while_it_lasts() -> None:
    # Both branches call their partners at the same instant: one outage hits both, a
    # step_exception would hit one.
    outcome = Scenario(handler=two_branches, faults=(outage(step=1, seconds=10),)).run()
    assert _failed_attempts(outcome) == {"left": [1], "right": [1]}
    assert outcome.value == ["left", "right"]
    outcome.check()


def test_an_outage_longer_than_a_budget_fails_the_step() -> None:
    outcome = Scenario(handler=patient_then_next, faults=(outage(step=1, seconds=3600),)).run()
    assert _failed_attempts(outcome) == {"first": [1, 2, 3, 4, 5, 6]}
    assert outcome.execution_status is ExecutionStatus.FAILED
    outcome.check()


def test_an_outage_with_a_masked_fault_keeps_the_same_world_baseline() -> None:
    # The crash adds an invocation; the baseline replays the attempts the outage hit, so the
    # fault-tolerance oracle compares like with like.
    faults = (outage(step=1, seconds=10), crash(invocation=2, call=1))
    outcome = Scenario(
        handler=everything,
        input=None,
        faults=faults,
        callback_payloads={"approval": ("yes",)},
        functions={"callee": callee},
    ).run()
    assert set(outcome.faults_applied) == set(faults)
    outcome.check()


def test_a_failing_example_prints_the_outage_as_a_reproducer_writes_it() -> None:
    @settings(max_examples=1, deadline=None, database=None)
    @given(st.just(Scenario(handler=patient_then_next, faults=(outage(step=1, seconds=3600),))))
    def always_succeeds(scenario: Scenario) -> None:
        assert scenario.run().execution_status is ExecutionStatus.SUCCEEDED

    with pytest.raises(AssertionError) as failure:
        always_succeeds()
    notes = "\n".join(getattr(failure.value, "__notes__", ()))
    assert "faults=(outage(step=1, attempt=1, seconds=3600),)" in notes, notes
    assert "OutageFault(" not in notes


def test_a_duplicate_delivery_meets_the_outage_its_first_delivery_met() -> None:
    # Invocation 2 runs the authorization's attempt 2 into the outage and is delivered again
    # right after its first call: the duplicate runs attempt 2 too, and the gateway is down
    # for it as well. Before, the duplicate's body ran unhindered and left an authorization
    # held that no checkpointed attempt made (found by the gallery's outage property).
    pen = {"sku": "pen", "quantity": 1, "unit_price": 250}
    order = {"id": "order-1", "customer": "ada", "lines": [pen]}
    outcome = Scenario(
        handler=checkout,
        input=order,
        faults=(outage(step=2, seconds=60), duplicate_invocation(invocation=2, after_call=1)),
        before_run=services.reset,
    ).run()
    assert [i.environment for i in outcome.invocations].count("duplicate") == 1
    assert outcome.value["status"] == "declined"
    assert services.payments.authorizations == {}
    outcome.check()


def test_hooks_without_a_clock_say_what_to_set() -> None:
    hooks = FaultPlanHooks((outage(step=1),), root_arn="arn")
    attempt = StepAttempt("arn", 1, "op-1", "first", 1, None)
    with pytest.raises(RuntimeError, match=r"hooks\.now = runner\.clock\.now"):
        hooks.on_step_attempt(attempt)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    durable_scenarios(patient_then_next, inputs=st.just(None), faults=fault_plans(kinds={"outage"}))
)
def test_placed_outages_last_one_of_the_durations_and_apply(scenario: Any) -> None:
    outcome = scenario.run()
    for fault in scenario.faults:
        assert fault.seconds in OUTAGE_SECONDS
    assert set(outcome.faults_applied) == set(scenario.faults)
    outcome.check()


# --- a partner's outage (``steps``, ``fault_plans(partners=...)``) ---------------------------


def test_a_partners_outage_hits_only_that_partners_steps() -> None:
    outcome = Scenario(
        handler=two_branches, faults=(outage(step=1, seconds=10, steps=("left",)),)
    ).run()
    assert _failed_attempts(outcome) == {"left": [1]}
    assert outcome.value == ["left", "right"]
    assert len(outcome.faults_applied) == 1
    outcome.check()


def test_an_outage_aimed_at_a_step_of_no_partner_of_its_does_not_land() -> None:
    outcome = Scenario(
        handler=patient_then_next, faults=(outage(step=1, seconds=60, steps=("second",)),)
    ).run()
    assert _failed_attempts(outcome) == {}
    assert outcome.faults_applied == ()


def test_a_partner_is_named_by_patterns_and_an_outage_prints_them() -> None:
    fault = outage(step=2, seconds=10, steps=["gateway-*", "refund"])  # type: ignore[arg-type]
    assert fault.steps == ("gateway-*", "refund")
    assert repr(fault) == "outage(step=2, attempt=1, seconds=10, steps=('gateway-*', 'refund'))"
    assert repr(outage(step=2)) == "outage(step=2, attempt=1, seconds=60)"
    assert fault.hits("gateway-charge") and fault.hits("refund")
    assert not fault.hits("refund-2") and not fault.hits(None)
    with pytest.raises(ValueError, match="tuple of step-name patterns"):
        outage(step=1, steps="gateway-*")  # type: ignore[arg-type]


PARTNERS = saga.PARTNERS


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    durable_scenarios(
        saga.released_at_the_warehouse,
        inputs=st.just({"id": "order-1"}),
        faults=fault_plans(kinds={"outage"}, max_faults=1, partners=PARTNERS),
        before_run=saga.reset,
    )
)
def test_placed_partner_outages_start_at_and_hit_only_their_partners_steps(
    scenario: Any,
) -> None:
    outcome = scenario.run()
    assert set(outcome.faults_applied) == set(scenario.faults)
    names = {e["Id"]: e.get("Name") for e in outcome.history if e["EventType"] == "StepStarted"}
    for fault in scenario.faults:
        assert fault.steps in {("gateway-*",), ("warehouse-*",)}
    for event in outcome.history:
        if event["EventType"] == "StepFailed":
            assert any(f.hits(names[event["Id"]]) for f in scenario.faults), event
    saga.no_stock_held_unpaid(outcome)
    outcome.check()


def test_an_outage_of_every_step_fails_a_compensation_that_calls_another_partner() -> None:
    # The same handler and promise, without partners: the outage that fails the charge also
    # fails the warehouse's release, which no outage of the gateway alone reaches.
    @settings(max_examples=100, deadline=None, database=None, derandomize=True)
    @given(
        durable_scenarios(
            saga.released_at_the_warehouse,
            inputs=st.just({"id": "order-1"}),
            faults=fault_plans(kinds={"outage"}, max_faults=1),
            before_run=saga.reset,
        )
    )
    def nothing_held_unpaid(scenario: Any) -> None:
        saga.no_stock_held_unpaid(scenario.run())

    with pytest.raises(AssertionError, match="holding stock it never paid for"):
        nothing_held_unpaid()


@pytest.mark.parametrize(
    ("partners", "kinds", "message"),
    [
        ({"gateway": "gateway-*"}, {"outage"}, "a list, not a string"),
        ({"gateway": []}, {"outage"}, "non-empty collection"),
        ({"gateway": ["", "x"]}, {"outage"}, "non-empty collection"),
        ({}, {"outage"}, "non-empty mapping"),
        (["gateway-*"], {"outage"}, "non-empty mapping"),
        (PARTNERS, {"step_exception"}, "has no 'outage'"),
    ],
)
def test_partners_that_aim_no_outage_are_refused(
    partners: Any, kinds: set[str], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        fault_plans(kinds=kinds, partners=partners)


def test_a_partners_outage_replays_from_its_reproducer() -> None:
    fault = outage(step=2, seconds=10, steps=("gateway-*",))
    scenario = Scenario(
        handler=saga.released_at_the_warehouse,
        input={"id": "order-1"},
        faults=(fault,),
        before_run=saga.reset,
    )
    outcome = scenario.run()
    assert outcome.faults_applied == (fault,)
    assert outcome.value["status"] == "declined"
    code = scenario.to_pytest()
    assert "outage(step=2, attempt=1, seconds=10, steps=('gateway-*',))" in code
    namespace: dict[str, Any] = {}
    exec(compile(code, "reproducer.py", "exec"), namespace)
    namespace["test_regression"]()
