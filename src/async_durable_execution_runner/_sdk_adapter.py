"""The one module that touches private names of ``async-durable-execution``.

Everything here depends on SDK internals that may move between releases; the project pins
the SDK to ``>=2.5,<2.6`` and ``tests/unit/test_sdk_adapter.py`` fails loudly (naming the
missing symbol) when a new release changes them.

What the runner needs from the SDK:
- binding our service client into a ``@durable_execution`` handler and calling its coroutine
  entry point (the sync one creates an event loop per call and never closes it);
- the SDK's own model classes, to hand it operations without a JSON round trip;
- the SDK's service-error types, so injected faults follow the SDK's own retry-or-fail rules;
- invocation-scoped hooks: one update per checkpoint call (so crash points do not depend on
  wall time), observing every operation the handler requests (replay determinism), and
  making a step attempt raise before its body runs (fault injection).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import dis
import functools
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import CodeType, FrameType
from typing import Any, Protocol

import async_durable_execution as sdk
from async_durable_execution._core import exceptions as _sdk_exceptions
from async_durable_execution._core import execution as _sdk_execution
from async_durable_execution._core import models as _sdk_models
from async_durable_execution._core import serdes as _sdk_serdes
from async_durable_execution._core import state as _sdk_state
from async_durable_execution._operation import parallel as _sdk_parallel
from async_durable_execution._primitive import base as _sdk_base
from async_durable_execution._primitive import child as _sdk_child
from async_durable_execution._primitive import step as _sdk_step
from botocore.exceptions import ClientError

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
from async_durable_execution_runner._models.operations import make_error as _make_error
from async_durable_execution_runner._models.operations import make_update as _make_update
from async_durable_execution_runner._regex_witness import witness
from async_durable_execution_runner._sandbox.cpython_bugs import reset_context_var
from async_durable_execution_runner.errors import DurableServiceError

SDK_DISTRIBUTION = "async-durable-execution"
SUPPORTED_SDK = ">=2.5,<2.6"

#: Every private name this module uses, as ``(module, attribute)``; the canary test checks them.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("async_durable_execution._core.execution", "_bind_service_client_to_handler"),
    ("async_durable_execution._core.execution", "_run_on_event_loop"),
    ("async_durable_execution._core.execution", "InitialExecutionState"),
    ("async_durable_execution._core.models", "Operation"),
    ("async_durable_execution._core.models", "CheckpointOutput"),
    ("async_durable_execution._core.models", "CheckpointUpdatedExecutionState"),
    ("async_durable_execution._core.models", "StateOutput"),
    ("async_durable_execution._core.models", "ErrorObject"),
    ("async_durable_execution._core.state", "ExecutionState"),
    ("async_durable_execution._core.state", "CheckpointBatcherConfig"),
    ("async_durable_execution._core.exceptions", "CheckpointError"),
    ("async_durable_execution._core.exceptions", "GetExecutionStateError"),
    ("async_durable_execution._primitive.base", "OperationExecutor"),
    ("async_durable_execution._primitive.step", "StepOperationExecutor"),
    ("async_durable_execution._primitive.step", "StatefulStepOperationExecutor"),
)

SdkOperation = Any  # async_durable_execution._core.models.Operation
SdkUpdate = Any  # async_durable_execution._core.models.OperationUpdate


# --- handlers ---------------------------------------------------------------------------


def is_durable_handler(handler: object) -> bool:
    return callable(handler) and "_durable_execution_original" in getattr(handler, "__dict__", {})


def undecorated(handler: object) -> Callable[..., Any] | None:
    """The function ``@durable_execution`` decorated to make ``handler`` (``None`` if it is not
    a durable handler)."""
    original: Callable[..., Any] | None = getattr(handler, "__dict__", {}).get(
        "_durable_execution_original"
    )
    return original


AsyncHandler = Callable[[Any, Any], Awaitable[Mapping[str, Any]]]


def bind_client(handler: Callable[..., Any], client: object) -> AsyncHandler:
    """The handler's coroutine entry point, talking to ``client`` instead of AWS."""
    bound = _sdk_execution._bind_service_client_to_handler(handler, client)
    entry: AsyncHandler = bound._async_handler
    return entry


