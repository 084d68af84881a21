"""Correct handlers for long-running business processes (the session-18 false-flag audit A).

Where ``nondeterministic.py``, ``everyday.py`` and ``habits.py`` exercise the SDK's features
and the habits users bring from ordinary Python, these are the shapes of whole processes:

- sagas whose failed steps are caught and compensated in reverse order, each compensation at
  most once per attempt against a partner that cancels idempotently: in sequence, with each
  booking in a child context, and over a ``parallel`` whose branches all run to their end;
- pagination through an export until a step (or a ``wait_for_condition`` check) says there
  is no next page, and a fan-out whose size a step decides (step names built from indices);
- a tree walked recursively through ``run_in_child_context`` and ``@durable_callable`` four
  levels deep, and callables composed three deep, with early returns in the children;
- handler-level ``asyncio`` around durable operations: ``asyncio.as_completed`` over steps,
  ``asyncio.shield``, ``asyncio.wait(..., return_when=FIRST_COMPLETED)`` racing a callback
  against a wait inside a child context, an ``ExceptionGroup`` of per-item failures handled
  with ``except*``;
- idempotency keys derived from the execution ARN and from a step's own operation id,
  posted to a ledger that deduplicates;
- a fan-in of chained invokes (a two-deep chain) whose per-item failures are caught;
- ``map`` and ``parallel`` with ``CompletionConfig`` tolerances nested in child contexts;
- a bounded state machine whose next state is a step's result.

Every one is correct durable code: whatever it reads outside a step is the same on every
replay, and its results are JSON. No oracle may flag any of them under any fault plan or
timing (``tests/harness/test_processes_corpus.py`` at CI size; ``benchmarks/same_world.py
--corpus processes --plans all`` is the long campaign).

Not here, because the SDK does not support them (SDK finding 10 in ``docs/findings.md``):
``asyncio.TaskGroup`` and ``gather(..., return_exceptions=True)`` around durable calls that
may suspend, and durable calls inside an ``except*`` clause. And the ``asyncio.wait`` race
runs inside a child context: at the top of the handler its loser stays open, which the
open-operations oracle flags (a trap in ``docs/findings.md``).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

import processes_services as services
from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    RetryStrategy,
    StepSemantics,
    create_callback,
    durable_callable,
    durable_execution,
    get_durable_context,
    get_step_context,
    invoke,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_condition,
)
from async_durable_execution import map as durable_map

reset = services.reset

#: A compensation runs at most once per attempt; an attempt the sandbox died in is retried
#: (the partner cancels idempotently, so a repeated request is harmless).
COMPENSATE = {
    "step_semantics": StepSemantics.AT_MOST_ONCE_PER_RETRY,
    "retry_strategy": RetryStrategy(max_attempts=4, initial_delay=2),
}


async def _new_id() -> str:
    return str(uuid.uuid4())


# --- sagas: failures caught, compensations in reverse order ---------------------------------


class Unavailable(Exception):
    """The partner has nothing left for these dates."""


@durable_callable
async def _book(kind: str, trip: str, fail: bool) -> str:
    if fail or random.random() < 0.15:
        msg = f"no {kind} available"
        raise Unavailable(msg)
    return services.book(f"{trip[:8]}-{kind}")


@durable_callable
async def _cancel(booking: str) -> str:
    return services.cancel(booking)


@durable_execution
async def trip_saga(event: Any) -> dict[str, Any]:
    """Book a flight, a hotel and a car; when one cannot be booked, cancel what was booked,
    last first, and report the trip as not booked."""
    fail_at = (event or {}).get("fail_at")
    trip = await step(_new_id, name="trip-id")
    booked: list[str] = []
    try:
        for kind in ("flight", "hotel", "car"):
            booking = await step(
                _book(kind, trip, kind == fail_at),
                name=f"book-{kind}",
                retry_strategy=RetryStrategy(max_attempts=2, initial_delay=3),
            )
            booked.append(booking)
            await wait(5, name=f"confirm-{kind}")
    except CallableRuntimeError as error:
        cancelled = []
        for booking in reversed(booked):
            cancelled.append(await step(_cancel(booking), name=f"cancel-{booking}", **COMPENSATE))
        return {
            "booked": False,
            "why": error.error_type,
            "cancelled": [c.rsplit("-", 1)[-1] for c in cancelled],
        }
    return {"booked": True, "kinds": [b.rsplit("-", 1)[-1] for b in booked]}


async def _reserve_in_child(kind: str, trip: str, fail: bool) -> str:
    hold = await step(_new_id, name=f"hold-{kind}")
    await wait(2, name=f"pause-{kind}")
    booking = await step(
        _book(kind, trip, fail), name=f"reserve-{kind}", retry_strategy=RetryStrategy.none()
    )
    return f"{booking}/{hold[:4]}"


@durable_execution
async def saga_in_children(event: Any) -> dict[str, Any]:
    """Each reservation in a child context of its own; a failed child fails the saga, whose
    compensations run in a child context of their own, last booked first, a minute apart."""
    fail_at = (event or {}).get("fail_at", "venue")
    trip = await step(_new_id, name="event-id")
    done: list[str] = []
    failed = None
    for kind in ("venue", "catering", "band"):
        try:
            done.append(
                await run_in_child_context(
                    lambda k=kind: _reserve_in_child(k, trip, k == fail_at), name=f"child-{kind}"
                )
            )
        except CallableRuntimeError as error:
            failed = f"{kind}: {error.error_type}"
            break
    if failed is None:
        return {"reserved": [d.split("/")[0].rsplit("-", 1)[-1] for d in done]}

    async def compensate() -> list[str]:
        undone = []
        for index, reservation in enumerate(reversed(done)):
            booking = reservation.split("/")[0]
            if index:
                await wait(60, name=f"space-{index}")
            undone.append(await step(_cancel(booking), name=f"undo-{index}", **COMPENSATE))
        return undone

    undone = await run_in_child_context(compensate, name="compensate")
    return {"failed": failed, "undone": len(undone)}


# --- a saga over a parallel booking, compensated past its tolerance --------------------------


@durable_callable
async def _book_supplier(supplier: str, trip: str) -> str:
    if supplier == "ferry" or random.random() < 0.2:
        msg = f"{supplier} is full"
        raise Unavailable(msg)
    return services.book(f"{trip[:8]}-{supplier}")


@durable_execution
async def group_booking_saga(event: Any) -> dict[str, Any]:
    """Books four suppliers at once in a ``parallel`` that runs every branch to its end
    (three failures tolerated: no booking is left in flight, so every one made is known); the
    trip survives one failure (the ferry is always full); past that, the bookings that were
    made are cancelled in reverse order of their branches, in a child context."""
    trip = await step(_new_id, name="group-id")
    suppliers = ["hotel", "coach", "ferry", "guide"]

    def booking(supplier: str) -> Any:
        async def run() -> str:
            return await step(
                _book_supplier(supplier, trip),
                name=f"book-{supplier}",
                retry_strategy=RetryStrategy.none(),
            )

        return run

    batch = await parallel(
        [booking(s) for s in suppliers],
        name="bookings",
        completion_config=CompletionConfig(tolerated_failure_count=len(suppliers) - 1),
    )
    made = [(item.index, item.result) for item in batch.all if item.result is not None]
    if batch.failure_count <= 1:
        return {"trip": "on", "booked": len(made)}

    async def undo() -> list[str]:
        undone = []
        for index, booked in sorted(made, reverse=True):
            undone.append(await step(_cancel(booked), name=f"undo-{index}", **COMPENSATE))
        return undone

    undone = await run_in_child_context(undo, name="undo-bookings")
    return {"trip": "off", "undone": [u.rsplit("-", 1)[-1] for u in undone]}


# --- pagination and dynamic numbers of operations -------------------------------------------


@durable_callable
async def _fetch(export: str, cursor: int) -> dict[str, Any]:
    if random.random() < 0.1:
        msg = "export API throttled"
        raise ConnectionError(msg)
    return services.page(export, cursor)


@durable_execution
async def paged_export(event: Any) -> dict[str, Any]:
    """Page through an export until a page says there is no next one (at most 10 pages),
    a second between pages; then total each page in a map whose size is the page count."""
    export = await step(_new_id, name="export-id")
    pages: list[list[int]] = []
    cursor: int | None = 0
    while cursor is not None and len(pages) < 10:
        fetched = await step(
            _fetch(export, cursor),
            name=f"page-{cursor}",
            retry_strategy=RetryStrategy(max_attempts=3, initial_delay=1),
        )
        pages.append(fetched["rows"])
        cursor = fetched["next"]
        if cursor is not None:
            await wait(1, name=f"throttle-{cursor}")

    async def total(rows: list[int]) -> int:
        return await step(lambda: _sum(rows), name="total")

    totals = await durable_map(total, pages, name="totals") if pages else None
    return {
        "pages": len(pages),
        "rows": sum(len(p) for p in pages),
        "total": sum(totals.get_results()) if totals is not None else 0,
    }


async def _sum(rows: list[int]) -> int:
    return sum(rows)


async def _next_page(state: Any) -> Any:
    """One poll: the next page of the export, added to the state."""
    fetched = services.page(state["export"], state["cursor"])
    return {
        "export": state["export"],
        "cursor": fetched["next"],
        "rows": state["rows"] + len(fetched["rows"]),
        "pages": state["pages"] + 1,
    }


def _until_last_page(state: Any, attempt: int) -> int | None:
    return None if state["cursor"] is None or attempt >= 10 else 2


@durable_execution
async def paged_poller(event: Any) -> dict[str, Any]:
    """The pagination of ``paged_export`` as a ``wait_for_condition``: each check fetches the
    next page and carries the cursor and the counts in its state, two seconds apart, until a
    page says there is no next one (at most ten)."""
    export = await step(_new_id, name="export-id")
    final = await wait_for_condition(
        _next_page,
        initial_state={"export": export, "cursor": 0, "rows": 0, "pages": 0},
        name="pages",
        polling_strategy=_until_last_page,
    )
    return {"pages": final["pages"], "rows": final["rows"], "done": final["cursor"] is None}


async def _how_many() -> int:
    return random.choice([0, *range(2, 8)])


async def _score(index: int) -> int:
    return index * 10 + random.randint(0, 9)


@durable_execution
async def dynamic_fanout(event: Any) -> dict[str, Any]:
    """A step decides how many items there are; one step per item, named by its index, all
    started at once and gathered; then one wait per odd item, in order."""
    count = await step(_how_many, name="count")
    scores = await asyncio.gather(
        *(step(lambda i=i: _score(i), name=f"score-{i}") for i in range(count))
    )
    for index in range(1, count, 2):
        await wait(index, name=f"cool-{index}")
    return {"count": count, "tens": [s // 10 for s in scores]}


# --- recursion and composition through child contexts ---------------------------------------


async def _tree() -> dict[str, Any]:
    def grow(depth: int) -> dict[str, Any]:
        if depth >= 4 or (depth and random.random() < 0.3):
            return {"value": random.randint(0, 9)}
        skip = depth > 0 and random.random() < 0.2
        return {"skip": skip, "children": [grow(depth + 1) for _ in range(2)]}

    return grow(0)


async def _leaf(value: int) -> int:
    return value


@durable_callable
async def _walk(node: dict[str, Any], path: str) -> int:
    """A node's total: a leaf's value checkpointed in a step; a skipped subtree returns at
    once (no durable call); a node stops after the first child whose total reaches 20."""
    if "value" in node:
        if node["value"] == 0:
            return 0  # nothing to record
        return await step(lambda: _leaf(node["value"]), name=f"leaf-{path}")
    if node.get("skip"):
        return -1
    total = 0
    for index, child in enumerate(node["children"]):
        sub = f"{path}.{index}"
        total += await run_in_child_context(_walk(child, sub), name=f"node-{sub}")
        if total >= 20:
            return total  # an early return inside a child context
    return total


@durable_execution
async def recursive_tree(event: Any) -> dict[str, Any]:
    """A tree drawn in a step, walked recursively: a child context per inner node, four
    levels deep, a step per leaf, early returns in children; a wait before and after."""
    tree = await step(_tree, name="tree")
    await wait(3, name="before-walk")
    total = await run_in_child_context(_walk(tree, "r"), name="walk")
    await wait(3, name="after-walk")
    return {"total": total}


@durable_callable
async def _price(sku: str) -> int:
    return len(sku) * 100 + random.randint(0, 99)


@durable_callable
async def _line(sku: str, quantity: int) -> dict[str, Any]:
    """A line item: priced in a step, discounted in a nested child context."""
    unit = await step(_price(sku), name=f"price-{sku}")
    if quantity == 0:
        return {"sku": sku, "cents": 0}
    cents = await run_in_child_context(_discount(unit * quantity), name=f"discount-{sku}")
    return {"sku": sku, "cents": cents}


@durable_callable
async def _discount(cents: int) -> int:
    if cents < 500:
        return cents
    await wait(1, name="ask-promotions")
    off = await step(lambda: _promotion(cents), name="promotion")
    return cents - off


async def _promotion(cents: int) -> int:
    return random.choice([0, cents // 10, cents // 5])


@durable_callable
async def _invoice(lines: list[tuple[str, int]]) -> dict[str, Any]:
    priced = [
        await run_in_child_context(_line(sku, quantity), name=f"line-{sku}")
        for sku, quantity in lines
    ]
    return {"lines": priced, "cents": sum(p["cents"] for p in priced)}


@durable_execution
async def composed_invoice(event: Any) -> dict[str, Any]:
    """``@durable_callable`` functions composed three levels deep through child contexts
    (invoice, line, discount), each level with its own steps and waits."""
    lines = [("mug", 2), ("lamp", 1), ("pen", 0), ("sofa", 3)]
    invoice = await run_in_child_context(_invoice(lines), name="invoice")
    number = await step(_new_id, name="invoice-number")
    return {"cents": invoice["cents"], "lines": len(invoice["lines"]), "number": len(number)}


# --- handler-level asyncio around durable operations ----------------------------------------


async def _quote(supplier: str) -> dict[str, Any]:
    return {"supplier": supplier, "cents": random.randint(100, 200)}


async def _record(choice: dict[str, Any]) -> str:
    return f"recorded-{choice['supplier']}-{uuid.uuid4().hex[:4]}"


@durable_execution
async def as_completed_quotes(event: Any) -> dict[str, Any]:
    """Quotes from four suppliers, read with ``asyncio.as_completed`` (the order they come in
    differs between a live run and a replay, so nothing depends on it: the cheapest wins,
    ties by name); the choice is recorded in a step awaited through ``asyncio.shield``."""
    suppliers = ["acme", "bolt", "core", "dyna"]
    tasks = [
        step(
            lambda s=s: _quote(s),
            name=f"quote-{s}",
            retry_strategy=RetryStrategy(max_attempts=3, initial_delay=2),
        )
        for s in suppliers
    ]
    quotes = []
    for next_quote in asyncio.as_completed(tasks):
        quotes.append(await next_quote)
    best = min(quotes, key=lambda q: (q["cents"], q["supplier"]))
    await wait(10, name="hold-quote")
    receipt = await asyncio.shield(step(lambda: _record(best), name="record-choice"))
    return {"best": best["supplier"], "receipt": receipt.split("-")[1]}


def _has_value(task: asyncio.Future[Any]) -> bool:
    """Ended with a result or an ordinary error: not with the SDK's suspension (a
    ``BaseException``, its way of saying "not yet")."""
    return task.done() and isinstance(task.exception(), Exception | None)


async def _first_usable(
    tasks: dict[str, asyncio.Future[Any]], prefer: list[str]
) -> tuple[str, asyncio.Future[Any]]:
    """The first of ``tasks`` to end with a value (``prefer`` orders those that end in the
    same turn: which of them asyncio reports first differs between a live run and a replay),
    waiting with ``asyncio.wait(FIRST_COMPLETED)``. When every task has suspended, the first
    suspension is re-raised, so the invocation suspends as the SDK expects."""
    pending = set(tasks.values())
    while pending:
        _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for name in prefer:
            if _has_value(tasks[name]):
                return name, tasks[name]
    suspension = tasks[prefer[0]].exception() or tasks[prefer[-1]].exception()
    assert suspension is not None
    raise suspension


@durable_execution
async def approval_or_deadline(event: Any) -> dict[str, Any]:
    """Ask for an approval and race its answer against a 30 s deadline with
    ``asyncio.wait(FIRST_COMPLETED)``, inside a child context (which closes on the winner,
    abandoning the loser as a ``parallel`` with ``min_successful=1`` does); an answer that
    comes with the deadline wins; a refusal or the callback's own time-out counts as "no"."""
    request = await step(_new_id, name="request-id")

    async def race() -> dict[str, Any]:
        callback = await create_callback(name="approval", timeout=300)
        answer = asyncio.ensure_future(callback.result())
        deadline = wait(30, name="deadline")
        winner, task = await _first_usable(
            {"answer": answer, "deadline": deadline}, ["answer", "deadline"]
        )
        if winner == "deadline":
            return {"approved": None, "by": "deadline"}
        error = task.exception()
        if isinstance(error, CallbackError):
            return {"approved": False, "by": type(error).__name__}
        if error is not None:
            raise error
        text = task.result()  # the raw JSON the approver sent (SDK finding 5)
        return {"approved": json.loads(text) if text else None, "by": "answer"}

    decided = await run_in_child_context(race, name="race")
    await step(lambda: _record({"supplier": str(decided["by"])}), name="record-decision")
    return {"request": len(request), **decided}


