"""Correct handlers at production scale (the session-25 false-flag audit K: the habits of
the earlier corpora, at the sizes real workloads reach).

The earlier corpora keep to maps of up to ~120 items and executions of a few dozen
operations. These are the same correct habits at the sizes production reaches:

- a ``map`` over 1,000 records, 50 at a time, with a failure tolerance (a few records are
  malformed), and a final wait so that the next invocation reads more operations than one
  page of state holds (the SDK then pages through ``GetDurableExecutionState``);
- a ``map`` of 300 orders whose items each run three steps (fetch, price, store);
- a ledger replayed entry by entry: 400 sequential steps, with a wait every 100 (so each
  invocation after the first replays the steps before it);
- a daily job over 200 days: a step and a one-day durable ``wait`` per day (201
  invocations, an execution time-out of 202 days);
- child contexts nested ten deep, a step and a wait at every level;
- a ``parallel`` of 50 branches, each a child context running five steps;
- 200 steps returning about 10 KB each (about 2 MB of checkpointed results, all in the
  state every invocation after the wait reads);
- a ``wait_for_condition`` polled 300 times, a minute apart;
- an execution retried over weeks of virtual time: a partner that is down for two weeks,
  reached by steps backing off up to a day, six in a row (over 100 invocations).

Every handler takes its size from its input (``{"n": ...}``), so the tests run them small
and the campaigns at the sizes above. Why these are correct: every durable call has a name
and a position that do not depend on time or on what ran before, results are plain JSON
under every limit (SDK findings 2 and 11), and waits and back-offs fit the execution
time-out each entry sets. What is not done here: a single step result near the batcher's
limit (``payloads.py``), and ``map`` items over 256 KiB (SDK finding 11).

What they cost, fault-free, is measured in ``docs/findings.md`` (the traps): every entry
runs in under 1.5 s, but a ``map`` costs time quadratic in its items (SDK finding 13: 10,000
records outlive the scenario's wall-clock budget, ``durable_scenarios(timeout=...)``), and
work spread over n invocations is replayed in each (n^2: the daily job over a year takes
two thirds of the 10 s on a loaded machine).
"""

from __future__ import annotations

import hashlib
from typing import Any

from async_durable_execution import (
    CompletionConfig,
    JitterStrategy,
    RetryStrategy,
    durable_execution,
    get_step_context,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_condition,
)
from async_durable_execution import map as durable_map

DAY = 86_400


async def _value(value: Any) -> Any:
    return value


class MalformedRecord(Exception):
    """A record the business rejects (not retried)."""


# --- a map over 1,000 records -----------------------------------------------------------------


async def _validate(record: int) -> int:
    async def body() -> int:
        if record % 97 == 96:
            msg = f"record {record} is malformed"
            raise MalformedRecord(msg)
        return record * 3

    return await step(body, name="validate", retry_strategy=RetryStrategy.none())