@functools.cache
def _sdk_wrapper_code() -> CodeType:
    """The code of the function ``@durable_execution`` returns (every handler's is the same)."""

    async def probe(event: Any, context: Any) -> None:
        return None

    code: CodeType = sdk.durable_execution(probe).__code__
    return code


def has_outer_layers(handler: Callable[..., Any]) -> bool:
    """Whether ``handler`` is a wrapper the user put above ``@durable_execution`` (a tracing,
    logging or metrics decorator of the Lambda entry point, as AWS Lambda Powertools' are):
    ``functools.wraps`` copied the SDK's handler attributes onto it, but Lambda calls the
    wrapper, and the wrapper calls the SDK's handler."""
    return getattr(handler, "__code__", None) is not _sdk_wrapper_code() and is_durable_handler(
        handler
    )


Run = Callable[[Awaitable[Mapping[str, Any]]], Mapping[str, Any]]

#: While a layered handler is called: the SDK's own coroutine entry it will reach (the one
#: ``functools.wraps`` copied onto the layers), the entry bound to the runner's client that
#: runs instead, and how to run it to its end on the invocation's loop.
_through_layers: contextvars.ContextVar[tuple[object, AsyncHandler, Run] | None] = (
    contextvars.ContextVar("async_durable_execution_runner_layers", default=None)
)


def call_through_layers(
    handler: Callable[..., Any], entry: AsyncHandler, event: Any, context: Any, run: Run
) -> Any:
    """Call ``handler`` as Lambda calls it (synchronously, with the event and the context),
    the layers above ``@durable_execution`` included; where they call the SDK's handler, the
    SDK runs ``entry`` (bound to the runner's client) through ``run`` instead of running its
    own coroutine on its own loop with a client for AWS. What the layers return is the
    invocation's output."""
    if not _installed:
        install_hooks()
    own = handler.__dict__["_async_handler"]
    token = _through_layers.set((own, entry, run))
    try:
        return handler(event, context)
    finally:
        reset_context_var(_through_layers, token)


def http_service_client(endpoint_url: str, region: str) -> object:
    """The SDK's own durable service client, calling ``endpoint_url`` over HTTP the way a
    deployed function calls the service: the SDK's model-free Lambda client on botocore's
    transport, SigV4-signed (with placeholder credentials), with the SDK's own retries and
    error handling."""
    import botocore.session
    from async_durable_execution._core import client as _sdk_client

    session = botocore.session.get_session()
    session.set_credentials("local", "local")
    lambda_client = _sdk_client.create_default_sync_client(
        session=session, endpoint_url=endpoint_url, region_name=region
    )
    return _sdk_client.create_default_service_client(lambda_client)


# --- models -----------------------------------------------------------------------------


