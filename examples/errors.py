"""Correct handlers about exceptions and error handling (the session-23 false-flag audit F).

Real handlers raise and catch: their client libraries define exception classes with fields
of their own, errors are chained and carry odd messages, retry strategies are keyed on types
and on message text, and failures of steps, child contexts, batch items, callbacks and
invokes are caught and compensated, or turned into the execution's own deliberate failure.
These do:

- exception classes with constructor arguments and attributes (``GatewayTimeout(gateway,
  seconds)``, ``PaymentDeclined(code, cents)``, a ``FraudHold(score)`` whose ``__str__`` reads
  its fields; none of them can be copied), raised in steps, retried by type, caught after
  the SDK checkpointed them, as the ``CallableRuntimeError`` the SDK raises for them live and
  on replay (type name and message kept, class and fields gone);
- ``raise ... from ...`` chains and implicit chaining inside a step, and a retry strategy
  that retries a wrapped error by its ``__cause__``;
- messages that are unicode, multi-line, full of ANSI colour codes, 50 KB long, empty
  (``str()`` of ``TimeoutError()``), the quoted key of a ``KeyError``, and the default
  ``repr`` of an object (its address, a new one on every run);
- retry strategies keyed on message substrings and on a regular expression
  (``retryable_errors``), and on ``KeyError`` only while ``ValueError`` and ``IndexError``
  fail at once, the rest caught and turned into a result;
- an ``ExceptionGroup`` from an ``asyncio.TaskGroup`` inside a step body, retried by a
  strategy that splits the group (connection resets and the handler's own ``ShardBusy``),
  and ``except*`` in the handler (no durable call inside the clause: SDK finding 10);
- failures of child contexts (raised in the child, raised by a step in it, two children
  deep), of ``map`` items and ``parallel`` branches (``BatchResult.failed()``, ``get_errors``,
  ``throw_if_error``), of a ``wait_for_callback`` whose submitter cannot reach the desk, of
  a chained invoke, and of a ``wait_for_condition`` check (caught as the check's own type
  live and ``CallableRuntimeError`` on replay, SDK finding 8), each caught at the parent and
  compensated;
- an at-most-once charge that is never retried, whose interruption (a sandbox that died
  inside it) is caught as ``StepInterruptedError`` live and as ``CallableRuntimeError`` of that
  type on replay, and reconciled by asking the gateway;
- executions that fail on purpose after partial work: with a 50 KB report, with a re-raised
  step failure after cleanup steps, by a failed ``assert`` and by a validation error raised
  outside any step on a step's result.

Every one is correct durable code: ids, random draws and the clock only inside steps; what
runs outside a step is the same on every replay; results are JSON. No oracle may flag any of
them under any fault plan or timing (``tests/harness/test_errors_corpus.py`` at CI size;
``benchmarks/same_world.py --corpus errors`` is the long campaign).

Not here: a durable call in a ``finally`` clause around code that may suspend (a wait, a
step's retry back-off). The SDK suspends by raising ``SuspendExecution`` through the
handler, so the ``finally`` clause runs, and its step runs, on every suspension: the cleanup
happens before the work it cleans up after. Cleanup steps go in ``except Exception`` and
``else`` clauses (``cleanup_after_failure``); ``finally`` keeps to local, non-durable
cleanup.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import uuid
from typing import Any

import errors_services as services
from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    RetryStrategy,
    StepInterruptedError,
    StepSemantics,
    durable_execution,
    get_wait_for_callback_context,
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

#: A compensation runs at most once per attempt, retried if the sandbox died during one (the
#: partner undoes idempotently, so a repeated request is harmless).
COMPENSATE: dict[str, Any] = {
    "step_semantics": StepSemantics.AT_MOST_ONCE_PER_RETRY,
    "retry_strategy": RetryStrategy(max_attempts=4, initial_delay=2),
}


async def _new_id() -> str:
    return str(uuid.uuid4())


# --- exception classes with fields of their own -----------------------------------------------


class GatewayTimeout(Exception):
    """The payment gateway did not answer in time (worth retrying)."""

    def __init__(self, gateway: str, seconds: float) -> None:
        super().__init__(f"{gateway} did not answer within {seconds:.1f}s")
        self.gateway = gateway
        self.seconds = seconds


class PaymentDeclined(Exception):
    """The card was declined: a business answer no retry changes."""

    def __init__(self, code: str, cents: int) -> None:
        super().__init__(f"declined ({code}) for {cents} cents")
        self.code = code
        self.cents = cents


class FraudHold(Exception):
    """The gateway holds the payment for review; its message is built from its fields."""

    def __init__(self, score: int, *, reviewer: str = "risk-desk") -> None:
        super().__init__()
        self.score = score
        self.reviewer = reviewer

    def __str__(self) -> str:
        return f"held for review by {self.reviewer} (score {self.score})"


async def _charge(key: str, cents: int) -> dict[str, Any]:
    if random.random() < 0.3:
        raise GatewayTimeout("acme-pay", round(random.uniform(2.0, 9.0), 1))
    if cents > 100_000:
        raise PaymentDeclined("insufficient_funds", cents)
    if cents % 1000 == 666:
        raise FraudHold(90 + cents % 7)
    return {"charged": services.charge(key, cents), "auth": uuid.uuid4().hex[:10]}


async def _notify(key: str, text: str) -> str:
    return services.notify(key, text)


@durable_execution
async def charge_with_typed_errors(event: Any) -> dict[str, Any]:
    """Charges a card; a gateway time-out is retried by type, a decline is caught and the
    customer told, and a fraud hold fails the execution on purpose as the business's own
    error, raised from what the SDK raised."""
    cents = int((event or {}).get("cents", 4200))
    order = await step(_new_id, name="order-id")
    try:
        receipt = await step(
            lambda: _charge(order, cents),
            name="charge",
            retry_strategy=RetryStrategy(
                max_attempts=4, initial_delay=2, retryable_error_types=[GatewayTimeout]
            ),
        )
    except CallableRuntimeError as error:
        message = error.message or ""
        if error.error_type == "PaymentDeclined":
            code = message.split("(", 1)[1].split(")", 1)[0]
            await step(lambda: _notify(order, f"declined: {code}"), name="tell-customer")
            return {"order": order[:8], "paid": False, "code": code}
        if error.error_type == "FraudHold":
            score = int(re.findall(r"score (\d+)", message)[0])
            await step(lambda: _notify(order, "held"), name="tell-risk-desk")
            raise FraudHold(score, reviewer="checkout") from error
        # The gateway stayed down through every attempt (or something else went wrong).
        return {"order": order[:8], "paid": False, "gave_up": error.error_type}
    return {"order": order[:8], "paid": True, "cents": receipt["charged"]}


# --- raise ... from ...: a configuration error and its cause ----------------------------------


class ConfigError(Exception):
    """A region's configuration cannot be used (or cannot be read: see its cause)."""


