"""Generated durable programs: run with the SDK on the emulator, checked against the reference.

``programs.py`` describes programs as data, ``interpreter.py`` runs them with the real SDK, and
``reference.py`` computes what the service must report without the SDK or the emulator. These
tests check hand-written programs (whose expectations are also spelled out, to check the
oracle itself), then generated ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from async_durable_execution import InvocationStatus
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
)
from async_durable_execution_runner._harness.programs.interpreter import (
    program_event,
    program_handler,
)
from async_durable_execution_runner._harness.programs.nodes import (
    REPR_NAMESPACE,
    Callback,
    Catch,
    Child,
    Completion,
    Invoke,
    Map,
    Parallel,
    Program,
    Retry,
    Step,
    Unawaited,
    Wait,
    WaitForCondition,
    callback_names,
    fail_always,
    fail_first,
    from_json,
    succeed,
    succeed_input,
    to_json,
)
from async_durable_execution_runner._harness.programs.reference import (
    ANY,
    ExpectedOutcome,
    Undetermined,
    UnsupportedScenario,
    expected_outcome,
)
from async_durable_execution_runner._harness.programs.strategies import (
    assign_names,
    durable_programs,
    json_values,
)
from async_durable_execution_runner._runner.result import DurableFunctionTestResult
from async_durable_execution_runner.errors import DurableRunnerError

#: Wall-clock seconds one program may take (they take milliseconds; a hang is a bug).
RUN_TIMEOUT = 10.0


def run_program(
    program: Program,
    input: Any = None,
    callback_results: dict[str, str | None] | None = None,
    *,
    timeout: float = RUN_TIMEOUT,
    **runner_options: Any,
) -> DurableFunctionTestResult:
    """Run ``program`` on the emulator, answering each callback with its payload."""
    with DurableFunctionTestRunner(
        handler=program_handler, functions={"program": program_handler}, **runner_options
    ) as runner:
        if not callback_names(program):
            return runner.run(program_event(program, input), timeout=timeout)
        payloads = callback_results or {}
        arn = runner.start(program_event(program, input))
        answered: set[str] = set()
        for _ in range(100):
            result = runner.get_result(arn)
            if result.status is not InvocationStatus.PENDING:
                return result
            pending = [
                op
                for op in result.all_operations
                if op.type.value == "CALLBACK"
                and op.status.value == "STARTED"
                and op.callback_id not in answered
            ]
            for op in pending:
                answered.add(op.callback_id)
                runner.send_callback_success(op.callback_id, result=payloads[op.name])
            if not pending:
                try:
                    runner.wait_for_callback(arn, timeout=timeout)
                except DurableRunnerError:
                    return runner.wait_for_result(arn, timeout=timeout)
        return runner.wait_for_result(arn, timeout=timeout)


def assert_agrees(
    program: Program,
    input: Any = None,
    callback_results: dict[str, str | None] | None = None,
) -> tuple[ExpectedOutcome, DurableFunctionTestResult]:
    expected = expected_outcome(program, input=input, callback_results=callback_results)
    result = run_program(program, input, callback_results)
    problems = expected.mismatches(result)
    assert not problems, (
        f"{program!r} on input {input!r}\nexpected: {expected.describe()}\n"
        f"got: {result!r}\n" + "\n".join(problems)
    )
    return expected, result


# --- hand-written programs ------------------------------------------------------------------


def test_steps_and_waits() -> None:
    program = Program([Step("s1", succeed(1)), Wait("w1", 60), Step("s2", succeed_input())])
    expected, result = assert_agrees(program, input={"order": 7})
    assert expected.result == [1, None, {"order": 7}]
    assert expected.operations["s2"].attempts == 1
    assert len(result.invocations) == 2


def test_retries_until_success_and_exhaustion() -> None:
    program = Program(
        [
            Step("s1", fail_first(2), retry=Retry(3, 2)),
            Catch(Step("s2", fail_first(2), retry=Retry(2, 5), at_most_once=True)),
            Step("s3", fail_always(), retry=Retry(2, 1)),
        ]
    )
    expected, _ = assert_agrees(program)
    assert (expected.status, expected.error_type) == ("FAILED", "CallableRuntimeError")
    assert expected.operations["s1"].attempts == 3
    assert expected.operations["s2"].statuses == {"FAILED"}
    assert expected.operations["s3"].error_type == "StepBodyError"


def test_child_context_failure_is_caught_as_runtime_error() -> None:
    program = Program(
        [
            Catch(Child("c1", [Step("s1", succeed(1)), Step("s2", fail_always())])),
            Child("c2", [WaitForCondition("wc1", 3), Step("s3", succeed("x"))]),
        ]
    )
    expected, _ = assert_agrees(program)
    assert expected.result == ["CallableRuntimeError", [3, "x"]]
    assert expected.operations["c1"].statuses == {"FAILED"}
    assert expected.operations["c1"].error_type == "CallableRuntimeError"
    assert expected.operations["c2/wc1"].attempts == 3


def test_parallel_and_map_results() -> None:
    program = Program(
        [
            Parallel(
                "p1",
                [[Step("s1", succeed("a"))], [Wait("w1", 2), Step("s2", fail_always())]],
                completion=Completion(tolerated_failures=1),
            ),
            Map("m1", [1, 2], [Step("s3", succeed_input())]),
            Catch(Parallel("p2", [[Wait("w2", 1), Step("s4", fail_always())], [Wait("w3", 5)]])),
            Wait("w4", 10),
        ]
    )
    expected, _ = assert_agrees(program)
    assert expected.result == [
        {
            "reason": "ALL_COMPLETED",
            "items": [["SUCCEEDED", ["a"]], ["FAILED", "CallableRuntimeError"]],
        },
        {"reason": "ALL_COMPLETED", "items": [["SUCCEEDED", [1]], ["SUCCEEDED", [2]]]},
        "CallableRuntimeError",
        None,
    ]
    assert set(expected.operations) >= {"m1/map-item-0/s3", "m1/map-item-1/s3"}
    # p2's second branch was cancelled at t=3 while its wait ran; the service still ends the
    # wait at t=7 (the execution runs until t=13).
    assert expected.operations["p2/parallel-branch-1"].statuses == {"STARTED"}
    assert expected.operations["p2/parallel-branch-1/w3"].statuses == {"SUCCEEDED"}


def test_min_successful_cancels_the_slow_branch() -> None:
    program = Program(
        [
            Parallel(
                "p1",
                [
                    [Wait("w0", 1), Step("s1", succeed(1))],
                    [Wait("w1", 5), Step("s2", succeed(2))],
                ],
                completion=Completion(min_successful=1),
            ),
            Wait("w2", 3),
        ]
    )
    expected, _ = assert_agrees(program)
    assert expected.result[0] == {
        "reason": "MIN_SUCCESSFUL_REACHED",
        "items": [["SUCCEEDED", [None, 1]], ["CANCELLED", None]],
    }
    # The batch ended at t=1 and the execution at t=4: w1 (due at t=5) never fired.
    assert expected.operations["p1/parallel-branch-1/w1"].statuses == {"STARTED"}
    assert "p1/parallel-branch-1/s2" not in expected.operations
    # Had both branches started with a step, which of them ran before the batch completed
    # would be a race: the evaluator leaves those operations unchecked.
    racing = expected_outcome(
        Program(
            [
                Parallel(
                    "p1",
                    [[Step("s1", succeed(1))], [Wait("w1", 5)]],
                    completion=Completion(min_successful=1),
                )
            ]
        )
    )
    assert racing.operations["p1/parallel-branch-1/w1"].statuses is None
    assert racing.operations["p1/parallel-branch-1/w1"].optional


def test_min_successful_with_an_early_failure_completes_without_failing() -> None:
    """SDK 2.5: with ``min_successful`` and no tolerance, the first failure completes the
    batch with ``ALL_COMPLETED`` (its docstring says ``FAILURE_TOLERANCE_EXCEEDED``)."""
    program = Program(
        [
            Parallel(
                "p1",
                [[Step("s1", fail_always())], [Wait("w1", 5), Step("s2", succeed(2))]],
                completion=Completion(min_successful=1),
            )
        ]
    )
    expected, _ = assert_agrees(program)
    assert expected.result == [
        {
            "reason": "ALL_COMPLETED",
            "items": [["FAILED", "CallableRuntimeError"], ["CANCELLED", None]],
        }
    ]


def test_simultaneous_completions_leave_the_race_unchecked() -> None:
    program = Program(
        [
            Parallel(
                "p1",
                [[Step("s1", succeed(1))], [Step("s2", succeed(2))]],
                completion=Completion(min_successful=1),
            )
        ]
    )
    expected, _ = assert_agrees(program)
    # Either branch may be the one that decided; a second completion processed before the
    # batch returns changes the reason to ALL_COMPLETED.
    assert expected.result == [{"reason": ANY, "items": [ANY, ANY]}]
    racing = Program(
        [
            Parallel(
                "p1",
                [[Step("s1", succeed(1))], [Step("s2", fail_always())]],
                completion=Completion(tolerated_failures=0, min_successful=1),
            )
        ]
    )
    with pytest.raises(Undetermined):
        expected_outcome(racing)


def test_invokes() -> None:
    program = Program(
        [
            Invoke("i1", Program([Step("s1", succeed_input()), Wait("w1", 3)])),
            Catch(Invoke("i2", Program([Step("s2", fail_always())]))),
        ]
    )
    expected, result = assert_agrees(program, input=5)
    assert expected.result == [[5, None], "CallableRuntimeError"]
    assert expected.operations["i2"].statuses == {"FAILED"}
    # The invoked programs' operations belong to their own executions.
    assert {op.name for op in result.all_operations} == {"i1", "i2"}


def test_callbacks() -> None:
    program = Program(
        [
            Callback("cb1", 300),
            Child("c1", [Callback("cb2", 60, heartbeat_seconds=30), Step("s1", succeed(1))]),
        ]
    )
    payloads = {"cb1": json.dumps({"ok": True}), "cb2": json.dumps([1, "two"])}
    expected, _ = assert_agrees(program, callback_results=payloads)
    assert expected.result == [{"ok": True}, [[1, "two"], 1]]


def test_unawaited_step() -> None:
    program = Program(
        [Unawaited("u1", 1), Wait("w1", 2), Step("s1", succeed(2)), Unawaited("u2", 3)]
    )
    expected, _ = assert_agrees(program)
    assert expected.result == [None, 2]
    assert expected.operations["u1"].optional


def test_step_exception_ordinals_are_refused_inside_batches() -> None:
    program = Program(
        [
            Step("s1", succeed(1)),
            Parallel("p1", [[Step("s2", succeed(2))], [Step("s3", succeed(3))]]),
            Step("s4", succeed(4), retry=Retry(2, 1)),
        ]
    )
    with pytest.raises(UnsupportedScenario):
        expected_outcome(program, step_exceptions={(2, 1)})
    expected = expected_outcome(program, step_exceptions={(1, 1), (4, 1)})
    assert expected.status == "FAILED"
    assert expected.operations["s1"].error_type == "InjectedStepError"
    recovered = expected_outcome(program, step_exceptions={(4, 1)})
    assert recovered.result[-1] == 4
    assert recovered.operations["s4"].attempts == 2


def test_fault_evaluation() -> None:
    program = Program(
        [
            Catch(Callback("cb1", 30)),
            Catch(Invoke("i1", Program([Step("s1", succeed(1))]))),
            Callback("cb2", 30),
        ]
    )
    expected = expected_outcome(
        program,
        callback_results={"cb2": "1"},
        callback_faults={1: "timeout"},
        invoke_faults={1: "failure"},
    )
    assert expected.result == ["CallbackError", "CallableRuntimeError", 1]
    assert expected.operations["cb1"].statuses == {"TIMED_OUT"}
    assert expected.operations["cb1"].error_type == "Callback.Timeout"
    failed = expected_outcome(program, callback_faults={1: "failure", 2: "timeout"})
    assert (failed.status, failed.error_type) == ("FAILED", "CallbackError")
    # A heartbeat time-out cannot end a callback created without one: the fault does not land.
    answered = expected_outcome(
        program, callback_results={"cb1": "0", "cb2": "1"}, callback_faults={2: "heartbeat_timeout"}
    )
    assert answered.result[-1] == 1
    # With answer delays known, a time-out that comes first wins.
    late = expected_outcome(
        Program([Catch(Callback("cb1", 30)), Catch(Callback("cb2", 300, heartbeat_seconds=20))]),
        callback_results={"cb1": "1", "cb2": "2"},
        callback_delays=[10, 60],
    )
    assert late.result == [1, "CallbackError"]
    assert late.operations["cb2"].error_type == "Callback.Heartbeat"
    with pytest.raises(Undetermined):
        expected_outcome(
            Program([Callback("cb1", 30)]), callback_results={"cb1": "1"}, callback_delays=[30]
        )


def test_time_out_faults_are_the_service_s_own_time_outs() -> None:
    def ended(callback: Callback, fault: str, **options: object) -> str | None:
        expected = expected_outcome(
            Program([Catch(callback)]),
            callback_faults={1: fault},
            **options,  # type: ignore[arg-type]
        )
        assert expected.operations[callback.name].statuses == {"TIMED_OUT"}
        return expected.operations[callback.name].error_type

    # callback_timeout: the partner keeps it alive, so the time-out ends it, however soon the
    # answer would have come and however short its heartbeat time-out.
    kept = Callback("cb1", 300, heartbeat_seconds=20)
    assert ended(kept, "timeout", callback_delays=[1]) == "Callback.Timeout"
    # heartbeat_timeout: silence; the heartbeat time-out, or the time-out if shorter.
    assert ended(kept, "heartbeat_timeout", callback_delays=[1]) == "Callback.Heartbeat"
    short = Callback("cb1", 30, heartbeat_seconds=120)
    assert ended(short, "heartbeat_timeout", callback_delays=[1]) == "Callback.Timeout"
    # Heartbeats, then silence: the last one that reached it starts the last deadline.
    assert (
        ended(kept, "heartbeat_timeout", callback_delays=[0], callback_heartbeats={1: 2})
        == "Callback.Heartbeat"
    )
    # A keep-alive half a second inside a one-second heartbeat time-out races a window of 1 s.
    with pytest.raises(Undetermined, match="keep-alive"):
        ended(Callback("cb1", 30, heartbeat_seconds=1), "timeout", window=1.0)
    assert ended(Callback("cb1", 30, heartbeat_seconds=1), "timeout", window=0.5) == (
        "Callback.Timeout"
    )


def test_fault_scenarios_agree_with_reference() -> None:
    """The lead's fault driver (``Scenario``) and the evaluator count ordinals alike."""
    from async_durable_execution_runner import scenarios as faults
    from async_durable_execution_runner import scenarios as scenario_module

    program = Program(
        [
            Step("s1", succeed(1), retry=Retry(2, 1)),
            Catch(Callback("cb1", 30)),
            Catch(Invoke("i1", Program([Step("s2", succeed(2))]))),
            Child("c1", [Step("s3", fail_first(1), retry=Retry(3, 2))]),
            Catch(Child("c2", [Callback("cb2", 30)])),
            Callback("cb3", 30),
        ]
    )
    plan = (
        faults.step_exception(step=1, attempt=1),
        faults.step_exception(step=2, attempt=2),
        faults.callback_timeout(callback=1),
        faults.invoke_failure(invoke=1),
        faults.callback_failure(callback=2),
    )
    scenario = scenario_module.Scenario(
        handler=program_handler,
        input=program_event(program, "in"),
        faults=plan,
        callback_payloads={"cb3": ("done",)},
        functions={"program": program_handler},
        program=program,
    )
    outcome = scenario.run()
    expected = expected_outcome(
        program,
        input="in",
        callback_results={"cb3": json.dumps("done")},
        step_exceptions={(1, 1), (2, 2)},
        callback_faults={1: "timeout", 2: "failure"},
        invoke_faults={1: "failure"},
    )
    # s3 is the second step of the root execution (s2 runs in the invoked one); a child
    # context passes the CallbackError of its failed callback through unchanged.
    assert expected.result == [
        1,
        "CallbackError",
        "CallableRuntimeError",
        [3],
        "CallbackError",
        "done",
    ]
    assert expected.operations["c2"].error_type == "CallbackError"
    problems = expected.mismatches(outcome.result)
    assert not problems, "\n".join(problems) + "\n" + outcome.report()


