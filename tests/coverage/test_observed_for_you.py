"""Coverage is recorded without a call to ``observe``: by the plugin's ``run_scenario``
fixture (once per outcome, even when the test observes it too) and by the ``fuzz`` command
(``--coverage`` prints the campaign's summary)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from async_durable_execution_runner.cli import main
from async_durable_execution_runner.coverage import campaign, observe
from async_durable_execution_runner.scenarios import Scenario

ROOT = Path(__file__).resolve().parents[2]


def test_an_outcome_observed_twice_counts_once() -> None:
    from tests.replay import handlers as h

    with campaign("twice", check=False) as c:
        outcome = Scenario(handler=h.fan_out, input={"run": "twice"}).run()
        first = observe(outcome)
        assert observe(outcome) == first  # still says what it exercised
        observe(Scenario(handler=h.fan_out, input={"run": "other"}).run())
    assert c.examples == 2
    assert c.seen["replay inside parallel"] == 2


def test_the_run_scenario_fixture_records_coverage(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(
        test_fixture_props="""
        from hypothesis import HealthCheck, given, settings, strategies as st
        from async_durable_execution_runner.coverage import observe
        from async_durable_execution_runner.scenarios import Scenario
        from tests.replay import handlers as h

        @settings(max_examples=3, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.integers(0, 10))
        def test_by_the_fixture(run_scenario, n):
            run_scenario(Scenario(handler=h.fan_out, input={"run": str(n)}))

        @settings(max_examples=4, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.integers(0, 10))
        def test_by_the_fixture_and_the_test(run_scenario, n):
            observe(run_scenario(Scenario(handler=h.fan_out, input={"run": str(n)})))
        """
    )
    result = pytester.runpytest_subprocess("--durable-coverage", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*durable execution coverage*",
            "*test_by_the_fixture: 3 run(s) observed*",
            "*replay inside parallel*",
            "*test_by_the_fixture_and_the_test: 4 run(s) observed*",
        ]
    )


def test_fuzz_prints_what_its_campaign_exercised(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "fuzz",
            "tests.replay.handlers:fan_out",
            "--input",
            '{"run": "fuzz"}',
            "--examples",
            "5",
            # fan_out's flaky step fails its first attempt in each process: a crash's cold
            # sandbox fails it again, which the fault-tolerance oracle rightly calls
            # module state; the coverage summary is what this test is about.
            "--faults",
            "step_exception,invocation_lost,checkpoint_error",
            "--coverage",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    ran = re.search(r"passed: (\d+) example\(s\)", out)
    assert ran, out
    assert f"fuzz tests.replay.handlers:fan_out: {ran[1]} run(s) observed" in out
    assert "transition CONTEXT START -> STARTED" in out.split("never happened")[0]


def test_fuzz_without_coverage_prints_no_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["fuzz", "tests.replay.handlers:fan_out", "--input", '{"run": "quiet"}', "--examples", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "run(s) observed" not in out
