"""``DurableServiceServer``: the durable-execution REST API of Lambda, on loopback HTTP.

The server answers the durable-execution operations of botocore's Lambda model
(:func:`~async_durable_execution_runner._botocore_model.durable_routes`) for the executor of a
:class:`~async_durable_execution_runner.DurableFunctionTestRunner`, so that a real botocore client
works against it::

    with DurableFunctionTestRunner(handler) as runner, DurableServiceServer(runner) as server:
        arn = runner.start({"order": 1})
        client = botocore.session.get_session().create_client(
            "lambda", region_name="us-east-1", endpoint_url=server.url,
            aws_access_key_id="x", aws_secret_access_key="x",
        )
        client.get_durable_execution(DurableExecutionArn=arn)

Concurrency: requests are served one at a time (the server's own lock).  Reads and
``CheckpointDurableExecution``/``GetDurableExecutionState`` (the calls an SDK makes *during* an
invocation) go straight to the executor's public methods and never take the runner's lock, so an
SDK running inside an invocation the runner is driving cannot deadlock against it.  The calls an
outside system makes (callbacks, stop) go through the runner's public, locked methods and then
``runner.advance(0)``, which delivers what became due (the re-invocation a callback result asks
for) without moving the clock.

Wire format (rest-json): timestamps are epoch seconds; errors carry the HTTP status of the
error, the header ``x-amzn-errortype: <Code>`` and the body ``{"Type": ..., "message": ...}``
(``Message`` for the error shapes that spell it so).
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from async_durable_execution_runner._botocore_model import (
    MemberLocation,
    Route,
    durable_routes,
    error_shapes,
)
from async_durable_execution_runner._models import (
    ErrorObject,
    Event,
    OperationUpdate,
)
from async_durable_execution_runner._models._time import parse_timestamp
from async_durable_execution_runner._models.operations import to_json_ready
from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.executor import Executor
from async_durable_execution_runner._service.state import DEFAULT_PAGE_SIZE
from async_durable_execution_runner.errors import (
    DurableServiceError,
    InvalidParameterValueException,
    ServiceException,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._runner.local import DurableFunctionTestRunner

__all__ = ["DurableServiceServer", "HttpReply"]

_JSON = "application/json"
#: Checkpoint responses remembered per execution for ``ClientToken`` retries.
_IDEMPOTENCY_CACHE = 64


class UnknownOperationException(DurableServiceError):
    """No durable-execution route matches the request's method and path."""

    code = "UnknownOperationException"
    http_status = 404


