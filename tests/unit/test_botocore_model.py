"""The JSON Schemas, routes and error shapes derived from botocore's Lambda service model."""

from __future__ import annotations

import copy
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

try:
    from async_durable_execution_runner import _botocore_model as bm
except ModuleNotFoundError:  # not installed (bare checkout): import from src/
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from async_durable_execution_runner import _botocore_model as bm

REGENERATE = "python -m async_durable_execution_runner._botocore_model --write"
SCHEMA_DIR = Path(bm.__file__).resolve().parent / "schemas"

ARN = (
    "arn:aws:lambda:us-east-1:123456789012:function:order-workflow:$LATEST"
    "/durable-execution/order-42/3f1c2a9e-5b7d-4e8f-9a01-23456789abcd"
)


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(bm.load_schema(name))


def errors(name: str, instance: Any) -> list[str]:
    return [error.message for error in validator(name).iter_errors(instance)]


# ------------------------------------------------------------------ (a) shipped == generated


def test_durable_shapes_cover_the_building_blocks_and_every_operation():
    for name in ("OperationUpdate", "Operation", "Event", "ErrorObject"):
        assert name in bm.DURABLE_SHAPES
    model = bm.load_service_model()
    for operation in bm.DURABLE_OPERATIONS:
        spec = model["operations"][operation]
        assert spec["input"]["shape"] in bm.DURABLE_SHAPES
        assert spec["output"]["shape"] in bm.DURABLE_SHAPES
    assert len(set(bm.DURABLE_SHAPES)) == len(bm.DURABLE_SHAPES)


def test_every_durable_operation_of_the_model_is_known():
    model_ops = {
        name for name in bm.load_service_model()["operations"] if "DurableExecution" in name
    }
    assert model_ops == set(bm.DURABLE_OPERATIONS), (
        "botocore's Lambda model has a different set of durable-execution operations; "
        f"update DURABLE_OPERATIONS and regenerate with `{REGENERATE}`"
    )


def test_shipped_files_are_exactly_the_durable_shapes():
    shipped = sorted(path.name for path in SCHEMA_DIR.glob("*.schema.json"))
    assert shipped == sorted(bm.schema_filename(name) for name in bm.DURABLE_SHAPES), (
        f"schemas/ is out of sync with DURABLE_SHAPES: regenerate with `{REGENERATE}`"
    )


@pytest.mark.parametrize("name", bm.DURABLE_SHAPES)
def test_shipped_schema_matches_installed_botocore(name):
    shipped = bm.load_schema(name)
    comment = shipped.pop("$comment")
    assert comment.startswith("Generated from the Lambda service model (2015-03-31) of botocore ")
    assert REGENERATE in comment
    assert shipped == bm.shape_to_json_schema(name), (
        f"schemas/{bm.schema_filename(name)} differs from what botocore {bm.botocore_version()} "
        f"generates: the service model changed. Regenerate with `{REGENERATE}` and review the diff."
    )


def test_outdated_schemas_is_empty_for_the_shipped_directory():
    assert bm.outdated_schemas() == [], f"regenerate with `{REGENERATE}`"


def test_write_schemas_is_deterministic_and_prunes_stale_files(tmp_path):
    (tmp_path / "Gone.schema.json").write_text("{}\n")
    (tmp_path / "notes.txt").write_text("kept\n")
    paths = bm.write_schemas(tmp_path)
    assert [path.name for path in paths] == [bm.schema_filename(n) for n in bm.DURABLE_SHAPES]
    assert not (tmp_path / "Gone.schema.json").exists()
    assert (tmp_path / "notes.txt").exists()
    first = {path.name: path.read_bytes() for path in paths}
    bm.write_schemas(tmp_path)
    assert {path.name: path.read_bytes() for path in paths} == first
    text = first["Operation.schema.json"].decode()
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert f"botocore {bm.botocore_version()}" in data["$comment"]
    assert bm.outdated_schemas(tmp_path) == []


def test_outdated_schemas_reports_a_changed_file(tmp_path):
    bm.write_schemas(tmp_path)
    path = tmp_path / "OperationUpdate.schema.json"
    data = json.loads(path.read_text())
    data["$defs"]["OperationId"]["maxLength"] = 65
    path.write_text(json.dumps(data))
    (tmp_path / "Event.schema.json").unlink()
    assert bm.outdated_schemas(tmp_path) == ["OperationUpdate", "Event"]


