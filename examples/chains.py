"""Correct handlers built on chained invokes (the session-19 false-flag audit D).

The earlier corpora invoke other functions a handful of times; these use ``invoke`` the way
users compose durable functions:

- an orchestrator invoking three functions in sequence, each result passed to the next;
- fan-outs of invokes inside ``map`` (``max_concurrency``, tolerated failures) and
  ``parallel`` (``min_successful``), and inside ``parallel`` branches that are child contexts
  (deploy, bake, verify per region, one failure tolerated);
- invoked functions that wait, create a callback (with a heartbeat time-out), retry steps
  with backoff, or fail: the caller catches the failure and compensates (releases a hold
  through another invoke), or retries the invoke once under another name;
- a chain three deep, each level carrying the level below's failure as data;
- an invoked function that outlives its own execution time-out (a two-day wait against the
  one day every invoked execution gets), which the caller handles;
- a payload and a result of about 120 KB each;
- invokes inside a child context and inside a ``@durable_callable``;
- the same function invoked twice under different names, in sequence and at once;
- recursion on the function's own ARN (from the Lambda context), bounded by a depth;
- an invoke racing a wait of the same length in a ``parallel`` with ``min_successful=1``.

Every one is correct durable code: ids, random draws and the clock only inside steps; whatever
runs outside a step is the same on every replay; results are JSON. No oracle may flag any of
them under any fault plan or timing (``tests/harness/test_chains_corpus.py`` at CI size;
``benchmarks/same_world.py --corpus chains`` is the long campaign). The invoked functions are
registered by name in each entry's ``functions`` (what ``Scenario``/``durable_scenarios``
pass to ``DurableFunctionTestRunner(functions=...)``); the recursive one invokes its own ARN,
which the runner registers as the handler's own function.

``TARGETS`` holds the invoked functions themselves, one entry each, in ``CORPUS``'s shape.
Checkpoint, invocation and step faults and ``Scenario.crash_points()`` aim at a scenario's
own (root) execution only, so under ``CORPUS`` the invoked functions' retry budgets, steps
and replays never meet a crash; as a scenario's own handler they do. An entry is keyed by
the function's Python name (``TARGETS["charge_card"]``, whatever names its callers register
it under) and carries what its caller sends it (``input``), the functions it invokes in
turn, the callbacks it waits for and the fakes it needs reset. ``split_and_sum``, the one
function invoked on its own ARN, is its own caller and already a ``CORPUS`` handler.
``tests/harness/test_chains_corpus.py`` checks that every function a ``CORPUS`` entry invokes
has its entry; ``benchmarks/same_world.py --corpus chains-targets`` is the long campaign.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import random
import uuid
from typing import Any

import chains_services as services
from async_durable_execution import (
    CallableRuntimeError,
    CallbackError,
    CompletionConfig,
    RetryStrategy,
    create_callback,
    durable_callable,
    durable_execution,
    get_durable_context,
    get_wait_for_callback_context,
    invoke,
    parallel,
    run_in_child_context,
    step,
    wait,
    wait_for_callback,
)
from async_durable_execution import map as durable_map

reset = services.reset

#: A partner API that times out now and then: three attempts, backoff from 2 s.
FLAKY = RetryStrategy(
    max_attempts=3, initial_delay=2, backoff_rate=2, retryable_error_types=[ConnectionError]
)


async def _new_id() -> str:
    return str(uuid.uuid4())


async def _echo(value: Any) -> Any:
    return value


def _flaky(rate: float, what: str) -> None:
    if random.random() < rate:
        msg = f"{what} timed out"
        raise ConnectionError(msg)


# --- an orchestrator: three functions in sequence, each result passed on ----------------------


@durable_execution
async def validate_order(event: Any) -> dict[str, Any]:
    """Invoked first: turns an order id into its lines."""

    async def lines() -> list[dict[str, Any]]:
        return [{"sku": f"{event['order']}-{i}", "qty": random.randint(1, 4)} for i in range(3)]

    return {"order": event["order"], "lines": await step(lines, name="validate")}


@durable_execution
async def price_order(event: Any) -> dict[str, Any]:
    """Invoked second, with the validator's result: prices the lines after a rate limit."""
    await wait(3, name="rate-limit")

    async def prices() -> list[int]:
        _flaky(0.3, "pricing")
        return [line["qty"] * random.randint(100, 999) for line in event["lines"]]

    cents = await step(prices, name="price", retry_strategy=FLAKY)
    return {**event, "cents": cents, "total": sum(cents)}