def _filler(cls: type) -> Callable[..., Any]:
    """A constructor for the SDK model ``cls`` taking every field positionally, in order.

    The SDK's models are frozen dataclasses (with a ``__dict__``): their generated
    ``__init__`` stores each field through ``object.__setattr__``, which costs about as much
    as everything else the service does for an update (some 1,500 instructions a field). The
    objects we hand the SDK are built instead as instances of a plain twin class (no
    ``__setattr__`` of its own, the same layout: ``__dict__`` and ``__weakref__``), filled with
    plain attribute stores, in field order, and then relabelled as ``cls`` (``__class__``
    assignment, which the interpreter allows between classes of the same layout; it turns the
    stored values into the instance's ``__dict__``). That is less than half the cost of
    handing a new instance a whole ``__dict__`` (the instance's own, empty, is made first to
    be thrown away) and gives the same object (``==``, ``repr``, ``to_dict``, ``vars``, its
    keys in field order), as long as the class has no ``__post_init__``, no slots and only
    init fields, which ``_check_fillable`` (and the canary test) make sure of.
    """
    _check_fillable(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    twin = type(f"_{cls.__name__}Fill", (), {"__module__": __name__})
    namespace: dict[str, Any] = {"_twin": twin, "_cls": cls}
    source = "".join(
        [
            f"def build({', '.join(names)}):\n",
            "    obj = _twin()\n",
            *(f"    obj.{n} = {n}\n" for n in names),
            "    obj.__class__ = _cls\n",
            "    return obj\n",
        ]
    )
    exec(source, namespace)
    build: Callable[..., Any] = namespace["build"]
    return build


def _check_fillable(cls: type) -> None:
    if (
        not dataclasses.is_dataclass(cls)
        or hasattr(cls, "__post_init__")
        or "__slots__" in vars(cls)
        or any(f.init is False for f in dataclasses.fields(cls))
    ):
        msg = (
            f"{cls.__qualname__} is no longer a plain dataclass with a __dict__ (it has a "
            "__post_init__, slots or non-init fields): build it with its constructor in "
            "_sdk_adapter"
        )
        raise TypeError(msg)


_new_operation = _filler(_sdk_models.Operation)
_new_step_details = _filler(_sdk_models.StepDetails)
_new_context_details = _filler(_sdk_models.ContextDetails)
_new_wait_details = _filler(_sdk_models.WaitDetails)
_new_callback_details = _filler(_sdk_models.CallbackDetails)
_new_invoke_details = _filler(_sdk_models.ChainedInvokeDetails)
_new_execution_details = _filler(_sdk_models.ExecutionDetails)
_new_error = _filler(_sdk_models.ErrorObject)
_new_checkpoint_output = _filler(_sdk_models.CheckpointOutput)
_new_updated_state = _filler(_sdk_models.CheckpointUpdatedExecutionState)
_new_state_output = _filler(_sdk_models.StateOutput)
_new_initial_state = _filler(_sdk_execution.InitialExecutionState)
#: The SDK classes built by ``_filler`` (the canary test checks each against its constructor).
FILLED_MODELS: tuple[type, ...] = (
    _sdk_models.Operation,
    _sdk_models.StepDetails,
    _sdk_models.ContextDetails,
    _sdk_models.WaitDetails,
    _sdk_models.CallbackDetails,
    _sdk_models.ChainedInvokeDetails,
    _sdk_models.ExecutionDetails,
    _sdk_models.ErrorObject,
    _sdk_models.CheckpointOutput,
    _sdk_models.CheckpointUpdatedExecutionState,
    _sdk_models.StateOutput,
    _sdk_execution.InitialExecutionState,
)


def _sdk_sub_type(value: str | None) -> Any:
    if value is None:
        return None
    return _TO_SDK_SUB_TYPE.get(value, value)


def _error_to_sdk(error: ErrorObject | None) -> Any:
    if error is None:
        return None
    return _new_error(
        error.error_message,
        error.error_type,
        error.error_data,
        list(error.stack_trace) if error.stack_trace is not None else None,
    )


def _error_from_sdk(error: Any) -> ErrorObject | None:
    if error is None:
        return None
    trace = error.stack_trace
    # Positionally, in ``ErrorObject``'s field order (every failed or retried attempt's).
    return _make_error(
        error.type, error.message, error.data, tuple(trace) if trace is not None else None
    )


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


# Enum conversions by dictionary: ``Enum(value)`` costs more than everything else here.
_FROM_SDK_TYPE: dict[Any, OperationType] = {
    _sdk_models.OperationType(t.value): t for t in OperationType
}
_FROM_SDK_ACTION: dict[Any, OperationAction] = {
    _sdk_models.OperationAction(a.value): a for a in OperationAction
}
_TO_SDK_TYPE: dict[OperationType, Any] = {t: s for s, t in _FROM_SDK_TYPE.items()}
_TO_SDK_STATUS: dict[Any, Any] = {s: _sdk_models.OperationStatus(s.value) for s in OperationStatus}
_TO_SDK_SUB_TYPE: dict[str, Any] = {s.value: s for s in _sdk_models.OperationSubType}
# The SDK's enums are plain ``Enum``s, whose ``__hash__`` and ``value`` are Python functions:
# an update's members are read by their ``_value_`` (a plain attribute) and looked up by it.
_BY_VALUE_TYPE: dict[str, OperationType] = {t.value: t for t in OperationType}
_BY_VALUE_ACTION: dict[str, OperationAction] = {a.value: a for a in OperationAction}


def update_from_sdk(update: SdkUpdate) -> OperationUpdate:
    """Read an SDK ``OperationUpdate`` without serialising it."""
    return updates_from_sdk((update,))[0]


def updates_from_sdk(updates: Sequence[SdkUpdate]) -> list[OperationUpdate]:
    """``update_from_sdk`` for each of a checkpoint's updates, in one call (a call per update
    made from C, as ``map`` does, costs more than the loop); positional arguments, in
    ``OperationUpdate``'s field order."""
    out = []
    for update in updates:
        ctx = update.context_options
        step = update.step_options
        wait = update.wait_options
        cb = update.callback_options
        inv = update.chained_invoke_options
        sub_type = update.sub_type
        error = update.error
        out.append(
            _make_update(
                update.operation_id,
                _BY_VALUE_TYPE[update.operation_type._value_],
                _BY_VALUE_ACTION[update.action._value_],
                update.parent_id or None,
                update.name or None,
                sub_type._value_ if isinstance(sub_type, Enum) else sub_type,
                update.payload,
                None if error is None else _error_from_sdk(error),
                None if ctx is None else ContextOptions(ctx.replay_children),
                None if step is None else StepOptions(step.next_attempt_delay_seconds),
                None if wait is None else WaitOptions(wait.wait_seconds),
                (
                    None
                    if cb is None
                    else CallbackOptions(cb.timeout_seconds, cb.heartbeat_timeout_seconds)
                ),
                None if inv is None else ChainedInvokeOptions(inv.function_name, inv.tenant_id),
            )
        )
    return out


def update_to_sdk(update: OperationUpdate) -> SdkUpdate:
    """The SDK's ``OperationUpdate`` for one of ours (what a handler's SDK would send)."""
    m = _sdk_models
    ctx, step, wait, cb, inv = (
        update.context_options,
        update.step_options,
        update.wait_options,
        update.callback_options,
        update.chained_invoke_options,
    )
    return m.OperationUpdate(
        operation_id=update.id,
        operation_type=_TO_SDK_TYPE[update.type],
        action=m.OperationAction(update.action.value),
        parent_id=update.parent_id,
        name=update.name,
        sub_type=_sdk_sub_type(update.sub_type),
        payload=update.payload,
        error=_error_to_sdk(update.error),
        context_options=(
            m.ContextOptions(replay_children=bool(ctx.replay_children)) if ctx else None
        ),
        step_options=(
            m.StepOptions(next_attempt_delay_seconds=step.next_attempt_delay_seconds or 0)
            if step
            else None
        ),
        wait_options=m.WaitOptions(wait_seconds=wait.wait_seconds or 0) if wait else None,
        callback_options=(
            m.CallbackOptions(
                timeout_seconds=cb.timeout_seconds or 0,
                heartbeat_timeout_seconds=cb.heartbeat_timeout_seconds or 0,
            )
            if cb
            else None
        ),
        chained_invoke_options=(
            m.ChainedInvokeOptions(function_name=inv.function_name, tenant_id=inv.tenant_id)
            if inv
            else None
        ),
    )


def update_to_wire(update: SdkUpdate) -> dict[str, Any]:
    """The SDK's own wire form of an update (what it would send to AWS)."""
    wire: dict[str, Any] = update.to_dict()
    return wire


def operation_to_sdk(op: Operation) -> SdkOperation:
    """Build the SDK's ``Operation`` directly (no JSON round trip, no frozen ``__init__``)."""
    # Six stores, not a tuple built and unpacked.
    ex = op.execution_details
    cx = op.context_details
    st = op.step_details
    wt = op.wait_details
    cb = op.callback_details
    iv = op.chained_invoke_details
    sub_type = op.sub_type
    return _new_operation(
        op.id,
        _TO_SDK_TYPE[op.type],
        _TO_SDK_STATUS[op.status],
        op.parent_id,
        op.name,
        op.start_timestamp,
        op.end_timestamp,
        None if sub_type is None else _TO_SDK_SUB_TYPE.get(sub_type, sub_type),
        None if ex is None else _new_execution_details(ex.input_payload),
        (
            None
            if cx is None
            else _new_context_details(
                bool(cx.replay_children),
                cx.result,
                None if cx.error is None else _error_to_sdk(cx.error),
            )
        ),
        (
            None
            if st is None
            else _new_step_details(
                st.attempt,
                st.next_attempt_timestamp,
                st.result,
                None if st.error is None else _error_to_sdk(st.error),
            )
        ),
        None if wt is None else _new_wait_details(wt.scheduled_end_timestamp),
        (
            None
            if cb is None
            else _new_callback_details(
                cb.callback_id, cb.result, None if cb.error is None else _error_to_sdk(cb.error)
            )
        ),
        (
            None
            if iv is None
            else _new_invoke_details(
                iv.result, None if iv.error is None else _error_to_sdk(iv.error)
            )
        ),
    )


def initial_state(operations: Sequence[SdkOperation], next_marker: str) -> Any:
    return _new_initial_state(list(operations), next_marker)


def checkpoint_output(token: str | None, operations: list[SdkOperation]) -> Any:
    """The SDK's ``CheckpointOutput``; it keeps ``operations`` (not a copy): hand it a list
    nothing else holds."""
    return _new_checkpoint_output(token, _new_updated_state(operations, None))


def checkpoint_output_from_wire(data: Mapping[str, Any]) -> Any:
    return _sdk_models.CheckpointOutput.from_dict(data)


def state_output(operations: Sequence[SdkOperation], next_marker: str | None) -> Any:
    return _new_state_output(list(operations), next_marker)


def state_output_from_wire(data: Mapping[str, Any]) -> Any:
    return _sdk_models.StateOutput.from_dict(data)


# --- service errors, as the SDK's own clients raise them --------------------------------


def _client_error(error: DurableServiceError, operation: str) -> ClientError:
    return ClientError(error.to_client_error_response(), operation)


def checkpoint_error(error: DurableServiceError) -> Exception:
    exc: Exception = _sdk_exceptions.CheckpointError.from_exception(
        _client_error(error, "CheckpointDurableExecution")
    )
    return exc


def get_state_error(error: DurableServiceError) -> Exception:
    exc: Exception = _sdk_exceptions.GetExecutionStateError.from_exception(
        _client_error(error, "GetDurableExecutionState")
    )
    return exc


# --- invocation-scoped hooks ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestedOperation:
    operation_id: str
    type: str
    sub_type: str | None
    name: str | None
    parent_id: str | None
    checkpointed: tuple[str, str | None, str | None, str | None] | None


#: Wraps a step body (a coroutine function, taking the state of a stateful step): gets the
#: body, returns what runs in its place.
BodyWrapper = Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]


