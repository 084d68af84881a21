"""Turning one HTTP request into an operation's input members, validated before anything runs.

A request is decoded member by member from where botocore's model says it travels (URI label,
query string, header, JSON body, whole payload), then checked against the JSON Schema of the
operation's input shape (generated from the same model). Only a request that passes reaches
the service, so a rejected request cannot have changed any state.

Size limits are the service's: an ``Invoke`` payload is at most 6 MB (synchronous) or 1 MB
(``InvocationType=Event``); any other request body at most 6 MB, the Lambda API's request
quota. A body over the limit is refused from its ``Content-Length`` alone, unread.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

import jsonschema

from async_durable_execution_runner._botocore_model import (
    MemberLocation,
    Route,
    load_service_model,
    shape_to_json_schema,
)
from async_durable_execution_runner._models._time import parse_timestamp
from async_durable_execution_runner.errors import (
    DurableServiceError,
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    SerializedRequestEntityTooLargeException,
)

__all__ = [
    "INVOKE_ASYNC_LIMIT",
    "INVOKE_SYNC_LIMIT",
    "REQUEST_LIMIT",
    "DecodedRequest",
    "body_limit",
    "decode_request",
    "too_large",
]

#: Synchronous ``Invoke`` payload quota (bytes).
INVOKE_SYNC_LIMIT = 6 * 1024 * 1024
#: Asynchronous (``InvocationType=Event``) ``Invoke`` payload quota (bytes).
INVOKE_ASYNC_LIMIT = 1024 * 1024
#: Any other request body (bytes).
REQUEST_LIMIT = 6 * 1024 * 1024


class DecodedRequest:
    """The decoded, validated input members of one request, by member name."""

    def __init__(self, route: Route, values: dict[str, Any], body: bytes) -> None:
        self.route = route
        self.values = values
        self.body = body

    @property
    def operation(self) -> str:
        return self.route.operation

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def require(self, name: str) -> Any:
        value = self.values.get(name)
        if value is None:  # validation guarantees required members; this is the last guard
            msg = f"{self.operation}: the required parameter {name} is missing"
            raise InvalidParameterValueException(msg)
        return value


def body_limit(route: Route, headers: Mapping[str, str]) -> int:
    """The largest body ``route`` accepts, given the request's headers."""
    if route.operation == "Invoke":
        kind = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        return INVOKE_ASYNC_LIMIT if kind == "Event" else INVOKE_SYNC_LIMIT
    return REQUEST_LIMIT


def too_large(route: Route, size: int, limit: int) -> DurableServiceError:
    """The error for a body of ``size`` bytes over ``limit``."""
    if route.operation == "Invoke":
        msg = (
            f"Request must be smaller than {limit} bytes for the Invoke operation; "
            f"this request's body is {size} bytes"
        )
        return RequestTooLargeException(msg)
    msg = (
        f"{route.operation}: the request body is {size} bytes, over the service's limit of "
        f"{limit} bytes"
    )
    return SerializedRequestEntityTooLargeException(msg)