@durable_execution
async def reserve_order(event: Any) -> dict[str, Any]:
    """Invoked third, with the pricer's result: holds stock under a key it drew."""
    key = await step(_new_id, name="hold-key")
    held = await step(lambda: _hold(key), name="hold")
    return {"order": event["order"], "hold": held, "total": event["total"]}


async def _hold(key: str) -> str:
    return services.hold(key)


@durable_execution
async def order_pipeline(event: Any) -> dict[str, Any]:
    """Validate, price, reserve: three invoked functions, each given the last one's result.
    A failure anywhere fails the order (nothing is caught: an order is all or nothing)."""
    order = (await step(_new_id, name="order-id"))[:8]
    validated = await invoke("validate", {"order": order}, name="validate")
    priced = await invoke("price", validated, name="price")
    reserved = await invoke("reserve", priced, name="reserve")
    return {"order": order, "total": reserved["total"], "hold": reserved["hold"][:8]}


# --- a fan-out of invokes inside map: max_concurrency, tolerated failures ---------------------


@durable_execution
async def score_item(event: Any) -> dict[str, Any]:
    """Invoked per item: items 4 and 9 have no features (the function fails); the others queue
    for a second or two, then score."""
    item = event["item"]
    if item % 5 == 4:
        msg = f"item {item} has no features"
        raise ValueError(msg)
    await wait(1 + item % 2, name="queue")
    score = await step(lambda: _echo(random.randint(0, 100)), name="score")
    return {"item": item, "score": score}


@durable_execution
async def score_batch(event: Any) -> dict[str, Any]:
    """Scores eight items three at a time through the scorer; up to three failures tolerated
    (item 4 always fails)."""

    async def score(item: int) -> dict[str, Any]:
        return await invoke("scorer", {"item": item}, name=f"score-{item}")

    batch = await durable_map(
        score,
        list(range(8)),
        name="scores",
        max_concurrency=3,
        completion_config=CompletionConfig(tolerated_failure_count=3),
    )
    scored = [r for r in batch.get_results() if r]
    return {
        "scored": sorted(r["item"] for r in scored),
        "failed": sorted(item.index for item in batch.all if item.error is not None),
        "reason": batch.completion_reason.value,
    }


# --- a fan-out of invokes inside parallel: the first two quotes of three ----------------------


@durable_execution
async def supplier_quote(event: Any) -> dict[str, Any]:
    """One function, registered under three supplier names: answers after its latency."""
    await wait(event["latency"], name="think")
    cents = await step(lambda: _echo(random.randint(1_000, 9_999)), name="quote")
    return {"supplier": event["supplier"], "cents": cents}


@durable_execution
async def best_two_quotes(event: Any) -> dict[str, Any]:
    """Asks three suppliers at once (2, 5 and 9 s away) and takes the first two quotes."""

    def ask(supplier: str, latency: int) -> Any:
        async def branch() -> dict[str, Any]:
            return await invoke(
                f"supplier-{supplier}",
                {"supplier": supplier, "latency": latency},
                name=f"quote-{supplier}",
            )

        return branch

    batch = await parallel(
        [ask("a", 2), ask("b", 5), ask("c", 9)],
        name="quotes",
        completion_config=CompletionConfig(min_successful=2),
    )
    quotes = sorted((r for r in batch.get_results() if r), key=lambda q: q["cents"])
    return {"quotes": quotes, "best": quotes[0]["supplier"] if quotes else None}


# --- a failed invoke compensated by another invoke --------------------------------------------


@durable_execution
async def hold_inventory(event: Any) -> dict[str, Any]:
    held = await step(lambda: _hold(event["key"]), name="hold")
    return {"hold": held}


@durable_execution
async def release_inventory(event: Any) -> dict[str, Any]:
    async def release() -> bool:
        return services.release(event["hold"])

    released = await step(release, name="release", retry_strategy=FLAKY)
    return {"released": released}


@durable_execution
async def charge_card(event: Any) -> dict[str, Any]:
    """Authorises (an outage is retried), then charges: over the limit the card is declined,
    which no retry changes, so the function fails."""

    async def authorize() -> str:
        _flaky(0.2, "the card network")
        return f"auth-{event['key'][:6]}"

    auth = await step(authorize, name="authorize", retry_strategy=FLAKY)

    async def charge() -> int:
        return services.charge(event["key"], event["amount"])

    charged = await step(charge, name="charge", retry_strategy=RetryStrategy.none())
    return {"auth": auth, "charged": charged}


