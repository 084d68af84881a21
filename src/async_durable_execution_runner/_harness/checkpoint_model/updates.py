"""Hypothesis strategies for checkpoint updates, aimed at the edges of the transition table.

:func:`operation_updates` draws one :class:`OperationUpdate` and :func:`checkpoint_batches` a
whole ``Updates`` list, both *against a given state*: the operations the execution holds now
(a mapping, or a zero-argument callable returning one, read when the strategy draws). Knowing
the state lets them prefer the updates that matter, each drawn as one *kind*:

``new_start``
    START on an id nobody used yet (a valid update).
``allowed``
    an action ``TRANSITIONS`` allows from an existing operation's current status (valid).
``forbidden``
    one step off: an action the table has for that type but not from that status (START on an
    existing id, SUCCEED on a PENDING step...), else one it never allows for the type.
``wrong_type``
    an existing id addressed with another type.
``unknown_parent`` / ``non_context_parent``
    a ParentId naming nothing, or naming an operation that is not a CONTEXT.
``missing_options`` / ``out_of_range``
    START a WAIT without WaitSeconds, RETRY without NextAttemptDelaySeconds, START an invoke
    without FunctionName; WaitSeconds / delays of 0 or 31622401, negative callback timeouts.
``bad_field``
    Id / Name / SubType outside the service model's patterns and lengths (and their valid
    extremes: a 64-character Id, a 256-character Name).
``bad_invoke``
    FunctionName or TenantId outside the model's pattern and length.
``close_execution``
    EXECUTION SUCCEED / FAIL (what the SDK sends for large results), and the EXECUTION updates
    that are never valid (START, RETRY, CANCEL, a ParentId, a FAIL carrying a Payload).
``stray_options``
    an otherwise valid update carrying options it does not use, with out-of-range values.
``big_payload``
    payloads around the 6 MB limits. Rare, and only a few of them are actually that large.

The table is read from :data:`transitions.TRANSITIONS`, never restated here. Field limits are
read from the ``OperationUpdate`` JSON Schema generated from botocore's Lambda model.

Shrinking moves toward the first kind (``new_start``) and toward one-update batches, so a
failing batch shrinks to the update that matters. ``valid=True`` / ``valid=False`` restrict the
kinds to the valid / invalid ones; whether a drawn batch is *actually* accepted still depends
on the state (an ``allowed`` update after a ``close_execution`` one is rejected), which is what
the reference model (``reference_model.py`` beside this module) decides.

With ``hypothesis-jsonschema`` installed (it is not a dependency, and must be a release that
works with the installed Hypothesis), :func:`raw_operation_updates` draws raw shapes straight
from the schema and ``operation_updates(raw=True)`` mixes them in; without it both raise
``InvalidArgument``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner._botocore_model import load_schema
from async_durable_execution_runner._models import (
    CallbackOptions,
    ChainedInvokeOptions,
    ContextOptions,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)
from async_durable_execution_runner._service.checkpoint.transitions import (
    RESULTING_STATUS,
    TRANSITIONS,
    allowed_from,
)

__all__ = [
    "INVALID_KINDS",
    "UPDATE_KINDS",
    "VALID_KINDS",
    "BigPayload",
    "OperationsSource",
    "checkpoint_batches",
    "operation_updates",
    "raw_operation_updates",
]

Snapshot = Mapping[str, Operation]
#: The current operations, or a callable returning them (read at draw time).
OperationsSource = Snapshot | Callable[[], Snapshot]

DEFAULT_EXECUTION_ID: Final = "exec-1"

#: Operation types the SDK creates with START (EXECUTION is created by the service).
CHILD_TYPES: Final = (
    OperationType.STEP,
    OperationType.WAIT,
    OperationType.CONTEXT,
    OperationType.CALLBACK,
    OperationType.CHAINED_INVOKE,
)


@functools.cache
def _limits() -> dict[str, int]:
    defs = load_schema("OperationUpdate")["$defs"]
    return {
        "id": defs["OperationId"]["maxLength"],
        "name": defs["OperationName"]["maxLength"],
        "sub_type": defs["OperationSubType"]["maxLength"],
        "payload": defs["OperationPayload"]["maxLength"],
        "wait": defs["WaitOptionsWaitSecondsInteger"]["maximum"],
        "delay": defs["StepOptionsNextAttemptDelaySecondsInteger"]["maximum"],
        "function_name": defs["NamespacedFunctionName"]["maxLength"],
        "tenant": defs["TenantId"]["maxLength"],
    }


class BigPayload(str):
    """A large payload whose ``repr`` stays short, so failing examples remain readable."""

    __slots__ = ()

    def __repr__(self) -> str:
        head = str.__repr__(self[:1])
        return f"BigPayload({head} * {len(self)})"


def _big(char: str, count: int) -> BigPayload:
    return BigPayload(char * count)


# --------------------------------------------------------------------------------- the kinds

VALID_KINDS: Final = ("new_start", "allowed")
INVALID_KINDS: Final = (
    "forbidden",
    "wrong_type",
    "unknown_parent",
    "non_context_parent",
    "missing_options",
    "out_of_range",
    "bad_field",
    "bad_invoke",
    "close_execution",
    "stray_options",
)
#: Every kind, in shrinking order (``big_payload`` last: it is also the rarest).
UPDATE_KINDS: Final = (*VALID_KINDS, *INVALID_KINDS, "big_payload")

# Weighted lists for sampled_from (which draws uniformly and shrinks toward the front).
_MIXED: Final = (
    ("new_start",) * 6
    + ("allowed",) * 10
    + ("forbidden",) * 4
    + ("wrong_type", "unknown_parent", "non_context_parent", "missing_options", "out_of_range")
    + ("bad_field", "bad_invoke", "close_execution", "stray_options")
    + ("allowed",) * 4
    + ("big_payload",)
)
_VALID_ONLY: Final = ("new_start",) * 2 + ("allowed",) * 3
_INVALID_ONLY: Final = ("forbidden",) * 3 + INVALID_KINDS[1:]


# --------------------------------------------------------------------------------- the state


@dataclasses.dataclass
class _View:
    """What the strategy believes the state is while it draws a batch (optimistically: every
    update the table allows is assumed to apply)."""

    ops: dict[str, tuple[OperationType, OperationStatus]]
    execution_id: str
    focus: tuple[str, ...]

    @classmethod
    def of(cls, source: OperationsSource, execution_id: str, focus: Sequence[str]) -> _View:
        snapshot = source() if callable(source) else source
        ops = {op_id: (op.type, op.status) for op_id, op in snapshot.items()}
        return cls(ops, execution_id, tuple(focus))

    def existing(self, *, children_only: bool = True) -> list[str]:
        ids = sorted(self.ops)
        if children_only:
            ids = [i for i in ids if self.ops[i][0] is not OperationType.EXECUTION]
        focused = [i for i in self.focus if i in ids]
        return focused or ids

    def absent(self, n: int) -> str:
        """The n-th unused id of the pool ``op0, op1...``, skipping used ones."""
        k = n
        while f"op{k}" in self.ops:
            k += 1
        return f"op{k}"

    def apply(self, update: OperationUpdate) -> None:
        target = self.execution_id if update.type is OperationType.EXECUTION else update.id
        current = self.ops.get(target)
        if current is not None and current[0] is not update.type:
            return
        status = current[1] if current is not None else None
        if status in allowed_from(update.type, update.action):
            self.ops[target] = (update.type, RESULTING_STATUS[update.action])


@functools.cache
def _allowed_actions(
    op_type: OperationType, status: OperationStatus | None
) -> tuple[OperationAction, ...]:
    return tuple(a for a in OperationAction if status in allowed_from(op_type, a))


@functools.cache
def _forbidden_actions(
    op_type: OperationType, status: OperationStatus | None
) -> tuple[OperationAction, ...]:
    """One step off first: actions the table has for the type, but not from this status."""
    near = [
        a
        for a in OperationAction
        if (op_type, a) in TRANSITIONS and status not in TRANSITIONS[(op_type, a)]
    ]
    never = [a for a in OperationAction if (op_type, a) not in TRANSITIONS]
    return (*near, *never)


# --------------------------------------------------------------------------- field strategies

_BOOLS = st.booleans()

_ERRORS = st.sampled_from(
    [
        ErrorObject(error_type="Boom", error_message="it broke"),
        ErrorObject(),
        ErrorObject(error_type="E", error_message="m", error_data="{}", stack_trace=("a", "b")),
    ]
)
_PAYLOADS = st.one_of(
    st.none(),
    st.sampled_from(['"ok"', "", "null", '{"k": [1, 2]}', '"\u00e9\u6f22"']),
    st.text(max_size=20),
)
_MAYBE_ERROR = st.one_of(_ERRORS, st.none())
_MAYBE_PAYLOAD = st.one_of(st.none(), _PAYLOADS)
_CALLBACK_OPTIONS = st.one_of(
    st.none(),
    st.builds(
        CallbackOptions,
        st.one_of(st.none(), st.integers(0, 10**6)),
        st.one_of(st.none(), st.integers(0, 10**6)),
    ),
)
_TENANTS = st.one_of(st.none(), st.sampled_from(["tenant-1", "t@x.y/z=+ :"]))
_NAMES = st.one_of(st.none(), st.sampled_from(["step", "a name with spaces", "~!@#$%^&*()"]))
_SUB_TYPES = st.one_of(st.none(), st.sampled_from(["Step", "Wait", "RunInChildContext", "x-_9"]))


@functools.cache
def _seconds(maximum: int) -> st.SearchStrategy[int]:
    # Mostly short, so that timers come due within a run; the extremes now and then.
    return st.one_of(
        st.sampled_from([1, 2, 5, 60]), st.integers(1, 3600), st.sampled_from([maximum])
    )


@functools.cache
def _bad_seconds(maximum: int) -> st.SearchStrategy[int]:
    return st.sampled_from([0, maximum + 1, -1, 10 * maximum])


def _bad_ids() -> list[str]:
    n = _limits()["id"]
    return ["", "has space", "x" * (n + 1), "caf\u00e9", "a/b", "dot.ted", "new\nline", "tab\t"]


def _bad_names() -> list[str]:
    n = _limits()["name"]
    return ["", "x" * (n + 1), "\x1f", "del\x7f", "caf\u00e9", "line\n"]


def _bad_sub_types() -> list[str]:
    n = _limits()["sub_type"]
    return ["", "x" * (n + 1), "Sub Type", "sub.type"]


def _valid_extremes() -> dict[str, str]:
    limits = _limits()
    return {
        "id": "i" * limits["id"],
        "name": "n" * limits["name"],
        "sub_type": "s" * limits["sub_type"],
    }


_FUNCTION_NAMES = st.sampled_from(
    [
        "target-function",
        "fn:$LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
        "123456789012:function:my.fn",
        "f" * 256,  # the model's longest FunctionName
    ]
)


def _valid_body(draw: st.DrawFn, op_type: OperationType, action: OperationAction) -> dict[str, Any]:
    """Everything an update of this type and action needs (and may carry), all valid."""
    limits = _limits()
    body: dict[str, Any] = {}
    if action is OperationAction.SUCCEED:
        body["payload"] = draw(_PAYLOADS)
    elif action is OperationAction.FAIL:
        body["error"] = draw(_MAYBE_ERROR)
    elif action is OperationAction.RETRY:
        body["error"] = draw(_MAYBE_ERROR)
        body["payload"] = draw(_MAYBE_PAYLOAD)
        body["step_options"] = StepOptions(draw(_seconds(limits["delay"])))
    elif action is OperationAction.CANCEL and draw(_BOOLS):
        body["error"] = draw(_ERRORS)
    if action is OperationAction.START:
        if op_type is OperationType.WAIT:
            body["wait_options"] = WaitOptions(draw(_seconds(limits["wait"])))
        elif op_type is OperationType.CALLBACK:
            body["callback_options"] = draw(_CALLBACK_OPTIONS)
        elif op_type is OperationType.CHAINED_INVOKE:
            tenant = draw(_TENANTS)
            body["chained_invoke_options"] = ChainedInvokeOptions(draw(_FUNCTION_NAMES), tenant)
            body["payload"] = draw(_PAYLOADS)
        if op_type is not OperationType.EXECUTION:
            body["name"] = draw(_NAMES)
            body["sub_type"] = draw(_SUB_TYPES)
    if op_type is OperationType.CONTEXT and action is not OperationAction.START and draw(_BOOLS):
        body["context_options"] = ContextOptions(draw(_BOOLS))
    return body


# ----------------------------------------------------------------------------- the updates


def _parent_for_new(draw: st.DrawFn, view: _View) -> str | None:
    contexts = [
        i
        for i in sorted(view.ops)
        if view.ops[i] == (OperationType.CONTEXT, OperationStatus.STARTED)
    ]
    if not contexts:
        return None
    return draw(st.one_of(st.none(), st.sampled_from(contexts)))


def _new_start(draw: st.DrawFn, view: _View, op_id: str | None = None) -> OperationUpdate:
    op_type = draw(st.sampled_from(CHILD_TYPES))
    op_id = op_id if op_id is not None else view.absent(draw(st.integers(0, 5)))
    body = _valid_body(draw, op_type, OperationAction.START)
    return OperationUpdate(
        id=op_id,
        type=op_type,
        action=OperationAction.START,
        parent_id=_parent_for_new(draw, view),
        **body,
    )


def _on_existing(
    draw: st.DrawFn,
    view: _View,
    choose: Callable[[OperationType, OperationStatus], tuple[OperationAction, ...]],
) -> OperationUpdate | None:
    candidates = [i for i in view.existing() if choose(*view.ops[i])]
    if not candidates:
        return None
    # Operations off the beaten path (a READY or PENDING step) are rare: prefer them half
    # the time, so that restarts after a retry come up.
    rare = [
        i for i in candidates if view.ops[i][1] in (OperationStatus.READY, OperationStatus.PENDING)
    ]
    prefer_rare: bool = draw(_BOOLS) if rare else False
    if prefer_rare:
        candidates = rare
    op_id = draw(st.sampled_from(candidates))
    op_type, status = view.ops[op_id]
    action = draw(st.sampled_from(choose(op_type, status)))
    body = _valid_body(draw, op_type, action)
    return OperationUpdate(id=op_id, type=op_type, action=action, **body)


def _update_kind(draw: st.DrawFn, view: _View, kind: str) -> OperationUpdate:
    limits = _limits()
    if kind == "allowed":
        update = _on_existing(draw, view, _allowed_actions)
        return update if update is not None else _new_start(draw, view)
    if kind == "forbidden":
        update = _on_existing(draw, view, _forbidden_actions)
        if update is not None:
            return update
        op_type = draw(st.sampled_from(CHILD_TYPES))
        action = draw(st.sampled_from(_forbidden_actions(op_type, None)))
        body = _valid_body(draw, op_type, action)
        return OperationUpdate(view.absent(0), op_type, action, **body)
    if kind == "wrong_type":
        existing = view.existing(children_only=False)
        if not existing:
            return _new_start(draw, view)
        op_id = draw(st.sampled_from(existing))
        real_type, status = view.ops[op_id]
        op_type = draw(st.sampled_from([t for t in CHILD_TYPES if t is not real_type]))
        # The action the wrong type *would* be allowed from this status, so that only the
        # type is wrong (else START).
        actions = _allowed_actions(op_type, status) or (OperationAction.START,)
        action = draw(st.sampled_from(actions))
        return OperationUpdate(op_id, op_type, action, **_valid_body(draw, op_type, action))
    if kind == "unknown_parent":
        update = _new_start(draw, view)
        parent = draw(st.sampled_from(["no-such-parent", update.id, view.absent(7), "bad parent"]))
        return dataclasses.replace(update, parent_id=parent)
    if kind == "non_context_parent":
        others = [i for i in sorted(view.ops) if view.ops[i][0] is not OperationType.CONTEXT]
        update = _new_start(draw, view)
        if not others:
            return dataclasses.replace(update, parent_id="no-such-parent")
        return dataclasses.replace(update, parent_id=draw(st.sampled_from(others)))
    if kind == "missing_options":
        return _missing_options(draw, view)
    if kind == "out_of_range":
        return _out_of_range(draw, view)
    if kind == "bad_field":
        field = draw(st.sampled_from(["id", "name", "sub_type"]))
        base: OperationUpdate | None = None
        if field != "id":  # a bad Name or SubType may come with any update
            base = _on_existing(draw, view, _allowed_actions) if draw(_BOOLS) else None
        if base is None:
            base = _new_start(draw, view)
        extremes = _valid_extremes()
        bad = {"id": _bad_ids(), "name": _bad_names(), "sub_type": _bad_sub_types()}[field]
        value = draw(st.sampled_from([extremes[field], *bad]))
        fields: dict[str, Any] = {field: value}
        return dataclasses.replace(base, **fields)
    if kind == "bad_invoke":
        update = _new_start(draw, view)
        fn = draw(
            st.sampled_from(
                ["", "has space", "fn:", "x" * (limits["function_name"] + 1), "arn:aws:s3:::b"]
            )
        )
        tenant = draw(st.sampled_from([None, "", "tab\tnot-allowed", "t" * (limits["tenant"] + 1)]))
        if tenant is not None and draw(_BOOLS):
            fn = "target-function"
        return dataclasses.replace(
            update,
            type=OperationType.CHAINED_INVOKE,
            wait_options=None,
            callback_options=None,
            chained_invoke_options=ChainedInvokeOptions(fn, tenant),
        )
    if kind == "close_execution":
        return _execution_update(draw, view)
    if kind == "stray_options":
        base = _on_existing(draw, view, _allowed_actions)
        if base is None:
            base = _new_start(draw, view)
        stray: dict[str, Any] = draw(
            st.sampled_from(
                [
                    {"wait_options": WaitOptions(0)},
                    {"wait_options": WaitOptions(limits["wait"] + 1)},
                    {"step_options": StepOptions(0)},
                    {"callback_options": CallbackOptions(-1, None)},
                    {"chained_invoke_options": ChainedInvokeOptions("has space")},
                ]
            )
        )
        # Only options the update does not use (else this is ``out_of_range``).
        stray = {k: v for k, v in stray.items() if getattr(base, k) is None}
        return dataclasses.replace(base, **stray)
    if kind == "big_payload":
        return _big_payload(draw, view)
    return _new_start(draw, view)


def _missing_options(draw: st.DrawFn, view: _View) -> OperationUpdate:
    which = draw(st.sampled_from(["wait", "retry", "invoke"]))
    if which == "wait":
        update = _new_start(draw, view)
        options = draw(st.sampled_from([None, WaitOptions(None)]))
        return dataclasses.replace(
            update,
            type=OperationType.WAIT,
            callback_options=None,
            chained_invoke_options=None,
            wait_options=options,
        )
    if which == "retry":
        started = [
            i
            for i in view.existing()
            if view.ops[i] == (OperationType.STEP, OperationStatus.STARTED)
        ]
        op_id = draw(st.sampled_from(started)) if started else view.absent(0)
        step_options = draw(st.sampled_from([None, StepOptions(None)]))
        return OperationUpdate(
            op_id, OperationType.STEP, OperationAction.RETRY, step_options=step_options
        )
    update = _new_start(draw, view)
    invoke_options = draw(
        st.sampled_from([None, ChainedInvokeOptions(None), ChainedInvokeOptions(None, "t")])
    )
    return dataclasses.replace(
        update,
        type=OperationType.CHAINED_INVOKE,
        wait_options=None,
        callback_options=None,
        chained_invoke_options=invoke_options,
    )


def _out_of_range(draw: st.DrawFn, view: _View) -> OperationUpdate:
    limits = _limits()
    which = draw(st.sampled_from(["wait", "retry", "callback"]))
    update = _new_start(draw, view)
    if which == "wait":
        return dataclasses.replace(
            update,
            type=OperationType.WAIT,
            callback_options=None,
            chained_invoke_options=None,
            wait_options=WaitOptions(draw(_bad_seconds(limits["wait"]))),
        )
    if which == "retry":
        started = [
            i
            for i in view.existing()
            if view.ops[i] == (OperationType.STEP, OperationStatus.STARTED)
        ]
        op_id = draw(st.sampled_from(started)) if started else view.absent(0)
        delay = draw(_bad_seconds(limits["delay"]))
        return OperationUpdate(
            op_id, OperationType.STEP, OperationAction.RETRY, step_options=StepOptions(delay)
        )
    timeout, heartbeat = draw(st.sampled_from([(-1, None), (None, -1), (-5, 10), (0, 0)]))
    return dataclasses.replace(
        update,
        type=OperationType.CALLBACK,
        wait_options=None,
        chained_invoke_options=None,
        callback_options=CallbackOptions(timeout, heartbeat),
    )


def _execution_update(draw: st.DrawFn, view: _View) -> OperationUpdate:
    """An EXECUTION update with one flaw: an action it never takes, a FAIL carrying a Payload,
    a ParentId or a malformed Id. (Valid closes come from ``checkpoint_batches``' ``close``
    flavour, or from ``allowed`` never: the SDK closes the execution once, at its end.)"""
    flaw = draw(st.sampled_from(["action", "payload_on_fail", "parent", "bad_id"]))
    op_id = draw(st.sampled_from([view.execution_id, "execution-result-1700000000000"]))
    action = draw(_CLOSE_ACTIONS)
    if flaw == "action":
        action = draw(st.sampled_from(_forbidden_actions(OperationType.EXECUTION, None)))
    update = OperationUpdate(
        op_id, OperationType.EXECUTION, action, **_valid_body(draw, OperationType.EXECUTION, action)
    )
    if flaw == "payload_on_fail":
        return dataclasses.replace(update, action=OperationAction.FAIL, payload='"not allowed"')
    if flaw == "parent":
        parent = draw(st.sampled_from(sorted(view.ops) or ["no-such-parent"]))
        return dataclasses.replace(update, parent_id=parent)
    if flaw == "bad_id":
        return dataclasses.replace(update, id=draw(st.sampled_from(_bad_ids())))
    return update


def _big_payload(draw: st.DrawFn, view: _View) -> OperationUpdate:
    limit = _limits()["payload"]
    base = _on_existing(draw, view, _allowed_actions) if draw(_BOOLS) else None
    if base is None:
        base = _new_start(draw, view)
    size = draw(st.sampled_from(["small", "small", "at_limit", "over_limit", "multibyte"]))
    payload: str
    if size == "small":
        payload = _big("p", draw(st.sampled_from([1024, 65536])))
    elif size == "at_limit":
        payload = _big("p", limit)
    elif size == "over_limit":
        payload = _big("p", limit + 1)
    else:
        # Within the limit in characters, over it in UTF-8 bytes.
        payload = _big("\u00e9", limit // 2 + 1)
    return dataclasses.replace(base, payload=payload)


def operation_updates(
    operations: OperationsSource = dict,
    *,
    execution_id: str = DEFAULT_EXECUTION_ID,
    focus: Sequence[str] = (),
    valid: bool | None = None,
    kinds: Sequence[str] | None = None,
    raw: bool = False,
) -> st.SearchStrategy[OperationUpdate]:
    """One update against ``operations`` (a snapshot, or a callable returning the current one).

    ``focus`` names existing ids to prefer. ``valid`` restricts the kinds (see the module
    docstring); ``kinds`` names them explicitly. ``raw=True`` mixes in schema-drawn shapes
    (it needs ``hypothesis-jsonschema``: ``InvalidArgument`` without it).
    """
    strategy = _one_update(operations, execution_id, tuple(focus), _pick_kinds(valid, kinds))
    if raw:
        strategy = st.one_of(strategy, raw_operation_updates())
    return strategy


def _pick_kinds(valid: bool | None, kinds: Sequence[str] | None) -> tuple[str, ...]:
    if kinds is not None:
        unknown = set(kinds) - set(UPDATE_KINDS)
        if unknown or not kinds:
            msg = f"unknown update kinds {sorted(unknown)}; choose from {UPDATE_KINDS}"
            raise InvalidArgument(msg)
        return tuple(kinds)
    if valid is None:
        return _MIXED
    return _VALID_ONLY if valid else _INVALID_ONLY


def checkpoint_batches(
    operations: OperationsSource = dict,
    *,
    execution_id: str = DEFAULT_EXECUTION_ID,
    focus: Sequence[str] = (),
    valid: bool | None = None,
    kinds: Sequence[str] | None = None,
    min_size: int = 1,
    max_size: int = 6,
) -> st.SearchStrategy[list[OperationUpdate]]:
    """A checkpoint's ``Updates`` against ``operations``.

    Updates are drawn in order against the state as the earlier ones of the batch would leave
    it (assuming each update the table allows applies), so START-then-SUCCEED of one id in one
    call comes up.

    Unless ``valid`` or ``kinds`` restrict them, batches come in flavours: ``mixed`` (any kind
    per update, so most batches of several updates hold an invalid one), ``valid`` (valid kinds
    only, so the state grows: retries, READY steps, finished contexts), and rarely ``close``
    (valid updates ending with the EXECUTION's SUCCEED or FAIL, sometimes followed by one more
    update, which must then be refused) or ``count_limit`` (250 or 251 updates).
    """
    if not 0 <= min_size <= max_size:
        msg = f"checkpoint_batches needs 0 <= min_size <= max_size, got {min_size} and {max_size}"
        raise InvalidArgument(msg)
    flavoured = valid is None and kinds is None
    return _batch(
        operations,
        execution_id,
        tuple(focus),
        _pick_kinds(valid, kinds),
        flavours=_FLAVOURS if flavoured else _PLAIN,
        min_size=min_size,
        max_size=max_size,
    )


# Composites are defined once, at module level: defining one costs a source inspection.


@st.composite
def _one_update(
    draw: st.DrawFn,
    operations: OperationsSource,
    execution_id: str,
    focus: tuple[str, ...],
    weighted: tuple[str, ...],
) -> OperationUpdate:
    view = _View.of(operations, execution_id, focus)
    return _update_kind(draw, view, draw(st.sampled_from(weighted)))


_FLAVOURS = st.sampled_from(["mixed"] * 40 + ["valid"] * 38 + ["close", "count_limit"])
_PLAIN = st.just("mixed")
_COUNTS = st.sampled_from([250, 251])
_VALID_KINDS = st.sampled_from(_VALID_ONLY)


@st.composite
def _batch(
    draw: st.DrawFn,
    operations: OperationsSource,
    execution_id: str,
    focus: tuple[str, ...],
    weighted: tuple[str, ...],
    *,
    flavours: st.SearchStrategy[str],
    min_size: int,
    max_size: int,
) -> list[OperationUpdate]:
    view = _View.of(operations, execution_id, focus)
    flavour = draw(flavours)
    if flavour == "count_limit":
        count = draw(_COUNTS)
        first = view.absent(0)
        return [
            OperationUpdate(f"{first}-{k}", OperationType.STEP, OperationAction.START)
            for k in range(count)
        ]
    kinds = st.sampled_from(weighted) if flavour == "mixed" else _VALID_KINDS
    closing = flavour == "close"
    # Decided before the leading updates, so that a failing batch shrinks by dropping them.
    trailing = closing and draw(_BOOLS) and draw(_BOOLS)
    size = draw(
        st.integers(max(min_size - 1, 0), max_size - 1)
        if closing
        else st.integers(min_size, max_size)
    )
    updates: list[OperationUpdate] = []
    for _ in range(size):
        update = _update_kind(draw, view, draw(kinds))
        view.apply(update)
        updates.append(update)
    if closing:
        updates.append(_closing(draw, view))
        if trailing:  # must then be refused: nothing follows the close
            updates.append(_new_start(draw, view))
    return updates


_CLOSE_ACTIONS = st.sampled_from([OperationAction.SUCCEED, OperationAction.FAIL])


def _closing(draw: st.DrawFn, view: _View) -> OperationUpdate:
    """A valid EXECUTION SUCCEED or FAIL."""
    action = draw(_CLOSE_ACTIONS)
    op_id = draw(st.sampled_from([view.execution_id, "execution-result-1700000000000"]))
    return OperationUpdate(
        op_id, OperationType.EXECUTION, action, **_valid_body(draw, OperationType.EXECUTION, action)
    )


def raw_operation_updates() -> st.SearchStrategy[OperationUpdate]:
    """Updates drawn from the ``OperationUpdate`` JSON Schema; needs ``hypothesis-jsonschema``
    (not a dependency): ``InvalidArgument`` without it."""
    try:
        from hypothesis_jsonschema import from_schema  # type: ignore[import-not-found]
    except ImportError:
        msg = (
            "raw schema-drawn updates need hypothesis-jsonschema, which is not installed; "
            "install a release that works with your Hypothesis, or drop raw=True"
        )
        raise InvalidArgument(msg) from None
    schema = load_schema("OperationUpdate")
    shapes: st.SearchStrategy[dict[str, Any]] = from_schema(schema)
    return shapes.map(OperationUpdate.from_dict)
