"""What a test gets back: ``DurableFunctionTestResult`` and typed views of its operations."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as _dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from async_durable_execution import ExtendedTypeSerDes, InvocationStatus, SerDes

from async_durable_execution_runner._models import (
    ErrorObject,
    Event,
    EventType,
    Operation,
    OperationStatus,
    OperationType,
)
from async_durable_execution_runner._service.execution import Execution, ExecutionStatus
from async_durable_execution_runner._service.seams import InvocationInfo
from async_durable_execution_runner.errors import OperationLookupError

# The SDK's InvocationStatus has no TIMED_OUT or STOPPED: like the AWS testing library, an
# execution that timed out or was stopped reports FAILED there, and the full status stays in
# ``execution_status``.
_INVOCATION_STATUS: dict[ExecutionStatus, Any] = {
    ExecutionStatus.RUNNING: InvocationStatus.PENDING,
    ExecutionStatus.SUCCEEDED: InvocationStatus.SUCCEEDED,
    ExecutionStatus.FAILED: InvocationStatus.FAILED,
    ExecutionStatus.TIMED_OUT: InvocationStatus.FAILED,
    ExecutionStatus.STOPPED: InvocationStatus.FAILED,
}


def deserialize(payload: str | None, serdes: SerDes[Any] | None = None) -> Any:
    """A result payload as the handler's value, read with ``serdes`` (default: the SDK's
    ``ExtendedTypeSerDes``, which the SDK writes results with; text it cannot read is read as
    plain JSON, as the AWS testing library does)."""
    if not payload:
        return None
    if serdes is None:
        default = ExtendedTypeSerDes[Any]()
        try:
            return default.deserialize_sync(payload)
        except Exception:
            return json.loads(payload)
    sync = getattr(serdes, "deserialize_sync", None)
    if callable(sync):
        return sync(payload)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(serdes.deserialize(payload))
    # Called from inside an event loop (an async test): run the coroutine on another thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, serdes.deserialize(payload)).result()


def invocation_status(status: ExecutionStatus) -> InvocationStatus:
    """The SDK's ``InvocationStatus`` for an execution status (PENDING while it runs)."""
    return _INVOCATION_STATUS[status]


@dataclass(frozen=True)
class OperationView:
    """Common fields of every operation; ``raw`` is the stored ``Operation``."""

    raw: Operation
    children: tuple[OperationView, ...] = field(default=(), repr=False)

    @property
    def id(self) -> str:
        return self.raw.id

    @property
    def name(self) -> str | None:
        return self.raw.name

    @property
    def type(self) -> OperationType:
        return self.raw.type

    @property
    def sub_type(self) -> str | None:
        return self.raw.sub_type

    @property
    def status(self) -> OperationStatus:
        return self.raw.status

    @property
    def parent_id(self) -> str | None:
        return self.raw.parent_id

    @property
    def start_timestamp(self) -> _dt.datetime:
        return self.raw.start_timestamp

    @property
    def end_timestamp(self) -> _dt.datetime | None:
        return self.raw.end_timestamp

    def deserialized_result(self, serdes: SerDes[Any] | None = None) -> Any:
        """The operation's result as the handler's value (``result`` is the raw JSON text),
        read with the SDK's serdes (see :func:`deserialize`); ``None`` if it has none."""
        return deserialize(getattr(self, "result", None), serdes)

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"{kind}(name={self.name!r}, status={self.status.value}, id={self.id[:12]}...)"


@dataclass(frozen=True, repr=False)
class StepOperation(OperationView):
    @property
    def result(self) -> str | None:
        """The step's result as the JSON string the SDK checkpointed."""
        return self.raw.step_details.result if self.raw.step_details else None

    @property
    def error(self) -> ErrorObject | None:
        return self.raw.step_details.error if self.raw.step_details else None

    @property
    def attempt(self) -> int:
        """How many attempts have finished (``StepDetails.Attempt``)."""
        return self.raw.step_details.attempt if self.raw.step_details else 0

    @property
    def next_attempt_timestamp(self) -> _dt.datetime | None:
        return self.raw.step_details.next_attempt_timestamp if self.raw.step_details else None


@dataclass(frozen=True, repr=False)
class WaitOperation(OperationView):
    @property
    def scheduled_end_timestamp(self) -> _dt.datetime | None:
        return self.raw.wait_details.scheduled_end_timestamp if self.raw.wait_details else None


ViewT = TypeVar("ViewT", bound=OperationView)


