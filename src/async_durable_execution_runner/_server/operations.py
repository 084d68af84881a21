"""The Lambda operations the server answers, each on validated input, under the state lock.

Each handler takes the server and a :class:`DecodedRequest` and returns the response document
(or a ready :class:`HttpReply`, for ``Invoke`` whose answer lives in headers and a raw body).
The dispatcher calls every handler with the runner's state lock held, so a request's reads and
changes are atomic with respect to every other entry point; ``Invoke`` with
``InvocationType=RequestResponse`` lets go of it to wait for the execution to end.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from async_durable_execution_runner._models import ErrorObject, Event, OperationUpdate
from async_durable_execution_runner._server.reply import HttpReply
from async_durable_execution_runner._server.requests import DecodedRequest
from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.state import DEFAULT_PAGE_SIZE
from async_durable_execution_runner.errors import (
    DurableExecutionAlreadyStartedException,
    InvalidParameterValueException,
    ResourceNotFoundException,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._server.http import DurableServiceServer

Handler = Callable[["DurableServiceServer", DecodedRequest], Any]

__all__ = ["HANDLERS", "function_key"]


def function_key(function_name: str) -> str:
    """The function's short name, whether given as a name, a partial ARN or an ARN."""
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        return parts[6] if len(parts) > 6 else function_name
    parts = function_name.split(":")
    if len(parts) >= 3 and parts[-2] == "function":  # 123456789012:function:name
        return parts[-1]
    if len(parts) >= 3 and parts[-3] == "function":  # 123456789012:function:name:qualifier
        return parts[-2]
    return parts[0]


def _page_bounds(marker: Any, max_items: Any, total: int) -> tuple[int, int]:
    try:
        start = int(marker) if marker else 0
    except ValueError:
        start = -1
    if not 0 <= start <= total:
        msg = f"Marker {marker!r} is not one this service returned"
        raise InvalidParameterValueException(msg)
    size = int(max_items) if max_items else DEFAULT_PAGE_SIZE
    if not 0 < size <= DEFAULT_PAGE_SIZE:
        size = DEFAULT_PAGE_SIZE
    return start, min(total, start + size)


def _function_arn(execution: Execution) -> str:
    return execution.arn.split("/durable-execution/", 1)[0]


def _execution_summary(execution: Execution) -> dict[str, Any]:
    out: dict[str, Any] = {
        "DurableExecutionArn": execution.arn,
        "DurableExecutionName": execution.name,
        "FunctionArn": _function_arn(execution),
        "Status": execution.status.value,
        "StartTimestamp": execution.start,
    }
    if execution.end is not None:
        out["EndTimestamp"] = execution.end
    return out


def describe_execution(execution: Execution) -> dict[str, Any]:
    """``GetDurableExecution``'s answer for ``execution``."""
    out = _execution_summary(execution)
    if execution.input_payload is not None:
        out["InputPayload"] = execution.input_payload
    if execution.result is not None:
        out["Result"] = execution.result
    if execution.error is not None:
        out["Error"] = execution.error.to_dict()
    out["Version"] = "$LATEST"
    return out


def _get_execution(server: DurableServiceServer, request: DecodedRequest) -> dict[str, Any]:
    return describe_execution(server.executor.get(request.require("DurableExecutionArn")))


def _without_data(value: Any) -> Any:
    """An event's details without payloads (``IncludeExecutionData=false``)."""
    if isinstance(value, dict):
        return {k: _without_data(v) for k, v in value.items() if k != "Payload"}
    if isinstance(value, list):
        return [_without_data(v) for v in value]
    return value


def _event_json(event: Event, include_data: bool) -> dict[str, Any]:
    wire = event.to_json_dict()
    if not include_data:
        key = event.event_type.details_key
        wire[key] = _without_data(wire.get(key, {}))
    return wire


def _get_history(server: DurableServiceServer, request: DecodedRequest) -> dict[str, Any]:
    events = list(server.executor.history(request.require("DurableExecutionArn")))
    if request.get("ReverseOrder"):
        events.reverse()
    start, end = _page_bounds(request.get("Marker"), request.get("MaxItems"), len(events))
    include = request.get("IncludeExecutionData", True) is not False
    out: dict[str, Any] = {"Events": [_event_json(e, include) for e in events[start:end]]}
    if end < len(events):
        out["NextMarker"] = str(end)
    return out