def test_command_line_check_passes_for_shipped_schemas():
    assert bm.main(["--check"]) == 0


def test_load_schema_of_unknown_shape_names_the_regenerate_command():
    with pytest.raises(FileNotFoundError, match="regenerate"):
        bm.load_schema("NoSuchShape")


def test_load_schema_returns_a_fresh_copy():
    bm.load_schema("OperationUpdate")["title"] = "mutated"
    assert bm.load_schema("OperationUpdate")["title"] == "OperationUpdate"


@pytest.mark.parametrize("name", bm.DURABLE_SHAPES)
def test_schema_is_valid_draft_2020_12_and_refs_resolve(name):
    schema = bm.load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    text = json.dumps(schema)
    for target in re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text):
        assert target in schema["$defs"], target


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


@pytest.mark.parametrize("name", bm.DURABLE_SHAPES)
def test_patterns_are_anchored_and_compile_cleanly(name):
    for pattern in _patterns(bm.load_schema(name)):
        assert pattern.startswith("^")
        assert pattern.endswith("$")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            re.compile(pattern)


def test_pattern_with_top_level_alternation_stays_anchored():
    # NumericLatestPublishedOrAliasQualifier is `\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`.
    qualifier = bm.load_schema("ListDurableExecutionsByFunctionRequest")["$defs"][
        "NumericLatestPublishedOrAliasQualifier"
    ]
    assert qualifier["pattern"] == r"^(?:\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+)$"
    request = {"FunctionName": "order-workflow", "Qualifier": "$LATEST.PUBLISHED"}
    assert errors("ListDurableExecutionsByFunctionRequest", request) == []
    request["Qualifier"] = "$LATEST!"
    assert errors("ListDurableExecutionsByFunctionRequest", request)


def test_x_escapes_in_patterns_are_kept():
    operation_name = bm.load_schema("OperationUpdate")["$defs"]["OperationName"]
    assert operation_name["pattern"] == r"^(?:[\x20-\x7E]+)$"
    base = {"Id": "a", "Type": "STEP", "Action": "START"}
    assert errors("OperationUpdate", {**base, "Name": "fetch order #1"}) == []
    assert errors("OperationUpdate", {**base, "Name": "tab\there"})
    assert errors("OperationUpdate", {**base, "Name": "caf\u00e9"})


# --------------------------------------------------------------------------- (b) valid instances

STEP_RETRY_UPDATE = {
    "Id": "c4ca4238a0b92382",
    "ParentId": "parent-1",
    "Name": "charge card",
    "Type": "STEP",
    "SubType": "Step",
    "Action": "RETRY",
    "Error": {
        "ErrorType": "TimeoutError",
        "ErrorMessage": "payment gateway timed out",
        "ErrorData": '{"attempt": 1}',
        "StackTrace": ['  File "handler.py", line 12, in charge'],
    },
    "StepOptions": {"NextAttemptDelaySeconds": 5},
}

WAIT_OPERATION = {
    "Id": "wait-1",
    "Name": "cool down",
    "Type": "WAIT",
    "SubType": "Wait",
    "StartTimestamp": 1767225600.123,
    "Status": "STARTED",
    "WaitDetails": {"ScheduledEndTimestamp": "2026-01-01T00:05:00+00:00"},
}

STEP_FAILED_EVENT = {
    "EventType": "StepFailed",
    "SubType": "Step",
    "EventId": 7,
    "Id": "c4ca4238a0b92382",
    "Name": "charge card",
    "EventTimestamp": "2026-01-01T00:00:01.5Z",
    "StepFailedDetails": {
        "Error": {
            "Payload": {"ErrorType": "TimeoutError", "ErrorMessage": "payment gateway timed out"},
            "Truncated": False,
        },
        "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 5},
    },
}

WAIT_STARTED_EVENT = {
    "EventType": "WaitStarted",
    "SubType": "Wait",
    "EventId": 3,
    "Id": "wait-1",
    "Name": "cool down",
    "EventTimestamp": 1767225600,
    "WaitStartedDetails": {"Duration": 300, "ScheduledEndTimestamp": 1767225900},
}


