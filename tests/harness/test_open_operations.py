"""The open-operations oracle: flags an execution that closes with operations still open, and
never flags the ways correct code (and the SDK itself) leave operations open on purpose."""

from __future__ import annotations

from typing import Any

import pytest
from tests.harness import open_operation_handlers as h

from async_durable_execution_runner.oracles import OperationsLeftOpen, check_open_operations
from async_durable_execution_runner.scenarios import (
    Scenario,
    Timings,
    callback_failure,
    callback_timeout,
    checkpoint_error,
)

FUNCTIONS = {"callee": h.callee}


def _run(handler: Any, event: Any = None, **options: Any) -> Any:
    return Scenario(handler=handler, input=event, functions=FUNCTIONS, **options).run()


@pytest.mark.parametrize(
    ("handler", "event", "options"),
    [
        (h.first_successful, "NESTED", {}),
        (h.first_successful, "FLAT", {}),
        (h.map_first_successful, None, {}),
        (h.gather_with_fallback, None, {}),
        (h.gather_fails, None, {}),
        (h.gathered_child_contexts_fail, None, {}),
        (h.approval, 60, {}),
        (h.approval, 60, {"faults": (callback_timeout(callback=1),)}),
        (h.approval, 60, {"faults": (callback_failure(callback=1),)}),
        # The answer comes after the 5 s timeout: the callback closes TIMED_OUT.
        (h.approval, 5, {"timings": Timings(callback_delays=(10.0,))}),
        (h.flow_with_an_audit, None, {}),
        (h.flow_with_an_audit, None, {"faults": (callback_failure(callback=1),)}),
        (h.flow_with_an_audit, "CATCH", {"faults": (callback_failure(callback=1),)}),
        (h.flow_with_an_audit, None, {"faults": (callback_timeout(callback=1),)}),
        # The gather meets the callback's failure two invocations after it was recorded.
        (h.gather_after_waits, None, {"faults": (callback_failure(callback=1),)}),
    ],
    ids=lambda v: getattr(v, "__name__", None) or repr(v),
)
def test_correct_handlers_are_not_flagged(handler: Any, event: Any, options: Any) -> None:
    outcome = _run(handler, event, **options)
    assert outcome.status.value in {"SUCCEEDED", "FAILED"}, outcome.report()
    outcome.check()


def test_the_sdk_leaves_unneeded_branches_open() -> None:
    # The premise of the context exemption: without it, these would be flagged.
    outcome = _run(h.first_successful, "NESTED")
    open_ops = {
        e["Name"]
        for e in outcome.history
        if e["EventType"].endswith("Started") and e["EventType"] != "ExecutionStarted"
    } - {
        e["Name"]
        for e in outcome.history
        if e["EventType"] in {"StepSucceeded", "WaitSucceeded", "ContextSucceeded"}
    }
    assert {"slow-wait", "retrying"} <= open_ops


def test_flow_leaves_its_contexts_open_when_a_control_error_ends_it() -> None:
    # The premise of excusing the open ancestors of a failure: the SDK's flow() does not close
    # its node contexts on a control error, and the sibling node's wait is still in flight.
    outcome = _run(h.flow_with_an_audit, faults=(callback_failure(callback=1),))
    assert outcome.status.value == "FAILED"
    started = {e["Name"] for e in outcome.history if e["EventType"] == "ContextStarted"}
    closed = {e["Name"] for e in outcome.history if e["EventType"].startswith("Context")} - {
        e["Name"] for e in outcome.history if e["EventType"] == "ContextStarted"
    }
    assert {"sourcing", "audit", "vendor"} <= started
    assert not closed & {"sourcing", "audit", "vendor"}
    check_open_operations(outcome)


def test_an_unretryable_service_error_that_fails_the_execution_is_not_flagged() -> None:
    outcome = _run(
        h.gather_fails,
        faults=(checkpoint_error(invocation=1, call=1, error="ValidationException"),),
    )
    check_open_operations(outcome)


@pytest.mark.parametrize(
    ("handler", "kind", "name"),
    [
        (h.swallows_suspension, "wait", "cool-off"),
        (h.forgets_a_wait, "wait", "forgotten"),
        (h.forgets_an_invoke, "invoke", "forgotten-invoke"),
        (h.forgets_a_callback, "callback", "payment"),
    ],
    ids=["swallowed-suspension", "unawaited-wait", "unawaited-invoke", "unawaited-callback"],
)
def test_operations_left_open_are_flagged(handler: Any, kind: str, name: str) -> None:
    outcome = _run(handler)
    assert outcome.status.value == "SUCCEEDED"
    with pytest.raises(OperationsLeftOpen) as raised:
        outcome.check()
    message = str(raised.value)
    assert f"{kind} {name!r}" in message
    assert "ended SUCCEEDED while operations it started were still open" in message
    assert "except BaseException" in message
    assert "never awaited" in message
    assert "Reproduce with:" in message


def test_an_operation_left_open_beside_an_unrelated_earlier_failure_is_flagged() -> None:
    # The step's failure was caught long before; the execution fails with an error of its
    # own: nothing excuses the wait that was never awaited.
    outcome = _run(h.forgets_a_wait_after_a_failure)
    assert outcome.status.value == "FAILED"
    with pytest.raises(OperationsLeftOpen, match="wait 'forgotten'"):
        outcome.check()