def decode_request(
    route: Route,
    labels: Mapping[str, str],
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> DecodedRequest:
    """Decode and validate; raises an AWS-shaped error naming what is wrong."""
    values: dict[str, Any] = {}
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    document: dict[str, Any] | None = None
    for member in route.members:
        if member.location == "uri":
            values[member.name] = labels.get(member.location_name)
        elif member.location == "querystring":
            raw = params.get(member.location_name)
            if raw:
                values[member.name] = _coerce(route, member, raw)
        elif member.location == "header":
            text = _header(headers, member.location_name)
            if text is not None:
                values[member.name] = _coerce(route, member, [text])
        elif member.location == "payload":
            payload = _payload(route, member, body)
            if payload is not None:
                values[member.name] = payload
        elif member.location == "body":
            if document is None:
                document = _json_object(route, body)
            if member.location_name in document:
                values[member.name] = document[member.location_name]
    if document is not None:
        known = {m.location_name for m in route.members if m.location == "body"}
        unknown = sorted(set(document) - known)
        if unknown:
            msg = (
                f"{route.operation}: unknown field(s) {', '.join(map(repr, unknown))} in the "
                f"request body; the body may hold {', '.join(sorted(known)) or 'nothing'}"
            )
            raise InvalidParameterValueException(msg)
    _validate(route, values)
    return DecodedRequest(route, values, body)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _json_object(route: Route, body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{route.operation}: the request body is not valid JSON ({exc})"
        raise InvalidParameterValueException(msg) from exc
    if not isinstance(document, dict):
        msg = (
            f"{route.operation}: the request body must be a JSON object, "
            f"got {type(document).__name__}"
        )
        raise InvalidParameterValueException(msg)
    return document


def _payload(route: Route, member: MemberLocation, body: bytes) -> Any:
    if member.type == "blob":
        if not body:
            return None
        if route.operation == "Invoke":
            # Lambda parses an invocation payload as JSON before anything runs.
            try:
                json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                msg = f"Could not parse request body into json: {exc}"
                raise InvalidRequestContentException(msg) from exc
        try:
            return body.decode()
        except UnicodeDecodeError as exc:
            msg = f"{route.operation}: {member.name} must be UTF-8 text"
            raise InvalidParameterValueException(msg) from exc
    return _json_object(route, body) if body.strip() else None


def _coerce(route: Route, member: MemberLocation, raw: list[str]) -> Any:
    if member.type == "list":
        return list(raw)
    text = raw[-1]
    try:
        if member.type in ("integer", "long"):
            return int(text)
        if member.type == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if member.type == "timestamp":
            try:
                return parse_timestamp(float(text))
            except ValueError:
                return parse_timestamp(text)
    except (TypeError, ValueError) as exc:
        msg = f"{route.operation}: {member.location_name}={text!r} is not a valid {member.type}"
        raise InvalidParameterValueException(msg) from exc
    return text


@functools.cache
def _validator(shape: str) -> jsonschema.protocols.Validator:
    schema = shape_to_json_schema(shape)
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def _json_ready(route: Route, values: Mapping[str, Any]) -> dict[str, Any]:
    """The members as the schema sees them: timestamps as epoch seconds, blobs as base64."""
    kinds = {member.name: member.type for member in route.members}
    ready: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, _dt.datetime):
            ready[name] = value.timestamp()
        elif kinds.get(name) == "blob" and isinstance(value, str):
            ready[name] = base64.b64encode(value.encode()).decode()
        else:
            ready[name] = value
    return ready


def _blob_limits(route: Route, values: Mapping[str, Any]) -> None:
    # Base64 lengths in the schema round up to whole quads: check the bytes themselves.
    for member in route.members:
        value = values.get(member.name)
        if member.type != "blob" or not isinstance(value, str):
            continue
        most = load_service_model()["shapes"][member.shape].get("max")
        size = len(value.encode())
        if most is not None and size > most:
            msg = (
                f"1 validation error detected: Value at '{member.name}' failed to satisfy "
                f"constraint: Member must have length less than or equal to {most} "
                f"(it is {size} bytes)"
            )
            raise InvalidParameterValueException(msg)


def _validate(route: Route, values: Mapping[str, Any]) -> None:
    if route.input_shape is None:
        return
    _blob_limits(route, values)
    errors = sorted(
        _validator(route.input_shape).iter_errors(_json_ready(route, values)),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    if not errors:
        return
    shown = errors[:3]
    parts = []
    for error in shown:
        where = ".".join(str(p) for p in error.absolute_path) or route.input_shape
        parts.append(f"Value at '{where}' failed to satisfy constraint: {_constraint(error)}")
    noun = "error" if len(errors) == 1 else "errors"
    msg = f"{len(errors)} validation {noun} detected: {'; '.join(parts)}"
    raise InvalidParameterValueException(msg)


def _constraint(error: jsonschema.ValidationError) -> str:
    keyword = error.validator
    expected: Any = error.validator_value
    if keyword == "pattern":
        return f"Member must satisfy regular expression pattern: {expected}"
    if keyword in ("maxLength", "maxItems"):
        return f"Member must have length less than or equal to {expected}"
    if keyword in ("minLength", "minItems"):
        return f"Member must have length greater than or equal to {expected}"
    if keyword == "enum":
        return f"Member must satisfy enum value set: [{', '.join(map(str, expected))}]"
    if keyword == "required":
        return f"Member must not be null ({error.message})"
    if keyword == "maximum":
        return f"Member must have value less than or equal to {expected}"
    if keyword == "minimum":
        return f"Member must have value greater than or equal to {expected}"
    return f"{error.message}"
