"""Executions persist in SQLite: a server killed with SIGKILL mid-execution and started again
on the same file has every execution and history, and the execution resumes and completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from async_durable_execution import InvocationStatus
from tests.server import handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._store import SqliteStore

ROOT = Path(__file__).resolve().parents[2]


def test_a_runner_on_the_same_file_resumes_an_execution(tmp_path: Path) -> None:
    path = tmp_path / "executions.db"
    store = SqliteStore(path)
    with DurableFunctionTestRunner(h.approval, function_name="approval", store=store) as runner:
        arn = runner.start("x", execution_name="kept")
        callback_id = runner.wait_for_callback(arn)
        before = runner.get_history(arn)
    store.close()

    reopened = SqliteStore(path)
    with DurableFunctionTestRunner(h.approval, function_name="approval", store=reopened) as runner:
        assert runner.get_history(arn) == before
        runner.send_callback_success(callback_id, '"yes"')
        result = runner.wait_for_result(arn)
    reopened.close()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result_value == '"yes"'
    ids = [event["EventId"] for event in result.history]
    assert ids == list(range(1, len(ids) + 1))


def serve(
    db: Path, function: str = "gated=tests.server.restart_handlers:gated"
) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "async_durable_execution_runner",
            "serve",
            function,
            "--store",
            str(db),
            "--port",
            "0",
            "--skip-time",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # blocks until the server listens
    assert first.startswith("serving"), first
    return process, first.rsplit(" ", 1)[1].strip()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def client(url: str) -> Any:
    return boto3.session.Session().client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_sigkill_mid_execution_and_restart(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    db, fifo, marker = tmp_path / "store.db", tmp_path / "announce", tmp_path / "marker"
    os.mkfifo(fifo)
    payload = json.dumps({"fifo": str(fifo), "marker": str(marker)}).encode()

    first, url = serve(db)
    processes.append(first)
    lambda_client = client(url)
    started = lambda_client.invoke(
        FunctionName="gated", InvocationType="Event", DurableExecutionName="run-1", Payload=payload
    )
    started["Payload"].read()
    arn = started["DurableExecutionArn"]
    with open(fifo) as announced:  # returns once the handler is inside step two
        assert announced.readline() == "inside step two\n"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    lambda_client.close()
    # What the killed server had acknowledged is in the file: step one's result.
    store = SqliteStore(db)
    (document,) = store.load()
    store.close()
    assert document["status"] == "RUNNING"
    stored = [(e["EventType"], e.get("Name")) for e in document["events"]]
    assert ("StepSucceeded", "first") in stored
    assert ("StepSucceeded", "second") not in stored

    second, url = serve(db)
    processes.append(second)
    lambda_client = client(url)
    # The same name and payload: the restarted server answers for the stored execution, once
    # it has resumed and completed it.
    answer = lambda_client.invoke(
        FunctionName="gated", DurableExecutionName="run-1", Payload=payload
    )
    assert answer["DurableExecutionArn"] == arn
    assert json.loads(answer["Payload"].read()) == ["first", "second"]
    events = lambda_client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    lambda_client.close()
    kinds = [(e["EventType"], e.get("Name")) for e in events]
    assert kinds.count(("StepStarted", "first")) == 1  # acknowledged before the kill: not rerun
    assert kinds.count(("StepSucceeded", "first")) == 1
    assert kinds.count(("StepSucceeded", "second")) == 1
    assert kinds[-1][0] == "ExecutionSucceeded"
    assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))
