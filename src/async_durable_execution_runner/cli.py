"""Command line: ``python -m async_durable_execution_runner COMMAND ...``.

::

    run MODULE:HANDLER --input JSON      run a handler once on the emulator; print its history
    serve [NAME=]MODULE:HANDLER ...      the Lambda durable-execution API on loopback HTTP
    invoke FUNCTION --payload JSON       start an execution on a server (or AWS)
    history ARN                          print an execution's history from a server (or AWS)
    callback {success,failure,heartbeat} ID   answer a callback on a server (or AWS)
    fuzz MODULE:HANDLER                  a Hypothesis campaign: faults, timings, every oracle
    replay PATH ...                      replay recorded histories against today's handlers

User mistakes (a bad spec, JSON that does not parse, an AWS error from the server) print one
line on stderr and exit 2 (1 for an AWS error); no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from async_durable_execution_runner._cli.functions import UsageError
from async_durable_execution_runner._cli.functions import load_handler as _load_handler
from async_durable_execution_runner._replay import cli as replay_cli

__all__ = ["load_handler", "main"]

PROG = "python -m async_durable_execution_runner"


def load_handler(spec: str) -> Callable[..., Any]:
    """``path/to/file.py:name`` or ``package.module:name`` (``SystemExit`` if it does not load)."""
    try:
        return _load_handler(spec)
    except UsageError as error:
        raise SystemExit(str(error)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a whole number of seconds, 1 or more; got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _endpoint_options(parser: argparse.ArgumentParser) -> None:
    from async_durable_execution_runner._cli.commands import DEFAULT_ENDPOINT

    parser.add_argument(
        "--endpoint",
        default=DEFAULT_ENDPOINT,
        help=f"the Lambda API endpoint (default {DEFAULT_ENDPOINT}, where `serve` listens; "
        "pass '' for AWS itself, with your usual credentials)",
    )
    parser.add_argument("--region", default="us-east-1", help="AWS region (default us-east-1)")


def build_parser() -> argparse.ArgumentParser:
    from async_durable_execution_runner._cli.commands import DEFAULT_PORT

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Test durable functions (async-durable-execution) before deploying them: run them "
            "on the emulated durable service, serve that service over HTTP, talk to a server "
            "or AWS, and fuzz handlers with Hypothesis."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a handler once and print its result and history",
        description="Run a handler once on the emulator (virtual time) and print its history.",
    )
    run.add_argument("handler", help="FILE.py:HANDLER or MODULE:HANDLER")
    run.add_argument("--input", help="execution input, as JSON text (a string: '\"text\"')")
    run.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds (default 60)")
    run.add_argument("--wire-format", choices=("objects", "json"), default="objects")
    run.add_argument("--json", action="store_true", help="print the history as wire JSON")
    run.add_argument("--html", metavar="FILE", help="also write an HTML timeline to FILE")
    _function_option(run)

    serve = sub.add_parser(
        "serve",
        help="serve the Lambda durable-execution API (and Invoke) for registered functions",
        description=(
            "Serve Lambda's durable-execution REST API and Invoke on loopback HTTP, for "
            "boto3.client('lambda', endpoint_url=...). Every registered function can be "
            "invoked, and chained-invoked by the others."
        ),
    )
    serve.add_argument(
        "functions",
        nargs="*",
        metavar="[NAME=]SPEC",
        help="a function to serve: FILE.py:HANDLER or MODULE:HANDLER, named NAME "
        "(default: the handler's name with _ as -)",
    )
    serve.add_argument("--config", help="a TOML file of [functions.NAME] tables (see docs)")
    serve.add_argument(
        "--store",
        metavar="FILE",
        help="keep executions in this SQLite file: a server started again on it resumes them "
        "(default: memory only)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    serve.add_argument(
        "--skip-time",
        action="store_true",
        help="virtual clock: waits and retry back-offs end at once; callback and execution "
        "timeouts still fire after their time, counted in wall-clock time while idle",
    )
    serve.add_argument(
        "--execution-timeout",
        type=_positive_int,
        default=86_400,
        metavar="SECONDS",
        help="seconds an execution may run before it times out (default 86400)",
    )
    serve.add_argument(
        "--isolation",
        choices=("inprocess", "process"),
        default="inprocess",
        help="run handlers in this process (default) or in worker processes",
    )
    serve.add_argument(
        "--sdk-over-http",
        action="store_true",
        help="worker processes whose SDK calls this server over HTTP with its own Lambda "
        "client, as a deployed function does (implies --isolation process)",
    )
    serve.add_argument(
        "--invocation-timeout",
        type=float,
        default=900.0,
        help="the Lambda function timeout in seconds (default 900): in wall-clock time for "
        "worker processes, on the virtual clock in-process with --skip-time",
    )

    invoke = sub.add_parser(
        "invoke",
        help="start a durable execution on a server (or AWS)",
        description="Invoke a durable function; prints the answer as JSON.",
    )
    invoke.add_argument("function", help="the function's name or ARN")
    invoke.add_argument("--payload", help="the input, as JSON text")
    invoke.add_argument("--name", help="the durable execution's name (DurableExecutionName)")
    invoke.add_argument(
        "--async",
        dest="asynchronous",
        action="store_true",
        help="InvocationType=Event: answer at once with the execution's ARN",
    )
    _endpoint_options(invoke)

    history = sub.add_parser(
        "history",
        help="print a durable execution's status and history",
        description="Print a durable execution's status and history (all pages).",
    )
    history.add_argument("arn", help="the durable execution's ARN")
    history.add_argument("--json", action="store_true", help="the events as wire JSON")
    _endpoint_options(history)

    callback = sub.add_parser(
        "callback",
        help="answer a callback: success, failure or heartbeat",
        description="Send a callback's result, failure or heartbeat.",
    )
    callback.add_argument("outcome", choices=("success", "failure", "heartbeat"))
    callback.add_argument("callback_id", metavar="ID", help="the CallbackId")
    callback.add_argument("--result", help="success: the result, as JSON text")
    callback.add_argument("--error-type", help="failure: the ErrorType")
    callback.add_argument("--error-message", help="failure: the ErrorMessage")
    _endpoint_options(callback)

    fuzz = sub.add_parser(
        "fuzz",
        help="a Hypothesis campaign against a handler (faults, timings, every oracle)",
        description=(
            "Run a property-based campaign: each example runs the handler under a fault plan "
            "and timings on the emulator and checks every built-in oracle. On a failure, the "
            "minimal example is printed as a pytest test. Exit 0: all passed; 1: a failure."
        ),
    )
    fuzz.add_argument("handler", help="FILE.py:HANDLER or MODULE:HANDLER")
    fuzz.add_argument("--input", help="the execution input, as JSON text")
    fuzz.add_argument("--examples", type=int, default=100, help="examples to run (default 100)")
    fuzz.add_argument("--seed", type=int, help="Hypothesis seed, to repeat a campaign")
    fuzz.add_argument(
        "--faults",
        help=(
            "fault kinds, comma-separated (default: every kind but outage, which is asked for "
            "by name)"
        ),
    )
    fuzz.add_argument("--max-faults", type=int, default=3, help="faults per example (default 3)")
    fuzz.add_argument(
        "--partner",
        dest="partners",
        action="append",
        default=[],
        metavar="NAME=PATTERN,...",
        help=(
            "a partner the handler's steps call, with the names of those steps (fnmatch "
            "patterns; repeatable): each outage is then one partner's, hitting only its steps"
        ),
    )
    fuzz.add_argument(
        "--callback",
        dest="callbacks",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help=(
            "an answer for the callbacks named NAME (a wait_for_callback's name, or a "
            "create_callback's), as JSON text (repeatable: each example draws from a name's "
            "answers; default: every callback is answered JSON null)"
        ),
    )
    fuzz.add_argument(
        "--expect-status",
        choices=("SUCCEEDED", "FAILED"),
        help=(
            "a property beside the oracles: every execution ends with this status (with "
            "--faults limited to what the handler promises to survive)"
        ),
    )
    fuzz.add_argument(
        "--property",
        dest="properties",
        action="append",
        default=[],
        metavar="MODULE:FUNC",
        help=(
            "a property of your own beside the oracles (repeatable): called with each "
            "example's Outcome after the oracles; raise AssertionError to fail it"
        ),
    )
    fuzz.add_argument(
        "--fixed-timings",
        action="store_true",
        help="explore faults only, with the default timings (a smaller space: faster shrinking)",
    )
    fuzz.add_argument(
        "--coverage",
        action="store_true",
        help="after the campaign, print what it exercised and what never happened",
    )
    fuzz.add_argument(
        "--before-run",
        metavar="MODULE:FUNC",
        help="called before every run: reset the fakes of external systems the handler uses",
    )
    _function_option(fuzz)
    fuzz.add_argument(
        "--log-file",
        metavar="FILE",
        help=(
            "where the handler's and the SDK's log records go during the campaign (default: "
            "durable-fuzz-HANDLER.log in the temporary directory)"
        ),
    )
    fuzz.add_argument(
        "--show-logs",
        action="store_true",
        help="print the handler's and the SDK's log records on stderr instead of to a file",
    )
    replay_cli.add_parser(sub)
    return parser


def _function_option(parser: argparse.ArgumentParser) -> None:
    """``--function NAME=SPEC``: the functions the handler invokes (``run``, ``fuzz``)."""
    parser.add_argument(
        "--function",
        dest="functions",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a chained-invoke target the handler calls (repeatable)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from async_durable_execution_runner._cli import commands
    from async_durable_execution_runner._cli.fuzz import fuzz

    handlers = {
        "run": commands.run,
        "serve": commands.serve,
        "invoke": commands.invoke,
        "history": commands.history,
        "callback": commands.callback,
        "fuzz": fuzz,
        "replay": replay_cli.run,
    }
    try:
        return handlers[args.command](args)
    except BrokenPipeError:
        # The reader went away (``| head``): no traceback, and none either when the
        # interpreter flushes stdout at exit (Python's documented way out).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        return _report(error)


def _report(error: Exception) -> int:
    """AWS and connection errors are the user's to fix, not tracebacks."""
    from botocore.exceptions import BotoCoreError, ClientError

    from async_durable_execution_runner.errors import DurableRunnerError

    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        print(f"error: {info.get('Code')}: {info.get('Message')}", file=sys.stderr)
        return 1
    if isinstance(error, BotoCoreError):
        print(f"error: {error}", file=sys.stderr)
        return 1
    if isinstance(error, DurableRunnerError):
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    raise error
