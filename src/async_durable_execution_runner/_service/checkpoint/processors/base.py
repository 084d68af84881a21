"""What a processor sees and what it returns."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from async_durable_execution_runner._models import (
    ErrorObject,
    EventType,
    Operation,
    OperationStatus,
    OperationUpdate,
)
from async_durable_execution_runner._models._frozen import cheap_frozen


@cheap_frozen
@dataclass(frozen=True, slots=True)
class ProcessContext:
    """The service-side facts a processor may use."""

    now: _dt.datetime
    execution_arn: str
    execution_id: str
    new_callback_id: Callable[[str], str]


#: The details of an event that has none (read-only: shared by every such event).
NO_DETAILS: Mapping[str, Any] = MappingProxyType({})


class PendingEvent(NamedTuple):
    """A history event still without ``EventId`` (the history assigns it on commit).

    A named tuple rather than a frozen dataclass: one or two are made for every update, and a
    tuple is built in one step (the history copies ``details`` into the ``Event``)."""

    event_type: EventType
    details: Mapping[str, Any] = NO_DETAILS


# Effects: what the service must do once the checkpoint is committed.


@cheap_frozen
@dataclass(frozen=True, slots=True)
class StartTimer:
    kind: str  # a scheduler.DueKind value
    operation_id: str
    due: _dt.datetime


@cheap_frozen
@dataclass(frozen=True, slots=True)
class CancelTimers:
    operation_id: str


@cheap_frozen
@dataclass(frozen=True, slots=True)
class CloseExecution:
    """The SDK checkpointed the execution's own result (large results do this)."""

    succeeded: bool
    result: str | None = None
    error: ErrorObject | None = None


@cheap_frozen
@dataclass(frozen=True, slots=True)
class RequestInvoke:
    operation_id: str
    function_name: str
    payload: str | None
    tenant_id: str | None = None


@cheap_frozen
@dataclass(frozen=True, slots=True)
class CancelInvoke:
    operation_id: str


@cheap_frozen
@dataclass(frozen=True, slots=True)
class RegisterCallback:
    callback_id: str
    operation_id: str


Effect = (
    StartTimer | CancelTimers | CloseExecution | RequestInvoke | CancelInvoke | RegisterCallback
)


class Processed(NamedTuple):
    """What a processor (or a service-side change) does to one operation; a named tuple for
    the same reason as ``PendingEvent`` (one per update)."""

    operation: Operation
    events: tuple[PendingEvent, ...] = ()
    effects: tuple[Effect, ...] = ()


class OperationProcessor(Protocol):
    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        """Apply an update the validators accepted. Must not mutate anything."""
        ...


def new_operation(update: OperationUpdate, ctx: ProcessContext, **details: Any) -> Operation:
    """The operation an accepted START creates."""
    return Operation(
        id=update.id,
        type=update.type,
        status=OperationStatus.STARTED,
        start_timestamp=ctx.now,
        parent_id=update.parent_id,
        name=update.name,
        sub_type=update.sub_type,
        **details,
    )
