"""pytest plugin (``pytest11`` entry point).

- Fixtures: ``durable_runner`` (a factory of ``DurableFunctionTestRunner``s, closed after the
  test) and ``run_scenario`` (runs a ``Scenario`` and keeps its outcome for the report).
- Hypothesis profiles ``durable-ci`` (fast, derandomized), ``durable-dev`` and
  ``durable-fuzz`` (long campaigns) are registered, and loaded only when asked for: by
  ``--durable-profile=NAME``, the ``DURABLE_HYPOTHESIS_PROFILE`` environment variable or the
  ``durable_hypothesis_profile`` ini key, in that order of precedence (Hypothesis's own
  ``--hypothesis-profile`` beats all three). Otherwise the plugin touches no setting: the
  host project's profile stands. The settings a scenario test needs come with
  ``scenario_settings()`` (in ``strategies``).
- ``run_scenario`` also records what each run exercised (``coverage.observe``) in the test's
  campaign, which ``--durable-coverage`` prints.
- ``durable_lambda_environment = NAME`` (ini) sets the environment variables Lambda's runtime
  sets for function ``NAME`` (``lambda_environment``), where the environment does not set
  them already, before any test module is imported: a handler's module that reads
  ``os.environ["AWS_REGION"]`` at import sees it then as in every cold sandbox.
- When a test that ran a scenario fails, the last scenario's report (scenario in words,
  history table, how to reproduce) is attached to the test report as a section.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner._harness.coverage import observe
from async_durable_execution_runner._harness.settings import PROFILES, register_profiles
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._sandbox.runtime_environment import lambda_environment

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome
    from async_durable_execution_runner._harness.scenario.scenario import Scenario

# The replay gate's ``--durable-replay=DIR`` option lives in a module of its own.
pytest_plugins = [
    "async_durable_execution_runner._replay.pytest_corpus",
    "async_durable_execution_runner._harness.coverage_plugin",
]

RunnerFactory = Callable[..., DurableFunctionTestRunner]
_OUTCOMES = pytest.StashKey[list["Outcome"]]()
_LOADED = pytest.StashKey[str]()

ENV_VAR = "DURABLE_HYPOTHESIS_PROFILE"
INI_KEY = "durable_hypothesis_profile"
LAMBDA_ENVIRONMENT_KEY = "durable_lambda_environment"

register_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("async-durable-execution-runner")
    group.addoption(
        "--durable-profile",
        dest="durable_profile",
        default=None,
        metavar="NAME",
        help=f"load a Hypothesis profile ({', '.join(PROFILES)}, or one the project registered)",
    )
    parser.addini(
        INI_KEY,
        f"Hypothesis profile to load ({', '.join(PROFILES)}, or one the project registered); "
        f"--durable-profile and {ENV_VAR} override it",
        default="",
    )
    parser.addini(
        LAMBDA_ENVIRONMENT_KEY,
        "a Lambda function's name: set the environment variables Lambda's runtime sets for it "
        "(AWS_REGION, AWS_LAMBDA_FUNCTION_NAME, ...) where they are not set, for the session",
        default="",
    )


def _requested(config: pytest.Config) -> tuple[str, str] | None:
    option = config.getoption("durable_profile", default=None)
    if option:
        return option, "--durable-profile"
    env = os.environ.get(ENV_VAR)
    if env:
        return env, ENV_VAR
    ini = str(config.getini(INI_KEY) or "")
    if ini:
        return ini, f"the {INI_KEY} ini key"
    return None


def pytest_configure(config: pytest.Config) -> None:
    function_name = str(config.getini(LAMBDA_ENVIRONMENT_KEY) or "")
    if function_name:
        for name, value in lambda_environment(function_name).items():
            os.environ.setdefault(name, value)
    if config.getoption("hypothesis_profile", default=None):
        return  # Hypothesis's own option was given: its plugin loads that profile
    requested = _requested(config)
    if requested is None:
        return  # nobody asked: the host project's settings stand
    name, source = requested
    try:
        # Look it up first: load_profile records the name before it finds the profile
        # missing, which would leave Hypothesis pointing at a profile that does not exist.
        settings.get_profile(name)
    except InvalidArgument:
        renamed = f" (profiles are namespaced: did you mean durable-{name}?)"
        hint = renamed if f"durable-{name}" in PROFILES else ""
        msg = (
            f"{source} asks for Hypothesis profile {name!r}, which is not registered{hint}; "
            f"expected one of {', '.join(PROFILES)} or a profile your conftest.py registers"
        )
        raise pytest.UsageError(msg) from None
    settings.load_profile(name)
    config.stash[_LOADED] = f"{name} (from {source})"


def pytest_report_header(config: pytest.Config) -> str | None:
    loaded = config.stash.get(_LOADED, None)
    if loaded is None:
        return None
    return f"async-durable-execution-runner: loaded hypothesis profile {loaded}"


@pytest.fixture
def durable_runner() -> Iterator[RunnerFactory]:
    """A factory: ``durable_runner(handler, **options)``; every runner is closed afterwards."""
    made: list[DurableFunctionTestRunner] = []

    def make(handler: Callable[..., Any], **options: Any) -> DurableFunctionTestRunner:
        runner = DurableFunctionTestRunner(handler, **options)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()


@pytest.fixture
def run_scenario(request: pytest.FixtureRequest) -> Callable[[Scenario], Outcome]:
    """``run_scenario(scenario)`` runs it and keeps the outcome for the failure report."""
    kept = request.node.stash.setdefault(_OUTCOMES, [])

    def run(scenario: Scenario) -> Outcome:
        outcome = scenario.run()
        kept[:] = [outcome]  # Hypothesis runs many: the last one is the minimal failing one
        observe(outcome)  # the test's campaign: pytest --durable-coverage
        return outcome

    return run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    outcomes = item.stash.get(_OUTCOMES, [])
    if report.when == "call" and report.failed and outcomes:
        report.sections.append(("durable execution scenario", outcomes[-1].report()))
    return report
