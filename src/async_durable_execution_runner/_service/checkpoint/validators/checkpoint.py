"""Rules for a checkpoint call as a whole: execution, token, batch size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from async_durable_execution_runner.errors import InvalidParameterValueException

if TYPE_CHECKING:
    from async_durable_execution_runner._models import OperationUpdate

#: The service's request limit for one call (Lambda API payloads are capped at 6 MB).
MAX_REQUEST_BYTES = 6 * 1024 * 1024
#: How many updates one call may carry (the SDK's own batcher sends at most 250).
MAX_UPDATES_PER_CALL = 250
#: Text of at most this many characters is within the request limit whatever its characters.
_CHARACTERS_THAT_FIT = MAX_REQUEST_BYTES // 4


def utf8_length(text: str) -> int:
    """``len(text.encode())``, without encoding the (usual) ASCII text."""
    return len(text) if text.isascii() else len(text.encode())


class CheckpointValidator:
    def validate(
        self,
        *,
        execution_arn: str,
        execution_open: bool,
        updates: Sequence[OperationUpdate],
    ) -> None:
        if not execution_open:
            msg = f"execution {execution_arn} has already finished; it accepts no more checkpoints"
            raise InvalidParameterValueException(msg)
        if len(updates) > MAX_UPDATES_PER_CALL:
            msg = (
                f"a checkpoint may carry at most {MAX_UPDATES_PER_CALL} updates, got "
                f"{len(updates)}; split the updates over several calls"
            )
            raise InvalidParameterValueException(msg)
        # Characters first: UTF-8 takes at most 4 bytes a character, so only text longer than
        # a quarter of the limit needs its bytes counted (this runs for every checkpoint).
        size = 0
        for update in updates:
            payload = update.payload
            if payload is not None:
                size += len(payload)
        if size <= _CHARACTERS_THAT_FIT:
            return
        size = sum(utf8_length(u.payload) for u in updates if u.payload is not None)
        if size > MAX_REQUEST_BYTES:
            msg = (
                f"the checkpoint's payloads add up to {size} bytes, over the service's "
                f"{MAX_REQUEST_BYTES}-byte request limit"
            )
            raise InvalidParameterValueException(msg)
