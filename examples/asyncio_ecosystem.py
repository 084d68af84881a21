"""Correct handlers that use asyncio's own tools inside step bodies and around durable
operations, as real async Python code does (the session-26 false-flag audit N).

``habits.asyncio_in_steps`` already has ``asyncio.gather``, ``wait_for`` and ``timeout`` in step
bodies that fall back; ``blocking.py`` has ``to_thread`` and ``run_in_executor``; ``races.py``
a semaphore over child contexts and a queue fed by step tasks; ``processes.py``
``as_completed`` and ``shield`` over steps; ``sandbox_lifecycle.py`` a module-level semaphore
and an async client bound to its loop. These are the other shapes:

- ``correlation_id``: a request-scoped ``contextvars.ContextVar`` set from the event's header
  at the handler's start and read in steps, in a child context, in ``parallel`` branches and
  ``map`` items, and in a blocking client's thread (``asyncio.to_thread`` and
  ``run_in_executor`` through ``contextvars.copy_context().run``, which carry it). Correct:
  the code that sets it runs on every invocation before any durable call, and every task
  (a step's, a branch's) copies the context it was made in;
- ``scoped_log_context``: a structlog-style ``bind()`` of log keys kept in a ``ContextVar``:
  the handler binds the order, each ``map`` item (nested and ``NestingType.FLAT``) and
  ``parallel`` branch binds its own keys, and steps log with what is bound. Each item binds
  before it logs, so what a sibling bound never shows;
- ``taskgroup_fanout``: an ``asyncio.TaskGroup`` inside one step body calling three
  partners at once, one of which refuses its first call: the group's ``ExceptionGroup`` is
  unwrapped (``except*``) into the partner's ``ConnectionError``, which the step's retry
  strategy retries;
- ``settled_enrichment``: ``asyncio.gather(..., return_exceptions=True)`` inside a step over
  best-effort lookups, a ``NotFound`` kept as ``None``, anything that is not an ``Exception``
  (a cancellation) raised;
- ``timeout_retried``: ``asyncio.timeout()`` bounding each partner call in a step, inside an
  ``asyncio.timeout_at`` budget for the whole step that is ``reschedule()``d after the first
  answer: a partner that stalls 30 s on its first call is a ``TimeoutError`` the step's retry
  strategy retries, far inside the function's timeout;
- ``async_pages``: an async generator paging a partner API (``async for``, closed early with
  ``contextlib.aclosing`` on a ``break``), and an async iterator class (``__aiter__`` /
  ``__anext__``), collecting pages into a step's result; a reset connection on page 2 fails
  the step, which pages again from the start;
- ``exit_stack_shards``: ``contextlib.AsyncExitStack`` opening a connection per shard (async
  context managers) in a step; a shard's dropped connection fails the step and the stack
  closes every connection it opened;
- ``queue_pipeline``: an ``asyncio.Queue(maxsize=2)`` producer (paging a partner) and two
  consumers in one step, in a ``TaskGroup``, one sentinel per consumer; the producer's failure
  cancels the consumers (the group), so nothing waits for ever;
- ``poll_thread_monotonic`` and ``poll_thread_wallclock``: a blocking job client that polls
  until the job is done, in ``asyncio.to_thread``, bounded by ``time.monotonic()`` and by
  ``time.time()``; the first job is stuck, the poll gives up and the step retries. Both are
  right on Lambda, where both clocks move (here the thread's sleeps move the handler's
  clock while the loop waits for it: runner bug 29);
- ``debounce_call_later``: a change feed debounced inside one step with
  ``loop.call_later`` (each change cancels and re-arms the timer) and an ``asyncio.Event`` the
  last flush sets;
- ``shielded_commit``: ``asyncio.shield`` around a ledger commit inside a step, under
  ``asyncio.timeout``: a slow commit is logged and then awaited, never cancelled half-way;
- ``semaphore_per_invocation``: an ``asyncio.Semaphore(2)`` made in the handler (so on the
  invocation's loop, every invocation) bounding the partner calls of a ``map``'s step bodies;
- ``hedged_read``: a read hedged across two replicas inside a step: the secondary is asked
  when the primary has not answered in 0.3 s, the first answer wins
  (``asyncio.wait(FIRST_COMPLETED)``), the loser is cancelled and releases its lease in
  ``except asyncio.CancelledError: ...; raise``;
- ``as_completed_quorum``: ``asyncio.as_completed`` over five partners' quotes inside a step,
  the first three answers within a budget taken and the rest cancelled, the median recorded;
- ``correlation_in_callbacks``: the correlation id of ``correlation_id`` read in a
  ``wait_for_callback`` submitter (sent with the ticket) and a ``wait_for_condition`` check;
- ``session_around_workflow``: the whole workflow inside an ``async with`` of an
  ``aiohttp``-style session, whose steps use it: each suspension (a wait) leaves the block
  and closes it, and the next invocation opens its own;
- ``async_generator_batches``: an ``async for`` over an async generator of batches (in
  ``contextlib.aclosing``) driving a step and a wait per batch: the generator is made again
  from the input on every replay, and closed when a wait suspends the invocation;
- ``single_flight_token``: ``parallel`` branches whose step bodies share a bearer token that
  the first to need it fetches under an ``asyncio.Lock`` (made, with its cache, by the
  invocation): a step replayed from its checkpoint fetches nothing, so whichever runs first
  in an invocation fetches it.

- ``thread_call_bounded``: a blocking client's call in ``asyncio.to_thread`` under
  ``asyncio.wait_for`` (half a second; the first call stalls 20 s), so the stall is a step
  failure the step retries;
- ``silent_peer_bounded``: a socket read from a partner that accepts and says nothing,
  bounded by ``asyncio.wait_for``, then a fallback. (Both hung here until runner bug 29:
  the loop's timers did not come due while it waited for a thread or a socket.)
- ``thread_callback_event``: a transfer library's own thread reporting completion through
  ``loop.call_soon_threadsafe`` to an ``asyncio.Event`` awaited under a 30 s bound (the
  transfer takes 50 ms). (Until runner bug 30 the loop, knowing of no thread, jumped over
  the bound at once and every attempt timed out.)
- ``monotonic_deadlines``: ``timeout_retried`` with its deadlines taken from
  ``time.monotonic()`` and handed to the loop (``asyncio.timeout_at``, ``loop.call_at``),
  which is right on Lambda's loop, whose clock is ``time.monotonic()``. (Until runner bug 35
  the virtual loop counted from 0: the deadlines lay hours ahead, the stall ran its 30 s and
  the step never retried.)
- ``pool_callback_uploads``: a ``map`` whose items upload through a thread pool the handler
  made at import, each hearing back from its job through the job's done callback
  (``loop.call_soon_threadsafe`` to an ``asyncio.Event`` under a 30 s bound); the larger
  files come first, so the jobs end in reverse. (Until runner bug 45 the loop, knowing of no
  job, jumped over the bound at once; and the jobs' race then decided the map's history.)
- ``thread_per_item_uploads``: the same ``map`` through a transfer library that starts a
  thread per transfer, which reports through ``loop.call_soon_threadsafe``. (Until runner
  bug 47 the threads' race decided the map's history: the order they ended in, and for six
  transfers of the same length 19 orders of events in 20 runs.)
- ``module_worker_uploads``: uploads through a client made at import whose worker thread,
  fed through a ``queue.Queue``, hands each result back through
  ``loop.call_soon_threadsafe`` under a 30 s bound. (Until runner bug 48 the loop, knowing
  of no thread at work, jumped over the bound at once, and every attempt timed out.)
- ``producer_deliveries``: publishes through a producer made on first use whose sender
  thread, fed through a ``queue.SimpleQueue``, reports each delivery through
  ``loop.call_soon_threadsafe`` under a 30 s bound; the last message is sent from a later
  invocation than the one that made it. (Until runner bug 52 the loop, which no wake of a
  ``SimpleQueue`` reached, jumped over the bound at once there.)
- ``legacy_pool_prices``: prices through a ``multiprocessing.pool.ThreadPool`` made on first
  use, whose result callbacks report through ``loop.call_soon_threadsafe`` under a 30 s
  bound; one price is asked again from a later invocation than the one that made the pool.
  (Until runner bug 53 the worker the pool's task handler passed the job to was not counted,
  and the loop jumped over the bound at once there.)

Every one is correct durable code under Lambda's semantics: what runs outside steps is the
same on every replay; a step body may run more than once (a crash, a duplicate delivery, a
retry) and the services answer from the call's arguments; results are JSON. The wrong twins
(a correlation id drawn at the handler's start, a page cursor advanced from inside a step
body, a ``queue.join()`` whose workers die before ``task_done()``, a timeout written in
milliseconds, a ``TaskGroup`` whose ``ExceptionGroup`` the retry strategy does not retry)
are in ``tests/harness/asyncio_ecosystem_handlers.py``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import queue
import statistics
import threading
import time
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import asyncio_ecosystem_services as services
from async_durable_execution import (
    NestingType,
    RetryStrategy,
    durable_execution,
    get_wait_for_callback_context,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
    wait_for_condition,
)
from async_durable_execution import map as durable_map

log = logging.getLogger("asyncio_ecosystem")

#: A partner that refuses now and then: four attempts, 1 s then 2 s then 4 s apart.
FLAKY = RetryStrategy(
    max_attempts=4, initial_delay=1, backoff_rate=2, retryable_error_types=[ConnectionError]
)
#: A partner that can stall: a timed-out call is retried.
STALLS = RetryStrategy(
    max_attempts=4, initial_delay=2, backoff_rate=2, retryable_error_types=[TimeoutError]
)


async def _value(value: Any) -> Any:
    return value


# --- a request-scoped correlation id in a ContextVar -----------------------------------------

CORRELATION: ContextVar[str | None] = ContextVar("correlation_id", default=None)


async def _quote(partner: str, sku: str) -> dict[str, Any]:
    cents = await services.PARTNERS.quote(partner, sku, CORRELATION.get())
    return {"partner": partner, "cents": cents, "correlation": CORRELATION.get()}


def _send(key: str) -> str:
    """A blocking client (a thread) that sends the correlation id as a header."""
    return services.PARTNERS.send_blocking(key, CORRELATION.get())


async def _notify(key: str) -> dict[str, Any]:
    sent = await asyncio.to_thread(_send, key)  # to_thread copies the context
    loop = asyncio.get_running_loop()
    # run_in_executor does not: the context is handed over by hand, as users learn to.
    copied = await loop.run_in_executor(None, contextvars.copy_context().run, _send, f"{key}-b")
    return {"sent": [sent, copied], "correlation": CORRELATION.get()}


@durable_execution
async def correlation_id(event: Any) -> dict[str, Any]:
    """Quote an order at three partners with the caller's correlation id on every call (in a
    step, a child context, ``parallel`` branches, ``map`` items and a blocking client's
    thread), wait for the quotes to settle, notify the cheapest."""
    CORRELATION.set(event["headers"]["x-correlation-id"])
    sku = event["sku"]
    first = await step(functools.partial(_quote, "acme", sku), name="quote-acme")

    async def audited() -> str | None:
        return await step(lambda: _value(CORRELATION.get()), name="audit-id")

    audit = await run_in_child_context(audited, name="audit")

    def branch(partner: str) -> Any:
        async def quoted() -> dict[str, Any]:
            return await step(functools.partial(_quote, partner, sku), name=f"quote-{partner}")

        return quoted

    others = await parallel([branch(p) for p in ("globex", "initech")], name="others")

    async def item(partner: str) -> dict[str, Any]:
        return await step(functools.partial(_quote, partner, f"{sku}-alt"), name=f"alt-{partner}")

    alternates = await durable_map(item, ["acme", "umbrella"], name="alternates")
    await wait(30, name="settle")
    quotes = [first, *others.get_results(), *alternates.get_results()]
    cheapest = min(quotes, key=lambda q: (q["cents"], q["partner"]))
    notified = await step(functools.partial(_notify, cheapest["partner"]), name="notify")
    return {
        "cheapest": cheapest["partner"],
        "seen": sorted({q["correlation"] for q in quotes} | {audit, notified["correlation"]}),
        "sent": notified["sent"],
    }


# --- structlog-style log keys bound in a ContextVar -------------------------------------------

_LOG_KEYS: ContextVar[dict[str, Any]] = ContextVar("log_keys", default={})  # noqa: B039


def bind(**keys: Any) -> None:
    """Bind keys for the rest of this task (and the tasks it makes), as
    ``structlog.contextvars.bind_contextvars`` does."""
    _LOG_KEYS.set({**_LOG_KEYS.get(), **keys})


def _log(message: str) -> dict[str, Any]:
    keys = dict(sorted(_LOG_KEYS.get().items()))
    services.LOG_LINES.append(f"{message} {keys}")
    return keys


async def _pack(sku: str) -> dict[str, Any]:
    return {"sku": sku, "logged": _log("packing")}


@durable_execution
async def scoped_log_context(event: Any) -> dict[str, Any]:
    """Pack an order's lines in a ``map`` (and again in a flat one) and label its parcels in a
    ``parallel``, every log line with the keys bound by the handler and the item or branch."""
    bind(order=event["order"])

    async def pack(sku: str) -> dict[str, Any]:
        bind(sku=sku, stage="pack")
        return await step(functools.partial(_pack, sku), name=f"pack-{sku}")

    packed = await durable_map(pack, event["skus"], name="pack", max_concurrency=2)
    await wait(10, name="packing")

    async def repack(sku: str) -> dict[str, Any]:
        bind(sku=sku, stage="repack")
        return await step(functools.partial(_pack, sku), name=f"repack-{sku}")

    repacked = await durable_map(
        repack, event["skus"], name="repack", nesting_type=NestingType.FLAT
    )

    def label(parcel: int) -> Any:
        async def labelled() -> dict[str, Any]:
            bind(parcel=parcel)
            return await step(lambda: _value(_log("labelling")), name=f"label-{parcel}")

        return labelled

    labels = await parallel([label(n) for n in range(2)], name="labels")
    await wait(10, name="courier")
    done = await step(lambda: _value(_log("handed over")), name="hand-over")
    return {
        "packed": packed.get_results(),
        "repacked": repacked.get_results(),
        "labels": labels.get_results(),
        "done": done,
    }


# --- a TaskGroup fan-out inside one step -------------------------------------------------------


async def _three_quotes(sku: str) -> dict[str, int]:
    try:
        async with asyncio.TaskGroup() as group:
            tasks = {
                partner: group.create_task(services.PARTNERS.quote(partner, sku))
                for partner in ("acme", "globex", "initech")
            }
    except* ConnectionError as refused:
        # The step's retry strategy retries ConnectionError, not the group around it.
        raise refused.exceptions[0] from None
    return {partner: task.result() for partner, task in tasks.items()}


def arm_taskgroup() -> None:
    services.reset()
    services.PARTNERS.fail_first = {"globex"}


@durable_execution
async def taskgroup_fanout(event: Any) -> dict[str, Any]:
    """Quote every sku at three partners at once (a ``TaskGroup`` in one step per sku; globex
    refuses its first call, ``before_run`` arms it), wait, pick the best offer."""
    offers = {}
    for sku in event["skus"]:
        offers[sku] = await step(
            functools.partial(_three_quotes, sku), name=f"quotes-{sku}", retry_strategy=FLAKY
        )
    await wait(60, name="offer-window")
    best = await step(
        lambda: _value({sku: min(o, key=lambda p: (o[p], p)) for sku, o in offers.items()}),
        name="best",
    )
    return {"offers": offers, "best": best}


# --- gather(return_exceptions=True) inside a step ----------------------------------------------


async def _profiles(keys: list[str]) -> dict[str, Any]:
    answers = await asyncio.gather(
        *(services.PARTNERS.enrich(key) for key in keys), return_exceptions=True
    )
    profiles: dict[str, Any] = {}
    for key, answer in zip(keys, answers, strict=True):
        if isinstance(answer, services.NotFound):
            profiles[key] = None  # best effort: no profile is an answer
        elif isinstance(answer, BaseException):
            raise answer  # an outage or a cancellation is not an answer
        else:
            profiles[key] = answer["segment"]
    return profiles


@durable_execution
async def settled_enrichment(event: Any) -> dict[str, Any]:
    """Enrich every customer with a segment (some have none), wait, count the segments."""
    profiles = await step(functools.partial(_profiles, event["customers"]), name="enrich")
    await wait(20, name="cool-down")
    counts = await step(
        lambda: _value({s: list(profiles.values()).count(s) for s in ("a", "b", "c", None)}),
        name="count",
    )
    return {"profiles": profiles, "counts": {str(k): v for k, v in counts.items()}}


# --- asyncio.timeout and timeout_at, retried -----------------------------------------------------


async def _quotes_within(sku: str) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    quotes = {}
    async with asyncio.timeout_at(loop.time() + 10) as budget:
        for partner in ("initech", "acme"):
            async with asyncio.timeout(2):  # a stalled partner is a TimeoutError
                quotes[partner] = await services.PARTNERS.quote(partner, sku)
            budget.reschedule(loop.time() + 5)  # an answer buys the next call its time
    return quotes


def arm_stall() -> None:
    services.reset()
    services.PARTNERS.slow_first = {"desk"}


@durable_execution
async def timeout_retried(event: Any) -> dict[str, Any]:
    """Quote each sku at two partners, each call bounded by ``asyncio.timeout`` (the first
    call for a desk stalls 30 s, ``before_run`` arms it: the step retries), then wait."""
    quotes = {}
    for sku in event["skus"]:
        quotes[sku] = await step(
            functools.partial(_quotes_within, sku), name=f"quote-{sku}", retry_strategy=STALLS
        )
    await wait(45, name="hold")
    total = await step(lambda: _value(sum(min(q.values()) for q in quotes.values())), name="total")
    return {"quotes": quotes, "total": total}


# --- async generators and iterators paging a partner API ---------------------------------------


async def _pages(listing: str, size: int) -> AsyncIterator[list[str]]:
    cursor: int | None = 0
    while cursor is not None:
        page = await services.LISTING.page(listing, cursor, size=size)
        yield page["items"]
        cursor = page["next"]


class Catalogue:
    """An async iterator over a listing's items, one page fetched at a time."""

    def __init__(self, listing: str) -> None:
        self.listing = listing
        self.cursor: int | None = 0
        self.buffer: list[str] = []

    def __aiter__(self) -> Catalogue:
        return self

    async def __anext__(self) -> str:
        while not self.buffer:
            if self.cursor is None:
                raise StopAsyncIteration
            page = await services.LISTING.page(self.listing, self.cursor, size=2)
            self.buffer, self.cursor = list(page["items"]), page["next"]
        return self.buffer.pop(0)