class Invalid(ValueError):
    """An item that fails validation: the business's own error."""


async def _check_item(item: int) -> int:
    if item % 5 == 4:
        msg = f"item {item} has no price"
        raise Invalid(msg)
    return item * 3


@durable_execution
async def validated_batch(event: Any) -> dict[str, Any]:
    """Validates every item in steps gathered by a helper that catches each failure; the
    failures are raised together as an ``ExceptionGroup`` and handled with ``except*``: the
    invalid items are quarantined in a step, anything else fails the execution."""
    items = list((event or {}).get("items", range(8)))

    async def check(item: int) -> int | Exception:
        try:
            return await step(
                lambda: _check_item(item), name=f"check-{item}", retry_strategy=RetryStrategy.none()
            )
        except CallableRuntimeError as error:
            return Invalid(error.message or "") if error.error_type == "Invalid" else error

    results = await asyncio.gather(*(check(i) for i in items))
    bad: list[int] = []
    try:
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise ExceptionGroup("items failed validation", errors)
    except* Invalid as group:
        # No durable call in here: a suspension raised in an except* clause while other
        # errors stay unhandled is merged with them into a BaseExceptionGroup, which the SDK
        # does not recognise (SDK finding 10).
        bad = sorted(int(str(e).split()[1]) for e in group.exceptions)
    quarantined = await step(lambda: _echo(bad), name="quarantine") if bad else []
    ok = [r for r in results if isinstance(r, int)]
    await wait(2, name="settle")
    return {"ok": len(ok), "quarantined": quarantined}