class StoreUnavailable(Exception):
    """The configuration store's client could not reach it."""

    def __init__(self, store: str, status: int) -> None:
        super().__init__(f"{store} answered {status}")
        self.store = store
        self.status = status


def _read_store(region: str) -> dict[str, str]:
    if random.random() < 0.2:
        raise StoreUnavailable("config-store", random.choice([502, 503]))
    return services.CONFIG[region]


async def _load_settings(region: str) -> dict[str, Any]:
    try:
        raw = _read_store(region)
    except StoreUnavailable as down:
        # The library's own error, wrapped: the cause says whether to try again.
        msg = f"region {region}: the configuration could not be read"
        raise ConfigError(msg) from down
    try:
        timeout = int(raw["timeout"])
    except KeyError as missing:
        msg = f"region {region}: no setting {missing}"
        raise ConfigError(msg) from missing
    except ValueError:
        # Implicitly chained (__context__), as a bare raise inside an except clause is.
        msg = f"region {region}: timeout {raw['timeout']!r} is not a number of seconds"
        raise ConfigError(msg)  # noqa: B904
    return {"region": region, "endpoint": raw["endpoint"], "timeout": timeout}


def _retry_unreadable(error: Exception, attempt: int) -> int | None:
    """Retries a configuration error caused by the store being unavailable, four times."""
    if attempt < 5 and isinstance(error.__cause__, StoreUnavailable):
        return 2 * attempt
    return None


@durable_execution
async def settings_with_causes(event: Any) -> dict[str, Any]:
    """Loads the first region whose settings are usable; an error caused by the store being
    down is retried (the strategy reads the cause), an unusable region's chained error is
    caught and noted, the next region tried."""
    regions = list((event or {}).get("regions", ["eu-west-1", "eu-central-1", "us-east-1"]))
    problems: dict[str, str] = {}
    for region in regions:
        try:
            settings = await step(
                lambda r=region: _load_settings(r),
                name=f"settings-{region}",
                retry_strategy=_retry_unreadable,
            )
        except CallableRuntimeError as error:
            problems[region] = f"{error.error_type}: {error.message}"
            continue
        await wait(3, name=f"warm-up-{region}")
        return {"using": settings, "problems": problems}
    return {"using": None, "problems": problems}


# --- odd messages ---------------------------------------------------------------------------

#: The failures a step of ``odd_messages`` raises, by case.
_REPORT_LINE = "row {:04d}: amount 'n/a' is not a decimal; expected e.g. 12.50 — Zeile übersprungen"


def _odd_error(case: str) -> Exception:
    if case == "unicode":
        return ValueError("Zahlung für Bestellung №42 abgelehnt ✗ — 支払いが拒否されました 🚫")
    if case == "multiline":
        return RuntimeError(
            'upstream said:\n\tTraceback (most recent call last):\n\t  File "svc.py", '
            "line 3, in <module>\n\tZeroDivisionError: division by zero\n\n(end of report)"
        )
    if case == "ansi":
        return OSError("\x1b[31mERROR\x1b[0m disk \x1b[1mfull\x1b[0m on /var/spool\r\n")
    if case == "huge":
        return ValueError("\n".join(_REPORT_LINE.format(i) for i in range(600)))
    if case == "empty":
        return TimeoutError()
    if case == "errno":
        return FileNotFoundError(2, "No such file or directory", "/data/in.csv")
    if case == "key":
        return KeyError("sku-9")
    if case == "json":
        return ValueError('{"error": {"code": 409, "detail": "conflict \\"v2\\""}}')
    msg = f"unknown case {case}"
    raise AssertionError(msg)