async def _first_items(listing: str, limit: int) -> list[str]:
    found: list[str] = []
    async with contextlib.aclosing(_pages(listing, 3)) as pages:
        async for page in pages:
            found.extend(page)
            if len(found) >= limit:
                break  # aclosing closes the generator: no page is left half-fetched
    return found[:limit]


async def _all_items(listing: str) -> list[str]:
    return [item async for item in Catalogue(listing)]


def arm_pages() -> None:
    services.reset()
    services.LISTING.fail_at = {2}


@durable_execution
async def async_pages(event: Any) -> dict[str, Any]:
    """List the first ``limit`` orders (an async generator, closed early) and every return (an
    async iterator); page 2 resets its connection once (``before_run``): the step retries."""
    orders = await step(
        functools.partial(_first_items, "orders", event["limit"]),
        name="orders",
        retry_strategy=FLAKY,
    )
    await wait(15, name="between-listings")
    returns = await step(
        functools.partial(_all_items, "returns"), name="returns", retry_strategy=FLAKY
    )
    return {"orders": orders, "returns": returns, "listed": len(orders) + len(returns)}


# --- AsyncExitStack over connections -------------------------------------------------------------


@contextlib.asynccontextmanager
async def _connected(shard: str) -> AsyncIterator[services.Connection]:
    connection = await services.POOL.connect(shard)
    try:
        yield connection
    finally:
        await connection.close()


