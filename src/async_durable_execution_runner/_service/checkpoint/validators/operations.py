"""Per-operation rules: field shapes and limits from the service model, required options,
parents."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from async_durable_execution_runner._models import OperationAction, OperationType
from async_durable_execution_runner._service.checkpoint.validators.checkpoint import utf8_length
from async_durable_execution_runner.errors import InvalidParameterValueException

if TYPE_CHECKING:
    from async_durable_execution_runner._models import Operation, OperationUpdate

# Limits from botocore's Lambda model (OperationUpdate and its members).
_ID = re.compile(r"[a-zA-Z0-9\-_]{1,64}")
_NAME = re.compile(r"[\x20-\x7E]{1,256}")
_SUB_TYPE = re.compile(r"[a-zA-Z0-9\-_]{1,32}")
MAX_PAYLOAD_BYTES = 6_291_456
MAX_WAIT_SECONDS = 31_622_400
_FUNCTION_NAME = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
_MAX_FUNCTION_NAME = 256
_TENANT_ID = re.compile(r"[a-zA-Z0-9\._:\/=+\-@ ]{1,256}")
# Bound once: every update's fields are matched.
_ID_MATCH = _ID.fullmatch
_NAME_MATCH = _NAME.fullmatch
_SUB_TYPE_MATCH = _SUB_TYPE.fullmatch
#: Text of at most this many characters is within the payload limit whatever its characters.
_CHARACTERS_THAT_FIT = MAX_PAYLOAD_BYTES // 4

# Strings already matched, per pattern: an operation's id comes back with each of its updates
# (START, RETRY, START, SUCCEED...) and a handful of names and sub types with most of them,
# and a set lookup costs a tenth of a match. Only plain ``str``s are looked up and kept
# (anything else, a ``str`` subclass or an unhashable value, is matched every time).
_VALID_IDS: set[str] = set()
_VALID_NAMES: set[str] = set()
_VALID_SUB_TYPES: set[str] = set()
#: Each set is emptied when it holds this many (ids are new with every operation).
_MEMO_SIZE = 4096


def _remember(valid: set[str], text: str) -> None:
    if type(text) is str:
        if len(valid) >= _MEMO_SIZE:
            valid.clear()
        valid.add(text)


class ValidationContext:
    """What a validator may look up: the execution's operations as the batch's earlier updates
    left them. (A plain class, not a frozen dataclass holding a closure: one is made for every
    checkpoint.)"""

    __slots__ = ("_operations", "_scratch")

    def __init__(
        self, scratch: Mapping[str, Operation], operations: Mapping[str, Operation]
    ) -> None:
        self._scratch = scratch
        self._operations = operations

    def lookup(self, op_id: str) -> Operation | None:
        return self._scratch.get(op_id) or self._operations.get(op_id)


def _reject(update: OperationUpdate, problem: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(
        f"invalid {update.action.value} update for {update.type.value} operation {update.id!r}: "
        f"{problem}"
    )


class UpdateFieldsValidator:
    """Field-level rules every update obeys, whatever its type."""

    def validate(self, update: OperationUpdate, ctx: ValidationContext) -> None:
        # EXECUTION updates too: their Id is the SDK's own ("execution-result-<ms>") but the
        # model's OperationId shape applies to it all the same.
        op_id = update.id
        if type(op_id) is not str or op_id not in _VALID_IDS:
            if not _ID_MATCH(op_id):
                raise _reject(update, "Id must be 1-64 characters of [a-zA-Z0-9-_]")
            _remember(_VALID_IDS, op_id)
        name = update.name
        if name is not None and (type(name) is not str or name not in _VALID_NAMES):
            if not _NAME_MATCH(name):
                raise _reject(
                    update, f"Name must be 1-256 printable ASCII characters, got {name!r}"
                )
            _remember(_VALID_NAMES, name)
        sub_type = update.sub_type
        if sub_type is not None and (type(sub_type) is not str or sub_type not in _VALID_SUB_TYPES):
            if not _SUB_TYPE_MATCH(sub_type):
                raise _reject(
                    update, f"SubType must be 1-32 characters of [a-zA-Z0-9-_], got {sub_type!r}"
                )
            _remember(_VALID_SUB_TYPES, sub_type)
        payload = update.payload
        # UTF-8 takes at most 4 bytes a character: shorter text needs no byte count.
        if (
            payload is not None
            and len(payload) > _CHARACTERS_THAT_FIT
            and utf8_length(payload) > MAX_PAYLOAD_BYTES
        ):
            raise _reject(
                update,
                f"Payload is {utf8_length(payload)} bytes, over the "
                f"{MAX_PAYLOAD_BYTES}-byte "
                "limit; checkpoint a smaller result (or a reference to it)",
            )
        if (
            update.wait_options is not None
            or update.step_options is not None
            or update.callback_options is not None
            or update.chained_invoke_options is not None
        ):
            problem = _option_problem(update)
            if problem is not None:
                raise _reject(update, problem)
        if update.parent_id is not None:
            if update.type is OperationType.EXECUTION:
                raise _reject(update, "an EXECUTION update cannot have a ParentId")
            parent = ctx.lookup(update.parent_id)
            if parent is None:
                raise _reject(
                    update, f"ParentId {update.parent_id!r} names no operation of this execution"
                )
            if parent.type is not OperationType.CONTEXT:
                raise _reject(
                    update,
                    f"ParentId {update.parent_id!r} is a {parent.type.value}; only CONTEXT "
                    "operations have children",
                )


def _option_problem(update: OperationUpdate) -> str | None:
    """Option values outside the service model's limits, whatever the update's type and action.

    The model constrains a member wherever it appears (a WaitSeconds of 0 on a STEP update is
    as invalid as on a WAIT START); which options an action *requires* is checked per type below.
    """
    wait = update.wait_options.wait_seconds if update.wait_options else None
    if wait is not None and not 1 <= wait <= MAX_WAIT_SECONDS:
        return f"WaitSeconds must be 1..{MAX_WAIT_SECONDS}, got {wait}"
    delay = update.step_options.next_attempt_delay_seconds if update.step_options else None
    if delay is not None and not 1 <= delay <= MAX_WAIT_SECONDS:
        return f"NextAttemptDelaySeconds must be 1..{MAX_WAIT_SECONDS}, got {delay}"
    callback = update.callback_options
    if callback is not None:
        for label, value in (
            ("TimeoutSeconds", callback.timeout_seconds),
            ("HeartbeatTimeoutSeconds", callback.heartbeat_timeout_seconds),
        ):
            if value is not None and value < 0:
                return f"CallbackOptions.{label} must be >= 0, got {value}"
    invoke = update.chained_invoke_options
    if invoke is not None:
        name = invoke.function_name
        if not name:
            return (
                "ChainedInvokeOptions.FunctionName is required whenever ChainedInvokeOptions "
                "is given"
            )
        if len(name) > _MAX_FUNCTION_NAME or not _FUNCTION_NAME.fullmatch(name):
            return f"FunctionName {name!r} is not a function name or ARN"
        if invoke.tenant_id is not None and not _TENANT_ID.fullmatch(invoke.tenant_id):
            return (
                "ChainedInvokeOptions.TenantId must be 1-256 characters of "
                f"[a-zA-Z0-9._:/=+-@ ], got {invoke.tenant_id!r}"
            )
    return None


class WaitValidator:
    def validate(self, update: OperationUpdate, ctx: ValidationContext) -> None:
        if update.action is not OperationAction.START:
            return
        seconds = update.wait_options.wait_seconds if update.wait_options else None
        if seconds is None:  # its range: _option_problem, for every update
            raise _reject(update, "WaitOptions.WaitSeconds is required to start a wait")


class StepValidator:
    def validate(self, update: OperationUpdate, ctx: ValidationContext) -> None:
        if update.action is not OperationAction.RETRY:
            return
        delay = update.step_options.next_attempt_delay_seconds if update.step_options else None
        if delay is None:  # its range: _option_problem, for every update
            raise _reject(update, "StepOptions.NextAttemptDelaySeconds is required to retry a step")


class CallbackValidator:
    def validate(self, update: OperationUpdate, ctx: ValidationContext) -> None:
        return None  # no option is required; their ranges: _option_problem


class ChainedInvokeValidator:
    def validate(self, update: OperationUpdate, ctx: ValidationContext) -> None:
        if update.action is not OperationAction.START:
            return
        options = update.chained_invoke_options
        if options is None or not options.function_name:  # its shape: _option_problem
            raise _reject(
                update, "ChainedInvokeOptions.FunctionName is required to start an invoke"
            )


class ExecutionValidator:
    def validate(self, update: OperationUpdate, ctx: ValidationContext) -> None:
        if update.action is OperationAction.FAIL and update.payload is not None:
            raise _reject(update, "a FAIL update for the EXECUTION carries an Error, not a Payload")


class ContextValidator:
    def validate(self, update: OperationUpdate, ctx: ValidationContext) -> None:
        return None


class OperationValidator(Protocol):
    def validate(self, update: OperationUpdate, ctx: ValidationContext) -> None: ...


OPERATION_VALIDATORS: dict[OperationType, OperationValidator] = {
    OperationType.EXECUTION: ExecutionValidator(),
    OperationType.STEP: StepValidator(),
    OperationType.WAIT: WaitValidator(),
    OperationType.CONTEXT: ContextValidator(),
    OperationType.CALLBACK: CallbackValidator(),
    OperationType.CHAINED_INVOKE: ChainedInvokeValidator(),
}
