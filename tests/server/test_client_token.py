"""Checkpoint idempotency by ``ClientToken``, everywhere a checkpoint arrives.

- in-process: the runner's ``InMemoryServiceClient`` (both wire formats) answers a retried
  checkpoint from the execution's ledger and applies nothing twice, also when the retries
  race each other on threads;
- over HTTP: an answer lost on the way (the connection dropped; a 5xx after the change was
  applied, which the SDK's own client retries with the same ``ClientToken``) is answered
  from the ledger;
- across a SIGKILL: the ledger is stored with the checkpoint it answers, so a server
  restarted on the same file answers the retry with the same answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import signal
import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import boto3
import pytest
from async_durable_execution import InvocationStatus
from botocore.exceptions import ClientError
from tests.server import handlers as h
from tests.server.test_sdk_over_http import FUNCTIONS, comparable, drive_workflow
from tests.server.test_store_restart import processes, serve  # noqa: F401 (a fixture)

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._models import OperationAction, OperationType, OperationUpdate
from async_durable_execution_runner._sandbox.service_client import InMemoryServiceClient
from async_durable_execution_runner._server import DurableServiceServer
from async_durable_execution_runner._service.locking import LockedSession
from async_durable_execution_runner._service.seams import LoseResponse, NoFaults, ServiceCall
from async_durable_execution_runner._service.session import InvocationSession
from async_durable_execution_runner._service.tokens import CheckpointToken
from async_durable_execution_runner._store import SqliteStore

EXTRA = OperationUpdate(
    id="extra-step", type=OperationType.STEP, action=OperationAction.START, name="extra"
)
WIRE_EXTRA = [{"Id": "extra-step", "Type": "STEP", "Action": "START", "Name": "extra"}]


def in_process_client(
    runner: DurableFunctionTestRunner, arn: str, wire_format: Any
) -> InMemoryServiceClient:
    """The service client an in-process invocation of ``arn`` gets, as the invoker builds it:
    a session bound to the execution, whose calls take the runner's lock and persist."""
    session = InvocationSession(
        arn, 99, runner.executor, notifier=runner.executor.notifier, faults=NoFaults()
    )
    locked = LockedSession(session, runner.lock, runner.persist)
    return InMemoryServiceClient(locked, wire_format=wire_format)  # type: ignore[arg-type]


def started_steps(events: list[dict[str, Any]], name: str) -> int:
    return sum(1 for e in events if e["EventType"] == "StepStarted" and e.get("Name") == name)


@pytest.mark.parametrize("wire_format", ["objects", "json"])
def test_the_in_process_client_answers_a_retry_from_the_ledger(
    tmp_path: Path, wire_format: str
) -> None:
    store = SqliteStore(tmp_path / "store.db")
    with DurableFunctionTestRunner(h.approval, function_name="approval", store=store) as runner:
        arn = runner.start("x", execution_name="parked")
        runner.wait_for_callback(arn)  # the invocation ended: the execution waits
        client = in_process_client(runner, arn, wire_format)
        with runner.lock:
            token = runner.executor.get(arn).current_token()
            sequence = runner.executor.get(arn).token_sequence
        update = adapter.update_to_sdk(EXTRA)

        def checkpoint(client_token: str, updates: list[Any]) -> Any:
            return asyncio.run(client.checkpoint(arn, token, updates, client_token))

        first = checkpoint("retry-me", [update])
        again = checkpoint("retry-me", [update])
        assert again.checkpoint_token == first.checkpoint_token
        assert again.new_execution_state == first.new_execution_state
        with pytest.raises(Exception, match="already used for a different checkpoint"):
            checkpoint("retry-me", [])
        assert started_steps(runner.get_history(arn), "extra") == 1
        with runner.lock:
            assert runner.executor.get(arn).token_sequence == sequence + 1
    store.close()
    reopened = SqliteStore(tmp_path / "store.db")
    (document,) = reopened.load()
    reopened.close()
    (entry,) = document["client_tokens"]
    assert entry["ClientToken"] == "retry-me"
    assert entry["CheckpointToken"] == first.checkpoint_token