class HttpReply:
    """One HTTP answer: status, headers and body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})

    @classmethod
    def json(
        cls, status: int, document: Any, headers: Mapping[str, str] | None = None
    ) -> HttpReply:
        body = json.dumps(to_json_ready(document), separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": _JSON, **(headers or {})})

    @classmethod
    def error(cls, error: DurableServiceError) -> HttpReply:
        shapes = _error_shapes()
        members = shapes.get(error.code, {}).get("members", {})
        key = "Message" if "Message" in members else "message"
        fault = error.http_status >= 500
        document = {"Type": "Service" if fault else "User", key: error.message}
        return cls.json(error.http_status, document, {"x-amzn-errortype": error.code})


_ERROR_SHAPES: dict[str, dict[str, Any]] = {}


def _error_shapes() -> dict[str, dict[str, Any]]:
    if not _ERROR_SHAPES:
        _ERROR_SHAPES.update(error_shapes())
    return _ERROR_SHAPES


class _Request:
    """The decoded input members of one request, by member name."""

    def __init__(self, route: Route, values: dict[str, Any]) -> None:
        self.route = route
        self.values = values

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def require(self, name: str) -> Any:
        value = self.values.get(name)
        if value is None:
            msg = f"{self.route.operation}: the required parameter {name} is missing"
            raise InvalidParameterValueException(msg)
        return value


Handler = Callable[["DurableServiceServer", _Request], Any]


class DurableServiceServer:
    """A real HTTP server on ``127.0.0.1`` answering the durable-execution API for ``runner``.

    ``port=0`` (the default) picks a free port; :attr:`url` is the endpoint to give botocore.
    The server runs in a background thread between :meth:`start` and :meth:`close` (or as a
    context manager).
    """

    def __init__(
        self, runner: DurableFunctionTestRunner, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.runner = runner
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = durable_routes()
        # (arn, client token) -> (request body, reply) of a checkpoint, for retried requests.
        self._checkpoints: dict[tuple[str, str], tuple[bytes, HttpReply]] = {}

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def executor(self) -> Executor:
        return self.runner.executor

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` the server listens on (start it first)."""
        if self._httpd is None:
            msg = "the server is not started; call start() or use it as a context manager"
            raise RuntimeError(msg)
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The endpoint URL, such as ``http://127.0.0.1:54321``."""
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> DurableServiceServer:
        if self._httpd is not None:
            return self
        server = self

        class _Handler(_RequestHandler):
            service = server

        httpd = ThreadingHTTPServer((self._host, self._port), _Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"durable-service-server:{self.address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> DurableServiceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- dispatch ----------------------------------------------------------------------

    def handle(self, method: str, target: str, body: bytes) -> HttpReply:
        """Answer one request (``target`` is the raw request target: path and query)."""
        try:
            return self._handle(method, target, body)
        except DurableServiceError as error:
            return HttpReply.error(error)
        except Exception as error:  # the server must answer, whatever went wrong
            message = f"internal error of the emulator: {type(error).__name__}: {error}"
            return HttpReply.error(ServiceException(message))

    def _handle(self, method: str, target: str, body: bytes) -> HttpReply:
        split = urllib.parse.urlsplit(target)
        raw_path = split.path
        for route in self._routes:
            if route.method != method:
                continue
            labels = route.match(raw_path)
            if labels is None:
                continue
            request = _Request(route, _decode(route, labels, split.query, body))
            handler = _HANDLERS.get(route.operation)
            if handler is None:
                msg = f"{route.operation} is not supported by this emulator"
                raise UnknownOperationException(msg)
            if route.operation == "CheckpointDurableExecution":
                return self._checkpoint_once(request, body)
            return HttpReply.json(route.response_code, handler(self, request))
        allowed = sorted(
            f"{route.method} {route.path_template}"
            for route in self._routes
            if route.operation in _HANDLERS
        )
        msg = (
            f"no durable-execution operation answers {method} {raw_path}; "
            f"this emulator serves: {'; '.join(allowed)}"
        )
        raise UnknownOperationException(msg)

    def _checkpoint_once(self, request: _Request, body: bytes) -> HttpReply:
        """Checkpoint, answering a retry (same ``ClientToken``, same body) from the cache."""
        arn = str(request.require("DurableExecutionArn"))
        client_token = request.get("ClientToken")
        key = (arn, str(client_token)) if client_token else None
        with self._lock:
            if key is not None and key in self._checkpoints:
                seen_body, reply = self._checkpoints[key]
                if seen_body == body:
                    return reply
                msg = f"ClientToken {client_token!r} was already used for a different checkpoint"
                raise InvalidParameterValueException(msg)
        reply = HttpReply.json(request.route.response_code, _checkpoint(self, request))
        if key is not None:
            with self._lock:
                self._checkpoints[key] = (body, reply)
                while len(self._checkpoints) > _IDEMPOTENCY_CACHE:
                    del self._checkpoints[next(iter(self._checkpoints))]
        return reply

    def settle(self) -> None:
        """Let the runner deliver what a change made due (no clock movement)."""
        self.runner.advance(0)


class _RequestHandler(BaseHTTPRequestHandler):
    service: DurableServiceServer
    protocol_version = "HTTP/1.1"
    server_version = "DurableServiceServer"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.service.handle(self.command, self.path, body)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("x-amzn-RequestId", _request_id())
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read their own output, not an access log."""


_request_counter = iter(range(1, 1 << 62))
_request_counter_lock = threading.Lock()


def _request_id() -> str:
    with _request_counter_lock:
        n = next(_request_counter)
    return f"00000000-0000-4000-8000-{n:012d}"


# ------------------------------------------------------------------------------- decoding input


def _decode(route: Route, labels: dict[str, str], query: str, body: bytes) -> dict[str, Any]:
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
        elif member.location == "payload":
            values[member.name] = _payload(route, member, body)
        elif member.location == "body":
            if document is None:
                document = _json_object(route, body)
            if member.location_name in document:
                values[member.name] = document[member.location_name]
    for member in route.members:
        if member.required and values.get(member.name) is None:
            msg = f"{route.operation}: the required parameter {member.name} is missing"
            raise InvalidParameterValueException(msg)
    return values


def _json_object(route: Route, body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{route.operation}: the request body is not valid JSON ({exc})"
        raise InvalidParameterValueException(msg) from exc
    if not isinstance(document, dict):
        msg = f"{route.operation}: the request body must be a JSON object"
        raise InvalidParameterValueException(msg)
    return document


def _payload(route: Route, member: MemberLocation, body: bytes) -> Any:
    if member.type == "blob":
        if not body:
            return None
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


# ----------------------------------------------------------------------------------- operations


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


def _get_execution(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    with server._lock:
        execution = server.executor.get(request.require("DurableExecutionArn"))
        out = _execution_summary(execution)
        if execution.input_payload is not None:
            out["InputPayload"] = execution.input_payload
        if execution.result is not None:
            out["Result"] = execution.result
        if execution.error is not None:
            out["Error"] = execution.error.to_dict()
        out["Version"] = "$LATEST"
        return out


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


def _get_history(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    with server._lock:
        events = list(server.executor.history(request.require("DurableExecutionArn")))
    if request.get("ReverseOrder"):
        events.reverse()
    start, end = _page_bounds(request.get("Marker"), request.get("MaxItems"), len(events))
    include = request.get("IncludeExecutionData", True) is not False
    out: dict[str, Any] = {"Events": [_event_json(e, include) for e in events[start:end]]}
    if end < len(events):
        out["NextMarker"] = str(end)
    return out


def _get_state(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    with server._lock:
        operations, marker = server.executor.get_execution_state(
            request.require("DurableExecutionArn"),
            request.require("CheckpointToken"),
            request.get("Marker") or "",
            request.get("MaxItems") or DEFAULT_PAGE_SIZE,
        )
        out: dict[str, Any] = {"Operations": [op.to_json_dict() for op in operations]}
    if marker:
        out["NextMarker"] = marker
    return out


def _parse_updates(raw: Any) -> list[OperationUpdate]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        msg = "CheckpointDurableExecution: Updates must be a list of OperationUpdate"
        raise InvalidParameterValueException(msg)
    updates = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            msg = f"CheckpointDurableExecution: Updates[{index}] must be an object"
            raise InvalidParameterValueException(msg)
        try:
            updates.append(OperationUpdate.from_dict(item))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            msg = f"CheckpointDurableExecution: Updates[{index}] is malformed: {exc!r}"
            raise InvalidParameterValueException(msg) from exc
    return updates


def _checkpoint(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    arn = str(request.require("DurableExecutionArn"))
    token = request.require("CheckpointToken")
    updates = _parse_updates(request.get("Updates"))
    with server._lock:
        new_token, changed = server.executor.checkpoint(arn, str(token), updates)
        out = {
            "CheckpointToken": new_token,
            "NewExecutionState": {"Operations": [op.to_json_dict() for op in changed]},
        }
        # An SDK checkpointing inside an invocation the runner drives holds the runner's
        # thread: only a checkpoint made from outside one may let the runner move on.
        idle = not server.executor.get(arn).invocation_active
    if idle:
        server.settle()
    return out


def _stop(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    arn = str(request.require("DurableExecutionArn"))
    raw_error = request.get("Error")
    error = ErrorObject.from_dict(raw_error) if isinstance(raw_error, dict) else None
    with server._lock:
        server.runner.stop_execution(arn, error)
        end = server.executor.get(arn).end
    server.settle()
    stopped: _dt.datetime = end if end is not None else server.runner.clock.now()
    return {"StopTimestamp": stopped}


def _callback_success(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    with server._lock:
        server.runner.send_callback_success(request.require("CallbackId"), request.get("Result"))
    server.settle()
    return {}


def _callback_failure(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    raw_error = request.get("Error")
    error = ErrorObject.from_dict(raw_error) if isinstance(raw_error, dict) else None
    with server._lock:
        server.runner.send_callback_failure(request.require("CallbackId"), error)
    server.settle()
    return {}


def _callback_heartbeat(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    with server._lock:
        server.runner.send_callback_heartbeat(request.require("CallbackId"))
    return {}


def _function_key(function_name: str) -> str:
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        return parts[6] if len(parts) > 6 else function_name
    return function_name.split(":", maxsplit=1)[0]


def _list_executions(server: DurableServiceServer, request: _Request) -> dict[str, Any]:
    function = _function_key(str(request.require("FunctionName")))
    name = request.get("DurableExecutionName")
    statuses = set(request.get("Statuses") or ())
    after: _dt.datetime | None = request.get("StartedAfter")
    before: _dt.datetime | None = request.get("StartedBefore")
    with server._lock:
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


_HANDLERS: dict[str, Handler] = {
    "CheckpointDurableExecution": _checkpoint,
    "GetDurableExecution": _get_execution,
    "GetDurableExecutionHistory": _get_history,
    "GetDurableExecutionState": _get_state,
    "ListDurableExecutionsByFunction": _list_executions,
    "SendDurableExecutionCallbackFailure": _callback_failure,
    "SendDurableExecutionCallbackHeartbeat": _callback_heartbeat,
    "SendDurableExecutionCallbackSuccess": _callback_success,
    "StopDurableExecution": _stop,
}
