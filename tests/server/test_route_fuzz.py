"""Hypothesis fuzz of the server's routes: malformed JSON, wrong types, unknown ARNs, stale
tokens, oversize bodies. Every answer is AWS-shaped and never a 5xx, and a rejected request
changes no state (the service's state is diffed before and after)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.server import handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._botocore_model import durable_routes, route_for
from async_durable_execution_runner._server import DurableServiceServer
from async_durable_execution_runner._server.requests import REQUEST_LIMIT


class World:
    """A server whose runner holds a suspended execution, and the values worth aiming at."""

    def __init__(self, server: DurableServiceServer) -> None:
        self.server = server
        runner = server.runner
        self.arn = runner.start({"n": 1}, execution_name="fuzzed")
        self.callback_id = runner.wait_for_callback(self.arn)
        execution = runner.executor.get(self.arn)
        self.stale_token = execution.current_token()
        execution.next_token()  # the previous token is now stale
        self.token = execution.current_token()
        self.unknown_arn = self.arn.replace("fuzzed", "nobody")

    def state(self) -> Any:
        """Everything a request could change, as plain data."""
        with self.server.runner.lock:
            return [
                (
                    arn,
                    execution.status.value,
                    execution.token_sequence,
                    [e.to_json_dict() for e in execution.events],
                    [op.to_json_dict() for op in execution.operations.values()],
                    [entry.to_json_dict() for entry in execution.client_tokens],
                )
                for arn, execution in self.server.executor.executions.items()
            ]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with (
        DurableFunctionTestRunner(h.approval, function_name="approval") as runner,
        DurableServiceServer(runner) as server,
    ):
        yield World(server)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

ROUTES = [*durable_routes(), route_for("Invoke")]


@st.composite
def requests(draw: st.DrawFn, world: World) -> tuple[str, str, bytes, dict[str, str]]:
    route = draw(st.sampled_from(ROUTES))
    labels = {
        "DurableExecutionArn": st.sampled_from([world.arn, world.unknown_arn])
        | st.text(max_size=20),
        "CallbackId": st.sampled_from([world.callback_id, "bm9wZQ=="]) | st.text(max_size=20),
        "FunctionName": st.sampled_from(["approval", "nothing", "arn:aws:lambda:x"])
        | st.text(max_size=10),
    }
    path = route.path_template
    for name, strategy in labels.items():
        if "{" + name + "}" in path:
            value = draw(strategy)
            path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
    query = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "Marker",
                    "MaxItems",
                    "ReverseOrder",
                    "IncludeExecutionData",
                    "CheckpointToken",
                    "Statuses",
                    "StartedAfter",
                    "Qualifier",
                ]
            ),
            st.sampled_from([world.token, world.stale_token, "1", "-3", "true", "x", ""]),
            max_size=3,
        )
    )
    target = path + ("?" + urllib.parse.urlencode(query) if query else "")
    body_kind = draw(
        st.sampled_from(
            ["json", "json", "update", "update", "update", "garbage", "empty", "oversize"]
        )
    )
    if body_kind == "json":
        document = draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "CheckpointToken",
                        "Updates",
                        "ClientToken",
                        "Error",
                        "Result",
                        "ErrorType",
                        "x",
                    ]
                ),
                json_values | st.sampled_from([world.token, world.stale_token]),
                max_size=4,
            )
        )
        body = json.dumps(document).encode()
    elif body_kind == "update":
        update = draw(
            st.fixed_dictionaries(
                {
                    "Id": st.text(min_size=1, max_size=6),
                    "Type": st.sampled_from(["STEP", "WAIT", "NOPE"]),
                    "Action": st.sampled_from(["START", "SUCCEED", "FAIL", "RETRY", "??"]),
                },
                optional={"Payload": json_values.map(json.dumps), "WaitOptions": json_values},
            )
        )
        body = json.dumps(
            {
                "CheckpointToken": draw(st.sampled_from([world.token, world.stale_token])),
                "Updates": [update],
                "ClientToken": draw(st.sampled_from(["t1", "t2"])),
            }
        ).encode()
    elif body_kind == "garbage":
        body = draw(st.binary(min_size=1, max_size=30))
    elif body_kind == "oversize":
        body = b"{" + b" " * REQUEST_LIMIT + b"}"
    else:
        body = b""
    headers = draw(
        st.dictionaries(
            st.sampled_from(
                ["X-Amz-Invocation-Type", "X-Amz-Durable-Execution-Name", "Content-Type"]
            ),
            st.sampled_from(["Event", "RequestResponse", "DryRun", "bad name!", "ok-name", "x"]),
            max_size=2,
        )
    )
    method = draw(st.sampled_from([route.method] * 6 + ["GET", "PUT"]))
    return method, target, body, headers


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_every_answer_is_aws_shaped_and_rejections_change_nothing(world: World, data: Any) -> None:
    method, target, body, headers = data.draw(requests(world))
    before = world.state()
    reply = world.server.handle(method, target, body, headers)
    assert reply.status < 500, (reply.status, reply.body[:300])
    if reply.status >= 400:
        assert reply.headers["x-amzn-errortype"], reply.headers
        document = json.loads(reply.body)
        assert document["Type"] == "User"
        assert document.get("message") or document.get("Message")
        assert world.state() == before, f"{method} {target} was refused but changed state"
