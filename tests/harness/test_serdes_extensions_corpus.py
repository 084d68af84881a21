"""The session-25 false-flag audit L: correct handlers built on the SDK's least-travelled
public API (``examples/serdes_extensions.py``: file-system serdes stages in both storage
modes and both path encodings, previews from a ``PreviewConfig`` and from a
``PreviewGenerator``, a composable pipeline of the user's own value codec and stage, summary
generators on a ``map``, a ``parallel`` and a child context, the extension API's stateful
step with its own retry strategy and its reservations with local ids, sagas in a
``terminal_scope``, and ``recurse``) are flagged by no oracle; a wrong twin (payloads filed
under a per-sandbox directory) fails its execution in a cold sandbox.

The corpus runs a few examples per handler here; ``DURABLE_SERDES_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus serdes-extensions --plans all``, which also
counts the faults that landed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import serdes_extensions
import serdes_extensions_services as services
from async_durable_execution import (
    ExtendedTypeSerDes,
    FieldMatchMode,
    PreviewConfig,
    PreviewField,
    PreviewMode,
    build_preview,
)
from corpus import check_every, fault_free, returns_fault_free_warm_and_cold, scenarios
from tests.harness import serdes_extensions_handlers

from async_durable_execution_runner import ExecutionStatus
from async_durable_execution_runner.oracles import NondeterminismSource
from async_durable_execution_runner.strategies import fault_plans

CORPUS = serdes_extensions.CORPUS
MARKER = "__durable_execution_filesystem_serdes"

#: What each entry returns without faults.
EXPECTED: dict[str, Any] = {
    "report_on_shared_disk": {
        "rows": 3000,
        "posted": "posted-report-2026-12-01",
        "digest": "785c0161a0d61c47",
    },
    "overflow_batches": {
        "batches": [
            {"rows": 5, "digest": "94cc9fd04703b873"},
            {"rows": 500, "digest": "b389f7689bcfc6b2"},
            {"rows": 5000, "digest": "0e67c1680732f4f3"},
        ]
    },
    "masked_preview": {
        "receipt": "receipt-o-42-1300900",
        "preview": {
            "id": "o-42",
            "status": "PAID",
            "total": 1300900,
            "card": "***",
            "customer": {"email": "***", "card": "***"},
            "lines": {"id": "o-42-01997"},
        },
    },
    "generated_preview": {"published": "published-3600", "digest": "b9267369de36899d"},
    "compressed_then_filed": {
        "compressed-small": "5b4a301238e170d0",
        "plain-small": "5b4a301238e170d0",
        "compressed-big": "5b3f7ea37c5f6f09",
        "plain-big": "5b3f7ea37c5f6f09",
    },
    "map_items_on_disk": {"shards": 12, "totals": [201600] * 12, "digest": "1cd0d1f176d5e4a8"},
    "parallel_summary": {"counted": [1100] * 4, "digest": "137c879630ab1692"},
    "child_summary": {
        "reconciled": {"ber": 1300, "dub": 1300, "lis": 1300},
        "digest": "5276e36ba026cc2a",
    },
    "extension_export_poll": {
        "export": {
            "job": "export-836e4d1688",
            "status": "DONE",
            "rows": 4000,
            "url": "s3://exports/export-836e4d1688.csv",
            "polls": 4,
        },
        "note": "export ready at s3://exports/export-836e4d1688.csv",
    },
    "extension_lease": {
        "work": ["indexed-a", "indexed-b", "indexed-c"],
        "approval": '{"approved": true}',
        "released": "released-lease-1",
    },
    "saga_compensated": {"status": "compensated", "error": "CallableRuntimeError"},
    "saga_completed": {
        "booked": ["hotel-t2-3d285a57", "car-t2-e92f8ccd", "flight-t2-914b4dad"],
        "itinerary": "4d28cfb98dfcc5d5",
    },
    "saga_refund_rejected": {
        "status": "partly compensated",
        "body": "SoldOut",
        "failures": [["COMPENSATION", "cancel-car", "RefundRejected"]],
    },
    "recursive_merge_sort": sorted((i * 7919) % 101 for i in range(24)),
    "offloaded_to_bucket": {
        "posted": "posted-report-2026-12-02",
        "rows": 300,
        "digest": "c6cd3391b6a225ca",
    },
}


def _payloads(history: list[dict[str, Any]], event_type: str) -> dict[str, str]:
    """The result payloads of the history's ``event_type`` events, by operation name."""
    out = {}
    for event in history:
        if event["EventType"] == event_type:
            details = event[f"{event_type}Details"]
            out[event["Name"]] = (details.get("Result") or {}).get("Payload")
    return out


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    returns_fault_free_warm_and_cold(CORPUS[name], EXPECTED[name])