class InvocationHooks(Protocol):
    per_update_checkpoints: bool
    #: Whether anyone needs each requested operation / each step attempt (they cost a little
    #: per operation, so a plain run skips them).
    observe_requests: bool
    observe_steps: bool

    def on_operation_requested(self, request: RequestedOperation) -> None: ...

    def on_step_attempt(
        self,
        operation_id: str,
        name: str | None,
        sub_type: str | None,
        attempt: int,
        semantics: str | None,
        retried: Retried = ((), ()),
    ) -> tuple[BaseException | BodyWrapper | None, int]:
        """An exception to raise instead of the body, a wrapper to run the body through (or
        ``None``), and event-loop turns to yield before the body runs. ``retried``: what
        the step's retry strategy retries, where it says (``retried_by``)."""
        ...


_active_hooks: contextvars.ContextVar[InvocationHooks | None] = contextvars.ContextVar(
    "async_durable_execution_runner_hooks", default=None
)
_installed = False


def active_hooks() -> InvocationHooks | None:
    """The hooks active for SDK code running in this context (``invocation_scope``)."""
    return _active_hooks.get()


class invocation_scope:
    """Activate ``hooks`` for SDK code running in this context (tasks inherit it).

    A class rather than ``contextlib.contextmanager``: entered once per invocation, where a
    generator-based manager costs several times as much.
    """

    __slots__ = ("_hooks", "_token")

    def __init__(self, hooks: InvocationHooks) -> None:
        self._hooks = hooks

    def __enter__(self) -> None:
        if not _installed:
            install_hooks()
        self._token = _active_hooks.set(self._hooks)

    def __exit__(self, *exc_info: object) -> None:
        reset_context_var(_active_hooks, self._token)