ODD_CASES = ("unicode", "multiline", "ansi", "huge", "empty", "errno", "key", "json")


async def _fail_oddly(case: str) -> None:
    await asyncio.sleep(0)
    raise _odd_error(case)


@durable_execution
async def odd_messages(event: Any) -> dict[str, Any]:
    """Each case's step fails with an odd message (no retries); the handler summarises what
    the SDK handed it: the type's name and the message, measured and hashed."""
    seen: dict[str, dict[str, Any]] = {}
    for case in ODD_CASES:
        try:
            await step(
                lambda c=case: _fail_oddly(c),
                name=f"odd-{case}",
                retry_strategy=RetryStrategy.none(),
            )
        except CallableRuntimeError as error:
            text = error.message or ""
            seen[case] = {
                "type": error.error_type,
                "chars": len(text),
                "lines": len(text.splitlines()),
                "sha": hashlib.sha256(text.encode()).hexdigest()[:12],
                "first": text.splitlines()[0][:30] if text else "",
            }
    return seen


# --- a message with an object's default repr (its address) -------------------------------------


class Parcel:
    """A parcel without a ``__repr__`` of its own: formatting it prints its address."""

    def __init__(self, grams: int) -> None:
        self.grams = grams


async def _ship(grams: int) -> str:
    parcel = Parcel(grams)
    if grams > 30_000:
        msg = f"cannot ship {parcel}: {grams} g is over the 30 kg limit"
        raise ValueError(msg)
    return f"label-{grams:06d}"


@durable_execution
async def ship_or_explain(event: Any) -> dict[str, Any]:
    """Ships each parcel; one over the limit fails with a message naming the parcel object
    (a new address on every run), caught and reported with its message as recorded; the labels
    are the carrier's, by weight, the same on every run."""
    weights = list((event or {}).get("grams", [1200, 45_000, 800]))
    labels: list[str] = []
    refused: list[str] = []
    for index, grams in enumerate(weights):
        try:
            labels.append(
                await step(
                    lambda g=grams: _ship(g),
                    name=f"ship-{index}",
                    retry_strategy=RetryStrategy.none(),
                )
            )
        except CallableRuntimeError as error:
            refused.append(error.message or "")
        await wait(1, name=f"pace-{index}")
    return {"labels": len(labels), "refused": refused}


# --- a deliberate failure with a 50 KB report, after partial work ------------------------------


class BatchRejected(Exception):
    """The batch had invalid rows: the report lists every one."""

    def __init__(self, batch: str, report: list[str]) -> None:
        super().__init__(f"batch {batch} rejected, {len(report)} rows:\n" + "\n".join(report))
        self.batch = batch
        self.report = report