ORPHANED_RETRY = Program(
    [
        Parallel(
            "p1",
            [
                [Step("s1", succeed(1))],
                [Wait("w1", 1), Step("s2", fail_first(1), retry=Retry(3, 5))],
                [Wait("w3", 3), Step("s3", succeed(3))],
            ],
            completion=Completion(min_successful=2),
        ),
        Wait("w2", 10),
    ]
)

_ORPHAN_SCRIPT = """
import sys
from async_durable_execution_runner._harness.programs.nodes import REPR_NAMESPACE
from async_durable_execution_runner._harness.programs.reference import expected_outcome
sys.path.insert(0, sys.argv[2])
from test_programs import run_program
program = eval(sys.argv[1], dict(REPR_NAMESPACE))
try:
    result = run_program(program, timeout=1.0)
except Exception as error:
    print(type(error).__name__, str(error)[:300])
    sys.exit(1)
problems = expected_outcome(program).mismatches(result)
print(problems)
sys.exit(1 if problems else 0)
"""


def test_orphaned_retry_is_expected_ready() -> None:
    expected = expected_outcome(ORPHANED_RETRY)
    assert expected.operations["p1/parallel-branch-1/s2"].statuses == {"READY"}
    assert expected.operations["p1/parallel-branch-1/s2"].attempts == 1


