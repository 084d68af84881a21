"""``Operation``, ``OperationUpdate`` and their parts, as in Lambda's service model."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from async_durable_execution_runner._models._frozen import cheap_frozen, maker
from async_durable_execution_runner._models._time import parse_timestamp, to_epoch_seconds


class OperationType(str, Enum):
    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class OperationAction(str, Enum):
    START = "START"
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    RETRY = "RETRY"
    CANCEL = "CANCEL"


class OperationStatus(str, Enum):
    STARTED = "STARTED"
    PENDING = "PENDING"
    READY = "READY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        OperationStatus.SUCCEEDED,
        OperationStatus.FAILED,
        OperationStatus.CANCELLED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
    }
)


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


@cheap_frozen
@dataclass(frozen=True, slots=True)
class ErrorObject:
    """``ErrorObject``: what failed, as the SDK reports it."""

    error_type: str | None = None
    error_message: str | None = None
    error_data: str | None = None
    stack_trace: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        # ``_put`` inline: every failed attempt's history event holds one.
        out: dict[str, Any] = {}
        value = self.error_message
        if value is not None:
            out["ErrorMessage"] = value
        value = self.error_type
        if value is not None:
            out["ErrorType"] = value
        value = self.error_data
        if value is not None:
            out["ErrorData"] = value
        if self.stack_trace is not None:
            out["StackTrace"] = list(self.stack_trace)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorObject:
        trace = data.get("StackTrace")
        return cls(
            error_type=data.get("ErrorType"),
            error_message=data.get("ErrorMessage"),
            error_data=data.get("ErrorData"),
            stack_trace=tuple(trace) if trace is not None else None,
        )

    @property
    def type(self) -> str | None:
        return self.error_type

    @property
    def message(self) -> str | None:
        return self.error_message


@cheap_frozen
@dataclass(frozen=True, slots=True)
class ContextOptions:
    replay_children: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "ReplayChildren", self.replay_children)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContextOptions:
        return cls(replay_children=data.get("ReplayChildren"))


@cheap_frozen
@dataclass(frozen=True, slots=True)
class StepOptions:
    next_attempt_delay_seconds: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "NextAttemptDelaySeconds", self.next_attempt_delay_seconds)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepOptions:
        return cls(next_attempt_delay_seconds=data.get("NextAttemptDelaySeconds"))


@cheap_frozen
@dataclass(frozen=True, slots=True)
class WaitOptions:
    wait_seconds: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "WaitSeconds", self.wait_seconds)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaitOptions:
        return cls(wait_seconds=data.get("WaitSeconds"))


@cheap_frozen
@dataclass(frozen=True, slots=True)
class CallbackOptions:
    timeout_seconds: int | None = None
    heartbeat_timeout_seconds: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "TimeoutSeconds", self.timeout_seconds)
        _put(out, "HeartbeatTimeoutSeconds", self.heartbeat_timeout_seconds)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallbackOptions:
        return cls(
            timeout_seconds=data.get("TimeoutSeconds"),
            heartbeat_timeout_seconds=data.get("HeartbeatTimeoutSeconds"),
        )


@cheap_frozen
@dataclass(frozen=True, slots=True)
class ChainedInvokeOptions:
    function_name: str | None = None
    tenant_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "FunctionName", self.function_name)
        _put(out, "TenantId", self.tenant_id)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainedInvokeOptions:
        return cls(function_name=data.get("FunctionName"), tenant_id=data.get("TenantId"))


_OPTION_FIELDS: tuple[tuple[str, str, Any], ...] = (
    ("context_options", "ContextOptions", ContextOptions),
    ("step_options", "StepOptions", StepOptions),
    ("wait_options", "WaitOptions", WaitOptions),
    ("callback_options", "CallbackOptions", CallbackOptions),
    ("chained_invoke_options", "ChainedInvokeOptions", ChainedInvokeOptions),
)


@cheap_frozen
@dataclass(frozen=True, slots=True)
class OperationUpdate:
    """One element of ``CheckpointDurableExecution``'s ``Updates``."""

    id: str
    type: OperationType
    action: OperationAction
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    payload: str | None = None
    error: ErrorObject | None = None
    context_options: ContextOptions | None = None
    step_options: StepOptions | None = None
    wait_options: WaitOptions | None = None
    callback_options: CallbackOptions | None = None
    chained_invoke_options: ChainedInvokeOptions | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Id": self.id, "Type": self.type.value, "Action": self.action.value}
        _put(out, "ParentId", self.parent_id)
        _put(out, "Name", self.name)
        _put(out, "SubType", self.sub_type)
        _put(out, "Payload", self.payload)
        if self.error is not None:
            out["Error"] = self.error.to_dict()
        for attr, key, _cls in _OPTION_FIELDS:
            value = getattr(self, attr)
            if value is not None:
                out[key] = value.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationUpdate:
        """Parse a wire update; raises ``KeyError``/``ValueError`` on a malformed one."""
        error = data.get("Error")
        options = {
            attr: option_cls.from_dict(data[key])
            for attr, key, option_cls in _OPTION_FIELDS
            if data.get(key) is not None
        }
        return cls(
            id=data["Id"],
            type=OperationType(data["Type"]),
            action=OperationAction(data["Action"]),
            parent_id=data.get("ParentId"),
            name=data.get("Name"),
            sub_type=data.get("SubType"),
            payload=data.get("Payload"),
            error=ErrorObject.from_dict(error) if error is not None else None,
            **options,
        )


