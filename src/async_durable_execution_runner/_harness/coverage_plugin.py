"""pytest side of coverage: each test is a campaign; ``sometimes`` is checked when it ends;
``--durable-coverage`` prints what each campaign exercised and what never happened."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from async_durable_execution_runner._harness import coverage

_CAMPAIGNS = pytest.StashKey[list[coverage.Campaign]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("durable-coverage", "durable execution campaign coverage")
    group.addoption(
        "--durable-coverage",
        action="store_true",
        default=False,
        help="after the run, print what each campaign (test) exercised and what never happened",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with coverage.campaign(item.nodeid, check=False) as campaign:
        result = yield
    if campaign.examples or campaign.sometimes_asked:
        item.config.stash.setdefault(_CAMPAIGNS, []).append(campaign)
    campaign.check()
    return result


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    if not config.getoption("durable_coverage"):
        return
    campaigns = config.stash.get(_CAMPAIGNS, [])
    terminalreporter.section("durable execution coverage")
    if not campaigns:
        terminalreporter.write_line("no campaign observed a run (call coverage.observe(outcome))")
    for campaign in campaigns:
        terminalreporter.write_line(campaign.summary())