def test_racing_retries_with_one_client_token_apply_once() -> None:
    with DurableFunctionTestRunner(h.approval, function_name="approval") as runner:
        arn = runner.start("x")
        runner.wait_for_callback(arn)
        client = in_process_client(runner, arn, "objects")
        with runner.lock:
            token = runner.executor.get(arn).current_token()
        update = adapter.update_to_sdk(EXTRA)
        barrier = threading.Barrier(8)
        answers: list[Any] = []

        def retry() -> None:
            barrier.wait()
            out = asyncio.run(client.checkpoint(arn, token, [update], "one-token"))
            answers.append(out.checkpoint_token)

        threads = [threading.Thread(target=retry) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 8
        assert len(set(answers)) == 1
        assert started_steps(runner.get_history(arn), "extra") == 1


def boto3_client(url: str) -> Any:
    return boto3.session.Session().client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_a_checkpoint_whose_answer_was_dropped_is_answered_from_the_ledger() -> None:
    with (
        DurableFunctionTestRunner(h.approval, function_name="approval") as runner,
        DurableServiceServer(runner) as server,
    ):
        arn = runner.start("x")
        runner.wait_for_callback(arn)
        with runner.lock:
            token = runner.executor.get(arn).current_token()
        body = json.dumps(
            {"CheckpointToken": token, "Updates": WIRE_EXTRA, "ClientToken": "dropped"}
        ).encode()
        path = f"/2025-12-01/durable-executions/{urllib.parse.quote(arn, safe='')}/checkpoint"
        # The first request reaches the server, which applies it; the client hangs up before
        # reading the answer's body, as when it times out or the network fails.
        host, port = server.address
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()  # the status line: the change was applied
        connection.close()
        response.close()
        lambda_client = boto3_client(server.url)
        retried = lambda_client.checkpoint_durable_execution(
            DurableExecutionArn=arn,
            CheckpointToken=token,
            Updates=WIRE_EXTRA,
            ClientToken="dropped",
        )
        with runner.lock:
            execution = runner.executor.get(arn)
            assert retried["CheckpointToken"] == execution.current_token()
            (entry,) = list(execution.client_tokens)
        assert [op["Id"] for op in retried["NewExecutionState"]["Operations"]] == [
            op.id for op in entry.operations
        ]
        events = lambda_client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        lambda_client.close()
        assert started_steps(events, "extra") == 1


class LoseFirstCheckpointAnswer(NoFaults):
    """The first checkpoint is applied, then its answer is lost (the server answers 500)."""

    def __init__(self) -> None:
        self.fired = False

    def on_service_call(self, call: ServiceCall) -> LoseResponse | None:
        if call.kind == "checkpoint" and not self.fired:
            self.fired = True
            return LoseResponse()
        return None


def test_the_sdk_retries_a_lost_answer_over_http_and_gets_it_from_the_ledger() -> None:
    faults = LoseFirstCheckpointAnswer()
    with (
        DurableFunctionTestRunner(
            h.workflow,
            function_name="workflow",
            functions=FUNCTIONS,
            isolation="process",
            faults=faults,
        ) as runner,
        DurableServiceServer(runner, sdk_over_http=True),
    ):
        result, history = drive_workflow(runner)
        executions = list(runner.executor.executions.values())
    assert faults.fired
    assert result.status is InvocationStatus.SUCCEEDED
    assert all(len(e.client_tokens) > 0 for e in executions)
    with DurableFunctionTestRunner(
        h.workflow, function_name="workflow", functions=FUNCTIONS
    ) as local:
        local_result, local_history = drive_workflow(local)
    # The SDK's HTTP client retried the 500 with the same ClientToken and was answered: the
    # invocation went on as if nothing was lost (no stale-token failure, no extra invocation).
    assert [i.status for i in result.invocations] == [i.status for i in local_result.invocations]
    assert comparable(history) == comparable(local_history)


def stored_token(db: Path, arn: str) -> str:
    """The execution's current checkpoint token, read from the store's file (the server that
    owns it is running: a plain read, which WAL allows)."""
    # (``with`` a connection ends its transaction, not the connection: Python 3.13 warns.)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (text,) = conn.execute("SELECT document FROM executions WHERE arn = ?", (arn,)).fetchone()
    document = json.loads(text)
    return CheckpointToken(document["execution_id"], document["token_sequence"]).encode()


def test_a_retry_after_sigkill_and_restart_is_answered_from_the_stored_ledger(
    tmp_path: Path,
    processes: list[Any],  # noqa: F811
) -> None:
    db = tmp_path / "store.db"
    first, url = serve(db, "approval=tests.server.handlers:approval")
    processes.append(first)
    lambda_client = boto3_client(url)
    started = lambda_client.invoke(
        FunctionName="approval", InvocationType="Event", DurableExecutionName="kept"
    )
    started["Payload"].read()
    arn = started["DurableExecutionArn"]
    polls = 0
    while not any(
        e["EventType"] == "CallbackStarted"
        for e in lambda_client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    ):
        polls += 1
        assert polls < 6000, f"no callback started in {arn}"  # a bound, not a timing claim
        threading.Event().wait(0.02)
    token = stored_token(db, arn)
    request = {
        "DurableExecutionArn": arn,
        "CheckpointToken": token,
        "Updates": WIRE_EXTRA,
        "ClientToken": "across-a-restart",
    }
    answered = lambda_client.checkpoint_durable_execution(**request)
    lambda_client.close()
    first.send_signal(signal.SIGKILL)  # right after the answer: it was stored before it left
    first.wait(timeout=30)

    second, url = serve(db, "approval=tests.server.handlers:approval")
    processes.append(second)
    lambda_client = boto3_client(url)
    retried = lambda_client.checkpoint_durable_execution(**request)
    assert retried["CheckpointToken"] == answered["CheckpointToken"]
    assert retried["NewExecutionState"] == answered["NewExecutionState"]
    with pytest.raises(ClientError) as info:
        lambda_client.checkpoint_durable_execution(**{**request, "Updates": []})
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"
    events = lambda_client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    lambda_client.close()
    assert started_steps(events, "extra") == 1
    assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))
    assert os.path.exists(f"{db}.lock")
