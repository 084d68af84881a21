"""Correct handlers built with the resilience tools Lambda code reaches for (the session-42
false-flag audit).

Step bodies that call partners rarely call them bare: they retry with a library, back off,
throttle, cache credentials for a while and stop calling a partner that is down. Each of
those keeps time, and each keeps it differently: ``tenacity`` and ``stamina`` with
``time.monotonic()`` and ``asyncio.sleep``, ``backoff`` with ``datetime.now()``,
``aiolimiter`` with ``loop.time()`` and ``loop.call_at``, ``cachetools.TTLCache`` with a
``time.monotonic`` bound at import, a hand-written circuit breaker with ``time.monotonic()``
kept at module level from one invocation to the next (as a warm sandbox keeps it). The
runner's virtual clocks must agree with each other and run on through the service's waits as
Lambda's do, or these handlers fail where Lambda succeeds:

- ``tenacity_around_a_flaky_partner``: prices fetched step by step through
  ``tenacity.AsyncRetrying`` (exponential back-off with random jitter, stopped after 6
  attempts or 120 s), the partner refusing each key twice; ten minutes' wait; one more price
  through a synchronous ``@tenacity.retry`` function on a thread (``asyncio.to_thread``),
  which sleeps between attempts on that thread;
- ``backoff_polls_a_report``: a report job started, polled every 5 s with
  ``backoff.on_predicate`` until ready (its fourth poll; ``max_time`` 120 s), then its
  price fetched with ``backoff.on_exception`` (full jitter);
- ``stamina_under_a_rate_limit``: ten calls at once, at most four a second (a module-level
  ``aiolimiter.AsyncLimiter``, the sandbox's, which reads ``loop.time()``), each retried by
  ``stamina.retry_context``; a wait; six more calls, which find the bucket drained;
- ``breaker_waits_out_between_retries``: a partner down for its first three calls behind
  a module-level circuit breaker (open for 30 s after two failures); the step's durable
  retries come 40 s apart, so each finds the breaker half-open, and the fourth attempt is
  answered;
- ``token_bucket_between_retries``: six calls, one a step, through a module-level token
  bucket (three at once, one more every 10 s of ``time.monotonic()``); a call the bucket
  refuses is the step's durable retry 10 s later, which finds a token refilled;
- ``cached_token_across_waits``: every call carries a token from a module-level
  ``cachetools.TTLCache`` (4 minutes; the issuer's tokens last 5): calls before and after an
  hour's wait, a ``map`` of calls, and a call after another 250 s. After each wait the cached
  token has expired and a new one is fetched; one kept past the wait is refused.

Every one is correct durable code: each partner answers by what it is asked (a price is a
function of its key, a report of its job), so running a body again from any point ends in the
same result, a function of the input only. No oracle may flag any of them under any fault
plan or timing (``tests/harness/test_resilience_corpus.py`` at CI size;
``benchmarks/same_world.py --corpus resilience`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar

import backoff
import resilience_services as services
import stamina
from aiolimiter import AsyncLimiter
from async_durable_execution import JitterStrategy, RetryStrategy, durable_execution, step, wait
from async_durable_execution import map as durable_map
from cachetools import TTLCache, cached
from resilience_services import TransientError
from tenacity import (
    AsyncRetrying,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
    wait_random,
)

__all__ = ["CORPUS", "reset"]

T = TypeVar("T")


class CircuitOpen(Exception):
    """The breaker refused the call without making it."""


class CircuitBreaker:
    """The breaker teams write themselves: ``threshold`` failures in a row open it for
    ``open_for`` seconds of ``time.monotonic()``; then one trial call goes through (half
    open), and its failure opens it again."""

    def __init__(self, threshold: int, open_for: float) -> None:
        self.threshold = threshold
        self.open_for = open_for
        self.failures = 0
        self.opened_at: float | None = None

    def call(self, partner: str, key: str, fails: int) -> int:
        if self.opened_at is not None:
            closed_in = self.open_for - (time.monotonic() - self.opened_at)
            if closed_in > 0:
                msg = f"the circuit to {partner} is open for {closed_in:.1f} s more"
                raise CircuitOpen(msg)
        try:
            answer = services.flaky_price(key, fails)
        except TransientError:
            self.failures += 1
            if self.opened_at is not None or self.failures >= self.threshold:
                self.opened_at = time.monotonic()
            raise
        self.failures = 0
        self.opened_at = None
        return answer


class RateLimited(Exception):
    """The sandbox's own quota refused the call: try again later."""


