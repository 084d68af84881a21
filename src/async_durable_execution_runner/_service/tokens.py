"""Checkpoint tokens: each checkpoint returns a new one and only the newest is accepted."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from async_durable_execution_runner._models._frozen import cheap_frozen
from async_durable_execution_runner.errors import InvalidParameterValueException

#: The SDK treats this prefix as "retry from stored state" (see sdk-notes); keep it exact.
STALE_TOKEN_PREFIX = "Invalid Checkpoint Token"


@cheap_frozen
@dataclass(frozen=True, slots=True)
class CheckpointToken:
    execution_id: str
    sequence: int

    def encode(self) -> str:
        return encode_token(self.execution_id, self.sequence)

    @classmethod
    def decode(cls, token: object) -> CheckpointToken:
        """Parse a token; a malformed one raises ``InvalidParameterValueException``."""
        if not isinstance(token, str) or not token:
            msg = f"{STALE_TOKEN_PREFIX}: expected a non-empty checkpoint token, got {token!r}"
            raise InvalidParameterValueException(msg)
        try:
            sequence, execution_id = (
                base64.b64decode(token.encode(), validate=True).decode().split(":", 1)
            )
            return cls(execution_id=execution_id, sequence=int(sequence))
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            msg = (
                f"{STALE_TOKEN_PREFIX}: the token {token[:40]!r} is malformed; pass the "
                "CheckpointToken from the invocation input or the last checkpoint response"
            )
            raise InvalidParameterValueException(msg) from exc


def encode_token(execution_id: str, sequence: int) -> str:
    """``CheckpointToken(execution_id, sequence).encode()``, without building the token (one
    is made for every checkpoint and invocation)."""
    return _b2a(f"{sequence}:{execution_id}".encode(), newline=False).decode()


_b2a = binascii.b2a_base64


def check_token(token: object, *, execution_id: str, current_sequence: int) -> None:
    """Accept only the execution's newest token; explain which rule a bad one broke."""
    parsed = CheckpointToken.decode(token)
    if parsed.execution_id != execution_id:
        msg = (
            f"{STALE_TOKEN_PREFIX}: the token belongs to execution {parsed.execution_id!r}, "
            f"not to {execution_id!r}"
        )
        raise InvalidParameterValueException(msg)
    if parsed.sequence != current_sequence:
        msg = (
            f"{STALE_TOKEN_PREFIX}: the token is stale (sequence {parsed.sequence}, current "
            f"{current_sequence}); a newer checkpoint or invocation superseded it"
        )
        raise InvalidParameterValueException(msg)
