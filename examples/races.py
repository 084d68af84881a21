"""Correct handlers that race durable operations at the handler level (the session-23
false-flag audit H: races, time-outs and cancellation around durable operations).

``processes.py`` already has ``asyncio.as_completed``, ``asyncio.shield`` and an
``asyncio.wait(FIRST_COMPLETED)`` race inside a child context. These are the other shapes of
handler-level concurrency around durable calls:

- a top-level ``asyncio.gather`` of steps (some failing) and waits of different lengths, with
  each failure caught per call (what ``return_exceptions=True`` is for, without swallowing the
  SDK's suspension: SDK finding 10);
- durable operations started as ``asyncio.create_task`` tasks (and ``step()``'s own tasks)
  and awaited in another order than they were started;
- ``asyncio.wait(ALL_COMPLETED)`` over steps and waits, its results read in the order the
  tasks were made (which re-raises the suspension when a wait has not elapsed);
- a ``FIRST_COMPLETED`` race of a callback against a wait at the top of the handler whose
  winner is recorded in a step and whose loser is then awaited too (so nothing stays open);
- a ``parallel`` with ``min_successful`` whose early completion leaves a long wait and an
  unanswered callback behind;
- ``map`` inside ``parallel`` inside ``map``, every level with ``max_concurrency`` 1 or 2;
- a ``wait_for_condition``, a callback and a step gathered together;
- concurrent step/wait/step sequences, each in its own child context (in the handler's own
  context their later operations would be numbered in the order earlier ones complete);
- an ``asyncio.Semaphore`` bounding how many child contexts run at once, and an
  ``asyncio.Queue`` fed by step tasks.

Why these are correct: every durable call reserves its operation id when it is called
(``step()``, ``wait()``, ``run_in_child_context()`` ... return a task whose id was taken from
the context's counter synchronously), so ids follow the order of the calls in the code, not
the order the operations end. A coroutine wrapped in a task reserves its first operation when
the task first runs, and tasks first run in the order they were made. What is not done here:
a second durable call in the same context after an ``await`` inside concurrent coroutines
(its id would depend on which coroutine resumes first), ``asyncio.TaskGroup`` and
``gather(..., return_exceptions=True)`` around calls that may suspend (SDK finding 10), and a
race at the top of the handler whose loser is left open (a trap in ``docs/findings.md``).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable
from typing import Any, TypeVar

from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    RetryStrategy,
    create_callback,
    durable_execution,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
    wait_for_condition,
)
from async_durable_execution import map as durable_map

T = TypeVar("T")


async def _value(value: T) -> T:
    return value


async def _square(n: int) -> int:
    return n * n


class OutOfStock(Exception):
    """The business's own failure."""


async def _reserve(sku: int) -> int:
    if sku % 4 == 3:
        msg = f"sku {sku} is out of stock"
        raise OutOfStock(msg)
    return sku * 10 + random.randint(0, 0)


async def _settled(call: Awaitable[T]) -> T | str:
    """The call's result, or its ordinary error's type: ``return_exceptions=True`` for one
    call, letting the SDK's suspension (a ``BaseException``) through."""
    try:
        return await call
    except Exception as error:
        return error.error_type if isinstance(error, CallableRuntimeError) else type(error).__name__


# --- gather of steps and waits at the top level ---------------------------------------------


@durable_execution
async def gather_steps_and_waits(event: Any) -> dict[str, Any]:
    """Eight reservations (two fail for good) and three waits of different lengths gathered at
    the top of the handler; every failure is caught per call."""
    skus = list(range(8))
    results = await asyncio.gather(
        *(
            _settled(
                step(
                    lambda s=s: _reserve(s),
                    name=f"reserve-{s}",
                    retry_strategy=RetryStrategy.none(),
                )
            )
            for s in skus
        ),
        wait(5, name="settle-5"),
        wait(30, name="settle-30"),
        wait(1, name="settle-1"),
    )
    reserved = [r for r in results[: len(skus)] if isinstance(r, int)]
    failed = [r for r in results[: len(skus)] if isinstance(r, str)]
    total = await step(lambda: _value(sum(reserved)), name="total")
    return {"reserved": reserved, "failed": failed, "total": total}


# --- tasks awaited in another order than they were made -------------------------------------


async def _child_sum(values: list[int]) -> int:
    parts = [await step(lambda v=v: _square(v), name=f"sq-{v}") for v in values]
    await wait(2, name="child-pause")
    return sum(parts)


