"""Read conformance requirements and match their expectations against an execution.

A requirement (see ``requirements/``) describes a handler in prose, its input, the expected final
status and result, the callbacks an external system sends, and the history the durable service
records. This module turns one YAML file into a :class:`Requirement` (variables generated and
substituted) and compares an actual execution with it:

- :func:`match_history` matches expected events to actual ones by ``EventId``;
- :func:`match_result` checks ``ExpectedResult`` (status, decoded JSON result, error).

Both return a list of human-readable mismatches; an empty list means the execution conforms.

Matching rules (from the suite's README): ``'*'`` and ``{}`` match any value; ``${NAME}`` binds to
the first value it meets and must equal it everywhere after; ``${/regex/}`` must match
(``re.search``) ``str(actual)``; a key absent from the expectation is not checked, a key present
must exist (a YAML null also accepts an absent key); lists must have the same length; numbers
compare by value.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Final

import yaml

REQUIREMENTS_DIR: Final = Path(__file__).parent / "requirements"
SUITES: Final = ("step", "wait", "child", "callback", "invoke", "wait_for_callback")

WILDCARD: Final = "*"
CALLBACK_OPERATIONS: Final = frozenset({"success", "failure", "heartbeat"})

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_GEN_STR = re.compile(r"\$\{GEN_STR:(\d+)\}")
_REGEX = re.compile(r"\$\{/(.*)/\}", re.DOTALL)
_ALPHANUMERIC = string.ascii_letters + string.digits


class _Missing:
    """The value of a key that the actual data does not have."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class CallbackAction:
    """What the external system does to one callback once its CallbackStarted is recorded."""

    callback_name: str
    operation: str
    payload: Any = None
    has_payload: bool = False
    delay: float = 0

    def __post_init__(self) -> None:
        if self.operation not in CALLBACK_OPERATIONS:
            known = ", ".join(sorted(CALLBACK_OPERATIONS))
            msg = f"unknown callback operation {self.operation!r}; expected one of: {known}"
            raise ValueError(msg)

    @property
    def is_terminal(self) -> bool:
        """Whether the action completes the callback (only one such action per callback)."""
        return self.operation != "heartbeat"

    def targets(self, name: str | None) -> bool:
        """Whether this action applies to a callback recorded with ``name``."""
        return self.callback_name == WILDCARD or self.callback_name == name


@dataclass(frozen=True)
class Requirement:
    """One requirement file, with its variables generated and substituted everywhere."""

    suite: str
    id: str
    path: Path
    description: str
    input: Any
    expected_result: Mapping[str, Any]
    expected_history: Sequence[Mapping[str, Any]]
    callback_actions: Sequence[CallbackAction]
    variables: Mapping[str, Any]
    optional: bool
    document: Mapping[str, Any]

    @property
    def test_id(self) -> str:
        return f"{self.suite}/{self.id}"