def test_payloads_are_filed_on_the_mount_and_read_back() -> None:
    # The checkpoints hold envelopes; the files they name are under the mount, in the
    # execution's directory, and hold the payload (which the replay after the wait read).
    outcome = fault_free(CORPUS["report_on_shared_disk"], ("cold",)).run()
    envelope = json.loads(_payloads(outcome.history, "StepSucceeded")["build-report"])
    assert envelope[MARKER] == 1
    path = Path(envelope["file"])
    assert path.is_relative_to(services.mount())
    assert path.stat().st_size == envelope["payloadSizeBytes"] > 256 * 1024
    assert len(outcome.result.invocations) == 2  # the second replayed the filed report

    # OVERFLOW: the small batches inline in their envelopes, the big one on disk (HASH paths).
    steps = _payloads(fault_free(CORPUS["overflow_batches"]).run().history, "StepSucceeded")
    inline = {name: "data" in json.loads(payload) for name, payload in steps.items()}
    assert inline == {"batch-0": True, "batch-1": True, "batch-2": False}
    big = Path(json.loads(steps["batch-2"])["file"])
    assert len(big.parent.name) == 64  # the execution ARN's SHA-256

    # Previews: the config's, masked; the generator's, from the serdes context.
    steps = _payloads(fault_free(CORPUS["masked_preview"]).run().history, "StepSucceeded")
    preview = json.loads(steps["load-order"])["preview"]
    assert preview["card"] == preview["customer"]["email"] == "***"
    contexts = _payloads(fault_free(CORPUS["generated_preview"]).run().history, "ContextSucceeded")
    assert json.loads(contexts["catalogue"])["preview"] == {
        "name": "catalogue",
        "type": "CONTEXT",
        "bytes": json.loads(contexts["catalogue"])["payloadSizeBytes"],
    }


def test_oversized_results_are_checkpointed_as_their_summary() -> None:
    outcome = fault_free(CORPUS["child_summary"]).run()
    summary = json.loads(_payloads(outcome.history, "ContextSucceeded")["inventory"])
    assert summary["warehouses"] == ["ber", "dub", "lis"]
    # The SDK makes the summary once: its id and time were taken for reads outside any
    # step (NondeterminismSource, fault-free).
    assert {"summary", "made_at"} <= set(summary)
    assert outcome.nondeterministic_calls == ()
    outcome.check()


def test_sdk_finding_14_a_batchs_own_result_is_never_summarised() -> None:
    # map(summary_generator=...) and parallel(summary_generator=...) hand the generator to
    # every item's child context (SDK finding 11), never to the batch's own: an oversized
    # BatchResult is checkpointed as "" with ReplayChildren, whatever the generator says.
    for name, context in (("map_items_on_disk", "shards"), ("parallel_summary", "regions")):
        outcome = fault_free(CORPUS[name]).run()
        assert _payloads(outcome.history, "ContextSucceeded")[context] == ""
        [batch] = [op for op in outcome.result.get_all_operations() if op.raw.name == context]
        assert batch.replay_children


