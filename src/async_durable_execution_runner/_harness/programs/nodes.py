"""Durable programs as data: small workflows a Hypothesis strategy can generate and shrink.

A ``Program`` is a sequence of nodes; each node is a frozen dataclass whose ``repr`` is the
Python that builds it, so a failing example can be pasted back (every name it uses is exported
here)::

    Program([Step("s1", succeed(1)), Wait("w1", 60), Catch(Step("s2", fail_always()))])

What a program means (the interpreter runs it with the SDK, the reference evaluator computes
what the service must report; both follow these rules):

* **Result.** A body (the program's, a child context's, a parallel branch's, a map item's)
  evaluates its nodes in order; its result is the list of the results of its awaited nodes
  (``Unawaited`` nodes contribute nothing). The first node that fails ends the body, which
  fails with that node's error.
* ``Step(name, outcome, retry=Retry(...), at_most_once=False)``: a durable step. ``succeed(v)``
  returns ``v``; ``succeed_input()`` returns the *scope input* (the execution input, or the map
  item inside a ``Map`` body); ``fail_first(n)`` raises ``StepBodyError`` on attempts 1..n and
  then returns the attempt number; ``fail_always()`` always raises ``StepBodyError``. Retries:
  ``Retry(max_attempts, delay)``, a fixed delay in seconds, no jitter. An unhandled step failure
  reaches the caller as ``CallableRuntimeError``.
* ``Wait(name, seconds)``: result ``None``.
* ``Child(name, body)``: ``run_in_child_context``; result: the body's list. Failure:
  ``CallableRuntimeError``, except that a ``CallbackError`` from the body passes through.
* ``Callback(name, timeout_seconds, heartbeat_seconds=None)``: ``create_callback`` then
  ``await callback.result()``; result: the JSON payload delivered, decoded. Failure, time-out
  or heartbeat time-out: ``CallbackError``.
* ``Parallel(name, branches, completion)`` / ``Map(name, items, body, completion)``: result
  ``{"reason": <CompletionReason>, "items": [[<BatchItemStatus>, <value>], ...]}`` with value
  the branch's list (SUCCEEDED), the error type (FAILED) or ``None`` (CANCELLED). When the
  completion reason is ``FAILURE_TOLERANCE_EXCEEDED`` the node fails instead
  (``BatchResult.throw_if_error()``: ``CallableRuntimeError``).
* ``WaitForCondition(name, polls_until_done)``: polls once a second; the state starts at 0 and
  each poll adds 1; done when it reaches ``polls_until_done``; result: that number.
* ``Invoke(name, program)``: chained invoke of function ``"program"`` with
  ``{"program": program.to_json(), "input": <scope input>}``; result: the invoked program's
  result. Failure (of the invoked execution or of the invoke): ``CallableRuntimeError``.
* ``Unawaited(name, value)``: a step returning ``value`` that is started and never awaited.
* ``Catch(node)``: the node's result, or (if it fails) the name of the exception type the
  program code sees, e.g. ``"CallableRuntimeError"``. The SDK's own ``InvocationError``s
  (retryable service failures) are not the program's to catch and propagate.

Operation names are unique within a program (``s1``, ``w1``, ``c1``, ``cb1``, ``p1``, ``m1``,
``wc1``, ``i1``, ``u1``, numbered across the whole tree including invoked programs); nodes in a
``Map`` body run once per item, under the item's context.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias, TypeVar

JSON: TypeAlias = Any

#: Error type names the interpreter raises from step bodies (the evaluator uses the same text).
STEP_BODY_ERROR = "StepBodyError"

# --- outcomes ---------------------------------------------------------------------------


class _PrettyRepr:
    """Hypothesis prints examples with its own pretty-printer; make it use our ``repr``."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclass(frozen=True)
class Outcome(_PrettyRepr):
    """What a step body does on each attempt."""

    kind: ClassVar[str] = ""

    def fails_on(self, attempt: int) -> bool:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass(frozen=True, repr=False)
class Succeed(Outcome):
    kind: ClassVar[str] = "succeed"
    value: JSON = None

    def fails_on(self, attempt: int) -> bool:
        return False

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}

    def __repr__(self) -> str:
        return f"succeed({self.value!r})"


@dataclass(frozen=True, repr=False)
class SucceedInput(Outcome):
    kind: ClassVar[str] = "succeed_input"

    def fails_on(self, attempt: int) -> bool:
        return False

    def __repr__(self) -> str:
        return "succeed_input()"


