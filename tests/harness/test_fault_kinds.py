"""Every fault kind is reachable, recorded when applied, and judged by the oracles."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from async_durable_execution import InvocationStatus
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from tests.harness.fault_handlers import (
    callee,
    everything,
    plain_approval,
    retries_connection_errors,
    retries_throttling_by_pattern,
)

from async_durable_execution_runner import (
    ExecutionStatus,
)
from async_durable_execution_runner._harness.faults.errors import injected_step_error
from async_durable_execution_runner.scenarios import (
    FAULT_KINDS,
    InjectedStepError,
    Outcome,
    Scenario,
    aws_call_crash,
    aws_call_timeout,
    body_crash,
    callback_failure,
    callback_timeout,
    checkpoint_error,
    crash,
    duplicate_invocation,
    heartbeat_then_timeout,
    heartbeat_timeout,
    invocation_lost,
    invoke_failure,
    invoke_timeout,
    lost_response,
    lost_then_duplicated,
    outage,
    step_exception,
)
from async_durable_execution_runner.strategies import durable_scenarios, fault_plans

FAULTS = [
    crash(invocation=1, call=2),
    lost_response(invocation=1, call=1),
    checkpoint_error(invocation=1, call=1),
    invocation_lost(invocation=1),
    duplicate_invocation(invocation=2, after_call=1),
    step_exception(step=1, attempt=1),
    callback_failure(callback=1),
    callback_timeout(callback=1),
    heartbeat_timeout(callback=1),
    invoke_failure(invoke=1),
    invoke_timeout(invoke=1),
    lost_then_duplicated(invocation=2, after_call=1),
    heartbeat_then_timeout(callback=1, heartbeats=2),
    # The first step's body waits three times: the sandbox dies in the second wait.
    body_crash(step=1, suspension=2),
    # The "second" step's body (the third step to run, after the callback's submitter) writes
    # to a table and reads it back: the sandbox dies once the read is answered.
    aws_call_crash(step=3, call=2),
    # Its write is done and its answer lost: the body sees a read time-out at the call.
    aws_call_timeout(step=3, call=1),
    # Bursts: a crash loop over two invocations, a step failing its next two attempts, a
    # checkpoint outage over two invocations.
    crash(invocation=1, call=2, times=2),
    step_exception(step=1, attempt=1, times=2),
    checkpoint_error(invocation=1, call=2, error="TooManyRequestsException", times=2),
    # A partner down for ten seconds from the first step's first attempt.
    outage(step=1, seconds=10),
]


def _scenario(*faults: Any) -> Scenario:
    return Scenario(
        handler=everything,
        input=None,
        faults=faults,
        callback_payloads={"approval": ("yes",)},
        functions={"callee": callee},
    )


def test_every_kind_is_listed() -> None:
    assert {f.kind for f in FAULTS} == set(FAULT_KINDS)


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.kind)
def test_fault_is_applied_and_the_oracles_hold(fault: Any) -> None:
    outcome = _scenario(fault).run()
    assert outcome.faults_applied == (fault,)
    outcome.check()
    assert outcome.execution_status in {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED}


def test_masked_faults_do_not_change_the_outcome() -> None:
    clean = _scenario().run()
    assert clean.status is InvocationStatus.SUCCEEDED
    for fault in FAULTS:
        if fault.masked:
            outcome = _scenario(fault).run()
            assert (outcome.execution_status, outcome.result_json) == (
                clean.execution_status,
                clean.result_json,
            ), fault


def test_unmasked_faults_show_in_the_result() -> None:
    assert _scenario(callback_failure(callback=1)).run().value["answer"].startswith("callback")
    assert _scenario(invoke_failure(invoke=1)).run().value["invoked"] != {"x": 1}
    # A validation error is not retried by the SDK: the execution fails for good.
    failed = _scenario(checkpoint_error(invocation=1, call=1, error="ValidationException")).run()
    assert failed.execution_status is ExecutionStatus.FAILED
    assert failed.error is not None and failed.error.type == "CheckpointError"


def test_duplicate_invocation_is_recorded_and_refused() -> None:
    outcome = _scenario(duplicate_invocation(invocation=2, after_call=1)).run()
    duplicates = [i for i in outcome.invocations if i.environment == "duplicate"]
    assert len(duplicates) == 1
    assert outcome.recorder.rejections, "the duplicate's stale checkpoints are refused"
    assert all("Invalid Checkpoint Token" in r.error.message for r in outcome.recorder.rejections)


def test_shrinking_prefers_fewer_faults_earlier_calls_and_simpler_errors() -> None:
    # Any run that saw a lost response counts as "failing": the minimum is one fault, at the
    # first call of the first invocation, with the simplest error.
    minimal = find(
        durable_scenarios(
            everything,
            faults=fault_plans(kinds={"lost_response", "crash"}, max_faults=3),
            callbacks={},
            functions={"callee": callee},
        ),
        lambda s: any(f.kind == "lost_response" for f in s.run().faults_applied),
        settings=settings(
            max_examples=50,
            database=None,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink],
        ),
    )
    assert minimal.faults == (
        lost_response(invocation=1, call=1, error="TooManyRequestsException"),
    )


def test_a_hang_is_reported_by_the_liveness_oracle() -> None:
    from tests.harness.fault_handlers import blocks

    from async_durable_execution_runner.oracles import ExecutionHung

    # It blocks for 1.5 s: past 0.2 s, and past the 1.2 s of the run that tells a hung
    # handler from one starved of CPU.
    outcome = Scenario(handler=blocks, input=None, timeout=0.2).run()
    assert outcome.hang is not None and "run again" in outcome.hang
    with pytest.raises(ExecutionHung, match="did not finish"):
        outcome.check()


def test_a_crashed_sandbox_never_reaches_the_service_again() -> None:
    from tests.harness.fault_handlers import cleans_up_in_finally

    outcome = Scenario(
        handler=cleans_up_in_finally, input=None, faults=(crash(invocation=1, call=1),), timeout=5
    ).run()
    assert outcome.faults_applied == (crash(invocation=1, call=1),)
    outcome.check()
    first = outcome.invocations[0]
    assert first.error_type == "Runtime.ExitError"
    # Nothing was checkpointed between the crash and the end of invocation 1: its only event
    # is the failed InvocationCompleted, and the cleanup step appears once, later, for real.
    events = outcome.history
    assert events[1]["EventType"] == "InvocationCompleted"
    names = [e.get("Name") for e in events if e["EventType"] == "StepStarted"]
    assert names.count("cleanup") == 1
    assert outcome.value == "done"


def test_correlated_faults_hit_consecutive_points() -> None:
    loop = _scenario(crash(invocation=1, call=2, times=3)).run()
    assert [i.error_type for i in loop.invocations[:3]] == ["Runtime.ExitError"] * 3
    assert loop.status is InvocationStatus.SUCCEEDED
    loop.check()

    throttled = _scenario(
        checkpoint_error(invocation=1, call=2, error="TooManyRequestsException", times=3)
    ).run()
    errors = [i.error_type for i in throttled.invocations]
    assert errors[:4] == ["CheckpointError"] * 3 + [None], "three invocations refused"
    assert throttled.faults_applied == (
        checkpoint_error(invocation=1, call=2, error="TooManyRequestsException", times=3),
    )
    assert throttled.status is InvocationStatus.SUCCEEDED
    throttled.check()

    outage = _scenario(step_exception(step=1, attempt=1, times=2)).run()
    first = outage.result.get_step("first")
    assert first.attempt == 3, "attempts 1 and 2 failed, the third succeeded"

    lost = _scenario(lost_then_duplicated(invocation=2, after_call=1)).run()
    assert [i.environment for i in lost.invocations].count("duplicate") == 1
    assert lost.invocations[1].error_type == "Runtime.ResponseLost"
    assert lost.status is InvocationStatus.SUCCEEDED
    lost.check()

    silent = _scenario(heartbeat_then_timeout(callback=1, heartbeats=2)).run()
    assert silent.value["answer"].startswith("callback")
    timed_out = [e for e in silent.history if e["EventType"] == "CallbackTimedOut"]
    assert len(timed_out) == 1


def test_plans_are_placed_where_the_execution_has_points() -> None:
    # Placed while drawn: every fault of every drawn plan applies when the plan replays.
    from hypothesis import given

    @settings(
        max_examples=30,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(durable_scenarios(everything, functions={"callee": callee}))
    def every_fault_lands(scenario: Scenario) -> None:
        # A fresh copy replays the plan (the drawn scenario would hand back its placing run).
        outcome = scenario.with_faults(scenario.faults).run()
        assert outcome.scenario.faults == scenario.faults
        assert len(outcome.faults_applied) == len(scenario.faults), scenario

    every_fault_lands()


# --- time-out faults are the service's own time-outs --------------------------------------


def _timed_out(fault: Any, **limits: int | None) -> tuple[float, str, Outcome]:
    """When (seconds after it started) and how the callback of ``plain_approval`` ended."""
    outcome = Scenario(
        handler=plain_approval,
        input={"timeout": None, "heartbeat_timeout": None, **limits},
        faults=(fault,),
        callback_payloads={"approval": ("yes",)},
    ).run()
    outcome.check()
    events = {e["EventType"]: e for e in outcome.history if "Callback" in e["EventType"]}
    ended = events.get("CallbackTimedOut") or events["CallbackSucceeded"]
    seconds = (
        ended["EventTimestamp"] - events["CallbackStarted"]["EventTimestamp"]
    ).total_seconds()
    details = ended.get("CallbackTimedOutDetails") or {}
    error = details.get("Error", {}).get("Payload", {}).get("ErrorType", ended["EventType"])
    return seconds, error, outcome


def test_a_callback_timeout_ends_the_callback_when_its_time_out_expires() -> None:
    # The partner keeps the callback alive past its 30 s heartbeat time-out and never answers.
    seconds, error, outcome = _timed_out(
        callback_timeout(callback=1), timeout=4500, heartbeat_timeout=30
    )
    assert (seconds, error) == (4500, "Callback.Timeout")
    assert outcome.faults_applied == (callback_timeout(callback=1),)
    seconds, error, _ = _timed_out(callback_timeout(callback=1), timeout=90)
    assert (seconds, error) == (90, "Callback.Timeout")


def test_a_heartbeat_timeout_ends_the_callback_when_its_heartbeat_time_out_expires() -> None:
    seconds, error, _ = _timed_out(
        heartbeat_timeout(callback=1), timeout=4500, heartbeat_timeout=30
    )
    assert (seconds, error) == (30, "Callback.Heartbeat")
    # Silence ends it by its time-out when that comes first.
    seconds, error, _ = _timed_out(heartbeat_timeout(callback=1), timeout=20, heartbeat_timeout=30)
    assert (seconds, error) == (20, "Callback.Timeout")
    # Two heartbeats (at 0 s and 1 s), then silence: 30 s after the last one.
    fault = heartbeat_then_timeout(callback=1, heartbeats=2)
    seconds, error, _ = _timed_out(fault, timeout=4500, heartbeat_timeout=30)
    assert (seconds, error) == (31, "Callback.Heartbeat")


@pytest.mark.parametrize(
    ("fault", "limits"),
    [
        (callback_timeout(callback=1), {}),  # no time-out: it never times out
        (heartbeat_timeout(callback=1), {"timeout": 4500}),  # no heartbeat time-out
        (heartbeat_then_timeout(callback=1, heartbeats=2), {"timeout": 4500}),
    ],
    ids=lambda v: getattr(v, "kind", "-"),
)
def test_a_time_out_the_callback_cannot_have_does_not_land(
    fault: Any, limits: dict[str, int]
) -> None:
    seconds, ended, outcome = _timed_out(fault, **limits)
    assert outcome.faults_applied == ()
    assert (ended, outcome.value) == ("CallbackSucceeded", "yes")
    assert seconds == 0


def test_placed_time_out_faults_fit_the_callback() -> None:
    # Placed while drawn, on a callback without a heartbeat time-out: never a heartbeat kind.
    from hypothesis import given

    kinds: set[str] = set()

    @settings(
        max_examples=40,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        durable_scenarios(
            plain_approval,
            inputs=st.just({"timeout": 600, "heartbeat_timeout": None}),
            faults=fault_plans(
                kinds={"callback_timeout", "heartbeat_timeout", "heartbeat_then_timeout"}
            ),
            callbacks={"approval": st.just("yes")},
        )
    )
    def fits(scenario: Scenario) -> None:
        outcome = scenario.with_faults(scenario.faults).run()
        assert len(outcome.faults_applied) == len(scenario.faults), scenario
        kinds.update(f.kind for f in outcome.faults_applied)

    fits()
    assert kinds == {"callback_timeout"}


@pytest.mark.parametrize(
    ("handler", "used_up_as"),
    [
        # A strategy that retries ``ConnectionError`` only: the injected failure is one.
        (retries_connection_errors, "InjectedConnectionError"),
        # One that retries only messages a regular expression finds: the injected failure's
        # message holds a text it finds (it was a plain ``InjectedStepError`` the strategy
        # refused, and no burst could use its budget up).
        (retries_throttling_by_pattern, "InjectedStepError"),
    ],
)
def test_a_step_fault_raises_what_the_steps_strategy_retries(handler: Any, used_up_as: str) -> None:
    """A burst shorter than the step's budget is retried away, and one as long as it uses
    it up."""

    def run(times: int) -> Outcome:
        return Scenario(
            handler=handler,
            input=None,
            faults=(step_exception(step=1, attempt=1, times=times),),
        ).run()

    retried = run(2)
    assert retried.value == {"quote": "quoted", "error": None}
    assert retried.result.get_step("quote").attempt == 3
    retried.check()

    used_up = run(3)
    assert used_up.value == {"quote": None, "error": used_up_as}
    assert used_up.result.get_step("quote").attempt == 3
    used_up.check()


def test_an_injected_step_error_is_the_harness_s_and_the_retried_type() -> None:
    error = injected_step_error("boom", (ConnectionError,), ())
    assert isinstance(error, InjectedStepError)
    assert isinstance(error, ConnectionError)
    assert type(error) is type(injected_step_error("again", (ConnectionError,), ()))
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == "boom"
    # A strategy that names messages: the text it looks for is in the message.
    assert "throttled" in str(injected_step_error("boom", (), ("throttled",)))
    # An error with fields of its own: made without its constructor, the message set.
    fielded = injected_step_error("boom", (_Unavailable,), ())
    assert isinstance(fielded, _Unavailable)
    assert str(fielded) == "boom"
    # One whose text needs those fields: the next type, else the harness's own error.
    assert type(injected_step_error("boom", (_Described, KeyError), ())).__name__ == (
        "InjectedKeyError"
    )
    # Nothing named, or a type that cannot be combined: the harness's own error.
    assert type(injected_step_error("boom", (), ())) is InjectedStepError
    assert type(injected_step_error("boom", (bool,), ())) is InjectedStepError  # type: ignore[arg-type]


class _Unavailable(Exception):
    def __init__(self, partner: str, back_at: float) -> None:
        super().__init__(f"{partner} unavailable")
        self.partner = partner
        self.back_at = back_at


class _Described(Exception):
    def __init__(self, partner: str) -> None:
        super().__init__()
        self.partner = partner

    def __str__(self) -> str:
        return f"{self.partner} is down"