def _get_state(server: DurableServiceServer, request: DecodedRequest) -> dict[str, Any]:
    arn = str(request.require("DurableExecutionArn"))
    token = str(request.require("CheckpointToken"))
    marker = request.get("Marker") or ""
    max_items = request.get("MaxItems") or DEFAULT_PAGE_SIZE
    session = server.runner.unlocked_invoker.session_for(arn, token)
    if session is not None:
        operations, next_marker = session.get_execution_state(token, marker, max_items)
    else:
        operations, next_marker = server.executor.get_execution_state(arn, token, marker, max_items)
    out: dict[str, Any] = {"Operations": [op.to_json_dict() for op in operations]}
    if next_marker:
        out["NextMarker"] = next_marker
    return out


def _parse_updates(raw: Any) -> list[OperationUpdate]:
    updates = []
    for index, item in enumerate(raw or ()):
        try:
            updates.append(OperationUpdate.from_dict(item))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            msg = f"CheckpointDurableExecution: Updates[{index}] is malformed: {exc!r}"
            raise InvalidParameterValueException(msg) from exc
    return updates


def _checkpoint(server: DurableServiceServer, request: DecodedRequest) -> HttpReply:
    """Apply a checkpoint once per ``ClientToken``: a retry (same token, same checkpoint)
    gets the first answer again from the execution's ledger and changes nothing; the same
    token with another checkpoint is refused (``_service.ledger``). The look-up, the change
    and the record happen under one hold of the state lock, and the record is stored with the
    change (one transaction) before the answer leaves, so a retry after a lost answer, or
    after a restart, is answered from it."""
    arn = str(request.require("DurableExecutionArn"))
    raw_client_token = request.get("ClientToken")
    client_token = str(raw_client_token) if raw_client_token else None
    token = str(request.require("CheckpointToken"))
    updates = _parse_updates(request.get("Updates"))
    session = server.runner.unlocked_invoker.session_for(arn, token)
    if session is not None:
        new_token, changed = session.checkpoint(token, updates, client_token)
    else:
        new_token, changed = server.executor.checkpoint(arn, token, updates, client_token)
        # A checkpoint made from outside any invocation may let the service move on.
        server.state_changed()
    document = {
        "CheckpointToken": new_token,
        "NewExecutionState": {"Operations": [op.to_json_dict() for op in changed]},
    }
    return HttpReply.json(request.route.response_code, document)


def _stop(server: DurableServiceServer, request: DecodedRequest) -> dict[str, Any]:
    arn = str(request.require("DurableExecutionArn"))
    raw_error = request.get("Error")
    error = ErrorObject.from_dict(raw_error) if isinstance(raw_error, dict) else None
    stopped: _dt.datetime = server.executor.stop_execution(arn, error)
    server.state_changed()
    return {"StopTimestamp": stopped}


def _callback_success(server: DurableServiceServer, request: DecodedRequest) -> dict[str, Any]:
    server.executor.send_callback_success(request.require("CallbackId"), request.get("Result"))
    server.state_changed()
    return {}


def _callback_failure(server: DurableServiceServer, request: DecodedRequest) -> dict[str, Any]:
    raw_error = request.get("Error")
    error = ErrorObject.from_dict(raw_error) if isinstance(raw_error, dict) else None
    server.executor.send_callback_failure(request.require("CallbackId"), error)
    server.state_changed()
    return {}


def _callback_heartbeat(server: DurableServiceServer, request: DecodedRequest) -> dict[str, Any]:
    server.executor.send_callback_heartbeat(request.require("CallbackId"))
    return {}


def _list_executions(server: DurableServiceServer, request: DecodedRequest) -> dict[str, Any]:
    function = function_key(str(request.require("FunctionName")))
    name = request.get("DurableExecutionName")
    statuses = set(request.get("Statuses") or ())
    after: _dt.datetime | None = request.get("StartedAfter")
    before: _dt.datetime | None = request.get("StartedBefore")
    found = [
        _execution_summary(execution)
        for execution in server.executor.executions.values()
        if execution.function_name == function
        and (name is None or execution.name == name)
        and (not statuses or execution.status.value in statuses)
        and (after is None or execution.start > after)
        and (before is None or execution.start < before)
    ]
    if request.get("ReverseOrder"):
        found.reverse()
    start, end = _page_bounds(request.get("Marker"), request.get("MaxItems"), len(found))
    out: dict[str, Any] = {"DurableExecutions": found[start:end]}
    if end < len(found):
        out["NextMarker"] = str(end)
    return out