@durable_execution
async def checkout_with_compensation(event: Any) -> dict[str, Any]:
    """Holds stock, charges the card; if the charge fails (declined, or the payment function
    failed for any reason) the hold is released through the inventory's own function."""
    key = await step(_new_id, name="payment-key")
    hold = await invoke("hold-inventory", {"key": key}, name="hold")
    try:
        receipt = await invoke("charge", {"key": key, "amount": event["amount"]}, name="charge")
    except CallableRuntimeError as error:
        try:
            released = await invoke("release-inventory", hold, name="release")
        except CallableRuntimeError as release_error:
            released = {"released": None, "why": release_error.error_type}
        return {"charged": False, "why": error.error_type, **released}
    return {"charged": True, "amount": receipt["charged"], "released": False}


# --- a chain three deep, each level carrying the level below's failure ------------------------


async def _units_wanted(item: str) -> int:
    return 1 + int(hashlib.sha256(item.encode()).hexdigest(), 16) % 9


@durable_execution
async def supplier_restock(event: Any) -> dict[str, Any]:
    """The last link: waits for the supplier's batch window, then asks a person to confirm
    the restock (two minutes to answer)."""
    await wait(dt.timedelta(minutes=10), name="batch-window")
    try:
        answer = await wait_for_callback(_notify_supplier, name="restock-confirm", timeout=120)
        confirmed: Any = json.loads(answer) if answer else None
    except CallbackError as error:
        confirmed = {"unconfirmed": type(error).__name__}
    return {"item": event["item"], "units": event["units"], "confirmed": confirmed}


async def _notify_supplier() -> None:
    """The submitter: hands the callback id to the supplier's desk (run once, as a step)."""
    services.hand_over(get_wait_for_callback_context().callback_id)


@durable_execution
async def warehouse_restock(event: Any) -> dict[str, Any]:
    """The middle link: works out how many units, asks the supplier; a supplier failure is
    carried up as data."""
    units = await step(lambda: _units_wanted(event["item"]), name="units")
    try:
        restock = await invoke(
            "supplier-restock", {"item": event["item"], "units": units}, name="ask-supplier"
        )
    except CallableRuntimeError as error:
        restock = {"item": event["item"], "units": units, "failed": error.error_type}
    await wait(30, name="shelve")
    return {"warehouse": "w1", **restock}


@durable_execution
async def restock_three_deep(event: Any) -> dict[str, Any]:
    """Shop -> warehouse -> supplier; the shop stamps the outcome, whatever failed below."""
    try:
        restock = await invoke("warehouse-restock", {"item": "lamp"}, name="ask-warehouse")
    except CallableRuntimeError as error:
        restock = {"item": "lamp", "failed": f"warehouse {error.error_type}"}
    stamp = await step(_new_id, name="stamp")
    return {"restock": restock, "stamp": stamp[:4]}


# --- an invoked function that outlives its execution time-out ---------------------------------


@durable_execution
async def slow_report(event: Any) -> dict[str, Any]:
    """Gathers for two days: longer than the one day every invoked execution gets, so the
    invoke ends TIMED_OUT (the service ends the execution, not this code)."""
    await wait(dt.timedelta(days=2), name="gather")
    return {"report": "full"}


@durable_execution
async def quick_report(event: Any) -> dict[str, Any]:
    rows = await step(lambda: _echo(random.randint(10, 99)), name="rows")
    return {"report": "quick", "rows": rows}


@durable_execution
async def report_or_fallback(event: Any) -> dict[str, Any]:
    """Asks for the full report; if it times out (or fails), falls back to the quick one.
    The orchestrator's own time-out is three days, so it outlives the slow report's."""
    try:
        report = await invoke("slow-report", {"day": "2026-12-04"}, name="full-report")
        why = None
    except CallableRuntimeError as error:
        why = error.error_type
        report = await invoke("quick-report", {"day": "2026-12-04"}, name="quick-report")
    return {"report": report, "fallback_because": why}


# --- a payload and a result of about 120 KB ----------------------------------------------------