async def _counts(shards: list[str], table: str) -> dict[str, int]:
    async with contextlib.AsyncExitStack() as stack:
        connections = [await stack.enter_async_context(_connected(s)) for s in shards]
        return {c.shard: await c.count(table) for c in connections}


def arm_shards() -> None:
    services.reset()
    services.POOL.fail_first = {"eu-2"}


@durable_execution
async def exit_stack_shards(event: Any) -> dict[str, Any]:
    """Count a table on every shard through a connection each (an ``AsyncExitStack``); eu-2
    drops its first connection (``before_run``): the step fails, the stack closes every
    connection, the step retries. Then wait and count another table."""
    orders = await step(
        functools.partial(_counts, event["shards"], "orders"), name="orders", retry_strategy=FLAKY
    )
    await wait(5, name="quiet")
    refunds = await step(
        functools.partial(_counts, event["shards"], "refunds"), name="refunds", retry_strategy=FLAKY
    )
    return {"orders": orders, "refunds": refunds}


# --- a Queue producer and consumers inside one step --------------------------------------------


async def _pipeline(listing: str) -> list[str]:
    queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=2)
    out: list[str] = []
    consumers = 2

    async def produce() -> None:
        async for page in _pages(listing, 2):
            for entry in page:
                await queue.put(entry)
        for _ in range(consumers):
            await queue.put(None)  # one sentinel per consumer

    async def consume() -> None:
        while (entry := await queue.get()) is not None:
            await asyncio.sleep(0.01)  # the transform's own I/O
            out.append(entry.upper())

    # The group cancels the consumers when the producer fails (no sentinel will come).
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            for _ in range(consumers):
                group.create_task(consume())
    except* ConnectionError as refused:
        raise refused.exceptions[0] from None
    return sorted(out)


