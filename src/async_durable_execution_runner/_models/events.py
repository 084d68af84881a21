"""History ``Event``s, as ``GetDurableExecutionHistory`` returns them."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from async_durable_execution_runner._models._frozen import cheap_frozen
from async_durable_execution_runner._models._time import parse_timestamp
from async_durable_execution_runner._models.operations import ErrorObject, to_json_ready


class EventType(str, Enum):
    EXECUTION_STARTED = "ExecutionStarted"
    EXECUTION_SUCCEEDED = "ExecutionSucceeded"
    EXECUTION_FAILED = "ExecutionFailed"
    EXECUTION_TIMED_OUT = "ExecutionTimedOut"
    EXECUTION_STOPPED = "ExecutionStopped"
    CONTEXT_STARTED = "ContextStarted"
    CONTEXT_SUCCEEDED = "ContextSucceeded"
    CONTEXT_FAILED = "ContextFailed"
    WAIT_STARTED = "WaitStarted"
    WAIT_SUCCEEDED = "WaitSucceeded"
    WAIT_CANCELLED = "WaitCancelled"
    STEP_STARTED = "StepStarted"
    STEP_SUCCEEDED = "StepSucceeded"
    STEP_FAILED = "StepFailed"
    CHAINED_INVOKE_STARTED = "ChainedInvokeStarted"
    CHAINED_INVOKE_SUCCEEDED = "ChainedInvokeSucceeded"
    CHAINED_INVOKE_FAILED = "ChainedInvokeFailed"
    CHAINED_INVOKE_TIMED_OUT = "ChainedInvokeTimedOut"
    CHAINED_INVOKE_STOPPED = "ChainedInvokeStopped"
    CALLBACK_STARTED = "CallbackStarted"
    CALLBACK_SUCCEEDED = "CallbackSucceeded"
    CALLBACK_FAILED = "CallbackFailed"
    CALLBACK_TIMED_OUT = "CallbackTimedOut"
    INVOCATION_COMPLETED = "InvocationCompleted"

    @property
    def details_key(self) -> str:
        return f"{self.value}Details"

    @property
    def is_terminal(self) -> bool:
        """Whether this event ends its operation (or the execution)."""
        return not self.value.endswith("Started") and self is not EventType.INVOCATION_COMPLETED


def event_result(payload: str | None) -> dict[str, Any]:
    """``EventResult``: the payload as stored, never truncated here."""
    out: dict[str, Any] = {"Truncated": False}
    if payload is not None:
        out["Payload"] = payload
    return out


def event_error(error: ErrorObject | None) -> dict[str, Any]:
    """``EventError``: the ``ErrorObject`` under ``Payload``."""
    return {"Payload": (error or ErrorObject()).to_dict(), "Truncated": False}


@cheap_frozen
@dataclass(frozen=True, slots=True)
class Event:
    """One history event. ``details`` is ``<EventType>Details`` in AWS field names."""

    event_id: int
    event_type: EventType
    event_timestamp: _dt.datetime
    id: str | None = None
    name: str | None = None
    parent_id: str | None = None
    sub_type: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """boto3's shape (timestamps as ``datetime``), keys in the service's order."""
        out: dict[str, Any] = {"EventType": self.event_type.value}
        if self.sub_type is not None:
            out["SubType"] = self.sub_type
        out["EventId"] = self.event_id
        if self.id is not None:
            out["Id"] = self.id
        if self.name is not None:
            out["Name"] = self.name
        out["EventTimestamp"] = self.event_timestamp
        if self.parent_id is not None:
            out["ParentId"] = self.parent_id
        out[self.event_type.details_key] = _copy(self.details)
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """The wire shape: timestamps as epoch seconds."""
        result: dict[str, Any] = to_json_ready(self.to_dict())
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        event_type = EventType(data["EventType"])
        return cls(
            event_id=int(data["EventId"]),
            event_type=event_type,
            event_timestamp=parse_timestamp(data["EventTimestamp"]),
            id=data.get("Id"),
            name=data.get("Name"),
            parent_id=data.get("ParentId"),
            sub_type=data.get("SubType"),
            details=dict(data.get(event_type.details_key) or {}),
        )


def _copy(value: Any) -> Any:
    # Events are handed to users; a caller mutating its dict must not change the stored history.
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
