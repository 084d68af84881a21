"""The pytest plugin, exercised with real pytest runs (pytester)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

HANDLERS = """
from async_durable_execution import durable_execution, step, wait

@durable_execution
async def greet(event):
    return await step(lambda: _hello(event), name="hello")

async def _hello(event):
    return f"hello {event}"

SENT = []

@durable_execution
async def leaky(event):
    SENT.append(event)  # a side effect outside a step
    await wait(5, name="pause")
    return len(SENT)
"""


def test_durable_runner_fixture_runs_a_handler(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(durable_handlers=HANDLERS)
    pytester.makepyfile(
        test_it="""
        from durable_handlers import greet

        def test_greet(durable_runner):
            runner = durable_runner(greet)
            result = runner.run(input="you", timeout=10)
            assert result.result == '"hello you"'
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_failing_scenario_attaches_its_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(durable_handlers=HANDLERS)
    pytester.makepyfile(
        test_it="""
        from async_durable_execution_runner.scenarios import Scenario
        from durable_handlers import SENT, leaky

        def test_leaky(run_scenario):
            SENT.clear()
            outcome = run_scenario(Scenario(handler=leaky, input="x"))
            assert outcome.value == 1
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*durable execution scenario*", "*Reproduce with:*"])


def test_ci_profile_is_the_default_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("DURABLE_HYPOTHESIS_PROFILE", raising=False)
    pytester.makepyfile(
        test_it="""
        from hypothesis import settings

        def test_profile():
            assert settings().max_examples == 25
            assert settings().derandomize
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*hypothesis profile ci*"])