@dataclass(frozen=True, repr=False)
class FailFirst(Outcome):
    kind: ClassVar[str] = "fail_first"
    n: int = 1

    def fails_on(self, attempt: int) -> bool:
        return attempt <= self.n

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": self.n}

    def __repr__(self) -> str:
        return f"fail_first({self.n!r})"


@dataclass(frozen=True, repr=False)
class FailAlways(Outcome):
    kind: ClassVar[str] = "fail_always"

    def fails_on(self, attempt: int) -> bool:
        return True

    def __repr__(self) -> str:
        return "fail_always()"


succeed = Succeed
succeed_input = SucceedInput
fail_first = FailFirst
fail_always = FailAlways


def _outcome_from_json(data: dict[str, Any]) -> Outcome:
    kind = data["kind"]
    if kind == "succeed":
        return Succeed(data.get("value"))
    if kind == "succeed_input":
        return SucceedInput()
    if kind == "fail_first":
        return FailFirst(int(data["n"]))
    if kind == "fail_always":
        return FailAlways()
    msg = f"unknown step outcome {kind!r}"
    raise ValueError(msg)


# --- configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class Retry(_PrettyRepr):
    """``RetryStrategy(max_attempts, initial_delay=delay, backoff_rate=1, no jitter)``."""

    max_attempts: int = 1
    delay: int = 1

    def __repr__(self) -> str:
        return f"Retry({self.max_attempts!r}, {self.delay!r})"


@dataclass(frozen=True)
class Completion(_PrettyRepr):
    """A threshold ``CompletionConfig``; ``Completion()`` completes when all succeed (the first
    failure fails the batch)."""

    min_successful: int | None = None
    tolerated_failures: int | None = None

    def __repr__(self) -> str:
        parts = []
        if self.min_successful is not None:
            parts.append(f"min_successful={self.min_successful!r}")
        if self.tolerated_failures is not None:
            parts.append(f"tolerated_failures={self.tolerated_failures!r}")
        return f"Completion({', '.join(parts)})"

    def to_json(self) -> dict[str, Any]:
        return {
            "min_successful": self.min_successful,
            "tolerated_failures": self.tolerated_failures,
        }


# --- nodes ------------------------------------------------------------------------------