def arm_pipeline() -> None:
    services.reset()
    services.LISTING.fail_at = {1}


@durable_execution
async def queue_pipeline(event: Any) -> dict[str, Any]:
    """Transform a listing through a bounded queue (one producer paging the partner, two
    consumers) in one step; page 1 resets once (``before_run``): the step retries. Then
    wait and publish how many."""
    rows = await step(
        functools.partial(_pipeline, event["listing"]), name="transform", retry_strategy=FLAKY
    )
    await wait(30, name="publish-window")
    published = await step(lambda: _value(f"published {len(rows)} rows"), name="publish")
    return {"rows": rows, "published": published}


# --- a blocking poll in a thread, bounded by monotonic and by wall-clock time ------------------


class JobTimedOut(TimeoutError):
    """The job did not finish within the poll's bound."""


def _run_job_monotonic(key: str, bound: float) -> dict[str, Any]:
    job = services.JOBS.submit(key)
    deadline = time.monotonic() + bound
    while services.JOBS.status(job) != "done":
        if time.monotonic() >= deadline:
            msg = f"{job} still running after {bound} s"
            raise JobTimedOut(msg)
        time.sleep(0.01)
    return services.JOBS.result(job)


def _run_job_wallclock(key: str, bound: float) -> dict[str, Any]:
    job = services.JOBS.submit(key)
    deadline = time.time() + bound
    while services.JOBS.status(job) != "done":
        if time.time() >= deadline:
            msg = f"{job} still running after {bound} s"
            raise JobTimedOut(msg)
        time.sleep(0.01)
    return services.JOBS.result(job)


async def _export_monotonic(key: str) -> dict[str, Any]:
    return await asyncio.to_thread(_run_job_monotonic, key, 0.15)


async def _export_wallclock(key: str) -> dict[str, Any]:
    return await asyncio.to_thread(_run_job_wallclock, key, 0.15)


def arm_stuck_job() -> None:
    services.reset()
    services.JOBS.stuck_first = {"ledger"}


@durable_execution
async def poll_thread_monotonic(event: Any) -> dict[str, Any]:
    """Run two exports through a blocking batch client that polls from a thread until done,
    bounded by ``time.monotonic()``; the ledger's first job is stuck (``before_run``): the
    poll gives up and the step runs the export again."""
    results = {}
    for key in event["exports"]:
        results[key] = await step(
            functools.partial(_export_monotonic, key), name=f"export-{key}", retry_strategy=STALLS
        )
        await wait(10, name=f"after-{key}")
    return {"rows": {k: r["rows"] for k, r in results.items()}}


@durable_execution
async def poll_thread_wallclock(event: Any) -> dict[str, Any]:
    """``poll_thread_monotonic`` with the poll bounded by ``time.time()``, as much code is:
    right on Lambda, where the wall clock moves while the thread polls."""
    results = {}
    for key in event["exports"]:
        results[key] = await step(
            functools.partial(_export_wallclock, key), name=f"export-{key}", retry_strategy=STALLS
        )
        await wait(10, name=f"after-{key}")
    return {"rows": {k: r["rows"] for k, r in results.items()}}


# --- a debounce with call_later and an Event inside one step ------------------------------------


async def _debounced(topic: str, quiet: float) -> list[list[str]]:
    """Batch a topic's changes: a batch is flushed once no change has come for ``quiet``
    seconds; the feed's end flushes what is left."""
    loop = asyncio.get_running_loop()
    batches: list[list[str]] = []
    pending: list[str] = []
    timer: asyncio.TimerHandle | None = None
    drained = asyncio.Event()

    def flush() -> None:
        if pending:
            batches.append(sorted(set(pending)))
            pending.clear()

    async for change in services.FEED.subscribe(topic):
        pending.append(change)
        if timer is not None:
            timer.cancel()
        timer = loop.call_later(quiet, flush)
    if timer is not None:
        timer.cancel()
    loop.call_soon(lambda: (flush(), drained.set()))
    await drained.wait()
    return batches


@durable_execution
async def debounce_call_later(event: Any) -> dict[str, Any]:
    """Reindex a topic's changed documents in debounced batches (one step), wait, publish."""
    batches = await step(functools.partial(_debounced, event["topic"], 0.5), name="collect")
    await wait(5, name="reindex")
    published = await step(lambda: _value(sum(len(b) for b in batches)), name="publish")
    return {"batches": batches, "published": published}


# --- asyncio.shield around a commit inside a step ------------------------------------------------