@durable_execution
async def tasks_out_of_order(event: Any) -> dict[str, Any]:
    """Steps, a wait and a child context started as tasks (``step()``'s own tasks and
    ``asyncio.create_task`` of coroutines whose first act is the durable call), then awaited
    last first."""
    first = step(lambda: _square(3), name="first")
    pause = asyncio.create_task(_settled(wait(20, name="pause")))
    child = asyncio.create_task(
        _settled(run_in_child_context(lambda: _child_sum([1, 2, 3]), name="child"))
    )
    last = asyncio.create_task(_settled(step(lambda: _square(7), name="last")))
    got_last = await last
    got_child = await child
    await pause
    got_first = await first
    after = await step(lambda: _value([got_first, got_child, got_last]), name="after")
    return {"values": after}


# --- asyncio.wait(ALL_COMPLETED), results read in creation order ---------------------------


@durable_execution
async def wait_all_completed(event: Any) -> dict[str, Any]:
    """``asyncio.wait`` (every task) over four steps and two waits; the results are read in
    the order the tasks were made, which re-raises the SDK's suspension while a wait is
    pending, so the invocation suspends."""
    tasks = [
        *(step(lambda i=i: _square(i), name=f"part-{i}") for i in range(4)),
        wait(15, name="cool-15"),
        wait(45, name="cool-45"),
    ]
    await asyncio.wait(tasks)
    for task in tasks:
        task.exception()  # every outcome seen (no "exception was never retrieved" at exit)
    values = [t.result() for t in tasks]
    return {"parts": values[:4]}


# --- a race at the top level, its loser awaited too ----------------------------------------


async def _ask() -> None:
    return None


@durable_execution
async def race_then_drain(event: Any) -> dict[str, Any]:
    """Race an approval (a callback answered by a partner) against a 60 s deadline with
    ``asyncio.wait(FIRST_COMPLETED)`` at the top of the handler; the winner is recorded in a
    step (live, the race's outcome; replayed, the recorded one), and then the loser is
    awaited too, so no operation stays open."""
    callback = await create_callback(name="approval", timeout=120)
    answer = asyncio.ensure_future(_settled(callback.result()))
    deadline = wait(60, name="deadline")
    pending: set[asyncio.Future[Any]] = {answer, deadline}
    winner = ""
    while not winner:
        _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        # Both may end in the same turn (and on a replay both are done): a fixed preference.
        for name, task in (("answer", answer), ("deadline", deadline)):
            if task.done() and isinstance(task.exception(), Exception | None):
                winner = name
                break
        else:
            if not pending:
                answer.result()  # every task suspended: suspend the invocation
                deadline.result()
    recorded = await step(lambda: _value(winner), name="winner")
    text = await answer  # the loser is awaited as well
    await deadline
    return {"winner": recorded, "answer": text if recorded == "answer" else None}


# --- parallel with min_successful leaves branches pending ----------------------------------


@durable_execution
async def quorum_leaves_pending(event: Any) -> dict[str, Any]:
    """Two of four branches are enough: two quick steps, a branch waiting an hour and a
    branch waiting for a partner's callback (which may come at once, or after an hour). The
    batch completes with the first two to succeed; the others stay open for good (the SDK
    abandons them)."""

    async def quick(n: int) -> int:
        return await step(lambda: _square(n), name=f"quick-{n}")

    async def slow() -> int:
        await wait(3600, name="slow-wait")
        return await step(lambda: _square(9), name="slow-step")

    async def silent() -> int:
        text = await wait_for_callback(_ask, name="silent", timeout=7200)
        return len(text or "")

    batch = await parallel(
        [lambda: quick(2), lambda: quick(3), slow, silent],
        name="quorum",
        completion_config=CompletionConfig(min_successful=2),
    )
    done = await step(lambda: _value(batch.success_count >= 2), name="quorum-reached")
    await wait(5, name="after-quorum")
    return {"quorum": done}


# --- map inside parallel inside map ---------------------------------------------------------


@durable_execution
async def nested_batches(event: Any) -> dict[str, Any]:
    """Three regions mapped one at a time; in each, a parallel of two shards one at a time;
    in each shard, a map of three items two at a time (one of them waits)."""

    async def item(n: int) -> int:
        if n % 3 == 0:
            await wait(2, name=f"item-wait-{n}")
        return await step(lambda: _square(n), name=f"item-{n}")

    async def shard(region: int, shard_no: int) -> int:
        base = region * 100 + shard_no * 10
        batch = await durable_map(
            item,
            [base + 1, base + 2, base + 3],
            name=f"items-{region}-{shard_no}",
            max_concurrency=2,
        )
        return sum(batch.get_results())

    async def region(r: int) -> int:
        batch = await parallel(
            [lambda: shard(r, 0), lambda: shard(r, 1)], name=f"shards-{r}", max_concurrency=1
        )
        return sum(batch.get_results())

    batch = await durable_map(region, [1, 2, 3], name="regions", max_concurrency=1)
    return {"regions": batch.get_results(), "total": sum(batch.get_results())}


