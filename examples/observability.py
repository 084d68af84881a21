"""Correct handlers instrumented the way production Lambda code is (the session-44 false-flag
audit): OpenTelemetry traces and metrics, and structured logs with ``structlog``.

Telemetry is everywhere in real handlers and nowhere in their results. It draws random ids
(trace and span ids, a sampler's coin) outside any step, reads the clock (span timestamps,
``time.perf_counter()`` durations), keeps state at module level (a tracer provider, a meter's
aggregations) and runs threads of its own that outlive every invocation (a batch span
processor's worker, a periodic metric reader), started when the module is imported, which is
during the first invocation of every sandbox. None of it may change a verdict:

- ``traced_order_with_batch_export``: a span around the whole invocation and one per step,
  exported in batches by a ``BatchSpanProcessor`` thread (flushed before the handler returns,
  as Lambda code must: the sandbox freezes); a step that sleeps 0.2 s inside its span; an
  hour's wait between the steps;
- ``trace_context_sent_to_a_partner``: the payments call carries the step's W3C
  ``traceparent`` (``opentelemetry.propagate.inject``), the step returns its random trace id,
  and the next step is named after it: a name made of a checkpointed result is the same on
  every replay;
- ``spans_per_map_item``: a ``map`` whose branches each open a span, with prices fetched on
  threads (``asyncio.to_thread``, which carries the trace context) under ``asyncio.gather``;
- ``metrics_from_a_periodic_reader``: a counter and a histogram of step durations
  (``time.perf_counter()`` around a 0.3 s partner call), exported by a
  ``PeriodicExportingMetricReader`` thread every 2 s; each step guards its own latency (a call
  slower than 5 s is an error, as an SLA check in a handler is);
- ``structlog_with_request_ids``: ``structlog`` with ``merge_contextvars``; each invocation
  clears the bound keys and binds its Lambda request id (new every invocation) and the order;
  log lines in and out of steps;
- ``span_exceptions_on_retries``: a step whose span records the exception and an error status
  on each failed attempt, retried durably (full jitter) until the partner answers;
- ``sampled_traces``: a ``ParentBased(TraceIdRatioBased(0.5))`` sampler, so whether a trace is
  recorded is a coin drawn outside any step; attributes are set only on recorded spans;
- ``global_tracer_provider``: ``trace.set_tracer_provider`` at import, as the OpenTelemetry
  docs show, and ``trace.get_tracer`` in the handler. A cold sandbox imports the module again
  in the same test process, where OpenTelemetry refuses to replace the global provider (it
  logs a warning): the spans go to the first sandbox's provider, which changes nothing the
  handler returns.

Every one is correct durable code: each partner answers by what it is asked, and what a handler
returns is a function of its input only. No oracle may flag any of them under any fault plan
or timing (``tests/harness/test_observability_corpus.py`` at CI size;
``benchmarks/same_world.py --corpus observability`` is the long campaign).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import observability_services as services
import structlog
from async_durable_execution import (
    JitterStrategy,
    RetryStrategy,
    durable_execution,
    get_durable_context,
    step,
    wait,
)
from async_durable_execution import map as durable_map
from observability_services import TransientError
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Status, StatusCode

__all__ = ["CORPUS", "reset"]


class CollectorSpanExporter(SpanExporter):
    """Sends span names to the fake collector (an OTLP exporter sends them over HTTP)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        services.SPANS.extend(span.name for span in spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class CollectorMetricExporter(MetricExporter):
    """Sends metric points to the fake collector, as deltas."""

    def __init__(self) -> None:
        super().__init__(
            preferred_temporality={
                Counter: AggregationTemporality.DELTA,
                Histogram: AggregationTemporality.DELTA,
            }
        )

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        for resource_metrics in metrics_data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        if value is None:
                            value = getattr(point, "sum", 0)
                        attributes = tuple(sorted((point.attributes or {}).items()))
                        services.POINTS.append((metric.name, attributes, float(value)))
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


# The sandbox's telemetry, set up when the module is imported (in the first invocation of
# every sandbox), as production handlers set it up.
RESOURCE = Resource.create({"service.name": "orders"})
PROVIDER = TracerProvider(resource=RESOURCE)
PROVIDER.add_span_processor(BatchSpanProcessor(CollectorSpanExporter(), schedule_delay_millis=1000))
TRACER = PROVIDER.get_tracer("orders")

SAMPLED = TracerProvider(resource=RESOURCE, sampler=ParentBased(TraceIdRatioBased(0.5)))
SAMPLED.add_span_processor(SimpleSpanProcessor(CollectorSpanExporter()))
SAMPLED_TRACER = SAMPLED.get_tracer("orders.sampled")

READER = PeriodicExportingMetricReader(CollectorMetricExporter(), export_interval_millis=2000)
METERS = MeterProvider(resource=RESOURCE, metric_readers=[READER])
METER = METERS.get_meter("orders")
STEPS_RUN = METER.create_counter("steps.run", description="step bodies run")
STEP_SECONDS = METER.create_histogram("step.duration", unit="s")

GLOBAL_PROVIDER = TracerProvider(resource=RESOURCE)
GLOBAL_PROVIDER.add_span_processor(SimpleSpanProcessor(CollectorSpanExporter()))
trace.set_tracer_provider(GLOBAL_PROVIDER)


def _ship(logger: Any, method: str, event: dict[str, Any]) -> str:
    """structlog's last processor: the line goes to the log collector (CloudWatch, here the
    fake's list)."""
    services.LINES.append(dict(event))
    return str(event.get("event"))


structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _ship,
    ],
    logger_factory=structlog.ReturnLoggerFactory(),
    cache_logger_on_first_use=False,
)
LOG = structlog.get_logger("orders")