def install_hooks() -> None:
    """Wrap the SDK's seams once; the wrappers do nothing outside ``invocation_scope``."""
    global _installed  # noqa: PLW0603 - one-time, process-wide patch
    if _installed:
        return
    _installed = True

    original_run = _sdk_execution._run_on_event_loop

    @functools.wraps(original_run)
    def run_on_event_loop(loop: Any, async_func: Any, *args: Any) -> Any:
        layers = _through_layers.get()
        if layers is not None and async_func is layers[0]:
            # The SDK's handler, reached through the user's layers (``call_through_layers``).
            # The SDK made a loop of its own for it, which nothing will run: closed, or its
            # selector and self-pipe would be left for the collector (a new one per module
            # import, so per cold sandbox).
            if not loop.is_running():
                loop.close()
            return layers[2](layers[1](*args))
        return original_run(loop, async_func, *args)

    _sdk_execution._run_on_event_loop = run_on_event_loop

    state_cls = _sdk_state.ExecutionState
    original_init = state_cls.__init__
    per_update = _sdk_state.CheckpointBatcherConfig(max_batch_time_seconds=0)

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        hooks = _active_hooks.get()
        if (
            hooks is not None
            and hooks.per_update_checkpoints
            and kwargs.get("batcher_config") is None
        ):
            kwargs["batcher_config"] = per_update
        original_init(self, *args, **kwargs)

    state_cls.__init__ = init

    base_cls = _sdk_base.OperationExecutor
    original_process = base_cls.process

    # The wrappers below hand back the SDK's own coroutine when the hooks do not look: an
    # extra coroutine layer costs on every suspension of the operation, not just once.
    @functools.wraps(original_process)
    def process(self: Any) -> Any:
        hooks = _active_hooks.get()
        if hooks is None or not hooks.observe_requests:
            return original_process(self)
        return _observed_process(self, hooks)

    async def _observed_process(self: Any, hooks: InvocationHooks) -> Any:
        ident = self.operation_identifier
        op_type = ident.operation_type or type(self).SERDES_OPERATION_TYPE
        # Internal executors (a batch re-entering its own context) have no type of their own
        # and name themselves as parent: they are not operations the handler asked for. Nor
        # are virtual child contexts (the branches of a ``NestingType.FLAT`` map or
        # parallel), which the SDK never checkpoints: the service never hears of them, and
        # a history never holds them.
        if (
            op_type is not None
            and ident.parent_id != ident.operation_id
            and not getattr(self, "is_virtual", False)
        ):
            stored = self.state.operations.get(ident.operation_id)
            hooks.on_operation_requested(
                RequestedOperation(
                    operation_id=ident.operation_id,
                    type=_enum_value(op_type),
                    sub_type=_enum_value(ident.sub_type),
                    name=ident.name,
                    parent_id=ident.parent_id,
                    checkpointed=(
                        (
                            _enum_value(stored.operation_type),
                            _enum_value(stored.sub_type),
                            stored.name,
                            stored.parent_id,
                        )
                        if stored is not None
                        else None
                    ),
                )
            )
        return await original_process(self)

    base_cls.process = process

    step_cls = _sdk_step.StepOperationExecutor
    original_execute = step_cls.execute

    @functools.wraps(original_execute)
    def execute(self: Any, operation: Any) -> Any:
        hooks = _active_hooks.get()
        if hooks is None or not hooks.observe_steps:
            return original_execute(self, operation)
        details = operation.step_details if operation is not None else None
        attempt = (details.attempt if details is not None else 0) + 1
        return _with_step_hooks(self, attempt, lambda: original_execute(self, operation))

    step_cls.execute = execute

    # wait_for_condition checks (and extension steps) run in the stateful step executor.
    stateful_cls = _sdk_step.StatefulStepOperationExecutor
    original_stateful = stateful_cls._execute

    @functools.wraps(original_stateful)
    def stateful_execute(self: Any, operation: Any) -> Any:
        hooks = _active_hooks.get()
        if hooks is None or not hooks.observe_steps:
            return original_stateful(self, operation)
        attempt = self._attempt(operation)
        return _with_step_hooks(self, attempt, lambda: original_stateful(self, operation))

    stateful_cls._execute = stateful_execute