class _Lookup:
    """Name lookups over a set of operation views."""

    def _views(self) -> Sequence[OperationView]:
        raise NotImplementedError

    def _find(self, name: str, cls: type[ViewT], op_type: OperationType | None) -> ViewT:
        matches = [
            v
            for v in self._views()
            if v.name == name and isinstance(v, cls) and (op_type is None or v.type is op_type)
        ]
        if len(matches) == 1:
            return matches[0]
        wanted = op_type.value if op_type is not None else "operation"
        listing = (
            "; ".join(f"{v.type.value} {v.name!r} ({v.status.value})" for v in self._views())
            or "none"
        )
        if not matches:
            msg = f"no {wanted} named {name!r}; the operations here are: {listing}"
        else:
            msg = (
                f"{len(matches)} {wanted}s are named {name!r}; look them up by id in "
                f"`.operations` instead. The operations here are: {listing}"
            )
        raise OperationLookupError(msg)

    def get_step(self, name: str) -> StepOperation:
        return self._find(name, StepOperation, OperationType.STEP)

    def get_wait(self, name: str) -> WaitOperation:
        return self._find(name, WaitOperation, OperationType.WAIT)

    def get_context(self, name: str) -> ContextOperation:
        return self._find(name, ContextOperation, OperationType.CONTEXT)

    def get_callback(self, name: str) -> CallbackOperation:
        return self._find(name, CallbackOperation, OperationType.CALLBACK)

    def get_invoke(self, name: str) -> InvokeOperation:
        return self._find(name, InvokeOperation, OperationType.CHAINED_INVOKE)

    def get_operation(self, name: str) -> OperationView:
        return self._find(name, OperationView, None)


@dataclass(frozen=True, repr=False)
class ContextOperation(OperationView, _Lookup):
    @property
    def result(self) -> str | None:
        return self.raw.context_details.result if self.raw.context_details else None

    @property
    def error(self) -> ErrorObject | None:
        return self.raw.context_details.error if self.raw.context_details else None

    @property
    def replay_children(self) -> bool:
        details = self.raw.context_details
        return bool(details.replay_children) if details else False

    def _views(self) -> Sequence[OperationView]:
        return _flatten(self.children)


@dataclass(frozen=True, repr=False)
class CallbackOperation(OperationView):
    @property
    def callback_id(self) -> str | None:
        return self.raw.callback_details.callback_id if self.raw.callback_details else None

    @property
    def result(self) -> str | None:
        return self.raw.callback_details.result if self.raw.callback_details else None

    @property
    def error(self) -> ErrorObject | None:
        return self.raw.callback_details.error if self.raw.callback_details else None


@dataclass(frozen=True, repr=False)
class InvokeOperation(OperationView):
    @property
    def result(self) -> str | None:
        details = self.raw.chained_invoke_details
        return details.result if details else None

    @property
    def error(self) -> ErrorObject | None:
        details = self.raw.chained_invoke_details
        return details.error if details else None


_VIEW_CLASSES: dict[OperationType, type[OperationView]] = {
    OperationType.STEP: StepOperation,
    OperationType.WAIT: WaitOperation,
    OperationType.CONTEXT: ContextOperation,
    OperationType.CALLBACK: CallbackOperation,
    OperationType.CHAINED_INVOKE: InvokeOperation,
}


def _flatten(views: Sequence[OperationView]) -> list[OperationView]:
    out: list[OperationView] = []
    for v in views:
        out.append(v)
        out.extend(_flatten(v.children))
    return out


def build_views(operations: Iterable[Operation]) -> tuple[OperationView, ...]:
    """Top-level views (the EXECUTION operation excluded), children nested under contexts."""
    children: dict[str | None, list[Operation]] = {}
    for op in operations:
        if op.type is not OperationType.EXECUTION:
            children.setdefault(op.parent_id, []).append(op)

    return tuple(_build_view(op, children) for op in children.get(None, ()))


def _build_view(op: Operation, children: Mapping[str | None, list[Operation]]) -> OperationView:
    # A module-level function: a nested recursive one is a reference cycle (through its own
    # closure cell) that keeps every operation alive until the garbage collector runs.
    cls = _VIEW_CLASSES.get(op.type, OperationView)
    below = children.get(op.id)
    kids = tuple([_build_view(c, children) for c in below]) if below else ()
    # ``cls(raw=op, children=kids)`` without the frozen ``__init__``'s ``object.__setattr__``
    # per field (a result has a view per operation): the same object.
    view = _new(cls)
    _set(view, "__dict__", {"raw": op, "children": kids})
    return view