def generate_variables(declared: Mapping[str, Any], seed: str) -> dict[str, Any]:
    """Generate a requirement's ``Variables`` deterministically from ``seed``.

    ``${GEN_STR:N}`` becomes N random ASCII letters and digits; a variable may refer to ones
    declared before it.
    """
    rng = random.Random(seed)

    def generate(match: re.Match[str]) -> str:
        return "".join(rng.choice(_ALPHANUMERIC) for _ in range(int(match.group(1))))

    values: dict[str, Any] = {}
    for name, spec in declared.items():
        values[name] = (
            substitute(_GEN_STR.sub(generate, spec), values) if isinstance(spec, str) else spec
        )
    return values


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace ``${NAME}`` for every declared variable in strings nested anywhere in ``value``.

    Other ``${...}`` tokens (bindings such as ``${ID1}``, regexes) are left for the matcher. A
    string that is exactly one variable reference takes the variable's value as is.
    """
    if isinstance(value, str):
        whole = _VARIABLE.fullmatch(value)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(variables[name]) if name in variables else match.group(0)

        return _VARIABLE.sub(replace, value)
    if isinstance(value, Mapping):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    return value


def load_requirement(path: Path) -> Requirement:
    """Load one requirement; its suite is the name of the folder holding it."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, Mapping):
        msg = f"{path}: a requirement must be a YAML mapping"
        raise TypeError(msg)
    suite, requirement_id = path.parent.name, path.stem
    declared = document.get("Variables") or {}
    variables = generate_variables(declared, seed=f"{suite}/{requirement_id}")
    resolved = {
        key: value if key == "Variables" else substitute(value, variables)
        for key, value in document.items()
    }
    actions = [
        CallbackAction(
            callback_name=str(action.get("CallbackName", WILDCARD)),
            operation=str(action["Operation"]),
            payload=action.get("Payload"),
            has_payload="Payload" in action,
            delay=action.get("Delay", 0),
        )
        for action in resolved.get("CallbackActions") or []
    ]
    return Requirement(
        suite=suite,
        id=requirement_id,
        path=path,
        description=str(resolved.get("description", "")),
        input=resolved.get("Input"),
        expected_result=resolved.get("ExpectedResult") or {},
        expected_history=resolved.get("ExpectedExecutionHistory") or [],
        callback_actions=actions,
        variables=variables,
        optional=bool(resolved.get("optional", False)),
        document=resolved,
    )


def load_requirements(suite: str | None = None) -> list[Requirement]:
    """Load every requirement (or one suite's), in suite order then numeric id order."""
    suites = SUITES if suite is None else (suite,)
    requirements: list[Requirement] = []
    for name in suites:
        paths = sorted((REQUIREMENTS_DIR / name).glob("*.yaml"), key=_numeric_key)
        requirements.extend(load_requirement(path) for path in paths)
    return requirements


def _numeric_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.stem.split("-"))


