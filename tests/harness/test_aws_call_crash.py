"""``aws_call_crash``: the sandbox dies right after a step body's n-th AWS call is answered,
between two calls the body makes without waiting, where no other fault kind reaches; and
``aws_call_timeout``: the call is done, and the body gets a read time-out instead of its
answer."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import fake_dynamodb
import pytest
from async_durable_execution import durable_callable, durable_execution, step
from botocore.exceptions import BotoCoreError, ClientError

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner._harness.faults.aws_calls import watch_aws_calls
from async_durable_execution_runner.scenarios import (
    Scenario,
    aws_call_crash,
    aws_call_timeout,
    crash,
    invocation_lost,
)

TABLE = fake_dynamodb.client()
EXAMPLES = Path(fake_dynamodb.__file__).resolve().parent


def _put(key: str) -> None:
    TABLE.put_item(TableName="t", Item={"pk": {"S": key}})


@durable_callable
async def three_puts(prefix: str) -> str:
    for n in (1, 2, 3):
        _put(f"{prefix}-{n}")
    return prefix


@durable_execution
async def writes_three(event: Any) -> str:
    return await step(three_puts("a"), name="writes")


def test_the_sandbox_dies_once_the_nth_call_is_answered() -> None:
    outcome = Scenario(
        handler=writes_three,
        faults=(aws_call_crash(step=1, call=2),),
        before_run=fake_dynamodb.reset,
    ).run()
    assert outcome.faults_applied == (aws_call_crash(step=1, call=2),)
    # The first invocation made two calls and died; the second ran the attempt again.
    assert [("PutItem", "t", f"a-{n}") for n in (1, 2, 1, 2, 3)] == fake_dynamodb.REQUESTS
    first = outcome.invocations[0]
    assert first.error_type == "Runtime.ExitError"
    assert "injected aws_call_crash(step=1, attempt=1, call=2)" in (first.error_message or "")
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED
    outcome.check()


def test_a_body_with_fewer_calls_is_no_point_for_it() -> None:
    outcome = Scenario(
        handler=writes_three,
        faults=(aws_call_crash(step=1, call=4),),
        before_run=fake_dynamodb.reset,
    ).run()
    assert outcome.faults_applied == ()
    assert len(outcome.invocations) == 1


def _watched(body: Any, at_call: Any) -> Any:
    return watch_aws_calls(at_call).wrap(body)


def test_calls_are_counted_in_the_watched_body_only() -> None:
    seen: list[int] = []

    async def body() -> None:
        _put("inside-1")
        with pytest.raises(ClientError):  # an error answer is an answer: counted
            TABLE.put_item(
                TableName="t",
                Item={"pk": {"S": "inside-1"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        # ``asyncio.to_thread`` runs the call in a copy of the body's context: the body's.
        await asyncio.to_thread(_put, "to_thread")
        async with fake_dynamodb.aio_client() as table:  # aiobotocore's calls, awaited
            await table.get_item(TableName="t", Key={"pk": {"S": "inside-1"}})

    fake_dynamodb.reset()
    asyncio.run(_watched(body, seen.append)())
    _put("outside")
    assert seen == [1, 2, 3, 4]
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == [
        "inside-1",
        "inside-1",
        "to_thread",
        "inside-1",
        "outside",
    ]


def test_calls_on_threads_the_body_hands_work_to_are_the_bodys() -> None:
    """Threads do not inherit a context: the work a body hands to ``run_in_executor``, to a
    pool or to a thread of its own is the body's all the same (its sandbox's, on Lambda)."""
    seen: list[int] = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    class Exporter(threading.Thread):  # a subclass with its own ``run``
        def run(self) -> None:
            _put("subclass")

    async def body() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _put, "default executor")
        await loop.run_in_executor(pool, _put, "own pool")
        list(pool.map(_put, ["pool map"]))
        thread = threading.Thread(target=_put, args=("raw thread",))
        thread.start()
        thread.join()
        exporter = Exporter()
        exporter.start()
        exporter.join()

    fake_dynamodb.reset()
    asyncio.run(_watched(body, seen.append)())
    # The pool's thread, started inside the body, is not the body's: what it runs for others
    # afterwards is theirs.
    pool.submit(_put, "pool, after the body").result()
    pool.shutdown()
    assert seen == [1, 2, 3, 4, 5]
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == [
        "default executor",
        "own pool",
        "pool map",
        "raw thread",
        "subclass",
        "pool, after the body",
    ]


def test_a_thread_the_body_left_running_calls_on_its_own_account() -> None:
    seen: list[int] = []
    go_on = threading.Event()

    def later() -> None:
        go_on.wait(timeout=10)
        _put("after the body")

    left: list[threading.Thread] = []

    async def body() -> None:
        left.append(threading.Thread(target=later))
        left[0].start()
        _put("in the body")

    fake_dynamodb.reset()
    asyncio.run(_watched(body, seen.append)())
    go_on.set()
    left[0].join(timeout=10)
    assert seen == [1]
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == ["in the body", "after the body"]


def test_what_the_watcher_raises_replaces_the_answer() -> None:
    class Died(BaseException):
        pass

    def at_call(n: int) -> None:
        if n == 1:
            raise Died

    async def body() -> str:
        _put("first")
        _put("second")  # never made
        return "done"

    fake_dynamodb.reset()
    with pytest.raises(Died):
        asyncio.run(_watched(body, at_call)())
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == ["first"]


def test_no_call_of_the_body_leaves_once_the_watcher_stopped_it() -> None:
    class Died(BaseException):
        pass

    def at_call(n: int) -> None:
        if n == 1:
            raise Died

    async def body() -> None:
        with pytest.raises(Died):  # (a body cannot catch a dead sandbox: this one tries)
            await asyncio.to_thread(_put, "first")
        with pytest.raises(asyncio.CancelledError, match="stopped after its AWS call 1"):
            await asyncio.to_thread(_put, "second")
        async with fake_dynamodb.aio_client() as table:
            with pytest.raises(asyncio.CancelledError):
                await table.put_item(TableName="t", Item={"pk": {"S": "third"}})

    fake_dynamodb.reset()
    asyncio.run(_watched(body, at_call)())
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == ["first"]


@durable_callable
async def three_puts_on_threads(prefix: str) -> str:
    for n in (1, 2, 3):
        await asyncio.to_thread(_put, f"{prefix}-{n}")
    return prefix


@durable_execution
async def writes_three_on_threads(event: Any) -> str:
    return await step(three_puts_on_threads("a"), name="writes")


@durable_callable
async def three_async_puts(prefix: str) -> str:
    async with fake_dynamodb.aio_client() as table:
        for n in (1, 2, 3):
            await table.put_item(TableName="t", Item={"pk": {"S": f"{prefix}-{n}"}})
    return prefix


@durable_execution
async def writes_three_async(event: Any) -> str:
    return await step(three_async_puts("a"), name="writes")


@durable_callable
async def three_puts_in_executor(prefix: str) -> str:
    loop = asyncio.get_running_loop()
    for n in (1, 2, 3):
        await loop.run_in_executor(None, _put, f"{prefix}-{n}")
    return prefix


@durable_execution
async def writes_three_in_executor(event: Any) -> str:
    return await step(three_puts_in_executor("a"), name="writes")


def _three_puts_then_mark(prefix: str, done: list[str]) -> None:
    for n in (1, 2, 3):
        _put(f"{prefix}-{n}")
    done.append(prefix)


@durable_callable
async def three_puts_on_own_thread(prefix: str) -> str:
    done: list[str] = []
    thread = threading.Thread(target=_three_puts_then_mark, args=(prefix, done))
    thread.start()
    while thread.is_alive():  # (a dead sandbox's thread ends with it: this never spins)
        await asyncio.sleep(0.001)
    if not done:
        raise RuntimeError("the writer thread did not finish")
    return prefix


@durable_execution
async def writes_three_on_own_thread(event: Any) -> str:
    return await step(three_puts_on_own_thread("a"), name="writes")


WRITERS = [
    writes_three_on_threads,
    writes_three_async,
    writes_three_in_executor,
    writes_three_on_own_thread,
]
WRITER_IDS = ["to_thread", "aiobotocore", "run_in_executor", "own thread"]


@pytest.mark.parametrize("handler", WRITERS, ids=WRITER_IDS)
def test_it_lands_on_calls_from_threads_and_async_clients(
    handler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = Scenario(
        handler=handler,
        faults=(aws_call_crash(step=1, call=2),),
        before_run=fake_dynamodb.reset,
    ).run()
    assert outcome.faults_applied == (aws_call_crash(step=1, call=2),)
    assert [("PutItem", "t", f"a-{n}") for n in (1, 2, 1, 2, 3)] == fake_dynamodb.REQUESTS
    assert outcome.invocations[0].error_type == "Runtime.ExitError"
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED
    outcome.check()
    # A thread of a dead sandbox ends without a word (no "Exception in thread ...").
    assert "Exception in thread" not in capsys.readouterr().err


@pytest.mark.parametrize("handler", WRITERS, ids=WRITER_IDS)
def test_crash_points_include_calls_from_threads_and_async_clients(handler: Any) -> None:
    report = Scenario(handler=handler, before_run=fake_dynamodb.reset).crash_points()
    assert {aws_call_crash(step=1, call=n) for n in (1, 2, 3)} <= set(report.points), report.points


def test_the_clients_private_call_points_are_still_there() -> None:
    """The watcher wraps botocore's and aiobotocore's ``_make_api_call``: a release that
    renames them, or changes what they take, must fail here, not leave the fault inert."""
    import inspect

    from aiobotocore.client import AioBaseClient
    from botocore.client import BaseClient

    for client_class in (BaseClient, AioBaseClient):
        assert "_make_api_call" in vars(client_class), client_class
    assert list(inspect.signature(BaseClient._make_api_call).parameters) == [
        "self",
        "operation_name",
        "api_params",
    ]
    original = inspect.unwrap(vars(AioBaseClient)["_make_api_call"])
    assert list(inspect.signature(original).parameters) == [
        "self",
        "operation_name",
        "api_params",
    ]


def test_a_body_that_imports_aiobotocore_itself_is_watched_from_its_first_call() -> None:
    # A fresh interpreter, where aiobotocore is first imported inside the watched body.
    script = textwrap.dedent(
        """
        import asyncio, sys
        from async_durable_execution_runner._harness.faults.aws_calls import watch_aws_calls
        assert "aiobotocore.client" not in sys.modules
        seen = []

        async def body():
            import fake_dynamodb
            async with fake_dynamodb.aio_client() as table:
                await table.put_item(TableName="t", Item={"pk": {"S": "a"}})

        asyncio.run(watch_aws_calls(seen.append).wrap(body)())
        print(seen)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLES), *sys.path])},
        timeout=120,
    )
    assert done.stdout.strip() == "[1]", done.stderr


