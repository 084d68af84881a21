"""``DurableServiceServer``: Lambda's durable-execution REST API (and ``Invoke``) on loopback HTTP.

The server answers every durable-execution operation of botocore's Lambda model
(:func:`~async_durable_execution_runner._botocore_model.durable_routes`) and ``Invoke`` for
the executor of a :class:`~async_durable_execution_runner.DurableFunctionTestRunner`, so a
real boto3/botocore client works against it unchanged::

    with DurableFunctionTestRunner(handler) as runner, DurableServiceServer(runner) as server:
        client = boto3.client("lambda", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        answer = client.invoke(FunctionName="test-function", DurableExecutionName="order-1",
                               InvocationType="Event", Payload=b'{"order": 1}')
        client.get_durable_execution(DurableExecutionArn=answer["DurableExecutionArn"])

Who moves the executions on:

- ``drive=False`` (the default, for tests that hold the runner): the test drives, as with the
  runner alone (time moves only while the test waits); a request that makes something due now
  (a callback result, a new execution) has it delivered before the answer, unless the test's
  own thread is driving at that moment, in which case that thread delivers it.
- ``drive=True`` (a standalone service, ``serve`` on the command line): a background thread
  delivers what falls due. With a real clock it sleeps until the next timer or request; with
  the virtual clock it skips ahead over waits and retry back-offs at once, while callback,
  heartbeat and execution timeouts run on wall-clock time: when only a time-out is left to
  wait for, the driver waits for it in real time and moves the virtual clock on by the time
  that passed, so a callback nobody answers times out on its own.

Concurrency: every request runs under the runner's state lock (the one its own methods and the
invocations' service calls take), so each is atomic with respect to every other entry point.
A checkpoint whose execution has an invocation running goes through that invocation's session
(fault hooks, call counting), whether the SDK calls in-process or over HTTP from a worker.

Wire format (rest-json): timestamps are epoch seconds; errors carry the HTTP status of the
error, the header ``x-amzn-errortype: <Code>`` and the body ``{"Type": ..., "message": ...}``
(``Message`` for the error shapes that spell it so).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import socket
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from async_durable_execution_runner._botocore_model import Route, durable_routes, route_for
from async_durable_execution_runner._sandbox.process_invoker import ProcessInvoker
from async_durable_execution_runner._server.operations import HANDLERS
from async_durable_execution_runner._server.reply import HttpReply
from async_durable_execution_runner._server.requests import (
    body_limit,
    decode_request,
    too_large,
)
from async_durable_execution_runner._service.clock import real_monotonic
from async_durable_execution_runner._service.execution import Execution
from async_durable_execution_runner._service.executor import Executor
from async_durable_execution_runner._service.scheduler import DueKind
from async_durable_execution_runner._service.session import SandboxCrashed
from async_durable_execution_runner.errors import (
    DurableRunnerError,
    DurableServiceError,
    ExecutionNotFinishedError,
    InvalidParameterValueException,
    ServiceException,
    UnknownOperationException,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._runner.local import DurableFunctionTestRunner

__all__ = ["DurableServiceServer", "HttpReply"]

#: How long a synchronous ``Invoke`` waits for its execution (Lambda's 15-minute limit).
DEFAULT_INVOKE_TIMEOUT = 900.0
# Timers the driver may skip ahead to on a virtual clock.
_SKIPPABLE = frozenset({DueKind.WAIT, DueKind.RETRY, DueKind.INVOCATION, DueKind.EXTERNAL})


class _LoopbackHTTPServer(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5. A burst of concurrent clients (a map
    # whose branches checkpoint at once, or retries after a timeout) overflows it and the
    # kernel resets the extra connections, which botocore reports as ConnectionClosedError
    # instead of an answer from the service.
    request_queue_size = 128
    daemon_threads = True


class DurableServiceServer:
    """A real HTTP server (``127.0.0.1`` by default) answering the Lambda API for ``runner``.

    ``port=0`` (the default) picks a free port; :attr:`url` is the endpoint to give boto3.
    The server runs in background threads between :meth:`start` and :meth:`close` (or as a
    context manager). See the module docstring for ``drive``.
    """

    def __init__(
        self,
        runner: DurableFunctionTestRunner,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        drive: bool = False,
        sdk_over_http: bool = False,
        invoke_timeout: float = DEFAULT_INVOKE_TIMEOUT,
    ) -> None:
        if sdk_over_http and not isinstance(runner.invoker, ProcessInvoker):
            msg = (
                "sdk_over_http=True runs handlers in worker processes whose SDK calls this "
                "server over HTTP: build the runner with isolation='process'"
            )
            raise DurableRunnerError(msg)
        self.sdk_over_http = sdk_over_http
        self.runner = runner
        self._host = host
        self._port = port
        self.drive = drive
        self.invoke_timeout = invoke_timeout
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._routes: list[Route] = [*durable_routes(), route_for("Invoke")]
        self._wake = threading.Event()
        self._stopping = threading.Event()
        # Notified (with the state lock held) whenever the driver finished a round.
        self._progress = threading.Condition(runner.lock)

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

        httpd = _LoopbackHTTPServer((self._host, self._port), _Handler)
        self._httpd = httpd
        self._stopping.clear()
        serve = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"durable-service-server:{self.address[1]}",
            daemon=True,
        )
        serve.start()
        self._threads = [serve]
        invoker = self.runner.invoker
        if self.sdk_over_http and isinstance(invoker, ProcessInvoker):
            invoker.endpoint_url = self.url
            invoker.region = self.executor.state.region
        if self.drive:
            driver = threading.Thread(
                target=self._drive_forever, name="durable-service-driver", daemon=True
            )
            driver.start()
            self._threads.append(driver)
        return self

    def close(self) -> None:
        httpd, threads = self._httpd, self._threads
        self._httpd, self._threads = None, []
        self._stopping.set()
        self._wake.set()
        invoker = self.runner.invoker
        if self.sdk_over_http and isinstance(invoker, ProcessInvoker):
            invoker.endpoint_url = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        for thread in threads:
            thread.join(timeout=10)

    def __enter__(self) -> DurableServiceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- moving executions on ----------------------------------------------------------

    def state_changed(self) -> None:
        """Something may have fallen due: have it delivered (see ``drive``)."""
        if self.drive:
            self._wake.set()
        else:
            self.runner.deliver_due()

    def _drive_forever(self) -> None:
        clock = self.runner.clock
        while not self._stopping.is_set():
            self._wake.clear()
            self.runner.deliver_due(wait=True)
            with self.runner.lock:
                self._progress.notify_all()
                first = self.executor.state.scheduler.next_due()
                now = clock.now()
            if first is None:
                self._wake.wait()
                continue
            if first.due <= now:
                continue
            if clock.is_virtual and first.kind in _SKIPPABLE:
                self.runner.advance(first.due - now)
                continue
            # A time-out (or, on a real clock, anything): wait for it in wall-clock time.
            timeout = (first.due - now).total_seconds()
            waited_from = real_monotonic()
            self._wake.wait(timeout)
            if clock.is_virtual:
                # The virtual clock is idle here: the wall-clock time that passed counts toward
                # the time-outs, so they fire on their own, as they would on a real clock.
                passed = _dt.timedelta(seconds=real_monotonic() - waited_from)
                with self.runner.lock:
                    behind = now + passed - clock.now()
                if behind > _dt.timedelta(0):
                    self.runner.advance(behind)

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """With ``drive=True``: block until ``predicate()`` (called with the state lock held)
        is true after one of the driver's rounds, or ``timeout`` seconds pass; returns it."""
        if not self.drive:
            msg = "wait_until needs a driven server (drive=True); otherwise drive the runner"
            raise DurableRunnerError(msg)
        with self.runner.lock:
            return self._progress.wait_for(predicate, timeout=timeout)

    def wait_for_end(self, arn: str) -> Execution:
        """Wait (up to ``invoke_timeout`` seconds) for ``arn`` to end; call with the state lock
        held (it is let go while waiting)."""
        execution = self.executor.get(arn)
        if not self.drive:
            with contextlib.suppress(ExecutionNotFinishedError):
                self.runner.wait_for_result(arn, self.invoke_timeout)
            return execution
        self._progress.wait_for(lambda: not execution.is_open, timeout=self.invoke_timeout)
        return execution

    # --- dispatch ----------------------------------------------------------------------

    def route(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
        """The route answering ``method raw_path`` and its URI labels."""
        for route in self._routes:
            if route.method != method:
                continue
            labels = route.match(raw_path)
            if labels is not None:
                return route, labels
        allowed = "; ".join(sorted(f"{r.method} {r.path_template}" for r in self._routes))
        msg = (
            f"no Lambda operation this server speaks answers {method} {raw_path}; "
            f"it serves: {allowed}"
        )
        raise UnknownOperationException(msg)

    def handle(
        self,
        method: str,
        target: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> HttpReply:
        """Answer one request (``target`` is the raw request target: path and query)."""
        try:
            split = urllib.parse.urlsplit(target)
            route, labels = self.route(method, split.path)
            limit = body_limit(route, headers or {})
            if len(body) > limit:
                raise too_large(route, len(body), limit)
            request = decode_request(route, labels, split.query, headers or {}, body)
            reply = self._answer(request)
        except DurableServiceError as error:
            return HttpReply.error(error)
        except SandboxCrashed as crash:
            # A fault plan crashed the sandbox on this call: the worker process dies, as a
            # sandbox does, and the service re-invokes from the last acknowledged checkpoint.
            invoker = self.runner.invoker
            if isinstance(invoker, ProcessInvoker):
                invoker.kill_worker()
            return HttpReply.error(ServiceException(f"the sandbox crashed: {crash}"))
        except Exception as error:  # the server must answer, whatever went wrong
            message = f"internal error of the emulator: {type(error).__name__}: {error}"
            return HttpReply.error(ServiceException(message))
        return reply

    def _answer(self, request: Any) -> HttpReply:
        handler = HANDLERS[request.operation]
        with self.runner.lock:
            try:
                document = handler(self, request)
            finally:
                self.runner.persist()  # before the answer acknowledges anything
        if isinstance(document, HttpReply):
            return document
        return HttpReply.json(request.route.response_code, document)

    def limit_for(self, method: str, raw_path: str, headers: Mapping[str, str]) -> int | None:
        """The body limit of the route answering the request, if one does."""
        try:
            route, _ = self.route(method, raw_path)
        except UnknownOperationException:
            return None
        return body_limit(route, headers)


class _RequestHandler(BaseHTTPRequestHandler):
    service: DurableServiceServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "DurableServiceServer"

    def handle_one_request(self) -> None:
        _quick_ack(self.connection)
        super().handle_one_request()

    def _serve(self) -> None:
        raw_length = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            length = -1
        if length < 0:
            reply = HttpReply.error(
                InvalidParameterValueException(f"invalid Content-Length {raw_length!r}")
            )
            self.close_connection = True
            self._send(reply)
            return
        headers = dict(self.headers.items())
        path = urllib.parse.urlsplit(self.path).path
        limit = self.service.limit_for(self.command, path, headers)
        if limit is not None and length > limit:
            # Refused unread: the connection closes rather than swallow the oversize body.
            self.close_connection = True
            reply = _oversize(self.service, self.command, path, headers, length, limit)
        else:
            _quick_ack(self.connection)
            body = self.rfile.read(length) if length > 0 else b""
            reply = self.service.handle(self.command, self.path, body, headers)
        self._send(reply)

    def _send(self, reply: HttpReply) -> None:
        # The status line, headers and body leave in one write (one segment on loopback): a
        # body written apart can wait for the client's delayed acknowledgement of the headers.
        phrase = self.responses.get(reply.status, ("",))[0]
        headers = {
            "Server": self.version_string(),
            "Date": self.date_time_string(),
            **reply.headers,
            "Content-Length": str(len(reply.body)),
            "x-amzn-RequestId": _request_id(),
        }
        if self.close_connection:
            headers["Connection"] = "close"
        head = f"{self.protocol_version} {reply.status} {phrase}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        self.log_request(reply.status)
        payload = head.encode("latin-1") + b"\r\n"
        if self.command != "HEAD":
            payload += reply.body
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read their own output, not an access log."""


def _quick_ack(connection: socket.socket) -> None:
    """Acknowledge what arrives at once (Linux ``TCP_QUICKACK``) instead of up to 40 ms later.

    A client that sends a request's headers and body in two writes with Nagle's algorithm on
    (the SDK's own Lambda client does: urllib3 2 writes them apart, and it sets no
    ``TCP_NODELAY``) holds the body back until the headers are acknowledged, and a delayed
    acknowledgement made every such checkpoint take 40 ms more. The kernel leaves quick-ack
    mode on its own, so it is asked again before every read.
    """
    with contextlib.suppress(OSError, AttributeError):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _oversize(
    server: DurableServiceServer,
    method: str,
    path: str,
    headers: Mapping[str, str],
    length: int,
    limit: int,
) -> HttpReply:
    route, _ = server.route(method, path)
    return HttpReply.error(too_large(route, length, limit))


_request_counter = iter(range(1, 1 << 62))
_request_counter_lock = threading.Lock()


def _request_id() -> str:
    with _request_counter_lock:
        n = next(_request_counter)
    return f"00000000-0000-4000-8000-{n:012d}"
