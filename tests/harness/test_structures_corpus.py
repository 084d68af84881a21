"""The session-23 false-flag audit G: correct handlers structured as production code
(``examples/structures.py``: a service class over clients made at import, user decorators
around the handler and around step bodies, handlers made by a factory and bound to another
name, step bodies of every callable shape, async context managers with a compensating unit of
work, an ``lru_cache`` and a registry of steps, async generators and a pipeline of stages,
dependency injection with dataclasses, steps deep in helpers and recursion, a chain of
middlewares in child contexts, a template-method workflow, Powertools-style layers above
``@durable_execution``) are flagged by no oracle, and the layers run around every
invocation.

The corpus runs a few examples per handler here; ``DURABLE_STRUCTURES_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus structures --plans all``, which also counts
the faults that landed).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import structures
import structures_services
from corpus import check_every, fault_free, scenarios
from tests.harness import structure_handlers
from tests.harness.structure_handlers import unit_of_work_compensating_on_suspension

from async_durable_execution_runner import DurableFunctionTestRunner, ExecutionStatus
from async_durable_execution_runner.oracles import ReplayDivergence
from async_durable_execution_runner.scenarios import Scenario, Timings, crash
from async_durable_execution_runner.strategies import durable_scenarios, fault_plans

#: What each entry returns fault-free (``billing_*`` also says whether the invoice was paid,
#: a coin the partner tosses in a step: checked for its type only).
EXPECTED: dict[str, dict[str, Any]] = {
    "order_service": {
        "lines": [
            {"sku": "lamp", "ok": True},
            {"sku": "mug", "ok": True},
            {"sku": "sofa", "ok": True},
        ],
        "status": "placed",
        "id_ok": True,
    },
    "traced_checkout": {
        "reserved": [{"sku": "lamp", "reserved": 2}, {"sku": "sofa", "reserved": 5}],
        "paid": True,
    },
    "billing_eu": {"gross": 11900, "currency": "EUR", "sent": True},
    "billing_us": {"gross": 2000, "currency": "USD", "sent": True},
    "refund_handler": {"refunded": 2500, "ok": True},
    "callable_shapes": {"sku": "lamp", "rounding": 5, "total_ok": True, "audited": True},
    "unit_of_work": {"booked": ["flight", "hotel"], "declined": "PartnerDeclined"},
    "unit_of_work_ok": {"booked": ["flight", "hotel", "car"], "declined": None},
    "dispatch_by_name": {
        "ran": ["invoice", "resize", "watermark"],
        "rate": 19,
        "owner": "acme-photo-co",
        "gross": 1190,
    },
    "generator_pipeline": {"summary": {"rows": 12, "first": 0}, "first_big": [20, 21, 22]},
    "injected_shipping": {
        "carrier": "parcel",
        "cents": 610,
        "tracking_ok": True,
        "told": True,
        "to": {"city": "Lyon", "country": "fr"},
    },
    "deep_helpers": {
        "processed": {
            "a": [{"sku": "lamp", "priced": True}, {"sku": "mug", "priced": True}],
            "b": [{"sku": "sofa", "priced": True}],
        },
        "instalments": [300, 300, 300, 100],
    },
    "middleware_chain": {"user": "alice", "accepted": True, "audited": True},
    "template_workflows": {
        "results": [
            {"kind": "refund", "cents": 900, "how": "card"},
            {"kind": "reorder", "reordered": ["lamp", "mug", "sofa"]},
            {"kind": "refund", "cents": 900, "how": "voucher"},
        ]
    },
    "partial_branches": {"ok": ["EURGBP", "EURUSD"], "summary": {"count": 2}},
    "layered_entry_point": {"reserved": "reserved:o-1", "receipt_len": 32},
}


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(structures.CORPUS)


def test_every_entry_returns_its_expected_result_warm_and_cold() -> None:
    for name, spec in sorted(structures.CORPUS.items()):
        for sandboxes in ((), ("cold",) * 4):
            outcome = fault_free(spec, sandboxes).run()
            assert outcome.execution_status is ExecutionStatus.SUCCEEDED, (name, outcome.error)
            value = dict(outcome.value)
            if name.startswith("billing_"):
                assert isinstance(value.pop("paid"), bool), name
            assert value == EXPECTED[name], (name, sandboxes)
            outcome.check()


# --- a wrong twin is still flagged -------------------------------------------------------


def test_a_unit_of_work_that_compensates_on_suspension_is_still_flagged() -> None:
    # UnitOfWork compensates on an Exception only; its twin on any exit, so the first wait's
    # suspension (SuspendExecution, a BaseException) ran a compensation step, which the
    # replay then met where it booked the hotel (and, SDK finding 1, got its result).
    outcome = Scenario(handler=unit_of_work_compensating_on_suspension).run()
    with pytest.raises(ReplayDivergence, match="undo-flight"):
        outcome.check()


# --- layers above @durable_execution run around every invocation (runner bug 17) ---------


def test_a_decorator_above_durable_execution_runs_on_every_invocation() -> None:
    # functools.wraps copies the SDK wrapper's __dict__ (_durable_execution_original,
    # _async_handler) onto the user's wrapper: the runner took it for the SDK's handler,
    # rebound the original coroutine function and dropped the user's layer. On Lambda it runs
    # around both invocations (the wait suspends the first).
    structure_handlers.INVOCATIONS_SEEN.clear()
    outcome = Scenario(handler=structure_handlers.wrapped_at_the_lambda_level).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
    assert structure_handlers.INVOCATIONS_SEEN == ["invocation", "invocation"]
    outcome.check()


@pytest.mark.parametrize("sandboxes", [(), ("cold",) * 4], ids=["warm", "cold"])
def test_powertools_style_layers_see_each_invocation_with_its_context(
    sandboxes: tuple[str, ...],
) -> None:
    # Two layers (logging with a cold-start flag, metrics stamped with the wall clock) over
    # a step, a 30 s wait and a step: two invocations, each flushed once, each with its own
    # request id; the clock the metrics read is the virtual one, 30 s apart.
    flushed = structures_services.FLUSHED_METRICS
    flushed.clear()
    outcome = Scenario(
        handler=structures.layered_entry_point, timings=Timings(sandboxes=sandboxes)
    ).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
    invocations = outcome.result.invocations
    assert [m["request_id"] for m in flushed] == [i.request_id for i in invocations]
    assert flushed[1]["timestamp_ms"] - flushed[0]["timestamp_ms"] == 30_000
    outcome.check()


@pytest.mark.parametrize("wire_format", ["objects", "json"])
def test_a_layer_above_the_sdk_reads_the_json_event_lambda_sends(wire_format: str) -> None:
    # Runner bug 38: with the default wire format the layer was handed the SDK's model
    # objects (``InitialExecutionState(...)``), and ``json.dumps(event)`` raised TypeError:
    # the invocation failed, where on Lambda the event is JSON.
    structure_handlers.RAW_LOG.clear()
    with DurableFunctionTestRunner(
        handler=structure_handlers.raw_event_logged,
        wire_format=wire_format,  # type: ignore[arg-type]
    ) as runner:
        result = runner.run({"order": 7}, timeout=20)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    events = [json.loads(line) for line in structure_handlers.RAW_LOG[::2]]
    responses = [json.loads(line) for line in structure_handlers.RAW_LOG[1::2]]
    assert [r["Status"] for r in responses] == ["PENDING", "SUCCEEDED"]
    operations = [e["InitialExecutionState"]["Operations"] for e in events]
    assert [len(ops) for ops in operations] == [1, 3]  # the execution; then its step and wait
    assert operations[0][0]["Type"] == "EXECUTION"
    assert json.loads(operations[0][0]["ExecutionDetails"]["InputPayload"]) == {"order": 7}


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_layer_whose_response_is_not_json_fails_the_invocation(isolation: str) -> None:
    # Lambda's runtime writes the response as JSON: a layer that adds a datetime to it ends
    # the invocation as Runtime.MarshalError, in-process as in a worker process (in-process
    # the response used to be read as it was, and the execution succeeded).
    with DurableFunctionTestRunner(
        handler=structure_handlers.response_stamped_by_a_layer,
        isolation=isolation,  # type: ignore[arg-type]
    ) as runner:
        result = runner.run(timeout=60)
    assert result.execution_status is ExecutionStatus.FAILED
    errors = {i.error_type for i in result.invocations}
    assert errors == {"Runtime.MarshalError"}, result.invocations
    assert "Unable to marshal response" in (result.invocations[0].error_message or "")


def test_layers_run_in_a_worker_process_too() -> None:
    # The layer counts in the worker's copy of the module; what reaches the parent is that
    # the handler ran through it to the SDK's handler, bound to the runner's service.
    with DurableFunctionTestRunner(
        handler=structure_handlers.wrapped_at_the_lambda_level, isolation="process"
    ) as runner:
        result = runner.run(timeout=60)
    assert result.execution_status is ExecutionStatus.SUCCEEDED, result.error
    assert json.loads(result.result or "null") == {"first": 1}
    assert len(result.invocations) == 2


def test_a_layer_that_returns_no_durable_output_fails_the_invocation() -> None:
    # Lambda hands the service whatever the entry point returns: a layer that swallows the
    # SDK's output leaves the service an invalid response, and it re-invokes, then fails.
    outcome = Scenario(handler=structure_handlers.output_swallowed_by_a_layer).run()
    assert outcome.execution_status is ExecutionStatus.FAILED
    failed = [i for i in outcome.result.invocations if i.error_type]
    assert failed and {i.error_type for i in failed} == {"Runtime.InvalidResponse"}


# --- runner bug: a handler found by its qualified name only -----------------------------


@pytest.mark.parametrize("name", ["refund_handler", "billing_eu"])
def test_a_handler_bound_to_another_name_runs_in_a_cold_sandbox(name: str) -> None:
    # A cold sandbox re-imported the module and looked the handler up by its __qualname__:
    # ``refund_handler = durable_execution(process_refund)`` found the undecorated
    # ``process_refund`` (AttributeError: no _async_handler, on every cold invocation), and
    # a factory-made handler (qualname ``make_billing_handler.<locals>.bill``) was refused as
    # "not importable by name", though Lambda finds both as ``structures.<name>``.
    spec = structures.CORPUS[name]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec.get("input"),
        faults=(crash(invocation=1, call=1),),
        timings=Timings(sandboxes=("cold",) * 4),
    ).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
    outcome.check()


def test_a_factory_made_handler_is_drawn_in_cold_sandboxes() -> None:
    # Taken for not importable, it was never given a cold sandbox by durable_scenarios.
    from hypothesis import HealthCheck, given, settings

    colds: list[bool] = []

    @settings(max_examples=60, database=None, suppress_health_check=list(HealthCheck))
    @given(durable_scenarios(structures.billing_us))
    def draw(scenario: Scenario) -> None:
        colds.append("cold" in scenario.timings.sandboxes)

    draw()
    assert any(colds)


def test_a_reproducer_names_the_handler_by_its_module_level_name() -> None:
    scenario = Scenario(handler=structures.refund_handler, faults=(crash(invocation=1, call=1),))
    assert "from structures import refund_handler" in scenario.to_pytest()
    assert repr(scenario).startswith("Scenario(handler=structures.refund_handler,")
    assert Scenario(handler=structures.billing_eu).describe()[0] == "handler structures.billing_eu"


@pytest.mark.parametrize("name", ["refund_handler", "billing_us"])
def test_a_handler_bound_to_another_name_runs_in_a_worker_process(name: str) -> None:
    spec = structures.CORPUS[name]
    with DurableFunctionTestRunner(spec["handler"], isolation="process") as runner:
        result = runner.run(input=spec.get("input"), timeout=60)
    assert result.status.name == "SUCCEEDED", result


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_STRUCTURES_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(structures.CORPUS))
def test_no_default_fault_plan_flags_a_structured_handler(name: str) -> None:
    strategy = scenarios(structures.CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