def _invoke(server: DurableServiceServer, request: DecodedRequest) -> HttpReply:
    """Start a durable execution of a registered function.

    ``RequestResponse`` (the default) answers when the execution ends, with its result as the
    payload (or its error, and ``X-Amz-Function-Error: Unhandled``); ``Event`` answers 202 at
    once; ``DryRun`` 204 without starting anything. Every answer names the execution in
    ``X-Amz-Durable-Execution-Arn``. Starting a name that exists with the same payload answers
    for the existing execution; with another payload it is refused (409).
    """
    name = str(request.require("FunctionName"))
    function = function_key(name)
    if function not in server.runner.handler_names:
        registered = ", ".join(sorted(server.runner.handler_names)) or "none"
        arn = (
            f"arn:aws:lambda:{server.executor.state.region}:{server.executor.state.account_id}:"
            f"function:{function}"
        )
        msg = f"Function not found: {arn} (functions registered with this server: {registered})"
        raise ResourceNotFoundException(msg)
    kind = request.get("InvocationType") or "RequestResponse"
    payload = request.get("Payload")
    headers = {"X-Amz-Executed-Version": "$LATEST"}
    if kind == "DryRun":
        return HttpReply(204, b"", headers)
    execution_name = request.get("DurableExecutionName")
    existing = (
        server.executor.executions.get(server.executor.execution_arn(function, execution_name))
        if execution_name
        else None
    )
    if existing is not None:
        if existing.input_payload != _input_text(payload):
            msg = (
                f"a durable execution named {execution_name!r} was already started for function "
                f"{function!r} with a different payload; execution names are unique per "
                "function: use another name, or read the existing execution"
            )
            raise DurableExecutionAlreadyStartedException(msg)
        arn = existing.arn
    else:
        arn = server.executor.start_execution(
            function,
            _input_text(payload),
            execution_name=execution_name,
            timeout_seconds=server.runner.execution_timeout,
        )
        server.state_changed()
    headers["X-Amz-Durable-Execution-Arn"] = arn
    if kind == "Event":
        return HttpReply(202, b"", headers)
    execution = server.wait_for_end(arn)
    if execution.is_open:
        body = json.dumps(
            {
                "errorType": "Sandbox.Timedout",
                "errorMessage": (
                    f"the durable execution {arn} did not end within the synchronous "
                    f"invocation limit of {server.invoke_timeout:g}s; it goes on: read it with "
                    "GetDurableExecution, or invoke with InvocationType=Event"
                ),
            }
        ).encode()
        return HttpReply(200, body, {**headers, "X-Amz-Function-Error": "Unhandled"})
    if execution.status.value == "SUCCEEDED":
        return HttpReply(200, (execution.result or "null").encode(), headers)
    error = execution.error or ErrorObject(error_type=execution.status.value)
    body = json.dumps(
        {"errorType": error.error_type, "errorMessage": error.error_message or ""}
    ).encode()
    return HttpReply(200, body, {**headers, "X-Amz-Function-Error": "Unhandled"})


def _input_text(payload: str | None) -> str | None:
    # The service hands the handler the invocation's payload as its input, as text.
    return payload if payload else None


HANDLERS: dict[str, Handler] = {
    "CheckpointDurableExecution": _checkpoint,
    "GetDurableExecution": _get_execution,
    "GetDurableExecutionHistory": _get_history,
    "GetDurableExecutionState": _get_state,
    "Invoke": _invoke,
    "ListDurableExecutionsByFunction": _list_executions,
    "SendDurableExecutionCallbackFailure": _callback_failure,
    "SendDurableExecutionCallbackHeartbeat": _callback_heartbeat,
    "SendDurableExecutionCallbackSuccess": _callback_success,
    "StopDurableExecution": _stop,
}