async def _readings(count: int) -> list[dict[str, Any]]:
    return [
        {"sensor": f"s-{i:05d}", "value": round(random.uniform(-40, 60), 3)} for i in range(count)
    ]


@durable_execution
async def summarise_readings(event: Any) -> dict[str, Any]:
    """Invoked with ~120 KB of readings: returns per-sensor deltas (~120 KB) and a summary."""
    readings = event["readings"]

    async def deltas() -> list[str]:
        mean = sum(r["value"] for r in readings) / len(readings)
        return [f"{r['sensor']}:{r['value'] - mean:+.3f}" for r in readings]

    spread = await step(deltas, name="deltas")
    return {"count": len(readings), "deltas": spread}


@durable_execution
async def bulk_readings(event: Any) -> dict[str, Any]:
    """Reads 3,000 sensors in a step and hands them all to the summariser."""
    readings = await step(lambda: _readings(3_000), name="read")
    summary = await invoke("summarise", {"readings": readings}, name="summarise")
    await wait(5, name="publish")
    digest = hashlib.sha256(json.dumps(summary["deltas"]).encode()).hexdigest()
    return {"count": summary["count"], "deltas": len(summary["deltas"]), "digest": digest[:12]}


# --- invokes inside a child context and a @durable_callable -----------------------------------


@durable_execution
async def customer_profile(event: Any) -> dict[str, Any]:
    await wait(2, name="lookup")
    tier = await step(lambda: _echo(random.choice(["gold", "silver", "bronze"])), name="tier")
    return {"customer": event["customer"], "tier": tier}


@durable_execution
async def credit_check(event: Any) -> dict[str, Any]:
    async def check() -> int:
        _flaky(0.25, "the bureau")
        return random.randint(300, 850)

    return {"score": await step(check, name="bureau", retry_strategy=FLAKY)}


@durable_callable
async def _onboard(customer: str) -> dict[str, Any]:
    """A reusable unit of durable logic: a profile and a credit check, both invoked."""
    profile = await invoke("profile", {"customer": customer}, name=f"profile-{customer}")
    try:
        credit = (await invoke("credit", {"customer": customer}, name=f"credit-{customer}"))[
            "score"
        ]
    except CallableRuntimeError:
        credit = None
    return {**profile, "credit": credit}


@durable_execution
async def onboard_customers(event: Any) -> dict[str, Any]:
    """Onboards two customers, each in a child context running a ``@durable_callable``, and a
    third through a plain child context whose two invokes run at once."""
    first = await run_in_child_context(_onboard("ada"), name="onboard-ada")
    second = await run_in_child_context(_onboard("brian"), name="onboard-brian")

    async def third() -> dict[str, Any]:
        profile, credit = await asyncio.gather(
            invoke("profile", {"customer": "chen"}, name="profile-chen"),
            invoke("credit", {"customer": "chen"}, name="credit-chen"),
        )
        return {**profile, "credit": credit["score"]}

    try:
        chen = await run_in_child_context(third, name="onboard-chen")
    except CallableRuntimeError as error:
        chen = {"customer": "chen", "failed": error.error_type}
    return {"customers": [first, second, chen]}


# --- the same function invoked twice under different names ------------------------------------


@durable_execution
async def fx_rate(event: Any) -> dict[str, Any]:
    rate = await step(lambda: _echo(round(random.uniform(0.5, 2.0), 4)), name="rate")
    return {"pair": f"{event['from']}/{event['to']}", "rate": rate}


@durable_execution
async def convert_twice(event: Any) -> dict[str, Any]:
    """Two currency pairs through one function at once, then the first pair asked again (a
    second opinion): three invokes of "fx" under three names; the two answers for one pair
    may differ (each is its own execution), and the handler reports the spread."""
    eur, gbp = await asyncio.gather(
        invoke("fx", {"from": "EUR", "to": "USD"}, name="fx-eur"),
        invoke("fx", {"from": "GBP", "to": "USD"}, name="fx-gbp"),
    )
    again = await invoke("fx", {"from": "EUR", "to": "USD"}, name="fx-eur-again")
    return {
        "rates": [eur, gbp],
        "eur_spread": round(abs(eur["rate"] - again["rate"]), 4),
    }


# --- recursion on the function's own ARN, bounded by depth ------------------------------------


async def _sum_range(lo: int, hi: int) -> int:
    return sum(range(lo, hi))


