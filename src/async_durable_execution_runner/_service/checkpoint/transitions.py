"""The one table of allowed transitions: operation type x action -> statuses it may start from.

``None`` in a set stands for "no operation with this id exists yet". The validator, the
``operation_updates()`` strategy (to aim at the table's edges) and the transition oracle all
read this table; nothing else encodes which action is legal when.
"""

from __future__ import annotations

from collections.abc import Mapping

from async_durable_execution_runner._models import OperationAction, OperationStatus, OperationType

Action = OperationAction
Status = OperationStatus
Type = OperationType

#: A current status, or ``None`` for an operation that does not exist yet.
CurrentStatus = OperationStatus | None

TRANSITIONS: Mapping[tuple[OperationType, OperationAction], frozenset[CurrentStatus]] = {
    # The service creates the EXECUTION operation itself; the SDK may only close it.
    (Type.EXECUTION, Action.SUCCEED): frozenset({Status.STARTED}),
    (Type.EXECUTION, Action.FAIL): frozenset({Status.STARTED}),
    # A step starts fresh, or again once its retry timer made it READY.
    (Type.STEP, Action.START): frozenset({None, Status.READY}),
    (Type.STEP, Action.SUCCEED): frozenset({Status.STARTED}),
    (Type.STEP, Action.FAIL): frozenset({Status.STARTED}),
    (Type.STEP, Action.RETRY): frozenset({Status.STARTED}),
    # Waits are completed by the service's timer, never by the SDK.
    (Type.WAIT, Action.START): frozenset({None}),
    (Type.WAIT, Action.CANCEL): frozenset({Status.STARTED}),
    (Type.CONTEXT, Action.START): frozenset({None}),
    (Type.CONTEXT, Action.SUCCEED): frozenset({Status.STARTED}),
    (Type.CONTEXT, Action.FAIL): frozenset({Status.STARTED}),
    # Callbacks are completed through SendDurableExecutionCallback*, not checkpoints.
    (Type.CALLBACK, Action.START): frozenset({None}),
    (Type.CALLBACK, Action.CANCEL): frozenset({Status.STARTED}),
    (Type.CHAINED_INVOKE, Action.START): frozenset({None}),
    (Type.CHAINED_INVOKE, Action.CANCEL): frozenset({Status.STARTED}),
}

#: What each allowed transition leads to (before service-side changes such as timers).
RESULTING_STATUS: Mapping[OperationAction, OperationStatus] = {
    Action.START: Status.STARTED,
    Action.SUCCEED: Status.SUCCEEDED,
    Action.FAIL: Status.FAILED,
    Action.RETRY: Status.PENDING,
    Action.CANCEL: Status.CANCELLED,
}

ALL_CURRENT_STATUSES: tuple[CurrentStatus, ...] = (None, *OperationStatus)


def allowed_from(op_type: OperationType, action: OperationAction) -> frozenset[CurrentStatus]:
    """The statuses ``action`` may be applied from; empty if never allowed."""
    return TRANSITIONS.get((op_type, action), frozenset())


def is_allowed(
    op_type: OperationType, action: OperationAction, current: OperationStatus | None
) -> bool:
    return current in allowed_from(op_type, action)


def describe_allowed(op_type: OperationType, action: OperationAction) -> str:
    allowed = allowed_from(op_type, action)
    if not allowed:
        return f"{action.value} is never sent for {op_type.value} operations"
    names = sorted("a new operation" if s is None else s.value for s in allowed)
    return f"{action.value} on a {op_type.value} is allowed from: {', '.join(names)}"