def reset() -> None:
    """A fresh deployment of the partners (the sandbox's telemetry lives on, as a warm
    sandbox's does)."""
    services.reset()


#: How long a partner call may take before the handler treats it as an outage (an SLA guard).
SLOW_CALL_SECONDS = 5.0


class SlowPartner(Exception):
    """A partner call took longer than the handler's latency guard allows."""


# --- a span per step, exported in batches ----------------------------------------------------


@durable_execution
async def traced_order_with_batch_export(event: Any) -> dict[str, Any]:
    order = event["order"]
    try:
        with TRACER.start_as_current_span("order") as span:
            span.set_attribute("order.id", order)

            async def reserve() -> str:
                with TRACER.start_as_current_span("reserve") as child:
                    await asyncio.sleep(0.2)  # the inventory API's latency
                    child.set_attribute("items", event["items"])
                    return services.reserve(order, event["items"])

            reservation = await step(reserve, name="reserve")
            await wait(3600, name="hold")

            async def pay() -> str:
                with TRACER.start_as_current_span("pay"):
                    return services.charge(order, event["items"] * 250, {})

            charge = await step(pay, name="pay")
            span.add_event("paid", {"charge": charge})
            return {"reservation": reservation, "charge": charge}
    finally:
        # The sandbox may freeze once the handler returns: export what the batch holds.
        PROVIDER.force_flush()


# --- the trace context sent to a partner ------------------------------------------------------


@durable_execution
async def trace_context_sent_to_a_partner(event: Any) -> dict[str, Any]:
    order, amount = event["order"], event["amount"]
    with TRACER.start_as_current_span("checkout"):

        async def pay() -> dict[str, str]:
            with TRACER.start_as_current_span("pay") as span:
                headers: dict[str, str] = {}
                inject(headers)  # W3C traceparent of the current span
                charge = services.charge(order, amount, headers)
                trace_id = format(span.get_span_context().trace_id, "032x")
                return {"charge": charge, "trace": trace_id}

        paid = await step(pay, name="pay")

        async def audit() -> str:
            with TRACER.start_as_current_span("audit"):
                return f"audited-{paid['charge']}"

        # The trace id is the checkpointed result's: on replay the name is the same.
        audited = await step(audit, name=f"audit-{paid['trace'][:8]}")
        await wait(600, name="settlement")

        async def settle() -> str:
            with TRACER.start_as_current_span("settle"):
                return f"settled-{paid['charge']}"

        settled = await step(settle, name="settle")
    PROVIDER.force_flush()
    return {"charge": paid["charge"], "audited": audited, "settled": settled}