@durable_execution
async def split_and_sum(event: Any) -> dict[str, Any]:
    """Sums ``range(lo, hi)`` by splitting it in halves, each half summed by this same function
    invoked on its own ARN (from the Lambda context), at most two levels down."""
    lo, hi, depth = event["lo"], event["hi"], event.get("depth", 0)
    if hi - lo <= 3 or depth >= 2:
        total = await step(lambda: _sum_range(lo, hi), name="leaf")
        return {"total": total, "executions": 1}
    lambda_context = get_durable_context().lambda_context
    assert lambda_context is not None, "a Lambda invocation always has a Lambda context"
    me = lambda_context.invoked_function_arn
    mid = (lo + hi) // 2
    left, right = await asyncio.gather(
        invoke(me, {"lo": lo, "hi": mid, "depth": depth + 1}, name="left"),
        invoke(me, {"lo": mid, "hi": hi, "depth": depth + 1}, name="right"),
    )
    return {
        "total": left["total"] + right["total"],
        "executions": 1 + left["executions"] + right["executions"],
    }


# --- an invoke racing a wait -------------------------------------------------------------------


@durable_execution
async def partner_check(event: Any) -> dict[str, Any]:
    """The partner takes 30 s, then answers."""
    await wait(30, name="partner-latency")
    ok = await step(lambda: _echo(random.random() < 0.8), name="verdict")
    return {"ok": ok}


@durable_execution
async def check_or_deadline(event: Any) -> dict[str, Any]:
    """The partner's answer against a 30 s deadline: whichever branch ends first wins (the
    race is real; both outcomes are correct), the other is abandoned."""

    async def ask() -> dict[str, Any]:
        return {"by": "partner", **await invoke("partner", {"case": "c-1"}, name="partner")}

    async def deadline() -> dict[str, Any]:
        await wait(30, name="deadline")
        return {"by": "deadline", "ok": None}

    batch = await parallel(
        [ask, deadline], name="race", completion_config=CompletionConfig(min_successful=1)
    )
    winners = [r for r in batch.get_results() if r]
    return {"decided": winners[0] if winners else None}


# --- invoked functions that retry and fail; the caller retries the invoke once ---------------


@durable_execution
async def flaky_geocoder(event: Any) -> dict[str, Any]:
    """Often down: three attempts with backoff, then the function fails."""

    async def geocode() -> list[float]:
        _flaky(0.5, "the geocoder")
        return [round(random.uniform(-90, 90), 4), round(random.uniform(-180, 180), 4)]

    return {
        "address": event["address"],
        "at": await step(geocode, name="geocode", retry_strategy=FLAKY),
    }


@durable_execution
async def geocode_with_second_try(event: Any) -> dict[str, Any]:
    """Geocodes an address; if the geocoder function fails, waits a minute and invokes it once
    more under another name; after that, gives up with no location."""
    address = "1 Main St"
    tries = []
    for attempt, name in enumerate(("geocode", "geocode-again")):
        if attempt:
            await wait(60, name="cool-down")
        try:
            located = await invoke("geocoder", {"address": address}, name=name)
        except CallableRuntimeError as error:
            tries.append(error.error_type)
            continue
        return {"at": located["at"], "failed_tries": tries}
    return {"at": None, "failed_tries": tries}


# --- an invoked function that creates a callback with a heartbeat ----------------------------


@durable_execution
async def sign_off_desk(event: Any) -> dict[str, Any]:
    """Hands a callback id to the desk (in a step) and waits for the sign-off: ten minutes,
    with a heartbeat every minute."""
    callback = await create_callback(name="sign-off", timeout=600, heartbeat_timeout=60)

    async def hand_over() -> int:
        return services.hand_over(callback.callback_id)

    await step(hand_over, name="hand-over")
    try:
        answer = await callback.result()
        signed: Any = json.loads(answer) if answer else None
    except CallbackError as error:
        signed = {"unsigned": type(error).__name__}
    return {"document": event["document"], "signed": signed}


@durable_execution
async def contract_sign_off(event: Any) -> dict[str, Any]:
    """Two documents signed off through the desk's function, one after the other; the contract
    is filed whatever came back."""
    results = []
    for document in ("terms", "annex"):
        try:
            results.append(await invoke("desk", {"document": document}, name=f"sign-{document}"))
        except CallableRuntimeError as error:
            results.append({"document": document, "failed": error.error_type})
    filed = await step(_new_id, name="file")
    return {"documents": results, "filed": filed[:6]}


