"""The server with real boto3 clients on loopback: ``Invoke``, validation, limits, idempotency
and atomicity under concurrent requests."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tests.server import handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._server import DurableServiceServer

_open_clients: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open_clients:
        _open_clients.pop().close()


_SESSION = boto3.session.Session()  # one session: the service model is loaded once


def make_client(url: str, **config: Any) -> Any:
    """A real boto3 Lambda client for the server (closed when the test ends)."""
    client = _SESSION.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, **config),
    )
    _open_clients.append(client)
    return client


@pytest.fixture
def runner() -> Iterator[DurableFunctionTestRunner]:
    with DurableFunctionTestRunner(
        h.workflow,
        function_name="workflow",
        functions={"pricing": h.pricing, "approval": h.approval, "failing": h.failing},
    ) as test_runner:
        yield test_runner


@pytest.fixture
def server(runner: DurableFunctionTestRunner) -> Iterator[DurableServiceServer]:
    with DurableServiceServer(runner, drive=True) as running:
        yield running


@pytest.fixture
def client(server: DurableServiceServer) -> Any:
    return make_client(server.url)


def invoke(client: Any, **params: Any) -> dict[str, Any]:
    """``client.invoke`` with the streamed payload read (an unread stream holds its socket)."""
    answer: dict[str, Any] = client.invoke(**params)
    answer["Payload"] = answer["Payload"].read()
    return answer


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_invoke_runs_a_full_execution_and_answers_its_result(
    client: Any, server: DurableServiceServer
) -> None:
    started = invoke(
        client,
        FunctionName="workflow",
        InvocationType="Event",
        DurableExecutionName="order-7",
        Payload=json.dumps({"id": 7, "quantity": 3}).encode(),
    )
    assert started["StatusCode"] == 202
    arn = started["DurableExecutionArn"]
    assert "/durable-execution/order-7/" in arn
    callback_id = wait_for_callback(server, arn)
    client.send_durable_execution_callback_success(
        CallbackId=callback_id, Result=b'{"approved": true}'
    )
    # The same name and payload again: the running execution answers, synchronously.
    answer = invoke(
        client,
        FunctionName="workflow",
        DurableExecutionName="order-7",
        Payload=json.dumps({"id": 7, "quantity": 3}).encode(),
    )
    assert answer["StatusCode"] == 200
    assert answer["DurableExecutionArn"] == arn
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"]) == {"approved": True, "price": 6, "flaky": "7 ok"}
    events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    kinds = [event["EventType"] for event in events]
    for kind in ("WaitSucceeded", "CallbackSucceeded", "ChainedInvokeSucceeded", "StepFailed"):
        assert kind in kinds
    assert kinds[-1] == "ExecutionSucceeded"
    listed = client.list_durable_executions_by_function(FunctionName="workflow")
    assert [e["DurableExecutionArn"] for e in listed["DurableExecutions"]] == [arn]


def wait_for_callback(server: DurableServiceServer, arn: str) -> str:
    """The callback id, once the execution reached it (the test's thread takes its turn
    driving between the server's driver rounds: no polling)."""
    return server.runner.wait_for_callback(arn, timeout=30)


def test_invoke_answers_a_failed_execution_as_a_function_error(client: Any) -> None:
    answer = invoke(client, FunctionName="failing", Payload=b"{}")
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"])
    assert error["errorType"] == "ValueError"
    assert "always fails" in error["errorMessage"]
    described = client.get_durable_execution(DurableExecutionArn=answer["DurableExecutionArn"])
    assert described["Status"] == "FAILED"


def test_invoke_errors(client: Any, server: DurableServiceServer) -> None:
    with pytest.raises(ClientError) as info:
        invoke(client, FunctionName="nothing-here", Payload=b"{}")
    assert code(info) == "ResourceNotFoundException"
    assert "Function not found" in info.value.response["Error"]["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    with pytest.raises(ClientError) as info:
        invoke(client, FunctionName="approval", Payload=b"{not json")
    assert code(info) == "InvalidRequestContentException"

    invoke(
        client,
        FunctionName="approval",
        InvocationType="Event",
        DurableExecutionName="a",
        Payload=b"1",
    )
    with pytest.raises(ClientError) as info:
        invoke(
            client,
            FunctionName="approval",
            InvocationType="Event",
            DurableExecutionName="a",
            Payload=b"2",
        )
    assert code(info) == "DurableExecutionAlreadyStartedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    dry = invoke(client, FunctionName="approval", InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    assert len(server.executor.executions) == 1


def test_requests_are_validated_against_the_model_before_any_change(
    server: DurableServiceServer,
) -> None:
    unchecked = make_client(server.url, parameter_validation=False)
    with pytest.raises(ClientError) as info:
        invoke(
            unchecked,
            FunctionName="approval",
            InvocationType="Event",
            DurableExecutionName="no spaces!",
        )
    assert code(info) == "InvalidParameterValueException"
    message = info.value.response["Error"]["Message"]
    assert "DurableExecutionName' failed to satisfy constraint" in message
    assert server.executor.executions == {}

    arn = invoke(unchecked, FunctionName="approval", InvocationType="Event")["DurableExecutionArn"]
    wait_for_callback(server, arn)  # the execution is suspended: nothing moves by itself now
    before = unchecked.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    with pytest.raises(ClientError) as info:
        unchecked.checkpoint_durable_execution(
            DurableExecutionArn=arn,
            CheckpointToken="not a token!",
            Updates=[{"Id": "x", "Type": "STEP", "Action": "START"}],
        )
    assert code(info) == "InvalidParameterValueException"
    assert (
        "CheckpointToken' failed to satisfy constraint" in info.value.response["Error"]["Message"]
    )
    with pytest.raises(ClientError) as info:
        unchecked.send_durable_execution_callback_success(CallbackId="x", Result=b"1" * 262_145)
    assert code(info) == "InvalidParameterValueException"
    assert "length less than or equal to" in info.value.response["Error"]["Message"]
    assert unchecked.get_durable_execution_history(DurableExecutionArn=arn)["Events"] == before


def raw_request(url: str, method: str, path: str, headers: dict[str, str]) -> Any:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest(method, path)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    try:
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def test_bodies_over_the_service_limits_are_refused_unread(server: DurableServiceServer) -> None:
    status, headers, body = raw_request(
        server.url,
        "POST",
        "/2015-03-31/functions/approval/invocations",
        {"Content-Length": str(6 * 1024 * 1024 + 1)},
    )
    assert status == 413
    assert headers["x-amzn-errortype"] == "RequestTooLargeException"
    assert "smaller than 6291456 bytes" in body["message"]
    status, headers, _ = raw_request(
        server.url,
        "POST",
        "/2015-03-31/functions/approval/invocations",
        {"Content-Length": str(1024 * 1024 + 1), "X-Amz-Invocation-Type": "Event"},
    )
    assert status == 413
    status, headers, _ = raw_request(
        server.url,
        "POST",
        "/2025-12-01/durable-execution-callbacks/abc/succeed",
        {"Content-Length": str(7 * 1024 * 1024)},
    )
    assert status == 413
    assert headers["x-amzn-errortype"] == "SerializedRequestEntityTooLargeException"
    assert server.executor.executions == {}


def test_server_binds_loopback_by_default(server: DurableServiceServer) -> None:
    assert server.address[0] == "127.0.0.1"


def start_update(op_id: str) -> list[dict[str, Any]]:
    return [{"Id": op_id, "Type": "STEP", "Action": "START", "SubType": "Step", "Name": op_id}]


def test_client_token_makes_a_retried_checkpoint_apply_once(
    client: Any, server: DurableServiceServer
) -> None:
    arn = invoke(client, FunctionName="approval", InvocationType="Event")["DurableExecutionArn"]
    wait_for_callback(server, arn)
    token = current_token(server, arn)
    first = client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=token, Updates=start_update("s1"), ClientToken="t1"
    )
    again = client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=token, Updates=start_update("s1"), ClientToken="t1"
    )
    assert again["CheckpointToken"] == first["CheckpointToken"]
    assert again["NewExecutionState"] == first["NewExecutionState"]
    with pytest.raises(ClientError) as info:
        client.checkpoint_durable_execution(
            DurableExecutionArn=arn,
            CheckpointToken=token,
            Updates=start_update("s2"),
            ClientToken="t1",
        )
    assert code(info) == "InvalidParameterValueException"
    assert "already used for a different checkpoint" in info.value.response["Error"]["Message"]
    events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    assert [e["EventType"] for e in events].count("StepStarted") == 1


