"""What each sub-command does. Every one returns its exit status; a user mistake raises
:class:`UsageError` (or an AWS error from the server), which ``cli.main`` prints without a
traceback."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any, Literal

from async_durable_execution_runner._cli.functions import UsageError, load_handler, parse_functions
from async_durable_execution_runner._models import Event
from async_durable_execution_runner._runner.display import format_history
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._runner.table import format_table
from async_durable_execution_runner._service.seams import InvokeResult

DEFAULT_PORT = 9014
DEFAULT_ENDPOINT = f"http://127.0.0.1:{DEFAULT_PORT}"


def _json_arg(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{what} must be JSON text, got {text!r} ({exc.msg}); quote strings: '\"text\"'"
        raise UsageError(msg) from exc


def run(args: argparse.Namespace) -> int:
    handler = load_handler(args.handler)
    payload = _json_arg(args.input, "--input")
    functions = dict(parse_functions(args.functions, None)) if args.functions else None
    with DurableFunctionTestRunner(
        handler=handler, wire_format=args.wire_format, functions=functions
    ) as runner:
        result = runner.run(input=payload, timeout=args.timeout)
    print(f"status: {result.execution_status.value}")
    if result.result is not None:
        print(f"result: {result.result}")
    if result.error is not None:
        print(f"error:  {result.error.error_type}: {result.error.error_message}")
    print(f"invocations: {len(result.invocations)}")
    print()
    if args.json:
        print(result.history_json())
    else:
        print(format_table(result.events))
    if args.html:
        result.to_html(args.html)
        print(f"\ntimeline: {args.html}")
    return 0 if result.status.value == "SUCCEEDED" else 1


def serve(args: argparse.Namespace) -> int:
    from async_durable_execution_runner._server import DurableServiceServer

    functions = parse_functions(args.functions, args.config)
    handlers = [(n, t) for n, t in functions.items() if not isinstance(t, InvokeResult)]
    if not handlers:
        msg = "every function in the config has a canned result: the server needs a handler"
        raise UsageError(msg)
    first_name, first = handlers[0]
    others = {n: t for n, t in functions.items() if n != first_name}
    isolation: Literal["inprocess", "process"] = (
        "process" if args.sdk_over_http or args.isolation == "process" else "inprocess"
    )
    store = None
    if args.store:
        from async_durable_execution_runner._store import SqliteStore

        try:
            store = SqliteStore(args.store)
        except Exception as exc:  # sqlite3.Error, OSError
            msg = f"cannot open the store {args.store!r}: {exc}"
            raise UsageError(msg) from exc
    runner = DurableFunctionTestRunner(
        first,
        store=store,
        function_name=first_name,
        functions=others,
        clock="virtual" if args.skip_time else "real",
        execution_timeout=args.execution_timeout,
        isolation=isolation,
        # A worker process is stopped when its time is up, an in-process invocation when its
        # virtual time is; in-process on the real clock, nothing can stop it.
        function_timeout=(
            args.invocation_timeout if isolation == "process" or args.skip_time else None
        ),
    )
    try:
        server = DurableServiceServer(
            runner,
            host=args.host,
            port=args.port,
            drive=True,
            sdk_over_http=args.sdk_over_http,
        )
        server.start()
    except OSError as exc:
        runner.close()
        msg = f"cannot listen on {args.host}:{args.port}: {exc.strerror}; pick another --port"
        raise UsageError(msg) from exc
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    canned = sorted(n for n, t in functions.items() if isinstance(t, InvokeResult))
    names = ", ".join([*sorted(runner.handler_names), *(f"{n} (canned result)" for n in canned)])
    print(f"serving the Lambda durable-execution API on {server.url}", flush=True)
    print(f"functions: {names}", flush=True)
    print("stop with Ctrl-C", file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        server.close()
        runner.close()
        if store is not None:
            store.close()
    return 0


def _client(args: argparse.Namespace) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config

    session = boto3.session.Session()
    credentials: dict[str, str] = {}
    if args.endpoint and session.get_credentials() is None:
        # A local server accepts any signature. AWS itself (no endpoint) needs real
        # credentials: without them botocore says so, before any request is sent.
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return session.client(
        "lambda",
        region_name=args.region,
        endpoint_url=args.endpoint or None,
        config=Config(retries={"max_attempts": 2}),
        **credentials,
    )


def invoke(args: argparse.Namespace) -> int:
    payload = _json_arg(args.payload, "--payload")
    params: dict[str, Any] = {
        "FunctionName": args.function,
        "InvocationType": "Event" if args.asynchronous else "RequestResponse",
        "Payload": json.dumps(payload).encode(),
    }
    if args.name:
        params["DurableExecutionName"] = args.name
    answer = _client(args).invoke(**params)
    body = answer["Payload"].read().decode()
    out: dict[str, Any] = {
        "StatusCode": answer["StatusCode"],
        "DurableExecutionArn": answer.get("DurableExecutionArn"),
    }
    if answer.get("FunctionError"):
        out["FunctionError"] = answer["FunctionError"]
    if body:
        out["Payload"] = json.loads(body)
    print(json.dumps(out, indent=2))
    return 1 if answer.get("FunctionError") else 0


def history(args: argparse.Namespace) -> int:
    client = _client(args)
    described = client.get_durable_execution(DurableExecutionArn=args.arn)
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"DurableExecutionArn": args.arn}
    while True:
        page = client.get_durable_execution_history(**params)
        events.extend(page["Events"])
        if not page.get("NextMarker"):
            break
        params["Marker"] = page["NextMarker"]
    parsed = [Event.from_dict(e) for e in events]
    if args.json:
        print(json.dumps([e.to_json_dict() for e in parsed], indent=2))
        return 0
    print(f"status: {described['Status']}")
    if described.get("Result") is not None:
        print(f"result: {described['Result']}")
    if described.get("Error"):
        error = described["Error"]
        print(f"error:  {error.get('ErrorType')}: {error.get('ErrorMessage')}")
    print()
    print(format_history(parsed))
    return 0


def callback(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.outcome == "success":
        result = args.result if args.result is not None else ""
        if args.result is not None:
            _json_arg(args.result, "--result")
        client.send_durable_execution_callback_success(
            CallbackId=args.callback_id, Result=result.encode()
        )
    elif args.outcome == "failure":
        error: dict[str, str] = {}
        if args.error_type:
            error["ErrorType"] = args.error_type
        if args.error_message:
            error["ErrorMessage"] = args.error_message
        client.send_durable_execution_callback_failure(CallbackId=args.callback_id, Error=error)
    else:
        client.send_durable_execution_callback_heartbeat(CallbackId=args.callback_id)
    print(f"{args.outcome} sent for callback {args.callback_id}")
    return 0