# --- parallel branches in child contexts: deploy, bake, verify ---------------------------------


@durable_execution
async def deploy_region(event: Any) -> dict[str, Any]:
    await wait(5, name="provision")
    version = await step(lambda: _echo(f"v{random.randint(1, 9)}"), name="deploy")
    return {"region": event["region"], "version": version}


@durable_execution
async def verify_region(event: Any) -> dict[str, Any]:
    """Probes once, no retry: a failed probe fails the function."""

    async def probe() -> bool:
        if random.random() < 0.2:
            msg = f"{event['region']} probe failed"
            raise RuntimeError(msg)
        return True

    return {"healthy": await step(probe, name="probe", retry_strategy=RetryStrategy.none())}


@durable_execution
async def regional_rollout(event: Any) -> dict[str, Any]:
    """Three regions at once, each a child context that invokes the deployer, bakes, and
    invokes the verifier; one region may fail."""

    def region(name: str) -> Any:
        async def branch() -> dict[str, Any]:
            deployed = await invoke("deploy-region", {"region": name}, name=f"deploy-{name}")
            await wait(20, name=f"bake-{name}")
            verified = await invoke("verify-region", deployed, name=f"verify-{name}")
            return {**deployed, **verified}

        return branch

    batch = await parallel(
        [region("eu"), region("us"), region("ap")],
        name="regions",
        completion_config=CompletionConfig(tolerated_failure_count=1),
    )
    return {
        "live": sorted(r["region"] for r in batch.get_results() if r),
        "failed": sorted(item.index for item in batch.all if item.error is not None),
        "reason": batch.completion_reason.value,
    }


#: Every handler of this corpus, with what its scenarios need (the shape of
#: ``processes.CORPUS``).
CORPUS: dict[str, dict[str, Any]] = {
    "order_pipeline": {
        "handler": order_pipeline,
        "functions": {"validate": validate_order, "price": price_order, "reserve": reserve_order},
        "before_run": reset,
    },
    "score_batch": {"handler": score_batch, "functions": {"scorer": score_item}},
    "best_two_quotes": {
        "handler": best_two_quotes,
        "functions": {f"supplier-{s}": supplier_quote for s in "abc"},
    },
    "checkout_charged": {
        "handler": checkout_with_compensation,
        "input": {"amount": 120},
        "functions": {
            "hold-inventory": hold_inventory,
            "charge": charge_card,
            "release-inventory": release_inventory,
        },
        "before_run": reset,
    },
    "checkout_declined": {
        "handler": checkout_with_compensation,
        "input": {"amount": 900},
        "functions": {
            "hold-inventory": hold_inventory,
            "charge": charge_card,
            "release-inventory": release_inventory,
        },
        "before_run": reset,
    },
    "restock_three_deep": {
        "handler": restock_three_deep,
        "callbacks": {"restock-confirm": {"ok": True}},
        "functions": {
            "warehouse-restock": warehouse_restock,
            "supplier-restock": supplier_restock,
        },
        "before_run": reset,
    },
    "report_or_fallback": {
        "handler": report_or_fallback,
        "functions": {"slow-report": slow_report, "quick-report": quick_report},
        "execution_timeout": 3 * 86_400,
    },
    "bulk_readings": {"handler": bulk_readings, "functions": {"summarise": summarise_readings}},
    "onboard_customers": {
        "handler": onboard_customers,
        "functions": {"profile": customer_profile, "credit": credit_check},
    },
    "convert_twice": {"handler": convert_twice, "functions": {"fx": fx_rate}},
    "split_and_sum": {"handler": split_and_sum, "input": {"lo": 0, "hi": 12}},
    "check_or_deadline": {"handler": check_or_deadline, "functions": {"partner": partner_check}},
    "geocode_with_second_try": {
        "handler": geocode_with_second_try,
        "functions": {"geocoder": flaky_geocoder},
    },
    "contract_sign_off": {
        "handler": contract_sign_off,
        "callbacks": {"sign-off": {"signed_by": "legal"}},
        "functions": {"desk": sign_off_desk},
        "before_run": reset,
    },
    "regional_rollout": {
        "handler": regional_rollout,
        "functions": {"deploy-region": deploy_region, "verify-region": verify_region},
    },
}