CAUGHT: list[str] = []


@durable_callable
async def puts_on_threads_catching(prefix: str) -> str:
    try:
        for n in (1, 2):
            await asyncio.to_thread(_put, f"{prefix}-{n}")
    except Exception as error:  # a dead sandbox runs none of this
        CAUGHT.append(repr(error))
    return prefix


@durable_execution
async def catches_on_threads(event: Any) -> str:
    return await step(puts_on_threads_catching("a"), name="writes")


def test_a_crash_on_a_body_thread_stops_the_body_as_one_on_its_own_thread() -> None:
    CAUGHT.clear()
    outcome = Scenario(
        handler=catches_on_threads,
        faults=(aws_call_crash(step=1, call=1),),
        before_run=fake_dynamodb.reset,
    ).run()
    assert outcome.faults_applied == (aws_call_crash(step=1, call=1),)
    assert CAUGHT == []
    assert [("PutItem", "t", f"a-{n}") for n in (1, 1, 2)] == fake_dynamodb.REQUESTS
    outcome.check()


# --- aws_call_timeout: the call was done, and its answer never came -------------------------

TIMEOUTS: list[str] = []


@durable_callable
async def puts_through_timeouts(prefix: str) -> str:
    for n in (1, 2, 3):
        try:
            await asyncio.to_thread(_put, f"{prefix}-{n}")
        except BotoCoreError as error:  # the sandbox lives on: the body sees the error
            TIMEOUTS.append(type(error).__name__)
    return prefix


