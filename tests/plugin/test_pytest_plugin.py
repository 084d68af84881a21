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


HOST_CONFTEST = """
from hypothesis import settings

settings.register_profile("host", max_examples=500, deadline=1234)
settings.load_profile("host")
"""

COUNTING_TEST = """
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from async_durable_execution_runner.strategies import scenario_settings

RUNS = []

@given(st.integers())
def test_count(n):
    RUNS.append(n)

def test_the_profile_ran():
    assert len(RUNS) == {expected}
    assert settings.get_current_profile_name() == {profile!r}

@scenario_settings()
@given(st.integers())
def test_scenario_settings_keep_the_profile(n):
    current = settings()
    assert current.deadline is None
    assert current.max_examples == {expected}
    # (The explain phase re-runs hundreds of scenarios under a line tracer.)
    assert Phase.explain not in current.phases
    assert Phase.shrink in current.phases

@scenario_settings(phases=list(Phase))
@given(st.integers())
def test_scenario_settings_give_the_explain_phase_back_when_asked(n):
    assert Phase.explain in settings().phases
"""


@pytest.fixture
def no_profile_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite itself runs with DURABLE_HYPOTHESIS_PROFILE set in CI; pytester's subprocess
    # inherits the environment.
    monkeypatch.delenv("DURABLE_HYPOTHESIS_PROFILE", raising=False)
    monkeypatch.delenv("CI", raising=False)


NOT_GENERIC = """

def test_no_generic_profile_names():
    import pytest
    from hypothesis.errors import InvalidArgument

    for generic in ("dev", "fuzz"):
        with pytest.raises(InvalidArgument):
            settings.get_profile(generic)
    # "ci" is Hypothesis's own built-in profile; the plugin leaves it alone.
    assert settings.get_profile("ci").max_examples == 100
    assert settings.get_profile("durable-ci").max_examples == 25
"""


@pytest.mark.usefixtures("no_profile_requested")
def test_the_host_projects_own_profile_stands(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")  # the plugin once switched to its own profile here
    pytester.makeconftest(HOST_CONFTEST)
    test = COUNTING_TEST.format(expected=500, profile="host") + NOT_GENERIC
    pytester.makepyfile(test_it=test)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    assert "loaded hypothesis profile" not in result.stdout.str()


@pytest.mark.usefixtures("no_profile_requested")
def test_a_durable_profile_loads_on_request(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As CI asks for it; a request beats the conftest's own choice.
    monkeypatch.setenv("DURABLE_HYPOTHESIS_PROFILE", "durable-ci")
    pytester.makeconftest(HOST_CONFTEST)
    pytester.makepyfile(test_it=COUNTING_TEST.format(expected=25, profile="durable-ci"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["*loaded hypothesis profile durable-ci (from DURABLE_HYPOTHESIS_PROFILE)*"]
    )


# The rest runs in this process: parsing a configuration loads no profile, and a refused
# request fails before loading one, so Hypothesis's global settings are left as they are.


@pytest.mark.usefixtures("no_profile_requested")
def test_option_beats_environment_beats_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from async_durable_execution_runner.pytest_plugin import _requested

    pytester.makeini("[pytest]\ndurable_hypothesis_profile = from-ini\n")
    assert _requested(pytester.parseconfig()) == (
        "from-ini",
        "the durable_hypothesis_profile ini key",
    )
    monkeypatch.setenv("DURABLE_HYPOTHESIS_PROFILE", "from-env")
    assert _requested(pytester.parseconfig()) == ("from-env", "DURABLE_HYPOTHESIS_PROFILE")
    config = pytester.parseconfig("--durable-profile=from-option")
    assert _requested(config) == ("from-option", "--durable-profile")


@pytest.mark.usefixtures("no_profile_requested")
def test_hypothesis_own_option_wins(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hypothesis import settings

    from async_durable_execution_runner.pytest_plugin import pytest_configure

    monkeypatch.setenv("DURABLE_HYPOTHESIS_PROFILE", "not-registered")
    before = settings.get_current_profile_name()
    pytest_configure(pytester.parseconfig(f"--hypothesis-profile={before}"))
    assert settings.get_current_profile_name() == before


@pytest.mark.usefixtures("no_profile_requested")
def test_an_old_generic_name_gets_a_clear_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hypothesis import settings

    from async_durable_execution_runner.pytest_plugin import pytest_configure

    monkeypatch.setenv("DURABLE_HYPOTHESIS_PROFILE", "fuzz")
    before = settings.get_current_profile_name()
    with pytest.raises(pytest.UsageError) as raised:
        pytest_configure(pytester.parseconfig())
    assert settings.get_current_profile_name() == before  # left as it was
    message = str(raised.value)
    assert "DURABLE_HYPOTHESIS_PROFILE asks for Hypothesis profile 'fuzz'" in message
    assert "did you mean durable-fuzz?" in message


def test_no_private_hypothesis_attributes() -> None:
    import ast
    import inspect

    from async_durable_execution_runner import pytest_plugin
    from async_durable_execution_runner._harness import settings as durable_settings

    for module in (pytest_plugin, durable_settings):
        tree = ast.parse(inspect.getsource(module))
        private = [
            f"{ast.unparse(node)} (line {node.lineno})"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in {"settings", "hypothesis", "HealthCheck", "Phase"}
        ]
        assert not private, f"{module.__name__} reads private Hypothesis names: {private}"


def test_the_lambda_environment_ini_key_sets_what_a_handler_reads_at_import(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        """
        [pytest]
        durable_lambda_environment = orders
        """
    )
    pytester.makepyfile(
        regional_handlers="""
        import os

        from async_durable_execution import durable_execution, step

        REGION = os.environ["AWS_REGION"]  # read at import, as a module-level client does

        async def _name():
            return os.environ["AWS_LAMBDA_FUNCTION_NAME"]

        @durable_execution
        async def where(event):
            return {"region": REGION, "name": await step(_name, name="name")}
        """
    )
    pytester.makepyfile(
        test_it="""
        from regional_handlers import where

        def test_where(durable_runner):
            result = durable_runner(where).run(timeout=10)
            assert result.result_value == {"region": "eu-central-1", "name": "orders"}
        """
    )
    # A variable the environment sets already is left as it is.
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
