"""pytest plugin (``pytest11`` entry point): fixtures for running durable functions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from async_durable_execution_runner._runner.local import DurableFunctionTestRunner

RunnerFactory = Callable[..., DurableFunctionTestRunner]


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
