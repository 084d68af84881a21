"""The strategy of random durable programs: ``durable_programs``.

Sequences of steps and waits dominate and shrinking moves toward shorter, plainer programs
(the node kinds are drawn from a weight table, simplest first). Names are assigned once the
tree is drawn, so that they are unique and read in program order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from hypothesis import strategies as st

from async_durable_execution_runner._harness.programs.nodes import (
    Callback,
    Catch,
    Child,
    Completion,
    FailAlways,
    FailFirst,
    Invoke,
    Map,
    Node,
    Outcome,
    Parallel,
    Program,
    Retry,
    Step,
    Succeed,
    SucceedInput,
    Unawaited,
    Wait,
    WaitForCondition,
)

# --- strategies -------------------------------------------------------------------------


def assign_names(program: Program) -> Program:
    """The same program with its nodes renamed ``s1``, ``s2``, ``w1``, ... in pre-order,
    numbered across the whole tree (invoked programs included), so names are unique."""
    counters: dict[str, int] = {}

    def fresh(node: Node) -> str:
        prefix = node.prefix
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


__all__ = ["assign_names", "durable_programs", "json_scalars", "json_values"]