async def _fetch_rows(count: int, bad_every: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        amount = "n/a" if bad_every and i % bad_every == 0 else f"{random.randint(1, 999)}.50"
        rows.append({"row": i, "amount": amount})
    return rows


async def _accept(rows: list[dict[str, Any]]) -> int:
    return sum(int(float(r["amount"]) * 100) for r in rows)


@durable_execution
async def rejected_batch(event: Any) -> dict[str, Any]:
    """Loads a batch, books the valid rows, and fails the execution with a report of every
    invalid row (multi-line, unicode, about 50 KB) when there are any."""
    count = int((event or {}).get("rows", 1200))
    bad_every = int((event or {}).get("bad_every", 2))
    batch = await step(_new_id, name="batch-id")
    rows = await step(lambda: _fetch_rows(count, bad_every), name="fetch-rows")
    good = [r for r in rows if r["amount"] != "n/a"]
    bad = [r for r in rows if r["amount"] == "n/a"]
    booked = await step(lambda: _accept(good), name="book-valid-rows")
    await wait(2, name="settle")
    if bad:
        raise BatchRejected(batch[:8], [_REPORT_LINE.format(r["row"]) for r in bad])
    return {"batch": batch[:8], "booked_cents": booked, "rows": len(rows)}


# --- retries keyed on message text ---------------------------------------------------------


class HttpError(Exception):
    """An HTTP client's error: its message starts with the status."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.url = url


#: Statuses the API answers for a resource, every time.
_STATUS = {"orders": 200, "ghosts": 404, "broken": 500}


async def _get(resource: str) -> dict[str, Any]:
    url = f"https://api.example/{resource}"
    if random.random() < 0.3:
        raise HttpError(random.choice([429, 503]), url)
    status = _STATUS.get(resource, 200)
    if status != 200:
        raise HttpError(status, url)
    return {"resource": resource, "etag": uuid.uuid4().hex[:8]}


def _kind(message: str) -> str:
    for marker, kind in (("HTTP 404", "missing"), ("HTTP 5", "server"), ("HTTP 429", "busy")):
        if marker in message:
            return kind
    return "other"


@durable_execution
async def retry_by_message(event: Any) -> dict[str, Any]:
    """Fetches resources; a step retries errors whose message names a transient status (by
    substring, and by regular expression for a second look), others fail at once and are
    classified by their message."""
    resources = list((event or {}).get("resources", ["orders", "ghosts", "broken"]))
    fetched: dict[str, Any] = {}
    for resource in resources:
        try:
            fetched[resource] = await step(
                lambda r=resource: _get(r),
                name=f"get-{resource}",
                retry_strategy=RetryStrategy(
                    max_attempts=4, initial_delay=1, retryable_errors=["HTTP 503", "HTTP 429"]
                ),
            )
        except CallableRuntimeError as error:
            fetched[resource] = {"failed": _kind(error.message or "")}
    try:
        again = await step(
            lambda: _get("orders"),
            name="get-orders-again",
            retry_strategy=RetryStrategy(
                max_attempts=3, initial_delay=2, retryable_errors=[re.compile(r"HTTP (429|5\d\d)")]
            ),
        )
        fetched["again"] = again["resource"]
    except CallableRuntimeError as error:
        fetched["again"] = {"failed": _kind(error.message or "")}
    return {r: v if isinstance(v, dict) and "failed" in v else "ok" for r, v in fetched.items()}


# --- KeyError retried, ValueError and IndexError not -------------------------------------------


async def _read_replica(sku: str) -> dict[str, Any]:
    # The replica lags behind the writer: a record may not be there yet.
    if random.random() < 0.35:
        raise KeyError(sku)
    raw = services.RECORDS[sku]
    if not raw:
        msg = f"record for {sku!r} is empty"
        raise ValueError(msg)
    fields = raw.split("|")
    return {"sku": sku, "stock": int(fields[0]), "currency": fields[1], "cents": int(fields[2])}


@durable_execution
async def replica_lookups(event: Any) -> dict[str, Any]:
    """Reads records from a lagging replica: a missing record (``KeyError``) is retried, a
    corrupt one (``ValueError``) or a short one (``IndexError``) fails at once; each caught
    per record."""
    skus = list((event or {}).get("skus", ["lamp", "vase", "sofa", "mug"]))
    found: dict[str, Any] = {}
    for sku in skus:
        try:
            record = await step(
                lambda s=sku: _read_replica(s),
                name=f"read-{sku}",
                retry_strategy=RetryStrategy(
                    max_attempts=5,
                    initial_delay=1,
                    backoff_rate=1.5,
                    retryable_error_types=[KeyError],
                ),
            )
            found[sku] = record["stock"]
        except CallableRuntimeError as error:
            found[sku] = {"error": error.error_type, "message": error.message}
    return found


# --- an ExceptionGroup from a TaskGroup inside a step; except* in the handler ------------------


class ShardOffline(Exception):
    def __init__(self, shard: str) -> None:
        super().__init__(f"shard {shard} is offline")
        self.shard = shard


class ShardBusy(Exception):
    """The shard is busy for a moment (worth retrying)."""

    def __init__(self, shard: str, retry_after: int) -> None:
        super().__init__(f"shard {shard} is busy, retry after {retry_after}s")
        self.shard = shard
        self.retry_after = retry_after


async def _fetch_shard(shard: str, offline: list[str]) -> int:
    await asyncio.sleep(0.001 * (1 + "abc".index(shard)))
    if shard in offline:
        raise ShardOffline(shard)
    draw = random.random()
    if draw < 0.1:
        msg = f"shard {shard} reset the connection"
        raise ConnectionResetError(msg)
    if draw < 0.25:
        raise ShardBusy(shard, 2)
    return 100 * (1 + "abc".index(shard))


async def _fetch_all(offline: list[str]) -> dict[str, int]:
    async with asyncio.TaskGroup() as group:
        tasks = {s: group.create_task(_fetch_shard(s, offline)) for s in "abc"}
    return {s: t.result() for s, t in tasks.items()}


def _retry_transient_groups(error: Exception, attempt: int) -> int | None:
    """Retries a TaskGroup's failure when every error in it is transient: a connection
    error, or a busy shard (after the longest wait a busy shard asked for)."""
    if attempt >= 4 or not isinstance(error, ExceptionGroup):
        return None
    busy, rest = error.split((ConnectionError, ShardBusy))
    if rest is not None or busy is None:
        return None
    waits = [e.retry_after for e in busy.exceptions if isinstance(e, ShardBusy)]
    return max([1, *waits])


@durable_execution
async def shards_with_task_group(event: Any) -> dict[str, Any]:
    """Fetches three shards concurrently in one step (an ``asyncio.TaskGroup``); a group of
    connection resets and busy shards is retried, a group with an offline shard is not, and
    the handler
    handles the step's failure with ``except*``, then reads the shards one at a time."""
    offline = list((event or {}).get("offline", ["c"]))
    totals: dict[str, int] = {}
    failure: list[str] = []
    try:
        totals = await step(
            lambda: _fetch_all(offline), name="fetch-shards", retry_strategy=_retry_transient_groups
        )
    except* CallableRuntimeError as group:
        # No durable call in here (SDK finding 10): note the failure, act after the clause.
        failure = [f"{getattr(e, 'error_type', None)}: {e}" for e in group.exceptions]
    if failure:
        for shard in "abc":
            try:
                totals[shard] = await step(
                    lambda s=shard: _fetch_shard(s, offline),
                    name=f"fetch-{shard}",
                    retry_strategy=RetryStrategy(
                        max_attempts=4,
                        initial_delay=1,
                        retryable_error_types=[ConnectionError, ShardBusy],
                    ),
                )
            except CallableRuntimeError as error:
                failure.append(f"{shard}: {error.error_type}")
    return {"total": sum(totals.values()), "shards": sorted(totals), "failure": failure}


# --- map items that fail, inspected through the BatchResult -----------------------------------


class InvoiceRejected(Exception):
    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"invoice {number} rejected: {reason}")
        self.number = number
        self.reason = reason