_new = object.__new__
_set = object.__setattr__


@dataclass(frozen=True, repr=False)
class DurableFunctionTestResult(_Lookup):
    """A snapshot of one execution: outcome, operations, history and invocations.

    ``status`` is the SDK's own ``InvocationStatus`` (``from async_durable_execution import
    InvocationStatus``): SUCCEEDED, FAILED (timed-out and stopped executions included) or
    PENDING. ``execution_status`` is the service's full ``ExecutionStatus``: RUNNING,
    SUCCEEDED, FAILED, TIMED_OUT or STOPPED.
    """

    execution_arn: str
    execution_status: ExecutionStatus
    result: str | None
    error: ErrorObject | None
    operations: tuple[OperationView, ...]
    events: tuple[Event, ...]
    invocations: tuple[InvocationInfo, ...]

    @classmethod
    def from_execution(cls, execution: Execution) -> DurableFunctionTestResult:
        # ``cls(...)`` without the frozen ``__init__``'s ``object.__setattr__`` per field
        # (every ``run()`` returns one): the same object, as for the operation views.
        result = _new(cls)
        _set(
            result,
            "__dict__",
            {
                "execution_arn": execution.arn,
                "execution_status": execution.status,
                "result": execution.result,
                "error": execution.error,
                # Read once, right here: the views are a snapshot without a copied list.
                "operations": build_views(execution.operations.values()),
                "events": execution.events,
                "invocations": tuple(execution.invocations),
            },
        )
        return result

    @property
    def status(self) -> InvocationStatus:
        """The SDK's ``InvocationStatus``: ``result.status is InvocationStatus.SUCCEEDED``."""
        return invocation_status(self.execution_status)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Events in the shape of ``GetDurableExecutionHistory``'s ``Events`` (boto3's view)."""
        return [e.to_dict() for e in self.events]

    def history_json(self) -> str:
        """The history as wire JSON: byte-for-byte identical across identical runs."""
        return json.dumps([e.to_json_dict() for e in self.events], sort_keys=True)

    @property
    def result_value(self) -> Any:
        """The result decoded from JSON (``None`` when there is none)."""
        return json.loads(self.result) if self.result else None

    @property
    def all_operations(self) -> list[OperationView]:
        return _flatten(self.operations)

    def get_all_operations(self) -> list[OperationView]:
        """Every operation, nested ones included (children right after their context), as
        the AWS testing library's ``get_all_operations()``."""
        return _flatten(self.operations)

    def get_child_operations(self, operation: OperationView) -> list[OperationView]:
        """The operations directly inside ``operation`` (a context)."""
        return list(operation.children)

    def get_deserialized_result(self, serdes: SerDes[Any] | None = None) -> Any:
        """The execution's result as the handler returned it, read with the SDK's serdes
        (``result`` is the raw JSON text; ``result_value`` reads it as plain JSON)."""
        return deserialize(self.result, serdes)

    def get_operation_deserialized_result(
        self, operation: OperationView, serdes: SerDes[Any] | None = None
    ) -> Any:
        """``operation``'s result read with the SDK's serdes (the AWS testing library's name
        for ``operation.deserialized_result(serdes)``)."""
        return operation.deserialized_result(serdes)

    def _views(self) -> Sequence[OperationView]:
        return self.all_operations

    def events_of(self, event_type: EventType | str) -> list[Event]:
        wanted = EventType(event_type)
        return [e for e in self.events if e.event_type is wanted]

    def __str__(self) -> str:
        """The history as a table: invocations, nesting, offsets on the runner's clock."""
        from async_durable_execution_runner._runner.table import format_table

        return format_table(self.events, summary=True)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A self-contained HTML page with an SVG timeline; written to ``path`` if given.
        Returns the page."""
        from async_durable_execution_runner._runner.html_report import render_html

        name = self.execution_arn.rsplit("/", 2)[-2] if "/" in self.execution_arn else ""
        page = render_html(self.events, title=f"durable execution {name}".strip())
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
        return page

    def __repr__(self) -> str:
        return (
            f"DurableFunctionTestResult(execution_status={self.execution_status.value}, "
            f"result={self.result!r}, "
            f"error={self.error!r}, operations={len(self.all_operations)}, "
            f"events={len(self.events)}, invocations={len(self.invocations)})"
        )