#: What a checkout's "payment-key" step drew (a uuid4): the key its hold, charge and release
#: carry, fixed for the targets below.
_PAYMENT_KEY = "5b0e6a1c-9d2f-4c07-8e3b-1f6a2d9c4e70"

#: The order id ``order_pipeline`` passes down (the first eight characters of a uuid4).
_ORDER = "3f2a9c1e"

#: What ``validate_order`` returns for ``_ORDER``, which ``price_order`` is invoked with.
_VALIDATED = {
    "order": _ORDER,
    "lines": [
        {"sku": f"{_ORDER}-0", "qty": 2},
        {"sku": f"{_ORDER}-1", "qty": 1},
        {"sku": f"{_ORDER}-2", "qty": 4},
    ],
}


def _reset_holding_the_checkout() -> None:
    """A fresh deployment in which the checkout's stock is held: a release is only asked for
    after a hold succeeded."""
    reset()
    services.hold(_PAYMENT_KEY)


def _sensor_readings(count: int) -> list[dict[str, Any]]:
    """What ``bulk_readings`` hands the summariser (~120 KB), drawn once from a fixed seed so
    every scenario of the target gets the same payload."""
    draw = random.Random(count)
    return [
        {"sensor": f"s-{i:05d}", "value": round(draw.uniform(-40, 60), 3)} for i in range(count)
    ]


#: Every function a ``CORPUS`` entry invokes, as a scenario's own handler (see the module's
#: docstring): keyed by the function's name, with the input its caller sends it.
TARGETS: dict[str, dict[str, Any]] = {
    "validate_order": {"handler": validate_order, "input": {"order": _ORDER}},
    "price_order": {"handler": price_order, "input": _VALIDATED},
    "reserve_order": {
        "handler": reserve_order,
        "input": {**_VALIDATED, "cents": [1_198, 431, 2_764], "total": 4_393},
        "before_run": reset,
    },
    # Item 3 queues for two seconds and scores; items 4 and 9 fail before any durable call.
    "score_item": {"handler": score_item, "input": {"item": 3}},
    "supplier_quote": {"handler": supplier_quote, "input": {"supplier": "b", "latency": 5}},
    "hold_inventory": {
        "handler": hold_inventory,
        "input": {"key": _PAYMENT_KEY},
        "before_run": reset,
    },
    "charge_card": {
        "handler": charge_card,
        "input": {"key": _PAYMENT_KEY, "amount": 120},
        "before_run": reset,
    },
    "release_inventory": {
        "handler": release_inventory,
        "input": {"hold": _PAYMENT_KEY},
        "before_run": _reset_holding_the_checkout,
    },
    "warehouse_restock": {
        "handler": warehouse_restock,
        "input": {"item": "lamp"},
        "callbacks": {"restock-confirm": {"ok": True}},
        "functions": {"supplier-restock": supplier_restock},
        "before_run": reset,
    },
    "supplier_restock": {
        "handler": supplier_restock,
        # _units_wanted("lamp") is 2.
        "input": {"item": "lamp", "units": 2},
        "callbacks": {"restock-confirm": {"ok": True}},
        "before_run": reset,
    },
    # Given the one day every invoked execution gets (the runner's default), as its caller
    # sees it: the execution ends TIMED_OUT during its two-day wait.
    "slow_report": {"handler": slow_report, "input": {"day": "2026-12-04"}},
    "quick_report": {"handler": quick_report, "input": {"day": "2026-12-04"}},
    "summarise_readings": {
        "handler": summarise_readings,
        "input": {"readings": _sensor_readings(3_000)},
    },
    "customer_profile": {"handler": customer_profile, "input": {"customer": "ada"}},
    "credit_check": {"handler": credit_check, "input": {"customer": "ada"}},
    "fx_rate": {"handler": fx_rate, "input": {"from": "EUR", "to": "USD"}},
    "partner_check": {"handler": partner_check, "input": {"case": "c-1"}},
    "flaky_geocoder": {"handler": flaky_geocoder, "input": {"address": "1 Main St"}},
    "sign_off_desk": {
        "handler": sign_off_desk,
        "input": {"document": "terms"},
        "callbacks": {"sign-off": {"signed_by": "legal"}},
        "before_run": reset,
    },
    "deploy_region": {"handler": deploy_region, "input": {"region": "eu"}},
    "verify_region": {"handler": verify_region, "input": {"region": "eu", "version": "v3"}},
}