async def _commit(key: str, entries: list[int]) -> dict[str, Any]:
    commit = asyncio.ensure_future(services.LEDGER.commit(key, entries))
    try:
        async with asyncio.timeout(1):
            return await asyncio.shield(commit)  # the timeout must not cancel a commit
    except TimeoutError:
        log.warning("commit %s is slow; waiting for it", key)
        return await commit


def arm_slow_commit() -> None:
    services.reset()
    services.LEDGER.slow_first = {"o-42/settle"}


@durable_execution
async def shielded_commit(event: Any) -> dict[str, Any]:
    """Settle an order's entries in the ledger (a shielded commit: the first is slow,
    ``before_run`` arms it), wait, read the balance back."""
    key = f"{event['order']}/settle"
    committed = await step(functools.partial(_commit, key, event["entries"]), name="settle")
    await wait(60, name="clearing")
    balance = await step(lambda: _value(services.LEDGER.balance(key)), name="balance")
    return {"committed": committed, "balance": balance}


# --- a semaphore made per invocation over a map's step bodies ---------------------------------


@durable_execution
async def semaphore_per_invocation(event: Any) -> dict[str, Any]:
    """Score every item in a ``map`` of five at a time while the partner takes two calls at
    once: a semaphore made by this invocation (on its loop) holds the step bodies to two.
    Wait, then score a few again under the next invocation's semaphore."""
    limit = asyncio.Semaphore(2)

    async def score(item: str) -> int:
        async with limit:
            return await services.PARTNERS.limited(item)

    async def scored(item: str) -> int:
        return await step(
            functools.partial(score, item), name=f"score-{item}", retry_strategy=FLAKY
        )

    batch = await durable_map(scored, event["items"], name="scores", max_concurrency=5)
    await wait(20, name="pause")
    again = await durable_map(scored, event["items"][:3], name="rescore", max_concurrency=3)
    return {"scores": batch.get_results(), "again": again.get_results()}


# --- a hedged read with cancellation clean-up -----------------------------------------------------


async def _read(replica: str, key: str) -> int:
    lease = await services.REPLICAS.lease(replica, key)
    try:
        value = await services.REPLICAS.read(replica, key)
    except asyncio.CancelledError:
        await services.REPLICAS.release(lease)  # the loser of the hedge gives its lease back
        raise
    await services.REPLICAS.release(lease)
    return value


async def _hedged(key: str) -> int:
    primary = asyncio.create_task(_read("primary", key))
    done, _ = await asyncio.wait({primary}, timeout=0.3)
    if done:
        return primary.result()
    secondary = asyncio.create_task(_read("secondary", key))
    done, pending = await asyncio.wait({primary, secondary}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)  # let the losers clean up
    # The replicas agree; prefer the primary's answer when both ended in the same turn.
    winner = primary if primary in done else secondary
    return winner.result()


def arm_slow_primary() -> None:
    services.reset()
    services.REPLICAS.slow_primary = {"acct-2"}


@durable_execution
async def hedged_read(event: Any) -> dict[str, Any]:
    """Read every account's balance with a hedged read (acct-2's primary is slow:
    ``before_run``), wait, read the first again."""
    balances = {}
    for account in event["accounts"]:
        balances[account] = await step(functools.partial(_hedged, account), name=f"read-{account}")
    await wait(5, name="recheck")
    first = event["accounts"][0]
    again = await step(functools.partial(_hedged, first), name="reread")
    return {"balances": balances, "again": again}


# --- as_completed: the first three of five within a budget -------------------------------------


async def _quorum_price(sku: str) -> dict[str, Any]:
    partners = sorted(services.Partners.LATENCY)
    tasks = [asyncio.ensure_future(services.PARTNERS.quote(p, sku)) for p in partners]
    answers: list[int] = []
    try:
        async with asyncio.timeout(3):
            for next_answer in asyncio.as_completed(tasks):
                answers.append(await next_answer)
                if len(answers) == 3:
                    break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if len(answers) < 3:
        msg = f"only {len(answers)} quotes for {sku} in time"
        raise TimeoutError(msg)
    return {"sku": sku, "median": statistics.median(answers), "answers": len(answers)}


@durable_execution
async def as_completed_quorum(event: Any) -> dict[str, Any]:
    """Price every sku at the median of the first three of five partners to answer, wait for
    the price to be published, confirm."""
    prices = []
    for sku in event["skus"]:
        prices.append(
            await step(
                functools.partial(_quorum_price, sku), name=f"price-{sku}", retry_strategy=STALLS
            )
        )
    await wait(300, name="publish")
    confirmed = await step(lambda: _value([p["median"] for p in prices]), name="confirm")
    return {"prices": prices, "confirmed": confirmed}


# --- the correlation id in a callback's submitter and a condition's check ---------------------


async def _open_ticket(subject: str) -> str:
    callback_id = get_wait_for_callback_context().callback_id
    return await services.DESK.open_ticket(subject, callback_id, CORRELATION.get())


async def _check_export(state: dict[str, Any]) -> dict[str, Any]:
    status = await services.DESK.export_status(state["export"], state["polls"], CORRELATION.get())
    return {**state, "polls": state["polls"] + 1, "status": status, "by": CORRELATION.get()}


def _every_20s(state: dict[str, Any], attempt: int) -> int | None:
    return None if state["status"] == "done" or attempt >= 8 else 20


@durable_execution
async def correlation_in_callbacks(event: Any) -> dict[str, Any]:
    """Ask a person to approve a refund (a ``wait_for_callback`` whose submitter opens a
    ticket with the correlation id) and poll the refund's export (a ``wait_for_condition``
    whose check sends it): both run in tasks of the SDK's, which copy the handler's context."""
    CORRELATION.set(event["headers"]["x-correlation-id"])
    refund = event["refund"]
    approval = await wait_for_callback(
        functools.partial(_open_ticket, f"approve {refund}"), name="approval", timeout=3600
    )
    exported = await wait_for_condition(
        _check_export,
        initial_state={"export": refund, "polls": 0, "status": "queued", "by": None},
        name="export",
        polling_strategy=_every_20s,
    )
    return {"approval": approval, "status": exported["status"], "by": exported["by"]}


# --- a single-flight token fetch under a per-invocation lock ----------------------------------


