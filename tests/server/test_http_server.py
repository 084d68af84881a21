"""``DurableServiceServer``: real botocore clients against the emulator over loopback HTTP."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from async_durable_execution import InvocationStatus, create_callback, durable_execution
from botocore.config import Config
from botocore.exceptions import ClientError

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionStatus,
)
from async_durable_execution_runner._server import DurableServiceServer


@durable_execution
async def approval(_event: Any) -> Any:
    callback = await create_callback(name="approval", heartbeat_timeout=60)
    return await callback.result()


@pytest.fixture
def runner() -> Iterator[DurableFunctionTestRunner]:
    with DurableFunctionTestRunner(handler=approval) as test_runner:
        yield test_runner


@pytest.fixture
def server(runner: DurableFunctionTestRunner) -> Iterator[DurableServiceServer]:
    with DurableServiceServer(runner) as running:
        yield running


@pytest.fixture
def client(server: DurableServiceServer) -> Iterator[Any]:
    lambda_client = botocore.session.get_session().create_client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )
    # Closed, not left to the collector: its pooled socket is in a reference cycle, and
    # warns "unclosed" in whichever later test a full collection runs.
    yield lambda_client
    lambda_client.close()


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_url_is_loopback_with_a_free_port(server: DurableServiceServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.address[1] > 0


def test_get_execution_history_and_state(runner: DurableFunctionTestRunner, client: Any) -> None:
    arn = runner.start({"order": 1})
    described = client.get_durable_execution(DurableExecutionArn=arn)
    assert described["Status"] == "RUNNING"
    assert described["DurableExecutionArn"] == arn
    assert described["InputPayload"] == json.dumps({"order": 1})
    assert isinstance(described["StartTimestamp"], dt.datetime)
    assert described["FunctionArn"].endswith(":function:test-function:$LATEST")

    history = client.get_durable_execution_history(DurableExecutionArn=arn)
    types = [event["EventType"] for event in history["Events"]]
    assert types[0] == "ExecutionStarted"
    assert "CallbackStarted" in types
    assert all(isinstance(event["EventTimestamp"], dt.datetime) for event in history["Events"])
    assert history["Events"] == runner.get_history(arn)

    first = client.get_durable_execution_history(DurableExecutionArn=arn, MaxItems=1)
    assert len(first["Events"]) == 1
    rest = client.get_durable_execution_history(DurableExecutionArn=arn, Marker=first["NextMarker"])
    assert first["Events"] + rest["Events"] == history["Events"]
    reverse = client.get_durable_execution_history(DurableExecutionArn=arn, ReverseOrder=True)
    assert reverse["Events"] == history["Events"][::-1]

    token = runner.executor.get(arn).current_token()
    state = client.get_durable_execution_state(DurableExecutionArn=arn, CheckpointToken=token)
    by_type = {op["Type"]: op for op in state["Operations"]}
    assert by_type["EXECUTION"]["Status"] == "STARTED"
    assert by_type["CALLBACK"]["Status"] == "STARTED"
    assert isinstance(by_type["CALLBACK"]["StartTimestamp"], dt.datetime)
    expected = [op.to_dict() for op in runner.executor.get(arn).operations.values()]
    assert state["Operations"] == expected


def test_callback_success_finishes_the_execution(
    runner: DurableFunctionTestRunner, client: Any
) -> None:
    arn = runner.start()
    callback_id = runner.wait_for_callback(arn)
    client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
    client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b'"approved"')
    assert runner.get_status(arn) is InvocationStatus.SUCCEEDED
    described = client.get_durable_execution(DurableExecutionArn=arn)
    assert described["Status"] == "SUCCEEDED"
    # The handler returns the raw payload, which the SDK serialises as the execution's result.
    assert json.loads(described["Result"]) == '"approved"'
    assert described["Result"] == runner.executor.get(arn).result
    assert isinstance(described["EndTimestamp"], dt.datetime)

    with pytest.raises(ClientError) as info:
        client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"1")
    assert error_code(info) == "CallbackTimeoutException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "already closed" in info.value.response["Error"]["Message"]


def test_callback_failure_fails_the_execution(
    runner: DurableFunctionTestRunner, client: Any
) -> None:
    arn = runner.start()
    callback_id = runner.wait_for_callback(arn)
    client.send_durable_execution_callback_failure(
        CallbackId=callback_id, Error={"ErrorType": "Refused", "ErrorMessage": "no"}
    )
    described = client.get_durable_execution(DurableExecutionArn=arn)
    assert described["Status"] == "FAILED"
    assert runner.get_execution_status(arn) is ExecutionStatus.FAILED


def test_unknown_execution_and_callback(client: Any) -> None:
    arn = (
        "arn:aws:lambda:us-east-1:123456789012:function:test-function:$LATEST"
        "/durable-execution/nope/00000000-0000-0000-0000-000000000000"
    )
    with pytest.raises(ClientError) as info:
        client.get_durable_execution(DurableExecutionArn=arn)
    assert error_code(info) == "ResourceNotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert arn in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        client.get_durable_execution_history(DurableExecutionArn=arn)
    assert error_code(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        client.send_durable_execution_callback_success(CallbackId="bm9wZQ==", Result=b"1")
    assert error_code(info) == "ResourceNotFoundException"


def test_checkpoint_tokens_and_invalid_updates(
    runner: DurableFunctionTestRunner, client: Any
) -> None:
    arn = runner.start()
    execution = runner.executor.get(arn)
    old_token = execution.current_token()
    answer = client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=old_token, Updates=[]
    )
    new_token = answer["CheckpointToken"]
    assert new_token != old_token
    assert new_token == execution.current_token()
    assert "NewExecutionState" in answer

    with pytest.raises(ClientError) as info:
        client.checkpoint_durable_execution(
            DurableExecutionArn=arn, CheckpointToken=old_token, Updates=[]
        )
    assert error_code(info) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as info:
        client.get_durable_execution_state(DurableExecutionArn=arn, CheckpointToken=old_token)
    assert error_code(info) == "InvalidParameterValueException"

    before = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    callback_op = next(op for op in execution.operations.values() if op.type == "CALLBACK")
    invalid = [
        [{"Id": callback_op.id, "Type": "STEP", "Action": "SUCCEED"}],  # wrong type for the op
        [{"Id": "x", "Type": "NOT_A_TYPE", "Action": "START"}],  # not an OperationUpdate
    ]
    for updates in invalid:
        with pytest.raises(ClientError) as info:
            client.checkpoint_durable_execution(
                DurableExecutionArn=arn, CheckpointToken=new_token, Updates=updates
            )
        assert error_code(info) == "InvalidParameterValueException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert client.get_durable_execution_history(DurableExecutionArn=arn)["Events"] == before
    assert execution.current_token() == new_token


def test_stop_execution(runner: DurableFunctionTestRunner, client: Any) -> None:
    arn = runner.start()
    answer = client.stop_durable_execution(
        DurableExecutionArn=arn, Error={"ErrorType": "Cancelled", "ErrorMessage": "by test"}
    )
    assert isinstance(answer["StopTimestamp"], dt.datetime)
    assert runner.get_execution_status(arn) is ExecutionStatus.STOPPED
    described = client.get_durable_execution(DurableExecutionArn=arn)
    assert described["Status"] == "STOPPED"
    assert described["Error"] == {"ErrorType": "Cancelled", "ErrorMessage": "by test"}
    with pytest.raises(ClientError) as info:
        client.stop_durable_execution(DurableExecutionArn=arn)
    assert error_code(info) == "InvalidParameterValueException"


def test_list_executions_by_function(runner: DurableFunctionTestRunner, client: Any) -> None:
    first = runner.start(execution_name="one")
    second = runner.start(execution_name="two")
    runner.stop_execution(second)
    listed = client.list_durable_executions_by_function(FunctionName="test-function")
    assert [e["DurableExecutionArn"] for e in listed["DurableExecutions"]] == [first, second]
    running = client.list_durable_executions_by_function(
        FunctionName="test-function", Statuses=["RUNNING"]
    )
    assert [e["DurableExecutionArn"] for e in running["DurableExecutions"]] == [first]


def test_error_body_shape_and_unknown_route(server: DurableServiceServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server.url}/2025-12-01/nothing-here", timeout=5)
    assert info.value.code == 404
    assert info.value.headers["x-amzn-errortype"] == "UnknownOperationException"
    body = json.loads(info.value.read())
    assert body["Type"] == "User"
    assert "GET /2025-12-01/nothing-here" in body["message"]

    malformed = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af%3A%24LATEST%2Fx"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server.url}/2025-12-01/durable-executions/{malformed}", timeout=5)
    assert info.value.code == 400  # validated against the model before anything is looked up
    assert info.value.headers["x-amzn-errortype"] == "InvalidParameterValueException"
    assert (
        "DurableExecutionArn' failed to satisfy constraint"
        in json.loads(info.value.read())["message"]
    )

    missing = urllib.parse.quote(
        "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/x/y", safe=""
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server.url}/2025-12-01/durable-executions/{missing}", timeout=5)
    assert info.value.code == 404
    assert info.value.headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert json.loads(info.value.read())["Type"] == "User"  # ResourceNotFound spells "Message"


def test_close_stops_listening(runner: DurableFunctionTestRunner) -> None:
    server = DurableServiceServer(runner).start()
    url = server.url
    server.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/2025-12-01/nothing-here", timeout=2)
