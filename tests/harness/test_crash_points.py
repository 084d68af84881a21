"""Scenario.crash_points(): every checkpoint call crashed before it is sent and answered with
a lost response after it is applied, each run and judged."""

from __future__ import annotations

from typing import Any

import pytest
from buggy import non_idempotent_step, side_effect_outside_step

from async_durable_execution_runner.oracles import FaultNotMasked
from async_durable_execution_runner.scenarios import (
    CrashPointsFailed,
    Outcome,
    Scenario,
    aws_call_crash,
    body_crash,
    crash,
    lost_response,
)


def _scenario(module: Any, variant: str) -> Scenario:
    return Scenario(
        handler=getattr(module, variant),
        input={"id": "order-1"},
        before_run=module.reset,
    )


def test_every_call_of_every_invocation_is_a_crash_point() -> None:
    scenario = _scenario(side_effect_outside_step, "fixed")
    report = scenario.crash_points()
    calls = {(p.invocation, p.call) for p in report.points}  # type: ignore[attr-defined]
    assert len(report.points) == 2 * len(calls) >= 4
    assert report.points[:2] == (
        crash(invocation=1, call=1),
        lost_response(invocation=1, call=1, error="TooManyRequestsException"),
    )
    assert report.complete and report.explored == report.points
    assert report.failures == ()
    report.check()  # nothing to raise
    # Every point lands where it was enumerated.
    for point in report.points:
        outcome = scenario.with_faults((point,)).run()
        assert outcome.faults_applied == (point,)


def test_every_failing_point_is_reported_with_its_reproducer() -> None:
    scenario = _scenario(side_effect_outside_step, "buggy")
    report = scenario.crash_points()
    assert report.complete
    # A crash before the count is checkpointed makes the replay count two e-mails.
    assert crash(invocation=1, call=1) in [f.fault for f in report.failures]
    assert all(isinstance(f.error, FaultNotMasked) for f in report.failures)
    with pytest.raises(CrashPointsFailed) as raised:
        report.check()
    message = str(raised.value)
    assert f"{len(report.points)} crash points run, {len(report.failures)} failing" in message
    assert message.count("Reproduce with:") == len(report.failures)
    # A reproducer replays the failing point without Hypothesis.
    first = report.failures[0]
    assert first.scenario.faults == (crash(invocation=1, call=1),)
    namespace: dict[str, Any] = {}
    exec(compile(first.scenario.to_pytest(), "reproducer.py", "exec"), namespace)
    with pytest.raises(FaultNotMasked):
        namespace["test_regression"]()


def test_only_the_points_that_break_the_handler_are_reported() -> None:
    # The charge step is at-least-once: only a crash between its body and the acknowledgement
    # of its result charges twice; lost responses (applied calls) never do.
    report = _scenario(non_idempotent_step, "buggy").crash_points()
    failing = [f.fault for f in report.failures]
    assert failing, report
    assert all(f.kind == "crash" for f in failing), report
    assert len(failing) < len(report.points)
    assert not _scenario(non_idempotent_step, "fixed").crash_points().failures


def test_the_budget_bounds_the_runs_and_the_report_says_what_was_left() -> None:
    report = _scenario(side_effect_outside_step, "fixed").crash_points(max_points=3)
    assert len(report.explored) == 3 and not report.complete
    assert report.unexplored == report.points[3:]
    assert "points not run" in str(report)


def test_an_invariant_judges_every_point() -> None:
    from buggy.fakes import SENT

    def one_email(outcome: Outcome) -> None:
        assert SENT["order-1"] == 1, f"sent {SENT['order-1']} e-mails"

    fixed = _scenario(side_effect_outside_step, "fixed")
    assert not fixed.crash_points(invariant=one_email).failures
    # A lost response after the count is applied hides the second e-mail from the result, not
    # from the e-mail service: with the invariant, every point of the buggy handler fails.
    report = _scenario(side_effect_outside_step, "buggy").crash_points(invariant=one_email)
    assert [f.fault for f in report.failures] == list(report.points)
    assert "sent 2 e-mails" in report.failures[-1].summary()


def test_bad_arguments_say_what_was_expected() -> None:
    scenario = _scenario(side_effect_outside_step, "fixed")
    with pytest.raises(ValueError, match="lost_response_error must be one of"):
        scenario.crash_points(lost_response_error="Nope")
    with pytest.raises(ValueError, match="budget must be a positive"):
        scenario.crash_points(budget=0)


def test_correct_workflows_pass_every_crash_point() -> None:
    from orders import order_workflow, pricing_handler
    from seed import function_under_test

    for scenario in (
        Scenario(handler=function_under_test, input="input str"),
        Scenario(
            handler=order_workflow,
            input={"id": 7, "quantity": 2},
            callback_payloads={"approval": ({"approved": True},)},
            functions={"pricing": pricing_handler},
            checkpoint_batching="per_update",
        ),
    ):
        report = scenario.crash_points()
        assert report.complete and len(report.points) >= 12, report
        assert not report.failures, report
        report.check()


def test_every_wait_of_a_step_body_is_a_crash_point() -> None:
    from tests.harness import body_crash_handlers

    scenario = Scenario(handler=body_crash_handlers.two_calls, before_run=body_crash_handlers.reset)
    points = scenario.crash_points().points
    waits = [p for p in points if p.kind == "body_crash"]
    # The body waits twice: once for each of its two calls' answers.
    assert waits == [body_crash(step=1), body_crash(step=1, suspension=2)]
    assert any(p.kind == "crash" for p in points)


def test_the_crash_points_inside_a_body_find_a_record_left_in_progress() -> None:
    from buggy import stuck_in_progress_record as module

    def report(handler: object) -> Any:
        return Scenario(handler=handler, input={"id": "order-1"}, before_run=module.reset)

    found = report(module.buggy).crash_points()
    assert found.complete
    failing = [failure.fault for failure in found.failures]
    # Only a sandbox that dies while the charge is on the wire leaves the record INPROGRESS.
    assert failing and all(f.kind == "body_crash" for f in failing), failing
    report(module.fixed).crash_points().check()


def test_every_aws_call_of_a_step_body_is_a_crash_point() -> None:
    from buggy import claim_between_aws_calls as module

    scenario = Scenario(handler=module.buggy, input={"id": "order-1"}, before_run=module.reset)
    calls = [p for p in scenario.crash_points().points if p.kind == "aws_call_crash"]
    # The body claims the order, books the shipment and completes the claim: three calls.
    assert calls == [aws_call_crash(step=1, call=n) for n in (1, 2, 3)]


def test_the_crash_points_after_aws_calls_find_a_claim_left_in_progress() -> None:
    from buggy import claim_between_aws_calls as module

    def report(handler: object) -> Any:
        return Scenario(handler=handler, input={"id": "order-1"}, before_run=module.reset)

    found = report(module.buggy).crash_points()
    assert found.complete
    failing = [failure.fault for failure in found.failures]
    # A sandbox that dies after the claim (or after the booking) leaves it INPROGRESS; after
    # the third call the claim is already COMPLETED.
    assert failing == [aws_call_crash(step=1, call=1), aws_call_crash(step=1, call=2)], failing
    report(module.fixed).crash_points().check()