def _tuple(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(items)


def _body_repr(body: Sequence[Node]) -> str:
    return "[" + ", ".join(repr(n) for n in body) + "]"


N = TypeVar("N", bound="Node")

#: Every node type by its JSON ``type``, in the order they are defined.
NODE_TYPES: dict[str, type[Node]] = {}


def register(cls: type[N]) -> type[N]:
    """Add a node type to ``NODE_TYPES`` (the generator, interpreter, reference evaluator and
    public ``programs`` module must each handle it: tests/harness/test_program_nodes.py)."""
    if not cls.type or cls.type in NODE_TYPES:
        msg = f"{cls.__name__}: a node type needs a name of its own, got {cls.type!r}"
        raise ValueError(msg)
    NODE_TYPES[cls.type] = cls
    return cls


@dataclass(frozen=True)
class Node(_PrettyRepr):
    """Base of every program node."""

    #: Its name in the program's JSON.
    type: ClassVar[str] = ""
    #: Its operation names: ``s1``, ``s2``, ... (``""``: it has no operation of its own).
    prefix: ClassVar[str] = ""

    @property
    def label(self) -> str:
        """The operation name (``Catch`` has none of its own)."""
        return getattr(self, "name", "")

    def children(self) -> tuple[Node, ...]:
        """Nodes nested in this one, in program order (invoked programs excluded)."""
        return ()

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        """The node ``to_json`` gave ``data`` for."""
        raise NotImplementedError


@register
@dataclass(frozen=True, repr=False)
class Step(Node):
    type: ClassVar[str] = "step"
    prefix: ClassVar[str] = "s"
    name: str
    outcome: Outcome = field(default_factory=Succeed)
    retry: Retry = field(default_factory=Retry)
    at_most_once: bool = False

    def __repr__(self) -> str:
        extra = ""
        if self.retry != Retry():
            extra += f", retry={self.retry!r}"
        if self.at_most_once:
            extra += ", at_most_once=True"
        return f"Step({self.name!r}, {self.outcome!r}{extra})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "outcome": self.outcome.to_json(),
            "retry": {"max_attempts": self.retry.max_attempts, "delay": self.retry.delay},
            "at_most_once": self.at_most_once,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        retry = data.get("retry") or {}
        return cls(
            data["name"],
            _outcome_from_json(data["outcome"]),
            Retry(int(retry.get("max_attempts", 1)), int(retry.get("delay", 1))),
            bool(data.get("at_most_once", False)),
        )


@register
@dataclass(frozen=True, repr=False)
class Wait(Node):
    type: ClassVar[str] = "wait"
    prefix: ClassVar[str] = "w"
    name: str
    seconds: int = 1

    def __repr__(self) -> str:
        return f"Wait({self.name!r}, {self.seconds!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(data["name"], int(data["seconds"]))


@register
@dataclass(frozen=True, repr=False)
class Child(Node):
    type: ClassVar[str] = "child"
    prefix: ClassVar[str] = "c"
    name: str
    body: Sequence[Node] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", _tuple(self.body))

    def children(self) -> tuple[Node, ...]:
        return tuple(self.body)

    def __repr__(self) -> str:
        return f"Child({self.name!r}, {_body_repr(self.body)})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "body": [n.to_json() for n in self.body]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(data["name"], [node_from_json(n) for n in data["body"]])


@register
@dataclass(frozen=True, repr=False)
class Callback(Node):
    type: ClassVar[str] = "callback"
    prefix: ClassVar[str] = "cb"
    name: str
    timeout_seconds: int = 300
    heartbeat_seconds: int | None = None

    def __repr__(self) -> str:
        extra = (
            f", heartbeat_seconds={self.heartbeat_seconds!r}"
            if self.heartbeat_seconds is not None
            else ""
        )
        return f"Callback({self.name!r}, {self.timeout_seconds!r}{extra})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "timeout_seconds": self.timeout_seconds,
            "heartbeat_seconds": self.heartbeat_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        hb = data.get("heartbeat_seconds")
        return cls(data["name"], int(data["timeout_seconds"]), None if hb is None else int(hb))


@register
@dataclass(frozen=True, repr=False)
class Parallel(Node):
    type: ClassVar[str] = "parallel"
    prefix: ClassVar[str] = "p"
    name: str
    branches: Sequence[Sequence[Node]] = ()
    completion: Completion = field(default_factory=Completion)

    def __post_init__(self) -> None:
        object.__setattr__(self, "branches", tuple(_tuple(b) for b in self.branches))

    def children(self) -> tuple[Node, ...]:
        return tuple(n for b in self.branches for n in b)

    def __repr__(self) -> str:
        branches = "[" + ", ".join(_body_repr(b) for b in self.branches) + "]"
        extra = f", completion={self.completion!r}" if self.completion != Completion() else ""
        return f"Parallel({self.name!r}, {branches}{extra})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "branches": [[n.to_json() for n in b] for b in self.branches],
            "completion": self.completion.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        branches = [[node_from_json(n) for n in b] for b in data["branches"]]
        return cls(data["name"], branches, _completion_from_json(data))


@register
@dataclass(frozen=True, repr=False)
class Map(Node):
    type: ClassVar[str] = "map"
    prefix: ClassVar[str] = "m"
    name: str
    items: Sequence[JSON] = ()
    body: Sequence[Node] = ()
    completion: Completion = field(default_factory=Completion)

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _tuple(self.items))
        object.__setattr__(self, "body", _tuple(self.body))

    def children(self) -> tuple[Node, ...]:
        return tuple(self.body)

    def __repr__(self) -> str:
        items = "[" + ", ".join(repr(i) for i in self.items) + "]"
        extra = f", completion={self.completion!r}" if self.completion != Completion() else ""
        return f"Map({self.name!r}, {items}, {_body_repr(self.body)}{extra})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "items": list(self.items),
            "body": [n.to_json() for n in self.body],
            "completion": self.completion.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        body = [node_from_json(n) for n in data["body"]]
        return cls(data["name"], data["items"], body, _completion_from_json(data))


@register
@dataclass(frozen=True, repr=False)
class WaitForCondition(Node):
    type: ClassVar[str] = "wait_for_condition"
    prefix: ClassVar[str] = "wc"
    name: str
    polls_until_done: int = 1

    def __repr__(self) -> str:
        return f"WaitForCondition({self.name!r}, {self.polls_until_done!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "polls_until_done": self.polls_until_done}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(data["name"], int(data["polls_until_done"]))


