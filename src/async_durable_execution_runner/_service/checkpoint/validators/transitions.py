"""Is this action allowed from the operation's current status? (reads the one table)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._service.checkpoint.transitions import (
    TRANSITIONS,
    describe_allowed,
)
from async_durable_execution_runner.errors import InvalidParameterValueException

if TYPE_CHECKING:
    from async_durable_execution_runner._models import Operation, OperationUpdate


_NEVER: frozenset[object] = frozenset()


class TransitionsValidator:
    def validate(self, update: OperationUpdate, current: Operation | None) -> None:
        if current is not None and current.type is not update.type:
            msg = (
                f"operation {update.id!r} is a {current.type.value}, but the update says "
                f"{update.type.value}; an operation id keeps its type for the whole execution"
            )
            raise InvalidParameterValueException(msg)
        status = current.status if current is not None else None
        # ``is_allowed``, read straight from the table (this runs for every update).
        if status not in TRANSITIONS.get((update.type, update.action), _NEVER):
            seen = "does not exist yet" if status is None else f"is {status.value}"
            msg = (
                f"cannot {update.action.value} {update.type.value} operation {update.id!r}: it "
                f"{seen}. {describe_allowed(update.type, update.action)}"
            )
            raise InvalidParameterValueException(msg)