@cheap_frozen
@dataclass(frozen=True, slots=True)
class ExecutionDetails:
    input_payload: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"InputPayload": self.input_payload} if self.input_payload is not None else {}


@cheap_frozen
@dataclass(frozen=True, slots=True)
class ContextDetails:
    replay_children: bool | None = None
    result: str | None = None
    error: ErrorObject | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "ReplayChildren", self.replay_children)
        _put(out, "Result", self.result)
        if self.error is not None:
            out["Error"] = self.error.to_dict()
        return out


@cheap_frozen
@dataclass(frozen=True, slots=True)
class StepDetails:
    attempt: int = 0
    next_attempt_timestamp: _dt.datetime | None = None
    result: str | None = None
    error: ErrorObject | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Attempt": self.attempt}
        _put(out, "NextAttemptTimestamp", self.next_attempt_timestamp)
        _put(out, "Result", self.result)
        if self.error is not None:
            out["Error"] = self.error.to_dict()
        return out


@cheap_frozen
@dataclass(frozen=True, slots=True)
class WaitDetails:
    scheduled_end_timestamp: _dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "ScheduledEndTimestamp", self.scheduled_end_timestamp)
        return out


@cheap_frozen
@dataclass(frozen=True, slots=True)
class CallbackDetails:
    callback_id: str
    result: str | None = None
    error: ErrorObject | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"CallbackId": self.callback_id}
        _put(out, "Result", self.result)
        if self.error is not None:
            out["Error"] = self.error.to_dict()
        return out


@cheap_frozen
@dataclass(frozen=True, slots=True)
class ChainedInvokeDetails:
    result: str | None = None
    error: ErrorObject | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        _put(out, "Result", self.result)
        if self.error is not None:
            out["Error"] = self.error.to_dict()
        return out


_DETAIL_FIELDS: tuple[tuple[str, str], ...] = (
    ("execution_details", "ExecutionDetails"),
    ("context_details", "ContextDetails"),
    ("step_details", "StepDetails"),
    ("wait_details", "WaitDetails"),
    ("callback_details", "CallbackDetails"),
    ("chained_invoke_details", "ChainedInvokeDetails"),
)


def _error_or_none(data: Mapping[str, Any]) -> ErrorObject | None:
    error = data.get("Error")
    return ErrorObject.from_dict(error) if error is not None else None


def _optional_time(value: Any) -> _dt.datetime | None:
    return parse_timestamp(value) if value is not None else None


