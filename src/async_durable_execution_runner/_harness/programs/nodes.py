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
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeAlias

from hypothesis import strategies as st

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


@dataclass(frozen=True)
class Node(_PrettyRepr):
    """Base of every program node."""

    type: ClassVar[str] = ""

    @property
    def label(self) -> str:
        """The operation name (``Catch`` has none of its own)."""
        return getattr(self, "name", "")

    def children(self) -> tuple[Node, ...]:
        """Nodes nested in this one, in program order (invoked programs excluded)."""
        return ()

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True, repr=False)
class Step(Node):
    type: ClassVar[str] = "step"
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


@dataclass(frozen=True, repr=False)
class Wait(Node):
    type: ClassVar[str] = "wait"
    name: str
    seconds: int = 1

    def __repr__(self) -> str:
        return f"Wait({self.name!r}, {self.seconds!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "seconds": self.seconds}


@dataclass(frozen=True, repr=False)
class Child(Node):
    type: ClassVar[str] = "child"
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


@dataclass(frozen=True, repr=False)
class Callback(Node):
    type: ClassVar[str] = "callback"
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


@dataclass(frozen=True, repr=False)
class Parallel(Node):
    type: ClassVar[str] = "parallel"
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


@dataclass(frozen=True, repr=False)
class Map(Node):
    type: ClassVar[str] = "map"
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


@dataclass(frozen=True, repr=False)
class WaitForCondition(Node):
    type: ClassVar[str] = "wait_for_condition"
    name: str
    polls_until_done: int = 1

    def __repr__(self) -> str:
        return f"WaitForCondition({self.name!r}, {self.polls_until_done!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "polls_until_done": self.polls_until_done}


@dataclass(frozen=True, repr=False)
class Invoke(Node):
    type: ClassVar[str] = "invoke"
    name: str
    program: Program = field(default_factory=lambda: Program())  # noqa: PLW0108 - defined below

    def __repr__(self) -> str:
        return f"Invoke({self.name!r}, {self.program!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "program": self.program.to_json()}


@dataclass(frozen=True, repr=False)
class Unawaited(Node):
    type: ClassVar[str] = "unawaited"
    name: str
    value: JSON = None

    def __repr__(self) -> str:
        return f"Unawaited({self.name!r}, {self.value!r})"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "value": self.value}


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


def node_from_json(data: dict[str, Any]) -> Node:
    kind = data["type"]
    if kind == "step":
        retry = data.get("retry") or {}
        return Step(
            data["name"],
            _outcome_from_json(data["outcome"]),
            Retry(int(retry.get("max_attempts", 1)), int(retry.get("delay", 1))),
            bool(data.get("at_most_once", False)),
        )
    if kind == "wait":
        return Wait(data["name"], int(data["seconds"]))
    if kind == "child":
        return Child(data["name"], [node_from_json(n) for n in data["body"]])
    if kind == "callback":
        hb = data.get("heartbeat_seconds")
        return Callback(data["name"], int(data["timeout_seconds"]), None if hb is None else int(hb))
    if kind in ("parallel", "map"):
        c = data.get("completion") or {}
        completion = Completion(c.get("min_successful"), c.get("tolerated_failures"))
        if kind == "parallel":
            return Parallel(
                data["name"], [[node_from_json(n) for n in b] for b in data["branches"]], completion
            )
        body = [node_from_json(n) for n in data["body"]]
        return Map(data["name"], data["items"], body, completion)
    if kind == "wait_for_condition":
        return WaitForCondition(data["name"], int(data["polls_until_done"]))
    if kind == "invoke":
        return Invoke(data["name"], from_json(data["program"]))
    if kind == "unawaited":
        return Unawaited(data["name"], data.get("value"))
    if kind == "catch":
        return Catch(node_from_json(data["node"]))
    msg = f"unknown program node type {kind!r}"
    raise ValueError(msg)


def from_json(data: dict[str, Any] | str) -> Program:
    """A program from ``Program.to_json()`` (the dict, or its JSON text)."""
    if isinstance(data, str):
        data = json.loads(data)
    assert isinstance(data, dict)
    return Program([node_from_json(n) for n in data["body"]])