def current_token(server: DurableServiceServer, arn: str) -> str:
    with server.runner.lock:
        return server.executor.get(arn).current_token()


def test_concurrent_identical_checkpoints_and_interleaved_callbacks_are_atomic(
    client: Any, server: DurableServiceServer
) -> None:
    arns = [
        invoke(client, FunctionName="approval", InvocationType="Event")["DurableExecutionArn"]
        for _ in range(2)
    ]
    callback_ids = [wait_for_callback(server, arn) for arn in arns]
    token = current_token(server, arns[0])
    threads = 16
    barrier = threading.Barrier(threads)
    answers: list[Any] = [None] * threads

    workers = [make_client(server.url) for _ in range(threads)]

    def fire(index: int) -> None:
        worker = workers[index]
        barrier.wait()
        try:
            if index % 2 == 0:
                answers[index] = worker.checkpoint_durable_execution(
                    DurableExecutionArn=arns[0],
                    CheckpointToken=token,
                    Updates=start_update("same"),
                    ClientToken="one-token",
                )["CheckpointToken"]
            elif index % 4 == 1:
                worker.send_durable_execution_callback_heartbeat(CallbackId=callback_ids[1])
                answers[index] = "heartbeat"
            else:
                worker.send_durable_execution_callback_success(
                    CallbackId=callback_ids[1], Result=json.dumps(index).encode()
                )
                answers[index] = "success"
        except ClientError as error:
            answers[index] = code_of(error)
        except Exception as error:
            answers[index] = repr(error)

    pool = [threading.Thread(target=fire, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    checkpoint_answers = {answers[i] for i in range(0, threads, 2)}
    assert len(checkpoint_answers) == 1  # every retry got the first answer
    assert next(iter(checkpoint_answers)) != "InvalidParameterValueException"
    successes = [answers[i] for i in range(3, threads, 4)]
    assert successes.count("success") == 1
    assert set(successes) <= {"success", "CallbackTimeoutException"}
    heartbeats = {answers[i] for i in range(1, threads, 4)}
    assert heartbeats <= {"heartbeat", "CallbackTimeoutException"}
    first = client.get_durable_execution_history(DurableExecutionArn=arns[0])["Events"]
    assert [e["EventType"] for e in first].count("StepStarted") == 1
    second = client.get_durable_execution_history(DurableExecutionArn=arns[1])["Events"]
    assert [e["EventType"] for e in second].count("CallbackSucceeded") == 1


def code_of(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])
