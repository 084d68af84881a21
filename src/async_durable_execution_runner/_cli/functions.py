"""Finding the user's functions: ``FILE.py:HANDLER`` / ``MODULE:HANDLER`` specs and config files.

A config file (TOML) names the functions a server runs, each a chained-invoke target of the
others, and optionally canned results for functions the server does not run::

    [functions.orders]
    handler = "examples/orders.py:order_workflow"

    [functions.pricing]
    handler = "examples/orders.py:pricing_handler"

    [functions.payments]          # not run here: every invoke of it gets this outcome
    result = '{"paid": true}'
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from async_durable_execution_runner._models import ErrorObject
from async_durable_execution_runner._service.seams import InvokeResult


class UsageError(Exception):
    """A mistake on the command line or in a config file: reported without a traceback."""


def load_handler(spec: str) -> Callable[..., Any]:
    """``path/to/file.py:name`` or ``package.module:name``."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        msg = f"expected FILE.py:HANDLER or MODULE:HANDLER, got {spec!r}"
        raise UsageError(msg)
    try:
        if target.endswith(".py"):
            path = Path(target).resolve()
            if not path.exists():
                msg = f"no such file: {path} (from {spec!r})"
                raise UsageError(msg)
            module = importlib.import_module(_module_name(path))
        else:
            module = importlib.import_module(target)
    except ImportError as exc:
        msg = f"cannot import {target!r} for {spec!r}: {exc}"
        raise UsageError(msg) from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            msg = f"{target!r} has no attribute {attr!r} (from {spec!r})"
            raise UsageError(msg)
        obj = getattr(obj, part)
    if not callable(obj):
        msg = f"{spec!r} is {obj!r}, not a handler"
        raise UsageError(msg)
    handler: Callable[..., Any] = obj
    return handler


def _module_name(path: Path) -> str:
    """The name ``path`` is imported under, with the directory that makes it importable put on
    ``sys.path``: dotted through the packages (directories with ``__init__.py``) that hold it,
    as their own code imports it. Imported by its bare file name, a module of a package would
    be a second copy beside the one ``MODULE:FUNC`` arguments name (``--before-run
    app.orders:reset`` resetting the fakes of a copy the handler does not use), and its
    relative imports would fail."""
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.append(folder.name)
        folder = folder.parent
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return ".".join(reversed(parts))


def _default_name(spec: str) -> str:
    attr = spec.rpartition(":")[2]
    return attr.rsplit(".", 1)[-1].replace("_", "-")


def parse_functions(
    specs: Sequence[str], config: str | None
) -> dict[str, Callable[..., Any] | InvokeResult]:
    """``NAME=SPEC`` or ``SPEC`` (named after the handler, ``_`` as ``-``) arguments, then the
    config file's functions; names must be unique."""
    functions: dict[str, Callable[..., Any] | InvokeResult] = {}

    def add(name: str, target: Callable[..., Any] | InvokeResult) -> None:
        if name in functions:
            msg = f"function {name!r} is named twice; give each function its own name"
            raise UsageError(msg)
        functions[name] = target

    for spec in specs:
        name, sep, target = spec.partition("=")
        if not sep:
            name, target = _default_name(spec), spec
        add(name, load_handler(target))
    if config is not None:
        for name, configured in _read_config(config).items():
            add(name, configured)
    if not functions:
        msg = "no functions to serve: name at least one (MODULE:HANDLER) or pass --config FILE"
        raise UsageError(msg)
    return functions


def _read_config(path: str) -> dict[str, Callable[..., Any] | InvokeResult]:
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read the config file {path!r}: {exc.strerror}"
        raise UsageError(msg) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"the config file {path!r} is not valid TOML: {exc}"
        raise UsageError(msg) from exc
    table = document.get("functions")
    if not isinstance(table, dict) or not table:
        msg = f"the config file {path!r} has no [functions.NAME] tables"
        raise UsageError(msg)
    base = Path(path).resolve().parent
    out: dict[str, Callable[..., Any] | InvokeResult] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict):
            msg = f"{path}: [functions.{name}] must be a table"
            raise UsageError(msg)
        if "handler" in entry:
            spec = str(entry["handler"])
            target, sep, attr = spec.rpartition(":")
            if sep and target.endswith(".py") and not Path(target).is_absolute():
                spec = f"{base / target}:{attr}"  # relative to the config file
            out[name] = load_handler(spec)
        elif "result" in entry or "error" in entry:
            error = entry.get("error")
            out[name] = InvokeResult(
                result=entry.get("result"),
                error=ErrorObject(error_type=str(error)) if error is not None else None,
            )
        else:
            msg = f'{path}: [functions.{name}] needs handler = "MODULE:HANDLER" or result = ...'
            raise UsageError(msg)
    return out
