"""Worker processes whose SDK talks to the server over HTTP with its own Lambda client.

The handler runs in a worker process; its checkpoints and state reads travel as signed HTTP
requests from the SDK's own (botocore-based) client to the server, through the server's
validation, ``ClientToken`` ledger and state lock, the way a deployed function talks to the
service. The histories must equal the in-process runner's, event by event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from async_durable_execution import InvocationStatus
from tests.server import handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._server import DurableServiceServer
from async_durable_execution_runner._service.seams import (
    Crash,
    DeliverDuplicate,
    Fault,
    NoFaults,
    ServiceCall,
)
from async_durable_execution_runner.errors import DurableRunnerError

FUNCTIONS = {"pricing": h.pricing}


def drive_workflow(runner: DurableFunctionTestRunner) -> tuple[Any, list[dict[str, Any]]]:
    arn = runner.start({"id": 3, "quantity": 2}, execution_name="order-3")
    callback_id = runner.wait_for_callback(arn, name="approval")
    runner.send_callback_success(callback_id, '{"approved": true}')
    result = runner.wait_for_result(arn, timeout=60)
    return result, runner.get_history(arn)


def comparable(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events without what differs between runs by design (timestamps, request ids)."""
    out = []
    for event in events:
        copy = {k: v for k, v in event.items() if k != "EventTimestamp"}
        details = copy.get("InvocationCompletedDetails")
        if details is not None:
            copy["InvocationCompletedDetails"] = {
                k: v for k, v in details.items() if k not in ("StartTimestamp", "EndTimestamp")
            }
        out.append(copy)
    return out


@pytest.fixture
def over_http() -> Iterator[tuple[DurableFunctionTestRunner, DurableServiceServer]]:
    with (
        DurableFunctionTestRunner(
            h.workflow, function_name="workflow", functions=FUNCTIONS, isolation="process"
        ) as runner,
        DurableServiceServer(runner, sdk_over_http=True) as server,
    ):
        yield runner, server


def test_full_execution_over_http_matches_the_in_process_history(
    over_http: tuple[DurableFunctionTestRunner, DurableServiceServer],
) -> None:
    runner, server = over_http
    calls: list[str] = []
    original = server.handle

    def spy(method: str, target: str, body: bytes, headers: Any = None) -> Any:
        calls.append(target.split("?", maxsplit=1)[0].rsplit("/", 1)[-1])
        return original(method, target, body, headers)

    server.handle = spy  # type: ignore[method-assign]
    result, history = drive_workflow(runner)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == {"approved": True, "price": 4, "flaky": "3 ok"}
    assert "checkpoint" in calls  # the SDK really called over HTTP
    answered = sum(len(e.client_tokens) for e in runner.executor.executions.values())
    assert answered == calls.count("checkpoint")  # the SDK's HTTP client sent a ClientToken each

    with DurableFunctionTestRunner(
        h.workflow, function_name="workflow", functions=FUNCTIONS
    ) as local:
        local_result, local_history = drive_workflow(local)
    assert local_result.result == result.result
    assert comparable(history) == comparable(local_history)


class CrashOnFirstCheckpoint(NoFaults):
    def __init__(self) -> None:
        self.fired = False

    def on_service_call(self, call: ServiceCall) -> Crash | None:
        if call.kind == "checkpoint" and call.checkpoint_index == 1 and not self.fired:
            self.fired = True
            return Crash("crashed by the test")
        return None


def test_a_crash_on_an_http_checkpoint_kills_the_worker_and_the_execution_resumes() -> None:
    faults = CrashOnFirstCheckpoint()
    with (
        DurableFunctionTestRunner(
            h.pricing, function_name="pricing", isolation="process", faults=faults
        ) as runner,
        DurableServiceServer(runner, sdk_over_http=True),
    ):
        result = runner.run({"quantity": 5}, timeout=60)
    assert faults.fired
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == 10
    assert len(result.invocations) == 2
    assert runner.invoker.workers_started == 2  # type: ignore[attr-defined]


class DuplicateFirstCheckpoint(NoFaults):
    def on_service_call(self, call: ServiceCall) -> Fault | None:
        if call.kind == "checkpoint" and call.invocation_index == 1 and call.checkpoint_index == 1:
            return DeliverDuplicate()
        return None


def test_a_duplicate_delivery_s_worker_calls_over_http_beside_the_first(tmp_path: Path) -> None:
    """Invocation 1 is delivered again after its first checkpoint: the duplicate's worker,
    whose step waits in flock for the first delivery's, runs beside it, and each worker's
    HTTP calls go through its own invocation's session (the duplicate's carry the token the
    first was sent; its checkpoint bounces). Once both have ended no session is left
    registered for the execution, whichever ended first."""
    with (
        DurableFunctionTestRunner(
            h.journal,
            function_name="journal",
            isolation="process",
            faults=DuplicateFirstCheckpoint(),
        ) as runner,
        DurableServiceServer(runner, sdk_over_http=True),
    ):
        # One key: the first delivery ends while the duplicate, holding the lock it waited
        # for, still runs the step.
        result = runner.run({"dir": str(tmp_path), "keys": ["a"]}, timeout=60)
        assert runner.unlocked_invoker.session_for(result.execution_arn, "any") is None
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert result.result_value == ["a"]
    assert (tmp_path / "journal.txt").read_text().splitlines() == ["a"]
    assert [(i.environment, i.error_type) for i in result.invocations] == [
        ("warm", None),
        ("duplicate", "CheckpointError"),
    ]


def test_sdk_over_http_needs_worker_processes() -> None:
    with DurableFunctionTestRunner(h.pricing) as runner, pytest.raises(DurableRunnerError):
        DurableServiceServer(runner, sdk_over_http=True)