def test_orphaned_retry_does_not_loop() -> None:
    # Found by the generated programs: the executor used to re-invoke while any step was
    # READY, so a retry orphaned by a finished batch looped forever. In a subprocess, so that
    # a regression cannot hang this test run.
    completed = subprocess.run(
        [sys.executable, "-c", _ORPHAN_SCRIPT, repr(ORPHANED_RETRY), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-2000:]


@pytest.mark.parametrize(
    "program",
    [
        Program([Parallel("p1", [[Wait("w1", 1)]])]),
        Program([Map("m1", [1], [Wait("w1", 1)])]),
    ],
    ids=repr,
)
def test_strict_replay_of_an_unfinished_batch(program: Program) -> None:
    expected = expected_outcome(program)
    result = run_program(program, strict_replay=True)
    assert not expected.mismatches(result), result.error


# --- generated programs -------------------------------------------------------------------


def _expect_or_reject(program: Program, **kwargs: Any) -> ExpectedOutcome:
    try:
        expected = expected_outcome(program, **kwargs)
    except Undetermined:
        reject()
    note(f"expected: {expected.describe()}")
    return expected


def _check(expected: ExpectedOutcome, result: DurableFunctionTestResult) -> None:
    problems = expected.mismatches(result)
    assert not problems, f"got: {result!r}\n" + "\n".join(problems)


_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@settings(_SETTINGS, max_examples=200)
@given(program=durable_programs(callbacks=False, invokes=False), input=json_values)
def test_generated_programs_agree_with_reference(program: Program, input: Any) -> None:
    expected = _expect_or_reject(program, input=input)
    _check(expected, run_program(program, input))


def _with_callback(program: Program, position: int, timeout: int) -> Program:
    """``program`` with a callback inserted at the top level (names renumbered)."""
    body = list(program.body)
    position = min(position, len(body))
    return assign_names(Program([*body[:position], Callback("", timeout), *body[position:]]))


programs_with_callbacks = st.builds(
    _with_callback,
    durable_programs(max_nodes=7, callbacks=True, invokes=True),
    st.integers(0, 8),
    st.integers(10, 300),
)


@settings(_SETTINGS, max_examples=80)
@given(program=programs_with_callbacks, data=st.data())
def test_generated_programs_with_callbacks_agree_with_reference(
    program: Program, data: st.DataObject
) -> None:
    names = callback_names(program)
    payloads = {name: json.dumps(data.draw(json_values, label=name)) for name in names}
    expected = _expect_or_reject(program, input=None, callback_results=payloads)
    _check(expected, run_program(program, None, payloads))


@settings(max_examples=200, deadline=None)
@given(durable_programs(max_depth=3, max_nodes=12))
def test_repr_and_json_round_trip(program: Program) -> None:
    assert eval(repr(program), dict(REPR_NAMESPACE)) == program
    assert from_json(to_json(program)) == program
    assert from_json(json.dumps(to_json(program))) == program
    assert program.count_nodes() <= 12
    names = [n.name for n in program.walk(into_invokes=True) if not isinstance(n, Catch)]
    assert len(names) == len(set(names))


def test_repr_reads_as_python() -> None:
    program = Program([Step("s1", succeed(1)), Wait("w1", 60)])
    assert repr(program) == "Program([Step('s1', succeed(1)), Wait('w1', 60)])"
    program = Program(
        [
            Step("s1", fail_first(2), retry=Retry(3, 2), at_most_once=True),
            Map("m1", [1], [Step("s2", succeed_input())], completion=Completion(min_successful=1)),
        ]
    )
    assert eval(repr(program), dict(REPR_NAMESPACE)) == program


def test_every_step_body_waits_once_and_calls_aws_once() -> None:
    # Where a sandbox can die inside a generated body: at its wait and after its AWS call.
    from async_durable_execution_runner import scenarios as faults
    from async_durable_execution_runner import scenarios as scenario_module

    program = Program([Step("s1", succeed(1)), Wait("w1", 60), Step("s2", succeed(2))])
    for fault in (faults.body_crash(step=2), faults.aws_call_crash(step=2)):
        outcome = scenario_module.Scenario(
            handler=program_handler,
            input=program_event(program, None),
            faults=(fault,),
            functions={"program": program_handler},
            program=program,
        ).run()
        assert outcome.faults_applied == (fault,)
        assert outcome.value == [1, None, 2]
        assert [i.error_type for i in outcome.invocations] == [None, "Runtime.ExitError", None]
        outcome.check()


def test_a_timed_out_aws_call_fails_the_attempt_as_the_evaluator_says() -> None:
    from async_durable_execution_runner import scenarios as faults
    from async_durable_execution_runner import scenarios as scenario_module

    program = Program(
        [
            Step("s1", succeed(1), retry=Retry(2, 1)),
            Catch(Step("s2", succeed(2))),  # no retries left: the time-out is caught
            Step("s3", fail_first(1), retry=Retry(3, 2)),
            WaitForCondition("wc1", 2),  # its check calls no AWS: a time-out never lands
        ]
    )
    plan = (
        faults.aws_call_timeout(step=1, attempt=1),
        faults.aws_call_timeout(step=2, attempt=1),
        faults.aws_call_timeout(step=3, attempt=2),
        faults.aws_call_timeout(step=4, attempt=1),
        faults.aws_call_timeout(step=1, attempt=2, call=2),  # a body makes one call
    )
    outcome = scenario_module.Scenario(
        handler=program_handler,
        input=program_event(program, None),
        faults=plan,
        functions={"program": program_handler},
        program=program,
    ).run()
    assert set(outcome.faults_applied) == set(plan[:3])
    expected = expected_outcome(program, step_timeouts={(1, 1), (2, 1), (3, 2), (4, 1)})
    assert expected.result == [1, "CallableRuntimeError", 3, 2]
    assert expected.operations["s1"].attempts == 2
    assert expected.operations["s2"].error_type == "ReadTimeoutError"
    assert expected.operations["s3"].attempts == 3
    problems = expected.mismatches(outcome.result)
    assert not problems, "\n".join(problems) + "\n" + outcome.report()
    outcome.check()  # the expected-outcome oracle judges it, and agrees


def test_a_step_exception_comes_before_the_body_and_its_aws_call() -> None:
    program = Program([Step("s1", succeed(1), retry=Retry(2, 1))])
    expected = expected_outcome(program, step_exceptions={(1, 1)}, step_timeouts={(1, 1)})
    assert expected.operations["s1"].attempts == 2
    failed = expected_outcome(program, step_exceptions={(1, 1)}, step_timeouts={(1, 2)})
    assert failed.status == "FAILED"
    assert failed.operations["s1"].error_type == "ReadTimeoutError"


def test_a_time_out_inside_a_batch_is_refused_by_the_evaluator() -> None:
    program = Program([Parallel("p1", [[Step("s1", succeed(1))], [Step("s2", succeed(2))]])])
    with pytest.raises(UnsupportedScenario, match="aws_call_timeout"):
        expected_outcome(program, step_timeouts={(1, 1)})