async def _with_step_hooks(executor: Any, attempt: int, run: Callable[[], Awaitable[Any]]) -> Any:
    """Run a step executor's attempt, letting the hooks make its body raise or take turns.

    The body (``executor.func``, with or without a state argument) is swapped for the length
    of the attempt only.
    """
    hooks = _active_hooks.get()
    if hooks is None:
        return await run()
    ident = executor.operation_identifier
    semantics = getattr(executor, "step_semantics", None)
    fault, turns = hooks.on_step_attempt(
        ident.operation_id,
        ident.name,
        _enum_value(ident.sub_type),
        attempt,
        semantics.name if semantics is not None else None,
        retried_by(getattr(executor, "retry_strategy", None)),
    )
    if fault is None and not turns:
        return await run()
    body = executor.func
    inner = body
    if fault is not None and not isinstance(fault, BaseException):
        inner, fault = fault(body), None

    async def delayed(*state: Any) -> Any:
        for _ in range(turns):
            await asyncio.sleep(0)
        if fault is not None:
            raise fault
        return await inner(*state)

    executor.func = delayed
    try:
        return await run()
    finally:
        executor.func = body


#: What a retry strategy retries: exception types, and texts an error's message may contain
#: (any one of them) to be retried.
Retried = tuple[tuple[type[BaseException], ...], tuple[str, ...]]


