"""The session-24 false-flag audit J: correct handlers that lean on the Lambda runtime's
conventions and event sources (``examples/lambda_runtime.py``: the Lambda context's request
id in logs and recorded by a step, the function's name, ARN, version and memory outside
steps, the remaining time sizing a batch in a step, the runtime's environment variables with
fallbacks, SQS partial-batch responses, an API Gateway proxy event and response with an
idempotency key, an EventBridge detail, URL-encoded S3 keys, typed DynamoDB stream images,
and results near the edges) are flagged by no oracle; wrong twins still are.

The corpus runs a few examples per entry here; ``DURABLE_LAMBDA_RUNTIME_EXAMPLES=300`` runs
the campaign (or ``benchmarks/same_world.py --corpus lambda-runtime --plans all``, which also
counts the faults that landed).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import lambda_runtime
import pytest
from corpus import check_every, fault_free, scenarios
from tests.harness import lambda_runtime_handlers as twins

from async_durable_execution_runner import ExecutionStatus, lambda_environment
from async_durable_execution_runner._harness.oracles.fault_tolerance import _same_but_request_ids
from async_durable_execution_runner._harness.world import StepOutcome
from async_durable_execution_runner.oracles import ReplayDivergence
from async_durable_execution_runner.scenarios import Scenario, crash
from async_durable_execution_runner.strategies import fault_plans

#: A Lambda request id (the runner's are version-5 UUIDs named after the invocation).
REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_STORED_DOCUMENTS = [
    {
        "pk": "user#1",
        "sk": "profile",
        "age": 42,
        "score": 97.5,
        "active": True,
        "nickname": None,
        "tags": ["a", "b"],
        "address": {"city": "Berlin", "zip": 10115},
        "logins": [1, "two"],
    },
    {"pk": "user#2", "sk": "profile", "age": 31},
]

#: What each entry returns without faults (``REQUEST_ID`` where a request id is; the large
#: response by its size).
EXPECTED: dict[str, Any] = {
    "request_id_audit_trail": {
        "receipt": "receipt-o-17-36",
        "cents": 4_200,
        "function": "test-function",
        "processed_by": REQUEST_ID,
    },
    "request_id_stamped_on_records": {"ids": ["r-1", "r-2"], "requests": 2, "correlation": True},
    "function_identity": {
        "table": "test-function-exports-us-east-1",
        "account": "123456789012",
        "version": "$LATEST",
        "batches": 3,
        "sums": [55, 155, 66],
    },
    "remaining_time_batches": {"processed": 45, "sum": 29_370},
    "environment_with_fallbacks": {
        "function": "test-function",
        "zone": "UTC",
        "quote": {"region": "us-east-1", "memory": "128", "cents": 1_250},
    },
    "sqs_partial_batch": {
        "batchItemFailures": [
            {"itemIdentifier": "00000002-8f1c-4d2e-9a7b-000000000002"},
            {"itemIdentifier": "00000003-8f1c-4d2e-9a7b-000000000003"},
        ],
        "stored": ["o-1:2", "o-4:1", "o-5:4"],
    },
    "api_gateway_proxy": {
        "statusCode": 201,
        "headers": {
            "Content-Type": "application/json",
            "X-Correlation-Id": "corr-7f3a",
            "Location": "/orders/ord-lamp-3",
        },
        "body": json.dumps(
            {
                "order": {"id": "ord-lamp-3", "correlation": "corr-7f3a"},
                "query": {"dryRun": "false"},
            }
        ),
        "isBase64Encoded": False,
    },
    "eventbridge_detail": {
        "shipment": {"shipment": "shp-o-99", "items": 2},
        "resources": 1,
        "account": "123456789012",
    },
    "s3_encoded_keys": {
        "objects": [
            {"key": "reports/2026/Q4 summary.csv", "size": 1_024, "thumb": "thumbs/169058b319-1k"},
            {
                "key": "uploads/caf\u00e9 menu+specials.pdf",
                "size": 20_480,
                "thumb": "thumbs/6530b32e24-20k",
            },
            {"key": "raw/a&b=c/part 0001.json", "size": 77, "thumb": "thumbs/9a373d1a52-0k"},
        ],
        "bucket": "uploads-bucket",
    },
    "dynamodb_stream": {
        "indexed": ["indexed user#1#profile", "indexed user#2#profile"],
        "removed": ["removed user#3#profile"],
        "documents": _STORED_DOCUMENTS,
    },
    "result_json_string": json.dumps({"ok": True, "note": "a JSON document as a string"}),
    "result_number": 1234.5,
    "result_list": [1, "two", None, {"three": [3.0]}, True],
    "result_none": None,
    "result_unicode": "Gr\u00fc\u00dfe, \u4e16\u754c \U0001f30d \u2028 next line\ttab \u00e9\u0301",
    "large_api_response": {"statusCode": 200, "count": 20_000, "utf8_bytes": 1_231_146},
}


def _seen(name: str, value: Any) -> Any:
    """What the test compares of ``value``: the large response by its size."""
    if name == "large_api_response":
        body = value["body"]
        return {
            "statusCode": value["statusCode"],
            "count": json.loads(body)["count"],
            "utf8_bytes": len(body.encode()),
        }
    return value


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, re.Pattern):
        return isinstance(actual, str) and expected.fullmatch(actual) is not None
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(_matches(expected[k], actual[k]) for k in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(map(_matches, expected, actual))
        )
    return type(expected) is type(actual) and bool(expected == actual)


def test_every_entry_has_an_expected_result() -> None:
    assert sorted(EXPECTED) == sorted(lambda_runtime.CORPUS)


@pytest.mark.parametrize("name", sorted(lambda_runtime.CORPUS))
def test_every_entry_returns_its_result_fault_free_warm_and_cold(name: str) -> None:
    for sandboxes in ((), ("cold",) * 4):
        outcome = fault_free(lambda_runtime.CORPUS[name], sandboxes).run()
        assert outcome.execution_status is ExecutionStatus.SUCCEEDED, (sandboxes, outcome.error)
        assert _matches(EXPECTED[name], _seen(name, outcome.value)), outcome.value
        outcome.check()


# --- oracle fix 21: a step that records its invocation's request id -----------------------


@pytest.mark.parametrize("name", ["request_id_audit_trail", "request_id_stamped_on_records"])
def test_a_step_that_records_its_request_id_is_not_flagged_when_a_crash_re_runs_it(
    name: str,
) -> None:
    # The crash comes after the first step's body ran and before its checkpoint reached the
    # service: invocation 2 runs the body again and records its own request id (read in the
    # step, or outside it and handed in), which the baseline (the body run twice in
    # invocation 1) never sees. Another invocation is another request, in the same world.
    spec = lambda_runtime.CORPUS[name]
    outcome = Scenario(
        handler=spec["handler"],
        input=spec["input"],
        faults=(crash(invocation=1, call=1),),
        before_run=spec["before_run"],
    ).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED
    outcome.check()


def test_a_step_that_records_its_request_id_is_still_judged_on_the_rest() -> None:
    recorded = StepOutcome(value={"by": "req-2", "cents": 5})
    ids = {"req-1", "req-2"}
    assert _same_but_request_ids(recorded, StepOutcome(value={"by": "req-1", "cents": 5}), ids)
    assert not _same_but_request_ids(recorded, StepOutcome(value={"by": "req-1", "cents": 6}), ids)
    assert not _same_but_request_ids(recorded, StepOutcome(value={"by": "req-3", "cents": 5}), ids)


def test_a_step_that_reads_the_remaining_time_is_noted_as_varying() -> None:
    # Real time left, as ``time.monotonic()`` read in the step's own code is; the read
    # outside steps (for the logs) is not flagged.
    outcome = fault_free(lambda_runtime.CORPUS["remaining_time_batches"]).run()
    assert len(outcome.nondeterministic_steps) == 3  # the three batches
    assert outcome.nondeterministic_calls == ()


# --- wrong twins are still flagged ------------------------------------------------------


@pytest.mark.parametrize(
    "handler", [twins.request_id_names_a_step, twins.request_id_decides_a_branch]
)
def test_a_request_id_deciding_outside_a_step_is_flagged(handler: Any) -> None:
    # The replay is another invocation with another request id, and asks for another
    # operation where the first was checkpointed. (The branch twin relies on the runner's
    # request ids for the default execution: d47e88ef-... first, bd6a9978-... on the replay.)
    outcome = Scenario(handler=handler).run()
    with pytest.raises(ReplayDivergence):
        outcome.check()


# --- what Lambda's runtime provides a handler ------------------------------------------


def test_lambda_environment_gives_a_ported_handler_what_it_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The runner sets no variable itself (set around invocations only, a warm and a cold
    # sandbox would see different values): the test process gets them, as from a conftest.
    for name, value in lambda_environment().items():
        monkeypatch.setenv(name, value)
    outcome = Scenario(handler=twins.region_from_environment).run()
    outcome.check()
    assert outcome.value == {
        "function": "test-function",
        "quote": {"region": "us-east-1", "memory": 128},
    }


def test_the_context_names_its_log_group_and_stream() -> None:
    outcome = Scenario(handler=twins.log_location).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error


def test_each_invocation_starts_with_the_function_time_out() -> None:
    outcome = Scenario(handler=twins.drain_while_time_remains).run()
    assert outcome.value == {"left": 0, "rounds": 1}


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_LAMBDA_RUNTIME_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(lambda_runtime.CORPUS))
def test_no_default_fault_plan_flags_a_lambda_runtime_handler(name: str) -> None:
    strategy = scenarios(lambda_runtime.CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
