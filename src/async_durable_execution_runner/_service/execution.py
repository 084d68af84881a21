"""One durable execution's stored state: operations, history, token, invocations."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from enum import Enum

from async_durable_execution_runner._models import ErrorObject, Event, Operation
from async_durable_execution_runner._service.history import History
from async_durable_execution_runner._service.ledger import ClientTokenLedger
from async_durable_execution_runner._service.seams import InvocationInfo
from async_durable_execution_runner._service.tokens import encode_token


class ExecutionStatus(str, Enum):
    """``GetDurableExecution``'s ``Status``."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        return self is not ExecutionStatus.RUNNING


@dataclass(slots=True)
class ClosedByCheckpoint:
    """The SDK checkpointed the execution's outcome (results too large to return)."""

    succeeded: bool
    result: str | None
    error: ErrorObject | None


# Slots: its fields are read on every delivery, checkpoint and invocation, and nothing
# adds attributes of its own (a store writes the fields it names, not a ``__dict__``).
@dataclass(eq=False, slots=True)
class Execution:
    arn: str
    execution_id: str
    name: str
    function_name: str
    input_payload: str | None
    timeout_seconds: int
    start: _dt.datetime
    history: History
    operations: dict[str, Operation] = field(default_factory=dict)
    # ``status is RUNNING``, kept by ``status``'s setter (below): a plain read, asked before
    # every delivery, wake, timer and invocation outcome. Before ``status``, so that
    # ``__init__`` sets it first and the status it is given then corrects it.
    is_open: bool = field(default=True, init=False, repr=False, compare=False)
    status: ExecutionStatus = ExecutionStatus.RUNNING
    result: str | None = None
    error: ErrorObject | None = None
    end: _dt.datetime | None = None
    token_sequence: int = 0
    invocations: list[InvocationInfo] = field(default_factory=list)
    invocation_active: bool = False
    # Something the handler waits on changed while it was running: re-invoke when it returns.
    wakeup_pending: bool = False
    closed_by_checkpoint: ClosedByCheckpoint | None = None
    consecutive_failed_invocations: int = 0
    parent: tuple[str, str] | None = None  # (execution arn, operation id) of a chained invoke
    callbacks: dict[str, str] = field(default_factory=dict)  # callback id -> operation id
    # What each checkpoint that named a ClientToken was answered (stored with the execution).
    client_tokens: ClientTokenLedger = field(default_factory=ClientTokenLedger)
    _token: str | None = field(default=None, repr=False)

    def current_token(self) -> str:
        if self._token is None:
            self._token = encode_token(self.execution_id, self.token_sequence)
        return self._token

    def next_token(self) -> str:
        """Supersede the current token (every checkpoint and invocation gets a new one)."""
        self.token_sequence += 1
        self._token = token = encode_token(self.execution_id, self.token_sequence)
        return token

    @property
    def events(self) -> tuple[Event, ...]:
        return self.history.events


def _status_property() -> property:
    """``Execution.status`` over its own slot, with a setter that keeps ``is_open`` (every
    writer, ``__init__`` included, goes through it). The getter is the slot's own, in C."""
    slot = Execution.__dict__["status"]

    def set_status(execution: Execution, status: ExecutionStatus) -> None:
        slot.__set__(execution, status)
        execution.is_open = status is ExecutionStatus.RUNNING

    return property(slot.__get__, set_status, doc="``GetDurableExecution``'s ``Status``.")


# After the class is made: the dataclass and its slots are built from the annotations above.
# (``setattr``: mypy refuses a property assigned over a field.)
_STATUS_SLOT = Execution.__dict__["status"]
setattr(Execution, "status", _status_property())  # noqa: B010

_new = object.__new__
_set_status = _STATUS_SLOT.__set__


def new_execution(
    arn: str,
    execution_id: str,
    name: str,
    function_name: str,
    input_payload: str | None,
    timeout_seconds: int,
    start: _dt.datetime,
    history: History,
    parent: tuple[str, str] | None,
) -> Execution:
    """A RUNNING ``Execution``, as ``Execution(...)`` with those fields builds it, without
    ``type.__call__`` and the dataclass ``__init__``'s keyword handling, default factories
    and status setter (once per execution; a runner per execution is the common pattern).
    Every field is stored here: a test holds it to ``dataclasses.fields(Execution)``."""
    execution: Execution = _new(Execution)
    execution.arn = arn
    execution.execution_id = execution_id
    execution.name = name
    execution.function_name = function_name
    execution.input_payload = input_payload
    execution.timeout_seconds = timeout_seconds
    execution.start = start
    execution.history = history
    execution.operations = {}
    # The slot itself: the setter's only other work is ``is_open``, stored just before.
    execution.is_open = True
    _set_status(execution, ExecutionStatus.RUNNING)
    execution.result = None
    execution.error = None
    execution.end = None
    execution.token_sequence = 0
    execution.invocations = []
    execution.invocation_active = False
    execution.wakeup_pending = False
    execution.closed_by_checkpoint = None
    execution.consecutive_failed_invocations = 0
    execution.parent = parent
    execution.callbacks = {}
    execution.client_tokens = ClientTokenLedger()
    execution._token = None
    return execution