@durable_execution
async def single_flight_token(event: Any) -> dict[str, Any]:
    """Read several resources in a ``parallel``, every step body authenticated with a bearer
    token that one of them fetches and the others wait for (an ``asyncio.Lock`` and a cache
    made by this invocation); a replayed step fetches nothing, and the next step to need a
    token fetches it. Wait, read one more."""
    lock = asyncio.Lock()
    cache: dict[str, str] = {}

    async def token() -> str:
        async with lock:
            if "token" not in cache:
                cache["token"] = await services.AUTH.token()
            return cache["token"]

    async def read(resource: str) -> int:
        return await services.AUTH.api(await token(), resource)

    def branch(resource: str) -> Any:
        async def fetched() -> int:
            return await step(functools.partial(read, resource), name=f"read-{resource}")

        return fetched

    reads = await parallel([branch(r) for r in event["resources"]], name="reads")
    await wait(120, name="later")
    last = await step(functools.partial(read, "totals"), name="read-totals")
    return {"reads": reads.get_results(), "totals": last}


# --- a call in a thread bounded by wait_for; a thread that reports through call_soon_threadsafe


async def _office(key: str) -> dict[str, Any]:
    # A stalled partner is a TimeoutError the step retries (the thread is left to finish).
    return await asyncio.wait_for(asyncio.to_thread(services.DIRECTORY.lookup, key), timeout=0.5)


def arm_stalled_lookup() -> None:
    services.reset()
    services.DIRECTORY.stall_first = {"ada"}


@durable_execution
async def thread_call_bounded(event: Any) -> dict[str, Any]:
    """Look up each employee's office through a blocking client in a thread, each call
    bounded by ``asyncio.wait_for``; ada's first lookup stalls (``before_run``): on Lambda a
    ``TimeoutError`` after half a second, which the step retries."""
    offices = {}
    for key in event["employees"]:
        found = await step(
            functools.partial(_office, key), name=f"office-{key}", retry_strategy=STALLS
        )
        offices[key] = found["office"]
    return {"offices": offices}


async def _uploaded(key: str) -> str:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    etag: list[str] = []

    def transfer() -> None:  # the transfer library's own thread, and its completion callback
        etag.append(services.DIRECTORY.upload(key))
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=transfer, name=f"transfer-{key}").start()
    await asyncio.wait_for(done.wait(), timeout=30)
    return etag[0]


@durable_execution
async def thread_callback_event(event: Any) -> dict[str, Any]:
    """Upload each file through a transfer library that works in a thread of its own and
    reports completion through ``loop.call_soon_threadsafe`` (an ``asyncio.Event`` the step
    awaits, bounded at 30 s); each upload takes 50 ms."""
    etags = {}
    for key in event["files"]:
        etags[key] = await step(
            functools.partial(_uploaded, key), name=f"upload-{key}", retry_strategy=STALLS
        )
    return {"etags": etags}


# --- a map whose items upload through the handler's own pool, heard back from by callback

#: The handler's own pool, made at import and kept by warm invocations.
_UPLOADS = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="uploads")


async def _upload_by_callback(key: str, seconds: float) -> str:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    job = _UPLOADS.submit(services.DIRECTORY.upload, key, seconds=seconds)
    job.add_done_callback(lambda _: loop.call_soon_threadsafe(done.set))
    await asyncio.wait_for(done.wait(), timeout=30)
    return job.result()


@durable_execution
async def pool_callback_uploads(event: Any) -> dict[str, Any]:
    """Upload each file in a ``map`` item through the handler's own pool, hearing back from
    each job through its done callback (``loop.call_soon_threadsafe``) under a 30 s bound;
    the larger files come first, so the jobs end in reverse."""

    async def upload(item: dict[str, Any]) -> str:
        key = item["key"]
        return await step(
            functools.partial(_upload_by_callback, key, item["seconds"]),
            name=f"upload-{key}",
            retry_strategy=STALLS,
        )

    batch = await durable_map(upload, event["files"], name="uploads")
    await wait(30, name="settle")
    return {"etags": batch.get_results()}


# --- a map whose items upload through a library that starts a thread per transfer -----------


async def _uploaded_in_a_thread(key: str, seconds: float) -> str:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    etag: list[str] = []

    def transfer() -> None:  # the transfer library's own thread, and its completion callback
        etag.append(services.DIRECTORY.upload(key, seconds=seconds))
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=transfer, name=f"transfer-{key}", daemon=True).start()
    await asyncio.wait_for(done.wait(), timeout=30)
    return etag[0]


@durable_execution
async def thread_per_item_uploads(event: Any) -> dict[str, Any]:
    """Upload each file in a ``map`` item through a transfer library that starts a thread
    per transfer and reports completion through ``loop.call_soon_threadsafe`` under a 30 s
    bound; the larger files come first, so the threads end in reverse."""

    async def upload(item: dict[str, Any]) -> str:
        key = item["key"]
        return await step(
            functools.partial(_uploaded_in_a_thread, key, item["seconds"]),
            name=f"upload-{key}",
            retry_strategy=STALLS,
        )

    batch = await durable_map(upload, event["files"], name="uploads")
    await wait(30, name="settle")
    return {"etags": batch.get_results()}


# --- uploads through a module-level uploader's worker thread, fed through a queue ------------


class _BackgroundUploader:
    """A client made at import (so again in every cold sandbox) with one worker thread of
    its own, fed through a ``queue.Queue``; each upload's callback is called from that
    thread, as a background transfer manager's completion hooks are."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[str, float, Any] | None] = queue.Queue()
        threading.Thread(target=self._work_forever, name="background-uploader", daemon=True).start()
        services.BACKGROUND_CLIENTS.append(self)

    def _work_forever(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return  # (the fakes' reset: its sandbox is gone)
            key, seconds, done = job
            done(services.DIRECTORY.upload(key, seconds=seconds))

    def stop(self) -> None:
        self._jobs.put(None)

    def upload(self, key: str, seconds: float, done: Any) -> None:
        self._jobs.put((key, seconds, done))


_UPLOADER = _BackgroundUploader()


async def _uploaded_in_the_background(key: str, seconds: float) -> str:
    loop = asyncio.get_running_loop()
    etag: asyncio.Future[str] = loop.create_future()
    _UPLOADER.upload(key, seconds, lambda tag: loop.call_soon_threadsafe(etag.set_result, tag))
    return await asyncio.wait_for(etag, timeout=30)


@durable_execution
async def module_worker_uploads(event: Any) -> dict[str, Any]:
    """Upload each file in a step through a module-level uploader whose worker thread, running
    since import, hands each result back through ``loop.call_soon_threadsafe`` under a 30 s
    bound; then an hour's wait."""
    etags = {}
    for item in event["files"]:
        key = item["key"]
        etags[key] = await step(
            functools.partial(_uploaded_in_the_background, key, item["seconds"]),
            name=f"upload-{key}",
            retry_strategy=STALLS,
        )
    await wait(3600, name="settle")
    return {"etags": etags}


# --- deliveries through a lazily made producer's sender thread, fed through a SimpleQueue ---


