"""Known SDK divergences: an oracle that trips on a behaviour pinned as the SDK's says so,
names the finding, and warns unless the user asks for strictness."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from buggy import side_effect_outside_step
from habits import big_map_percentage
from tests.harness import known_issue_handlers
from tests.harness.known_issue_handlers import poll_once
from tests.sdk_order import EAGER_TASKS

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner._sandbox import invoker
from async_durable_execution_runner.oracles import (
    KNOWN_SDK_ISSUES,
    ExecutionHung,
    FaultNotMasked,
    KnownSdkIssueWarning,
    UnexpectedOutcome,
)
from async_durable_execution_runner.programs import (
    Catch,
    Parallel,
    Program,
    Step,
    Wait,
    WaitForCondition,
    program_event,
    program_handler,
    succeed,
)
from async_durable_execution_runner.scenarios import (
    Scenario,
    Timings,
    checkpoint_error,
    crash,
    invocation_lost,
    lost_response,
    outage,
    step_exception,
)

FINDINGS = Path(__file__).resolve().parents[2] / "docs" / "findings.md"
#: SDK finding 19 can only happen from 3.12 (``asyncio.gather`` of finished tasks yields before).
GATHER_MAY_NOT_YIELD = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="asyncio.gather of finished tasks yields before 3.12"
)

# SDK finding 8: the check fails live with its own error type, and replayed (after the lost
# invocation response) with CallableRuntimeError.
REPLAYED_CHECK_FAILURE = Scenario(
    handler=poll_once, faults=(step_exception(step=1, attempt=1), invocation_lost(invocation=1))
)


def test_a_known_sdk_issue_warns_and_names_the_finding() -> None:
    outcome = REPLAYED_CHECK_FAILURE.run()
    with pytest.warns(KnownSdkIssueWarning) as warned:
        outcome.check()
    (warning,) = warned
    message = str(warning.message)
    assert message.startswith("[fault-tolerance] known SDK issue")
    assert "docs/findings.md, SDK finding 8" in message
    assert "wait_for_condition" in message


def test_check_returns_the_known_issues_it_met_and_warn_false_keeps_them_quiet() -> None:
    outcome = REPLAYED_CHECK_FAILURE.run()
    with pytest.warns(KnownSdkIssueWarning):
        assert outcome.check() == (KNOWN_SDK_ISSUES[0],)
    # Without the warning, which ``filterwarnings = error`` (this project's) would raise.
    assert outcome.check(warn=False) == (KNOWN_SDK_ISSUES[0],)


def test_a_clean_run_returns_no_known_issue() -> None:
    outcome = Scenario(handler=poll_once, faults=(step_exception(step=1, attempt=1),)).run()
    assert outcome.check(warn=False) == ()
    assert outcome.check(strict=True) == ()


def test_strict_fails_on_a_known_sdk_issue_with_the_label() -> None:
    outcome = REPLAYED_CHECK_FAILURE.run()
    with pytest.raises(FaultNotMasked, match=r"known SDK issue.*SDK finding 8") as raised:
        outcome.check(strict=True)
    assert raised.value.known_issue is KNOWN_SDK_ISSUES[0]
    assert "Reproduce with:" in str(raised.value)


def test_the_handlers_own_bug_is_not_labelled() -> None:
    outcome = Scenario(
        handler=side_effect_outside_step.buggy,
        input={"id": "order-1"},
        faults=(crash(invocation=1, call=1),),
        before_run=side_effect_outside_step.reset,
    ).run()
    with pytest.raises(FaultNotMasked) as raised:
        outcome.check()
    assert "known SDK issue" not in str(raised.value)
    assert raised.value.known_issue is None


def test_the_same_check_failure_without_a_replay_is_clean() -> None:
    Scenario(handler=poll_once, faults=(step_exception(step=1, attempt=1),)).run().check(
        strict=True
    )


@pytest.mark.parametrize("issue", KNOWN_SDK_ISSUES, ids=lambda i: i.finding)
def test_every_known_issue_is_recorded_in_the_findings(issue: object) -> None:
    number = re.fullmatch(r"SDK finding (\d+)", issue.finding)  # type: ignore[attr-defined]
    assert number, issue
    findings = FINDINGS.read_text()
    sdk_section = findings[findings.index("## SDK findings") :]
    assert re.search(rf"^{number.group(1)}\. \*\*", sdk_section, re.MULTILINE), issue


def test_a_caught_check_failure_whose_type_changes_on_replay_is_the_known_issue() -> None:
    # Found by a 2,000-example random-program campaign (harness, session 14): the program
    # catches the failed check and keeps its type's name, so both runs SUCCEED, with results
    # that differ only in that name ("InjectedStepError" live, "CallableRuntimeError" on
    # replay). The label recognised only executions that FAILED.
    program = Program([Catch(WaitForCondition("wc1", 1))])
    scenario = Scenario(
        handler=program_handler,
        input=program_event(program),
        faults=(step_exception(step=1, attempt=1), invocation_lost(invocation=1)),
        functions={"program": program_handler},
        program=program,
    )
    outcome = scenario.run()
    with pytest.warns(KnownSdkIssueWarning, match="SDK finding 8"):
        outcome.check()
    with pytest.raises(FaultNotMasked, match="known SDK issue"):
        outcome.check(strict=True)


def test_a_check_failure_caught_only_as_replayed_is_the_known_issue() -> None:
    # Found by the session-23 audit F (examples/errors.py, poll_until_broken): the handler
    # catches the check's failure as CallableRuntimeError (and its own StatusUnavailable), so
    # live the injected failure, raised as the check's own type, fails the execution, and
    # after the lost invocation its replay is caught: SUCCEEDED against a FAILED baseline.
    # The label recognised only runs that ended alike.
    outcome = Scenario(
        handler=known_issue_handlers.poll_caught_as_replayed,
        faults=(step_exception(step=1, attempt=1), invocation_lost(invocation=1)),
    ).run()
    assert outcome.value == -1
    with pytest.warns(KnownSdkIssueWarning, match="SDK finding 8"):
        outcome.check()
    with pytest.raises(FaultNotMasked, match="known SDK issue"):
        outcome.check(strict=True)


def test_a_check_failure_caught_by_a_count_of_invocations_is_not_the_known_issue() -> None:
    # The same check failure met the same way (live) in both runs, caught in one only: the
    # handler's own bug, not the SDK's. (Two refused first checkpoints re-invoke it in the
    # same warm sandbox, whose count then reaches three; a crash would end the sandbox and
    # its count with it, as on Lambda.)
    outcome = Scenario(
        handler=known_issue_handlers.poll_caught_on_the_third_try,
        faults=(
            checkpoint_error(invocation=1, call=1),
            checkpoint_error(invocation=2, call=1),
            step_exception(step=1, attempt=1),
        ),
        before_run=known_issue_handlers.reset_tries,
    ).run()
    with pytest.raises(FaultNotMasked) as raised:
        outcome.check()
    assert raised.value.known_issue is None


def test_a_caught_check_failure_named_otherwise_than_error_is_the_known_issue() -> None:
    # The handler names the type it caught: "Unreachable" live, "CallableRuntimeError"
    # replayed. The label looked for the check's type among the names in the results that
    # end in "Error" only (found writing audit F's corpus).
    outcome = Scenario(
        handler=known_issue_handlers.poll_naming_the_failure,
        faults=(invocation_lost(invocation=1),),
    ).run()
    assert outcome.value == {"status": "unknown", "caught": "CallableRuntimeError"}
    with pytest.warns(KnownSdkIssueWarning, match="SDK finding 8"):
        outcome.check()


# SDK finding 17: invocation 5 decides the batch (item 0 fails at 10 s) and dies on the call
# that carries the batch's result; the replay assembles the batch again from its branches'
# checkpoints and leaves out the two that had succeeded.
BATCH_DECIDED_ON_REPLAY = Scenario(
    handler=known_issue_handlers.batch_decided_on_replay, faults=(crash(invocation=5, call=3),)
)


def test_a_batch_assembled_again_on_a_replay_is_the_known_issue() -> None:
    baseline = Scenario(handler=known_issue_handlers.batch_decided_on_replay).run()
    assert baseline.value == {"succeeded": 2, "failed": 2}
    outcome = BATCH_DECIDED_ON_REPLAY.run()
    assert outcome.faults_applied == (crash(invocation=5, call=3),)
    # Which ended branches the replay leaves out depends on the order they start in
    # (``sdk_order``): with eager tasks one success is kept.
    assert outcome.value == {"succeeded": 1 if EAGER_TASKS else 0, "failed": 2}
    with pytest.warns(KnownSdkIssueWarning, match="SDK finding 17"):
        outcome.check()
    with pytest.raises(FaultNotMasked, match="known SDK issue") as raised:
        outcome.check(strict=True)
    assert raised.value.known_issue is KNOWN_SDK_ISSUES[1]


def test_the_same_batch_decided_in_a_surviving_invocation_is_clean() -> None:
    # The response is lost after the batch's result was checkpointed: the replay reads it.
    Scenario(
        handler=known_issue_handlers.batch_decided_on_replay,
        faults=(invocation_lost(invocation=5),),
    ).run().check(strict=True)


def test_a_handlers_own_bug_beside_a_batch_assembled_alike_is_not_labelled() -> None:
    # Without the concurrency limit the batch is decided in invocation 3 (item 0 fails at
    # 10 s), which dies on the call that carries the batch's result; the replay assembles
    # the same batch (every item started at once), and only the count differs.
    outcome = Scenario(
        handler=known_issue_handlers.batch_beside_a_count,
        faults=(crash(invocation=3, call=3),),
        before_run=known_issue_handlers.reset_runs,
    ).run()
    assert outcome.faults_applied == (crash(invocation=3, call=3),)
    assert outcome.value["succeeded"] == 2
    with pytest.raises(FaultNotMasked) as raised:
        outcome.check()
    assert raised.value.known_issue is None


# SDK finding 19, met by the fault-tolerance oracle first: under these faults and timings (a
# campaign's shrunk example on Python 3.12.1) the map's completion loop spins in invocation
# 1, which the runner stops; the fault-free baseline ends.
SPUN_UNDER_FAULTS = Scenario(
    handler=big_map_percentage,
    faults=(
        step_exception(step=1, attempt=1),
        outage(step=5, attempt=1, seconds=10),
        lost_response(invocation=1, call=1, error="TooManyRequestsException"),
    ),
    timings=Timings(
        order=(0, 0),
        step_turns=(1, 1, 2, 1, 0, 3),
        page_size=4,
        sandboxes=("cold", "warm"),
        seed=528,
        thread_order=(2,),
    ),
)


@GATHER_MAY_NOT_YIELD
def test_a_batch_spinning_under_faults_is_the_known_issue_to_the_fault_tolerance_oracle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(invoker, "KNOWN_SPIN_CPU_SECONDS", 0.5)  # (1 s by default)
    outcome = SPUN_UNDER_FAULTS.run()
    assert outcome.error is not None
    assert outcome.error.error_type == "Sandbox.Timedout"
    assert "parallel.py" in outcome.error.error_message
    with pytest.warns(KnownSdkIssueWarning, match="SDK finding 19"):
        outcome.check()
    # The liveness oracle labels it first; the fault-tolerance oracle (last) did not, and
    # flagged the spin as faults the handler failed to mask.
    with pytest.raises(ExecutionHung, match="SDK finding 19"):
        outcome.check(strict=True)
    with pytest.raises(FaultNotMasked, match="known SDK issue") as raised:
        outcome.check(skip=("liveness",), strict=True)
    assert raised.value.known_issue is not None
    assert raised.value.known_issue.finding == "SDK finding 19"


# SDK finding 19 in a generated program (a random-programs campaign's shrunk example on
# Python 3.12.1, ``--hypothesis-seed=51312``): after the lost response the replay's parallel
# spins in invocation 2, which the runner stops, and the execution ends STOPPED. The liveness
# oracle labelled it; the expected-outcome oracle, next, flagged the program (oracle bug 40).
SPUN_PROGRAM = Program(
    [
        Wait("w1", 7),
        Parallel(
            "p1",
            [
                [
                    WaitForCondition("wc1", 1),
                    Step("s1", succeed(None)),
                    Wait("w2", 10),
                    Wait("w3", 10),
                ],
                [Wait("w4", 10)],
                [Step("s2", succeed(1))],
            ],
        ),
    ]
)
SPUN_IN_A_PROGRAM = Scenario(
    handler=program_handler,
    input=program_event(SPUN_PROGRAM),
    program=SPUN_PROGRAM,
    faults=(lost_response(invocation=2, call=3, error="TooManyRequestsException"),),
    timings=Timings(step_turns=(2,), sandboxes=("cold", "warm", "warm")),
    functions={"program": program_handler},
)


@GATHER_MAY_NOT_YIELD
def test_a_program_stopped_by_the_spin_is_the_known_issue_to_the_expected_outcome_oracle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(invoker, "KNOWN_SPIN_CPU_SECONDS", 0.5)  # (1 s by default)
    outcome = SPUN_IN_A_PROGRAM.run()
    assert outcome.execution_status is ExecutionStatus.STOPPED
    assert outcome.error is not None
    assert outcome.error.error_type == "Sandbox.Timedout"
    with pytest.warns(KnownSdkIssueWarning) as heard:
        outcome.check()
    labelled = [str(w.message) for w in heard if "SDK finding 19" in str(w.message)]
    assert any(m.startswith("[liveness]") for m in labelled), labelled
    assert any(m.startswith("[expected-outcome]") for m in labelled), labelled
    with pytest.raises(UnexpectedOutcome, match="known SDK issue") as raised:
        outcome.check(skip=("liveness",), strict=True)
    assert raised.value.known_issue is not None
    assert raised.value.known_issue.finding == "SDK finding 19"


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="from 3.12 the SDK's parallel spins here (above)"
)
def test_the_same_program_ends_as_the_evaluator_says_where_gather_yields() -> None:
    outcome = SPUN_IN_A_PROGRAM.run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
    outcome.check(strict=True)
