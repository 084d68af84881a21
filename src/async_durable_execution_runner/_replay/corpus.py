"""Corpus files: recorded histories and saved scenarios, in a stable, versioned JSON format.

One file holds one recorded execution and what to replay it against::

    {
      "format": "async-durable-execution-runner/replay",
      "version": 1,
      "kind": "history",                      # or "scenario" (found by the harness)
      "handler": "examples/orders.py:order_workflow",
      "function_name": "test-function",
      "description": "an approved order",
      "triage": {"found": "2026-12-03", "seed": null, "oracle": null, "fixed_in": null},
      "history": {"Events": [...]}             # GetDurableExecutionHistory, wire JSON
    }

Written with sorted keys and two-space indents, one event field per line, so a change to a
history reads as a small diff. A bare ``GetDurableExecutionHistory`` export (a JSON object
with ``Events``, as ``aws lambda get-durable-execution-history`` prints it) is accepted too;
its handler then comes from the caller (``--durable-replay-handler``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from async_durable_execution_runner._models import Event
from async_durable_execution_runner._replay.gate import ReplayReport, replay
from async_durable_execution_runner._replay.state import HistoryFormatError, parse_events
from async_durable_execution_runner._sandbox.handler_address import handler_address

FORMAT = "async-durable-execution-runner/replay"
VERSION = 1
KINDS = ("history", "scenario")
TRIAGE_FIELDS = ("found", "seed", "oracle", "fixed_in")


@dataclass(frozen=True)
class Triage:
    """Where a saved scenario came from and where it stands.

    ``found``: when (ISO date) or by what it was found; ``seed``: the Hypothesis seed or
    reproduction blob; ``oracle``: the check that flagged it; ``fixed_in``: the commit or
    release that fixed it (``None`` while open).
    """

    found: str | None = None
    seed: str | None = None
    oracle: str | None = None
    fixed_in: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in TRIAGE_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Triage:
        unknown = sorted(set(data) - set(TRIAGE_FIELDS))
        if unknown:
            msg = (
                f"unknown triage field(s) {', '.join(unknown)}; expected {', '.join(TRIAGE_FIELDS)}"
            )
            raise HistoryFormatError(msg)
        return cls(**{k: None if data.get(k) is None else str(data[k]) for k in TRIAGE_FIELDS})


@dataclass(frozen=True)
class CorpusEntry:
    events: tuple[Event, ...]
    handler: str | None = None
    kind: str = "history"
    function_name: str = "test-function"
    description: str = ""
    triage: Triage = field(default_factory=Triage)
    path: Path | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "handler": self.handler,
            "function_name": self.function_name,
            "description": self.description,
            "triage": self.triage.to_dict(),
            "history": {"Events": [e.to_json_dict() for e in self.events]},
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def save_history(
    path: str | Path,
    history: Any,
    *,
    handler: str,
    kind: str = "history",
    function_name: str = "test-function",
    description: str = "",
    triage: Triage | None = None,
) -> Path:
    """Write ``history`` (anything ``replay`` accepts) as a corpus file at ``path``.

    ``handler`` names what to replay it against: ``package.module:function`` or
    ``path/to/file.py:function`` (relative paths are read from the file's directory first,
    then from the working directory).
    """
    if kind not in KINDS:
        msg = f"kind must be one of {', '.join(KINDS)}, got {kind!r}"
        raise ValueError(msg)
    entry = CorpusEntry(
        events=parse_events(getattr(history, "events", history)),
        handler=handler,
        kind=kind,
        function_name=function_name,
        description=description,
        triage=triage or Triage(),
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(entry.to_json(), encoding="utf-8")
    return target


def save_outcome(
    path: str | Path,
    outcome: Any,
    *,
    found: str | None = None,
    seed: str | None = None,
    oracle: str | None = None,
    fixed_in: str | None = None,
    description: str = "",
) -> Path:
    """Save a harness run (an ``Outcome``) as a ``scenario`` corpus file: its recorded
    history, the handler it ran (by module and qualified name) and the triage fields. The
    description defaults to the scenario in words (input, faults)."""
    handler = outcome.scenario.handler
    address = handler_address(handler)
    if address is None:
        msg = (
            f"the scenario's handler {handler!r} is not importable by name; define it at "
            "module level in a module of its own so the corpus file can name it"
        )
        raise HistoryFormatError(msg)
    words = description or "; ".join(outcome.scenario.describe())
    return save_history(
        path,
        outcome.result.events,
        handler=":".join(address),
        kind="scenario",
        description=words,
        triage=Triage(found=found, seed=seed, oracle=oracle, fixed_in=fixed_in),
    )


def load(path: str | Path) -> CorpusEntry:
    """Read a corpus file (or a bare ``GetDurableExecutionHistory`` export)."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        msg = f"{source}: not JSON ({exc})"
        raise HistoryFormatError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{source}: expected a JSON object, got {type(data).__name__}"
        raise HistoryFormatError(msg)
    if "format" not in data:
        return CorpusEntry(events=parse_events(data), path=source)
    if data["format"] != FORMAT:
        msg = f"{source}: format {data['format']!r} is not {FORMAT!r}"
        raise HistoryFormatError(msg)
    version = data.get("version")
    if version != VERSION:
        msg = (
            f"{source}: format version {version!r} is not supported (this release reads "
            f"version {VERSION}); upgrade async-durable-execution-runner"
        )
        raise HistoryFormatError(msg)
    kind = data.get("kind", "history")
    if kind not in KINDS:
        msg = f"{source}: kind must be one of {', '.join(KINDS)}, got {kind!r}"
        raise HistoryFormatError(msg)
    try:
        events = parse_events(data["history"])
    except KeyError as exc:
        msg = f"{source}: no 'history' (a GetDurableExecutionHistory response)"
        raise HistoryFormatError(msg) from exc
    except HistoryFormatError as exc:
        raise HistoryFormatError(f"{source}: {exc}") from exc
    return CorpusEntry(
        events=events,
        handler=data.get("handler"),
        kind=kind,
        function_name=data.get("function_name") or "test-function",
        description=data.get("description") or "",
        triage=Triage.from_dict(data.get("triage") or {}),
        path=source,
    )


