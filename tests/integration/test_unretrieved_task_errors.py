"""A task the handler left with an exception nobody retrieved is reported while its invocation
ends, in that run's logs.

asyncio reports such a task when it is freed ("Task exception was never retrieved"). A task
whose exception's traceback holds the task (the SDK's ``parallel`` branches that suspend, a
step's task a refused checkpoint failed, any coroutine that kept ``asyncio.current_task()``)
is a reference cycle, freed only by the collector: its report came whenever that ran, often
at the interpreter's exit, after pytest had finished and outside the log capture of the test
and the harness's run that made it (seen after random-program campaigns on 3.11 and 3.13).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator

import pytest
from async_durable_execution import durable_execution
from tests.sdk_order import EAGER_TASKS

from async_durable_execution_runner import DurableFunctionTestRunner

NEVER_RETRIEVED = "Task exception was never retrieved"


async def _fails_holding_itself() -> None:
    me = asyncio.current_task()  # the exception's traceback keeps the task: a cycle
    assert me is not None
    raise ValueError("left behind")


async def _fails_and_is_awaited() -> None:
    raise KeyError("awaited")


@durable_execution
async def leaves_a_failed_task(event: object) -> str:
    asyncio.get_running_loop().create_task(_fails_holding_itself())
    await asyncio.sleep(0)
    return "done"


@durable_execution
async def awaits_its_failed_task(event: object) -> str:
    task = asyncio.get_running_loop().create_task(_fails_and_is_awaited())
    try:
        await task
    except KeyError:
        return "caught"
    return "not raised"


@durable_execution
async def leaves_an_eager_task_that_failed_at_once(event: object) -> str:
    # The SDK starts its operations' tasks so (from Python 3.12): an unawaited step whose
    # replay raises at once (its retry is not due) ends inside the call that made it.
    asyncio.eager_task_factory(asyncio.get_running_loop(), _fails_holding_itself())  # type: ignore[attr-defined]
    return "done"


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The collector must not be what reports the task."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _reports(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "asyncio" and NEVER_RETRIEVED in r.message]


def test_the_task_is_reported_as_its_invocation_ends(
    caplog: pytest.LogCaptureFixture, collector_off: None
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with DurableFunctionTestRunner(handler=leaves_a_failed_task) as runner:
            result = runner.run(input={}, timeout=10)
        assert result.result_value == "done"
        (report,) = _reports(caplog)
        assert report.exc_info is not None
        assert isinstance(report.exc_info[1], ValueError)
        caplog.clear()
        gc.collect()  # its finaliser says nothing more
        assert _reports(caplog) == []


def test_a_task_whose_exception_was_retrieved_is_not_reported(
    caplog: pytest.LogCaptureFixture, collector_off: None
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with DurableFunctionTestRunner(handler=awaits_its_failed_task) as runner:
            result = runner.run(input={}, timeout=10)
        gc.collect()
    assert result.result_value == "caught"
    assert _reports(caplog) == []


@pytest.mark.skipif(not EAGER_TASKS, reason="asyncio has eager tasks from Python 3.12")
def test_an_eager_task_that_failed_on_its_first_step_is_reported(
    caplog: pytest.LogCaptureFixture, collector_off: None
) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with DurableFunctionTestRunner(handler=leaves_an_eager_task_that_failed_at_once) as runner:
            assert runner.run(input={}, timeout=10).result_value == "done"
        (report,) = _reports(caplog)
        assert report.exc_info is not None
        assert isinstance(report.exc_info[1], ValueError)