@pytest.mark.parametrize(
    ("name", "instance"),
    [
        ("OperationUpdate", STEP_RETRY_UPDATE),
        ("OperationUpdate", {"Id": "1", "Type": "EXECUTION", "Action": "SUCCEED", "Payload": ""}),
        (
            "OperationUpdate",
            {
                "Id": "invoke-1",
                "Type": "CHAINED_INVOKE",
                "Action": "START",
                "Payload": '{"order": 42}',
                "ChainedInvokeOptions": {"FunctionName": "payments:prod", "TenantId": "t-1"},
            },
        ),
        ("Operation", WAIT_OPERATION),
        (
            "Operation",
            {
                "Id": "step-1",
                "Type": "STEP",
                "StartTimestamp": "2026-01-01T00:00:00Z",
                "EndTimestamp": "2026-01-01T00:00:02.250000+02:00",
                "Status": "PENDING",
                "StepDetails": {
                    "Attempt": 2,
                    "NextAttemptTimestamp": 1767225605,
                    "Error": {"ErrorType": "TimeoutError"},
                },
            },
        ),
        ("Event", STEP_FAILED_EVENT),
        ("Event", WAIT_STARTED_EVENT),
        ("ErrorObject", {}),
        (
            "CheckpointDurableExecutionRequest",
            {
                "DurableExecutionArn": ARN,
                "CheckpointToken": "dG9rZW4tMQ==",
                "ClientToken": "5d0b8c7e-idempotency",
                "Updates": [STEP_RETRY_UPDATE],
            },
        ),
        (
            "CheckpointDurableExecutionResponse",
            {
                "CheckpointToken": "dG9rZW4tMg==",
                "NewExecutionState": {"Operations": [WAIT_OPERATION]},
            },
        ),
        ("GetDurableExecutionHistoryResponse", {"Events": [WAIT_STARTED_EVENT, STEP_FAILED_EVENT]}),
        ("StopDurableExecutionResponse", {"StopTimestamp": 1767225600}),
        (
            "SendDurableExecutionCallbackSuccessRequest",
            {"CallbackId": "Y2FsbGJhY2stMQ==", "Result": "eyJvayI6IHRydWV9"},
        ),
    ],
)
def test_realistic_instances_validate(name, instance):
    validator(name).validate(instance)


def test_updates_built_by_the_sdk_validate():
    models = pytest.importorskip("async_durable_execution._core.models")
    identifier = models.OperationIdentifier("2-b", models.OperationSubType.STEP, "1-a", "fetch")
    error = models.ErrorObject.from_exception(ValueError("boom"))
    updates = [
        models.OperationUpdate.create_step_start(identifier),
        models.OperationUpdate.create_step_retry(identifier, error, 5),
        models.OperationUpdate.create_step_fail(identifier, error),
        models.OperationUpdate.create_step_succeed(identifier, '"ok"'),
        models.OperationUpdate.create_wait_start(identifier, models.WaitOptions(wait_seconds=10)),
        models.OperationUpdate.create_execution_succeed('"done"'),
    ]
    for update in updates:
        validator("OperationUpdate").validate(dict(update.to_dict()))


# ------------------------------------------------------------------------- (c) invalid instances


def _without(instance: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in instance.items() if k != key}