def retried_by(strategy: object) -> Retried:
    """What a step's retry strategy retries, read from the SDK's ``RetryStrategy`` (public
    fields) without calling it: a call would draw its jitter from ``random``, and a fault
    must not move the draws of the run it lands in. Nothing is named for no strategy (the
    SDK's default retries everything), for one that names nothing (the same), or for a
    function (what it retries cannot be read). A message pattern given as a regular
    expression is named by a text it finds (``_regex_witness``); one no text can be made for
    names none."""
    if not isinstance(strategy, sdk.RetryStrategy):
        return (), ()
    types = tuple(strategy.retryable_error_types or ())
    texts: list[str] = []
    for pattern in strategy.retryable_errors or ():
        if isinstance(pattern, str):
            texts.append(pattern)
        elif isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
            text = witness(pattern)
            if text:  # (an empty one: the pattern finds every message)
                texts.append(text)
    return types, tuple(texts)


@functools.cache
def delay_deciders() -> frozenset[CodeType]:
    """The code of the SDK's methods that call a step's retry strategy once an attempt has
    ended. What runs under them decides a delay the SDK then checkpoints (RETRY), and does
    not run again on replay: a random draw there (custom jitter) is not code outside a step
    that replays differently."""
    # (A wait_for_condition's polling strategy runs inside its check's step context.)
    return frozenset(
        {
            _sdk_step.StepOperationExecutor.retry_handler.__code__,
            _sdk_step.StatefulStepOperationExecutor._handle_failure.__code__,
        }
    )


@functools.cache
def serializer_codes() -> frozenset[CodeType]:
    """The code of the SDK's ``serialize`` (and of the closure it awaits the SerDes through):
    what runs under it serializes a value the SDK is about to checkpoint, once; on replay the
    SDK deserializes the checkpointed payload instead. A SerDes that draws a key for the
    payload it offloads (to S3, to a file) is not code that replays differently."""
    outer = _sdk_serdes.serialize.__code__
    inner = {c for c in outer.co_consts if isinstance(c, CodeType)}
    return frozenset({outer, *inner})