class _Producer:
    """A producer made on first use and kept by warm invocations (as batching producers
    are), with a sender thread of its own fed through a ``queue.SimpleQueue``; each
    message's delivery report is called from that thread."""

    def __init__(self) -> None:
        self._outbox: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self.stopped = False
        threading.Thread(target=self._send_forever, name="producer-sender", daemon=True).start()
        services.BACKGROUND_CLIENTS.append(self)

    def _send_forever(self) -> None:
        while (job := self._outbox.get()) is not None:
            message, delivered = job
            delivered(services.DIRECTORY.upload(message, seconds=0.02))  # the broker's round trip

    def stop(self) -> None:
        self.stopped = True
        self._outbox.put(None)

    def send(self, message: str, delivered: Any) -> None:
        self._outbox.put((message, delivered))


_PRODUCER: list[_Producer] = []
_PRODUCER_LOCK = threading.Lock()


def _producer() -> _Producer:
    with _PRODUCER_LOCK:
        if not _PRODUCER or _PRODUCER[0].stopped:  # (stopped: the fakes' reset)
            _PRODUCER[:] = [_Producer()]
        return _PRODUCER[0]


async def _delivered(message: str) -> str:
    loop = asyncio.get_running_loop()
    receipt: asyncio.Future[str] = loop.create_future()
    _producer().send(message, lambda tag: loop.call_soon_threadsafe(receipt.set_result, tag))
    return await asyncio.wait_for(receipt, timeout=30)


@durable_execution
async def producer_deliveries(event: Any) -> dict[str, Any]:
    """Publish each message in a step through a producer made on first use, whose sender
    thread reports each delivery through ``loop.call_soon_threadsafe`` under a 30 s bound;
    a minute's wait; then one more message, from a later invocation, whose sender has run
    since an earlier one."""
    receipts = {}
    for message in event["messages"]:
        receipts[message] = await step(
            functools.partial(_delivered, message), name=f"publish-{message}", retry_strategy=STALLS
        )
    await wait(60, name="settle")
    receipts["done"] = await step(
        functools.partial(_delivered, "done"), name="publish-done", retry_strategy=STALLS
    )
    return {"receipts": receipts}


# --- results through a legacy ThreadPool's callbacks ------------------------------------------


class _LegacyPool:
    """A ``multiprocessing.pool.ThreadPool`` made on first use and kept by warm invocations
    (code older than ``concurrent.futures``): ``apply_async`` hands a job to the pool's task
    handler thread, which passes it on to a worker in the pool's own code; the result's
    callback is called from the pool's result handler thread."""

    def __init__(self) -> None:
        from multiprocessing.pool import ThreadPool

        self.pool = ThreadPool(2)
        self.stopped = False
        services.BACKGROUND_CLIENTS.append(self)

    def stop(self) -> None:
        self.stopped = True
        self.pool.terminate()


_LEGACY_POOL: list[_LegacyPool] = []


def _legacy_pool() -> Any:
    with _PRODUCER_LOCK:
        if not _LEGACY_POOL or _LEGACY_POOL[0].stopped:  # (stopped: the fakes' reset)
            _LEGACY_POOL[:] = [_LegacyPool()]
        return _LEGACY_POOL[0].pool


def _price_list_lookup(sku: str) -> int:
    """A blocking price-list lookup: the partner's 30 ms, then a price from the SKU alone."""
    time.sleep(0.03)
    return sum(map(ord, sku)) * 7 % 1000


async def _priced_in_the_pool(sku: str) -> int:
    loop = asyncio.get_running_loop()
    price: asyncio.Future[int] = loop.create_future()
    _legacy_pool().apply_async(
        _price_list_lookup,
        (sku,),
        callback=lambda value: loop.call_soon_threadsafe(price.set_result, value),
        error_callback=lambda error: loop.call_soon_threadsafe(price.set_exception, error),
    )
    return await asyncio.wait_for(price, timeout=30)


@durable_execution
async def legacy_pool_prices(event: Any) -> dict[str, Any]:
    """Price each SKU in a step through a ``ThreadPool`` made on first use, whose result
    callback reports through ``loop.call_soon_threadsafe`` under a 30 s bound; a minute's
    wait; then the total, priced again from a later invocation than the one that made the
    pool."""
    prices = {}
    for sku in event["skus"]:
        prices[sku] = await step(
            functools.partial(_priced_in_the_pool, sku), name=f"price-{sku}", retry_strategy=STALLS
        )
    await wait(60, name="settle")
    check = await step(
        functools.partial(_priced_in_the_pool, event["skus"][0]),
        name="price-again",
        retry_strategy=STALLS,
    )
    return {"prices": prices, "same_again": check == prices[event["skus"][0]]}


# --- a socket read bounded by wait_for, from a partner that goes quiet -------------------------


async def _ask_partner(question: str) -> str | None:
    port = services.SILENT.port
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1)
    try:
        writer.write(f"{question}\n".encode())
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), timeout=0.5)).decode().strip()
    except TimeoutError:
        return None  # the partner said nothing in time: the fallback answers
    finally:
        writer.close()
        await writer.wait_closed()


@durable_execution
async def silent_peer_bounded(event: Any) -> dict[str, Any]:
    """Ask a partner over TCP, the read bounded by ``asyncio.wait_for`` (half a second); the
    partner accepts and says nothing, so the fallback's answer is used."""
    answer = await step(functools.partial(_ask_partner, event["question"]), name="ask")
    if answer is None:
        answer = await step(lambda: _value(f"fallback for {event['question']}"), name="fallback")
    return {"answer": answer}


# --- an async context manager around the workflow; an async generator driving it ------------


async def _get(http: services.HttpSession, path: str) -> dict[str, Any]:
    return await http.get(path)


@durable_execution
async def session_around_workflow(event: Any) -> dict[str, Any]:
    """The whole workflow inside ``async with HttpSession() as http`` (as handlers open an
    ``aiohttp.ClientSession``): the steps use it; every suspension leaves the block, closing
    it, and every invocation opens its own."""
    user = event["user"]
    async with services.HttpSession() as http:
        profile = await step(functools.partial(_get, http, f"/users/{user}"), name="profile")
        await wait(60, name="cool-off")
        orders = await step(functools.partial(_get, http, f"/users/{user}/orders"), name="orders")
    return {"profile": profile["value"], "orders": orders["value"]}


async def _batches(items: list[int], size: int) -> AsyncIterator[list[int]]:
    for start in range(0, len(items), size):
        await asyncio.sleep(0)  # as a reader of a stream would
        yield items[start : start + size]


async def _total(batch: list[int]) -> int:
    return sum(batch)


