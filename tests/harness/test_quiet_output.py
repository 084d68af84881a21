"""Quiet output: the SDK's log records caused by injected faults are held back per run and
summarised in the report, one line per fault; every other record still reaches the user."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import Phase, given
from hypothesis import strategies as st
from orders import order_workflow, pricing_handler
from tests.harness import open_operation_handlers as h

from async_durable_execution_runner.scenarios import (
    Scenario,
    checkpoint_error,
    crash,
    step_exception,
)
from async_durable_execution_runner.strategies import durable_scenarios, scenario_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ORDER = {"handler": order_workflow, "input": {"id": 1, "quantity": 2}}
FUNCTIONS = {"pricing": pricing_handler}


def _sdk_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("async_durable_execution.")]


def test_records_caused_by_injected_faults_are_held_back_and_summarised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults = (
        step_exception(step=1, attempt=1),
        checkpoint_error(invocation=2, call=1, error="TooManyRequestsException"),
    )
    with caplog.at_level(logging.DEBUG):
        outcome = Scenario(**ORDER, faults=faults, functions=FUNCTIONS).run()
    assert set(outcome.faults_applied) == set(faults)
    assert not [r for r in _sdk_records(caplog) if r.levelno >= logging.WARNING]
    assert len(outcome.fault_logs) == 2  # one line per fault
    by_fault = dict(line.split(": ", 1) for line in outcome.fault_logs)
    assert "failed step" in by_fault[repr(faults[0])]
    assert "Checkpoint batch processing failed" in by_fault[repr(faults[1])]
    report = outcome.report()
    assert "held back from the log" in report
    for line in outcome.fault_logs:
        assert f"  - {line}" in report


def test_records_no_fault_caused_reach_the_user(caplog: pytest.LogCaptureFixture) -> None:
    # A step failing for its own reason, in a run that also has a (silent) crash.
    with caplog.at_level(logging.INFO):
        outcome = Scenario(handler=h.gather_fails, faults=(crash(invocation=1, call=1),)).run()
    failed = [r for r in _sdk_records(caplog) if "failed step" in r.getMessage()]
    assert failed, [r.getMessage() for r in caplog.records]
    assert failed[0].exc_info is not None  # with its traceback, as the SDK logged it
    assert outcome.fault_logs == ()


_INJECTION_TEXTS = (
    "injected",
    "Invalid Checkpoint Token",
    "Callback.Timeout",
    "Callback.Heartbeat",
)


def _mentions_an_injection(record: logging.LogRecord) -> bool:
    texts = [record.getMessage()]
    error = record.exc_info[1] if record.exc_info else None
    while error is not None and len(texts) < 10:
        texts.append(str(error))
        error = error.__cause__ or error.__context__
    return any(marker in text for text in texts for marker in _INJECTION_TEXTS)


def test_no_fault_kind_leaks_its_records(caplog: pytest.LogCaptureFixture) -> None:
    # Every fault kind, drawn and placed as a default campaign does: none of the records they
    # cause reaches the log (a new fault kind must be taught to logs.cause()).
    strategy = durable_scenarios(
        order_workflow,
        inputs=st.just({"id": 1, "quantity": 2}),
        callbacks={"approval": st.just({"approved": True})},
        functions=FUNCTIONS,
    )
    kinds: set[str] = set()

    @scenario_settings(max_examples=40, database=None, derandomize=True, phases=[Phase.generate])
    @given(strategy)
    def run(scenario: Scenario) -> None:
        outcome = scenario.run()
        kinds.update(f.kind for f in outcome.faults_applied)

    with caplog.at_level(logging.WARNING):
        run()
    leaked = [r.getMessage() for r in _sdk_records(caplog) if _mentions_an_injection(r)]
    assert not leaked, leaked
    assert len(kinds) >= 6, kinds  # the campaign did exercise the fault kinds


def test_the_filter_is_gone_after_the_run(caplog: pytest.LogCaptureFixture) -> None:
    Scenario(**ORDER, faults=(step_exception(step=1, attempt=1),), functions=FUNCTIONS).run()
    logger = logging.getLogger("async_durable_execution._primitive.step")
    assert not logger.filters
    with caplog.at_level(logging.ERROR):
        logger.error("after the run: injected by step_exception(step=1, attempt=1)")
    assert [r.getMessage() for r in caplog.records] == [
        "after the run: injected by step_exception(step=1, attempt=1)"
    ]


def test_a_failing_property_prints_the_report_not_the_sdks_tracebacks(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DURABLE_HYPOTHESIS_PROFILE", raising=False)
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(EXAMPLES)!r})\n")
    pytester.makepyfile(
        test_property="""
        from hypothesis import HealthCheck, Phase, given
        from hypothesis import strategies as st

        from async_durable_execution_runner.strategies import (
            durable_scenarios,
            fault_plans,
            scenario_settings,
        )
        from buggy.swallowed_checkpoint_error import buggy


        @scenario_settings(
            max_examples=25,
            derandomize=True,
            database=None,
            phases=[Phase.generate, Phase.shrink],
        )
        @given(
            durable_scenarios(
                buggy,
                inputs=st.just({"id": 7}),
                faults=fault_plans(kinds={"checkpoint_error", "lost_response"}),
            )
        )
        def test_payment(scenario):
            scenario.run().check()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "[fault-tolerance]" in output
    assert "held back from the log" in output
    # The SDK's own tracebacks for the injected errors are not in the output.
    assert "CheckpointError: An error occurred" not in output
    assert "Captured log" not in output
    # Count the failure section only: on CI (the CI variable set) pytest repeats the whole
    # message in the short summary and Hypothesis adds its reproduce_failure blob.
    failures = output.split("= FAILURES =", 1)[1].split("short test summary info", 1)[0]
    assert len(failures.splitlines()) < 120, output