@durable_execution
async def bulk_map(event: Any) -> dict[str, Any]:
    """``n`` records (1,000), 50 at a time; up to 2 % malformed ones tolerated. An hour's wait
    after the map makes the next invocation read every operation (two per record), over
    one page of state."""
    n = int(event["n"])
    batch = await durable_map(
        _validate,
        list(range(n)),
        name="records",
        max_concurrency=50,
        completion_config=CompletionConfig(tolerated_failure_count=n // 50),
    )
    failed = sorted(item.index for item in batch.all if item.error is not None)
    await wait(3600, name="settle")
    total = await step(lambda: _value(sum(r for r in batch.get_results() if r is not None)))
    return {"reason": batch.completion_reason.value, "failed": failed, "total": total}


# --- a map whose items run three steps each ----------------------------------------------------


async def _order(order: int) -> str:
    fetched = await step(lambda: _value({"id": order, "qty": order % 5 + 1}), name="fetch")
    price = await step(lambda: _value(fetched["qty"] * 250), name="price")
    return str(await step(lambda: _value(f"order-{order}:{price}"), name="store"))


@durable_execution
async def map_three_steps(event: Any) -> dict[str, Any]:
    """``n`` orders (300), 20 at a time, each fetched, priced and stored in three steps."""
    batch = await durable_map(
        _order, list(range(int(event["n"]))), name="orders", max_concurrency=20
    )
    results = batch.get_results()
    return {"count": len(results), "last": results[-1], "ok": batch.success_count}


# --- a ledger replayed entry by entry ----------------------------------------------------------


def _entry(i: int) -> int:
    return (i * 7919) % 1000 - 400


@durable_execution
async def ledger_replay(event: Any) -> dict[str, Any]:
    """``n`` ledger entries (400) applied one step each, a running balance carried from one
    step's result to the next; a wait every 100 entries (a nightly pause of the migration)."""
    balance = 0
    for i in range(int(event["n"])):
        balance = await step(lambda b=balance, i=i: _value(b + _entry(i)), name=f"entry-{i}")
        if i % 100 == 99:
            await wait(60, name=f"pause-{i // 100}")
    return {"balance": balance}


# --- a daily job over 200 days -----------------------------------------------------------------


@durable_execution
async def daily_job(event: Any) -> dict[str, Any]:
    """``days`` days (200): each day a report step and a one-day durable wait."""
    reports = 0
    for day in range(int(event["days"])):
        reports += await step(lambda d=day: _value(d % 3), name=f"report-{day}")
        await wait(DAY, name=f"sleep-{day}")
    return {"reports": reports}


# --- child contexts nested ten deep ------------------------------------------------------------


async def _level(depth: int, limit: int) -> int:
    here = await step(lambda: _value(depth), name=f"at-{depth}")
    await wait(1, name=f"breathe-{depth}")
    if depth == limit:
        return here
    below = await run_in_child_context(lambda: _level(depth + 1, limit), name=f"level-{depth + 1}")
    return here + below


@durable_execution
async def deep_nesting(event: Any) -> dict[str, Any]:
    """Child contexts ``depth`` (10) deep, a step and a one-second wait at every level."""
    depth = int(event["depth"])
    total = await run_in_child_context(lambda: _level(1, depth), name="level-1")
    return {"sum": total}


# --- a parallel of 50 branches of five steps ---------------------------------------------------


async def _branch(b: int) -> int:
    async def five() -> int:
        total = 0
        for s in range(5):
            total += await step(lambda s=s: _value(b * 10 + s), name=f"s{s}")
        return total

    return int(await run_in_child_context(five, name=f"work-{b}"))


@durable_execution
async def wide_parallel(event: Any) -> dict[str, Any]:
    """``n`` branches (50), each a child context of five steps, 10 at a time."""
    branches = [lambda b=b: _branch(b) for b in range(int(event["n"]))]
    batch = await parallel(branches, name="fan-out", max_concurrency=10)
    return {"sum": sum(batch.get_results()), "ok": batch.success_count}


# --- 200 steps of about 10 KB each ---------------------------------------------------------------


def _page_text(i: int) -> str:
    seed = hashlib.sha256(str(i).encode()).hexdigest()
    return (seed * (10_000 // len(seed) + 1))[:10_000]


@durable_execution
async def large_state(event: Any) -> dict[str, Any]:
    """``n`` steps (200) returning about 10 KB of text each, then a wait: the next
    invocation reads about 2 MB of results back, and the handler hashes them all."""
    pages = [
        await step(lambda i=i: _value(_page_text(i)), name=f"page-{i}")
        for i in range(int(event["n"]))
    ]
    await wait(60, name="cool-down")
    digest = hashlib.sha256("".join(pages).encode()).hexdigest()[:16]
    recorded = await step(lambda: _value(digest), name="digest")
    return {"pages": len(pages), "bytes": sum(len(p) for p in pages), "digest": recorded}


# --- a wait_for_condition polled 300 times -------------------------------------------------------


async def _poll(state: Any) -> Any:
    return {"polls": (state or {}).get("polls", 0) + 1}


def _until(limit: int) -> Any:
    def strategy(state: Any, attempt: int) -> int | None:
        return None if state["polls"] >= limit else 60

    return strategy


@durable_execution
async def long_poll(event: Any) -> dict[str, Any]:
    """A ``wait_for_condition`` polled ``polls`` (300) times, a minute apart."""
    done = await wait_for_condition(
        _poll, name="export-ready", polling_strategy=_until(int(event["polls"]))
    )
    return {"polls": done["polls"]}


# --- retried over weeks --------------------------------------------------------------------------


class PartnerDown(Exception):
    """The partner's API is down (retried)."""


def _until_attempt(ok_from: int, call: str) -> Any:
    async def body() -> str:
        attempt = get_step_context().attempt or 1
        if attempt < ok_from:
            msg = f"partner down (attempt {attempt})"
            raise PartnerDown(msg)
        return f"{call}@{attempt}"

    return body


#: Hours to a day between attempts, no jitter: a partner's outage of days is sat out.
SLOW_BACKOFF = RetryStrategy(
    max_attempts=30,
    initial_delay=3600,
    max_delay=DAY,
    backoff_rate=2,
    jitter_strategy=JitterStrategy.NONE,
)


@durable_execution
async def retried_for_weeks(event: Any) -> dict[str, Any]:
    """``calls`` (6) partner calls in a row, each failing for its first ``fails`` (18)
    attempts (hours, then a day apart: about two weeks per call), so the execution runs for
    weeks of virtual time over a hundred invocations."""
    results = [
        await step(
            _until_attempt(int(event["fails"]) + 1, f"call-{c}"),
            name=f"call-{c}",
            retry_strategy=SLOW_BACKOFF,
        )
        for c in range(int(event["calls"]))
    ]
    return {"results": results}


#: Every handler of this corpus at production size, with what its scenarios need (the shape
#: of ``habits.CORPUS``).
CORPUS: dict[str, dict[str, Any]] = {
    "bulk_map": {"handler": bulk_map, "input": {"n": 1000}},
    "map_three_steps": {"handler": map_three_steps, "input": {"n": 300}},
    "ledger_replay": {"handler": ledger_replay, "input": {"n": 400}},
    "daily_job": {"handler": daily_job, "input": {"days": 200}, "execution_timeout": 202 * DAY},
    "deep_nesting": {"handler": deep_nesting, "input": {"depth": 10}},
    "wide_parallel": {"handler": wide_parallel, "input": {"n": 50}},
    "large_state": {"handler": large_state, "input": {"n": 200}},
    "long_poll": {"handler": long_poll, "input": {"polls": 300}},
    "retried_for_weeks": {
        "handler": retried_for_weeks,
        "input": {"calls": 6, "fails": 18},
        "execution_timeout": 120 * DAY,
    },
}

#: The same entries at the smallest sizes that keep their shape (the suite's default).
SMALL: dict[str, dict[str, Any]] = {
    "bulk_map": {"n": 60},
    "map_three_steps": {"n": 12},
    "ledger_replay": {"n": 200},
    "daily_job": {"days": 5},
    "deep_nesting": {"depth": 10},
    "wide_parallel": {"n": 6},
    "large_state": {"n": 5},
    "long_poll": {"polls": 5},
    "retried_for_weeks": {"calls": 2, "fails": 3},
}
