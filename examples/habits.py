"""Correct handlers written with the habits users bring from ordinary Python (the session-16
false-flag audit).

Where ``nondeterministic.py`` and ``everyday.py`` exercise the SDK's features, these exercise
what users do around them: logging with the standard ``logging`` module (a JSON formatter that
stamps each line with ``datetime.now()``, a sandbox id drawn at import for the log lines, the
root logger the SDK filters during replay) inside and outside steps; configuration read from
environment variables and module-level constants outside steps; ``asyncio.gather``,
``asyncio.wait_for`` and ``asyncio.timeout`` inside step bodies; steps returning ``None``,
empty strings, unicode, huge integers, deeply nested structures and tuples; maps of a hundred
and more items under ``max_concurrency`` and failure tolerances (counts, a percentage through
``should_complete``, ``min_successful``); a child context's or a chained invoke's failure
caught and carried past; at-most-once steps with retries; a callback time-out that ties with
a wait; a poller next to a callback; the same step name reused in a loop and in sibling
branches; branches that return early; unnamed steps; ``gather(..., return_exceptions=True)``.

Every one is correct durable code: whatever it reads outside a step is the same on every
replay, or goes only to the logs. No oracle may flag any of them under any fault plan or
timing (``tests/harness/test_habits_corpus.py`` at CI size; ``benchmarks/same_world.py
--corpus habits --plans all`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import random
import time
import unicodedata
import uuid
from typing import Any

import habits_services as services
from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    CompletionDecision,
    CompletionReason,
    CompletionStatus,
    RetryStrategy,
    StepSemantics,
    create_callback,
    durable_callable,
    durable_execution,
    get_step_context,
    invoke,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
    wait_for_condition,
)
from async_durable_execution import map as durable_map

reset = services.reset

# --- configuration, read once at import (module level, outside any step) -------------------

#: The region and the batch size come from the function's environment, as Lambda sets it;
#: they are the same on every replay of an execution.
REGION = os.environ.get("AWS_REGION", "eu-west-1")
BATCH_SIZE = int(os.getenv("HABITS_BATCH_SIZE", "25"))
FEATURES = frozenset(os.environ.get("HABITS_FEATURES", "express,gift-wrap").split(","))
PRICES = {"lamp": 4_000, "sofa": 90_000, "mug": 900}

#: A sandbox id for the log lines, drawn once per sandbox (a cold start draws another): the
#: logs say which sandbox ran which invocation. It never reaches a durable decision.
SANDBOX = uuid.uuid4().hex[:8]


class JsonLines(logging.Formatter):
    """One JSON object per record, stamped with the wall clock as log shippers expect."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "level": record.levelname,
            "sandbox": SANDBOX,
            "message": record.getMessage(),
            "order": getattr(record, "order", None),
            "operation": getattr(record, "operationName", None),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line)


class ShipLines(logging.Handler):
    """Sends each formatted line to the log shipper (a fake in ``habits_services``)."""

    def emit(self, record: logging.LogRecord) -> None:
        services.LOG_LINES.append(self.format(record))


log = logging.getLogger("habits")
# The logger outlives a cold re-import of this module (loggers are process-wide): one handler.
if not any(isinstance(h, ShipLines) for h in log.handlers):
    _shipper = ShipLines()
    _shipper.setFormatter(JsonLines())
    log.addHandler(_shipper)
log.setLevel(logging.INFO)
log.propagate = False


async def _new_id() -> str:
    return str(uuid.uuid4())


# --- logging inside and outside steps -------------------------------------------------------


async def _reserve(order: str, item: str) -> str:
    log.info("reserving %s", item, extra={"order": order})
    return f"res-{item}-{uuid.uuid4().hex[:6]}"


@durable_callable
async def _charge(order: str, cents: int) -> str:
    if cents > 50_000:
        msg = f"card declined for {cents}"
        raise ValueError(msg)
    log.info("charging %d", cents, extra={"order": order})
    logging.getLogger().info("charge of %d for %s", cents, order)
    return f"ch-{uuid.uuid4().hex[:6]}"