def to_json(program: Program) -> dict[str, Any]:
    return program.to_json()


#: Everything a pasted ``repr`` needs: ``eval(repr(p), dict(REPR_NAMESPACE)) == p``.
REPR_NAMESPACE: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        *(Program, Step, Wait, Child, Callback, Parallel, Map, WaitForCondition),
        *(Invoke, Unawaited, Catch, Retry, Completion),
    )
} | {
    "succeed": succeed,
    "succeed_input": succeed_input,
    "fail_first": fail_first,
    "fail_always": fail_always,
}


# --- strategies -------------------------------------------------------------------------

#: Name prefixes per node type (``Catch`` takes none).
PREFIXES: dict[type[Node], str] = {
    Step: "s",
    Wait: "w",
    Child: "c",
    Callback: "cb",
    Parallel: "p",
    Map: "m",
    WaitForCondition: "wc",
    Invoke: "i",
    Unawaited: "u",
}


def assign_names(program: Program) -> Program:
    """The same program with its nodes renamed ``s1``, ``s2``, ``w1``, ... in pre-order,
    numbered across the whole tree (invoked programs included), so names are unique."""
    counters: dict[str, int] = {}

    def fresh(node: Node) -> str:
        prefix = PREFIXES[type(node)]
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}{counters[prefix]}"

    def rename_body(body: Sequence[Node]) -> list[Node]:
        return [rename(n) for n in body]

    def rename(node: Node) -> Node:
        if isinstance(node, Catch):
            return Catch(rename(node.node))
        name = fresh(node)
        if isinstance(node, Child):
            return Child(name, rename_body(node.body))
        if isinstance(node, Parallel):
            return Parallel(name, [rename_body(b) for b in node.branches], node.completion)
        if isinstance(node, Map):
            return Map(name, node.items, rename_body(node.body), node.completion)
        if isinstance(node, Invoke):
            return Invoke(name, Program(rename_body(node.program.body)))
        return replace(node, name=name)  # type: ignore[call-arg]

    return Program(rename_body(program.body))


#: Small JSON values (no floats: they survive every round trip exactly).
json_scalars = st.one_of(
    st.integers(min_value=0, max_value=100),
    st.none(),
    st.booleans(),
    st.text(alphabet="abcxyz", max_size=4),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(alphabet="abk", min_size=1, max_size=2), inner, max_size=2),
    ),
    max_leaves=4,
)


@dataclass(frozen=True)
class _Opts:
    callbacks: bool
    invokes: bool
    unawaited: bool
    concurrency: bool


# Node kinds by cumulative weight out of 100, simplest first (shrinking moves toward 0: Step).
_KINDS: tuple[tuple[int, str], ...] = (
    (46, "step"),
    (62, "wait"),
    (68, "catch"),
    (75, "child"),
    (79, "wait_for_condition"),
    (85, "parallel"),
    (89, "map"),
    (94, "callback"),
    (98, "invoke"),
    (100, "unawaited"),
)
_COMPOSITE = frozenset({"catch", "child", "parallel", "map", "invoke"})


def _kind(roll: int) -> str:
    for bound, kind in _KINDS:
        if roll < bound:
            return kind
    return "step"