@pytest.mark.parametrize(
    ("name", "instance", "fragment"),
    [
        ("OperationUpdate", {**STEP_RETRY_UPDATE, "Action": "RESTART"}, "is not one of"),
        ("OperationUpdate", {**STEP_RETRY_UPDATE, "Id": "x" * 65}, "is too long"),
        ("OperationUpdate", {**STEP_RETRY_UPDATE, "Id": ""}, "should be non-empty"),
        ("OperationUpdate", {**STEP_RETRY_UPDATE, "Id": "step/1"}, "does not match"),
        ("OperationUpdate", {**STEP_RETRY_UPDATE, "Id": "step 1"}, "does not match"),
        ("OperationUpdate", _without(STEP_RETRY_UPDATE, "Type"), "'Type' is a required property"),
        ("OperationUpdate", {**STEP_RETRY_UPDATE, "Extra": 1}, "Additional properties"),
        (
            "OperationUpdate",
            {**STEP_RETRY_UPDATE, "StepOptions": {"NextAttemptDelaySeconds": 0}},
            "less than the minimum",
        ),
        (
            "OperationUpdate",
            {**STEP_RETRY_UPDATE, "StepOptions": {"NextAttemptDelaySeconds": "5"}},
            "is not of type 'integer'",
        ),
        (
            "OperationUpdate",
            {**STEP_RETRY_UPDATE, "Error": {"ErrorType": "X", "Cause": "nested unknown key"}},
            "Additional properties",
        ),
        ("Operation", {**WAIT_OPERATION, "Status": "RUNNING"}, "is not one of"),
        ("Operation", _without(WAIT_OPERATION, "StartTimestamp"), "'StartTimestamp' is a required"),
        # A naive ISO string (no offset) and a date without a time are not accepted timestamps.
        ("Operation", {**WAIT_OPERATION, "StartTimestamp": "2026-01-01T00:00:00"}, "is not valid"),
        ("Operation", {**WAIT_OPERATION, "StartTimestamp": "2026-01-01"}, "is not valid"),
        ("Operation", {**WAIT_OPERATION, "StartTimestamp": True}, "is not valid"),
        ("Event", {**STEP_FAILED_EVENT, "EventType": "StepRetried"}, "is not one of"),
        ("Event", {**STEP_FAILED_EVENT, "EventId": 0}, "less than the minimum"),
        (
            "Event",
            {
                **STEP_FAILED_EVENT,
                "StepFailedDetails": _without(
                    STEP_FAILED_EVENT["StepFailedDetails"], "RetryDetails"
                ),
            },
            "'RetryDetails' is a required property",
        ),
        (
            "Event",
            {**WAIT_STARTED_EVENT, "WaitStartedDetails": {"Duration": 300}},
            "'ScheduledEndTimestamp' is a required property",
        ),
        (
            "CheckpointDurableExecutionRequest",
            {
                "DurableExecutionArn": "arn:aws:lambda:us-east-1:123:function:f",
                "CheckpointToken": "t",
            },
            "does not match",
        ),
        (
            "CheckpointDurableExecutionRequest",
            {"DurableExecutionArn": ARN, "CheckpointToken": "not base64!"},
            "does not match",
        ),
        (
            "CheckpointDurableExecutionRequest",
            {"DurableExecutionArn": ARN, "CheckpointToken": "dA==", "Updates": [{"Id": "a"}]},
            "is a required property",
        ),
        ("ListDurableExecutionsByFunctionRequest", {"FunctionName": "f", "Statuses": []}, "empty"),
    ],
)
def test_invalid_instances_fail(name, instance, fragment):
    found = [error.message for error in validator(name).iter_errors(instance)]
    assert found, f"{instance!r} unexpectedly valid against {name}"
    assert any(fragment in message for message in found), found


def test_valid_fixtures_are_not_mutated_by_the_invalid_cases():
    # The parametrized cases above copy the fixtures; they must still be valid.
    for name, instance in [("OperationUpdate", STEP_RETRY_UPDATE), ("Event", STEP_FAILED_EVENT)]:
        validator(name).validate(copy.deepcopy(instance))


# -------------------------------------------------------------------------------- (d) the routes


def _routes() -> dict[str, bm.Route]:
    return {route.operation: route for route in bm.durable_routes()}


def test_routes_cover_the_durable_operations():
    assert [route.operation for route in bm.durable_routes()] == list(bm.DURABLE_OPERATIONS)
    for route in bm.durable_routes():
        assert route.uri.startswith("/2025-12-01/")
        assert route.response_code == 200
        assert "InvalidParameterValueException" in route.errors


def test_checkpoint_route():
    route = _routes()["CheckpointDurableExecution"]
    assert route.method == "POST"
    assert route.uri == "/2025-12-01/durable-executions/{DurableExecutionArn}/checkpoint"
    assert route.input_shape == "CheckpointDurableExecutionRequest"
    assert route.output_shape == "CheckpointDurableExecutionResponse"
    assert route.errors == (
        "InvalidParameterValueException",
        "TooManyRequestsException",
        "ServiceException",
    )
    members = {member.name: member for member in route.members}
    assert members["DurableExecutionArn"] == bm.MemberLocation(
        name="DurableExecutionArn",
        location="uri",
        location_name="DurableExecutionArn",
        shape="DurableExecutionArn",
        type="string",
        required=True,
    )
    assert members["CheckpointToken"].location == "body"
    assert members["CheckpointToken"].required
    assert members["Updates"].location == "body"
    assert members["Updates"].type == "list"
    assert members["ClientToken"].idempotency_token
    assert route.payload_member is None
    assert [m.name for m in route.members_in("body")] == [
        "CheckpointToken",
        "Updates",
        "ClientToken",
    ]