# --- wait_for_condition, a callback and a step at once --------------------------------------


async def _advance(state: Any) -> Any:
    polls = (state or {}).get("polls", 0) + 1
    return {"polls": polls, "ready": polls >= 3}


def _every_ten_seconds(state: Any, attempt: int) -> int | None:
    return None if state and state["ready"] else 10


@durable_execution
async def condition_callback_step(event: Any) -> dict[str, Any]:
    """A ``wait_for_condition`` polling every 10 s, a partner's callback and a step, gathered
    together at the top of the handler."""

    async def answer() -> Any:
        callback = await create_callback(name="partner", timeout=600)
        try:
            return json.loads(await callback.result() or "null")
        except CallbackError as error:
            return type(error).__name__

    polled, partner, score = await asyncio.gather(
        wait_for_condition(_advance, name="poll", polling_strategy=_every_ten_seconds),
        answer(),
        step(lambda: _square(12), name="score"),
    )
    return {"polls": polled["polls"], "partner": partner, "score": score}


# --- concurrent sequences, each in its own child context ------------------------------------


async def _sequence(label: str, pause: int) -> str:
    first = await step(lambda: _value(f"{label}-a"), name="a")
    await wait(pause, name="pause")
    second = await step(lambda: _value(f"{label}-b"), name="b")
    return f"{first}+{second}"


@durable_execution
async def sequences_in_children(event: Any) -> dict[str, Any]:
    """Three step/wait/step sequences run at once with ``gather``, each in a child context,
    so that the ids of their later operations do not depend on which sequence resumes first
    (in the handler's own context they would)."""
    results = await asyncio.gather(
        *(
            run_in_child_context(lambda lab=lab, p=p: _sequence(lab, p), name=f"seq-{lab}")
            for lab, p in (("x", 30), ("y", 5), ("z", 12))
        )
    )
    return {"sequences": list(results)}


# --- a semaphore over child contexts, a queue fed by step tasks -----------------------------


@durable_execution
async def semaphore_children(event: Any) -> dict[str, Any]:
    """Six jobs, two at a time under an ``asyncio.Semaphore``: each job is a child context
    (its id taken when it is called, in order) that takes the semaphore before its own
    step and wait."""
    gate = asyncio.Semaphore(2)

    async def job(n: int) -> int:
        async with gate:
            value = await step(lambda: _square(n), name="work")
            await wait(n + 1, name="cool")
            return value

    results = await asyncio.gather(
        *(run_in_child_context(lambda n=n: job(n), name=f"job-{n}") for n in range(6))
    )
    return {"jobs": list(results)}


@durable_execution
async def queue_fan_in(event: Any) -> dict[str, Any]:
    """Five step tasks put their results on an ``asyncio.Queue`` as they end; a consumer
    adds them up (in whatever order they come) and the sum is recorded in a step. A producer
    whose step ends the invocation (the SDK's suspension for a retry, a throttled
    checkpoint) puts that on the queue too, and the consumer raises it: a consumer that only
    waited for values would wait for ever (the campaign's first version did)."""
    queue: asyncio.Queue[int | BaseException] = asyncio.Queue()

    async def produce(n: int) -> None:
        try:
            value = await step(lambda: _square(n), name=f"produce-{n}")
        except BaseException as error:
            await queue.put(error)
            raise
        await queue.put(value)

    producers = [asyncio.create_task(produce(n)) for n in range(5)]
    total = 0
    for _ in producers:
        item = await queue.get()
        if isinstance(item, BaseException):
            raise item
        total += item
    await asyncio.gather(*producers)
    recorded = await step(lambda: _value(total), name="record-sum")
    await wait(3, name="after-sum")
    return {"sum": recorded}


#: Every handler of this corpus, with what its scenarios need (the shape of
#: ``habits.CORPUS``).
CORPUS: dict[str, dict[str, Any]] = {
    "gather_steps_and_waits": {"handler": gather_steps_and_waits},
    "tasks_out_of_order": {"handler": tasks_out_of_order},
    "wait_all_completed": {"handler": wait_all_completed},
    "race_then_drain": {"handler": race_then_drain, "callbacks": {"approval": True}},
    "quorum_leaves_pending": {"handler": quorum_leaves_pending, "callbacks": {"silent": "late"}},
    "nested_batches": {"handler": nested_batches},
    "condition_callback_step": {
        "handler": condition_callback_step,
        "callbacks": {"partner": {"ok": 1}},
    },
    "sequences_in_children": {"handler": sequences_in_children},
    "semaphore_children": {"handler": semaphore_children},
    "queue_fan_in": {"handler": queue_fan_in},
}