async def _price_invoice(number: int) -> int:
    if number % 5 == 3:
        raise InvoiceRejected(number, "customer is closed")
    return -number if number % 7 == 6 else 100 * number + random.randint(0, 9)


async def _invoice_item(number: int) -> dict[str, Any]:
    cents = await step(
        lambda: _price_invoice(number), name=f"price-{number}", retry_strategy=RetryStrategy.none()
    )
    if cents < 0:
        # Raised in the item, outside any step: deterministic on the recorded price.
        msg = f"invoice {number} totals {cents} cents"
        raise ValueError(msg)
    return {"invoice": number, "cents": cents}


@durable_execution
async def invoices_with_failures(event: Any) -> dict[str, Any]:
    """Prices invoices in a ``map`` that runs every item; rejected and negative invoices fail
    their items, which the handler lists from the ``BatchResult`` (types, messages) before
    ``throw_if_error`` re-raises the first failure, which it catches too."""
    numbers = list((event or {}).get("invoices", range(1, 11)))
    batch = await durable_map(
        _invoice_item,
        numbers,
        name="invoices",
        max_concurrency=3,
        # Every item runs: all_completed() would stop at the first failure.
        completion_config=CompletionConfig.thresholds(tolerated_failure_count=len(numbers)),
    )
    failed = [
        {"index": item.index, "type": item.error.type, "message": item.error.message}
        for item in batch.failed()
        if item.error is not None
    ]
    first = None
    try:
        batch.throw_if_error()
    except CallableRuntimeError as error:
        first = error.message
    return {
        "billed": sum(r["cents"] for r in batch.get_results()),
        "ok": batch.success_count,
        "failed": failed,
        "errors": len(batch.get_errors()),
        "first": first,
        "reason": batch.completion_reason.value,
    }


# --- parallel branches that fail, compensated in reverse order ---------------------------------


class SoldOut(Exception):
    def __init__(self, what: str, date: str) -> None:
        super().__init__(f"{what} sold out on {date}")


async def _reserve(what: str, trip: str, sold_out: bool) -> str:
    if sold_out:
        raise SoldOut(what, "2026-07-14")
    return services.book(f"{trip[:8]}-{what}")


async def _cancel(key: str) -> str:
    return services.cancel(key)


@durable_execution
async def reserve_all_or_nothing(event: Any) -> dict[str, Any]:
    """Reserves a hotel, a car and a tour in a ``parallel`` that runs every branch; if any
    failed, ``throw_if_error`` raises, and the reservations made are cancelled, last branch
    first, before the trip is reported as not booked."""
    sold_out = (event or {}).get("sold_out", "tour")
    trip = await step(_new_id, name="trip-id")

    def branch(what: str) -> Any:
        async def reserve() -> str:
            await wait(1 + len(what) % 3, name=f"queue-{what}")
            booked = await step(
                lambda: _reserve(what, trip, what == sold_out),
                name=f"reserve-{what}",
                retry_strategy=RetryStrategy.none(),
            )
            return str(booked)

        return reserve

    kinds = ["hotel", "car", "tour"]
    batch = await parallel(
        [branch(k) for k in kinds],
        name="reserve",
        completion_config=CompletionConfig.thresholds(tolerated_failure_count=len(kinds)),
    )
    try:
        batch.throw_if_error()
    except CallableRuntimeError as error:
        made = sorted(batch.succeeded(), key=lambda item: item.index, reverse=True)
        undone = []
        for item in made:
            undone.append(
                await step(
                    lambda k=item.result: _cancel(str(k)), name=f"cancel-{item.index}", **COMPENSATE
                )
            )
        return {
            "booked": False,
            "why": error.message,
            "cancelled": [kinds[item.index] for item in made],
            "undone": len(undone),
        }
    return {"booked": True, "kinds": kinds}


# --- child contexts that fail three ways ----------------------------------------------------