def test_get_state_route_uses_the_query_string():
    route = _routes()["GetDurableExecutionState"]
    assert route.method == "GET"
    assert route.uri == "/2025-12-01/durable-executions/{DurableExecutionArn}/state"
    query = {m.name: (m.location_name, m.type) for m in route.members_in("querystring")}
    assert query == {
        "CheckpointToken": ("CheckpointToken", "string"),
        "Marker": ("Marker", "string"),
        "MaxItems": ("MaxItems", "integer"),
    }
    assert [m.name for m in route.members_in("uri")] == ["DurableExecutionArn"]
    assert route.members_in("body") == ()


def test_payload_members_are_the_whole_body():
    routes = _routes()
    assert routes["StopDurableExecution"].payload_member == "Error"
    assert routes["SendDurableExecutionCallbackFailure"].payload_member == "Error"
    success = routes["SendDurableExecutionCallbackSuccess"]
    assert success.payload_member == "Result"
    assert success.members_in("payload")[0].type == "blob"
    assert success.members_in("uri")[0].name == "CallbackId"


def test_route_match_decodes_percent_encoded_labels():
    route = _routes()["CheckpointDurableExecution"]
    raw = "/2025-12-01/durable-executions/" + ARN.replace(":", "%3A").replace("/", "%2F")
    assert route.match(raw + "/checkpoint") == {"DurableExecutionArn": ARN}
    assert route.match(raw + "/state") is None
    assert _routes()["GetDurableExecution"].match(raw + "/checkpoint") is None
    assert _routes()["GetDurableExecution"].match(raw) == {"DurableExecutionArn": ARN}


def test_routes_are_frozen():
    route = bm.durable_routes()[0]
    with pytest.raises(AttributeError):
        route.method = "PUT"  # type: ignore[misc]


# ---------------------------------------------------------------------------- (e) error shapes


def test_error_shapes_follow_the_model():
    shapes = bm.error_shapes()
    assert set(shapes) == {
        "CallbackTimeoutException",
        "InvalidParameterValueException",
        "ResourceNotFoundException",
        "ServiceException",
        "TooManyRequestsException",
    }
    model_shapes = bm.load_service_model()["shapes"]
    for name, info in shapes.items():
        assert info["httpStatusCode"] == model_shapes[name]["error"]["httpStatusCode"], name
        assert info["code"] == name


def test_error_status_codes_and_members():
    shapes = bm.error_shapes()
    invalid = shapes["InvalidParameterValueException"]
    assert invalid["httpStatusCode"] == 400
    assert invalid["senderFault"] is True
    assert invalid["fault"] is False
    # The model spells the message member in lower case for this error...
    assert set(invalid["members"]) == {"Type", "message"}
    assert invalid["members"]["message"]["location"] == "body"

    not_found = shapes["ResourceNotFoundException"]
    assert not_found["httpStatusCode"] == 404
    # ...and capitalized for this one.
    assert set(not_found["members"]) == {"Type", "Message"}

    assert shapes["CallbackTimeoutException"]["httpStatusCode"] == 400
    assert shapes["ServiceException"]["httpStatusCode"] == 500
    assert shapes["ServiceException"]["fault"] is True

    throttled = shapes["TooManyRequestsException"]
    assert throttled["httpStatusCode"] == 429
    assert throttled["members"]["retryAfterSeconds"] == {
        "shape": "String",
        "type": "string",
        "location": "header",
        "locationName": "Retry-After",
    }


def test_error_shapes_returns_a_fresh_copy():
    bm.error_shapes()["ServiceException"]["httpStatusCode"] = 418
    assert bm.error_shapes()["ServiceException"]["httpStatusCode"] == 500