@durable_execution
async def writes_through_timeouts(event: Any) -> str:
    return await step(puts_through_timeouts("a"), name="writes")


def test_a_timed_out_call_was_done_and_the_body_goes_on() -> None:
    TIMEOUTS.clear()
    outcome = Scenario(
        handler=writes_through_timeouts,
        faults=(aws_call_timeout(step=1, call=2),),
        before_run=fake_dynamodb.reset,
    ).run()
    assert outcome.faults_applied == (aws_call_timeout(step=1, call=2),)
    assert TIMEOUTS == ["ReadTimeoutError"]
    # The second write was done all the same, and the third call went out: one invocation.
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == ["a-1", "a-2", "a-3"]
    assert len(outcome.invocations) == 1
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED
    outcome.check()


def test_a_timed_out_call_the_body_lets_out_fails_the_attempt() -> None:
    outcome = Scenario(
        handler=writes_three_async,
        faults=(aws_call_timeout(step=1, call=1),),
        before_run=fake_dynamodb.reset,
    ).run()
    assert outcome.faults_applied == (aws_call_timeout(step=1, call=1),)
    failed = [e for e in outcome.history if e["EventType"] == "StepFailed"]
    assert (
        failed
        and "ReadTimeoutError" in failed[0]["StepFailedDetails"]["Error"]["Payload"]["ErrorType"]
    )
    # Attempt 1 wrote a-1 and timed out; the retry wrote all three.
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == ["a-1", "a-1", "a-2", "a-3"]
    outcome.check()