@durable_execution
async def logged_checkout(event: Any) -> dict[str, Any]:
    """Logs at every turn, outside steps (on every replay) and inside them; the formatter
    stamps each line with ``datetime.now()`` and the sandbox id; the root logger (which the
    SDK filters during replay) gets some lines too. A declined card is logged with its
    traceback and the order carries on."""
    item = (event or {}).get("item", "lamp")
    log.info("checkout started in %s for %s", REGION, item)
    logging.info("checkout of %s", item)
    order = await step(_new_id, name="order-id")
    log.info("order id drawn", extra={"order": order})
    reservation = await step(lambda: _reserve(order, item), name="reserve")
    await wait(30, name="hold")
    try:
        charge: str | None = await step(
            _charge(order, PRICES[item]), name="charge", retry_strategy=RetryStrategy.none()
        )
    except CallableRuntimeError:
        log.exception("charge failed", extra={"order": order})
        charge = None
    log.warning("checkout done: %s", "paid" if charge else "unpaid", extra={"order": order})
    return {"order": order, "reservation": reservation, "paid": charge is not None}


# --- configuration from the environment and module constants --------------------------------


async def _ship_quote(item: str) -> dict[str, Any]:
    region = os.environ.get("AWS_REGION", "eu-west-1")  # inside the step: fine as well
    return {"item": item, "region": region, "cents": PRICES[item] // 10 + random.randint(0, 99)}


@durable_execution
async def configured_shipping(event: Any) -> dict[str, Any]:
    """Reads its region, batch size and feature flags outside steps (environment and module
    constants are the same on every replay) and branches on them."""
    items = list((event or {}).get("items", ["lamp", "mug"]))
    express = "express" in FEATURES and os.environ.get("HABITS_NO_EXPRESS") is None
    quotes = [await step(lambda i=i: _ship_quote(i), name=f"quote-{i}") for i in items]
    if express:
        await wait(60, name="express-pickup")
    else:
        await wait(3600, name="ground-pickup")
    batches = [items[i : i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)]
    return {"region": REGION, "express": express, "batches": len(batches), "quotes": quotes}


# --- asyncio inside step bodies -------------------------------------------------------------


async def _supplier(name: str, latency: float) -> dict[str, Any]:
    await asyncio.sleep(latency)
    return {"supplier": name, "cents": random.randint(100, 999)}


async def _best_quote() -> dict[str, Any]:
    quotes = await asyncio.gather(_supplier("a", 0.2), _supplier("b", 0.5), _supplier("c", 0.1))
    return min(quotes, key=lambda q: (q["cents"], q["supplier"]))


async def _with_deadline() -> str:
    try:
        return str(await asyncio.wait_for(_supplier("slow", 5.0), timeout=2.0))
    except TimeoutError:
        return "fallback"


async def _within_budget() -> list[str]:
    done: list[str] = []
    try:
        async with asyncio.timeout(1.5):
            for name in ("x", "y", "z"):
                await _supplier(name, 0.6)
                done.append(name)
    except TimeoutError:
        pass
    return done


@durable_execution
async def asyncio_in_steps(event: Any) -> dict[str, Any]:
    """Step bodies that fan out with ``asyncio.gather``, give up on a slow call with
    ``asyncio.wait_for`` and bound a loop with ``asyncio.timeout``."""
    best = await step(_best_quote, name="best-quote")
    fallback = await step(_with_deadline, name="with-deadline")
    await wait(5, name="settle")
    done = await step(_within_budget, name="within-budget")
    return {"best": best["supplier"], "fallback": fallback, "done": done}


# --- unusual step results -------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = {"leaf": [1, 2.5, None, True, "ü"]}
    for level in range(depth):
        value = {"level": level, "child": value, "siblings": [level, [level, [level]]]}
    return value


async def _nothing() -> None:
    return None


async def _empty() -> str:
    return ""


async def _unicode() -> str:
    return 'Zoë ✓ 日本語 🚀 \u00a0\t\n"quoted" \\ back'


async def _huge() -> int:
    return 2**200 + random.randint(0, 10)


async def _deep() -> Any:
    return _nested(60)


async def _pair() -> tuple[int, str]:
    return (random.randint(1, 9), "two")


async def _empties() -> dict[str, Any]:
    return {"list": [], "dict": {}, "zero": 0, "false": False, "neg": -0.0, "tiny": 1e-300}


@durable_execution
async def odd_results(event: Any) -> dict[str, Any]:
    """Steps returning None, "", unicode, a 200-bit integer, a structure 60 levels deep, a
    tuple (a list once checkpointed) and empty containers; the handler uses each the same way
    whether it came from the body or from the checkpoint."""
    nothing = await step(_nothing, name="nothing")
    empty = await step(_empty, name="empty")
    text = await step(_unicode, name="unicode")
    await wait(2, name="between")
    huge = await step(_huge, name="huge")
    deep = await step(_deep, name="deep")
    pair = await step(_pair, name="pair")
    empties = await step(_empties, name="empties")
    depth = 0
    node = deep
    while "child" in node:
        node, depth = node["child"], depth + 1
    number, word = pair  # a tuple live, a list on replay: unpacking reads both alike
    return {
        "nothing": nothing is None,
        "empty": empty == "" and not empty,
        "text": text,
        "huge_bits": huge.bit_length(),
        "huge_mod": huge % 1000,
        "depth": depth,
        "pair": [number, word],
        "empties": empties,
    }


# --- big maps under max_concurrency and failure tolerances ----------------------------------


async def _process(item: int) -> int:
    async def body() -> int:
        if item % 37 == 36:
            msg = f"item {item} is malformed"
            raise ValueError(msg)
        if random.random() < 0.02:
            msg = "downstream hiccup"
            raise ConnectionError(msg)
        return item * item

    return await step(
        body, name="process", retry_strategy=RetryStrategy(max_attempts=2, initial_delay=1)
    )


@durable_execution
async def big_map_tolerant(event: Any) -> dict[str, Any]:
    """120 items, ten at a time; up to five failures tolerated (three items are malformed,
    a hiccup that survives its retry may add more)."""
    batch = await durable_map(
        _process,
        list(range(120)),
        name="records",
        max_concurrency=10,
        completion_config=CompletionConfig(tolerated_failure_count=5),
    )
    return {
        "reason": batch.completion_reason.value,
        "ok": batch.success_count,
        "failed": sorted(item.index for item in batch.all if item.error is not None),
        "sum": sum(r for r in batch.get_results() if r is not None),
    }


def _at_most_ten_percent_failed(status: CompletionStatus) -> CompletionDecision:
    if status.failure_count * 10 > status.total_count:
        return CompletionDecision.complete(CompletionReason.CUSTOM_COMPLETION_FAILED)
    if status.all_completed:
        return CompletionDecision.complete(CompletionReason.CUSTOM_COMPLETION_SUCCEEDED)
    return CompletionDecision.continue_execution()


@durable_execution
async def big_map_percentage(event: Any) -> dict[str, Any]:
    """A tolerated failure percentage (10 %), which the SDK leaves to ``should_complete``."""
    batch = await durable_map(
        _process,
        list(range(100)),
        name="percent",
        max_concurrency=25,
        completion_config=CompletionConfig(should_complete=_at_most_ten_percent_failed),
    )
    return {"reason": batch.completion_reason.value, "ok": batch.success_count}


async def _ping(host: int) -> str:
    async def body() -> str:
        await asyncio.sleep(host % 7)  # some hosts answer slowly
        return f"host-{host}-{uuid.uuid4().hex[:4]}"

    return await step(body, name=f"ping-{host}")


@durable_execution
async def big_map_quorum(event: Any) -> dict[str, Any]:
    """A hundred hosts, twenty at a time: done once ninety answered."""
    batch = await durable_map(
        _ping,
        list(range(100)),
        name="hosts",
        max_concurrency=20,
        completion_config=CompletionConfig(min_successful=90),
    )
    return {"reason": batch.completion_reason.value, "answered": batch.success_count >= 90}


# --- a child context's failure caught and carried past --------------------------------------


class OutOfStock(Exception):
    """The warehouse has none left."""


async def _pick(warehouse: str) -> str:
    if warehouse == "north":
        msg = f"{warehouse} is out of stock"
        raise OutOfStock(msg)
    return f"picked-{warehouse}-{uuid.uuid4().hex[:4]}"


async def _fulfil(warehouse: str) -> str:
    slot = await step(_new_id, name=f"slot-{warehouse}")
    await wait(3, name=f"queue-{warehouse}")
    picked = await step(
        lambda: _pick(warehouse), name=f"pick-{warehouse}", retry_strategy=RetryStrategy.none()
    )
    return f"{picked}@{slot[:4]}"


@durable_execution
async def fallback_warehouse(event: Any) -> dict[str, Any]:
    """Try the north warehouse in a child context; when it fails, log it and try the south."""
    tried = []
    for warehouse in ("north", "south"):
        tried.append(warehouse)
        try:
            picked = await run_in_child_context(lambda w=warehouse: _fulfil(w), name=warehouse)
        except (CallableRuntimeError, OutOfStock) as error:
            log.warning("%s failed: %s", warehouse, type(error).__name__)
            continue
        return {"picked": picked, "tried": tried}
    return {"picked": None, "tried": tried}


# --- a chained invoke's failure (or time-out) caught and carried past -----------------------


@durable_execution
async def flaky_pricing(event: Any) -> dict[str, Any]:
    """The invoked function: prices in a step, refuses sofas."""
    await wait(2, name="warm-up")
    if event["item"] == "sofa":
        msg = "no price for sofas"
        raise LookupError(msg)
    cents = await step(lambda: _list_price(event["item"]), name="price")
    return {"item": event["item"], "cents": cents}


async def _list_price(item: str) -> int:
    return PRICES[item] + random.randint(0, 50)


@durable_execution
async def price_or_default(event: Any) -> dict[str, Any]:
    """Ask the pricing function for each item; a failed or timed-out invoke prices it at the
    list price instead, and the order goes on."""
    prices = {}
    for item in (event or {}).get("items", ["lamp", "sofa"]):
        try:
            answer = await invoke("pricing", {"item": item}, name=f"price-{item}")
            prices[item] = answer["cents"]
        except CallableRuntimeError as error:
            log.info("pricing %s failed (%s): list price", item, error.error_type)
            prices[item] = PRICES[item]
    total = await step(lambda: _total(prices), name="total")
    return {"prices": prices, "total": total}


async def _total(prices: dict[str, int]) -> int:
    return sum(prices.values())


# --- at-most-once steps with retries, made safe by an idempotency key -----------------------


@durable_callable
async def _send_receipt(key: str, to: str) -> str:
    attempt = get_step_context().attempt
    if attempt == 1 and random.random() < 0.3:
        msg = "mail server busy"
        raise ConnectionError(msg)
    return services.send_mail(key, to)


@durable_execution
async def receipt_at_most_once(event: Any) -> dict[str, Any]:
    """The receipt is sent at most once per attempt and retried up to three times; the mail
    server deduplicates on the key, so an interrupted attempt is harmless."""
    key = await step(_new_id, name="receipt-key")
    receipt = await step(
        _send_receipt(key, "ana@example.com"),
        name="send-receipt",
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        retry_strategy=RetryStrategy(max_attempts=3, initial_delay=5),
    )
    await wait(10, name="cool-off")
    return {"receipt": receipt}


# --- a callback time-out that ties with a wait ----------------------------------------------


async def _remind(ticket: str) -> str:
    return f"reminded-{ticket[:6]}"


@durable_execution
async def reminder_ties_timeout(event: Any) -> dict[str, Any]:
    """A reviewer has 60 s to answer; a reminder branch also waits 60 s. Both deadlines are
    equal, so either may come first; the handler records both, whichever order."""
    ticket = await step(_new_id, name="ticket")
    callback = await create_callback(name="reviewer", timeout=60)

    async def answer() -> str:
        try:
            text = await callback.result()
        except CallbackError as error:
            return f"silent ({type(error).__name__})"
        return f"answered {json.loads(text) if text else None}"

    async def reminder() -> str:
        await wait(60, name="reminder-due")
        return await step(lambda: _remind(ticket), name="remind")

    batch = await parallel([answer, reminder], name="review")
    return {"ticket": ticket, "outcomes": batch.get_results()}


@durable_execution
async def first_of_answer_or_wait(event: Any) -> dict[str, Any]:
    """The first of an answer (or the callback's 60 s time-out) and a 60 s wait wins: equal
    deadlines race, and the handler takes what comes."""
    callback = await create_callback(name="approver", timeout=60)

    async def answer() -> str:
        try:
            text = await callback.result()
        except CallbackError:
            return "timed-out"
        return f"approved {json.loads(text) if text else None}"

    async def patience() -> str:
        await wait(60, name="patience")
        return "waited"

    batch = await parallel(
        [answer, patience], name="race", completion_config=CompletionConfig(min_successful=1)
    )
    return {"first": [r for r in batch.get_results() if r][:1]}


# --- a poller next to a callback -------------------------------------------------------------


async def _start_export() -> dict[str, Any]:
    job = str(uuid.uuid4())
    done_at = time.time() + random.randint(20, 200)
    services.start_job(job, done_at)
    return {"job": job, "done_at": done_at}


async def _check_export(state: Any) -> Any:
    job = state["job"]
    return {
        **state,
        "polls": state.get("polls", 0) + 1,
        "done": services.job_done(job, time.time()),
    }


def _every_30s(state: Any, attempt: int) -> int | None:
    return None if state["done"] or attempt >= 12 else 30


@durable_execution
async def export_with_callback(event: Any) -> dict[str, Any]:
    """Start an export, then at once wait for the customer's go-ahead (a callback) and poll
    the export until it is done (wait_for_condition); carry on with both."""
    started = await step(_start_export, name="start-export")
    callback = await create_callback(name="go-ahead", timeout=600)
    go, final = await asyncio.gather(
        callback.result(),
        wait_for_condition(
            _check_export, initial_state=started, name="export", polling_strategy=_every_30s
        ),
    )
    return {"go": json.loads(go) if go else None, "done": final["done"], "polls": final["polls"]}


# --- the same step name in a loop and in sibling branches -----------------------------------


async def _fetch_page(page: int) -> dict[str, Any]:
    more = page < 4 and random.random() < 0.9
    return {"page": page, "rows": [random.randint(0, 99) for _ in range(3)], "more": more}


async def _charge_line(line: str) -> str:
    return f"{line}-{uuid.uuid4().hex[:4]}"


@durable_execution
async def reused_names(event: Any) -> dict[str, Any]:
    """Every page is fetched by a step named "fetch-page", every branch charges in a step
    named "charge" after a wait named "settle"; names repeat, ids do not."""
    rows: list[int] = []
    page = 0
    while True:
        fetched = await step(lambda p=page: _fetch_page(p), name="fetch-page")
        rows.extend(fetched["rows"])
        if not fetched["more"]:
            break
        page += 1
        await wait(1, name="throttle")

    def branch(line: str) -> Any:
        async def run() -> str:
            await wait(1 + len(line) % 2, name="settle")
            return await step(lambda: _charge_line(line), name="charge")

        return run

    batch = await parallel([branch("a"), branch("bb"), branch("ccc")], name="lines")
    return {"pages": page + 1, "rows": len(rows), "charged": len(batch.get_results())}


# --- branches and items that return early ---------------------------------------------------


@durable_execution
async def early_returns(event: Any) -> dict[str, Any]:
    """Branches return before their durable calls when there is nothing to do, and from
    inside a loop once they found what they looked for; map items skip what they need not
    process."""
    wanted = (event or {}).get("wanted", 3)

    async def nothing_to_do() -> str | None:
        if not FEATURES:
            await wait(5, name="never")
        return None

    async def search() -> int | None:
        for probe in range(10):
            value = await step(lambda p=probe: _probe(p), name=f"probe-{probe}")
            if value == wanted:
                return probe
            if probe >= 5:
                return None
        return None

    async def guarded() -> str:
        try:
            token = await step(_new_id, name="guarded-token")
            if token:
                return token[:4]
            return "none"
        finally:
            log.info("guarded branch left")

    batch = await parallel([nothing_to_do, search, guarded], name="branches")

    async def maybe(item: int) -> int | None:
        if item % 2:
            return None
        return await step(lambda: _probe(item), name="even")

    mapped = await durable_map(maybe, list(range(6)), name="evens")
    return {"branches": batch.get_results()[:2], "evens": mapped.get_results()}


async def _probe(value: int) -> int:
    return value


# --- unnamed steps and gather(return_exceptions=True) ---------------------------------------


async def _lookup(user: int) -> dict[str, Any]:
    if user == 3:
        msg = f"user {user} not found"
        raise KeyError(msg)
    return {"user": user, "score": random.randint(0, 100)}


@durable_execution
async def gather_what_succeeds(event: Any) -> dict[str, Any]:
    """Unnamed steps in a loop, then five lookups gathered with ``return_exceptions=True``:
    the handler keeps what succeeded and lists what failed."""
    warmups = [await step(_new_id) for _ in range(3)]
    results = await asyncio.gather(
        *(
            step(lambda u=u: _lookup(u), name=f"lookup-{u}", retry_strategy=RetryStrategy.none())
            for u in range(5)
        ),
        return_exceptions=True,
    )
    found = [r["user"] for r in results if isinstance(r, dict)]
    failed = [type(r).__name__ for r in results if isinstance(r, BaseException)]
    await wait(1, name="after")
    return {"warmups": len(set(warmups)), "found": found, "failed": failed}


# --- round two: logging in every kind of code the SDK runs -----------------------------------


class Backoff:
    """A retry strategy that logs each decision (it runs outside the step, after an attempt)."""

    def __call__(self, error: Exception, attempts_made: int) -> int | None:
        if attempts_made >= 3:
            log.error("giving up after %d attempts: %s", attempts_made, error)
            return None
        log.warning("attempt %d failed (%s), retrying", attempts_made, type(error).__name__)
        return 2 * attempts_made


async def _flaky_lookup(key: str) -> str:
    attempt = get_step_context().attempt
    log.info("lookup %s, attempt %d", key, attempt, extra={"order": key})
    if random.random() < 0.4:
        msg = f"lookup of {key} timed out"
        raise ConnectionError(msg)
    return f"{key}={random.randint(0, 9)}"


def _log_polls(state: Any, attempt: int) -> int | None:
    log.info("poll %d: %s", attempt, state)
    return None if state["ready"] or attempt >= 5 else 10


async def _poll_ready(state: Any) -> Any:
    log.info("polling")
    return {"ready": random.random() < 0.5}


async def _notify_reviewer() -> str:
    request = uuid.uuid4().hex[:8]
    log.info("review request %s sent", request)
    return request


requests_log = logging.LoggerAdapter(log, {"order": "batch"})


@durable_execution
async def logging_everywhere(event: Any) -> dict[str, Any]:
    """Logs from a retry strategy, a polling strategy, a wait_for_callback submitter, map
    items, parallel branches and child contexts, through a LoggerAdapter and the root logger;
    times its own work with ``time.monotonic()`` for the logs."""
    started = time.monotonic()
    requests_log.info("batch started")

    async def item(key: str) -> str:
        logging.info("item %s", key)
        return await step(
            lambda: _flaky_lookup(key), name=f"lookup-{key}", retry_strategy=Backoff()
        )

    looked_up = await durable_map(
        item,
        ["a", "b", "c"],
        name="lookups",
        completion_config=CompletionConfig(tolerated_failure_count=3),
    )
    ready = await wait_for_condition(
        _poll_ready, initial_state={"ready": False}, name="ready", polling_strategy=_log_polls
    )

    async def ask() -> str:
        log.info("asking the reviewer")
        try:
            answer = await wait_for_callback(_notify_reviewer_submitter, name="review", timeout=90)
        except CallbackError as error:
            log.warning("no review: %s", type(error).__name__)
            return "unreviewed"
        return f"reviewed {answer}"

    async def tidy() -> str:
        async def inner() -> str:
            log.info("tidying")
            await wait(3, name="tidy-wait")
            return await step(_new_id, name="tidy-id")

        return (await run_in_child_context(inner, name="tidy"))[:4]

    batch = await parallel([ask, tidy], name="wrap-up")
    log.info("batch done in %.3f s of wall time", time.monotonic() - started)
    return {
        "ok": looked_up.success_count,
        "ready": ready["ready"],
        "wrap_up": batch.get_results()[:1],
    }


async def _notify_reviewer_submitter() -> str:
    return await _notify_reviewer()


# --- values the JSON of other runners would change ---------------------------------------------


async def _typed() -> dict[str, Any]:
    return {
        "bytes": os.urandom(4),
        "uuid": uuid.uuid4(),
        "day": dt.date(2030, 1, 31),
        "floats": [0.1 + 0.2, float("inf"), -float("inf"), 1e308],
        "by_id": {7: "seven", 11: "eleven"},
        "pairs": [(1, "a"), (2, "b")],
    }


@durable_execution
async def typed_results(event: Any) -> dict[str, Any]:
    """A step returning bytes, a UUID, a date, infinities, a dict keyed by ints and tuples:
    the handler reads each the same way live and replayed."""
    typed = await step(_typed, name="typed")
    await wait(dt.timedelta(seconds=5), name="settle")
    return {
        "bytes": len(typed["bytes"]),
        "uuid_version": uuid.UUID(str(typed["uuid"])).version,
        "day": str(typed["day"]),
        "inf": [f for f in typed["floats"] if f in (float("inf"), -float("inf"))]
        == [
            float("inf"),
            -float("inf"),
        ],
        "ids": sorted(str(k) for k in typed["by_id"]),
        "pairs": [list(p) for p in typed["pairs"]],
    }


# --- unicode names, timedelta durations, item names --------------------------------------------


async def _pay(amount: int) -> str:
    return f"bezahlt-{amount}-{uuid.uuid4().hex[:4]}"


def _ascii_name(text: str) -> str:
    """The service takes printable ASCII names only (``[\\x20-\\x7E]+``, 1-256)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()[:256] or "-"


@durable_execution
async def unicode_names(event: Any) -> dict[str, Any]:
    """Names derived from German, Japanese and emoji text (made ASCII: the service's names are
    printable ASCII, and the SDK does not check), unicode everywhere else; durations as
    timedeltas; map items named by an ``item_namer``."""
    paid = await step(lambda: _pay(42), name=_ascii_name("Zahlung für Bestellung ✓"))
    await wait(dt.timedelta(minutes=2), name=_ascii_name("待機 ⏳ pause"))
    callback = await create_callback(
        name="Freigabe",
        timeout=dt.timedelta(hours=1),
        heartbeat_timeout=dt.timedelta(minutes=10),
    )
    try:
        answer = await callback.result()
    except CallbackError as error:
        answer = type(error).__name__

    async def ship(city: str) -> str:
        return await step(lambda: _pay(len(city)), name=_ascii_name(f"Versand nach {city}"))

    shipped = await durable_map(
        ship,
        ["Zürich", "東京", "São Paulo"],
        name="Versand",
        item_namer=lambda city, i: f"{i}: {_ascii_name(city)}",
    )
    return {"paid": paid[:9], "answer": answer, "shipped": shipped.get_results()}


# --- a child context retried by the handler, under the same name --------------------------------


async def _book_room(attempt: int) -> str:
    if random.random() < 0.5:
        msg = f"no room on attempt {attempt}"
        raise RuntimeError(msg)
    return f"room-{random.randint(100, 999)}"


@durable_execution
async def retry_child_by_hand(event: Any) -> dict[str, Any]:
    """The handler retries a child context itself: each try is a context named "book" whose
    step is named "room"; after a failure it waits a minute and tries again, three times."""
    for attempt in range(1, 4):

        async def book(attempt: int = attempt) -> str:
            hold = await step(_new_id, name="hold")
            room = await step(
                lambda: _book_room(attempt), name="room", retry_strategy=RetryStrategy.none()
            )
            return f"{room}/{hold[:4]}"

        try:
            booked = await run_in_child_context(book, name="book")
        except CallableRuntimeError:
            log.info("booking attempt %d failed", attempt)
            await wait(60, name="before-retry")
            continue
        return {"booked": booked, "attempts": attempt}
    return {"booked": None, "attempts": 3}


# --- at-most-once steps inside a throttled map -------------------------------------------------


@durable_callable
async def _notify(key: str, user: int) -> str:
    if random.random() < 0.2:
        msg = "push service busy"
        raise ConnectionError(msg)
    return services.send_mail(key, f"user-{user}")


async def _notify_user(user: int) -> str:
    key = await step(_new_id, name=f"key-{user}")
    return await step(
        _notify(key, user),
        name=f"notify-{user}",
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        retry_strategy=RetryStrategy(max_attempts=3, initial_delay=2),
    )


@durable_execution
async def notify_all_at_most_once(event: Any) -> dict[str, Any]:
    """Twelve users, three at a time, each notified at most once per attempt (the push service
    deduplicates on the key); two failures tolerated."""
    batch = await durable_map(
        _notify_user,
        list(range(12)),
        name="notify",
        max_concurrency=3,
        completion_config=CompletionConfig(tolerated_failure_count=2),
    )
    return {"sent": batch.success_count, "reason": batch.completion_reason.value}


# --- an invoke chain two deep, each level catching the level below -----------------------------


@durable_execution
async def inventory_service(event: Any) -> dict[str, Any]:
    """Invoked by the warehouse: counts stock after a long recount (two hours)."""
    await wait(dt.timedelta(hours=2), name="recount")
    count = await step(lambda: _list_price(event["item"]), name="count")
    return {"item": event["item"], "count": count % 7}


@durable_execution
async def warehouse_service(event: Any) -> dict[str, Any]:
    """Invoked by the shop: asks inventory, falls back to "unknown" if inventory fails."""
    try:
        stock = await invoke("inventory", {"item": event["item"]}, name="ask-inventory")
    except CallableRuntimeError as error:
        return {"item": event["item"], "count": None, "why": error.error_type}
    return {**stock, "why": None}


@durable_execution
async def stock_check_chain(event: Any) -> dict[str, Any]:
    """Shop -> warehouse -> inventory; any level's failure or time-out is carried past."""
    try:
        stock = await invoke("warehouse", {"item": "lamp"}, name="ask-warehouse")
    except CallableRuntimeError as error:
        stock = {"item": "lamp", "count": None, "why": f"warehouse {error.error_type}"}
    stamp = await step(_new_id, name="stamp")
    return {"stock": stock, "stamp": stamp[:4]}


#: Every handler of this corpus, with what its scenarios need (the shape of
#: ``everyday.CORPUS``).
CORPUS: dict[str, dict[str, Any]] = {
    "logged_checkout": {"handler": logged_checkout, "before_run": reset},
    "logged_checkout_declined": {
        "handler": logged_checkout,
        "input": {"item": "sofa"},
        "before_run": reset,
    },
    "configured_shipping": {"handler": configured_shipping},
    "asyncio_in_steps": {"handler": asyncio_in_steps},
    "odd_results": {"handler": odd_results},
    "big_map_tolerant": {"handler": big_map_tolerant},
    "big_map_percentage": {"handler": big_map_percentage},
    "big_map_quorum": {"handler": big_map_quorum},
    "fallback_warehouse": {"handler": fallback_warehouse, "before_run": reset},
    "price_or_default": {
        "handler": price_or_default,
        "functions": {"pricing": flaky_pricing},
        "before_run": reset,
    },
    "receipt_at_most_once": {"handler": receipt_at_most_once, "before_run": reset},
    "reminder_ties_timeout": {"handler": reminder_ties_timeout, "callbacks": {"reviewer": "ok"}},
    "first_of_answer_or_wait": {
        "handler": first_of_answer_or_wait,
        "callbacks": {"approver": True},
    },
    "export_with_callback": {
        "handler": export_with_callback,
        "callbacks": {"go-ahead": {"go": True}},
        "before_run": reset,
    },
    "reused_names": {"handler": reused_names},
    "early_returns": {"handler": early_returns},
    "gather_what_succeeds": {"handler": gather_what_succeeds},
    "logging_everywhere": {
        "handler": logging_everywhere,
        "callbacks": {"review": "lgtm"},
        "before_run": reset,
    },
    "typed_results": {"handler": typed_results},
    "unicode_names": {"handler": unicode_names, "callbacks": {"Freigabe": "ja ✓ 👍"}},
    "retry_child_by_hand": {"handler": retry_child_by_hand},
    "notify_all_at_most_once": {"handler": notify_all_at_most_once, "before_run": reset},
    "stock_check_chain": {
        "handler": stock_check_chain,
        "functions": {"warehouse": warehouse_service, "inventory": inventory_service},
    },
}