class QuotaExceeded(Exception):
    def __init__(self, tenant: str, limit: int) -> None:
        super().__init__(f"tenant {tenant} is over its quota of {limit}")
        self.tenant = tenant
        self.limit = limit


async def _usage(tenant: str) -> int:
    return 10 * len(tenant) + random.randint(0, 3)


async def _over_quota(tenant: str) -> int:
    used = await step(lambda: _usage(tenant), name=f"usage-{tenant}")
    if used > 50:
        raise QuotaExceeded(tenant, 50)
    return int(used)


async def _bad_step(tenant: str) -> int:
    async def parse() -> int:
        return int(tenant)

    return int(await step(parse, name=f"parse-{tenant}", retry_strategy=RetryStrategy.none()))


async def _nested(tenant: str) -> int:
    async def inner() -> int:
        await wait(2, name=f"inner-wait-{tenant}")
        msg = f"{tenant} may not read the audit log"
        raise PermissionError(msg)

    return int(await run_in_child_context(inner, name=f"inner-{tenant}"))


@durable_execution
async def child_failures(event: Any) -> dict[str, Any]:
    """Runs one child context per tenant: one raises the business's own error in the child,
    one lets a failed step out, one fails two children deep. The parent catches each and
    records what reached it."""
    plan = {"globex-industries": _over_quota, "acme": _bad_step, "initech": _nested}
    outcomes: dict[str, Any] = {}
    for tenant, work in plan.items():
        try:
            outcomes[tenant] = await run_in_child_context(
                lambda w=work, t=tenant: w(t), name=f"tenant-{tenant}"
            )
        except CallableRuntimeError as error:
            outcomes[tenant] = {"type": error.error_type, "message": error.message}
    return outcomes


# --- a callback whose submitter fails; a callback that fails ---------------------------------


class TicketingDown(Exception):
    pass


def _submitter(desk_down: bool, key: str) -> Any:
    async def submit() -> str:
        if desk_down:
            msg = "ticketing desk answered 503 Service Unavailable"
            raise TicketingDown(msg)
        return services.open_ticket(key, get_wait_for_callback_context().callback_id)

    return submit


@durable_execution
async def approval_or_fallback(event: Any) -> dict[str, Any]:
    """Asks for an approval through a ticket; when the ticketing desk is down (the submitter
    fails through its retries) or the approval fails or times out, falls back to an e-mail
    and approves nothing."""
    desk_down = bool((event or {}).get("desk_down", False))
    key = await step(_new_id, name="request-id")
    try:
        answer = await wait_for_callback(
            _submitter(desk_down, key),
            name="approval",
            timeout=300,
            retry_strategy=RetryStrategy(max_attempts=2, initial_delay=5),
        )
    except CallbackError as error:
        await step(lambda: _notify(key, "approval failed"), name="mail-fallback")
        return {"approved": False, "via": "mail", "why": "callback", "detail": type(error).__name__}
    except CallableRuntimeError as error:
        await step(lambda: _notify(key, "desk down"), name="mail-fallback")
        return {"approved": False, "via": "mail", "why": error.error_type}
    decision = json.loads(answer) if answer else {}
    return {"approved": bool(decision.get("approved")), "via": "ticket"}


# --- a failed chained invoke, compensated ----------------------------------------------------


class FraudSuspected(Exception):
    def __init__(self, score: int) -> None:
        super().__init__(f"fraud score {score} is over 80")
        self.score = score


