"""``serve --skip-time`` (a driven server on the virtual clock): waits and retry back-offs end
at once, and callback and execution timeouts fire on their own, in wall-clock time, with no
request moving time on. These tests wait about a second of real time each (the shortest
timeouts the API takes); they assert on outcomes, never on durations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.server import handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._server import DurableServiceServer

ROOT = Path(__file__).resolve().parents[2]


def wait_for_end(server: DurableServiceServer, arn: str) -> None:
    """Block on the server's progress condition (no polling) until ``arn`` ends."""
    with server.runner.lock:
        execution = server.wait_for_end(arn)
        assert not execution.is_open, f"{arn} did not end"


def event_types(runner: DurableFunctionTestRunner, arn: str) -> list[str]:
    return [event["EventType"] for event in runner.get_history(arn)]


def test_a_callback_nobody_answers_times_out_on_its_own() -> None:
    with (
        DurableFunctionTestRunner(h.short_approval, function_name="approval") as runner,
        DurableServiceServer(runner, drive=True, invoke_timeout=60) as server,
    ):
        with runner.lock:
            arn = runner.executor.start_execution("approval", json.dumps({"timeout": 1}))
        server.state_changed()
        wait_for_end(server, arn)
        assert "CallbackTimedOut" in event_types(runner, arn)
        assert runner.get_execution_status(arn).value == "FAILED"


def test_an_execution_times_out_on_its_own() -> None:
    with (
        DurableFunctionTestRunner(
            h.approval, function_name="approval", execution_timeout=1
        ) as runner,
        DurableServiceServer(runner, drive=True, invoke_timeout=60) as server,
    ):
        with runner.lock:
            arn = runner.executor.start_execution("approval", None, timeout_seconds=1)
        server.state_changed()
        wait_for_end(server, arn)
        assert event_types(runner, arn)[-1] == "ExecutionTimedOut"
        assert runner.get_execution_status(arn).value == "TIMED_OUT"


def test_waits_are_still_skipped_before_a_timeout() -> None:
    with (
        DurableFunctionTestRunner(h.waiter, function_name="waiter") as runner,
        DurableServiceServer(runner, drive=True, invoke_timeout=60) as server,
    ):
        with runner.lock:
            arn = runner.executor.start_execution("waiter", json.dumps({"seconds": 86_000}))
        server.state_changed()
        wait_for_end(server, arn)  # a day-long wait, under an execution timeout of a day
        assert runner.get_execution_status(arn).value == "SUCCEEDED"


def test_an_invocation_waiting_past_the_function_timeout_is_stopped_on_the_virtual_clock() -> None:
    # The server drives on a thread of its own: the invocations run there, not on the main
    # thread, and the function timeout still stops them.
    from tests.integration.handlers import sleeps_between_steps

    with (
        DurableFunctionTestRunner(
            sleeps_between_steps, function_name="sleeper", function_timeout=300
        ) as runner,
        DurableServiceServer(runner, drive=True, invoke_timeout=60) as server,
    ):
        with runner.lock:
            arn = runner.executor.start_execution("sleeper", None)
        server.state_changed()
        wait_for_end(server, arn)
        history = runner.get_history(arn)
    errors = [
        event["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"]
        for event in history
        if event["EventType"] == "InvocationCompleted"
    ]
    assert errors == ["Sandbox.Timedout"] * 3
    assert history[-1]["EventType"] == "ExecutionFailed"


@pytest.fixture
def served() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "async_durable_execution_runner",
            "serve",
            "approval=tests.server.handlers:short_approval",
            "--port",
            "0",
            "--skip-time",
            "--execution-timeout",
            "1",
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
    first = process.stdout.readline()
    assert first.startswith("serving"), first
    yield first.rsplit(" ", 1)[1].strip(), process
    process.terminate()
    process.wait(timeout=30)
    process.stdout.close()


def test_serve_skip_time_times_executions_out(served: tuple[str, Any]) -> None:
    url, _ = served
    client = boto3.session.Session().client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    # A synchronous invoke answers when the execution ends: the callback (60 s) outlives the
    # execution timeout (1 s), so nobody but the server's own clock can end it.
    answer = client.invoke(FunctionName="approval", Payload=json.dumps({"timeout": 60}))
    payload = json.loads(answer["Payload"].read())
    arn = answer["DurableExecutionArn"]
    status = client.get_durable_execution(DurableExecutionArn=arn)["Status"]
    client.close()
    assert answer["FunctionError"] == "Unhandled"
    assert status == "TIMED_OUT", payload