@register
@dataclass(frozen=True, repr=False)
class Invoke(Node):
    type: ClassVar[str] = "invoke"
    prefix: ClassVar[str] = "i"
    name: str
    program: Program = field(default_factory=lambda: Program())  # noqa: PLW0108 - defined below

    def __repr__(self) -> str:
        return f"Invoke({self.name!r}, {self.program!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "program": self.program.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(data["name"], from_json(data["program"]))


@register
@dataclass(frozen=True, repr=False)
class Unawaited(Node):
    type: ClassVar[str] = "unawaited"
    prefix: ClassVar[str] = "u"
    name: str
    value: JSON = None

    def __repr__(self) -> str:
        return f"Unawaited({self.name!r}, {self.value!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(data["name"], data.get("value"))


@register
@dataclass(frozen=True, repr=False)
class Catch(Node):
    type: ClassVar[str] = "catch"
    node: Node

    @property
    def label(self) -> str:
        return self.node.label

    def children(self) -> tuple[Node, ...]:
        return (self.node,)

    def __repr__(self) -> str:
        return f"Catch({self.node!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "node": self.node.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(node_from_json(data["node"]))


@dataclass(frozen=True, repr=False)
class Program(_PrettyRepr):
    """A durable workflow: its body's result is the execution's result."""

    body: Sequence[Node] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", _tuple(self.body))

    def __repr__(self) -> str:
        return f"Program({_body_repr(self.body)})"

    def to_json(self) -> dict[str, Any]:
        """The program as a JSON value (a dict); ``from_json`` reads it back."""
        return {"body": [n.to_json() for n in self.body]}

    def walk(self, *, into_invokes: bool = False) -> Iterable[Node]:
        """Every node, pre-order (an invoked program's nodes only if ``into_invokes``)."""
        return _walk(self.body, into_invokes)

    def count_nodes(self) -> int:
        return sum(1 for _ in self.walk(into_invokes=True))


def _walk(body: Iterable[Node], into_invokes: bool) -> Iterable[Node]:
    for node in body:
        yield node
        yield from _walk(node.children(), into_invokes)
        if into_invokes and isinstance(node, Invoke):
            yield from node.program.walk(into_invokes=True)


def _completion_from_json(data: dict[str, Any]) -> Completion:
    c = data.get("completion") or {}
    return Completion(c.get("min_successful"), c.get("tolerated_failures"))


def node_from_json(data: dict[str, Any]) -> Node:
    cls = NODE_TYPES.get(data["type"])
    if cls is None:
        msg = f"unknown program node type {data['type']!r}; expected one of {', '.join(NODE_TYPES)}"
        raise ValueError(msg)
    return cls.from_json(data)


def from_json(data: dict[str, Any] | str) -> Program:
    """A program from ``Program.to_json()`` (the dict, or its JSON text)."""
    if isinstance(data, str):
        data = json.loads(data)
    assert isinstance(data, dict)
    return Program([node_from_json(n) for n in data["body"]])


def to_json(program: Program) -> dict[str, Any]:
    return program.to_json()


#: Everything a pasted ``repr`` needs: ``eval(repr(p), dict(REPR_NAMESPACE)) == p``.
_CLASSES: list[type[Any]] = [Program, Retry, Completion, *NODE_TYPES.values()]
REPR_NAMESPACE: dict[str, Any] = {cls.__name__: cls for cls in _CLASSES} | {
    "succeed": succeed,
    "succeed_input": succeed_input,
    "fail_first": fail_first,
    "fail_always": fail_always,
}


def callback_names(program: Program) -> list[str]:
    """Names of the program's callbacks (invoked programs included), in program order."""
    return [n.name for n in program.walk(into_invokes=True) if isinstance(n, Callback)]


__all__ = [
    "NODE_TYPES",
    "REPR_NAMESPACE",
    "STEP_BODY_ERROR",
    "Callback",
    "Catch",
    "Child",
    "Completion",
    "Invoke",
    "Map",
    "Node",
    "Parallel",
    "Program",
    "Retry",
    "Step",
    "Unawaited",
    "Wait",
    "WaitForCondition",
    "callback_names",
    "fail_always",
    "fail_first",
    "from_json",
    "node_from_json",
    "succeed",
    "succeed_input",
    "to_json",
]