@durable_execution
async def fraud_check(event: Any) -> dict[str, Any]:
    """The invoked function: scores an order (in a step) and fails on purpose over 80."""

    async def score() -> int:
        return min(99, int(event["cents"]) // 1000 + random.randint(0, 5))

    value = await step(score, name="score")
    if value > 80:
        raise FraudSuspected(value)
    return {"score": value}


@durable_execution
async def charge_then_check(event: Any) -> dict[str, Any]:
    """Charges, then invokes the fraud check; when the check fails (fraud, or the function
    failed or timed out for any reason), the charge is refunded."""
    cents = int((event or {}).get("cents", 2500))
    key = await step(_new_id, name="payment-key")
    charged = await step(lambda: _charge_plain(key, cents), name="charge")
    try:
        verdict = await invoke("fraud-check", {"cents": cents}, name="fraud-check")
    except CallableRuntimeError as error:
        refunded = await step(lambda: _refund(key), name="refund", **COMPENSATE)
        return {"charged": charged, "refunded": refunded, "why": error.error_type}
    return {"charged": charged, "refunded": 0, "score": verdict["score"]}


async def _charge_plain(key: str, cents: int) -> int:
    return services.charge(key, cents)


async def _refund(key: str) -> int:
    return services.refund(key)


# --- cleanup steps that run after a failure; the failure re-raised ---------------------------


class PartFailed(Exception):
    pass


async def _process(part: int, fail_at: int | None) -> str:
    if part == fail_at:
        msg = f"part {part} could not be processed"
        raise PartFailed(msg)
    return f"part-{part}-{random.randint(100, 999)}"


@durable_execution
async def cleanup_after_failure(event: Any) -> dict[str, Any]:
    """Takes a lease, processes parts; whether a part fails or all succeed the lease is
    released by a step, and on a failure the parts done are rolled back (last first) before
    the failure is re-raised: the execution FAILS on purpose. ``finally`` clears local state
    only (a durable call there would run on every suspension)."""
    fail_at = (event or {}).get("fail_at")
    lease = await step(_new_id, name="lease-id")
    await step(lambda: _lease(lease), name="take-lease")
    scratch: dict[str, str] = {}
    done: list[str] = []
    try:
        for part in range(4):
            done.append(
                await step(
                    lambda p=part: _process(p, fail_at),
                    name=f"process-{part}",
                    retry_strategy=RetryStrategy(max_attempts=2, initial_delay=2),
                )
            )
            scratch[str(part)] = done[-1]
            await wait(2, name=f"between-{part}")
    except Exception:
        for index, _ in reversed(list(enumerate(done))):
            await step(
                lambda i=index: _cancel(f"{lease}-{i}"), name=f"roll-back-{index}", **COMPENSATE
            )
        await step(lambda: _release(lease), name="release-lease", **COMPENSATE)
        raise
    else:
        await step(lambda: _release(lease), name="release-lease", **COMPENSATE)
    finally:
        scratch.clear()
    return {"parts": len(done), "lease": lease[:8]}


async def _lease(key: str) -> str:
    return services.lease(key)


async def _release(key: str) -> str:
    return services.release(key)


# --- errors raised outside any step on a step's result -----------------------------------------


class QuoteMismatch(Exception):
    def __init__(self, total: int, lines: int) -> None:
        super().__init__(f"quote total {total} does not match its lines ({lines})")
        self.total = total
        self.lines = lines


async def _quote(fresh: bool, stale: bool, currency: str) -> dict[str, Any]:
    lines = [random.randint(100, 900) for _ in range(3)]
    total = sum(lines) + (1 if stale and not fresh else 0)
    return {"id": uuid.uuid4().hex[:8], "lines": lines, "total": total, "currency": currency}


def _validated(quote: dict[str, Any]) -> dict[str, Any]:
    if quote["total"] != sum(quote["lines"]):
        raise QuoteMismatch(quote["total"], sum(quote["lines"]))
    return quote


@durable_execution
async def validated_quote(event: Any) -> dict[str, Any]:
    """Validates a quote outside any step (deterministic on the recorded quote): a mismatch
    is caught and the quote asked for again, fresh; a wrong currency fails an ``assert``, and
    a second mismatch fails the execution with the validation error, on purpose."""
    stale = bool((event or {}).get("stale", False))
    always_stale = bool((event or {}).get("always_stale", False))
    currency = (event or {}).get("currency", "EUR")
    quote = await step(lambda: _quote(False, stale, currency), name="quote")
    try:
        checked = _validated(quote)
    except QuoteMismatch:
        await wait(5, name="before-requote")
        again = await step(lambda: _quote(not always_stale, stale, currency), name="requote")
        checked = _validated(again)
    assert checked["currency"] == "EUR", f"unexpected currency {checked['currency']}"
    return {"quote": checked["id"], "total": checked["total"], "requoted": checked is not quote}


# --- a wait_for_condition whose check fails ----------------------------------------------------


class StatusUnavailable(Exception):
    def __init__(self, job: str, polls: int) -> None:
        super().__init__(f"status of {job} unavailable after {polls} polls")


async def _check(state: dict[str, Any]) -> dict[str, Any]:
    polls = state["polls"] + 1
    if state["broken"] and polls >= 3:
        raise StatusUnavailable(state["job"], polls)
    done = not state["broken"] and (polls >= 4 or random.random() < 0.2)
    return {**state, "polls": polls, "status": "done" if done else "running"}


def _every_15s(state: dict[str, Any], attempt: int) -> int | None:
    return None if state["status"] == "done" or attempt >= 8 else 15


@durable_execution
async def poll_until_broken(event: Any) -> dict[str, Any]:
    """Polls a job's status; a broken status endpoint fails the check, which reaches the
    handler as the check's own error live and as ``CallableRuntimeError`` on replay (SDK
    finding 8): the handler catches both and reports the job as unknown."""
    broken = bool((event or {}).get("broken", False))
    job = await step(_job_id, name="start-job")
    try:
        final = await wait_for_condition(
            _check,
            initial_state={"job": job, "polls": 0, "status": "queued", "broken": broken},
            name="await-job",
            polling_strategy=_every_15s,
        )
    except (StatusUnavailable, CallableRuntimeError):
        await step(lambda: _notify(job, "status unknown"), name="tell-ops")
        return {"job": job, "status": "unknown"}
    return {"job": job, "status": final["status"], "polls": final["polls"]}


async def _job_id() -> str:
    return f"job-{uuid.uuid4().hex[:8]}"


# --- an at-most-once charge whose interruption is reconciled --------------------------------


def _never_retry(error: Exception, attempt: int) -> int | None:
    """This gateway has no idempotency keys: a charge is never sent twice."""
    return None


def _interrupted(error: Exception) -> bool:
    """Whether a step failed because a sandbox died inside it: the SDK raises its own
    ``StepInterruptedError`` in the invocation that finds the step STARTED, and every replay
    after raises ``CallableRuntimeError`` with that type name (``buggy/``'s
    ``interrupted_step_caught_by_class`` catches the class only)."""
    if isinstance(error, StepInterruptedError):
        return True
    return isinstance(error, CallableRuntimeError) and error.error_type == "StepInterruptedError"


async def _charge_once(key: str, cents: int) -> int:
    return services.charge(key, cents)


async def _find_charge(key: str) -> int:
    """Ask the gateway what an interrupted attempt did: the cents charged, or 0."""
    return services.CHARGES.get(key, 0)


@durable_execution
async def interrupted_charge_reconciled(event: Any) -> dict[str, Any]:
    """Charges once at most, never retried; when a sandbox died inside the charge, asks the
    gateway what happened instead of charging again, and charges only if nothing went
    through. The receipt goes out an hour later, so every run replays the charge."""
    cents = int((event or {}).get("cents", 4200))
    key = await step(_new_id, name="payment-key")
    try:
        charged = await step(
            lambda: _charge_once(key, cents),
            name="charge",
            step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
            retry_strategy=_never_retry,
        )
    except (StepInterruptedError, CallableRuntimeError) as error:
        if not _interrupted(error):
            raise
        charged = await step(lambda: _find_charge(key), name="find-charge")
        if not charged:
            charged = await step(lambda: _charge_once(key, cents), name="charge-again")
    await wait(3600)
    receipt = await step(lambda: _notify(key, f"charged {charged} cents"), name="receipt")
    return {"charged": charged, "receipt": receipt == key}


CORPUS: dict[str, dict[str, Any]] = {
    "charge_with_typed_errors": {"handler": charge_with_typed_errors, "before_run": reset},
    "charge_declined": {
        "handler": charge_with_typed_errors,
        "input": {"cents": 250_000},
        "before_run": reset,
    },
    "charge_held_for_fraud": {
        "handler": charge_with_typed_errors,
        "input": {"cents": 7666},
        "before_run": reset,
    },
    "settings_with_causes": {"handler": settings_with_causes},
    "odd_messages": {"handler": odd_messages},
    "ship_or_explain": {"handler": ship_or_explain},
    "rejected_batch": {"handler": rejected_batch},
    "accepted_batch": {"handler": rejected_batch, "input": {"rows": 40, "bad_every": 0}},
    "retry_by_message": {"handler": retry_by_message},
    "replica_lookups": {"handler": replica_lookups},
    "shards_with_task_group": {"handler": shards_with_task_group},
    "shards_all_online": {"handler": shards_with_task_group, "input": {"offline": []}},
    "invoices_with_failures": {"handler": invoices_with_failures},
    "reserve_all_or_nothing": {"handler": reserve_all_or_nothing, "before_run": reset},
    "child_failures": {"handler": child_failures},
    "approval_or_fallback": {
        "handler": approval_or_fallback,
        "callbacks": {"approval": {"approved": True}},
        "before_run": reset,
    },
    "approval_desk_down": {
        "handler": approval_or_fallback,
        "input": {"desk_down": True},
        "callbacks": {"approval": {"approved": True}},
        "before_run": reset,
    },
    "charge_then_check": {
        "handler": charge_then_check,
        "functions": {"fraud-check": fraud_check},
        "before_run": reset,
    },
    "charge_then_refund": {
        "handler": charge_then_check,
        "input": {"cents": 95_000},
        "functions": {"fraud-check": fraud_check},
        "before_run": reset,
    },
    "cleanup_after_failure": {
        "handler": cleanup_after_failure,
        "input": {"fail_at": 2},
        "before_run": reset,
    },
    "cleanup_after_success": {"handler": cleanup_after_failure, "before_run": reset},
    "validated_quote": {"handler": validated_quote, "input": {"stale": True}},
    "validated_quote_mismatch": {
        "handler": validated_quote,
        "input": {"stale": True, "always_stale": True},
    },
    "validated_quote_currency": {"handler": validated_quote, "input": {"currency": "USD"}},
    "poll_until_broken": {
        "handler": poll_until_broken,
        "input": {"broken": True},
        "before_run": reset,
    },
    "poll_until_done": {"handler": poll_until_broken, "before_run": reset},
    "interrupted_charge_reconciled": {
        "handler": interrupted_charge_reconciled,
        "before_run": reset,
    },
}


#: The function the corpus invokes, as a scenario's own handler: checkpoint, invocation and
#: step faults and crash points reach a scenario's root execution only (as ``chains.TARGETS``
#: does for the chains), with the input its caller sends it. Keyed by the function's name.
TARGETS: dict[str, dict[str, Any]] = {
    "fraud_check": {"handler": fraud_check, "input": {"cents": 2500}},
}
