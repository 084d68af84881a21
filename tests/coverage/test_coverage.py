"""Campaign coverage, ``sometimes`` and the plugin's summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.harness.fault_handlers import plain_approval
from tests.replay import handlers as h
from tests.server.handlers import failing

from async_durable_execution_runner.coverage import campaign, features, observe, sometimes, universe
from async_durable_execution_runner.scenarios import Scenario, callback_timeout, crash

ROOT = Path(__file__).resolve().parents[2]


def test_features_of_a_parallel_with_a_retry_and_a_crash() -> None:
    outcome = Scenario(
        handler=h.fan_out, input={"run": "coverage"}, faults=(crash(invocation=3, call=1),)
    ).run()
    found = features(outcome)
    assert "transition STEP RETRY -> PENDING" in found
    assert "transition WAIT START -> STARTED" in found
    assert "transition CONTEXT SUCCEED -> SUCCEEDED" in found
    assert "replay inside parallel" in found
    assert "sandbox warm" in found
    assert any(f.startswith("fault crash x ") for f in found)
    assert "ended SUCCEEDED" in found
    assert found <= universe() | {f for f in found if f.startswith("fault ")}


def test_a_callback_timing_out_is_seen() -> None:
    # (A callback created without a time-out never times out: the fault needs one.)
    outcome = Scenario(
        handler=plain_approval,
        input={"timeout": 600, "heartbeat_timeout": None},
        faults=(callback_timeout(callback=1),),
    ).run()
    found = features(outcome)
    assert "callback timed out" in found
    assert "transition CALLBACK (timer) -> TIMED_OUT" in found
    assert "fault callback_timeout x CALLBACK" in found


def test_sometimes_fails_a_campaign_where_it_never_held() -> None:
    def small_numbers() -> None:
        with campaign("small numbers") as c:
            for n in range(5):
                sometimes(n > 100, "big")
                sometimes(n == 3, "three")
            seen.append(c)

    seen: list = []
    never = r"sometimes\(\) never held for: 'big' \(asked 5 times\)"
    with pytest.raises(AssertionError, match=never):
        small_numbers()
    assert seen[0].never_held() == ["big"]
    with campaign("reached") as ok:
        sometimes(True, "big")
    assert ok.never_held() == []


def test_the_summary_says_what_never_happened() -> None:
    with campaign("one run", check=False) as c:
        observe(Scenario(handler=h.fan_out, input={"run": "summary"}).run())
    text = c.summary()
    assert "one run: 1 run(s) observed" in text
    assert "replay inside parallel" in text.split("never happened")[0]
    assert "callback timed out" in text.split("never happened")[1]


def test_a_campaign_whose_executions_all_failed_never_saw_one_succeed() -> None:
    # A failed execution breaks no oracle's rule: how the executions ended is where a
    # handler that fails on its own shows.
    with campaign("always failing", check=False) as c:
        for _ in range(2):
            observe(Scenario(handler=failing, input=None).run())
    assert c.seen["ended FAILED"] == 2
    never = c.summary().split("never happened")[1]
    assert "ended SUCCEEDED" in never
    assert {"ended SUCCEEDED", "ended FAILED", "ended TIMED_OUT", "ended STOPPED"} <= universe()


def test_the_plugin_fails_a_property_whose_case_is_never_reached(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(
        test_props="""
        from hypothesis import given, settings, strategies as st
        from async_durable_execution_runner.coverage import observe, sometimes
        from async_durable_execution_runner.scenarios import Scenario
        from tests.replay import handlers as h

        @settings(max_examples=10, database=None)
        @given(st.integers(0, 10))
        def test_never_big(n):
            sometimes(n > 1000, "a big number")

        @settings(max_examples=3, database=None)
        @given(st.integers(0, 10))
        def test_runs(n):
            observe(Scenario(handler=h.fan_out, input={"run": str(n)}).run())
            sometimes(True, "always")
        """
    )
    result = pytester.runpytest_subprocess("--durable-coverage", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*sometimes() never held for: 'a big number' (asked * times)*",
            "*durable execution coverage*",
            "*test_runs: 3 run(s) observed*",
            "*replay inside parallel*",
            "*never happened*",
            "*callback timed out*",
        ]
    )