def test_a_baseline_meets_the_time_out_its_recorded_run_met() -> None:
    # A masked fault beside it (the first invocation's response lost): the fault-tolerance
    # oracle's baseline runs the body of the attempt that timed out again, and must meet the
    # same time-out there, or it would take the body's error for one the masked fault caused.
    outcome = Scenario(
        handler=writes_three,
        faults=(invocation_lost(invocation=1), aws_call_timeout(step=1, call=1)),
        before_run=fake_dynamodb.reset,
    ).run()
    assert set(outcome.faults_applied) == {
        invocation_lost(invocation=1),
        aws_call_timeout(step=1, call=1),
    }
    outcome.check()


# --- a burst of time-outs: an outage with a length ------------------------------------------

TRIES: list[str] = []


def _put_retrying(key: str, tries: int) -> None:
    # The body's own retries on top of boto3's: one time-out is absorbed, an outage is not.
    for _ in range(tries - 1):
        try:
            _put(key)
        except BotoCoreError as error:
            TRIES.append(type(error).__name__)
            continue
        return
    _put(key)


@durable_callable
async def puts_with_own_retries(prefix: str) -> str:
    for n in (1, 2):
        _put_retrying(f"{prefix}-{n}", tries=2)
    return prefix


@durable_execution
async def writes_with_own_retries(event: Any) -> str:
    return await step(puts_with_own_retries("a"), name="writes")


def test_a_burst_of_time_outs_hits_consecutive_calls_of_one_attempt() -> None:
    TRIES.clear()
    one = Scenario(
        handler=writes_with_own_retries,
        faults=(aws_call_timeout(step=1, call=1),),
        before_run=fake_dynamodb.reset,
    ).run()
    # One time-out: the body's own retry absorbs it, and the attempt succeeds.
    assert TRIES == ["ReadTimeoutError"]
    assert len(one.invocations) == 1
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == ["a-1", "a-1", "a-2"]
    one.check()

    TRIES.clear()
    burst = aws_call_timeout(step=1, call=1, times=2)
    assert repr(burst) == "aws_call_timeout(step=1, attempt=1, call=1, times=2)"
    two = Scenario(
        handler=writes_with_own_retries,
        faults=(burst,),
        before_run=fake_dynamodb.reset,
    ).run()
    # Two in a row: the body's retry meets the second and lets it out; the step's retry (a
    # new attempt) is past the outage.
    assert two.faults_applied == (burst,)
    assert TRIES == ["ReadTimeoutError"]
    failed = [e for e in two.history if e["EventType"] == "StepFailed"]
    assert len(failed) == 1
    assert [key for _, _, key in fake_dynamodb.REQUESTS] == ["a-1", "a-1", "a-1", "a-2"]
    assert two.execution_status is ExecutionStatus.SUCCEEDED
    two.check()


def test_a_placing_run_draws_bursts_of_time_outs_and_a_replay_meets_them_again() -> None:
    from hypothesis import HealthCheck, find, settings

    from async_durable_execution_runner.strategies import durable_scenarios, fault_plans

    found = find(
        durable_scenarios(
            writes_with_own_retries,
            faults=fault_plans(kinds={"aws_call_timeout"}),
            before_run=fake_dynamodb.reset,
        ),
        lambda s: any(getattr(f, "times", 1) > 1 for f in s.faults),
        settings=settings(
            max_examples=200,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    burst = next(f for f in found.faults if f.times > 1)
    placed = found.run()  # the scenario's own run meets the burst as the placing run did
    assert burst in placed.faults_applied
    placed.check()


def test_a_baseline_meets_a_burst_in_the_first_run_of_its_attempt_only() -> None:
    # Oracle bug 29: the attempt's body ran twice under the faults (a crash lost its
    # failure), and met the burst's first time-out in its first run only (the fault fires
    # once). The baseline, running the body twice under one watch, counted the second run's
    # first call as the burst's second and took the time-out there for a change the crash
    # made.
    outcome = Scenario(
        handler=writes_three,
        faults=(aws_call_timeout(step=1, call=1, times=2), crash(invocation=1, call=1)),
        before_run=fake_dynamodb.reset,
    ).run()
    assert set(outcome.faults_applied) == {
        aws_call_timeout(step=1, call=1, times=2),
        crash(invocation=1, call=1),
    }
    outcome.check()
