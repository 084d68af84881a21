"""The session-44 false-flag audit: correct handlers instrumented as production Lambda code is
(``examples/observability.py``: OpenTelemetry traces and metrics exported by threads of their
own, a sampler's coin, W3C trace headers sent to a partner, a step named after a checkpointed
trace id, ``structlog`` with per-invocation request ids) are flagged by no oracle, warm or
cold, under every fault kind.

The audit found runner bug 59: every cold sandbox's module import started OpenTelemetry's
batch span processor and periodic metric reader threads, which outlived the sandbox; a
campaign of 800 examples over the corpus ran thousands of them and took 6 minutes, 5 of CPU
in the kernel (2 min 44 s once a retired sandbox's threads end with it).

``DURABLE_OBSERVABILITY_EXAMPLES=300`` runs the campaign (or ``benchmarks/same_world.py
--corpus observability --plans all``).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import observability
import observability_services as services
import pytest
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios, step_events

from async_durable_execution_runner.scenarios import Scenario, Timings, crash
from async_durable_execution_runner.strategies import DEFAULT_KINDS, fault_plans

CORPUS = observability.CORPUS
price = services.price

#: The map's total: three prices per item.
QUOTES = sum(price(f"{item}-{i}") for item in ("lamp", "desk", "chair", "rug") for i in range(3))

#: What each entry returns without faults (a function of its input only).
EXPECTED: dict[str, Any] = {
    "traced_order_with_batch_export": {
        "reservation": "res-o-17-3",
        "charge": services.charge("o-17", 750, {}),
    },
    "trace_context_sent_to_a_partner": {
        "charge": services.charge("o-23", 4200, {}),
        "audited": f"audited-{services.charge('o-23', 4200, {})}",
        "settled": f"settled-{services.charge('o-23', 4200, {})}",
    },
    "spans_per_map_item": {"total": QUOTES, "confirmed": f"quote-{QUOTES}"},
    "metrics_from_a_periodic_reader": {"prices": [price("north"), price("south"), price("east")]},
    "structlog_with_request_ids": {"reservation": "res-o-31-2", "shipped": "shipped-res-o-31-2"},
    "span_exceptions_on_retries": {"price": price("warehouse"), "again": price("warehouse")},
    "sampled_traces": {"totals": [sum(price(f"{b}-{i}") for i in range(4)) for b in "abc"]},
    "global_tracer_provider": {
        "reservation": "res-o-41-4",
        "charge": services.charge("o-41", 400, {}),
    },
}


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])


def test_the_partner_is_sent_the_pay_step_s_trace_header_and_the_audit_is_named_after_it() -> None:
    outcome = fault_free(CORPUS["trace_context_sent_to_a_partner"]).run()
    assert len(services.TRACEPARENTS) == 1
    _, trace_id, _, flags = services.TRACEPARENTS[0].split("-")
    assert int(flags, 16) & 1  # sampled
    audits = [e["Name"] for e in outcome.history if str(e.get("Name", "")).startswith("audit-")]
    assert audits and set(audits) == {f"audit-{trace_id[:8]}"}
    outcome.check()


def test_spans_are_exported_by_the_batch_processor_before_the_handler_returns() -> None:
    fault_free(CORPUS["traced_order_with_batch_export"]).run().check()
    # Both invocations flushed: the first its reserve span (the order span is still open
    # when the wait suspends it), the second its own.
    assert services.SPANS.count("reserve") == 1
    assert services.SPANS.count("pay") == 1
    assert services.SPANS.count("order") == 2


def test_the_metric_reader_exports_the_step_durations_from_virtual_time() -> None:
    """Each call's 0.3 s of latency is measured with ``time.perf_counter()`` as about 0.3 s,
    whatever the loop's jumps; the half-hour wait is in no step's duration."""
    fault_free(CORPUS["metrics_from_a_periodic_reader"]).run().check()
    durations = [value for name, _, value in services.POINTS if name == "step.duration"]
    assert durations and all(0.29 < value < 1.0 for value in durations)
    runs = [value for name, _, value in services.POINTS if name == "steps.run"]
    assert sum(runs) == 3


def test_the_request_id_bound_in_each_invocation_is_that_invocation_s() -> None:
    outcome = fault_free(CORPUS["structlog_with_request_ids"]).run()
    outcome.check()
    ids = {line["request_id"] for line in services.LINES}
    assert ids == {invocation.request_id for invocation in outcome.invocations}
    assert len(ids) == 2
    assert all(line["order"] == "o-31" for line in services.LINES)


def test_a_span_records_each_failed_attempt_of_a_durably_retried_step() -> None:
    outcome = fault_free(CORPUS["span_exceptions_on_retries"]).run()
    assert step_events(outcome, "fetch") == [
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepSucceeded",
    ]
    outcome.check()


def test_cold_sandboxes_threads_end_with_them() -> None:
    """Runner bug 59 on the real libraries: each cold sandbox starts a batch span processor
    and a periodic metric reader; once retired, they end at their next wake-up (every 1 s and
    2 s), leaving the test process's own."""

    def exporters() -> int:
        return sum(
            thread.name.startswith(
                ("OtelBatchSpanRecordProcessor", "OtelPeriodicExportingMetricReader")
            )
            for thread in threading.enumerate()
        )

    for _ in range(6):
        outcome = fault_free(CORPUS["traced_order_with_batch_export"], ("cold",)).run()
        assert outcome.value == EXPECTED["traced_order_with_batch_export"]
    deadline = time.perf_counter() + 10
    while exporters() > 2 and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert exporters() == 2


@pytest.mark.parametrize("name", ["trace_context_sent_to_a_partner", "spans_per_map_item"])
def test_every_crash_point_passes(name: str) -> None:
    spec = CORPUS[name]
    Scenario(
        handler=spec["handler"], input=spec["input"], before_run=spec["before_run"]
    ).crash_points(budget=None).check()


def test_a_crash_inside_the_pay_step_draws_a_new_trace_id_and_is_not_flagged() -> None:
    """The pay step's first attempt dies before its result is checkpointed: its second attempt
    opens a new span with a new trace id, and the audit step is named after that one."""
    spec = CORPUS["trace_context_sent_to_a_partner"]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(crash(invocation=1, call=2),),
        timings=Timings(sandboxes=("cold",)),
        before_run=spec["before_run"],
    ).run()
    assert outcome.value == EXPECTED["trace_context_sent_to_a_partner"]
    outcome.check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_OBSERVABILITY_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_fault_plan_flags_an_instrumented_handler(name: str) -> None:
    strategy = scenarios(CORPUS[name], faults=fault_plans(kinds={*DEFAULT_KINDS, "outage"}))
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