# --- a span per map item ----------------------------------------------------------------------


@durable_execution
async def spans_per_map_item(event: Any) -> dict[str, Any]:
    with TRACER.start_as_current_span("quote"):

        async def quote(item: str) -> int:
            with TRACER.start_as_current_span(f"quote-{item}"):

                async def fetch() -> int:
                    with TRACER.start_as_current_span("fetch"):
                        prices = await asyncio.gather(
                            *(asyncio.to_thread(services.price, f"{item}-{i}") for i in range(3))
                        )
                        return sum(prices)

                return await step(fetch, name=f"price-{item}")

        quotes = await durable_map(quote, event["items"], name="quotes", max_concurrency=3)
        total = sum(quotes.get_results())
        await wait(60, name="cool-off")

        async def confirm() -> str:
            with TRACER.start_as_current_span("confirm"):
                return f"quote-{total}"

        confirmed = await step(confirm, name="confirm")
    PROVIDER.force_flush()
    return {"total": total, "confirmed": confirmed}


# --- metrics from a periodic reader -----------------------------------------------------------


async def _timed_call(name: str, key: str) -> int:
    """A partner call with its latency measured and guarded, as handlers measure theirs."""
    started = time.perf_counter()
    await asyncio.sleep(0.3)  # the partner's latency
    price = services.price(key)
    elapsed = time.perf_counter() - started
    STEP_SECONDS.record(elapsed, {"step": name})
    STEPS_RUN.add(1, {"step": name})
    if elapsed > SLOW_CALL_SECONDS:
        msg = f"{name} took {elapsed:.1f} s (the guard allows {SLOW_CALL_SECONDS:g} s)"
        raise SlowPartner(msg)
    return price


@durable_execution
async def metrics_from_a_periodic_reader(event: Any) -> dict[str, Any]:
    try:
        prices = []
        for index, key in enumerate(event["keys"]):

            async def call(key: str = key, index: int = index) -> int:
                return await _timed_call(f"call-{index}", key)

            prices.append(await step(call, name=f"call-{index}"))
            if index == 0:
                await wait(1800, name="half-hour")
        return {"prices": prices}
    finally:
        # Every invocation, the one the wait suspends too: the sandbox may freeze after it.
        METERS.force_flush()


# --- structlog with the request id bound per invocation ---------------------------------------


@durable_execution
async def structlog_with_request_ids(event: Any) -> dict[str, Any]:
    order = event["order"]
    lambda_context = get_durable_context().lambda_context
    assert lambda_context is not None, "a Lambda invocation always has a Lambda context"
    # Each invocation starts with no keys bound but its own (a warm sandbox keeps contextvars
    # only within an invocation's context; clearing them is the documented pattern anyway).
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=lambda_context.aws_request_id, order=order)
    LOG.info("invocation started")

    async def reserve() -> str:
        LOG.info("reserving", items=event["items"])
        reservation = services.reserve(order, event["items"])
        LOG.info("reserved", reservation=reservation)
        return reservation

    reservation = await step(reserve, name="reserve")
    LOG.info("waiting for the warehouse", seconds=900)
    await wait(900, name="warehouse")

    async def ship() -> str:
        log = LOG.bind(step="ship")
        log.info("shipping")
        return f"shipped-{reservation}"

    shipped = await step(ship, name="ship")
    LOG.info("done", shipped=shipped)
    return {"reservation": reservation, "shipped": shipped}


