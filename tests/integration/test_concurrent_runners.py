"""Two runners driving invocations on two threads at once each show their handler their own
virtual clock (``_sandbox/handler_clock.py``). time-machine's patch is the process's: when
each invocation started and stopped a travel of its own, a step of one runner read the other
runner's virtual time, and a stop took the other's travel off time-machine's stack
(``docs/findings.md``, runner bug 32)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

import time_machine
from async_durable_execution import durable_execution, step, wait

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._service.execution import ExecutionStatus

#: Both runners' steps wait here, so that each reads its clock while the other's invocation
#: is under way.
_BOTH_IN_A_STEP = threading.Barrier(2, timeout=20)


async def _read_after_the_other_started() -> str:
    await asyncio.to_thread(_BOTH_IN_A_STEP.wait)
    return dt.datetime.now(dt.UTC).isoformat()


@durable_execution
async def reads_its_clock(event: Any) -> list[str]:
    first = await step(_read_after_the_other_started, name="first")
    await wait(3600, name="an hour")
    second = await step(_read_after_the_other_started, name="second")
    return [first, second]


def test_two_runners_on_two_threads_each_read_their_own_clock() -> None:
    starts = {
        "2020": dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        "2030": dt.datetime(2030, 6, 1, tzinfo=dt.UTC),
    }
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def drive(name: str) -> None:
        try:
            runner = DurableFunctionTestRunner(reads_its_clock, start_time=starts[name])
            results[name] = runner.run({}, timeout=30)
        except BaseException as exc:  # reported below, from the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=drive, args=(name,)) for name in starts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    for name, start in starts.items():
        result = results[name]
        assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
        first, second = (dt.datetime.fromisoformat(v) for v in result.result_value)
        assert start <= first < start + dt.timedelta(minutes=1), (name, first)
        assert second - first == dt.timedelta(hours=1), (name, first, second)
    # Both done: the process's clock is the real one again.
    assert not time_machine.escape_hatch.is_travelling()