@functools.cache
def summary_call_sites() -> frozenset[tuple[CodeType, int]]:
    """Where the SDK calls a summary generator (a child context's, a ``map``'s or a
    ``parallel``'s, for a result too big to checkpoint), as (code, line): it calls it once,
    to checkpoint the result's summary, and on replay runs the children again and returns
    their result without summarising. A generator that stamps its summary with the time is
    not code that replays differently."""
    sites = set()
    for function in (
        _sdk_child.ChildOperationExecutor.execute,
        _sdk_parallel._FlatReplaySummary.__call__,
    ):
        code = function.__code__
        for instruction in dis.get_instructions(code):
            line = instruction.positions.lineno if instruction.positions else None
            if instruction.argval == "summary_generator" and line is not None:
                sites.add((code, line))
    return frozenset(sites)


@functools.cache
def batch_completion_loop() -> tuple[str, frozenset[int]]:
    """Where the SDK's ``parallel`` and ``map`` wait for their branches' completion handlers
    (``ParallelExecutor.execute``: ``while self._completion_tasks: await asyncio.gather(...)``),
    as (file, lines). The loop ends once the tasks' done callbacks have emptied the set, which
    they can only do while the loop yields; from Python 3.12 ``gather`` of tasks that have
    all finished returns without yielding, so a loop that meets such a task before its
    callback ran never ends (SDK finding 19). Empty lines if the SDK no longer has it."""
    function = _sdk_parallel.ParallelExecutor.execute
    try:
        source, first = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return function.__code__.co_filename, frozenset()
    lines: set[int] = set()
    indent: int | None = None
    for number, text in enumerate(source, start=first):
        stripped = text.strip()
        if indent is None:
            if stripped.startswith("while self._completion_tasks"):
                indent = len(text) - len(text.lstrip())
                lines.add(number)
            continue
        if stripped and len(text) - len(text.lstrip()) <= indent:
            break
        lines.add(number)
    return function.__code__.co_filename, frozenset(lines)


@functools.cache
def _batch_completion_site() -> tuple[str, str, frozenset[int]]:
    filename, lines = batch_completion_loop()
    return filename, _sdk_parallel.ParallelExecutor.execute.__code__.co_name, lines


# Found now, from the SDK's source on disk: ``in_batch_completion_loop`` runs in the deadline
# alarm's signal handler, which should stay short (reading and tokenising a file is not).
_batch_completion_site()


def at_batch_completion_loop(filename: str, name: str, line: int) -> bool:
    """Whether a frame of function ``name`` in ``filename`` at ``line`` is
    ``ParallelExecutor.execute`` at one of the lines of ``batch_completion_loop``: where SDK
    finding 19 spins (a live frame's, or one a stack report names)."""
    loop_file, loop_name, lines = _batch_completion_site()
    return name == loop_name and filename == loop_file and line in lines


def in_batch_completion_loop(frame: FrameType | None) -> bool:
    """Whether ``frame`` (the innermost of a thread) or a frame out from it is
    ``at_batch_completion_loop``."""
    while frame is not None:
        code = frame.f_code
        if at_batch_completion_loop(code.co_filename, code.co_name, frame.f_lineno):
            return True
        frame = frame.f_back
    return False


#: The statuses of a batch item that ended before its batch did (``BatchItemStatus``).
BATCH_ITEM_ENDED = frozenset({"SUCCEEDED", "FAILED"})


def batch_item_statuses(payload: str | None) -> list[str] | None:
    """Each item's status in a ``map``'s or ``parallel``'s ``BatchResult`` as the SDK's
    default serdes checkpoints it (``{"t": "br", "v": {"all": {"t": "l", "v": [...]}}}``,
    each item ``{"t": "m", "v": {"status": {"t": "s", "v": STATUS}, ...}}``); ``None`` for
    anything else (a summary, the user's own serdes, another SDK release's envelope).
    An item the batch's completion rule decided without is ``STARTED`` or ``CANCELLED``."""
    try:
        data = json.loads(payload) if payload else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("t") != "br":
        return None
    items = ((data.get("v") or {}).get("all") or {}).get("v")
    if not isinstance(items, list):
        return None
    statuses = []
    for item in items:
        fields = item.get("v") if isinstance(item, dict) else None
        status = ((fields or {}).get("status") or {}).get("v") if isinstance(fields, dict) else None
        if not isinstance(status, str):
            return None
        statuses.append(status)
    return statuses


def sdk_version() -> str:
    return str(sdk.__version__)