@cheap_frozen
@dataclass(frozen=True, slots=True)
class Operation:
    """An ``Operation`` as ``GetDurableExecutionState`` returns it."""

    id: str
    type: OperationType
    status: OperationStatus
    start_timestamp: _dt.datetime
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    end_timestamp: _dt.datetime | None = None
    execution_details: ExecutionDetails | None = None
    context_details: ContextDetails | None = None
    step_details: StepDetails | None = None
    wait_details: WaitDetails | None = None
    callback_details: CallbackDetails | None = None
    chained_invoke_details: ChainedInvokeDetails | None = None

    def to_dict(self) -> dict[str, Any]:
        """boto3's shape: timestamps stay ``datetime``."""
        out: dict[str, Any] = {"Id": self.id}
        _put(out, "ParentId", self.parent_id)
        _put(out, "Name", self.name)
        out["Type"] = self.type.value
        _put(out, "SubType", self.sub_type)
        out["StartTimestamp"] = self.start_timestamp
        _put(out, "EndTimestamp", self.end_timestamp)
        out["Status"] = self.status.value
        for attr, key in _DETAIL_FIELDS:
            value = getattr(self, attr)
            if value is not None:
                out[key] = value.to_dict()
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """The wire shape: timestamps as epoch seconds."""
        wire: dict[str, Any] = to_json_ready(self.to_dict())
        return wire

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        ex = data.get("ExecutionDetails")
        ctx = data.get("ContextDetails")
        step = data.get("StepDetails")
        wait = data.get("WaitDetails")
        cb = data.get("CallbackDetails")
        inv = data.get("ChainedInvokeDetails")
        return cls(
            id=data["Id"],
            type=OperationType(data["Type"]),
            status=OperationStatus(data["Status"]),
            start_timestamp=parse_timestamp(data["StartTimestamp"]),
            parent_id=data.get("ParentId"),
            name=data.get("Name"),
            sub_type=data.get("SubType"),
            end_timestamp=_optional_time(data.get("EndTimestamp")),
            execution_details=ExecutionDetails(ex.get("InputPayload")) if ex is not None else None,
            context_details=(
                ContextDetails(ctx.get("ReplayChildren"), ctx.get("Result"), _error_or_none(ctx))
                if ctx is not None
                else None
            ),
            step_details=(
                StepDetails(
                    step.get("Attempt", 0),
                    _optional_time(step.get("NextAttemptTimestamp")),
                    step.get("Result"),
                    _error_or_none(step),
                )
                if step is not None
                else None
            ),
            wait_details=(
                WaitDetails(_optional_time(wait.get("ScheduledEndTimestamp")))
                if wait is not None
                else None
            ),
            callback_details=(
                CallbackDetails(cb["CallbackId"], cb.get("Result"), _error_or_none(cb))
                if cb is not None
                else None
            ),
            chained_invoke_details=(
                ChainedInvokeDetails(inv.get("Result"), _error_or_none(inv))
                if inv is not None
                else None
            ),
        )


#: ``Operation(...)``, without ``type.__call__`` (see ``maker``): every update makes one.
make_operation = maker(Operation)
#: Likewise for ``OperationUpdate`` (every update read from the SDK) and ``StepDetails``.
make_update = maker(OperationUpdate)
make_step_details = maker(StepDetails)
#: And ``ErrorObject`` (every failed or retried attempt's error read from the SDK).
make_error = maker(ErrorObject)


def with_status(
    op: Operation, status: OperationStatus, end_timestamp: _dt.datetime | None
) -> Operation:
    """``replace(op, status=status, end_timestamp=end_timestamp)``: the service moves
    operations this way on every timer and cancellation."""
    return settled(op, status, end_timestamp, op.context_details, op.step_details)


def settled(
    op: Operation,
    status: OperationStatus,
    end_timestamp: _dt.datetime | None,
    context_details: ContextDetails | None,
    step_details: StepDetails | None,
) -> Operation:
    """``replace(op, status=..., end_timestamp=..., context_details=..., step_details=...)``,
    positionally (in the field order): every step attempt, child context and map item ends
    with one, and the generic ``replace`` costs about three times as much."""
    return make_operation(
        op.id,
        op.type,
        status,
        op.start_timestamp,
        op.parent_id,
        op.name,
        op.sub_type,
        end_timestamp,
        op.execution_details,
        context_details,
        step_details,
        op.wait_details,
        op.callback_details,
        op.chained_invoke_details,
    )


def to_json_ready(value: Any) -> Any:
    """Replace datetimes by epoch seconds, recursively, as AWS JSON puts them on the wire."""
    if isinstance(value, _dt.datetime):
        return to_epoch_seconds(value)
    if isinstance(value, dict):
        return {k: to_json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_ready(v) for v in value]
    return value