class TokenBucket:
    """The token bucket teams write themselves: ``capacity`` calls at once, one more every
    ``refill`` seconds of ``time.monotonic()``."""

    def __init__(self, capacity: int, refill: float) -> None:
        self.capacity = capacity
        self.refill = refill
        self.tokens = float(capacity)
        self.checked: float | None = None

    def take(self) -> None:
        now = time.monotonic()
        if self.checked is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.checked) / self.refill)
        self.checked = now
        if self.tokens < 1:
            msg = f"out of quota: the next call in {(1 - self.tokens) * self.refill:.1f} s"
            raise RateLimited(msg)
        self.tokens -= 1


#: Module level, as a warm sandbox keeps them between invocations (a cold one imports afresh).
BUCKETS: dict[str, TokenBucket] = {}
BREAKERS: dict[str, CircuitBreaker] = {}
TOKEN_CACHE: TTLCache[str, str] = TTLCache(maxsize=8, ttl=240)
#: The partner's quota, four calls a second, shared by every invocation of the sandbox (on
#: the one event loop the SDK keeps for it): a bucket the first batch filled has drained by
#: the time the second batch, after a durable wait, asks.
QUOTA = AsyncLimiter(4, 1)


def reset() -> None:
    """A fresh deployment of the partners, and of the sandbox's module state: the test
    process is one sandbox for every example, and its monotonic clock starts afresh with each
    runner (a trap in the findings)."""
    global QUOTA  # noqa: PLW0603 - a fresh sandbox's quota: a limiter keeps the loop it first ran on
    services.reset()
    BUCKETS.clear()
    BREAKERS.clear()
    TOKEN_CACHE.clear()
    QUOTA = AsyncLimiter(4, 1)


# --- tenacity ---------------------------------------------------------------------------------


async def _price_with_tenacity(key: str) -> int:
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(6) | stop_after_delay(120),
        wait=wait_exponential(multiplier=0.5, max=8) + wait_random(0, 0.5),
        retry=retry_if_exception_type(TransientError),
        reraise=True,
    ):
        with attempt:
            return services.flaky_price(key, fails=2)
    raise AssertionError("unreachable: tenacity reraises")


@retry(
    wait=wait_fixed(0.02),
    stop=stop_after_attempt(5),
    retry=retry_if_exception_type(TransientError),
    reraise=True,
)
def _price_blocking(key: str) -> int:
    return services.flaky_price(key, fails=3)


@durable_execution
async def tenacity_around_a_flaky_partner(event: Any) -> dict[str, Any]:
    prices = []
    for key in event["keys"]:
        prices.append(await step(lambda key=key: _price_with_tenacity(key), name=f"price-{key}"))
    await wait(600, name="cool-down")

    async def blocking() -> int:
        return await asyncio.to_thread(_price_blocking, event["extra"])

    extra = await step(blocking, name="extra")
    return {"prices": prices, "extra": extra}


# --- backoff ----------------------------------------------------------------------------------


@backoff.on_predicate(backoff.constant, lambda ready: not ready, interval=5, max_time=120)
async def _poll_report(job: str) -> bool:
    return services.report_ready(job, after=4)


@backoff.on_exception(
    backoff.expo, TransientError, max_tries=5, factor=0.5, jitter=backoff.full_jitter
)
async def _price_with_backoff(key: str) -> int:
    return services.flaky_price(key, fails=2)


@durable_execution
async def backoff_polls_a_report(event: Any) -> dict[str, Any]:
    job = event["job"]

    async def start() -> str:
        return services.start_report(job)

    async def ready() -> bool:
        if not await _poll_report(job):
            msg = f"the report {job} was not ready after 120 s of polls"
            raise TimeoutError(msg)
        return True

    async def fetch() -> dict[str, int]:
        return services.report(job)

    await step(start, name="start")
    await step(ready, name="ready")
    report = await step(fetch, name="fetch")
    price = await step(lambda: _price_with_backoff(job), name="price")
    return {"report": report, "price": price}


# --- stamina under aiolimiter -----------------------------------------------------------------


async def _batch_total(batch: str, size: int) -> int:
    async def one(index: int) -> int:
        key = f"{batch}-{index}"
        async with QUOTA:
            async for attempt in stamina.retry_context(
                on=TransientError, attempts=4, wait_initial=0.1, wait_max=1.0
            ):
                with attempt:
                    return services.flaky_price(key, fails=1 if index % 3 == 0 else 0)
        raise AssertionError("unreachable: stamina reraises")

    return sum(await asyncio.gather(*(one(index) for index in range(size))))