class _Matcher:
    """Compares expected values with actual ones, collecting mismatches and bindings."""

    def __init__(self) -> None:
        self.mismatches: list[str] = []
        self._bindings: dict[str, tuple[Any, str]] = {}

    def match(self, expected: Any, actual: Any, where: str, path: str = "") -> None:
        location = f"{where} {path}" if path else where
        if expected is None:
            if actual is not MISSING and actual is not None:
                self._fail(location, "null or absent", actual)
            return
        if actual is MISSING:
            self.mismatches.append(f"{location}: missing; expected {_show(expected)}")
            return
        if expected == WILDCARD or (isinstance(expected, Mapping) and not expected):
            return
        if isinstance(expected, str):
            self._match_string(expected, actual, location)
        elif isinstance(expected, Mapping):
            if not isinstance(actual, Mapping):
                self._fail(location, "a mapping", actual)
                return
            for key, item in expected.items():
                self.match(item, actual.get(key, MISSING), where, _join(path, str(key)))
        elif isinstance(expected, list):
            if not isinstance(actual, list | tuple):
                self._fail(location, "a list", actual)
            elif len(expected) != len(actual):
                self.mismatches.append(
                    f"{location}: expected a list of {len(expected)} items, "
                    f"actual has {len(actual)}: {_show(actual)}"
                )
            else:
                for index, (item, actual_item) in enumerate(zip(expected, actual, strict=True)):
                    self.match(item, actual_item, where, f"{path}[{index}]")
        elif not _scalars_equal(expected, actual):
            self._fail(location, _show(expected), actual)

    def _match_string(self, expected: str, actual: Any, location: str) -> None:
        if regex := _REGEX.fullmatch(expected):
            if not re.search(regex.group(1), str(actual)):
                self._fail(location, f"a match for /{regex.group(1)}/", actual)
        elif binding := _VARIABLE.fullmatch(expected):
            name = binding.group(1)
            if name not in self._bindings:
                self._bindings[name] = (actual, location)
                return
            bound, bound_at = self._bindings[name]
            if not _scalars_equal(bound, actual):
                self._fail(location, f"{expected} = {_show(bound)} (bound at {bound_at})", actual)
        elif expected != actual:
            self._fail(location, _show(expected), actual)

    def _fail(self, location: str, expected: str, actual: Any) -> None:
        self.mismatches.append(f"{location}: expected {expected}, actual {_show(actual)}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _scalars_equal(expected: Any, actual: Any) -> bool:
    # bool is an int in Python, but true must not match 1.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and bool(expected == actual)


def _show(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def match_history(
    expected_events: Sequence[Mapping[str, Any]],
    actual_events: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Match expected events to actual ones by ``EventId``; return the mismatches (none = match).

    Actual events that no expectation names are not checked. Bindings are shared by all events, in
    the order the expectations are listed.
    """
    matcher = _Matcher()
    by_id: dict[Any, Mapping[str, Any]] = {}
    for event in actual_events:
        event_id = event.get("EventId")
        if event_id in by_id:
            matcher.mismatches.append(f"actual history has EventId {event_id} more than once")
        by_id.setdefault(event_id, event)
    for position, expected in enumerate(expected_events, start=1):
        event_id = expected.get("EventId")
        if event_id is None:
            matcher.mismatches.append(f"expected event #{position} has no EventId")
            continue
        where = f"EventId {event_id} ({expected.get('EventType', '?')})"
        actual = by_id.get(event_id)
        if actual is None:
            matcher.mismatches.append(
                f"{where}: missing; the actual history has {len(actual_events)} events"
            )
            continue
        expected_type = expected.get("EventType")
        if expected_type is not None and actual.get("EventType") != expected_type:
            # Comparing the fields of a different kind of event would only add noise.
            matcher.mismatches.append(
                f"{where}: expected EventType {expected_type!r}, actual {actual.get('EventType')!r}"
            )
            continue
        matcher.match(expected, actual, where)
    return matcher.mismatches


def match_result(
    expected: Mapping[str, Any],
    *,
    status: str | Enum,
    result: str | None,
    error: Mapping[str, Any] | None = None,
) -> list[str]:
    """Check ``ExpectedResult`` against an execution's outcome; return the mismatches.

    ``result`` is the execution's result as the service returns it (a JSON string or None); it is
    decoded before matching, and an expected null accepts a null or absent result. ``error`` is the
    execution's error as ``{"ErrorType": ..., "ErrorMessage": ...}``.
    """
    matcher = _Matcher()
    if "ExecutionStatus" in expected:
        actual_status = status.name if isinstance(status, Enum) else str(status)
        if actual_status != expected["ExecutionStatus"]:
            matcher.mismatches.append(
                f"ExecutionStatus: expected {expected['ExecutionStatus']!r}, "
                f"actual {actual_status!r}"
            )
    if "Result" in expected:
        try:
            decoded = json.loads(result) if result else MISSING
        except json.JSONDecodeError:
            matcher.mismatches.append(f"Result: not a JSON document: {_show(result)}")
        else:
            matcher.match(expected["Result"], decoded, "Result")
    if "Error" in expected:
        matcher.match(expected["Error"], MISSING if error is None else error, "Error")
    return matcher.mismatches


_TABLE_COLUMNS: Final = ("EventId", "EventType", "SubType", "Name", "Id", "ParentId", "Details")


def format_history(events: Sequence[Mapping[str, Any]], *, width: int = 90) -> str:
    """Render a history as a compact text table: one line per event, ids shortened."""
    rows = [_TABLE_COLUMNS, *(_table_row(event, width) for event in events)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_TABLE_COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(size) for cell, size in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _table_row(event: Mapping[str, Any], width: int) -> tuple[str, ...]:
    details = {key: value for key, value in event.items() if key.endswith("Details")}
    shown = json.dumps(
        details if len(details) != 1 else next(iter(details.values())),
        default=_json_default,
        separators=(",", ":"),
    )
    if len(shown) > width:
        shown = f"{shown[: width - 3]}..."
    return (
        str(event.get("EventId", "")),
        str(event.get("EventType", "")),
        str(event.get("SubType", "") or ""),
        str(event.get("Name", "") or ""),
        str(event.get("Id", "") or "")[:8],
        str(event.get("ParentId", "") or "")[:8],
        shown,
    )


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)
