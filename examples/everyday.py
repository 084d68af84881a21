"""More correct handlers that do what real users do (the session-15 false-flag audit).

Unlike ``nondeterministic.py``, these lean on the SDK's less travelled features: a
``wait_for_callback`` whose submitter draws the request id, callbacks with heartbeat
time-outs, ``map`` with completion configs and child contexts inside items, a chained invoke
of a function that itself waits and takes a callback, ``with_retry`` blocks and step retry
strategies with jitter (some racing the execution time-out), ``wait_for_condition`` whose
state carries random draws, the SDK's replay-safe ``uuid()``/``now()``/``random()``/
``timestamp()``, large step results, custom serdes and ``Decimal``/``datetime`` results,
at-most-once steps reconciled through an idempotency key, step errors caught and re-raised,
and a long poller loop. Every one is correct durable code (deterministic outside its steps):
no oracle may flag any of them under any fault plan or timing
(``tests/harness/test_same_world.py`` runs them at CI size; ``benchmarks/same_world.py
--corpus everyday`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import time
import uuid
from decimal import Decimal
from typing import Any

import everyday_services as services
from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    JitterStrategy,
    RetryStrategy,
    SerDes,
    StepSemantics,
    create_callback,
    durable_callable,
    durable_execution,
    get_step_context,
    get_wait_for_callback_context,
    get_wait_for_condition_check_context,
    get_with_retry_context,
    invoke,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
    wait_for_condition,
    with_retry,
)
from async_durable_execution import map as durable_map
from async_durable_execution import now as durable_now
from async_durable_execution import random as durable_random
from async_durable_execution import timestamp as durable_timestamp
from async_durable_execution import uuid as durable_uuid

reset = services.reset


async def _new_id() -> str:
    return str(uuid.uuid4())


async def _nothing() -> None:
    return None


# --- a submitter that draws the request id ----------------------------------------------


async def _send_approval_request() -> str:
    request_id = str(uuid.uuid4())
    services.OUTBOX[request_id] = get_wait_for_callback_context().callback_id
    return request_id


@durable_execution
async def manager_approval(event: Any) -> dict[str, Any]:
    """The submitter step mails the manager a request with a fresh id; the manager answers
    within two minutes, heartbeating at least once a minute."""
    try:
        answer = await wait_for_callback(
            _send_approval_request, name="manager", timeout=120, heartbeat_timeout=60
        )
        decision = json.loads(answer) if answer else None
    except CallbackError as error:
        decision = {"unanswered": type(error).__name__}
    decided_at = await step(_today, name="decided-at")
    return {"decision": decision, "day": decided_at[:10]}


async def _today() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


# --- a carrier that heartbeats: answers near the heartbeat time-out -----------------------


@durable_callable
async def _register_with_carrier(callback_id: str, parcel: str) -> str:
    services.OUTBOX[parcel] = callback_id
    return f"registered-{parcel[:8]}"


@durable_execution
async def shipment_tracking(event: Any) -> dict[str, Any]:
    """A carrier callback whose heartbeat time-out (30 s) equals a drawn answer delay, and
    whose overall time-out (3600 s) equals another: each race is real and either side may win;
    the handler takes what comes."""
    parcel = await step(_new_id, name="parcel")
    callback = await create_callback(name="carrier", timeout=3600, heartbeat_timeout=30)
    receipt = await step(_register_with_carrier(callback.callback_id, parcel), name="register")
    try:
        status = await callback.result()
        delivered: Any = json.loads(status) if status else None
    except CallbackError as error:
        delivered = {"lost": type(error).__name__}
    return {"parcel": parcel, "receipt": receipt, "status": delivered}


# --- map with tolerated failures; items draw uuids, random numbers and the clock ----------

FLAKY_QUOTES = RetryStrategy(
    max_attempts=3,
    initial_delay=2,
    backoff_rate=2,
    jitter_strategy=JitterStrategy.FULL,
    retryable_error_types=[ConnectionError],
)


@durable_callable
async def _quote(sku: str) -> dict[str, Any]:
    if sku.startswith("discontinued"):
        msg = f"{sku} is no longer sold"
        raise LookupError(msg)
    if random.random() < 0.3:
        msg = "pricing service timed out"
        raise ConnectionError(msg)
    return {"sku": sku, "cents": random.randint(100, 9999), "quoted_at": time.time()}


async def _price_item(sku: str) -> dict[str, Any]:
    quote_id = await step(_new_id, name=f"quote-id-{sku}")
    quote = await step(_quote(sku), name=f"quote-{sku}", retry_strategy=FLAKY_QUOTES)
    return {"id": quote_id, **quote}


@durable_execution
async def price_basket(event: Any) -> dict[str, Any]:
    """One failure tolerated (a discontinued item always fails; a flaky quote may exhaust its
    retries): the basket is priced from what succeeded, or fails."""
    skus = ["apple", "discontinued-pear", "plum", "fig"]
    batch = await durable_map(
        _price_item,
        skus,
        name="basket",
        completion_config=CompletionConfig(tolerated_failure_count=1),
    )
    items = [
        {"index": item.index, "status": item.status.value, "result": item.result}
        for item in batch.all
    ]
    return {"items": items, "reason": batch.completion_reason.value}


# --- map with min_successful, a child context inside every item ---------------------------


@durable_callable
async def _ack(region: str, version: int) -> str:
    return f"{region}@{version}"


async def _replicate(region: str) -> str:
    async def write() -> str:
        version = await step(_draw, name=f"version-{region}")
        await wait(1 + len(region) % 3, name=f"propagate-{region}")
        return await step(_ack(region, version), name=f"ack-{region}")

    return await run_in_child_context(write, name=f"write-{region}")


async def _draw() -> int:
    return random.randint(1, 1_000_000)


@durable_execution
async def quorum_write(event: Any) -> dict[str, Any]:
    """A write is durable once two of three regions acknowledged it."""
    batch = await durable_map(
        _replicate,
        ["eu", "us-east", "ap-south"],
        name="replicas",
        completion_config=CompletionConfig(min_successful=2),
    )
    return {"acks": sorted(r for r in batch.get_results() if r)}


# --- a chained invoke of a function that waits and takes a callback -----------------------


@durable_execution
async def approver_service(event: Any) -> dict[str, Any]:
    """The invoked function: it queues the claim, waits, and asks a person."""
    ticket = await step(_new_id, name="approver-ticket")
    await wait(5, name="queue")
    try:
        answer = await wait_for_callback(_nothing, name="approver", timeout=60)
        verdict = json.loads(answer) if answer else None
    except CallbackError as error:
        verdict = {"unanswered": type(error).__name__}
    return {"ticket": ticket, "verdict": verdict}


@durable_callable
async def _file(claim: str, verdict: Any) -> str:
    services.AUDIT.append({"claim": claim, "verdict": verdict})
    return f"filed-{claim[:8]}"


@durable_execution
async def expense_claim(event: Any) -> dict[str, Any]:
    claim = await step(_new_id, name="claim-id")
    try:
        verdict = await invoke("approver", {"claim": claim}, name="ask-approver")
    except CallableRuntimeError as error:
        verdict = {"failed": error.error_type}
    filed = await step(_file(claim, verdict), name="file")
    return {"claim": claim, "verdict": verdict, "filed": filed}


# --- with_retry around durable logic, with backoff and jitter -----------------------------


class NotYetOpen(Exception):
    """The booking window has not opened yet."""


@durable_callable
async def _window_opens() -> float:
    return time.time() + random.randint(10, 300)


@durable_callable
async def _probe(opens_at: float) -> bool:
    return time.time() >= opens_at


@durable_execution
async def book_when_open(event: Any) -> dict[str, Any]:
    """A with_retry block probes a booking window that opens at a drawn time; its backoff is
    exponential with full jitter. The number of attempts it takes depends on the jitter."""
    opens_at = await step(_window_opens(), name="window-opens")

    async def attempt() -> dict[str, Any]:
        number = get_with_retry_context().attempt
        booking = await step(_new_id, name="booking-id")
        if not await step(_probe(opens_at), name="probe"):
            msg = f"attempt {number}: the window is not open yet"
            raise NotYetOpen(msg)
        return {"booking": booking, "attempt": number}

    try:
        return await with_retry(
            attempt,
            name="book",
            retry_strategy=RetryStrategy(
                max_attempts=6,
                initial_delay=10,
                backoff_rate=2,
                max_delay=120,
                jitter_strategy=JitterStrategy.FULL,
                retryable_error_types=[NotYetOpen],
            ),
        )
    except NotYetOpen as error:
        return {"gave_up": str(error)}


# --- a retry budget racing the execution time-out -----------------------------------------


class Unavailable(Exception):
    """The partner is down (an error with fields of its own, as business errors have)."""

    def __init__(self, partner: str, back_at: float) -> None:
        super().__init__(f"{partner} unavailable")
        self.partner = partner
        self.back_at = back_at


@durable_callable
async def _outage_ends() -> float:
    return time.time() + random.randint(3600, 20 * 3600)


@durable_callable
async def _call_partner(back_at: float) -> str:
    if time.time() < back_at:
        raise Unavailable("partner", back_at)
    return f"done-{uuid.uuid4().hex[:8]}"


@durable_execution
async def outlast_an_outage(event: Any) -> dict[str, Any]:
    """Hours-long backoff with half jitter: whether the partner is back before the retry
    budget runs out (or the execution's one-day time-out strikes) depends on the jitter."""
    back_at = await step(_outage_ends(), name="outage")
    try:
        result = await step(
            _call_partner(back_at),
            name="call-partner",
            retry_strategy=RetryStrategy(
                max_attempts=5,
                initial_delay=4 * 3600,
                backoff_rate=2,
                max_delay=24 * 3600,
                jitter_strategy=JitterStrategy.HALF,
                retryable_error_types=[Unavailable],
            ),
        )
    except CallableRuntimeError as error:
        result = f"gave up: {error.error_type}"
    return {"result": result}


# --- wait_for_condition whose state carries random draws ----------------------------------


async def _sample(state: Any) -> Any:
    attempt = get_wait_for_condition_check_context().attempt
    samples = [*(state or {}).get("samples", []), round(random.random(), 6)]
    good = sum(1 for s in samples if s > 0.5)
    return {"samples": samples, "done": good >= 2 or attempt >= 6}


def _until_two_good(state: Any, attempt: int) -> int | None:
    """Exponential backoff with the handler's own jitter."""
    if state and state["done"]:
        return None
    return min(3 * 2 ** (attempt - 1), 30) + random.randint(0, 2)


@durable_execution
async def sample_until_stable(event: Any) -> dict[str, Any]:
    final = await wait_for_condition(
        _sample, initial_state=None, name="sample", polling_strategy=_until_two_good
    )
    await wait(10, name="cool-down")
    return {"samples": final["samples"]}


# --- the SDK's replay-safe helpers --------------------------------------------------------


@durable_execution
async def replay_safe_helpers(event: Any) -> dict[str, Any]:
    """uuid(), now(), random() and timestamp() are steps the SDK provides: used at the top
    level and inside a child context, around a wait."""
    order_id = await durable_uuid(name="order-id")
    placed = await durable_now(name="placed-at")
    await wait(90, name="cooling-off")

    async def pick() -> dict[str, Any]:
        roll = await durable_random(name="roll")
        stamp = await durable_timestamp(name="picked-at")
        return {"roll": roll, "stamp": stamp}

    picked = await run_in_child_context(pick, name="pick")
    shipped = await durable_now(name="shipped-at")
    return {
        "order": str(order_id),
        "waited": (shipped - placed).total_seconds() >= 90,
        "winner": picked["roll"] < 0.5,
        "picked_after_placed": picked["stamp"] >= placed.timestamp(),
    }


# --- a large step result ------------------------------------------------------------------

#: Characters of the report: 400 kB, well above the service's 256 kB per-operation
#: guidance and below the size at which the SDK's batching stalls (SDK finding 2).
REPORT_CHARS = 400_000


async def _render_report() -> str:
    return os.urandom(REPORT_CHARS // 2).hex()


@durable_callable
async def _digest(report: str) -> str:
    return hashlib.sha256(report.encode()).hexdigest()[:16]


@durable_execution
async def large_report(event: Any) -> dict[str, Any]:
    report = await step(_render_report, name="render")
    await wait(1, name="settle")
    digest = await step(_digest(report), name="digest")
    return {"chars": len(report), "digest": digest}


# --- custom serdes; Decimal and datetime results -------------------------------------------


class MoneySerDes(SerDes[dict[str, Any]]):
    """Amounts as exact decimal text, instants as ISO 8601."""

    async def serialize(self, value: dict[str, Any]) -> str:
        return json.dumps({"amount": str(value["amount"]), "at": value["at"].isoformat()})

    async def deserialize(self, data: str) -> dict[str, Any]:
        raw = json.loads(data)
        return {"amount": Decimal(raw["amount"]), "at": dt.datetime.fromisoformat(raw["at"])}


async def _fx_rate() -> Decimal:
    return Decimal(random.randint(9000, 11000)) / Decimal(10000)


async def _payment() -> dict[str, Any]:
    cents = random.randint(100, 100_000)
    return {"amount": Decimal(cents) / 100, "at": dt.datetime.now(dt.UTC)}


async def _settled_at() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@durable_execution
async def money_with_serdes(event: Any) -> dict[str, Any]:
    """A custom SerDes for a payment, and the SDK's own codecs for a Decimal and a datetime."""
    payment = await step(_payment, name="payment", serdes=MoneySerDes())
    rate = await step(_fx_rate, name="fx-rate")
    await wait(60, name="settlement")
    settled = await step(_settled_at, name="settled-at")
    converted = (payment["amount"] * rate).quantize(Decimal("0.01"))
    return {
        "converted": str(converted),
        "took": round((settled - payment["at"]).total_seconds()),
    }


# --- at-most-once steps, reconciled through an idempotency key -----------------------------


@durable_callable
async def _charge(key: str, amount: int) -> str:
    return services.charge(key, amount)


@durable_callable
async def _reconcile(key: str) -> str | None:
    return services.find_charge(key)


@durable_execution
async def charge_at_most_once(event: Any) -> dict[str, Any]:
    """The charge runs at most once per attempt, never retried; if it was interrupted (the
    sandbox died mid-charge), the handler asks the processor whether the key was charged."""
    amount = int((event or {}).get("amount", 42))
    key = await step(_new_id, name="idempotency-key")
    try:
        charge = await step(
            _charge(key, amount),
            name="charge",
            step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
            retry_strategy=RetryStrategy.none(),
        )
    except CallableRuntimeError:
        found = await step(_reconcile(key), name="reconcile")
        if found is None:
            charge = await step(_charge(key, amount), name="charge-again")
        else:
            charge = found
    return {"charged": charge is not None, "amount": amount}


# --- step errors caught and re-raised -----------------------------------------------------


class PaymentDeclined(Exception):
    """The card was declined: the order fails."""


def _retry_unless_declined(error: Exception, attempts_made: int) -> int | None:
    if "declined" in str(error) or attempts_made >= 3:
        return None
    return 1 + random.randint(0, 2)


@durable_callable
async def _authorize(amount: int) -> str:
    if amount > 500:
        msg = f"card declined for {amount}"
        raise ValueError(msg)
    if random.random() < 0.3:
        msg = "processor busy"
        raise ConnectionError(msg)
    return f"auth-{uuid.uuid4().hex[:10]}"


@durable_callable
async def _audit_decline(order: str, message: str) -> None:
    services.AUDIT.append({"order": order, "declined": message})


@durable_execution
async def authorize_or_decline(event: Any) -> dict[str, Any]:
    """A declined card is recorded and re-raised as the business's own error (the execution
    FAILS with PaymentDeclined); an exhausted retry budget is re-raised unchanged."""
    amount = int((event or {}).get("amount", 42))
    order = await step(_new_id, name="order-id")
    try:
        auth = await step(
            _authorize(amount), name="authorize", retry_strategy=_retry_unless_declined
        )
    except CallableRuntimeError as error:
        if "declined" not in (error.message or ""):
            raise
        await step(_audit_decline(order, error.message or ""), name="audit-decline")
        msg = f"order {order[:8]}: card declined"
        raise PaymentDeclined(msg) from error
    return {"order": order, "auth": auth}


# --- a long poller loop --------------------------------------------------------------------


async def _start_export() -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "ready_at": time.time() + random.randint(30, 500)}


@durable_callable
async def _export_status(ready_at: float) -> str:
    return "done" if time.time() >= ready_at else "running"


@durable_execution
async def export_poller(event: Any) -> dict[str, Any]:
    """Poll an export every 30 s, up to twenty times."""
    job = await step(_start_export, name="start-export")
    for poll in range(1, 21):
        status = await step(_export_status(job["ready_at"]), name=f"status-{poll}")
        if status == "done":
            return {"job": job["id"], "status": "done", "polls": poll}
        await wait(30, name=f"sleep-{poll}")
    return {"job": job["id"], "status": "gave-up"}


# --- round two: races between branches, re-asking, throttled maps, typed invokes ---------


@durable_callable
async def _remediate(incident: str) -> str:
    if random.random() < 0.5:
        msg = "remediation script failed"
        raise RuntimeError(msg)
    return f"auto-fixed-{incident[:8]}"


@durable_execution
async def first_responder(event: Any) -> dict[str, Any]:
    """Page a person and try an automatic fix at once; the first to succeed resolves the
    incident (the other branch is abandoned, as CompletionConfig(min_successful=1) says)."""
    incident = await step(_new_id, name="incident")

    async def page() -> str:
        answer = await wait_for_callback(_nothing, name="pager", timeout=300)
        return f"human: {json.loads(answer) if answer else None}"

    async def auto() -> str:
        return await step(
            _remediate(incident),
            name="remediate",
            retry_strategy=RetryStrategy(max_attempts=4, initial_delay=20, max_delay=120),
        )

    batch = await parallel(
        [page, auto], name="respond", completion_config=CompletionConfig(min_successful=1)
    )
    resolved = [r for r in batch.get_results() if r]
    return {"incident": incident, "resolved_by": resolved[:1]}


@durable_execution
async def reask_until_answered(event: Any) -> dict[str, Any]:
    """Ask the customer; after a silent 30 s, wait a minute and ask again, three times."""
    for ask in range(1, 4):
        try:
            answer = await wait_for_callback(_nothing, name="customer", timeout=30)
        except CallbackError as error:
            await step(_note_silence(ask, type(error).__name__), name=f"note-{ask}")
            await wait(60, name=f"pause-{ask}")
            continue
        return {"answer": json.loads(answer) if answer else None, "asks": ask}
    return {"answer": None, "asks": 3}


@durable_callable
async def _note_silence(ask: int, why: str) -> str:
    return f"ask {ask}: {why} at {time.time():.0f}"


@durable_callable
async def _send_invoice(item: int, token: str) -> str:
    return f"invoice-{item}-{token[:6]}"


async def _invoice_item(item: int) -> str:
    token = await step(_new_id, name=f"token-{item}")
    return await step(
        _send_invoice(item, token),
        name=f"send-{item}",
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
        retry_strategy=RetryStrategy(max_attempts=2, initial_delay=5),
    )


@durable_execution
async def throttled_invoices(event: Any) -> dict[str, Any]:
    """Two at a time, at-most-once sends, half of the items may fail."""
    batch = await durable_map(
        _invoice_item,
        [1, 2, 3, 4],
        name="invoices",
        max_concurrency=2,
        completion_config=CompletionConfig(tolerated_failure_count=2),
    )
    return {
        "sent": [item.result for item in batch.all if item.result],
        "failed": [item.index for item in batch.all if item.error is not None],
    }


@durable_execution
async def two_signatures(event: Any) -> dict[str, Any]:
    """Both parties must sign, each within about half a minute (30 s and 31 s)."""
    contract = await step(_new_id, name="contract")
    try:
        buyer, seller = await asyncio.gather(
            wait_for_callback(_nothing, name="buyer", timeout=30),
            wait_for_callback(_nothing, name="seller", timeout=31),
        )
    except CallbackError as error:
        return {"contract": contract, "signed": False, "why": type(error).__name__}
    return {"contract": contract, "signed": True, "by": [buyer, seller]}


class DecimalSerDes(SerDes[Any]):
    """Amounts as exact decimal text inside JSON."""

    async def serialize(self, value: Any) -> str:
        return json.dumps({"amount": str(value["amount"]), "currency": value["currency"]})

    async def deserialize(self, data: str) -> Any:
        raw = json.loads(data)
        return {"amount": Decimal(raw["amount"]), "currency": raw["currency"]}


@durable_execution
async def fx_service(event: Any) -> dict[str, Any]:
    """The invoked function: converts at a rate drawn in a step."""
    rate = await step(_fx_rate, name="rate")
    return {
        "amount": str((Decimal(event["amount"]) * rate).quantize(Decimal("0.01"))),
        "currency": "EUR",
    }


@durable_execution
async def typed_invoke(event: Any) -> dict[str, Any]:
    """A chained invoke whose payload and result go through a custom SerDes."""
    price = await step(_payment, name="price", serdes=MoneySerDes())
    converted = await invoke(
        "fx",
        {"amount": price["amount"], "currency": "USD"},
        name="convert",
        serdes_payload=DecimalSerDes(),
        serdes_result=DecimalSerDes(),
    )
    await wait(5, name="book")
    return {"eur": str(converted["amount"]), "exact": isinstance(converted["amount"], Decimal)}


async def _third_time_lucky() -> str:
    attempt = get_step_context().attempt
    if attempt < 3:
        msg = f"partner refused attempt {attempt}"
        raise ConnectionError(msg)
    return f"accepted-{uuid.uuid4().hex[:6]}-on-{attempt}"


@durable_execution
async def attempt_aware(event: Any) -> dict[str, Any]:
    """A partner that accepts the third attempt (the step reads its attempt number)."""
    accepted = await step(
        _third_time_lucky,
        name="submit",
        retry_strategy=RetryStrategy(max_attempts=5, initial_delay=2, backoff_rate=2),
    )
    await wait(10, name="confirm")
    return {"accepted": accepted.rsplit("-", 1)[-1]}


async def _region_items(region: str) -> list[str]:
    async def one(item: int) -> str:
        token = await step(_new_id, name=f"{region}-token-{item}")
        await wait(item + 1, name=f"{region}-settle-{item}")
        return token

    batch = await durable_map(one, [0, 1], name=f"{region}-items")
    return batch.get_results()


@durable_execution
async def nested_regions(event: Any) -> dict[str, Any]:
    """Child contexts three deep: a context per region, each mapping items that draw ids."""

    async def regions() -> dict[str, list[str]]:
        eu = await run_in_child_context(lambda: _region_items("eu"), name="eu")
        us = await run_in_child_context(lambda: _region_items("us"), name="us")
        return {"eu": eu, "us": us}

    tokens = await run_in_child_context(regions, name="regions")
    return {
        "tokens": sum(len(v) for v in tokens.values()),
        "distinct": len({t for v in tokens.values() for t in v}),
    }


# --- a race decided by a slow API ----------------------------------------------------------


@durable_callable
async def _supplier_quote(supplier: str, latency: int) -> dict[str, Any]:
    await asyncio.sleep(latency)  # the supplier's API takes its time
    return {"supplier": supplier, "cents": random.randint(100, 999)}


@durable_callable
async def _supplier(supplier: str, latency: int, hold: int) -> dict[str, Any]:
    quote = await step(_supplier_quote(supplier, latency), name=f"quote-{supplier}")
    await wait(hold, name=f"hold-{supplier}")
    return quote


@durable_execution
async def fastest_supplier(event: Any) -> dict[str, Any]:
    """Ask two suppliers; a quote counts once it has been held; the first held quote wins.
    The slow supplier (3 s) usually wins; a crash that makes it answer twice costs it 3 s more
    and the race."""
    batch = await parallel(
        [_supplier("slow", 3, 10), _supplier("fast", 0, 14)],
        name="suppliers",
        completion_config=CompletionConfig(min_successful=1),
    )
    return {"winner": [q["supplier"] for q in batch.get_results() if q]}


#: Every handler of this corpus, with what its scenarios need (the shape of
#: ``nondeterministic.CORPUS``).
CORPUS: dict[str, dict[str, Any]] = {
    "manager_approval": {
        "handler": manager_approval,
        "callbacks": {"manager": {"approved": True}},
        "before_run": reset,
    },
    "shipment_tracking": {
        "handler": shipment_tracking,
        "callbacks": {"carrier": "delivered"},
        "before_run": reset,
    },
    "price_basket": {"handler": price_basket},
    "quorum_write": {"handler": quorum_write},
    "expense_claim": {
        "handler": expense_claim,
        "callbacks": {"approver": {"ok": True}},
        "functions": {"approver": approver_service},
        "before_run": reset,
    },
    "book_when_open": {"handler": book_when_open},
    "outlast_an_outage": {"handler": outlast_an_outage},
    "sample_until_stable": {"handler": sample_until_stable},
    "replay_safe_helpers": {"handler": replay_safe_helpers},
    "large_report": {"handler": large_report},
    "money_with_serdes": {"handler": money_with_serdes},
    "charge_at_most_once": {"handler": charge_at_most_once, "before_run": reset},
    "authorize_or_decline": {"handler": authorize_or_decline, "before_run": reset},
    "authorize_or_decline_big": {
        "handler": authorize_or_decline,
        "input": {"amount": 900},
        "before_run": reset,
    },
    "export_poller": {"handler": export_poller},
    "first_responder": {"handler": first_responder, "callbacks": {"pager": "on it"}},
    "reask_until_answered": {"handler": reask_until_answered, "callbacks": {"customer": "yes"}},
    "throttled_invoices": {"handler": throttled_invoices},
    "two_signatures": {"handler": two_signatures},
    "typed_invoke": {"handler": typed_invoke, "functions": {"fx": fx_service}},
    "attempt_aware": {"handler": attempt_aware},
    "nested_regions": {"handler": nested_regions},
    # Under some turn timings the SDK's parallel busy-waited while this handler's slow branch
    # slept, and the emulator's virtual time never moved: a hang (fixed in 6e489d6).
    "fastest_supplier": {"handler": fastest_supplier},
}
