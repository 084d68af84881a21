"""pytest plugin (``pytest11`` entry point).

- Fixtures: ``durable_runner`` (a factory of ``DurableFunctionTestRunner``s, closed after the
  test) and ``run_scenario`` (runs a ``Scenario`` and keeps its outcome for the report).
- Hypothesis profiles: ``ci`` (fast; loaded by default when the ``CI`` environment variable is
  set), ``dev`` (the default elsewhere) and ``fuzz`` (long campaigns). Choose one with
  ``--hypothesis-profile=NAME`` or ``DURABLE_HYPOTHESIS_PROFILE=NAME``.
- When a test that ran a scenario fails, the last scenario's report (scenario in words,
  history table, how to reproduce) is attached to the test report as a section.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from async_durable_execution_runner._runner.local import DurableFunctionTestRunner

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario import Outcome, Scenario

RunnerFactory = Callable[..., DurableFunctionTestRunner]
_OUTCOMES = pytest.StashKey[list["Outcome"]]()

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
settings.register_profile(
    "dev",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # The explain phase re-runs hundreds of scenarios after shrinking; a failing property
    # would take half a minute to report.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
settings.register_profile(
    "fuzz",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def pytest_configure(config: pytest.Config) -> None:
    chosen = config.getoption("hypothesis_profile", default=None)
    if chosen:
        return  # Hypothesis's own plugin loads it
    name = os.environ.get("DURABLE_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    settings.load_profile(name)


def pytest_report_header(config: pytest.Config) -> str:
    return f"async-durable-execution-runner: hypothesis profile {settings._current_profile}"


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