async def _echo(value: Any) -> Any:
    return value


# --- idempotency keys derived deterministically ---------------------------------------------


@durable_callable
async def _post(key: str, amount: int) -> int:
    total = services.post(key, amount)
    if random.random() < 0.2:
        # The ledger took the post, the answer never came back: the retry posts again, under
        # the same key, and the ledger acknowledges it without posting twice.
        msg = "ledger timed out"
        raise TimeoutError(msg)
    return total


async def _post_keyed_by_operation(amount: int) -> int:
    # The step's own operation id is the same on every attempt and every replay.
    context = get_step_context()
    return await _post(f"{context.durable_execution_arn}/{context.operation_id}", amount)()


@durable_execution
async def ledger_transfers(event: Any) -> dict[str, Any]:
    """Posts transfers whose idempotency keys are derived from the execution ARN (read outside
    the steps: it is the execution's, the same on every replay) and from a batch id drawn in
    a step, and a fee keyed by its step's operation id; every post is retried and the ledger
    deduplicates, so the totals are exact."""
    arn = get_durable_context().durable_execution_arn
    batch = await step(_new_id, name="batch-id")
    amounts = [120, 35, 900]
    retries = RetryStrategy(max_attempts=5, initial_delay=1, backoff_rate=1)
    for index, amount in enumerate(amounts):
        await step(
            _post(f"{arn}/{batch}/{index}", amount), name=f"post-{index}", retry_strategy=retries
        )
        if index == 1:
            await wait(30, name="cut-off")
    await step(lambda: _post_keyed_by_operation(7), name="fee", retry_strategy=retries)
    posted = await step(lambda: _posted(arn), name="reconcile")
    return {"posted": posted, "expected": sum(amounts) + 7}


