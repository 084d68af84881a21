"""Command line: ``python -m async_durable_execution_runner run FILE_OR_MODULE:HANDLER``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from async_durable_execution_runner._replay import cli as replay_cli
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._runner.table import format_table


def load_handler(spec: str) -> Callable[..., Any]:
    """``path/to/file.py:name`` or ``package.module:name``."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        msg = f"expected FILE.py:HANDLER or MODULE:HANDLER, got {spec!r}"
        raise SystemExit(msg)
    if target.endswith(".py"):
        path = Path(target).resolve()
        if not path.exists():
            raise SystemExit(f"no such file: {path}")
        sys.path.insert(0, str(path.parent))
        module = importlib.import_module(path.stem)
    else:
        module = importlib.import_module(target)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    handler: Callable[..., Any] = obj
    return handler


def _run(args: argparse.Namespace) -> int:
    handler = load_handler(args.handler)
    payload = json.loads(args.input) if args.input is not None else None
    with DurableFunctionTestRunner(handler=handler, wire_format=args.wire_format) as runner:
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m async_durable_execution_runner",
        description="Run durable functions locally on the emulated durable service.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a handler once and print its result and history")
    run.add_argument("handler", help="FILE.py:HANDLER or MODULE:HANDLER")
    run.add_argument("--input", help="execution input, as JSON text")
    run.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds (default 60)")
    run.add_argument("--wire-format", choices=("objects", "json"), default="objects")
    run.add_argument("--json", action="store_true", help="print the history as wire JSON")
    run.add_argument("--html", metavar="FILE", help="also write an HTML timeline to FILE")
    replay_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "replay":
        return replay_cli.run(args)
    return 2  # pragma: no cover - argparse enforces the choices