# --- a span that records each failed attempt --------------------------------------------------

#: The partner refuses twice: the third attempt, some seconds later, is answered.
RETRY_THE_PARTNER = RetryStrategy(
    max_attempts=5,
    initial_delay=2,
    backoff_rate=2,
    jitter_strategy=JitterStrategy.FULL,
    retryable_error_types=[TransientError],
)


@durable_execution
async def span_exceptions_on_retries(event: Any) -> dict[str, Any]:
    key = event["key"]

    async def fetch() -> int:
        with TRACER.start_as_current_span("fetch") as span:
            try:
                return services.flaky_price(key, fails=2)
            except TransientError as error:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                raise

    price = await step(fetch, name="fetch", retry_strategy=RETRY_THE_PARTNER)
    await wait(30, name="pause")

    async def again() -> int:
        with TRACER.start_as_current_span("again"):
            return services.price(key)

    again_price = await step(again, name="again")
    PROVIDER.force_flush()
    return {"price": price, "again": again_price}


# --- a sampler's coin outside every step ------------------------------------------------------


@durable_execution
async def sampled_traces(event: Any) -> dict[str, Any]:
    totals = []
    for batch in event["batches"]:
        with SAMPLED_TRACER.start_as_current_span(f"batch-{batch}") as span:
            if span.is_recording():
                span.set_attribute("batch", batch)

            async def total(batch: str = batch) -> int:
                with SAMPLED_TRACER.start_as_current_span("sum") as child:
                    value = sum(services.price(f"{batch}-{i}") for i in range(4))
                    if child.is_recording():
                        child.set_attribute("total", value)
                    return value

            totals.append(await step(total, name=f"total-{batch}"))
        await wait(120, name=f"after-{batch}")
    return {"totals": totals}


# --- the global tracer provider ---------------------------------------------------------------


@durable_execution
async def global_tracer_provider(event: Any) -> dict[str, Any]:
    tracer = trace.get_tracer("orders.global")
    with tracer.start_as_current_span("order"):

        async def reserve() -> str:
            with tracer.start_as_current_span("reserve"):
                return services.reserve(event["order"], event["items"])

        reservation = await step(reserve, name="reserve")
        await wait(300, name="hold")

        async def pay() -> str:
            with tracer.start_as_current_span("pay"):
                headers: dict[str, str] = {}
                inject(headers)
                return services.charge(event["order"], 100 * event["items"], headers)

        charge = await step(pay, name="pay")
    return {"reservation": reservation, "charge": charge}


CORPUS: dict[str, dict[str, Any]] = {
    "traced_order_with_batch_export": {
        "handler": traced_order_with_batch_export,
        "input": {"order": "o-17", "items": 3},
        "before_run": reset,
    },
    "trace_context_sent_to_a_partner": {
        "handler": trace_context_sent_to_a_partner,
        "input": {"order": "o-23", "amount": 4200},
        "before_run": reset,
    },
    "spans_per_map_item": {
        "handler": spans_per_map_item,
        "input": {"items": ["lamp", "desk", "chair", "rug"]},
        "before_run": reset,
    },
    "metrics_from_a_periodic_reader": {
        "handler": metrics_from_a_periodic_reader,
        "input": {"keys": ["north", "south", "east"]},
        "before_run": reset,
    },
    "structlog_with_request_ids": {
        "handler": structlog_with_request_ids,
        "input": {"order": "o-31", "items": 2},
        "before_run": reset,
    },
    "span_exceptions_on_retries": {
        "handler": span_exceptions_on_retries,
        "input": {"key": "warehouse"},
        "before_run": reset,
    },
    "sampled_traces": {
        "handler": sampled_traces,
        "input": {"batches": ["a", "b", "c"]},
        "before_run": reset,
    },
    "global_tracer_provider": {
        "handler": global_tracer_provider,
        "input": {"order": "o-41", "items": 4},
        "before_run": reset,
    },
}