async def _posted(prefix: str) -> int:
    return services.posted(prefix)


# --- a fan-in of chained invokes, per-item failures caught -----------------------------------


@durable_execution
async def enricher(event: Any) -> dict[str, Any]:
    """The last link: enriches a record after a short wait."""
    await wait(4, name="lookup")
    extra = await step(lambda: _score(event["item"]), name="enrich")
    return {"item": event["item"], "extra": extra % 10}


@durable_execution
async def scorer(event: Any) -> dict[str, Any]:
    """The middle link: refuses item 3, asks the enricher about even items (a failure there
    is carried as no enrichment)."""
    item = event["item"]
    if item == 3:
        msg = f"item {item} cannot be scored"
        raise LookupError(msg)
    extra = 0
    if item % 2 == 0:
        try:
            extra = (await invoke("enricher", {"item": item}, name=f"enrich-{item}"))["extra"]
        except CallableRuntimeError:
            extra = -1
    score = await step(lambda: _score(item), name="score")
    return {"item": item, "score": score // 10, "extra": extra}


@durable_execution
async def invoke_fan_in(event: Any) -> dict[str, Any]:
    """Scores five items by invoking the scorer for each, all at once (a helper per item
    catches that item's failure, so one refused item does not stop the rest), then sums."""

    async def ask(item: int) -> dict[str, Any]:
        try:
            return await invoke("scorer", {"item": item}, name=f"score-{item}")
        except CallableRuntimeError as error:
            return {"item": item, "score": None, "error": error.error_type}

    scored = await asyncio.gather(*(ask(i) for i in range(5)))
    failed = [s["item"] for s in scored if s.get("score") is None]
    total = await step(lambda: _echo(sum(s["score"] or 0 for s in scored)), name="sum")
    return {"failed": failed, "total": total}


# --- map and parallel with completion tolerances, nested in child contexts -------------------


async def _deploy(host: str) -> str:
    if random.random() < 0.2:
        msg = f"{host} refused the deployment"
        raise RuntimeError(msg)
    return f"{host}-v2"


async def _probe(host: str, check: str) -> bool:
    return random.random() < 0.9


async def _rollout_host(host: str) -> str:
    deployed = await step(
        lambda: _deploy(host), name=f"deploy-{host}", retry_strategy=RetryStrategy.none()
    )

    def probe(check: str) -> Any:
        async def run() -> bool:
            await wait(2 if check == "http" else 3, name=f"warm-{check}")
            return await step(
                lambda: _probe(host, check),
                name=f"probe-{check}",
                retry_strategy=RetryStrategy.none(),
            )

        return run

    health = await parallel(
        [probe("http"), probe("tcp")],
        name=f"health-{host}",
        completion_config=CompletionConfig(min_successful=1),
    )
    return f"{deployed}:{health.success_count >= 1}"


@durable_execution
async def staged_rollout(event: Any) -> dict[str, Any]:
    """Two waves in a rollout context, each wave a child context mapping its hosts two at a
    time with one failure tolerated; each host deploys and passes one of two health probes
    (a parallel with ``min_successful=1``). A wave that exceeds its tolerance stops the
    rollout."""

    async def rollout() -> list[dict[str, Any]]:
        waves = []
        for wave, hosts in enumerate([["a1", "a2", "a3"], ["b1", "b2", "b3", "b4"]]):

            async def run_wave(hosts: list[str] = hosts, wave: int = wave) -> dict[str, Any]:
                batch = await durable_map(
                    _rollout_host,
                    hosts,
                    name=f"hosts-{wave}",
                    max_concurrency=2,
                    completion_config=CompletionConfig(tolerated_failure_count=1),
                )
                return {
                    "wave": wave,
                    "reason": batch.completion_reason.value,
                    "ok": batch.success_count,
                    "failed": batch.failure_count,
                }

            outcome = await run_in_child_context(run_wave, name=f"wave-{wave}")
            waves.append(outcome)
            if outcome["failed"] > 1:
                break
            await wait(30, name=f"bake-{wave}")
        return waves

    waves = await run_in_child_context(rollout, name="rollout")
    return {"waves": waves}


# --- a bounded state machine whose next state is a step's result -----------------------------

TRANSITIONS: dict[str, list[str]] = {
    "received": ["screening"],
    "screening": ["approved", "review", "rejected"],
    "review": ["approved", "rejected", "review"],
    "approved": ["shipping"],
    "shipping": ["delivered", "shipping"],
}


async def _next_state(state: str, turn: int) -> str:
    return random.choice(TRANSITIONS[state])


@durable_execution
async def order_state_machine(event: Any) -> dict[str, Any]:
    """An order moves from state to state; each transition is drawn in a step named by its
    turn and state; reviews and shipping wait between turns; at most 12 turns."""
    state = "received"
    trail = [state]
    for turn in range(12):
        if state not in TRANSITIONS:
            break
        state = await step(
            lambda s=state, t=turn: _next_state(s, t),
            name=f"turn-{turn}-{state}",
            retry_strategy=RetryStrategy(max_attempts=2, initial_delay=1),
        )
        trail.append(state)
        if state == "review":
            await wait(1800, name=f"review-{turn}")
        elif state == "shipping":
            await wait(3600, name=f"in-transit-{turn}")
    return {"final": state, "turns": len(trail) - 1, "trail": trail}


#: Every handler of this corpus, with what its scenarios need (the shape of
#: ``habits.CORPUS``).
CORPUS: dict[str, dict[str, Any]] = {
    "trip_saga": {"handler": trip_saga, "before_run": reset},
    "trip_saga_car_fails": {"handler": trip_saga, "input": {"fail_at": "car"}, "before_run": reset},
    "saga_in_children": {
        "handler": saga_in_children,
        "input": {"fail_at": "band"},
        "before_run": reset,
    },
    "group_booking_saga": {"handler": group_booking_saga, "before_run": reset},
    "paged_export": {"handler": paged_export, "before_run": reset},
    "paged_poller": {"handler": paged_poller, "before_run": reset},
    "dynamic_fanout": {"handler": dynamic_fanout},
    "recursive_tree": {"handler": recursive_tree},
    "composed_invoice": {"handler": composed_invoice},
    "as_completed_quotes": {"handler": as_completed_quotes},
    "approval_or_deadline": {"handler": approval_or_deadline, "callbacks": {"approval": True}},
    "validated_batch": {"handler": validated_batch},
    "ledger_transfers": {"handler": ledger_transfers, "before_run": reset},
    "invoke_fan_in": {
        "handler": invoke_fan_in,
        "functions": {"scorer": scorer, "enricher": enricher},
    },
    "staged_rollout": {"handler": staged_rollout},
    "order_state_machine": {"handler": order_state_machine},
}