def test_sdk_finding_15_a_preview_of_the_default_codec_is_of_its_type_tags() -> None:
    # The file stage builds its preview from the value codec's output: ExtendedTypeSerDes (the
    # SDK's default) wraps every dict in {"t": ..., "v": ...}, so a PATH rule never matches
    # and a field it was meant to mask reaches the checkpoint in clear. masked_preview uses
    # JsonSerDes for that reason.
    record = {"id": "o-1", "customer": {"name": "Ada", "email": "ada@example.com"}}
    config = PreviewConfig(
        mode=PreviewMode.INCLUDE_ALL,
        mask=(PreviewField("customer.email", FieldMatchMode.PATH),),
    )
    tagged = json.loads(ExtendedTypeSerDes().serialize_sync(record))
    assert "ada@example.com" in json.dumps(build_preview(tagged, config))
    assert build_preview(record, config) == {
        "id": "o-1",
        "customer": {"name": "Ada", "email": "***"},
    }


def test_a_per_sandbox_directory_loses_the_payload_in_a_cold_sandbox() -> None:
    spec = {
        "handler": serdes_extensions_handlers.report_on_sandbox_tmp,
        "input": {"day": "d", "rows": 3000},
        "before_run": serdes_extensions.setup,
    }
    assert fault_free(spec).run().execution_status is ExecutionStatus.SUCCEEDED
    cold = fault_free(spec, ("cold",)).run()
    assert cold.execution_status is ExecutionStatus.FAILED
    assert cold.error is not None
    assert "Deserialization failed" in (cold.error.message or "")


def test_a_serdes_draws_its_offloaded_payloads_key_once() -> None:
    # The SDK serializes a value once, to checkpoint it, and deserializes the checkpoint on
    # replay: the uuid key and the store's stamps (drawn in the upload's pool thread) were
    # taken for reads outside any step (NondeterminismSource, fault-free).
    spec = CORPUS["offloaded_to_bucket"]
    outcome = fault_free(spec).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED
    keys = [
        json.loads(op.result or "{}")["object"]
        for op in outcome.result.operations
        if op.name == "build-report"
    ]
    assert len(keys) == 1 and keys[0] in services.OBJECTS
    assert outcome.nondeterministic_calls == ()
    outcome.check()


def test_a_deserializer_that_reads_the_clock_into_the_value_is_flagged() -> None:
    # A deserializer runs on every replay: the time it stamps differs per invocation.
    spec = {
        "handler": serdes_extensions_handlers.report_stamped_when_read,
        "input": {"day": "d", "rows": 300},
        "before_run": serdes_extensions.setup,
    }
    outcome = fault_free(spec).run()
    with pytest.raises(
        NondeterminismSource, match=r"datetime\.now/time\.time\(\) at .*serdes_extensions_handlers"
    ):
        outcome.check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_SERDES_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_default_fault_plan_flags_a_serdes_extensions_handler(name: str) -> None:
    spec = CORPUS[name]
    if not EXAMPLES and name in serdes_extensions.SMALL:
        spec = {**spec, "input": serdes_extensions.SMALL[name]}  # seconds, not minutes
    strategy = scenarios(spec, faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 2, derandomize=not EXAMPLES)


def test_a_map_whose_item_results_a_thread_pool_files_makes_one_history() -> None:
    """The SDK writes each item's result on its serdes thread pool, and batches checkpoints
    by what is ready on the loop: when the threads' race decided the order their results
    reached the loop, every run of this scenario recorded another history (twenty in twenty
    runs), and a fault plan placed by one run aimed elsewhere in the next (Hypothesis's
    ``FlakyStrategyDefinition``). The loop takes thread results in the order it asked for
    them, one per idle turn."""
    spec = {**CORPUS["map_items_on_disk"], "input": {"shards": 6, "rows": 20}}
    histories = set()
    for _ in range(5):
        outcome = fault_free(spec).run()
        assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
        # (The payloads name files by a random key.)
        histories.add(
            tuple(
                (e["EventType"], e.get("Name"), str(e["EventTimestamp"])) for e in outcome.history
            )
        )
    assert len(histories) == 1