@durable_execution
async def async_generator_batches(event: Any) -> dict[str, Any]:
    """Total the input in batches drawn from an async generator (closed by
    ``contextlib.aclosing`` when a wait suspends the loop over it), a step and a throttling
    wait per batch; the generator is made again, from the input, on every replay."""
    totals = []
    async with contextlib.aclosing(_batches(event["items"], 3)) as batches:
        async for batch in batches:
            number = len(totals)
            totals.append(await step(functools.partial(_total, batch), name=f"batch-{number}"))
            await wait(10, name=f"throttle-{number}")
    return {"totals": totals, "sum": sum(totals)}


# --- deadlines from time.monotonic() handed to the loop -----------------------------------------


async def _quotes_by_monotonic_deadline(sku: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    noted: list[str] = []
    # On Lambda's loop ``loop.time()`` is ``time.monotonic()``: deadlines taken from one are
    # given to the other, as much code does.
    nudge = loop.call_at(time.monotonic() + 1.5, noted.append, sku)
    quotes = {}
    try:
        async with asyncio.timeout_at(time.monotonic() + 10):
            for partner in ("initech", "acme"):
                async with asyncio.timeout_at(time.monotonic() + 2):  # a stall: TimeoutError
                    quotes[partner] = await services.PARTNERS.quote(partner, sku)
    finally:
        nudge.cancel()
    return {"quotes": quotes, "slow": bool(noted)}


@durable_execution
async def monotonic_deadlines(event: Any) -> dict[str, Any]:
    """``timeout_retried`` with its deadlines taken from ``time.monotonic()`` and handed to
    the loop (``asyncio.timeout_at``, ``loop.call_at``): the first call for a desk stalls
    30 s (``before_run`` arms it), the 2 s deadline fires and the step retries; then a wait,
    after which the loop's clock and ``time.monotonic()`` still agree."""
    quotes = {}
    for sku in event["skus"]:
        quotes[sku] = await step(
            functools.partial(_quotes_by_monotonic_deadline, sku),
            name=f"quote-{sku}",
            retry_strategy=STALLS,
        )
    await wait(45, name="hold")
    total = await step(
        lambda: _value(sum(min(q["quotes"].values()) for q in quotes.values())), name="total"
    )
    return {"quotes": quotes, "total": total}


def _entry(handler: Any, before_run: Any = services.reset, **more: Any) -> dict[str, Any]:
    return {"handler": handler, "before_run": before_run, **more}


#: The corpus: each entry as ``corpus.scenarios`` takes it (see ``examples/corpus.py``).
CORPUS: dict[str, dict[str, Any]] = {
    "correlation_id": _entry(
        correlation_id, input={"headers": {"x-correlation-id": "req-7f3a"}, "sku": "lamp"}
    ),
    "scoped_log_context": _entry(
        scoped_log_context, input={"order": "o-12", "skus": ["mug", "lamp", "rug"]}
    ),
    "taskgroup_fanout": _entry(taskgroup_fanout, arm_taskgroup, input={"skus": ["desk", "sofa"]}),
    "settled_enrichment": _entry(
        settled_enrichment, input={"customers": ["ada", "bix", "cy", "dax", "eve"]}
    ),
    "timeout_retried": _entry(timeout_retried, arm_stall, input={"skus": ["desk", "lamp"]}),
    "async_pages": _entry(async_pages, arm_pages, input={"limit": 7}),
    "exit_stack_shards": _entry(
        exit_stack_shards, arm_shards, input={"shards": ["eu-1", "eu-2", "us-1"]}
    ),
    "queue_pipeline": _entry(queue_pipeline, arm_pipeline, input={"listing": "invoices"}),
    "poll_thread_monotonic": _entry(
        poll_thread_monotonic, arm_stuck_job, input={"exports": ["ledger", "orders"]}
    ),
    "debounce_call_later": _entry(debounce_call_later, input={"topic": "docs"}),
    "shielded_commit": _entry(
        shielded_commit, arm_slow_commit, input={"order": "o-42", "entries": [1200, -200, 50]}
    ),
    "semaphore_per_invocation": _entry(
        semaphore_per_invocation, input={"items": ["a1", "b2", "c3", "d4", "e5", "f6", "g7"]}
    ),
    "hedged_read": _entry(hedged_read, arm_slow_primary, input={"accounts": ["acct-1", "acct-2"]}),
    "as_completed_quorum": _entry(as_completed_quorum, input={"skus": ["lamp", "desk"]}),
    "correlation_in_callbacks": _entry(
        correlation_in_callbacks,
        input={"headers": {"x-correlation-id": "req-91c0"}, "refund": "rf-5"},
        callbacks={"approval": {"approved": True}},
    ),
    "session_around_workflow": _entry(session_around_workflow, input={"user": "u-17"}),
    "async_generator_batches": _entry(
        async_generator_batches, input={"items": [3, 1, 4, 1, 5, 9, 2, 6]}
    ),
    "single_flight_token": _entry(
        single_flight_token, input={"resources": ["orders", "refunds", "stock", "prices"]}
    ),
    "poll_thread_wallclock": _entry(
        poll_thread_wallclock, arm_stuck_job, input={"exports": ["ledger", "orders"]}
    ),
    "thread_call_bounded": _entry(
        thread_call_bounded, arm_stalled_lookup, input={"employees": ["ada", "bo"]}
    ),
    "silent_peer_bounded": _entry(silent_peer_bounded, input={"question": "stock of lamp"}),
    "thread_callback_event": _entry(thread_callback_event, input={"files": ["a.csv", "b.csv"]}),
    "monotonic_deadlines": _entry(monotonic_deadlines, arm_stall, input={"skus": ["desk", "lamp"]}),
    "module_worker_uploads": _entry(
        module_worker_uploads,
        input={
            "files": [{"key": "big.csv", "seconds": 0.03}, {"key": "small.csv", "seconds": 0.01}]
        },
    ),
    "producer_deliveries": _entry(producer_deliveries, input={"messages": ["order-7", "order-8"]}),
    "legacy_pool_prices": _entry(legacy_pool_prices, input={"skus": ["desk", "lamp"]}),
    "thread_per_item_uploads": _entry(
        thread_per_item_uploads,
        input={
            "files": [
                {"key": "big.csv", "seconds": 0.04},
                {"key": "mid.csv", "seconds": 0.02},
                {"key": "small.csv", "seconds": 0.005},
            ]
        },
    ),
    "pool_callback_uploads": _entry(
        pool_callback_uploads,
        input={
            "files": [
                {"key": "big.csv", "seconds": 0.04},
                {"key": "mid.csv", "seconds": 0.02},
                {"key": "small.csv", "seconds": 0.005},
            ]
        },
    ),
}