@st.composite
def _step(draw: st.DrawFn) -> Step:
    roll = draw(st.integers(0, 19))
    if roll < 13:
        outcome: Outcome = Succeed(draw(json_values))
    elif roll < 14:
        outcome = SucceedInput()
    elif roll < 17:
        outcome = FailFirst(draw(st.integers(1, 3)))
    else:
        outcome = FailAlways()
    retry = Retry()
    if not isinstance(outcome, Succeed | SucceedInput):
        retry = Retry(draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    at_most_once = draw(st.integers(0, 4)) == 4
    return Step("", outcome, retry, at_most_once)


@st.composite
def _body(
    draw: st.DrawFn, depth: int, budget: list[int], opts: _Opts, *, min_size: int = 1
) -> list[Node]:
    most = max(min_size, min(4, budget[0]))
    size = draw(st.integers(min_size, most))
    nodes: list[Node] = []
    for i in range(size):
        if budget[0] <= 0 and i >= min_size:
            break
        nodes.append(draw(_node(depth, budget, opts)))
    return nodes


@st.composite
def _node(draw: st.DrawFn, depth: int, budget: list[int], opts: _Opts) -> Node:
    budget[0] -= 1
    kind = _kind(draw(st.integers(0, 99)))
    # A composite needs room for at least one nested node.
    if kind in _COMPOSITE and (depth <= 0 or budget[0] <= 0):
        kind = "step"
    if (
        (kind in ("parallel", "map") and not opts.concurrency)
        or (kind == "callback" and not opts.callbacks)
        or (kind == "invoke" and not opts.invokes)
        or (kind == "unawaited" and not opts.unawaited)
    ):
        kind = "step"
    if kind == "step":
        return draw(_step())
    if kind == "wait":
        return Wait("", draw(st.integers(1, 10)))
    if kind == "wait_for_condition":
        return WaitForCondition("", draw(st.integers(1, 3)))
    if kind == "callback":
        timeout = draw(st.integers(10, 300))
        heartbeat = draw(st.one_of(st.none(), st.integers(5, 60)))
        return Callback("", timeout, heartbeat)
    if kind == "unawaited":
        return Unawaited("", draw(json_scalars))
    if kind == "catch":
        return Catch(draw(_node(depth, budget, replace(opts, unawaited=False))))
    if kind == "child":
        return Child("", draw(_body(depth - 1, budget, opts)))
    # Inside concurrent branches: no callbacks, invokes or unawaited steps (see reference.py).
    inner_opts = _Opts(callbacks=False, invokes=False, unawaited=False, concurrency=True)
    if kind == "invoke":
        return Invoke("", Program(draw(_body(depth - 1, budget, inner_opts))))
    if kind == "parallel":
        n = draw(st.integers(1, max(1, min(3, budget[0]))))
        branches = []
        for k in range(n):
            # Keep one node for each branch still to draw.
            reserve = n - 1 - k
            budget[0] -= reserve
            branches.append(draw(_body(depth - 1, budget, inner_opts)))
            budget[0] += reserve
        return Parallel("", branches, draw(_completion(n)))
    items = draw(st.lists(json_scalars, min_size=0, max_size=3))
    body = draw(_body(depth - 1, budget, inner_opts))
    completion = draw(_completion(len(items))) if items else Completion()
    return Map("", items, body, completion)


@st.composite
def _completion(draw: st.DrawFn, n: int) -> Completion:
    roll = draw(st.integers(0, 9))
    if roll < 6:
        return Completion()
    if roll < 8:
        return Completion(min_successful=draw(st.integers(1, n)))
    return Completion(tolerated_failures=draw(st.integers(0, max(0, n - 1))))


def durable_programs(
    max_depth: int = 2,
    max_nodes: int = 8,
    *,
    callbacks: bool = True,
    invokes: bool = True,
    unawaited: bool = True,
    concurrency: bool = True,
) -> st.SearchStrategy[Program]:
    """Random programs of at most ``max_nodes`` nodes nested at most ``max_depth`` deep.

    Sequences of steps and waits dominate; composites (catch, child, parallel, map, invoke)
    are rarer, callbacks and unawaited steps rarest. Shrinking moves toward shorter bodies and
    plain steps. Parallel branches and map bodies hold no callbacks, invokes or unawaited
    steps; invoked programs hold no callbacks or invokes.
    """
    opts = _Opts(callbacks=callbacks, invokes=invokes, unawaited=unawaited, concurrency=concurrency)

    @st.composite
    def program(draw: st.DrawFn) -> Program:
        budget = [max_nodes]
        body = draw(_body(max_depth, budget, opts))
        return assign_names(Program(body))

    return program()


def callback_names(program: Program) -> list[str]:
    """Names of the program's callbacks (invoked programs included), in program order."""
    return [n.name for n in program.walk(into_invokes=True) if isinstance(n, Callback)]


__all__ = [
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
    "assign_names",
    "callback_names",
    "durable_programs",
    "fail_always",
    "fail_first",
    "from_json",
    "json_values",
    "node_from_json",
    "succeed",
    "succeed_input",
    "to_json",
]