def resolve_handler(spec: str, *, base: Path | None = None) -> Callable[..., Any]:
    """``package.module:function`` or ``path/to/file.py:function`` -> the handler."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        msg = f"expected FILE.py:HANDLER or MODULE:HANDLER, got {spec!r}"
        raise HistoryFormatError(msg)
    if target.endswith(".py"):
        candidates = [base / target] if base is not None else []
        candidates.append(Path(target))
        found = next((p.resolve() for p in candidates if p.exists()), None)
        if found is None:
            tried = ", ".join(str(p) for p in candidates)
            raise HistoryFormatError(f"handler file {target!r} not found (tried {tried})")
        module = _import_file(found)
    else:
        module = importlib.import_module(target)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            msg = f"{module.__name__} has no {attr!r} (from handler spec {spec!r})"
            raise HistoryFormatError(msg) from exc
    handler: Callable[..., Any] = obj
    return handler


def _import_file(path: Path) -> ModuleType:
    """Import a handler file by its stem (as ``python file.py`` would name it), unless a
    different file already holds that name."""
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None:
        if Path(getattr(existing, "__file__", "") or "").resolve() == path:
            return existing
        name = f"_durable_replay_{hashlib.sha1(str(path).encode()).hexdigest()[:12]}_{name}"
        if name in sys.modules:
            return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HistoryFormatError(f"cannot import handler file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def replay_file(
    path: str | Path,
    *,
    handler: str | Callable[..., Any] | None = None,
    default_handler: str | None = None,
    timeout: float = 30,
    raise_on_divergence: bool = True,
) -> ReplayReport:
    """Replay one corpus file against ``handler`` if given, else the handler the file
    names, else ``default_handler`` (for bare exports)."""
    entry = load(path)
    spec = handler if handler is not None else (entry.handler or default_handler)
    if spec is None:
        msg = (
            f'{path}: no handler to replay against; add "handler": "module:function" '
            "to the file, or pass one (--durable-replay-handler)"
        )
        raise HistoryFormatError(msg)
    fn = resolve_handler(spec, base=Path(path).parent) if isinstance(spec, str) else spec
    return replay(
        fn,
        entry.events,
        function_name=entry.function_name,
        timeout=timeout,
        raise_on_divergence=raise_on_divergence,
        source=str(path),
    )


def corpus_files(directory: str | Path) -> list[Path]:
    """The corpus files under ``directory`` (``*.json``, recursively, sorted)."""
    root = Path(directory)
    if not root.is_dir():
        msg = f"replay corpus {root} is not a directory"
        raise HistoryFormatError(msg)
    return sorted(p for p in root.rglob("*.json") if p.is_file())