@durable_execution
async def stamina_under_a_rate_limit(event: Any) -> dict[str, Any]:
    first = await step(lambda: _batch_total(event["batch"], 10), name="first-batch")
    await wait(30, name="quota-window")
    second = await step(lambda: _batch_total(event["batch"] + "-b", 6), name="second-batch")
    return {"first": first, "second": second}


# --- a circuit breaker between durable retries ------------------------------------------------

#: The step's own retries wait the breaker out: 40 s apart, more than its 30 s open period.
WAIT_OUT_THE_BREAKER = RetryStrategy(
    max_attempts=6,
    initial_delay=40,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
    retryable_error_types=[TransientError, CircuitOpen],
)


@durable_execution
async def breaker_waits_out_between_retries(event: Any) -> dict[str, Any]:
    key = event["key"]

    async def call_partner() -> int:
        breaker = BREAKERS.setdefault("partner", CircuitBreaker(threshold=2, open_for=30))
        return breaker.call("partner", key, fails=3)

    price = await step(call_partner, name="partner", retry_strategy=WAIT_OUT_THE_BREAKER)
    await wait(5, name="settle")

    async def again() -> int:
        # The breaker closed on the answer: the next call goes straight through.
        return BREAKERS.setdefault("partner", CircuitBreaker(threshold=2, open_for=30)).call(
            "partner", key, fails=3
        )

    return {"price": price, "again": await step(again, name="again")}


# --- a token bucket between durable retries ---------------------------------------------------

#: The step's own retries wait for the bucket: 10 s, one token's refill.
WAIT_FOR_A_TOKEN = RetryStrategy(
    max_attempts=4,
    initial_delay=10,
    backoff_rate=1,
    jitter_strategy=JitterStrategy.NONE,
    retryable_error_types=[RateLimited],
)


@durable_execution
async def token_bucket_between_retries(event: Any) -> dict[str, Any]:
    prices = []
    for key in event["keys"]:

        async def call(key: str = key) -> int:
            BUCKETS.setdefault("partner", TokenBucket(capacity=3, refill=10)).take()
            return services.price(key)

        prices.append(await step(call, name=f"call-{key}", retry_strategy=WAIT_FOR_A_TOKEN))
    return {"prices": prices}


# --- a TTL cache of tokens --------------------------------------------------------------------


@cached(TOKEN_CACHE)
def _token(client: str) -> str:
    return services.issue_token(client)


@durable_execution
async def cached_token_across_waits(event: Any) -> dict[str, Any]:
    client = event["client"]

    def call(request: str) -> Any:
        async def body() -> str:
            return services.call_with_token(_token(client), request)

        return body

    answers = [await step(call("orders"), name="orders")]
    await wait(3600, name="an-hour")
    answers.append(await step(call("invoices"), name="invoices"))

    async def ship(region: str) -> str:
        return await step(call(f"ship-{region}"), name=f"ship-{region}")

    shipped = await durable_map(ship, event["regions"], name="ship", max_concurrency=2)
    answers.extend(shipped.get_results())
    await wait(250, name="past-the-cache")
    answers.append(await step(call("refunds"), name="refunds"))
    return {"answers": answers}


CORPUS: dict[str, dict[str, Any]] = {
    "tenacity_around_a_flaky_partner": {
        "handler": tenacity_around_a_flaky_partner,
        "input": {"keys": ["lamp", "desk"], "extra": "chair"},
        "before_run": reset,
    },
    "backoff_polls_a_report": {
        "handler": backoff_polls_a_report,
        "input": {"job": "q3-sales"},
        "before_run": reset,
    },
    "stamina_under_a_rate_limit": {
        "handler": stamina_under_a_rate_limit,
        "input": {"batch": "skus"},
        "before_run": reset,
    },
    "breaker_waits_out_between_retries": {
        "handler": breaker_waits_out_between_retries,
        "input": {"key": "warehouse"},
        "before_run": reset,
    },
    "token_bucket_between_retries": {
        "handler": token_bucket_between_retries,
        "input": {"keys": ["a", "b", "c", "d", "e", "f"]},
        "before_run": reset,
    },
    "cached_token_across_waits": {
        "handler": cached_token_across_waits,
        "input": {"client": "billing", "regions": ["eu", "us", "ap"]},
        "before_run": reset,
    },
}
